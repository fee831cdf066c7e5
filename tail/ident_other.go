// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package tail

import "io/fs"

// fileID identifies a file. Without inodes the path is the identity, so a
// file renamed by rotation is read again under its new name unless its
// content fingerprint matches what was already read.
type fileID struct {
	dev, ino uint64
	path     string
}

func identity(path string, _ fs.FileInfo) fileID {
	return fileID{path: path}
}

// descriptorLimit is unknown here: only Config.MaxOpen bounds open files.
func descriptorLimit() uint64 { return 0 }
