// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"testing"
	"time"
)

const (
	usagePath  = "/__api__/v1/instrumentation/shiny/usage"
	visitsPath = "/__api__/v1/instrumentation/content/visits"
	auditPath  = "/__api__/v1/audit_logs"
)

func sessionKey(x apiSession) string {
	u := ""
	if x.UserGUID != nil {
		u = *x.UserGUID
	}
	return x.ContentGUID + "|" + u + "|" + x.Started.Format(time.RFC3339Nano)
}

func TestCursorPagingQuirks(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))

	// A full walk with a limit that does not divide the total returns every
	// session once, in started order, and ends on an empty page.
	all := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"7"}})
	if len(all) != 3000 {
		t.Fatalf("walk returned %d sessions, want 3000", len(all))
	}
	seen := map[string]bool{}
	for i, x := range all {
		if seen[sessionKey(x)] {
			t.Fatalf("session %s twice (dedupe key not unique)", sessionKey(x))
		}
		seen[sessionKey(x)] = true
		if i > 0 && x.Started.Before(all[i-1].Started) {
			t.Fatal("not ordered by started")
		}
		if x.DataVersion != 1 {
			t.Fatalf("data_version %d", x.DataVersion)
		}
	}

	// The last non-empty page is short and still has a next cursor; the
	// page after it is empty, keeps a previous cursor and has no next.
	var p cursorPage[apiSession]
	getJSON(t, s, usagePath+"?limit=7&next="+strconv.Itoa(cursorBase+2994), &p)
	if len(p.Results) != 5 || p.Paging.Cursors.Next == nil {
		t.Fatalf("short last page: %d results, next %v", len(p.Results), p.Paging.Cursors.Next)
	}
	checkLink(t, *p.Paging.Next, usagePath, "next", *p.Paging.Cursors.Next)
	checkLink(t, *p.Paging.Previous, usagePath, "previous", *p.Paging.Cursors.Previous)
	last := *p.Paging.Cursors.Next
	r := fetch(t, s.URL(), usagePath+"?limit=7&next="+last, DefaultAPIKey)
	want := fmt.Sprintf(`{"paging":{"cursors":{"previous":"%s"},"first":"%s%s","previous":"%s%s?previous=%s"},"results":[]}`,
		last, DefaultPageHost, usagePath, DefaultPageHost, usagePath, last)
	if string(r.body) != want {
		t.Errorf("empty last page:\n got %s\nwant %s", r.body, want)
	}

	// previous= goes back: the page before the short last page.
	var prev cursorPage[apiSession]
	getJSON(t, s, usagePath+"?limit=7&previous="+*p.Paging.Cursors.Previous, &prev)
	if len(prev.Results) != 7 || !slices.Equal(keys(prev.Results), keys(all[2988:2995])) {
		t.Errorf("previous page mismatch")
	}

	// Descending order.
	desc := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}, "asc_order": {"false"}})
	if len(desc) != 3000 || sessionKey(desc[0]) != sessionKey(all[2999]) || sessionKey(desc[2999]) != sessionKey(all[0]) {
		t.Errorf("descending walk: %d sessions, not the reverse", len(desc))
	}

	// limit is clamped to 500, default 20.
	getJSON(t, s, usagePath+"?limit=100000", &p)
	if len(p.Results) != 500 {
		t.Errorf("limit clamp: %d", len(p.Results))
	}
	getJSON(t, s, usagePath, &p)
	if len(p.Results) != 20 {
		t.Errorf("default limit: %d", len(p.Results))
	}
	if r := fetch(t, s.URL(), usagePath+"?next=garbage", DefaultAPIKey); r.status != 400 {
		t.Errorf("garbage cursor: %d", r.status)
	}

	// Visits: every one once, ordered by time, mixed id types.
	visits := walkCursor[apiVisit](t, s, visitsPath, url.Values{"limit": {"333"}})
	if len(visits) != 4000 {
		t.Fatalf("visits walk %d, want 4000", len(visits))
	}
	kinds := map[string]int{}
	for i, v := range visits {
		if i > 0 && v.Time.Before(visits[i-1].Time) {
			t.Fatal("visits not ordered by time")
		}
		switch b := v.BundleID; {
		case string(b) == "null":
			kinds["null"]++
		case b[0] == '"':
			kinds["string"]++
		default:
			kinds["number"]++
		}
	}
	if kinds["null"] == 0 || kinds["string"] == 0 || kinds["number"] == 0 {
		t.Errorf("visit bundle_id kinds %v", kinds)
	}
	// min_data_version above the data's version returns nothing.
	getJSON(t, s, visitsPath+"?min_data_version=4", &p)
	if len(p.Results) != 0 {
		t.Error("min_data_version=4 returned visits")
	}

	// Audit logs: ascOrder (camelCase), ids increasing strings.
	audits := walkCursor[apiAudit](t, s, auditPath, url.Values{"limit": {"500"}})
	if len(audits) != 1500 {
		t.Fatalf("audit walk %d, want 1500", len(audits))
	}
	for i := 1; i < len(audits); i++ {
		a, _ := strconv.ParseInt(audits[i-1].ID, 10, 64)
		b, _ := strconv.ParseInt(audits[i].ID, 10, 64)
		if b != a+1 || audits[i].Time.Before(audits[i-1].Time) {
			t.Fatalf("audit ids/times not increasing at %d: %s %s", i, audits[i-1].ID, audits[i].ID)
		}
	}
	if last, _ := strconv.ParseInt(audits[1499].ID, 10, 64); last != s.LastAuditID() {
		t.Errorf("LastAuditID %d, served %d", s.LastAuditID(), last)
	}
	var newest cursorPage[apiAudit]
	getJSON(t, s, auditPath+"?limit=3&ascOrder=false", &newest)
	if len(newest.Results) != 3 || newest.Results[0].ID != audits[1499].ID || newest.Results[2].ID != audits[1497].ID {
		t.Errorf("ascOrder=false: %+v", newest.Results)
	}
	total := 0
	for _, n := range s.AuditTotals(0) {
		total += n
	}
	first, _ := strconv.ParseInt(audits[0].ID, 10, 64)
	if total != 1500 || len(s.AuditTotals(s.LastAuditID())) != 0 {
		t.Errorf("AuditTotals(0) %d", total)
	}
	mid := s.AuditTotals(first + 999)
	sum := 0
	for _, n := range mid {
		sum += n
	}
	if sum != 500 {
		t.Errorf("AuditTotals(first+999) = %d, want 500", sum)
	}
}

func keys(xs []apiSession) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = sessionKey(x)
	}
	return out
}

// inWindow is the documented predicate.
func inWindow(x apiSession, from, to time.Time) bool {
	return (x.Ended == nil || !x.Ended.Before(from)) && (to.IsZero() || !x.Started.After(to))
}

func TestUsageWindowSemantics(t *testing.T) {
	clk := newClock()
	cfg := smallConfig(clk)
	// A busy month: a few sessions open at any time.
	cfg.History, cfg.ShinySessions = 30*24*time.Hour, 10_000
	s := startServer(t, cfg)
	for range 3 { // some sessions open now
		clk.Advance(time.Minute)
		s.Step(time.Minute)
	}
	all := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}})
	open := 0
	for _, x := range all {
		if x.Ended == nil {
			open++
		}
	}
	if open == 0 {
		t.Fatal("no open sessions in generated data")
	}
	now := clk.Now()
	windows := [][2]time.Time{
		{now.Add(-2 * time.Hour), {}},
		{now.Add(-30 * 24 * time.Hour), now.Add(-20 * 24 * time.Hour)},
		{now.Add(-24 * time.Hour), now.Add(-23 * time.Hour)},
		{now.Add(time.Hour), {}},
	}
	for _, w := range windows {
		q := url.Values{"limit": {"37"}, "from": {w[0].Format(time.RFC3339)}}
		if !w[1].IsZero() {
			q.Set("to", w[1].Format(time.RFC3339))
		}
		got := walkCursor[apiSession](t, s, usagePath, q)
		var want []string
		for _, x := range all {
			if inWindow(x, w[0], w[1]) {
				want = append(want, sessionKey(x))
			}
		}
		if !slices.Equal(keys(got), want) {
			t.Errorf("window %v: got %d sessions, want %d", w, len(got), len(want))
		}
		openGot := 0
		for _, x := range got {
			if x.Ended == nil {
				openGot++
			}
		}
		if w[1].IsZero() && openGot != open {
			t.Errorf("window %v: %d open sessions returned, want all %d", w, openGot, open)
		}
	}

	// Sessions open now reappear, ended, in a later window once they end
	// (all but the rare never-closed ones).
	var targets []string
	for _, x := range all {
		if x.Ended == nil && x.Started.After(now.Add(-8*time.Hour)) {
			targets = append(targets, sessionKey(x))
		}
	}
	if len(targets) == 0 {
		t.Fatal("no recently started open session")
	}
	from1 := now.Add(-time.Minute)
	got := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}, "from": {from1.Format(time.RFC3339)}})
	for _, k := range targets {
		if !slices.Contains(keys(got), k) {
			t.Fatalf("open session %s not returned", k)
		}
	}
	clk.Advance(9 * time.Hour)
	s.Step(9 * time.Hour)
	got = walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}, "from": {now.Format(time.RFC3339)}})
	ended := 0
	for _, x := range got {
		if !slices.Contains(targets, sessionKey(x)) {
			continue
		}
		if x.Ended != nil {
			if x.Ended.Before(now) || x.Ended.After(clk.Now()) {
				t.Errorf("ended %v outside [%v, %v]", x.Ended, now, clk.Now())
			}
			ended++
		}
	}
	if ended == 0 || ended < len(targets)-1 {
		t.Errorf("%d of %d open sessions reappeared with their end time", ended, len(targets))
	}

	// Visits window: time >= from and <= to.
	vall := walkCursor[apiVisit](t, s, visitsPath, url.Values{"limit": {"500"}})
	from, to := now.Add(-10*24*time.Hour), now.Add(-3*24*time.Hour)
	vgot := walkCursor[apiVisit](t, s, visitsPath, url.Values{"limit": {"50"}, "from": {from.Format(time.RFC3339)}, "to": {to.Format(time.RFC3339)}})
	n := 0
	for _, v := range vall {
		if !v.Time.Before(from) && !v.Time.After(to) {
			n++
		}
	}
	if len(vgot) != n || n == 0 {
		t.Errorf("visits window: got %d want %d", len(vgot), n)
	}
}

func TestShinyAndVisitTotals(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	after := clk.Now().Add(-60 * 24 * time.Hour)
	all := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}})
	want := map[string]ShinyTotal{}
	for _, x := range all {
		if !x.Started.After(after) {
			continue
		}
		tt := want[x.ContentGUID]
		tt.Started++
		if x.Ended != nil {
			tt.Ended++
			tt.DurationSeconds += x.Ended.Sub(x.Started).Seconds()
		}
		want[x.ContentGUID] = tt
	}
	got := s.ShinyTotals(after)
	if len(got) != len(want) || len(got) == 0 {
		t.Fatalf("ShinyTotals: %d items, want %d", len(got), len(want))
	}
	for g, w := range want {
		h := got[g]
		if h.Started != w.Started || h.Ended != w.Ended || diff(h.DurationSeconds, w.DurationSeconds) > 1e-6*max(1, w.DurationSeconds) {
			t.Errorf("%s: got %+v want %+v", g, h, w)
		}
	}

	vall := walkCursor[apiVisit](t, s, visitsPath, url.Values{"limit": {"500"}})
	vwant := map[string]VisitTotal{}
	hm := 0
	for _, v := range vall {
		if !v.Time.After(after) {
			continue
		}
		tt := vwant[v.ContentGUID]
		tt.All++
		if v.UserAgent != nil && *v.UserAgent == HealthMonitorUserAgent {
			tt.HealthMonitor++
			hm++
		}
		if v.UserGUID == nil {
			tt.Anonymous++
		}
		vwant[v.ContentGUID] = tt
	}
	vgot := s.VisitTotals(after)
	if hm == 0 {
		t.Error("no health monitor visits")
	}
	if len(vgot) != len(vwant) {
		t.Errorf("VisitTotals: %d items, want %d", len(vgot), len(vwant))
	}
	for g, w := range vwant {
		if vgot[g] != w {
			t.Errorf("%s: got %+v want %+v", g, vgot[g], w)
		}
	}
}

func diff(a, b float64) float64 {
	if a > b {
		return a - b
	}
	return b - a
}

// Descending and previous= walks with a window return the same set as the
// ascending walk; content_guid filters; audit_logs ignores asc_order.
func TestCursorDirectionsAndFilters(t *testing.T) {
	clk := newClock()
	cfg := smallConfig(clk)
	cfg.History, cfg.ShinySessions = 30*24*time.Hour, 10_000
	s := startServer(t, cfg)
	for range 3 {
		clk.Advance(time.Minute)
		s.Step(time.Minute)
	}
	from := clk.Now().Add(-7 * 24 * time.Hour).Format(time.RFC3339)
	asc := keys(walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"101"}, "from": {from}}))
	desc := keys(walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"101"}, "from": {from}, "asc_order": {"false"}}))
	slices.Reverse(desc)
	if len(asc) == 0 || !slices.Equal(asc, desc) {
		t.Fatalf("asc %d vs desc %d sessions", len(asc), len(desc))
	}
	// Walk backwards with previous= from the page after the end.
	var p cursorPage[apiSession]
	getJSON(t, s, usagePath+"?limit=500&asc_order=false&from="+url.QueryEscape(from), &p)
	var back []string
	cur := *p.Paging.Cursors.Previous // the newest session
	back = append(back, sessionKey(p.Results[0]))
	for range 1000 {
		var q cursorPage[apiSession]
		getJSON(t, s, usagePath+"?limit=37&from="+url.QueryEscape(from)+"&previous="+cur, &q)
		if len(q.Results) == 0 {
			break
		}
		back = append(keys(q.Results), back...)
		cur = *q.Paging.Cursors.Previous
	}
	if !slices.Equal(back, asc) {
		t.Errorf("previous= walk: %d sessions, want %d", len(back), len(asc))
	}

	// content_guid filter with two GUIDs joined by "|".
	totals := s.ShinyTotals(time.Time{})
	var guids []string
	for g := range totals {
		guids = append(guids, g)
	}
	slices.Sort(guids)
	pick := guids[:2]
	got := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}, "content_guid": {pick[0] + "|" + pick[1]}})
	if len(got) != totals[pick[0]].Started+totals[pick[1]].Started {
		t.Errorf("content_guid filter: %d sessions, want %d", len(got), totals[pick[0]].Started+totals[pick[1]].Started)
	}
	for _, x := range got {
		if x.ContentGUID != pick[0] && x.ContentGUID != pick[1] {
			t.Fatalf("filter leaked %s", x.ContentGUID)
		}
	}

	var a1, a2 cursorPage[apiAudit]
	getJSON(t, s, auditPath+"?limit=5&asc_order=false", &a1)
	getJSON(t, s, auditPath+"?limit=5", &a2)
	if a1.Results[0].ID != a2.Results[0].ID {
		t.Error("audit_logs honoured asc_order; only ascOrder is its parameter")
	}
}
