// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build !unix

package workbench

import "io/fs"

// fileID identifies a file. Without inodes the path is the identity, so a
// file renamed by rotation is read again under its new name and only
// truncation is detected.
type fileID struct {
	dev, ino uint64
	path     string
}

func identity(path string, _ fs.FileInfo) fileID {
	return fileID{path: path}
}
