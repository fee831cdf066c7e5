// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"
)

// Replay reads the streams by hand, on a clock of the caller's, to
// rebuild the counters of the past (the backfill). Each Read reads the
// three streams once, in turn, exactly as a read of the exporter that
// started at that moment would, against whatever view of Connect the
// Client presents (the backfill's presents Connect as it was at that
// moment). The first Read is the baseline, as after the exporter's start:
// what it returns already existed and is remembered, not counted. So a
// Replay whose first Read is at T counts what the exporter would have
// counted had it started at T.
//
// A Replay never lists content (no deleted-content check) and writes no
// state file until Save; the streams' Interval and ReadTimeout do not
// apply. Config.Now is still used for what is measured in real time (the
// refresh of excluded usernames, the state file's saved_at).
type Replay struct {
	s    *Streams
	path string // the state file Save writes; "" for none
	lock *stateLock
}

// ErrStateFileExists is returned by NewReplay when the state file to be
// written exists already.
var ErrStateFileExists = errors.New("the state file exists already")

// NewReplay returns streams to be read by hand. With cfg.StateFile, the
// file must not exist yet: a replay writes a new one and never replaces
// counters an exporter may have exposed. It is locked from now until
// Close (an exporter started on it meanwhile fails), and Save writes it.
func NewReplay(cfg Config) (_ *Replay, err error) {
	path := cfg.StateFile
	cfg.StateFile = ""
	cfg.DeletedContentRetention = -1
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	r := &Replay{s: s, path: path}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	if path == "" {
		return r, nil
	}
	if r.lock, err = lockStateFile(path); err != nil {
		return nil, err
	}
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("usage: %w: %s; move it away first (it may hold counters an exporter has exposed)", ErrStateFileExists, path)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("usage: cannot read the state file: %w", err)
	}
	if _, err := removeStaleTemps(path); err != nil {
		return nil, fmt.Errorf("usage: cannot remove the temporary files beside the state file %s: %w", path, err)
	}
	if err := checkWritable(path); err != nil {
		return nil, err
	}
	return r, nil
}

// Read reads the Shiny sessions, the visits and the audit log once each,
// as reads starting at now, and applies what the client returns. The
// client must return what Connect held at now; a Read at a time before
// the previous Read's is read as at the previous one.
func (r *Replay) Read(ctx context.Context, now time.Time) error {
	for _, st := range []stream{r.s.shiny, r.s.visits, r.s.audit} {
		if err := st.read(ctx, now); err != nil {
			return err
		}
	}
	return nil
}

// Counters calls fn with the value of every counter: family is an index
// into CounterFamilies, label the value of its label. The order is
// unspecified. fn must not call the Replay.
func (r *Replay) Counters(fn func(family int, label string, value float64)) {
	sh := r.s.shiny
	sh.mu.Lock()
	for guid, c := range sh.counts {
		fn(ShinySessions, guid, float64(c.started))
		fn(ShinySessionsEnded, guid, float64(c.ended))
		fn(ShinySessionDuration, guid, c.duration.seconds())
	}
	sh.mu.Unlock()
	v := r.s.visits
	v.mu.Lock()
	for guid, n := range v.counts {
		fn(ContentVisits, guid, float64(n))
	}
	v.mu.Unlock()
	a := r.s.audit
	a.mu.Lock()
	for action, n := range a.counts {
		fn(AuditEvents, action, float64(n))
	}
	a.mu.Unlock()
}

// Save writes the state file (atomically) in the format the exporter
// reads, so that an exporter started with it goes on counting from where
// the last Read stopped. It records Config.ServerURL and the server's
// identity, its oldest audit entry, read through the client now.
func (r *Replay) Save(ctx context.Context) error {
	if r.path == "" {
		return errors.New("usage: the replay has no state file")
	}
	ident, known, err := r.s.firstAudit(ctx)
	if err != nil {
		return fmt.Errorf("reading Connect's identity: %w", err)
	}
	c := &r.s.server
	c.mu.Lock()
	c.current = serverState{URL: c.url}
	if known {
		c.current.FirstAudit = ident
	}
	c.done = true
	c.mu.Unlock()
	data, err := encodeState(r.s.snapshot())
	if err != nil {
		return err
	}
	return writeFileAtomic(r.path, data)
}

// Close releases the state file's lock.
func (r *Replay) Close() {
	_ = r.s.Close() // nothing runs and there is no file to save
	r.lock.release()
	r.lock = nil
}
