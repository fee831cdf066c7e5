// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// sessionKey identifies a Shiny session: Connect has no session id.
type sessionKey struct {
	content string
	user    string
	started int64 // Unix nanoseconds
}

type openSession struct {
	counted  bool   // counted in sessions_total
	baseline bool   // open when counting began: never counted
	gen      uint64 // last walk that returned it
}

// durationSum is an exact sum of nanoseconds that cannot overflow in
// practice (int64 seconds).
type durationSum struct {
	sec  int64
	nsec int64 // [0, 1e9)
}

func (d *durationSum) add(ns int64) {
	if ns <= 0 {
		return
	}
	d.sec += ns / 1e9
	d.nsec += ns % 1e9
	if d.nsec >= 1e9 {
		d.sec++
		d.nsec -= 1e9
	}
}

func (d durationSum) seconds() float64 { return float64(d.sec) + float64(d.nsec)/1e9 }

type shinyCount struct {
	started, ended uint64
	duration       durationSum
}

// shinyStream counts Shiny sessions. See the package documentation for
// the rules; in short:
//   - open holds every session currently open (bounded by open sessions);
//   - ended holds sessions seen ended whose end is recent enough to be
//     returned again by the next read (bounded by the overlap window);
//   - mark covers a read that failed part way: every ended record with
//     started < mark returned for the same from was applied, so the retry
//     skips it without having kept its key.
type shinyStream struct {
	s *Streams

	mu        sync.Mutex
	baselined bool      // a read has completed: records are counted from now on
	position  time.Time // start of the last completed read
	walk      bool      // a read is pending (started, not completed)
	walkFrom  time.Time // its from, kept until it completes
	mark      int64
	markSet   bool
	unordered bool // the server was seen not to sort by started
	counts    map[string]*shinyCount
	open      map[sessionKey]*openSession
	ended     map[sessionKey]int64 // end, Unix nanoseconds
	lastEvent time.Time
	gen       uint64
	deletes   int          // since the maps were last rebuilt
	ties      []sessionKey // ended keys kept only because started == mark
}

func newShinyStream(s *Streams) *shinyStream {
	return &shinyStream{
		s:      s,
		counts: map[string]*shinyCount{},
		open:   map[sessionKey]*openSession{},
		ended:  map[sessionKey]int64{},
	}
}

func (st *shinyStream) name() string { return "shiny" }

// shinyWalk is what one read knows while it applies pages.
type shinyWalk struct {
	gen         uint64
	now         time.Time // the read's start (never before position)
	keepFrom    int64     // ended keys before this are not needed by the next read
	baseline    bool
	excluded    map[string]bool
	prevStarted int64
	hasPrev     bool
}

func (st *shinyStream) read(ctx context.Context, now time.Time) error {
	excluded, err := st.s.excl.current(ctx)
	if err != nil {
		return fmt.Errorf("shiny sessions: %w", err)
	}
	overlap := st.s.cfg.Overlap
	st.mu.Lock()
	if now.Before(st.position) {
		now = st.position // the clock went back: never re-read more than the ended set covers
	}
	if !st.walk {
		st.walk = true
		st.markSet = false
		if st.baselined {
			st.walkFrom = st.position.Add(-overlap)
		} else {
			st.walkFrom = now.Add(-overlap)
		}
	}
	from := st.walkFrom
	st.gen++
	w := &shinyWalk{gen: st.gen, now: now, keepFrom: now.Add(-overlap).UnixNano(), baseline: !st.baselined, excluded: excluded}
	st.mu.Unlock()

	err = st.s.cfg.Client.EachShinySessionPage(ctx, connectapi.UsageQuery{From: from}, func(p []connectapi.ShinySession) error {
		st.mu.Lock()
		st.apply(w, p)
		st.mu.Unlock()
		st.s.saved()
		return nil
	})
	st.mu.Lock()
	defer st.mu.Unlock()
	if err != nil {
		return fmt.Errorf("reading Shiny sessions: %w", err)
	}
	st.baselined = true
	st.position = now
	st.walk, st.markSet, st.ties = false, false, nil
	dropped := 0
	for k, o := range st.open {
		if o.gen != w.gen {
			// A complete read returns every open session; this one is
			// gone without an end (deleted, or its end fell before from).
			delete(st.open, k)
			st.deletes++
			dropped++
		}
	}
	if dropped > 0 {
		st.s.logger.Debug("Open Shiny sessions vanished without an end; dropped", "stream", "shiny", "sessions", dropped)
	}
	for k, e := range st.ended {
		if e < w.keepFrom {
			delete(st.ended, k)
			st.deletes++
		}
	}
	if st.deletes > 4*(len(st.open)+len(st.ended))+4096 {
		st.open, st.ended, st.deletes = resized(st.open), resized(st.ended), 0
	}
	return nil
}

func (st *shinyStream) apply(w *shinyWalk, p []connectapi.ShinySession) {
	for i := range p {
		r := &p[i]
		started := r.Started.UnixNano()
		if w.hasPrev && started < w.prevStarted && !st.unordered {
			st.unordered = true
			st.s.logger.Warn("Connect returned Shiny sessions out of started order; keeping every ended session until each read completes", "stream", "shiny")
		}
		w.prevStarted, w.hasPrev = started, true
		if r.Started.After(st.lastEvent) {
			st.lastEvent = r.Started
		}
		if r.Ended != nil && r.Ended.After(st.lastEvent) {
			st.lastEvent = *r.Ended
		}
		if isExcluded(w.excluded, r.UserGUID) {
			continue
		}
		k := sessionKey{content: r.ContentGUID, user: r.UserGUID, started: started}
		if r.Ended == nil {
			st.seenOpen(w, k, r)
		} else {
			st.seenEnded(w, k, r)
		}
	}
	if st.unordered || len(p) == 0 {
		return
	}
	last := p[len(p)-1].Started.UnixNano()
	if !st.markSet || last > st.mark {
		// Keys kept only because they sat at the old mark are covered by
		// the new one.
		for _, k := range st.ties {
			if e, ok := st.ended[k]; ok && e < w.keepFrom && !st.unordered {
				delete(st.ended, k)
				st.deletes++
			}
		}
		st.ties = st.ties[:0]
		st.mark, st.markSet = last, true
	}
	// Records at exactly the mark are not covered by it (it is strict):
	// keep the applied ended ones by key.
	for i := len(p) - 1; i >= 0 && p[i].Started.UnixNano() == st.mark; i-- {
		r := &p[i]
		if r.Ended != nil && !isExcluded(w.excluded, r.UserGUID) {
			k := sessionKey{content: r.ContentGUID, user: r.UserGUID, started: st.mark}
			if _, ok := st.ended[k]; !ok {
				st.ended[k] = r.Ended.UnixNano()
				st.ties = append(st.ties, k)
			}
		}
	}
}

// longEnough reports whether a session of length d counts. With no
// minimum every session counts, including an open one that by our clock
// started in the future because Connect's clock runs ahead of ours.
func (st *shinyStream) longEnough(d time.Duration) bool {
	return st.s.cfg.MinSessionDuration <= 0 || d >= st.s.cfg.MinSessionDuration
}

func (st *shinyStream) count(content string) *shinyCount {
	c := st.counts[content]
	if c == nil {
		c = &shinyCount{}
		st.counts[content] = c
	}
	return c
}

func (st *shinyStream) seenOpen(w *shinyWalk, k sessionKey, r *connectapi.ShinySession) {
	if _, done := st.ended[k]; done {
		return
	}
	o := st.open[k]
	if o == nil {
		o = &openSession{baseline: w.baseline}
		st.open[k] = o
	}
	o.gen = w.gen
	if !o.baseline && !o.counted && st.longEnough(w.now.Sub(r.Started)) {
		o.counted = true
		st.count(k.content).started++
	}
}

func (st *shinyStream) seenEnded(w *shinyWalk, k sessionKey, r *connectapi.ShinySession) {
	end := r.Ended.UnixNano()
	d := r.Ended.Sub(r.Started)
	if o, ok := st.open[k]; ok {
		delete(st.open, k)
		st.deletes++
		if !o.baseline {
			switch {
			case o.counted:
				c := st.count(k.content)
				c.ended++
				c.duration.add(int64(d))
			case st.longEnough(d):
				c := st.count(k.content)
				c.started++
				c.ended++
				c.duration.add(int64(d))
			}
		}
		st.keepEnded(w, k, end)
		return
	}
	if _, done := st.ended[k]; done {
		return
	}
	if st.markSet && k.started < st.mark {
		return // applied by an earlier read over the same window that failed later
	}
	if !w.baseline && st.longEnough(d) {
		c := st.count(k.content)
		c.started++
		c.ended++
		c.duration.add(int64(d))
	}
	st.keepEnded(w, k, end)
}

func (st *shinyStream) keepEnded(w *shinyWalk, k sessionKey, end int64) {
	if end >= w.keepFrom || st.unordered {
		st.ended[k] = end
	}
}

func (st *shinyStream) describe(ch chan<- *prometheus.Desc) {
	ch <- shinySessionsDesc
	ch <- shinyEndedDesc
	ch <- shinyDurationDesc
}

func (st *shinyStream) collect(ch chan<- prometheus.Metric) {
	st.mu.Lock()
	defer st.mu.Unlock()
	for guid, c := range st.counts {
		ch <- prometheus.MustNewConstMetric(shinySessionsDesc, prometheus.CounterValue, float64(c.started), guid)
		ch <- prometheus.MustNewConstMetric(shinyEndedDesc, prometheus.CounterValue, float64(c.ended), guid)
		ch <- prometheus.MustNewConstMetric(shinyDurationDesc, prometheus.CounterValue, c.duration.seconds(), guid)
	}
	emitLastEvent(ch, "shiny", st.lastEvent)
}

// sizes reports the dedup state's size (tests, benchmarks).
func (st *shinyStream) sizes() (open, ended int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.open), len(st.ended)
}

func (st *shinyStream) export() *shinyState {
	st.mu.Lock()
	defer st.mu.Unlock()
	out := &shinyState{
		Baselined: st.baselined,
		Unordered: st.unordered,
		Position:  timePtr(st.position),
		LastEvent: timePtr(st.lastEvent),
		Counters:  make(map[string]shinyCounterState, len(st.counts)),
		Open:      make([]openSessionState, 0, len(st.open)),
		Ended:     make([]endedSessionState, 0, len(st.ended)),
	}
	if st.walk {
		out.Walk = &shinyWalkState{From: st.walkFrom.UTC()}
		if st.markSet {
			m := time.Unix(0, st.mark).UTC()
			out.Walk.Mark = &m
		}
	}
	for g, c := range st.counts {
		out.Counters[g] = shinyCounterState{Started: c.started, Ended: c.ended, DurationSeconds: c.duration.sec, DurationNanos: c.duration.nsec}
	}
	for k, o := range st.open {
		out.Open = append(out.Open, openSessionState{ContentGUID: k.content, UserGUID: k.user, Started: time.Unix(0, k.started).UTC(), Counted: o.counted, Baseline: o.baseline})
	}
	for k, e := range st.ended {
		out.Ended = append(out.Ended, endedSessionState{ContentGUID: k.content, UserGUID: k.user, Started: time.Unix(0, k.started).UTC(), Ended: time.Unix(0, e).UTC()})
	}
	slices.SortFunc(out.Open, func(a, b openSessionState) int {
		return cmp.Or(cmp.Compare(a.ContentGUID, b.ContentGUID), cmp.Compare(a.UserGUID, b.UserGUID), a.Started.Compare(b.Started))
	})
	slices.SortFunc(out.Ended, func(a, b endedSessionState) int {
		return cmp.Or(cmp.Compare(a.ContentGUID, b.ContentGUID), cmp.Compare(a.UserGUID, b.UserGUID), a.Started.Compare(b.Started))
	})
	return out
}

func (st *shinyStream) restore(in *shinyState) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.baselined = in.Baselined
	st.unordered = in.Unordered
	st.position = timeVal(in.Position)
	st.lastEvent = timeVal(in.LastEvent)
	if in.Walk != nil {
		st.walk, st.walkFrom = true, in.Walk.From
		if in.Walk.Mark != nil {
			st.mark, st.markSet = in.Walk.Mark.UnixNano(), true
		}
	}
	for g, c := range in.Counters {
		st.counts[g] = &shinyCount{started: c.Started, ended: c.Ended, duration: durationSum{sec: c.DurationSeconds, nsec: c.DurationNanos}}
	}
	for _, o := range in.Open {
		st.open[sessionKey{content: o.ContentGUID, user: o.UserGUID, started: o.Started.UnixNano()}] = &openSession{counted: o.Counted, baseline: o.Baseline}
	}
	for _, e := range in.Ended {
		st.ended[sessionKey{content: e.ContentGUID, user: e.UserGUID, started: e.Started.UnixNano()}] = e.Ended.UnixNano()
	}
	return nil
}
