// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// TestCatchUpAcrossCutReads: a backlog far larger than one read can cover
// (a slow server, a tiny read timeout) is read across many cut reads, each
// going on where the last stopped, and converges to the exact totals; a
// restart from the state file in the middle changes nothing.
func TestCatchUpAcrossCutReads(t *testing.T) {
	clk := newClock()
	f := newFake()
	f.pageSize = 10
	t0 := clk.Now()
	// Open across the whole backlog: one since before the baseline, ending
	// during the catch-up, and one that stays open.
	f.startSession("app-a", "u-long", t0.Add(-time.Hour))
	f.startSession("app-b", "u-open", t0.Add(-time.Hour))
	cfg := Config{Client: f, Now: clk.Now, Interval: time.Millisecond, Overlap: time.Minute,
		StateFile: filepath.Join(t.TempDir(), "state.json")}
	s := newStreams(t, cfg)
	scrape(t, s) // baseline
	// Six hours of activity while nothing reads: 1,500 sessions and 1,500 visits.
	for i := range 1500 {
		at := t0.Add(time.Duration(i+1) * 14 * time.Second)
		u := "u-" + strconv.Itoa(i%50)
		f.startSession(fakeApps[i%4], u, at)
		if i%60 != 59 { // a few stay open: every read returns them all
			f.endSession(fakeApps[i%4], u, at, at.Add(time.Duration(i%90)*time.Second))
		}
		f.addVisit(visitAt(fakeStatic[i%3], u, at))
	}
	clk.Set(t0.Add(6 * time.Hour))
	f.endSession("app-a", "u-long", t0.Add(-time.Hour), clk.Now().Add(-time.Minute))
	f.mu.Lock()
	f.delay = time.Millisecond
	f.mu.Unlock()
	// About 150 pages per stream; a read covers some ten.
	cfg.ReadTimeout = 12 * time.Millisecond
	s.Close()
	s = newStreams(t, cfg)
	cut, done := 0, false
	for i := 0; i < 400 && !done; i++ {
		clk.Advance(time.Second)
		if i == 5 { // a restart in the middle of the catch-up
			s.Close()
			s = newStreams(t, cfg)
		}
		r := scrapeCtx(context.Background(), t, s)
		done = r.errs["shiny"] == nil && r.errs["visits"] == nil && r.errs["audit"] == nil
		if !done {
			cut++
		}
	}
	if !done {
		t.Fatalf("the catch-up did not complete in %d cut reads", cut)
	}
	if cut < 5 {
		t.Fatalf("only %d reads were cut: the backlog did not outlast the read timeout", cut)
	}
	f.mu.Lock()
	f.delay = 0
	f.mu.Unlock()
	checkTruth(t, scrape(t, s).v, f.truth(t0, 1<<30, nil, ""))
	t.Logf("caught up after %d cut reads", cut)
}

func visitAt(content, user string, at time.Time) connectapi.Visit {
	return connectapi.Visit{ContentGUID: content, UserGUID: user, Time: at, Path: "/"}
}

// TestResumedReadStillSeesEnds: a read cut short resumes from its mark, but
// not past where a session seen open could have ended: Connect records an
// end up to the overlap late, so a session seen open by the cut read that
// ends with an end stamped before the mark is still seen ended.
func TestResumedReadStillSeesEnds(t *testing.T) {
	clk := newClock()
	f := newFake()
	t0 := clk.Now()
	s := newStreams(t, Config{Client: f, Now: clk.Now, Interval: time.Millisecond, Overlap: time.Minute})
	scrape(t, s) // baseline
	started := t0.Add(10 * time.Second)
	f.startSession("app-s", "u-s", started)
	for i := range 20 {
		at := t0.Add(20*time.Second + time.Duration(i)*2*time.Second)
		f.startSession("app-a", "u-"+strconv.Itoa(i), at)
		f.endSession("app-a", "u-"+strconv.Itoa(i), at, at.Add(time.Second))
	}
	clk.Set(t0.Add(time.Minute))
	f.mu.Lock()
	f.failShiny = 4 // three pages applied: the session open, the mark at about t0+35s
	f.mu.Unlock()
	if r := scrapeCtx(context.Background(), t, s); r.errs["shiny"] == nil {
		t.Fatal("the faulted read succeeded")
	}
	// It ended just after, its end stamped 30s back (within the overlap).
	f.endSession("app-s", "u-s", started, t0.Add(30*time.Second))
	clk.Advance(time.Second)
	r := scrape(t, s)
	checkTruth(t, r.v, f.truth(t0, 1<<30, nil, ""))
	if f.lastShinyFrom.Before(t0.Add(-time.Minute)) {
		t.Errorf("the resumed read asked from %v, before the walk's own from", f.lastShinyFrom)
	}
}
