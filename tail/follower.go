// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package tail

import (
	"log/slog"
	"strings"
	"time"
)

// Names says how a Follower's log lines call its files: One for one
// ("Workbench audit log"), All for all of them ("Workbench audit logs").
type Names struct{ One, All string }

// Follower reads a Tailer's patterns on a schedule, for a collector that
// serves scrapes in between from what it read: at most once per interval
// (or sooner when the clock stepped back, so a stepped clock cannot stall
// reading), logging a read problem once, when it appears or changes. Its
// caller serialises the calls, as it does its sink's.
type Follower struct {
	tailer *Tailer
	paths  []string
	every  time.Duration
	logger *slog.Logger
	names  Names

	read    bool      // a read has happened
	last    time.Time // when
	files   int       // distinct files the last read matched
	ok      bool      // the last read matched every path and read every file
	problem string    // the last read's problem, logged when it changed
}

// NewFollower follows paths through t, reading at most once per every.
func NewFollower(t *Tailer, paths []string, every time.Duration, logger *slog.Logger, names Names) *Follower {
	return &Follower{tailer: t, paths: paths, every: every, logger: logger, names: names}
}

// Due reports whether a read is due at now.
func (f *Follower) Due(now time.Time) bool {
	since := now.Sub(f.last)
	return !f.read || since >= f.every || since < 0
}

// Read reads what was appended to the files, remembers how it went, and
// logs a problem when it appears or changes.
func (f *Follower) Read(now time.Time) Result {
	f.read, f.last = true, now
	res := f.tailer.Refresh(f.paths)
	f.files, f.ok = res.Files, res.OK()
	if problem := res.Problem(); problem != f.problem {
		switch {
		case res.ErrCount > 0:
			f.logger.Warn("Reading "+f.names.All+" failed", "err", problem)
		case len(res.Dirs) > 0:
			f.logger.Warn("A "+f.names.One+" path is a directory", "err", problem)
		case len(res.Unmatched) > 0:
			f.logger.Warn("No "+f.names.One+" file matches a configured path", "paths", strings.Join(res.Unmatched, ", "))
		default:
			f.logger.Info("Reading "+f.names.All+" again", "files", res.Files)
		}
		f.problem = problem
	}
	return res
}

// Ready reports whether the files have been read once.
func (f *Follower) Ready() bool { return f.read }

// Files is the number of distinct files the last read matched.
func (f *Follower) Files() int { return f.files }

// OK reports whether the last read matched every path and read every file.
func (f *Follower) OK() bool { return f.ok }
