// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// waitListed waits until no content list is running.
func waitListed(t *testing.T, s *Streams) {
	t.Helper()
	for range 5000 {
		s.content.mu.Lock()
		running := s.content.running
		s.content.mu.Unlock()
		if !running {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatal("the content list did not finish")
}

func (f *fakeSource) setContent(guids ...string) {
	f.mu.Lock()
	f.content = guids
	f.mu.Unlock()
}

// sessionAndVisit counts a session of app and a visit of doc at now.
func sessionAndVisit(f *fakeSource, app, doc, user string, now time.Time) {
	f.startSession(app, user, now.Add(-time.Second))
	f.endSession(app, user, now.Add(-time.Second), now)
	f.addVisit(connectapi.Visit{ContentGUID: doc, UserGUID: user, Time: now})
}

// TestDeletedContentDropped: the series of content that Connect no longer
// lists go away once it has been missing for the retention, and only
// then; content that exists keeps its series however idle. The clock of
// missing content survives a restart.
func TestDeletedContentDropped(t *testing.T) {
	clk := newClock()
	f := newFake()
	f.setContent("APP-A", "app-b", "doc-1", "doc-2") // GUIDs compare without regard to case
	cfg := Config{Client: f, Now: clk.Now, Interval: time.Second, Overlap: time.Minute,
		DeletedContentRetention: time.Hour, StateFile: filepath.Join(t.TempDir(), "state.json")}
	s := newStreams(t, cfg)
	scrape(t, s)
	clk.Advance(time.Minute)
	sessionAndVisit(f, "app-a", "doc-1", "u-1", clk.Now())
	sessionAndVisit(f, "app-b", "doc-2", "u-1", clk.Now())
	scrape(t, s)
	waitListed(t, s)
	f.setContent("APP-A", "doc-1") // app-b and doc-2 are deleted
	deleted := clk.Now()
	for clk.Now().Sub(deleted) < 3*time.Hour {
		clk.Advance(10 * time.Minute)
		if clk.Now().Sub(deleted) == 40*time.Minute { // a restart on the way
			s.Close()
			s = newStreams(t, cfg)
		}
		r := scrape(t, s)
		waitListed(t, s)
		gone := clk.Now().Sub(deleted)
		_, hasB := r.v[mStarted]["app-b"]
		_, hasDoc2 := r.v[mVisits]["doc-2"]
		if r.v[mStarted]["app-a"] != 1 || r.v[mEnded]["app-a"] != 1 || r.v[mVisits]["doc-1"] != 1 {
			t.Fatalf("after %v: existing content lost its series: %v", gone, r.v)
		}
		switch {
		case gone < time.Hour && (!hasB || !hasDoc2):
			t.Fatalf("after %v: deleted content dropped before the retention: %v", gone, r.v)
		case gone >= time.Hour+30*time.Minute && (hasB || hasDoc2):
			t.Fatalf("after %v: deleted content still has series: %v", gone, r.v)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	st := readState(t, cfg.StateFile)
	if _, ok := st.Shiny.Counters["app-b"]; ok {
		t.Error("the state file keeps the Shiny counters of deleted content")
	}
	if _, ok := st.Visits.Counters["doc-2"]; ok {
		t.Error("the state file keeps the visit counters of deleted content")
	}
	if st.Content == nil || len(st.Content.Missing) != 0 {
		t.Errorf("content state: %+v", st.Content)
	}
	if f.contentReads > 20 {
		t.Errorf("content listed %d times in 3h; at most every 15m was expected", f.contentReads)
	}
}

// TestDeletedContentKeptWhileInUse: content that the list misses but that
// still has an open session, or is still counted, keeps its series; so does
// everything while the list fails or comes back empty; a negative
// retention never lists content at all.
func TestDeletedContentKeptWhileInUse(t *testing.T) {
	clk := newClock()
	f := newFake()
	f.setContent("app-a", "app-b", "doc-1", "doc-2", "doc-3")
	s := newStreams(t, Config{Client: f, Now: clk.Now, Interval: time.Second, Overlap: time.Minute, DeletedContentRetention: time.Hour})
	scrape(t, s)
	clk.Advance(time.Minute)
	f.startSession("app-a", "u-1", clk.Now()) // stays open
	sessionAndVisit(f, "app-b", "doc-1", "u-2", clk.Now())
	f.addVisit(connectapi.Visit{ContentGUID: "doc-2", Time: clk.Now()})
	f.addVisit(connectapi.Visit{ContentGUID: "doc-3", Time: clk.Now()})
	scrape(t, s)
	waitListed(t, s)
	f.setContent("app-b", "doc-3") // app-a, doc-1 and doc-2 are not listed any more
	step := func(i int) scrapeResult {
		clk.Advance(10 * time.Minute)
		f.addVisit(connectapi.Visit{ContentGUID: "doc-1", Time: clk.Now()}) // still visited
		r := scrape(t, s)
		waitListed(t, s)
		if r.v[mStarted]["app-a"] != 1 || r.v[mVisits]["doc-1"] != float64(2+i) {
			t.Fatalf("after %d0m: content in use lost its series: %v", i+1, r.v)
		}
		return r
	}
	var r scrapeResult
	for i := range 10 {
		r = step(i)
	}
	if _, ok := r.v[mVisits]["doc-2"]; ok {
		t.Fatalf("doc-2, idle and missing for 100m, still has series: %v", r.v[mVisits])
	}
	// doc-3 goes missing, but the list fails, then comes back empty: its
	// series stay until a list that works says it is gone for long enough.
	f.mu.Lock()
	f.content, f.failContent = []string{"app-b"}, 100
	f.mu.Unlock()
	for i := 10; i < 32; i++ {
		if i == 18 {
			f.mu.Lock()
			f.content, f.failContent = nil, 0
			f.mu.Unlock()
		}
		if r = step(i); r.v[mVisits]["doc-3"] != 1 {
			t.Fatalf("after %d0m: series dropped while the content list failed or was empty: %v", i+1, r.v)
		}
	}
	f.setContent("app-b")
	for i := 32; i < 42; i++ {
		r = step(i)
	}
	if _, ok := r.v[mVisits]["doc-3"]; ok {
		t.Errorf("doc-3 still has series: %v", r.v[mVisits])
	}

	f2 := newFake()
	s2 := newStreams(t, Config{Client: f2, Now: clk.Now, Interval: time.Second, DeletedContentRetention: -1})
	for range 5 {
		clk.Advance(time.Hour)
		scrape(t, s2)
		waitListed(t, s2)
	}
	if f2.contentReads != 0 {
		t.Errorf("content listed %d times with a negative retention", f2.contentReads)
	}
}

// TestDeletedContentComesBack: content missing from the list for a while
// and then listed again starts its clock afresh when it goes missing again.
func TestDeletedContentComesBack(t *testing.T) {
	clk := newClock()
	f := newFake()
	f.setContent("doc-1", "doc-2")
	s := newStreams(t, Config{Client: f, Now: clk.Now, Interval: time.Second, Overlap: time.Minute, DeletedContentRetention: time.Hour})
	scrape(t, s)
	clk.Advance(time.Minute)
	f.addVisit(connectapi.Visit{ContentGUID: "doc-1", Time: clk.Now()})
	scrape(t, s)
	waitListed(t, s)
	step := func(n int) scrapeResult {
		var r scrapeResult
		for range n {
			clk.Advance(10 * time.Minute)
			r = scrape(t, s)
			waitListed(t, s)
		}
		return r
	}
	f.setContent("doc-2")
	step(5) // 50 minutes missing
	f.setContent("doc-1", "doc-2")
	step(2)
	f.setContent("doc-2")
	if r := step(5); r.v[mVisits]["doc-1"] != 1 {
		t.Fatalf("dropped after 50 minutes missing: %v", r.v[mVisits])
	}
	if r := step(5); slices.Contains(mapsKeys(r.v[mVisits]), "doc-1") {
		t.Fatalf("still there after 100 minutes missing: %v", r.v[mVisits])
	}
}

func mapsKeys(m map[string]float64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
