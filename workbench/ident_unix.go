// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package workbench

import (
	"io/fs"
	"syscall"
)

// fileID identifies a file independently of its name.
type fileID struct {
	dev, ino uint64
	path     string // only where inodes are unavailable
}

func identity(path string, fi fs.FileInfo) fileID {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fileID{dev: uint64(st.Dev), ino: uint64(st.Ino)} //nolint:unconvert // narrower types on some platforms
	}
	return fileID{path: path}
}
