// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
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
// keys at or after position-Overlap (queue expires them by time).
type visitStream struct {
	s *Streams

	mu        sync.Mutex
	baselined bool
	position  time.Time // every record before position-Overlap was applied
	unordered bool
	counts    map[string]uint64
	seen      map[visitKey]visitSeen
	queue     visitQueue
	lastEvent lastEvent
	gen       uint64
	deletes   int  // since seen was last rebuilt
	warned    bool // a record dated ahead was logged
	// rebaselines counts the times the stream began counting afresh.
	rebaselines uint64
}

func newVisitStream(s *Streams) *visitStream {
	return &visitStream{s: s, counts: map[string]uint64{}, seen: map[visitKey]visitSeen{}}
}

func (st *visitStream) name() string { return "visits" }

type visitWalk struct {
	gen      uint64
	now      time.Time
	horizon  time.Time // now + Overlap: records dated later are "ahead"
	horizonN int64     // horizon in Unix nanoseconds
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
	w := &visitWalk{gen: st.gen, now: now, horizon: now.Add(overlap), horizonN: nanos(now.Add(overlap)), baseline: !st.baselined, excluded: excluded}
	st.mu.Unlock()

	for rereads := 0; ; rereads++ {
		var again time.Time // set when the walk must be read again from there
		err = st.s.cfg.Client.EachVisitPage(ctx, connectapi.UsageQuery{From: from}, func(p []connectapi.Visit) error {
			st.mu.Lock()
			if t, ok := st.repeated(w, p, from); ok {
				again = t
				st.mu.Unlock()
				return connectapi.ErrStopPaging
			}
			st.apply(w, p)
			st.mu.Unlock()
			st.s.saved()
			return nil
		})
		if err = stopped(err); err != nil || again.IsZero() {
			break
		}
		if rereads == maxRereads {
			err = fmt.Errorf("the server kept repeating rows across pages (%d reads again); trying again at the next read", rereads)
			break
		}
		st.s.logger.Debug("A page repeated rows of the page before; reading again from there", "stream", "visits", "from", again)
		st.mu.Lock()
		st.gen++
		w.gen, w.hasPrev = st.gen, false
		st.mu.Unlock()
		from = again
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		return fmt.Errorf("reading content visits: %w", err)
	}
	st.baselined = true
	st.advance(now)
	return nil
}

// maxRereads bounds how often one read starts again because a page
// repeated rows of the page before.
const maxRereads = 1000

// repeated reports whether page p repeats rows of the page before it, which
// happens when the server's cursor is an offset and records were inserted
// behind it during the walk (Connect's cursors are keysets; this guards
// against proxies and other servers). Rows come in time order, so a page
// that starts before the previous page's last time repeats rows; one that
// starts at that time repeats rows if one of its leading rows at that time
// was already seen in this walk (identical visits that straddle two pages
// look the same; reading again is harmless then). It returns where to
// read again: from the first repeated row, or from the expiry cut when the
// keys before the cut are gone (the rows before it were applied and are not
// read again; the keys at and after it are all kept, so the read from there
// is exact).
func (st *visitStream) repeated(w *visitWalk, p []connectapi.Visit, from time.Time) (time.Time, bool) {
	if !w.hasPrev || st.unordered || len(p) == 0 {
		return time.Time{}, false
	}
	t := nanos(p[0].Time)
	switch {
	case t > w.prev:
		return time.Time{}, false
	case t == w.prev:
		seen := false
		for i := 0; i < len(p) && nanos(p[i].Time) == t && !seen; i++ {
			e, ok := st.seen[visitKey{t: t, h: hashVisit(&p[i])}]
			seen = ok && e.gen == w.gen && e.cur > 0
		}
		if !seen {
			return time.Time{}, false
		}
	}
	again := p[0].Time
	if cut := st.position.Add(-st.s.cfg.Overlap); !st.position.IsZero() && again.Before(cut) {
		again = cut // the keys before the cut are gone: read what they covered again
	}
	if !again.After(from) && t == w.prev {
		// No progress is possible: the page before holds one time only.
		// Identical visits straddling the pages are by far the likelier
		// cause; count them as such.
		return time.Time{}, false
	}
	return again, true
}

func (st *visitStream) apply(w *visitWalk, p []connectapi.Visit) {
	for i := range p {
		v := &p[i]
		t := nanos(v.Time)
		if w.hasPrev && t < w.prev && !st.unordered {
			st.unordered = true
			st.s.logger.Warn("Connect returned visits out of time order; the visit position now moves only when a read completes", "stream", "visits")
		}
		w.prev, w.hasPrev = t, true
		if t > w.horizonN {
			st.warnAhead(v.Time, w.now)
		} else {
			st.lastEvent.observe(v.Time, t)
		}
		if isExcluded(w.excluded, v.UserGUID) || (st.s.ignore != nil && st.s.ignore.MatchString(v.UserAgent)) {
			continue
		}
		k := visitKey{t: t, h: hashVisit(v)}
		e, ok := st.seen[k]
		if !ok {
			st.queue.push(k, w.horizonN)
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
	st.deletes += st.queue.expire(nanos(t.Add(-st.s.cfg.Overlap)), st.seen)
	if st.deletes > 4*len(st.seen)+4096 {
		st.seen, st.deletes = resized(st.seen), 0
	}
}

// warnAhead logs, once per stream, a record dated beyond the read's
// horizon: it is counted, but it neither moves the last-event time nor
// holds back the expiry of other keys.
func (st *visitStream) warnAhead(t, now time.Time) {
	if st.warned {
		return
	}
	st.warned = true
	st.s.logger.Warn("Connect returned a record dated ahead of the exporter's clock by more than the overlap; it is counted once but does not move the last-event time", "stream", "visits", "record_time", t, "now", now)
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
	emitRebaselines(ch, "visits", st.rebaselines)
	emitLastEvent(ch, "visits", st.lastEvent.t)
}

// reset drops the counters, position and deduplication state: the next
// read is a baseline.
func (st *visitStream) reset() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.baselined, st.position, st.unordered, st.lastEvent, st.deletes = false, time.Time{}, false, lastEvent{}, 0
	st.counts, st.seen, st.queue = map[string]uint64{}, map[visitKey]visitSeen{}, visitQueue{}
	st.rebaselines++
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
		Baselined:   st.baselined,
		Rebaselines: st.rebaselines,
		Unordered:   st.unordered,
		Position:    timePtr(st.position),
		LastEvent:   timePtr(st.lastEvent.t),
		Counters:    make(map[string]uint64, len(st.counts)),
		Seen:        make([]visitSeenState, 0, len(st.seen)),
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
	st.rebaselines = in.Rebaselines
	st.unordered = in.Unordered
	st.position = timeVal(in.Position)
	st.lastEvent.set(timeVal(in.LastEvent))
	maps.Copy(st.counts, in.Counters)
	seen := slices.Clone(in.Seen)
	slices.SortStableFunc(seen, func(a, b visitSeenState) int { return a.Time.Compare(b.Time) })
	horizon := int64(math.MaxInt64)
	if !st.position.IsZero() {
		horizon = addNanos(nanos(st.position), st.s.cfg.Overlap)
	}
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
		st.queue.push(k, horizon)
	}
	return nil
}

// hashVisit is FNV-1a over every field but the time, each followed by a
// zero byte so that fields cannot run into each other. A time that Unix
// nanoseconds cannot hold (the key holds the nearest end of the range) is
// hashed too, so that such records keep distinct keys.
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
	if !inNanoRange(v.Time) {
		add(v.Time.UTC().Format(time.RFC3339Nano))
	}
	return h
}
