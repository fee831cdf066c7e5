// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package workbench

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const (
	// maxLineBytes bounds one line; longer lines are skipped as malformed so
	// that a file without newlines cannot grow memory without limit.
	maxLineBytes = 1 << 20
	// readBufBytes is the size of each read.
	readBufBytes = 1 << 20
	// maxLoggedLineErrors bounds the malformed lines logged (at debug) per
	// refresh.
	maxLoggedLineErrors = 5
)

// lineSink receives complete lines.
type lineSink interface {
	addLine(line []byte) error
	addTooLong()
}

// tailFile is one open audit log file.
type tailFile struct {
	id         fileID
	path       string // the name it was last matched under
	f          *os.File
	offset     int64  // bytes consumed so far
	partial    []byte // an incomplete last line
	discarding bool   // inside an over-long line: skip to the next newline
}

// tailer follows a set of files matched by glob patterns.
type tailer struct {
	logger *slog.Logger
	sink   lineSink
	files  map[fileID]*tailFile
	buf    []byte

	loggedErrors int // malformed lines logged during the current refresh
}

func newTailer(logger *slog.Logger, sink lineSink) *tailer {
	return &tailer{logger: logger, sink: sink, files: make(map[fileID]*tailFile)}
}

// tailResult reports one refresh.
type tailResult struct {
	matched   int      // distinct files matched by the patterns
	unmatched []string // patterns that matched no regular file
	bytesRead int64
	errs      []error
}

// refresh expands the patterns, opens new files, and reads what was appended
// to every tracked file since the last refresh.
func (t *tailer) refresh(patterns []string) tailResult {
	var res tailResult
	t.loggedErrors = 0
	seen := make(map[fileID]bool)
	for _, p := range patterns {
		matches, err := filepath.Glob(p)
		if err != nil { // patterns are validated up front; be safe anyway
			res.errs = append(res.errs, fmt.Errorf("pattern %q: %w", p, err))
			continue
		}
		hit := false
		for _, m := range matches {
			id, ok, err := t.track(m)
			if err != nil {
				res.errs = append(res.errs, err)
				continue
			}
			if ok {
				seen[id], hit = true, true
			}
		}
		if !hit {
			res.unmatched = append(res.unmatched, p)
		}
	}
	res.matched = len(seen)

	// Read in a stable order (by name) so logs and tests are deterministic.
	files := make([]*tailFile, 0, len(t.files))
	for _, tf := range t.files {
		files = append(files, tf)
	}
	slices.SortFunc(files, func(a, b *tailFile) int { return strings.Compare(a.path, b.path) })
	for _, tf := range files {
		n, err := t.read(tf)
		res.bytesRead += n
		if seen[tf.id] {
			if err != nil {
				res.errs = append(res.errs, err)
			}
			continue
		}
		// No longer matched. Rotated away or deleted: it was drained above;
		// close it once a refresh finds nothing new in it. Still at its name
		// (the pattern missed it, e.g. a glob hiding an I/O error on a network
		// file system): keep it, so it is not read again from the start later.
		if t.gone(tf) && (err != nil || n == 0) {
			t.retire(tf)
		}
	}
	return res
}

// track makes sure the file at path is tracked. ok is false when path is not
// a regular file or vanished in the meantime.
func (t *tailer) track(path string) (fileID, bool, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileID{}, false, nil
	}
	if err != nil {
		return fileID{}, false, fmt.Errorf("stat audit log: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return fileID{}, false, nil
	}
	id := identity(path, fi)
	if tf, ok := t.files[id]; ok {
		tf.path = path
		return id, true, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return fileID{}, false, nil
	}
	if err != nil {
		return fileID{}, false, fmt.Errorf("open audit log: %w", err)
	}
	// The name may have been replaced between stat and open: the identity
	// of what was opened is the one that counts.
	fi, err = f.Stat()
	if err != nil {
		_ = f.Close()
		return fileID{}, false, fmt.Errorf("stat audit log: %w", err)
	}
	id = identity(path, fi)
	if tf, ok := t.files[id]; ok {
		_ = f.Close()
		tf.path = path
		return id, true, nil
	}
	t.files[id] = &tailFile{id: id, path: path, f: f}
	t.logger.Debug("following audit log", "path", path)
	return id, true, nil
}

// read consumes the bytes appended to tf since the last read, up to the size
// the file had when the read started.
func (t *tailer) read(tf *tailFile) (int64, error) {
	fi, err := tf.f.Stat()
	if err != nil {
		return 0, fmt.Errorf("stat audit log %s: %w", tf.path, err)
	}
	size := fi.Size()
	if size < tf.offset {
		t.logger.Info("audit log was truncated; reading it from the start", "path", tf.path)
		tf.offset, tf.partial, tf.discarding = 0, nil, false
	}
	if size == tf.offset {
		return 0, nil
	}
	if t.buf == nil {
		t.buf = make([]byte, readBufBytes)
	}
	var total int64
	for tf.offset < size {
		want := min(int64(len(t.buf)), size-tf.offset)
		n, err := tf.f.ReadAt(t.buf[:want], tf.offset)
		if n > 0 {
			t.consume(tf, t.buf[:n])
			tf.offset += int64(n)
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			break // shrank while reading; the next refresh sees it
		}
		if err != nil {
			return total, fmt.Errorf("read audit log %s: %w", tf.path, err)
		}
		if n == 0 {
			break
		}
	}
	return total, nil
}

// consume splits data into lines, joining the partial line kept from the
// previous read, and keeps a new incomplete tail.
func (t *tailer) consume(tf *tailFile, data []byte) {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			if tf.discarding {
				return
			}
			if len(tf.partial)+len(data) > maxLineBytes {
				t.tooLong(tf)
				return
			}
			tf.partial = append(tf.partial, data...)
			return
		}
		seg := data[:i]
		data = data[i+1:]
		switch {
		case tf.discarding:
			tf.discarding = false
		case len(tf.partial) > 0:
			if len(tf.partial)+len(seg) > maxLineBytes {
				t.tooLong(tf)
				tf.discarding = false
				continue
			}
			tf.partial = append(tf.partial, seg...)
			t.line(tf, tf.partial)
			if cap(tf.partial) > 64<<10 {
				tf.partial = nil
			} else {
				tf.partial = tf.partial[:0]
			}
		case len(seg) > maxLineBytes:
			t.tooLong(tf)
			tf.discarding = false
		default:
			t.line(tf, seg)
		}
	}
}

func (t *tailer) line(tf *tailFile, line []byte) {
	if err := t.sink.addLine(line); err != nil && t.loggedErrors < maxLoggedLineErrors {
		t.loggedErrors++
		t.logger.Debug("skipping malformed audit log line", "path", tf.path, "err", err)
	}
}

func (t *tailer) tooLong(tf *tailFile) {
	t.sink.addTooLong()
	tf.partial, tf.discarding = nil, true
	if t.loggedErrors < maxLoggedLineErrors {
		t.loggedErrors++
		t.logger.Debug("skipping over-long audit log line", "path", tf.path, "limit_bytes", maxLineBytes)
	}
}

// gone reports whether tf's name no longer leads to tf: removed or replaced.
// Any other error (I/O, permissions) says nothing, and tf is kept.
func (t *tailer) gone(tf *tailFile) bool {
	fi, err := os.Stat(tf.path)
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	return err == nil && identity(tf.path, fi) != tf.id
}

// retire closes a file that is no longer matched. Its incomplete last line,
// if any, will never be completed: it is parsed as it is.
func (t *tailer) retire(tf *tailFile) {
	if len(tf.partial) > 0 && !tf.discarding {
		t.line(tf, tf.partial)
	}
	if err := tf.f.Close(); err != nil {
		t.logger.Debug("closing audit log", "path", tf.path, "err", err)
	}
	delete(t.files, tf.id)
	t.logger.Debug("stopped following audit log", "path", tf.path)
}

// close closes every file without reading further.
func (t *tailer) close() error {
	var errs []error
	for id, tf := range t.files {
		errs = append(errs, tf.f.Close())
		delete(t.files, id)
	}
	return errors.Join(errs...)
}
