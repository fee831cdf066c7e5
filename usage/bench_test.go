// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

const mib = 1 << 20

// BenchmarkSimulator1M reads 1,000,000 Shiny sessions and 1,000,000 visits
// that the simulator generated after the baseline, through the real client
// over loopback HTTP, in one catch-up read per stream (the worst case for
// memory: a long backlog). Reported: events/s (sessions + visits per second
// of reading, both ends of the HTTP exchange in this process) and the peak
// and final live heap above the heap held before the read (the simulator's
// own data is excluded that way; GOGC is 10 during the read).
//
//	go test -run xxx -bench Simulator1M -benchtime 1x ./usage/
func BenchmarkSimulator1M(b *testing.B) {
	const target = 1_000_000
	clk := newClock()
	srv := testutil.Start(b, connecttest.New(connecttest.Config{
		Seed: 1, Users: 10_000, Content: 1_000, Now: clk.Now, History: 24 * time.Hour,
		ShinySessions: 1_000_000, Visits: 1_000_000, AuditEntries: 10_000,
	}))
	client, err := connectapi.NewClient(srv.URL(), connectapi.WithAPIKey(connectapi.StaticKey(connecttest.DefaultAPIKey)))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := New(Config{Client: client, Now: clk.Now, Interval: time.Millisecond, ReadTimeout: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		t0 := clk.Now()
		scrape(b, s) // baseline
		clk.Advance(2 * time.Second)
		// Generate at least target new sessions and visits (no reads meanwhile).
		var sessions, visits int
		for sessions < target || visits < target {
			clk.Advance(10 * time.Minute)
			srv.Step(10 * time.Minute)
			sessions, visits = 0, 0
			for _, st := range srv.ShinyTotals(t0) {
				sessions += st.Started
			}
			for _, v := range srv.VisitTotals(t0) {
				visits += v.All
			}
		}
		before := testutil.HeapAfterGC()
		// The simulator's data (~150 MiB) would let GOGC=100 pile up as
		// much garbage again before collecting; a low GOGC makes the peak
		// show what the read itself holds.
		gc := debug.SetGCPercent(10)
		h := testutil.StartHeapSampler()
		start := time.Now()
		r := scrape(b, s)
		elapsed := time.Since(start)
		peak, _ := h.Stop()
		debug.SetGCPercent(gc)
		var counted float64
		for _, v := range r.v[mStarted] {
			counted += v
		}
		if int(counted) != sessions {
			b.Fatalf("counted %v sessions, the simulator started %d", counted, sessions)
		}
		after := testutil.HeapAfterGC()
		open, ended := s.shiny.sizes()
		b.ReportMetric(float64(sessions+visits)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(peak-min(peak, before))/mib, "peak-heap-MiB")
		b.ReportMetric(float64(after-min(after, before))/mib, "heap-after-MiB")
		b.Logf("%d sessions + %d visits in %v; heap before %.0f MiB, peak +%.1f MiB, after +%.1f MiB; state: %d open, %d ended keys, %d visit keys",
			sessions, visits, elapsed.Round(time.Millisecond), float64(before)/mib, float64(peak-min(peak, before))/mib,
			float64(after-min(after, before))/mib, open, ended, s.visits.size())
		s.Close()
	}
}

// synthSource generates sessions and visits lazily from their index, so
// that 10 million events cost no memory in the source: session i starts at
// t0+i*dt and lasts 30s to 10m30s (one in a hundred lasts 3h); visit i is at
// t0+i*dt, every seventh an exact copy of the one before, every fiftieth
// from the health monitor. It honors from and the open/ended rules at the
// clock's time, like Connect.
type synthSource struct {
	clk     *testutil.Clock
	t0      time.Time
	n       int
	dt      time.Duration
	apps    []string
	users   []string
	records atomic.Int64 // records handed to the streams
}

const synthMaxDur = 3 * time.Hour

func newSynth(clk *testutil.Clock, n int) *synthSource {
	s := &synthSource{clk: clk, t0: clk.Now(), n: n, dt: 100 * time.Millisecond}
	for i := range 2000 {
		s.apps = append(s.apps, "app-"+strconv.Itoa(i))
	}
	for i := range 5000 {
		s.users = append(s.users, "user-"+strconv.Itoa(i))
	}
	return s
}

func (s *synthSource) session(i int) (c, u string, started, ended time.Time) {
	started = s.t0.Add(time.Duration(i+1) * s.dt)
	d := 30*time.Second + time.Duration(i*7919%600)*time.Second
	if i%100 == 0 {
		d = synthMaxDur
	}
	return s.apps[(i*i+i)%len(s.apps)], s.users[i%len(s.users)], started, started.Add(d)
}

func (s *synthSource) EachShinySessionPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.ShinySession) error) error {
	now := s.clk.Now()
	buf := make([]connectapi.ShinySession, 0, connectapi.PageSize)
	ends := make([]time.Time, connectapi.PageSize)
	i0 := max(0, int(q.From.Sub(s.t0)-synthMaxDur)/int(s.dt)-1)
	for i := i0; i < s.n; i++ {
		c, u, started, ended := s.session(i)
		if started.After(now) {
			break
		}
		rec := connectapi.ShinySession{ContentGUID: c, UserGUID: u, Started: started, DataVersion: 1}
		if !ended.After(now) {
			if ended.Before(q.From) {
				continue
			}
			ends[len(buf)] = ended
			rec.Ended = &ends[len(buf)]
		}
		buf = append(buf, rec)
		if len(buf) == cap(buf) {
			s.records.Add(int64(len(buf)))
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		s.records.Add(int64(len(buf)))
		return fn(buf)
	}
	return ctx.Err()
}

func (s *synthSource) EachVisitPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.Visit) error) error {
	now := s.clk.Now()
	buf := make([]connectapi.Visit, 0, connectapi.PageSize)
	i0 := max(0, int(q.From.Sub(s.t0)/s.dt)-2)
	for i := i0; i < s.n; i++ {
		j := i
		if i%7 == 6 {
			j = i - 1 // an identical second visit
		}
		t := s.t0.Add(time.Duration(j+1) * s.dt)
		if t.After(now) {
			break
		}
		if t.Before(q.From) {
			continue
		}
		v := connectapi.Visit{ContentGUID: s.apps[(j*j)%len(s.apps)], UserGUID: s.users[j%len(s.users)], Time: t, Path: "/", DataVersion: 3}
		if j%50 == 0 {
			v.UserAgent, v.UserGUID = "ContentHealthMonitor/1.0", ""
		}
		buf = append(buf, v)
		if len(buf) == cap(buf) {
			s.records.Add(int64(len(buf)))
			if err := fn(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	if len(buf) > 0 {
		s.records.Add(int64(len(buf)))
		return fn(buf)
	}
	return ctx.Err()
}

func (s *synthSource) EachAuditPage(context.Context, bool, func([]connectapi.AuditEntry) error) error {
	return nil
}

func (s *synthSource) EachUserPage(context.Context, func([]connectapi.User) error) error { return nil }

// BenchmarkSynthetic drives n sessions and n visits from the synthetic
// source through live scrapes every 10 simulated minutes (steady state) or
// one catch-up read (backlog). Heap after the run must not grow with n.
//
//	go test -run xxx -bench Synthetic -benchtime 1x ./usage/
func BenchmarkSynthetic(b *testing.B) {
	for _, mode := range []string{"live", "backlog"} {
		for _, n := range []int{1_000_000, 10_000_000} {
			b.Run(mode+"/n="+strconv.Itoa(n), func(b *testing.B) {
				for b.Loop() {
					runSynth(b, n, mode == "backlog")
				}
			})
		}
	}
}

func runSynth(b *testing.B, n int, backlog bool) {
	clk := newClock()
	src := newSynth(clk, n)
	s, err := New(Config{Client: src, Now: clk.Now, Interval: time.Millisecond, ReadTimeout: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	scrape(b, s) // baseline at t0: nothing exists yet
	end := src.t0.Add(time.Duration(n+1) * src.dt)
	before := testutil.HeapAfterGC()
	h := testutil.StartHeapSampler()
	start := time.Now()
	if backlog {
		clk.Advance(end.Sub(clk.Now()))
		scrape(b, s)
	} else {
		for clk.Now().Before(end) {
			clk.Advance(10 * time.Minute)
			scrape(b, s)
		}
	}
	elapsed := time.Since(start)
	peak, _ := h.Stop()
	r := scrape(b, s)
	after := testutil.HeapAfterGC()
	var sessions, visits float64
	for _, v := range r.v[mStarted] {
		sessions += v
	}
	for _, v := range r.v[mVisits] {
		visits += v
	}
	// Every session is counted; visits are all but the health monitor's.
	if int(sessions) != n {
		b.Fatalf("counted %v sessions, want %d", sessions, n)
	}
	open, ended := s.shiny.sizes()
	b.ReportMetric(float64(2*n)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(src.records.Load())/elapsed.Seconds(), "records/s")
	b.ReportMetric(float64(peak)/mib, "peak-heap-MiB")
	b.ReportMetric(float64(after)/mib, "heap-after-MiB")
	b.Logf("n=%d: %v, heap before %.1f MiB, peak %.1f MiB, after %.1f MiB; state: %d open, %d ended keys, %d visit keys; %.0f visits counted",
		n, elapsed.Round(time.Millisecond), float64(before)/mib, float64(peak)/mib, float64(after)/mib, open, ended, s.visits.size(), visits)
}
