// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// stateVersion is the state file format version written. Version 1 files
// (without the server's identity) are read too; any other version is
// refused rather than guessed at.
const stateVersion = 2

// maxStateBytes bounds the state file read at start-up.
const maxStateBytes = 1 << 30

// stateFile is the JSON document kept in Config.StateFile.
type stateFile struct {
	Version int          `json:"version"`
	SavedAt time.Time    `json:"saved_at"`
	Server  *serverState `json:"server,omitempty"`
	Shiny   *shinyState  `json:"shiny,omitempty"`
	Visits  *visitState  `json:"visits,omitempty"`
	Audit   *auditState  `json:"audit,omitempty"`
	// Content is what the deleted-content check knows.
	Content *contentState `json:"content,omitempty"`
}

type contentState struct {
	ListedAt *time.Time                     `json:"listed_at,omitempty"`
	Missing  map[string]missingContentState `json:"missing,omitempty"`
}

// missingContentState is content with counters that Connect's list did
// not hold since Since; Counted is its sessions plus visits then.
type missingContentState struct {
	Since   time.Time `json:"since"`
	Counted uint64    `json:"counted"`
}

// serverState names the Connect server whose counters the file holds.
type serverState struct {
	URL string `json:"url,omitempty"`
	// FirstAudit is the oldest entry of Connect's audit log, which
	// Connect keeps indefinitely: it identifies the database.
	FirstAudit *auditIdentity `json:"first_audit,omitempty"`
}

type auditIdentity struct {
	ID     string    `json:"id"`
	Time   time.Time `json:"time"`
	Action string    `json:"action"`
}

type shinyState struct {
	Baselined   bool                         `json:"baselined"`
	Rebaselines uint64                       `json:"rebaselines,omitempty"`
	Position    *time.Time                   `json:"position,omitempty"`
	Walk        *shinyWalkState              `json:"walk,omitempty"`
	Unordered   bool                         `json:"unordered,omitempty"`
	LastEvent   *time.Time                   `json:"last_event,omitempty"`
	Counters    map[string]shinyCounterState `json:"counters"`
	Open        []openSessionState           `json:"open"`
	Ended       []endedSessionState          `json:"ended"`
}

// shinyWalkState is a read that has not completed: its from, and the
// started time below which its ended records were all applied.
type shinyWalkState struct {
	From time.Time  `json:"from"`
	Mark *time.Time `json:"mark,omitempty"`
}

type shinyCounterState struct {
	Started         uint64 `json:"started"`
	Ended           uint64 `json:"ended"`
	DurationSeconds int64  `json:"duration_seconds"`
	DurationNanos   int64  `json:"duration_nanos"`
}

type openSessionState struct {
	ContentGUID string    `json:"content_guid"`
	UserGUID    string    `json:"user_guid,omitempty"`
	Started     time.Time `json:"started"`
	Counted     bool      `json:"counted,omitempty"`
	Baseline    bool      `json:"baseline,omitempty"`
	// LastSeen is the start of the last read that returned it open.
	LastSeen *time.Time `json:"last_seen,omitempty"`
}

type endedSessionState struct {
	ContentGUID string    `json:"content_guid"`
	UserGUID    string    `json:"user_guid,omitempty"`
	Started     time.Time `json:"started"`
	Ended       time.Time `json:"ended"`
}

type visitState struct {
	Baselined   bool              `json:"baselined"`
	Rebaselines uint64            `json:"rebaselines,omitempty"`
	Position    *time.Time        `json:"position,omitempty"`
	Unordered   bool              `json:"unordered,omitempty"`
	LastEvent   *time.Time        `json:"last_event,omitempty"`
	Counters    map[string]uint64 `json:"counters"`
	Seen        []visitSeenState  `json:"seen"`
}

type visitSeenState struct {
	Time time.Time `json:"time"`
	Hash string    `json:"hash"` // 16 hex digits
	N    uint32    `json:"n"`
}

type auditState struct {
	Baselined   bool              `json:"baselined"`
	Rebaselines uint64            `json:"rebaselines,omitempty"`
	LastID      string            `json:"last_id"`
	LastEvent   *time.Time        `json:"last_event,omitempty"`
	Counters    map[string]uint64 `json:"counters"`
}

func encodeState(st *stateFile) ([]byte, error) {
	data, err := json.Marshal(st)
	if err != nil {
		return nil, fmt.Errorf("encoding the usage state: %w", err)
	}
	return append(data, '\n'), nil
}

// decodeState parses and validates a state file. Unknown fields, trailing
// data, another version and inconsistent values are errors.
func decodeState(data []byte) (*stateFile, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var st stateFile
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the document")
	}
	if st.Version != 1 && st.Version != stateVersion {
		return nil, fmt.Errorf("unsupported version %d (this exporter reads versions 1 to %d)", st.Version, stateVersion)
	}
	if err := st.validate(); err != nil {
		return nil, err
	}
	return &st, nil
}

// nanoTime reports whether t survives a round trip through Unix
// nanoseconds, which is how times are held in memory.
func nanoTime(t time.Time) bool {
	return !t.IsZero() && time.Unix(0, t.UnixNano()).Equal(t)
}

func optNanoTime(t *time.Time) bool { return t == nil || nanoTime(*t) }

func (st *stateFile) validate() error {
	if c := st.Content; c != nil {
		if !optNanoTime(c.ListedAt) {
			return errors.New("content: time out of range")
		}
		for _, m := range c.Missing {
			if !nanoTime(m.Since) {
				return errors.New("content: time out of range")
			}
		}
	}
	if sv := st.Server; sv != nil && sv.FirstAudit != nil {
		if _, ok := NormalizeAuditID(sv.FirstAudit.ID); !ok || !nanoTime(sv.FirstAudit.Time) {
			return errors.New("server: invalid first_audit")
		}
	}
	if s := st.Shiny; s != nil {
		if !optNanoTime(s.Position) || !optNanoTime(s.LastEvent) {
			return errors.New("shiny: time out of range")
		}
		if s.Walk != nil && (!nanoTime(s.Walk.From) || !optNanoTime(s.Walk.Mark)) {
			return errors.New("shiny: walk time out of range")
		}
		for g, c := range s.Counters {
			if c.Ended > c.Started || c.DurationSeconds < 0 || c.DurationNanos < 0 || c.DurationNanos >= 1e9 {
				return fmt.Errorf("shiny: inconsistent counters for %.40q", g)
			}
		}
		keys := make(map[sessionKey]bool, len(s.Open)+len(s.Ended))
		for _, o := range s.Open {
			if !nanoTime(o.Started) || !optNanoTime(o.LastSeen) || (o.Counted && o.Baseline) {
				return fmt.Errorf("shiny: invalid open session of %.40q", o.ContentGUID)
			}
			k := sessionKey{o.ContentGUID, o.UserGUID, o.Started.UnixNano()}
			if keys[k] {
				return fmt.Errorf("shiny: duplicate session of %.40q", o.ContentGUID)
			}
			keys[k] = true
		}
		for _, e := range s.Ended {
			if !nanoTime(e.Started) || !nanoTime(e.Ended) {
				return fmt.Errorf("shiny: invalid ended session of %.40q", e.ContentGUID)
			}
			k := sessionKey{e.ContentGUID, e.UserGUID, e.Started.UnixNano()}
			if keys[k] {
				return fmt.Errorf("shiny: duplicate session of %.40q", e.ContentGUID)
			}
			keys[k] = true
		}
	}
	if v := st.Visits; v != nil {
		if !optNanoTime(v.Position) || !optNanoTime(v.LastEvent) {
			return errors.New("visits: time out of range")
		}
		keys := make(map[visitKey]bool, len(v.Seen))
		for _, e := range v.Seen {
			h, err := parseHash(e.Hash)
			if err != nil {
				return fmt.Errorf("visits: %w", err)
			}
			if !nanoTime(e.Time) || e.N == 0 {
				return errors.New("visits: invalid seen entry")
			}
			k := visitKey{e.Time.UnixNano(), h}
			if keys[k] {
				return errors.New("visits: duplicate seen entry")
			}
			keys[k] = true
		}
	}
	if a := st.Audit; a != nil {
		if !optNanoTime(a.LastEvent) {
			return errors.New("audit: time out of range")
		}
		if a.LastID != "" {
			if _, ok := NormalizeAuditID(a.LastID); !ok {
				return errors.New("audit: last_id is not a decimal number")
			}
		}
	}
	return nil
}

func parseHash(s string) (uint64, error) {
	if len(s) != 16 {
		return 0, fmt.Errorf("hash %.20q is not 16 hex digits", s)
	}
	h, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		return 0, fmt.Errorf("hash %.20q is not 16 hex digits", s)
	}
	return h, nil
}

// loadStateFile reads the state file; a missing file is (nil, nil).
func loadStateFile(path string) (*stateFile, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("usage: cannot read the state file: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxStateBytes+1))
	if err != nil {
		return nil, fmt.Errorf("usage: cannot read the state file %s: %w", path, err)
	}
	if len(data) > maxStateBytes {
		return nil, fmt.Errorf("usage: the state file %s is larger than %d bytes", path, maxStateBytes)
	}
	st, err := decodeState(data)
	if err != nil {
		return nil, fmt.Errorf("usage: the state file %s is corrupt (%w); fix or remove it: counters restart at zero without it", path, err)
	}
	return st, nil
}

// checkWritable fails early when the state file's directory does not take
// new files.
func checkWritable(path string) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".check-*")
	if err != nil {
		return fmt.Errorf("usage: the state file's directory is not writable: %w", err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// writeFileAtomic writes data to path so that a crash leaves either the old
// or the new file: temp file in the same directory, fsync, rename, fsync
// the directory.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("writing the state file: %w", err)
	}
	if err = f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("writing the state file: %w", err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	if err = os.Chmod(tmp, 0o600); err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("writing the state file: %w", err)
	}
	defer d.Close()
	if err = d.Sync(); err != nil {
		return fmt.Errorf("writing the state file: syncing its directory: %w", err)
	}
	return nil
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func timeVal(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return *t
}
