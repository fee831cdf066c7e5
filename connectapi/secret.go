// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// KeySource yields the API key for each request. Implementations re-read
// their source so a rotated key needs no restart.
type KeySource interface {
	Key() (string, error)
}

// EnvKey reads the key from an environment variable on every request.
type EnvKey string

// Key implements KeySource.
func (e EnvKey) Key() (string, error) {
	k := strings.TrimSpace(os.Getenv(string(e)))
	if k == "" {
		return "", fmt.Errorf("the API key environment variable %s is empty", string(e))
	}
	return k, nil
}

// StaticKey is a fixed key, for tests and the built-in demo.
type StaticKey string

// Key implements KeySource.
func (s StaticKey) Key() (string, error) {
	if s == "" {
		return "", errors.New("the API key is empty")
	}
	return string(s), nil
}

// FileKey reads the key from a file and reads it again whenever the file's
// size or modification time changes.
type FileKey struct {
	path string

	mu      sync.Mutex
	key     string
	size    int64
	modTime time.Time
}

// NewFileKey returns a key source for path; it reads the file once so that
// a missing or empty file is reported at start-up.
func NewFileKey(path string) (*FileKey, error) {
	f := &FileKey{path: path}
	if _, err := f.Key(); err != nil {
		return nil, err
	}
	return f, nil
}

// Key implements KeySource.
func (f *FileKey) Key() (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	st, err := os.Stat(f.path)
	if err != nil {
		return "", fmt.Errorf("reading the API key file: %w", err)
	}
	if f.key != "" && st.Size() == f.size && st.ModTime().Equal(f.modTime) {
		return f.key, nil
	}
	raw, err := os.ReadFile(f.path)
	if err != nil {
		return "", fmt.Errorf("reading the API key file: %w", err)
	}
	key := strings.TrimSpace(string(raw))
	if key == "" {
		return "", fmt.Errorf("the API key file %s is empty", f.path)
	}
	if strings.ContainsAny(key, "\r\n") {
		return "", fmt.Errorf("the API key file %s holds more than one line", f.path)
	}
	f.key, f.size, f.modTime = key, st.Size(), st.ModTime()
	return key, nil
}
