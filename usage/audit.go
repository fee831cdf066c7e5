// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// auditStream counts audit log entries by action. The endpoint has no time
// filter, so each read walks newest first down to the last applied id and
// applies the whole walk at once; a failed walk applies nothing.
type auditStream struct {
	s *Streams

	mu        sync.Mutex
	baselined bool
	lastID    string // normalised decimal; "" = none (empty log at baseline)
	counts    map[string]uint64
	lastEvent time.Time
	// rebaselines counts the times the stream began counting afresh.
	rebaselines uint64
}

func newAuditStream(s *Streams) *auditStream {
	return &auditStream{s: s, counts: map[string]uint64{}}
}

func (st *auditStream) name() string { return "audit" }

func (st *auditStream) read(ctx context.Context, _ time.Time) error {
	st.mu.Lock()
	baseline, lastID, since := !st.baselined, st.lastID, st.lastEvent
	st.mu.Unlock()
	restored := false // ids went backwards: count what is newer than since

	var (
		pending    = map[string]uint64{}
		newest     string
		newestTime time.Time
		low        string // the lowest id taken in this walk
		repeated   int
	)
	err := st.s.cfg.Client.EachAuditPage(ctx, true, func(p []connectapi.AuditEntry) error {
		ids := make([]string, len(p))
		for i := range p {
			id, ok := NormalizeAuditID(string(p[i].ID))
			if !ok {
				return fmt.Errorf("audit entry id %.40q is not a decimal number", string(p[i].ID))
			}
			if i > 0 && CompareAuditIDs(id, ids[i-1]) >= 0 {
				return fmt.Errorf("the audit log is not newest first: id %s follows %s on one page", id, ids[i-1])
			}
			ids[i] = id
		}
		for i := range p {
			e, id := &p[i], ids[i]
			if newest == "" {
				newest, newestTime = id, e.Time
				if !baseline && lastID != "" && CompareAuditIDs(id, lastID) < 0 {
					// Connect's database was restored from a backup (or
					// replaced): the ids counted above its newest are gone
					// and new entries reuse them. Entries newer than the
					// newest one counted were all written after the
					// restore; the rest were counted before.
					restored = true
					st.s.logger.Warn("Audit log ids went backwards: the Connect database was restored or replaced; counting resumes from its newest entry",
						"stream", "audit", "newest_id", id, "last_id", lastID, "since", since)
				}
			}
			if low != "" && CompareAuditIDs(id, low) >= 0 {
				// A row already taken: the server's cursor is an offset and
				// entries arrived during the walk. The new entries are
				// above newest and are counted by the next read.
				repeated++
				continue
			}
			low = id
			switch {
			case baseline,
				restored && (since.IsZero() || !e.Time.After(since)),
				!restored && lastID != "" && CompareAuditIDs(id, lastID) <= 0:
				return connectapi.ErrStopPaging
			}
			pending[e.Action]++
			if e.Time.After(newestTime) {
				newestTime = e.Time
			}
		}
		return nil
	})
	if repeated > 0 {
		st.s.logger.Debug("Audit rows repeated across pages were skipped", "stream", "audit", "rows", repeated)
	}
	if err := stopped(err); err != nil {
		return fmt.Errorf("reading audit logs: %w", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for a, n := range pending {
		st.counts[a] += n
	}
	if newest != "" && (st.lastID == "" || CompareAuditIDs(newest, st.lastID) > 0 || restored) {
		st.lastID = newest
	}
	if restored {
		st.rebaselines++
	}
	if newestTime.After(st.lastEvent) {
		st.lastEvent = newestTime
	}
	st.baselined = true
	return nil
}

func (st *auditStream) describe(ch chan<- *prometheus.Desc) {
	ch <- auditDesc
}

func (st *auditStream) collect(ch chan<- prometheus.Metric) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for a, n := range st.counts {
		ch <- prometheus.MustNewConstMetric(auditDesc, prometheus.CounterValue, float64(n), a)
	}
	emitRebaselines(ch, "audit", st.rebaselines)
	emitLastEvent(ch, "audit", st.lastEvent)
}

// reset drops the counters and position: the next read is a baseline.
func (st *auditStream) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.baselined, st.lastID, st.lastEvent = false, "", time.Time{}
	st.counts = map[string]uint64{}
	st.rebaselines++
}

func (st *auditStream) export() *auditState {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := &auditState{Baselined: st.baselined, Rebaselines: st.rebaselines, LastID: st.lastID, LastEvent: timePtr(st.lastEvent), Counters: make(map[string]uint64, len(st.counts))}
	maps.Copy(out.Counters, st.counts)
	return out
}

func (st *auditStream) restore(in *auditState) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if in.LastID != "" {
		id, ok := NormalizeAuditID(in.LastID)
		if !ok {
			return errors.New("last_id is not a decimal number")
		}
		st.lastID = id
	}
	st.baselined = in.Baselined
	st.rebaselines = in.Rebaselines
	st.lastEvent = timeVal(in.LastEvent)
	maps.Copy(st.counts, in.Counters)
	return nil
}

// NormalizeAuditID checks that s, an audit entry id, is a decimal number
// and drops leading zeros.
func NormalizeAuditID(s string) (string, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return "", false
		}
	}
	s = strings.TrimLeft(s, "0")
	if s == "" {
		s = "0"
	}
	return s, true
}

// CompareAuditIDs compares normalised audit entry ids (decimal, of any
// length).
func CompareAuditIDs(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
