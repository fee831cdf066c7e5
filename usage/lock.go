// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

var errLocked = errors.New("locked")

// stateLock is the exclusive lock on a state file, held while the streams
// are open: an flock on a lock file beside the state file (the state file
// itself is replaced on every write, so a lock on it would not last). The
// lock file stays when the lock is released; it holds nothing.
type stateLock struct {
	f *os.File
}

func lockPath(state string) string {
	return filepath.Join(filepath.Dir(state), "."+filepath.Base(state)+".lock")
}

// lockStateFile locks the state file, or fails when another exporter (or
// another server of this one) holds it.
func lockStateFile(state string) (*stateLock, error) {
	path := lockPath(state)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("usage: cannot open the state file's lock %s: %w", path, err)
	}
	if err := flock(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("usage: the state file %s is in use: another exporter process, or another server of this one, holds its lock %s; each Connect server needs a state file of its own", state, path)
		}
		return nil, fmt.Errorf("usage: cannot lock the state file %s (%s): %w", state, path, err)
	}
	return &stateLock{f: f}, nil
}

// release drops the lock (closing the file releases the flock).
func (l *stateLock) release() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// removeStaleTemps removes what an exporter killed while writing left
// beside the state file: .<name>.tmp-<digits> (a write cut before its
// rename) and .<name>.check-<digits> (the start-up write check). Only
// regular files of exactly those names are touched, and only by the holder
// of the lock, so no running writer can lose its file.
func removeStaleTemps(state string) (int, error) {
	dir, base := filepath.Dir(state), filepath.Base(state)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	removed := 0
	var errs []error
	for _, e := range entries {
		if !e.Type().IsRegular() || !isStaleTemp(e.Name(), base) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
			continue
		}
		removed++
	}
	return removed, errors.Join(errs...)
}

func isStaleTemp(name, base string) bool {
	for _, kind := range []string{".tmp-", ".check-"} {
		rest, ok := strings.CutPrefix(name, "."+base+kind)
		if ok && rest != "" && strings.Trim(rest, "0123456789") == "" {
			return true
		}
	}
	return false
}
