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
}

func newAuditStream(s *Streams) *auditStream {
	return &auditStream{s: s, counts: map[string]uint64{}}
}

func (st *auditStream) name() string { return "audit" }

func (st *auditStream) read(ctx context.Context, _ time.Time) error {
	st.mu.Lock()
	baseline, lastID := !st.baselined, st.lastID
	st.mu.Unlock()

	var (
		pending    = map[string]uint64{}
		newest     string
		newestTime time.Time
		first      = true
	)
	err := st.s.cfg.Client.EachAuditPage(ctx, true, func(p []connectapi.AuditEntry) error {
		for i := range p {
			e := &p[i]
			id, ok := normalizeID(string(e.ID))
			if !ok {
				return fmt.Errorf("audit entry id %.40q is not a decimal number", string(e.ID))
			}
			if first {
				first = false
				newest, newestTime = id, e.Time
				if lastID != "" && compareIDs(id, lastID) < 0 {
					st.s.logger.Warn("The newest audit entry is older than the last one counted; was the Connect database restored?", "stream", "audit", "newest_id", id, "last_id", lastID)
				}
			}
			if baseline || (lastID != "" && compareIDs(id, lastID) <= 0) {
				return connectapi.ErrStopPaging
			}
			pending[e.Action]++
			if e.Time.After(newestTime) {
				newestTime = e.Time
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading audit logs: %w", err)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	for a, n := range pending {
		st.counts[a] += n
	}
	if newest != "" && (st.lastID == "" || compareIDs(newest, st.lastID) > 0) {
		st.lastID = newest
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
	emitLastEvent(ch, "audit", st.lastEvent)
}

func (st *auditStream) export() *auditState {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := &auditState{Baselined: st.baselined, LastID: st.lastID, LastEvent: timePtr(st.lastEvent), Counters: make(map[string]uint64, len(st.counts))}
	maps.Copy(out.Counters, st.counts)
	return out
}

func (st *auditStream) restore(in *auditState) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if in.LastID != "" {
		id, ok := normalizeID(in.LastID)
		if !ok {
			return errors.New("last_id is not a decimal number")
		}
		st.lastID = id
	}
	st.baselined = in.Baselined
	st.lastEvent = timeVal(in.LastEvent)
	maps.Copy(st.counts, in.Counters)
	return nil
}

// normalizeID checks that s is a decimal number and drops leading zeros.
func normalizeID(s string) (string, bool) {
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

// compareIDs compares normalised decimal ids of any length.
func compareIDs(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}
