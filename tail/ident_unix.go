// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

//go:build unix

package tail

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

// descriptorLimit returns the soft limit on open files of this process, or
// 0 when it cannot be read.
func descriptorLimit() uint64 {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		return 0
	}
	return uint64(rl.Cur) //nolint:unconvert // narrower types on some platforms
}
