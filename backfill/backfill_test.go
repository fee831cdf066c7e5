// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/promslog"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

// end is the simulators' clock in these tests, and the backfills' end.
var end = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

const (
	mStarted  = "posit_connect_shiny_sessions_total"
	mEnded    = "posit_connect_shiny_sessions_ended_total"
	mDuration = "posit_connect_shiny_session_duration_seconds_total"
	mVisits   = "posit_connect_content_visits_total"
	mAudit    = "posit_connect_audit_events_total"
)

// newSim starts a simulated Connect with the given history on clk.
func newSim(t testing.TB, clk *testutil.Clock, history time.Duration, sessions, visits, audits int) (*connecttest.Server, *connectapi.Client) {
	t.Helper()
	return newSimConfig(t, connecttest.Config{
		Seed: 3, Users: 300, Content: 60, Now: clk.Now, History: history,
		ShinySessions: sessions, Visits: visits, AuditEntries: audits,
	})
}

func newSimConfig(t testing.TB, cfg connecttest.Config) (*connecttest.Server, *connectapi.Client) {
	t.Helper()
	sim := testutil.Start(t, connecttest.New(cfg))
	client, err := connectapi.NewClient(sim.URL(), connectapi.WithAPIKey(connectapi.StaticKey(connecttest.DefaultAPIKey)))
	if err != nil {
		t.Fatal(err)
	}
	return sim, client
}

// series is one series of an OpenMetrics file: its samples in order.
type series struct {
	name, label string // label: the counter's own label value
	extra       map[string]string
	ts          []int64
	vs          []float64
}

// readOpenMetrics parses what Run writes and checks the structure that
// OpenMetrics and promtool require: HELP and TYPE before a family's
// samples, families and series not interleaved, timestamps increasing
// within a series, "# EOF" last.
func readOpenMetrics(t *testing.T, path string) (map[string]*series, map[string]string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]*series{}
	help := map[string]string{}
	var family, current string
	doneFamilies, doneSeries := map[string]bool{}, map[string]bool{}
	eof := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if eof {
			t.Fatalf("%q after # EOF", line)
		}
		switch {
		case line == "# EOF":
			eof = true
			continue
		case strings.HasPrefix(line, "# HELP "):
			name, text, _ := strings.Cut(strings.TrimPrefix(line, "# HELP "), " ")
			if doneFamilies[name] {
				t.Fatalf("family %s appears twice", name)
			}
			if family != "" {
				doneFamilies[family] = true
			}
			family = name
			help[name+"_total"] = text
			continue
		case strings.HasPrefix(line, "# TYPE "):
			if line != "# TYPE "+family+" counter" {
				t.Fatalf("%q: want # TYPE %s counter", line, family)
			}
			continue
		}
		brace := strings.IndexByte(line, '{')
		closing := strings.LastIndexByte(line, '}')
		if brace < 0 || closing < brace {
			t.Fatalf("bad sample %q", line)
		}
		name := line[:brace]
		if name != family+"_total" {
			t.Fatalf("sample %q outside its family %s", line, family)
		}
		key := line[:closing+1]
		if key != current {
			if doneSeries[key] {
				t.Fatalf("series %s is interleaved with others", key)
			}
			if current != "" {
				doneSeries[current] = true
			}
			current = key
			s := &series{name: name, extra: map[string]string{}}
			for i, kv := range strings.Split(line[brace+1:closing], ",") {
				k, v, _ := strings.Cut(kv, "=")
				v, err := strconv.Unquote(v)
				if err != nil {
					t.Fatalf("bad label in %q", line)
				}
				if i == 0 {
					s.label = v
				} else {
					s.extra[k] = v
				}
			}
			out[key] = s
		}
		fields := strings.Fields(line[closing+1:])
		if len(fields) != 2 {
			t.Fatalf("%q: want a value and a timestamp", line)
		}
		v, err1 := strconv.ParseFloat(fields[0], 64)
		ts, err2 := strconv.ParseInt(fields[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("bad sample %q", line)
		}
		s := out[key]
		if n := len(s.ts); n > 0 && ts <= s.ts[n-1] {
			t.Fatalf("%s: timestamps not increasing", key)
		}
		s.ts, s.vs = append(s.ts, ts), append(s.vs, v)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if !eof {
		t.Fatal("no # EOF")
	}
	return out, help
}

// at returns each series' value at t (a sample time), by name and label.
func at(t *testing.T, all map[string]*series, when time.Time) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for key, s := range all {
		i, ok := slices.BinarySearch(s.ts, when.Unix())
		if !ok {
			t.Fatalf("%s has no sample at %s", key, when)
		}
		if out[s.name] == nil {
			out[s.name] = map[string]float64{}
		}
		out[s.name][s.label] = s.vs[i]
	}
	return out
}

// truth is what the counters must show for what happened in (from, to].
type truth map[string]map[string]float64

// auditLog reads the whole audit log, oldest first.
func auditLog(t testing.TB, c *connectapi.Client) []connectapi.AuditEntry {
	t.Helper()
	var all []connectapi.AuditEntry
	if err := c.EachAuditPage(context.Background(), false, func(p []connectapi.AuditEntry) error {
		all = append(all, p...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return all
}

// simTruth: sessions started after from (ended ones and their length; the
// simulator's clock is the end of what they count), visits after from
// without the health monitor's, audit entries after the newest one dated
// at or before from.
func simTruth(t testing.TB, sim *connecttest.Server, log []connectapi.AuditEntry, from time.Time) truth {
	t.Helper()
	tr := truth{mStarted: {}, mEnded: {}, mDuration: {}, mVisits: {}, mAudit: {}}
	for g, s := range sim.ShinyTotals(from) {
		tr[mStarted][g], tr[mEnded][g], tr[mDuration][g] = float64(s.Started), float64(s.Ended), s.DurationSeconds
	}
	for g, v := range sim.VisitTotals(from) {
		tr[mVisits][g] = float64(v.All - v.HealthMonitor)
	}
	var after int64
	for _, e := range log {
		if !e.Time.After(from) {
			after, _ = strconv.ParseInt(string(e.ID), 10, 64)
		}
	}
	for a, n := range sim.AuditTotals(after) {
		tr[mAudit][a] = float64(n)
	}
	return tr
}

// compare checks got against want exactly (durations to within rounding),
// counting absent and 0 as equal.
func compare(t *testing.T, what string, got map[string]map[string]float64, want truth, names ...string) {
	t.Helper()
	for _, name := range names {
		keys := map[string]bool{}
		for k, v := range got[name] {
			if v != 0 {
				keys[k] = true
			}
		}
		for k, v := range want[name] {
			if v != 0 {
				keys[k] = true
			}
		}
		if len(keys) == 0 {
			t.Errorf("%s: %s: nothing to compare", what, name)
		}
		for k := range keys {
			g, w := got[name][k], want[name][k]
			if g != w && (name != mDuration || math.Abs(g-w) > 1e-6*math.Max(1, w)) {
				t.Errorf("%s: %s{%s} = %v, want %v", what, name, k, g, w)
			}
		}
	}
}

// records is everything the simulator holds, read through the API.
type records struct {
	sessions []connectapi.ShinySession
	visits   []connectapi.Visit
	audit    []connectapi.AuditEntry
}

func readRecords(t testing.TB, c *connectapi.Client) records {
	t.Helper()
	ctx := context.Background()
	var r records
	if err := c.EachShinySessionPage(ctx, connectapi.UsageQuery{}, func(p []connectapi.ShinySession) error {
		for _, s := range p {
			if s.Ended != nil { // the client reuses its page, the ends included
				e := *s.Ended
				s.Ended = &e
			}
			r.sessions = append(r.sessions, s)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := c.EachVisitPage(ctx, connectapi.UsageQuery{}, func(p []connectapi.Visit) error {
		r.visits = append(r.visits, p...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	r.audit = auditLog(t, c)
	return r
}

// asOf is what the counters counting from first showed at when, computed
// from the records: sessions started in (first, when], those of them ended
// by when and their length; visits in (first, when] but the health
// monitor's; audit entries after the newest dated at or before first, up
// to when.
func (r records) asOf(first, when time.Time) truth {
	return r.asOfWith(first, when, "", "ContentHealthMonitor/")
}

// asOfWith is asOf without the sessions and visits of excluded (a user
// GUID), and without the visits whose user agent starts with ignore ("":
// none).
func (r records) asOfWith(first, when time.Time, excluded, ignore string) truth {
	tr := truth{mStarted: {}, mEnded: {}, mDuration: {}, mVisits: {}, mAudit: {}}
	for _, s := range r.sessions {
		if !s.Started.After(first) || s.Started.After(when) || excluded != "" && s.UserGUID == excluded {
			continue
		}
		tr[mStarted][s.ContentGUID]++
		if s.Ended != nil && !s.Ended.After(when) {
			tr[mEnded][s.ContentGUID]++
			tr[mDuration][s.ContentGUID] += s.Ended.Sub(s.Started).Seconds()
		}
	}
	for _, v := range r.visits {
		if v.Time.After(first) && !v.Time.After(when) && (ignore == "" || !strings.HasPrefix(v.UserAgent, ignore)) && (excluded == "" || v.UserGUID != excluded) {
			tr[mVisits][v.ContentGUID]++
		}
	}
	for _, e := range slices.Backward(r.audit) {
		if !e.Time.After(first) {
			break
		}
		if !e.Time.After(when) {
			tr[mAudit][e.Action]++
		}
	}
	return tr
}

func diff(a, b map[string]map[string]float64) map[string]map[string]float64 {
	out := map[string]map[string]float64{}
	for name, m := range a {
		out[name] = map[string]float64{}
		for k, v := range m {
			out[name][k] = v - b[name][k]
		}
	}
	return out
}

func testLogger(w io.Writer) *slog.Logger {
	return promslog.New(&promslog.Config{Writer: w})
}

// streamsCollector scrapes usage streams as the exporter does.
type streamsCollector struct{ s *usage.Streams }

func (c streamsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, r := range []*usage.Stream{c.s.Shiny, c.s.Visits, c.s.Audit} {
		r.Describe(ch)
	}
}

func (c streamsCollector) Collect(ch chan<- prometheus.Metric) {
	for _, r := range []*usage.Stream{c.s.Shiny, c.s.Visits, c.s.Audit} {
		if err := r.Update(context.Background(), ch); err != nil {
			panic(err)
		}
	}
}

func scrape(t *testing.T, s *usage.Streams) map[string]map[string]float64 {
	t.Helper()
	out := map[string]map[string]float64{}
	for name, mf := range testutil.Gather(t, streamsCollector{s}) {
		out[name] = map[string]float64{}
		for _, m := range mf.GetMetric() {
			out[name][m.GetLabel()[0].GetValue()] = testutil.SampleValue(m)
		}
	}
	return out
}

// TestBackfillEqualsTheSimulatorsTruth backfills 30 days at 1h steps and
// checks every series against the simulator's truth: at the last sample,
// and over the last 7 days (x - x offset 7d); then an exporter's streams
// started with the state file go on while the simulator lives, and equal
// history plus live after every read.
func TestBackfillEqualsTheSimulatorsTruth(t *testing.T) {
	clk := testutil.NewClock(end)
	sim, client := newSim(t, clk, 45*24*time.Hour, 20_000, 40_000, 8_000)
	dir := t.TempDir()
	out, state := filepath.Join(dir, "history.om"), filepath.Join(dir, "state.json")
	var logs testutil.LockedBuffer
	res, err := Run(context.Background(), Config{
		Client: client, Since: end.Add(-30 * 24 * time.Hour), Step: time.Hour, Now: clk.Now,
		Labels: []Label{{"job", "posit_connect"}, {"instance", `connect "main"`}},
		Output: out, Usage: usage.Config{StateFile: state, ServerURL: sim.URL()},
		Logger: testLogger(&logs),
	})
	if err != nil {
		t.Fatal(err)
	}
	first := end.Add(-30 * 24 * time.Hour)
	if !res.First.Equal(first) || !res.Last.Equal(end) || res.Steps != 720 {
		t.Errorf("result %+v: want 720 steps from %s to %s", res, first, end)
	}
	all, help := readOpenMetrics(t, out)
	if res.Series != len(all) || res.Samples != int64(len(all)*721) {
		t.Errorf("result says %d series, %d samples; the file has %d series", res.Series, res.Samples, len(all))
	}
	for _, f := range usage.CounterFamilies() {
		if help[f.Name] != f.Help {
			t.Errorf("HELP of %s = %q, want the exporter's %q", f.Name, help[f.Name], f.Help)
		}
	}
	for key, s := range all {
		if s.extra["job"] != "posit_connect" || s.extra["instance"] != `connect "main"` || len(s.extra) != 2 {
			t.Fatalf("%s: extra labels %v", key, s.extra)
		}
		if len(s.ts) != 721 || s.ts[0] != first.Unix() || s.ts[720] != end.Unix() || s.vs[0] != 0 {
			t.Fatalf("%s: %d samples from %d (value %v) to %d", key, len(s.ts), s.ts[0], s.vs[0], s.ts[len(s.ts)-1])
		}
		for i := 1; i < len(s.vs); i++ {
			if s.ts[i]-s.ts[i-1] != 3600 || s.vs[i] < s.vs[i-1] {
				t.Fatalf("%s: sample %d: %v at %d after %v at %d", key, i, s.vs[i], s.ts[i], s.vs[i-1], s.ts[i-1])
			}
		}
	}
	log := auditLog(t, client)
	last := at(t, all, end)
	sum := func(name string) (n float64) {
		for _, v := range last[name] {
			n += v
		}
		return n
	}
	t.Logf("%d series, %d samples, %d events in %d pages; counted %.0f sessions (%.0f ended), %.0f visits, %.0f audit entries",
		res.Series, res.Samples, res.Events, res.Pages, sum(mStarted), sum(mEnded), sum(mVisits), sum(mAudit))
	compare(t, "last sample", last, simTruth(t, sim, log, first), mStarted, mEnded, mDuration, mVisits, mAudit)
	rec := readRecords(t, client)
	for when := first.Add(24 * time.Hour); !when.After(end); when = when.Add(24 * time.Hour) {
		compare(t, "at "+when.Format(time.RFC3339), at(t, all, when), rec.asOf(first, when), mStarted, mEnded, mDuration, mVisits, mAudit)
	}
	if t.Failed() {
		t.FailNow()
	}
	week := end.Add(-7 * 24 * time.Hour)
	compare(t, "last 7 days", diff(last, at(t, all, week)), simTruth(t, sim, log, week), mStarted, mVisits, mAudit)
	if !strings.Contains(logs.String(), "Backfill written") {
		t.Errorf("no summary logged:\n%s", logs.String())
	}

	// The exporter takes over from the state file while the simulator
	// lives on: its counters are the history plus what happened since.
	s, err := usage.New(usage.Config{Client: client, StateFile: state, ServerURL: sim.URL(), Now: clk.Now, Interval: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var grown map[string]map[string]float64
	for i := range 12 {
		if i > 0 {
			d := time.Duration(1+i%4) * time.Minute
			clk.Advance(d)
			sim.Step(d)
		}
		got := scrape(t, s)
		if i == 0 {
			compare(t, "the exporter's first read", got, simTruth(t, sim, log, first), mStarted, mEnded, mDuration, mVisits, mAudit)
			for name, m := range last {
				for k, v := range m {
					if got[name][k] < v {
						t.Errorf("%s{%s} went down at the join: %v → %v", name, k, v, got[name][k])
					}
				}
			}
			continue
		}
		compare(t, fmt.Sprintf("read %d", i), got, simTruth(t, sim, log, first), mStarted, mEnded, mDuration, mVisits, mAudit)
		if t.Failed() {
			t.FailNow()
		}
		grown = got
	}
	for _, name := range []string{mStarted, mEnded, mVisits, mAudit} {
		n := 0.0
		for k, v := range grown[name] {
			n += v - last[name][k]
		}
		if n == 0 {
			t.Errorf("%s did not grow after the join: too little activity to mean much", name)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n != "history.om" && n != "state.json" && n != ".state.json.lock" {
			t.Errorf("left behind: %s", n)
		}
	}
}

// TestProgressIsLogged: a slow Connect makes a long run; it reports its
// phase, the events read, the time reached, the rate and the time left,
// at most every ProgressEvery.
func TestProgressIsLogged(t *testing.T) {
	clk := testutil.NewClock(end)
	sim, client := newSim(t, clk, 20*24*time.Hour, 10_000, 10_000, 3_000)
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultSlow, Delay: 20 * time.Millisecond})
	var logs testutil.LockedBuffer
	start := time.Now()
	if _, err := Run(context.Background(), Config{Client: client, Since: end.Add(-15 * 24 * time.Hour), End: end, ProgressEvery: 100 * time.Millisecond,
		Output: filepath.Join(t.TempDir(), "out.om"), Logger: testLogger(&logs)}); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	var lines []string
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if strings.Contains(line, `msg="Backfill progress"`) {
			lines = append(lines, line)
		}
	}
	if most := int(elapsed/(100*time.Millisecond)) + 1; len(lines) < 2 || len(lines) > most {
		t.Fatalf("%d progress lines in %v, want 2 to %d:\n%s", len(lines), elapsed, most, logs.String())
	}
	phases := map[string]bool{}
	for _, line := range lines {
		for _, key := range []string{"events=", "pages=", "events_per_second="} {
			if !strings.Contains(line, key) {
				t.Errorf("no %s in %s", key, line)
			}
		}
		for _, p := range []string{"reading the audit log", "replaying"} {
			if strings.Contains(line, `phase="`+p+`"`) || strings.Contains(line, "phase="+p+" ") {
				phases[p] = true
				if !strings.Contains(line, "reached=2026-") {
					t.Errorf("no time reached in %s", line)
				}
			}
		}
	}
	if !phases["replaying"] || !strings.Contains(strings.Join(lines, "\n"), "phase_eta=") {
		t.Errorf("progress without the replay or an ETA:\n%s", strings.Join(lines, "\n"))
	}
}

// TestHygieneRulesApply: the exporter's rules for users and user agents
// shape the history too: here an excluded user, and the health monitor's
// visits counted (an empty --collector.visits.ignore-user-agent).
func TestHygieneRulesApply(t *testing.T) {
	clk := testutil.NewClock(end)
	_, client := newSim(t, clk, 20*24*time.Hour, 5_000, 10_000, 1_000)
	rec := readRecords(t, client)
	first := end.Add(-10 * 24 * time.Hour)
	users := map[string]int{}
	for _, v := range rec.visits {
		if v.UserGUID != "" && v.Time.After(first) {
			users[v.UserGUID]++
		}
	}
	busiest := ""
	for u, n := range users {
		if busiest == "" || n > users[busiest] || n == users[busiest] && u < busiest {
			busiest = u
		}
	}
	out := filepath.Join(t.TempDir(), "out.om")
	if _, err := Run(context.Background(), Config{Client: client, Since: first, Now: clk.Now, Output: out,
		Usage: usage.Config{IgnoreUserAgent: regexp.MustCompile(""), ExcludeUsers: []string{busiest}}}); err != nil {
		t.Fatal(err)
	}
	all, _ := readOpenMetrics(t, out)
	got, want := at(t, all, end), rec.asOfWith(first, end, busiest, "")
	compare(t, "with the rules", got, want, mStarted, mEnded, mDuration, mVisits, mAudit)
	if plain := rec.asOf(first, end); fmt.Sprint(plain[mVisits]) == fmt.Sprint(want[mVisits]) {
		t.Error("the rules change nothing here: the test proves nothing")
	}
}
