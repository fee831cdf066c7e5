// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package config

import (
	"os"
	"path/filepath"
)

// SameFile reports whether two paths name the same file however they are
// spelled: after making them absolute (relative paths are relative to the
// exporter's working directory) and clean, and resolving symbolic links in
// the part of each path that exists; when both files exist, by device and
// inode (hard links, bind mounts). Paths that cannot be resolved are
// compared as cleaned absolute paths.
func SameFile(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ra, rb := resolvePath(a), resolvePath(b)
	if ra == rb {
		return true
	}
	fa, errA := os.Stat(ra)
	fb, errB := os.Stat(rb)
	return errA == nil && errB == nil && os.SameFile(fa, fb)
}

// resolvePath is path made absolute and clean, with symbolic links
// resolved in its longest existing prefix.
func resolvePath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	dir, rest := abs, ""
	for {
		if r, err := filepath.EvalSymlinks(dir); err == nil {
			return filepath.Join(r, rest)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return abs
		}
		rest = filepath.Join(filepath.Base(dir), rest)
		dir = parent
	}
}
