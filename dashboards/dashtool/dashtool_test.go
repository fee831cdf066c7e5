// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package main

import (
	"math"
	"regexp"
	"testing"
	"time"
)

func TestParseSample(t *testing.T) {
	s, err := parseSample(`posit_connect_content_info{content_guid="g1",title="A \"quoted\", title\\x",name="n"} 1`)
	if err != nil {
		t.Fatal(err)
	}
	if s.name != "posit_connect_content_info" || s.value != 1 {
		t.Fatalf("got %+v", s)
	}
	if got := s.labels.get("title"); got != `A "quoted", title\x` {
		t.Errorf("title = %q", got)
	}
	if got := s.labels.String(); got != `{content_guid="g1",title="A \"quoted\", title\\x",name="n"}` {
		t.Errorf("labels round trip = %s", got)
	}
	s, err = parseSample("posit_connect_up 0")
	if err != nil || s.name != "posit_connect_up" || s.value != 0 || len(s.labels) != 0 {
		t.Errorf("got %+v, %v", s, err)
	}
	for _, bad := range []string{"x{a=1} 2", `x{a="1} 2`, "x", "x{} notanumber"} {
		if _, err := parseSample(bad); err == nil {
			t.Errorf("parseSample(%q): no error", bad)
		}
	}
}

func TestFormat(t *testing.T) {
	zero := 0
	for _, c := range []struct {
		unit string
		v    float64
		dec  *int
		want string
	}{
		{"percentunit", 0.93, nil, "93%"},
		{"percentunit", 1.528, nil, "152.8%"},
		{"short", 305, nil, "305"},
		{"short", 1234, nil, "1.23 K"},
		{"short", 12.34, &zero, "12"},
		{"short", 0.0123, nil, "0.012"},
		{"reqps", 0.0174, nil, "0.017 req/s"},
		{"s", 0.0005, nil, "500 µs"},
		{"s", 754, nil, "12.6 min"},
		{"dtdurations", 20*86400 - 3600, nil, "19 days, 23 hours"},
		{"dtdurations", -3600, nil, "-1 hour"},
		{"dateTimeAsIso", 1.8e12, nil, "2027-01-15 08:00"},
		{"Bps", 2400, nil, "2.4 kB/s"},
		{"Bps", 12, nil, "12 B/s"},
		{"dateTimeFromNow", float64(time.Now().Add(-10 * time.Minute).UnixMilli()), nil, "10 minutes ago"},
	} {
		if got := format(c.unit, c.v, c.dec); got != c.want {
			t.Errorf("format(%s, %v) = %q, want %q", c.unit, c.v, got, c.want)
		}
	}
}

func TestLegend(t *testing.T) {
	m := map[string]string{"job": "j", "title": "Sales app"}
	if got := legend("{{title}} ({{ job }})", m); got != "Sales app (j)" {
		t.Errorf("legend = %q", got)
	}
	if got := legend("__auto", m); got != "job=j, title=Sales app" {
		t.Errorf("auto legend = %q", got)
	}
}

func TestExpectFlag(t *testing.T) {
	e := expectFlag{}
	for _, s := range []string{"a=B,A", "b="} {
		if err := e.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.String(); got != "map[a:[A B] b:[]]" {
		t.Errorf("expect = %s", got)
	}
	if e.Set("noequals") == nil {
		t.Error("no error for a value without =")
	}
}

// The backfill ends at the scraped value (flat) or grows towards it, and
// related counters stay consistent: hits never exceed requests.
func TestBackfillSeries(t *testing.T) {
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := &gen{end: end, step: time.Minute, growth: 0.3}
	start := end.Add(-48 * time.Hour)
	n := int(end.Sub(start)/time.Minute) + 1
	named := g.series(sample{name: "posit_connect_license_named_users", value: 300}, start, n)
	if named[0] != 210 || named[n-1] != 300 {
		t.Errorf("named users from %v to %v, want 210 to 300", named[0], named[n-1])
	}
	ls := labelSet{{"resource", "users"}}
	req := g.series(sample{name: "posit_connect_exporter_cache_requests_total", labels: ls}, start, n)
	hits := g.series(sample{name: "posit_connect_exporter_cache_hits_total", labels: ls}, start, n)
	for i := 1; i < n; i++ {
		if req[i] < req[i-1] || hits[i] < hits[i-1] {
			t.Fatalf("counter decreases at %d", i)
		}
		if hits[i]-hits[i-1] > req[i]-req[i-1] {
			t.Fatalf("more hits than requests at %d", i)
		}
	}
	if req[n-1] == 0 || math.Abs(hits[n-1]/req[n-1]-0.85) > 0.05 {
		t.Errorf("hits/requests = %v/%v", hits[n-1], req[n-1])
	}
}

// A histogram's history is one consistent histogram: for every sample the
// buckets grow with le, the +Inf bucket equals the count, and every series
// is a counter.
func TestBackfillHistogram(t *testing.T) {
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := &gen{end: end, step: time.Minute}
	start := end.Add(-6 * time.Hour)
	n := int(end.Sub(start)/time.Minute) + 1
	const h = "posit_connect_exporter_api_request_duration_seconds"
	ep := label{"endpoint", "/v1/users"}
	var buckets [][]float64
	for _, le := range []string{"0.01", "0.1", "1", "+Inf"} {
		buckets = append(buckets, g.series(sample{name: h + "_bucket", labels: labelSet{ep, {"le", le}}}, start, n))
	}
	count := g.series(sample{name: h + "_count", labels: labelSet{ep}}, start, n)
	sum := g.series(sample{name: h + "_sum", labels: labelSet{ep}}, start, n)
	other := g.series(sample{name: h + "_count", labels: labelSet{{"endpoint", "/server_settings"}}}, start, n)
	if count[n-1] == 0 || count[n-1] == other[n-1] {
		t.Errorf("counts %v and %v: want requests, different per endpoint", count[n-1], other[n-1])
	}
	for i := range n {
		for b := 1; b < len(buckets); b++ {
			if buckets[b][i] < buckets[b-1][i] {
				t.Fatalf("sample %d: bucket %d below bucket %d", i, b, b-1)
			}
		}
		if buckets[len(buckets)-1][i] != count[i] {
			t.Fatalf("sample %d: +Inf bucket %v, count %v", i, buckets[len(buckets)-1][i], count[i])
		}
		if i > 0 && (count[i] < count[i-1] || sum[i] < sum[i-1] || buckets[0][i] < buckets[0][i-1]) {
			t.Fatalf("sample %d: a histogram series decreases", i)
		}
	}
	if mean := sum[n-1] / count[n-1]; mean < 0.005 || mean > 0.055 {
		t.Errorf("mean latency %v s, want 5 to 55 ms", mean)
	}
}

// A counter of a -continue family ends at its scraped value, its history
// shifted up or scaled down; other counters keep their synthetic history.
func TestBackfillCounterContinues(t *testing.T) {
	end := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	g := &gen{end: end, step: time.Minute, continues: regexp.MustCompile("^posit_workbench_.*$")}
	start := end.Add(-24 * time.Hour)
	n := int(end.Sub(start)/time.Minute) + 1
	ls := labelSet{{"type", "session_start"}}
	const wb = "posit_workbench_audit_events_total"
	base := (&gen{end: end, step: time.Minute}).series(sample{name: wb, labels: ls}, start, n)
	big := g.series(sample{name: wb, labels: ls, value: 1e6}, start, n)
	small := g.series(sample{name: wb, labels: ls, value: base[n-1] / 4}, start, n)
	other := g.series(sample{name: "posit_connect_audit_events_total", labels: ls, value: 1e6}, start, n)
	if base[n-1] < 8 {
		t.Fatalf("history too short to test: %v events", base[n-1])
	}
	if big[n-1] != 1e6 || small[n-1] != math.Floor(base[n-1]/4) || other[n-1] == 1e6 {
		t.Errorf("ends at %v, %v, %v: want 1e6, %v, and the synthetic history", big[n-1], small[n-1], other[n-1], math.Floor(base[n-1]/4))
	}
	for i := range n {
		if big[i]-base[i] != 1e6-base[n-1] {
			t.Fatalf("sample %d: %v, shifted %v: want a constant shift", i, base[i], big[i])
		}
		if i > 0 && small[i] < small[i-1] {
			t.Fatalf("sample %d: the scaled history decreases", i)
		}
	}
}
