// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// visitKey identifies identical visit records: the time and a 64-bit
// FNV-1a hash of every other field (content, user, variant, rendering,
// bundle, path, user agent, data version).
type visitKey struct {
	t int64 // Unix nanoseconds
	h uint64
}

// visitSeen counts how many identical records were seen: n over the whole
// window (the most any read returned), cur in the current read.
type visitSeen struct {
	n, cur uint32
	gen    uint64
}

// visitStream counts visits. Records come in time order, so after each page
// the position moves to the page's last time and the dedup set keeps only
// keys at or after position-Overlap (a FIFO queue expires them).
type visitStream struct {
	s *Streams

	mu        sync.Mutex
	baselined bool
	position  time.Time // every record before position-Overlap was applied
	unordered bool
	counts    map[string]uint64
	seen      map[visitKey]visitSeen
	queue     []visitKey // keys in insertion (time) order, for expiry
	head      int
	lastEvent time.Time
	gen       uint64
	deletes   int // since seen was last rebuilt
}

func newVisitStream(s *Streams) *visitStream {
	return &visitStream{s: s, counts: map[string]uint64{}, seen: map[visitKey]visitSeen{}}
}

func (st *visitStream) name() string { return "visits" }

type visitWalk struct {
	gen      uint64
	now      time.Time
	baseline bool
	excluded map[string]bool
	prev     int64
	hasPrev  bool
}

func (st *visitStream) read(ctx context.Context, now time.Time) error {
	excluded, err := st.s.excl.current(ctx)
	if err != nil {
		return fmt.Errorf("content visits: %w", err)
	}
	overlap := st.s.cfg.Overlap
	st.mu.Lock()
	if now.Before(st.position) {
		now = st.position
	}
	var from time.Time
	if st.position.IsZero() {
		from = now.Add(-overlap)
	} else {
		from = st.position.Add(-overlap)
	}
	st.gen++
	w := &visitWalk{gen: st.gen, now: now, baseline: !st.baselined, excluded: excluded}
	st.mu.Unlock()

	err = st.s.cfg.Client.EachVisitPage(ctx, connectapi.UsageQuery{From: from}, func(p []connectapi.Visit) error {
		st.mu.Lock()
		st.apply(w, p)
		st.mu.Unlock()
		st.s.saved()
		return nil
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		return fmt.Errorf("reading content visits: %w", err)
	}
	st.baselined = true
	st.advance(now)
	return nil
}

func (st *visitStream) apply(w *visitWalk, p []connectapi.Visit) {
	for i := range p {
		v := &p[i]
		t := v.Time.UnixNano()
		if w.hasPrev && t < w.prev && !st.unordered {
			st.unordered = true
			st.s.logger.Warn("Connect returned visits out of time order; the visit position now moves only when a read completes", "stream", "visits")
		}
		w.prev, w.hasPrev = t, true
		if v.Time.After(st.lastEvent) {
			st.lastEvent = v.Time
		}
		if isExcluded(w.excluded, v.UserGUID) || (st.s.ignore != nil && st.s.ignore.MatchString(v.UserAgent)) {
			continue
		}
		k := visitKey{t: t, h: hashVisit(v)}
		e, ok := st.seen[k]
		if !ok {
			st.queue = append(st.queue, k)
		}
		if e.gen != w.gen {
			e.gen, e.cur = w.gen, 0
		}
		e.cur++
		if e.cur > e.n {
			e.n = e.cur
			if !w.baseline {
				st.counts[v.ContentGUID]++
			}
		}
		st.seen[k] = e
	}
	if !st.unordered && len(p) > 0 {
		if last := p[len(p)-1].Time; last.Before(w.now) {
			st.advance(last)
		} else {
			st.advance(w.now)
		}
	}
}

// advance moves the position forward to t and expires keys that no later
// read can return.
func (st *visitStream) advance(t time.Time) {
	if !t.After(st.position) {
		return
	}
	st.position = t
	cut := t.Add(-st.s.cfg.Overlap).UnixNano()
	for st.head < len(st.queue) && st.queue[st.head].t < cut {
		delete(st.seen, st.queue[st.head])
		st.head++
		st.deletes++
	}
	if st.deletes > 4*len(st.seen)+4096 {
		st.seen, st.deletes = resized(st.seen), 0
	}
	if st.head > 1024 && st.head*2 > len(st.queue) {
		st.queue = append(st.queue[:0:0], st.queue[st.head:]...)
		st.head = 0
	}
}

func (st *visitStream) describe(ch chan<- *prometheus.Desc) {
	ch <- visitsDesc
}

func (st *visitStream) collect(ch chan<- prometheus.Metric) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for guid, n := range st.counts {
		ch <- prometheus.MustNewConstMetric(visitsDesc, prometheus.CounterValue, float64(n), guid)
	}
	emitLastEvent(ch, "visits", st.lastEvent)
}

func (st *visitStream) size() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.seen)
}

func (st *visitStream) export() *visitState {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := &visitState{
		Baselined: st.baselined,
		Unordered: st.unordered,
		Position:  timePtr(st.position),
		LastEvent: timePtr(st.lastEvent),
		Counters:  make(map[string]uint64, len(st.counts)),
		Seen:      make([]visitSeenState, 0, len(st.seen)),
	}
	maps.Copy(out.Counters, st.counts)
	for k, e := range st.seen {
		out.Seen = append(out.Seen, visitSeenState{Time: time.Unix(0, k.t).UTC(), Hash: fmt.Sprintf("%016x", k.h), N: e.n})
	}
	slices.SortFunc(out.Seen, func(a, b visitSeenState) int {
		return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Hash, b.Hash))
	})
	return out
}

func (st *visitStream) restore(in *visitState) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.baselined = in.Baselined
	st.unordered = in.Unordered
	st.position = timeVal(in.Position)
	st.lastEvent = timeVal(in.LastEvent)
	maps.Copy(st.counts, in.Counters)
	seen := slices.Clone(in.Seen)
	slices.SortStableFunc(seen, func(a, b visitSeenState) int { return a.Time.Compare(b.Time) })
	for _, e := range seen {
		h, err := parseHash(e.Hash)
		if err != nil {
			return err
		}
		k := visitKey{t: e.Time.UnixNano(), h: h}
		if _, dup := st.seen[k]; dup {
			return fmt.Errorf("duplicate seen visit %s/%s", e.Time.Format(time.RFC3339Nano), e.Hash)
		}
		st.seen[k] = visitSeen{n: e.N}
		st.queue = append(st.queue, k)
	}
	return nil
}

// hashVisit is FNV-1a over every field but the time, each followed by a
// zero byte so that fields cannot run into each other.
func hashVisit(v *connectapi.Visit) uint64 {
	const (
		offset = 14695981039346656037
		prime  = 1099511628211
	)
	h := uint64(offset)
	add := func(s string) {
		for i := 0; i < len(s); i++ {
			h ^= uint64(s[i])
			h *= prime
		}
		h ^= 0
		h *= prime
	}
	add(v.ContentGUID)
	add(v.UserGUID)
	add(v.VariantKey)
	add(string(v.RenderingID))
	add(string(v.BundleID))
	add(v.Path)
	add(v.UserAgent)
	for x := uint64(uint32(v.DataVersion)); ; x >>= 8 {
		h ^= x & 0xff
		h *= prime
		if x < 0x100 {
			break
		}
	}
	return h
}
