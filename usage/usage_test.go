// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// allCollector runs the three streams as one collector, as the exporter's
// fan-out does, and records their errors.
type allCollector struct {
	s    *Streams
	ctx  context.Context
	errs map[string]error
}

func (c *allCollector) Describe(ch chan<- *prometheus.Desc) {
	c.s.Shiny.Describe(ch)
	c.s.Visits.Describe(ch)
	c.s.Audit.Describe(ch)
}

func (c *allCollector) Collect(ch chan<- prometheus.Metric) {
	c.errs = map[string]error{}
	c.errs["shiny"] = c.s.Shiny.Update(c.ctx, ch)
	c.errs["visits"] = c.s.Visits.Update(c.ctx, ch)
	c.errs["audit"] = c.s.Audit.Update(c.ctx, ch)
}

// values is metric name → label value → value.
type values map[string]map[string]float64

type scrapeResult struct {
	v    values
	errs map[string]error
}

func scrapeCtx(ctx context.Context, t testing.TB, s *Streams) scrapeResult {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	c := &allCollector{s: s, ctx: ctx}
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	v := values{}
	for _, mf := range mfs {
		m := map[string]float64{}
		for _, mt := range mf.GetMetric() {
			lv := mt.GetLabel()[0].GetValue()
			if mt.Counter != nil {
				m[lv] = mt.GetCounter().GetValue()
			} else {
				m[lv] = mt.GetGauge().GetValue()
			}
		}
		v[mf.GetName()] = m
	}
	return scrapeResult{v: v, errs: c.errs}
}

func scrape(t testing.TB, s *Streams) scrapeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r := scrapeCtx(ctx, t, s)
	for name, err := range r.errs {
		if err != nil {
			t.Fatalf("%s: unexpected error %v", name, err)
		}
	}
	return r
}

const (
	mStarted  = "posit_connect_shiny_sessions_total"
	mEnded    = "posit_connect_shiny_sessions_ended_total"
	mDuration = "posit_connect_shiny_session_duration_seconds_total"
	mVisits   = "posit_connect_content_visits_total"
	mAudit    = "posit_connect_audit_events_total"
	mLast     = "posit_connect_usage_last_event_timestamp_seconds"
)

func intMap[K comparable, V int | int64](m map[K]V) map[K]float64 {
	out := map[K]float64{}
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

func durMap(m map[string]int64) map[string]float64 {
	out := map[string]float64{}
	for k, ns := range m {
		d := durationSum{}
		d.add(ns)
		out[k] = d.seconds()
	}
	return out
}

// nonZero drops zero entries so that "absent" and "0" compare equal.
func nonZero(m map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for k, v := range m {
		if v != 0 {
			out[k] = v
		}
	}
	return out
}

func checkTruth(t testing.TB, got values, tr truth) {
	t.Helper()
	for _, c := range []struct {
		name string
		want map[string]float64
	}{
		{mStarted, intMap(tr.started)},
		{mEnded, intMap(tr.ended)},
		{mDuration, durMap(tr.durationNS)},
		{mVisits, intMap(tr.visits)},
		{mAudit, intMap(tr.audit)},
	} {
		if d := cmp.Diff(nonZero(c.want), nonZero(got[c.name])); d != "" {
			t.Errorf("%s differs from the truth (-want +got):\n%s", c.name, d)
		}
	}
}

// checkMonotone fails when an emitted counter is below its value in an
// earlier scrape (a restart included), and records the new values.
func checkMonotone(t testing.TB, prev, cur values) {
	t.Helper()
	for _, m := range []string{mStarted, mEnded, mDuration, mVisits, mAudit, mLast} {
		if prev[m] == nil {
			prev[m] = map[string]float64{}
		}
		for k, v := range cur[m] {
			if v < prev[m][k] {
				t.Errorf("%s{%s} went down: %v → %v", m, k, prev[m][k], v)
			}
			prev[m][k] = v
		}
	}
}

// crash stops s as a killed process stops: reads end, nothing more is
// written, and the state file's lock goes with the process.
func crash(s *Streams) {
	s.cancel()
	s.wg.Wait()
	s.saveMu.Lock()
	s.closed = true
	s.lock.release()
	s.saveMu.Unlock()
}

func newStreams(t testing.TB, cfg Config) *Streams {
	t.Helper()
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestShinyLifecycle(t *testing.T) {
	clk := newClock()
	f := newFake()
	t0 := clk.Now()
	// Pre-existing: one open, one ended within the overlap window.
	f.startSession("app-a", "u-1", t0.Add(-time.Hour))
	f.startSession("app-a", "u-2", t0.Add(-10*time.Minute))
	f.endSession("app-a", "u-2", t0.Add(-10*time.Minute), t0.Add(-time.Minute))
	s := newStreams(t, Config{Client: f, Now: clk.Now, Interval: 30 * time.Second})

	r := scrape(t, s)
	if len(r.v[mStarted]) != 0 {
		t.Fatalf("baseline counted sessions: %v", r.v[mStarted])
	}
	// A new session opens; the pre-existing open one ends.
	clk.Advance(time.Minute)
	f.startSession("app-b", "u-1", clk.Now().Add(-time.Second))
	f.endSession("app-a", "u-1", t0.Add(-time.Hour), clk.Now())
	r = scrape(t, s)
	want := values{mStarted: {"app-b": 1}, mEnded: {"app-b": 0}, mDuration: {"app-b": 0}}
	for _, m := range []string{mStarted, mEnded, mDuration} {
		if d := cmp.Diff(want[m], r.v[m]); d != "" {
			t.Errorf("%s (-want +got):\n%s", m, d)
		}
	}
	// Within Interval: served from memory, no read.
	reads := f.shinyReads
	clk.Advance(10 * time.Second)
	scrape(t, s)
	if f.shinyReads != reads {
		t.Errorf("read within the interval: %d reads, want %d", f.shinyReads, reads)
	}
	// The new session ends 90s after it started; it stays in two windows.
	clk.Advance(50 * time.Second)
	f.endSession("app-b", "u-1", t0.Add(time.Minute-time.Second), t0.Add(time.Minute-time.Second+90*time.Second))
	for range 3 {
		r = scrape(t, s)
		clk.Advance(31 * time.Second)
	}
	if got := r.v[mStarted]["app-b"]; got != 1 {
		t.Errorf("started = %v, want 1", got)
	}
	if got := r.v[mEnded]["app-b"]; got != 1 {
		t.Errorf("ended = %v, want 1", got)
	}
	if got := r.v[mDuration]["app-b"]; got != 90 {
		t.Errorf("duration = %v, want 90", got)
	}
	if _, ok := r.v[mStarted]["app-a"]; ok {
		t.Errorf("pre-existing sessions counted: %v", r.v[mStarted])
	}
	if got, want := r.v[mLast]["shiny"], float64(t0.Add(time.Minute+89*time.Second).Unix()); got != want {
		t.Errorf("last event = %v, want %v", got, want)
	}
	if f.lastShinyFrom.IsZero() || clk.Now().Sub(f.lastShinyFrom) > 6*time.Minute+31*time.Second {
		t.Errorf("from %v is not the previous read minus the overlap (now %v)", f.lastShinyFrom, clk.Now())
	}
	open, ended := s.shiny.sizes()
	if open != 0 || ended != 3 { // all three ended sessions ended within the overlap
		t.Errorf("dedup state: %d open, %d ended; want 0, 3", open, ended)
	}
	clk.Advance(10 * time.Minute)
	scrape(t, s)
	clk.Advance(time.Minute)
	scrape(t, s)
	if open, ended := s.shiny.sizes(); open != 0 || ended != 0 {
		t.Errorf("dedup state after the overlap: %d open, %d ended; want 0, 0", open, ended)
	}
}

// TestShinyConnectClockAhead: Connect's clock runs ahead of the exporter's,
// so a new session starts "in the future"; it still counts when first seen.
func TestShinyConnectClockAhead(t *testing.T) {
	clk := newClock()
	f := newFake()
	s := newStreams(t, Config{Client: f, Now: clk.Now, Interval: 30 * time.Second})
	scrape(t, s) // baseline
	clk.Advance(time.Minute)
	f.startSession("app-a", "u-1", clk.Now().Add(20*time.Second))
	r := scrape(t, s)
	if got := r.v[mStarted]["app-a"]; got != 1 {
		t.Errorf("an open session 20s ahead of our clock: started = %v, want 1", got)
	}
}

func TestShinyMinDurationAndExclusions(t *testing.T) {
	clk := newClock()
	f := newFake()
	f.users = []connectapi.User{{GUID: "u-2", Username: "Dev"}, {GUID: "u-3", Username: "alice"}}
	s := newStreams(t, Config{Client: f, Now: clk.Now, MinSessionDuration: time.Minute,
		ExcludeUsers: []string{"dev", "0b6e2a9c-3b1e-4c55-9d3e-2f1a7c9b8e01"}})
	scrape(t, s)
	t1 := clk.Now().Add(time.Second)
	clk.Advance(2 * time.Second)
	f.startSession("app-a", "u-1", t1)                                  // long, open across reads
	f.startSession("app-a", "u-3", t1)                                  // short
	f.startSession("app-a", "u-2", t1)                                  // excluded by username
	f.startSession("app-a", "0b6e2a9c-3b1e-4c55-9d3e-2f1a7c9b8e01", t1) // excluded by guid
	r := scrape(t, s)
	if len(nonZero(r.v[mStarted])) != 0 {
		t.Fatalf("sessions younger than the minimum counted: %v", r.v[mStarted])
	}
	clk.Advance(40 * time.Second)
	f.endSession("app-a", "u-3", t1, t1.Add(30*time.Second))
	r = scrape(t, s)
	if len(nonZero(r.v[mStarted])) != 0 {
		t.Fatalf("short session counted: %v", r.v[mStarted])
	}
	clk.Advance(40 * time.Second) // u-1 is now 82s old
	r = scrape(t, s)
	if got := r.v[mStarted]["app-a"]; got != 1 {
		t.Fatalf("started = %v, want 1 (the long open session)", got)
	}
	clk.Advance(40 * time.Second)
	f.endSession("app-a", "u-1", t1, t1.Add(100*time.Second))
	f.endSession("app-a", "u-2", t1, t1.Add(100*time.Second))
	// A session that opened and ended between reads, long enough.
	f.startSession("app-b", "u-1", t1.Add(time.Second))
	f.endSession("app-b", "u-1", t1.Add(time.Second), t1.Add(2*time.Minute))
	r = scrape(t, s)
	want := map[string]float64{"app-a": 1, "app-b": 1}
	if d := cmp.Diff(want, r.v[mStarted]); d != "" {
		t.Errorf("started (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want, r.v[mEnded]); d != "" {
		t.Errorf("ended (-want +got):\n%s", d)
	}
	if d := cmp.Diff(map[string]float64{"app-a": 100, "app-b": 119}, r.v[mDuration]); d != "" {
		t.Errorf("duration (-want +got):\n%s", d)
	}
	if f.userReads != 1 {
		t.Errorf("users read %d times, want 1 (hourly refresh)", f.userReads)
	}
}

func TestExcludeUsernamesUnresolvable(t *testing.T) {
	clk := newClock()
	f := newFake()
	f.users = []connectapi.User{{GUID: "u-1", Username: "dev"}}
	f.failUsers = 1
	s := newStreams(t, Config{Client: f, Now: clk.Now, ExcludeUsers: []string{"dev"}})
	r := scrapeCtx(context.Background(), t, s)
	// The users list fails once: Shiny (read first) fails, visits resolve.
	if r.errs["shiny"] == nil || r.errs["visits"] != nil {
		t.Fatalf("want a Shiny error while usernames cannot be resolved, got %v", r.errs)
	}
	if r.errs["audit"] != nil {
		t.Errorf("audit does not depend on users: %v", r.errs["audit"])
	}
	if _, ok := r.v[mStarted]; ok {
		t.Errorf("a failed stream emitted series")
	}
	clk.Advance(time.Second)
	scrape(t, s) // resolves now
}

func TestVisitsMultisetAndFilters(t *testing.T) {
	clk := newClock()
	f := newFake()
	t0 := clk.Now()
	old := connectapi.Visit{ContentGUID: "doc-1", Time: t0.Add(-time.Minute), Path: "/"}
	f.addVisit(old)
	s := newStreams(t, Config{Client: f, Now: clk.Now})
	scrape(t, s)
	clk.Advance(time.Minute)
	v := connectapi.Visit{ContentGUID: "doc-1", UserGUID: "u-1", Time: clk.Now(), Path: "/", RenderingID: "7"}
	f.addVisit(v)
	f.addVisit(v) // identical: a second visit
	f.addVisit(connectapi.Visit{ContentGUID: "doc-1", Time: clk.Now(), UserAgent: "ContentHealthMonitor/1.0"})
	f.addVisit(connectapi.Visit{ContentGUID: "doc-2", Time: clk.Now(), UserAgent: "Mozilla/5.0"})
	r := scrape(t, s)
	want := map[string]float64{"doc-1": 2, "doc-2": 1}
	if d := cmp.Diff(want, r.v[mVisits]); d != "" {
		t.Fatalf("visits (-want +got):\n%s", d)
	}
	// Re-read in the overlap with a third identical copy arriving late.
	clk.Advance(time.Minute)
	f.addVisit(v)
	r = scrape(t, s)
	want["doc-1"] = 3
	if d := cmp.Diff(want, r.v[mVisits]); d != "" {
		t.Fatalf("visits after overlap (-want +got):\n%s", d)
	}
	clk.Advance(time.Hour)
	scrape(t, s)
	if n := s.visits.size(); n != 0 {
		t.Errorf("%d visit keys kept after the overlap window", n)
	}
	// An empty expression keeps every user agent.
	s2 := newStreams(t, Config{Client: f, Now: clk.Now, IgnoreUserAgent: regexp.MustCompile("")})
	scrape(t, s2)
	clk.Advance(time.Minute)
	f.addVisit(connectapi.Visit{ContentGUID: "doc-3", Time: clk.Now(), UserAgent: "ContentHealthMonitor/1.0"})
	if got := scrape(t, s2).v[mVisits]["doc-3"]; got != 1 {
		t.Errorf("health monitor visit with no filter = %v, want 1", got)
	}
}

func TestAuditStream(t *testing.T) {
	clk := newClock()
	f := newFake()
	for range 7 {
		f.addAudit("add_user", clk.Now())
	}
	s := newStreams(t, Config{Client: f, Now: clk.Now})
	if r := scrape(t, s); len(r.v[mAudit]) != 0 {
		t.Fatalf("baseline counted: %v", r.v[mAudit])
	}
	clk.Advance(time.Minute)
	for i := range 8 {
		f.addAudit(fakeActions[i%3], clk.Now())
	}
	f.failAudit = 2
	r := scrapeCtx(context.Background(), t, s)
	if !errors.Is(r.errs["audit"], errPage) {
		t.Fatalf("want the page error, got %v", r.errs["audit"])
	}
	if _, ok := r.v[mAudit]; ok {
		t.Fatalf("failed audit read emitted %v", r.v[mAudit])
	}
	r = scrape(t, s)
	want := map[string]float64{"user_login": 3, "deploy_application": 3, "add_user": 2}
	if d := cmp.Diff(want, r.v[mAudit]); d != "" {
		t.Errorf("audit (-want +got):\n%s", d)
	}
}

func TestAuditIDs(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{{"9", "10", -1}, {"10", "9", 1}, {"007", "7", 0}, {"123456789012345678901234567890", "99", 1}} {
		a, _ := NormalizeAuditID(c.a)
		b, _ := NormalizeAuditID(c.b)
		if got := CompareAuditIDs(a, b); got != c.want {
			t.Errorf("compare(%s, %s) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	for _, bad := range []string{"", "-1", "1e3", "abc"} {
		if _, ok := NormalizeAuditID(bad); ok {
			t.Errorf("NormalizeAuditID(%q) accepted", bad)
		}
	}
}

// TestFakeLiveExact drives random activity through many scrapes with page
// faults and restarts (with and without a clean Close) and compares every
// counter with the truth after each scrape.
func TestFakeLiveExact(t *testing.T) {
	for seed := range uint64(4) {
		t.Run("seed"+string(rune('0'+seed)), func(t *testing.T) {
			clk := newClock()
			f := newFake()
			f.pageSize = 4
			a := &activity{f: f, clk: clk, rng: rand.New(rand.NewPCG(seed, 42))}
			a.step(10 * time.Minute) // history before the exporter starts
			dir := t.TempDir()
			cfg := Config{Client: f, Now: clk.Now, StateFile: filepath.Join(dir, "state.json"), Overlap: time.Minute, Interval: time.Second}
			s := newStreams(t, cfg)
			t0 := clk.Now()
			auditBase := len(f.audit) + 999
			scrape(t, s)
			excluded := map[string]bool{}
			prev := values{}
			for i := range 100 {
				a.step(time.Duration(5+a.rng.IntN(60)) * time.Second)
				switch a.rng.IntN(12) {
				case 0:
					f.failShiny = 1 + a.rng.IntN(4)
				case 1:
					f.failVisits = 1 + a.rng.IntN(4)
				case 2:
					f.failAudit = 1 + a.rng.IntN(3)
				case 3:
					if err := s.Close(); err != nil {
						t.Fatal(err)
					}
					a.step(time.Duration(a.rng.IntN(90)) * time.Second) // events while down
					s = newStreams(t, cfg)
				case 4:
					// A crash: the state on disk is whatever the last read saved.
					crash(s)
					s = newStreams(t, cfg)
				}
				r := scrapeCtx(context.Background(), t, s)
				checkMonotone(t, prev, r.v)
				if r.errs["shiny"] == nil && r.errs["visits"] == nil && r.errs["audit"] == nil {
					checkTruth(t, r.v, f.truth(t0, auditBase, excluded, "ContentHealthMonitor/1.0"))
				}
				if t.Failed() {
					t.Fatalf("differs after scrape %d", i)
				}
			}
			open, ended := s.shiny.sizes()
			if open > len(a.open) || ended > 200 || s.visits.size() > 500 {
				t.Errorf("dedup state too large: %d open (of %d), %d ended, %d visit keys", open, len(a.open), ended, s.visits.size())
			}
		})
	}
}

func TestSlowReadServedFromMemory(t *testing.T) {
	clk := newClock()
	f := newFake()
	s := newStreams(t, Config{Client: f, Now: clk.Now})
	scrape(t, s)
	clk.Advance(time.Minute)
	f.startSession("app-a", "u-1", clk.Now())
	clk.Advance(time.Minute)
	block := make(chan struct{})
	f.mu.Lock()
	f.block = block
	f.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := scrapeCtx(ctx, t, s)
	if r.errs["shiny"] != nil {
		t.Fatalf("a slow read is not an error: %v", r.errs["shiny"])
	}
	if len(nonZero(r.v[mStarted])) != 0 {
		t.Fatalf("counted before the read finished: %v", r.v[mStarted])
	}
	// A second scrape while the read runs waits for it instead of starting another.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	clk.Advance(time.Minute)
	scrapeCtx(ctx2, t, s)
	f.mu.Lock()
	f.block = nil
	f.mu.Unlock()
	close(block)
	r = scrape(t, s)
	if got := r.v[mStarted]["app-a"]; got != 1 {
		t.Errorf("started = %v, want 1 once the background read finished", got)
	}
	if f.maxInFlight > 1 {
		t.Errorf("%d reads at once", f.maxInFlight)
	}
}

func TestStateFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	for _, bad := range []string{"", "{", `{"version":3}`, `{"version":0}`, `{"version":1,"extra":1}`, `{"version":1}{}`,
		`{"version":1,"audit":{"last_id":"x","baselined":true,"counters":{}}}`} {
		if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := New(Config{Client: newFake(), StateFile: path})
		if err == nil {
			s.Close()
		}
		if err == nil || !strings.Contains(err.Error(), "corrupt") {
			t.Errorf("state %q: want a corrupt-file error, got %v", bad, err)
		}
	}
	if _, err := New(Config{Client: newFake(), StateFile: filepath.Join(dir, "missing", "state.json")}); err == nil {
		t.Error("want an error for a state file in a missing directory")
	}
}

func TestStateRoundTrip(t *testing.T) {
	clk := newClock()
	f := newFake()
	a := &activity{f: f, clk: clk, rng: rand.New(rand.NewPCG(7, 7))}
	a.step(5 * time.Minute)
	path := filepath.Join(t.TempDir(), "state.json")
	cfg := Config{Client: f, Now: clk.Now, StateFile: path}
	s := newStreams(t, cfg)
	for range 10 {
		scrape(t, s)
		a.step(time.Minute)
	}
	before := scrape(t, s).v
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := decodeState(data)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	again, err := encodeState(st)
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != string(data) {
		t.Errorf("state does not round-trip")
	}
	s2 := newStreams(t, cfg)
	if err := s2.verify(context.Background()); err != nil { // reads the audit log once
		t.Fatal(err)
	}
	f.mu.Lock()
	f.failShiny, f.failVisits, f.failAudit = 1, 1, 1 // served from the file, not the API
	f.mu.Unlock()
	r := scrapeCtx(context.Background(), t, s2)
	if r.errs["shiny"] == nil || r.errs["visits"] == nil || r.errs["audit"] == nil {
		t.Fatalf("want the faulted reads' errors, got %v", r.errs)
	}
	s2.Close()
	s3 := newStreams(t, cfg)
	after := scrape(t, s3).v
	for _, m := range []string{mStarted, mEnded, mDuration, mVisits, mAudit} {
		for k, v := range before[m] {
			if after[m][k] < v {
				t.Errorf("%s{%s} went down across a restart: %v → %v", m, k, v, after[m][k])
			}
		}
	}
}

func TestLint(t *testing.T) {
	clk := newClock()
	f := newFake()
	a := &activity{f: f, clk: clk, rng: rand.New(rand.NewPCG(1, 2))}
	s := newStreams(t, Config{Client: f, Now: clk.Now})
	scrape(t, s)
	a.step(5 * time.Minute)
	c := &allCollector{s: s, ctx: context.Background()}
	problems, err := testutil.CollectAndLint(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestClose(t *testing.T) {
	f := newFake()
	s, err := New(Config{Client: f})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Shiny.Update(context.Background(), make(chan prometheus.Metric, 10)); !errors.Is(err, ErrClosed) {
		t.Errorf("Update after Close = %v, want ErrClosed", err)
	}
}

func TestLoadExcludeUsers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "exclude")
	if err := os.WriteFile(path, []byte("# developers\nalice\n\n  0b6e2a9c-3b1e-4c55-9d3e-2f1a7c9b8e01 \n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadExcludeUsers(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"alice", "0b6e2a9c-3b1e-4c55-9d3e-2f1a7c9b8e01"}, got); d != "" {
		t.Error(d)
	}
}
