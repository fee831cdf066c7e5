// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// Latency is a lower bound on every answer: fixed per request plus per row.
// Only lower bounds are checked (a timer never fires early); how much slower
// a loaded machine is does not matter.
func TestLatency(t *testing.T) {
	clk := newClock()
	cfg := smallConfig(clk)
	cfg.Latency = Latency{PerRequest: 40 * time.Millisecond}
	s := startServer(t, cfg)
	timed := func(path string) time.Duration {
		t.Helper()
		start := time.Now()
		r := fetch(t, s.URL(), path, DefaultAPIKey)
		if r.err != nil || r.status != 200 {
			t.Fatalf("GET %s: %d %v", path, r.status, r.err)
		}
		return time.Since(start)
	}
	if d := timed("/__api__/server_settings"); d < 40*time.Millisecond {
		t.Errorf("server_settings answered in %v with 40ms per request", d)
	}
	// 300 users at 1ms per row: a page of 200 rows takes at least 200ms,
	// the empty page past the end only the fixed part.
	s.SetLatency(Latency{PerRequest: 10 * time.Millisecond, PerRow: time.Millisecond})
	if d := timed("/__api__/v1/users?page_size=200"); d < 210*time.Millisecond {
		t.Errorf("a page of 200 rows at 1ms per row answered in %v", d)
	}
	if d := timed("/__api__/v1/content"); d < 70*time.Millisecond {
		t.Errorf("60 content items at 1ms per row answered in %v", d)
	}
	if d := timed("/__api__/v1/instrumentation/shiny/usage?limit=100"); d < 110*time.Millisecond {
		t.Errorf("100 Shiny sessions at 1ms per row answered in %v", d)
	}

	// A client that gives up does not leave the handler waiting: the
	// server closes promptly (Close waits for no handler, but the request
	// must fail with the client's deadline, not be answered).
	s.SetLatency(Latency{PerRequest: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if r := fetchCtx(ctx, t, s.URL(), "/__api__/v1/users", DefaultAPIKey); !errors.Is(r.err, context.DeadlineExceeded) {
		t.Errorf("a request against an hour of latency: %d %v", r.status, r.err)
	}
	s.SetLatency(Latency{})
	if d := timed("/__api__/server_settings"); d > time.Hour {
		t.Errorf("latency not cleared: %v", d) // only reached if it was not
	}
}

// A hook runs once, before the answer to the first matching request is sent,
// so the client sees the change from the next request on.
func TestHookChangesTheTableMidWalk(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	before := len(s.Users())
	runs := 0
	s.AddHook(Hook{Path: "/__api__/v1/users", Page: 2, Fn: func() {
		runs++
		s.AddUser(UserSpec{Username: "aaron", FirstName: "Aaron", LastName: "Aardvark"})
	}})
	var p offsetPage[apiUser]
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=1", &p)
	if *p.Total != before || runs != 0 {
		t.Fatalf("page 1: total %d (want %d), hook ran %d times", *p.Total, before, runs)
	}
	// The answer to page 2 was built before the hook ran: it still says
	// the old total; the next request sees the new user at the front.
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=2", &p)
	if *p.Total != before || runs != 1 {
		t.Fatalf("page 2: total %d (want %d), hook ran %d times", *p.Total, before, runs)
	}
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=2", &p)
	if *p.Total != before+1 || runs != 1 {
		t.Fatalf("page 2 again: total %d (want %d), hook ran %d times", *p.Total, before+1, runs)
	}
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=1", &p)
	if p.Results[0].Username != "aaron" {
		t.Errorf("the new user is not first: %q", p.Results[0].Username)
	}
	if got := s.PageRequests("/__api__/v1/users", 2); got != 2 {
		t.Errorf("PageRequests(page 2) = %d, want 2", got)
	}
}

func TestRemoveUsers(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	users := s.Users()
	gone := []string{users[0].GUID, users[10].GUID, users[299].GUID}
	if n := s.RemoveUsers(append(gone, "no-such-guid")...); n != 3 {
		t.Fatalf("RemoveUsers = %d, want 3", n)
	}
	if n := s.RemoveUsers(gone[0]); n != 0 {
		t.Errorf("removing a removed user = %d", n)
	}
	all := walkUsers(t, s)
	if len(all) != 297 || len(s.Users()) != 297 {
		t.Fatalf("walk %d users, Users() %d, want 297", len(all), len(s.Users()))
	}
	sum := 0
	for _, n := range s.Truth().Users {
		sum += n
	}
	if sum != 297 {
		t.Errorf("truth counts %d users", sum)
	}
	for _, u := range all {
		for _, g := range gone {
			if u.GUID == g {
				t.Errorf("removed user %s still listed", g)
			}
		}
	}
	if r := fetch(t, s.URL(), "/__api__/v1/users/"+gone[1], DefaultAPIKey); r.status != 404 {
		t.Errorf("GET a removed user: %d", r.status)
	}
	// The username is free again.
	s.AddUser(UserSpec{Username: users[10].Username})
}

func TestOffsetQuirks(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	raw := func(path string) map[string]json.RawMessage {
		t.Helper()
		var m map[string]json.RawMessage
		getJSON(t, s, path, &m)
		return m
	}
	for _, q := range []struct {
		quirks OffsetQuirks
		total  string // "" when absent
	}{
		{OffsetQuirks{}, "300"},
		{OffsetQuirks{OmitTotal: true}, ""},
		{OffsetQuirks{ZeroTotal: true}, "0"},
		{OffsetQuirks{TotalString: true}, `"300"`},
	} {
		s.SetOffsetQuirks(q.quirks)
		m := raw("/__api__/v1/users?page_size=500")
		if got := string(m["total"]); got != q.total {
			t.Errorf("%+v: total %s, want %s", q.quirks, got, q.total)
		}
		g := raw("/__api__/v1/groups?page_size=500")
		if _, ok := g["total"]; ok != (q.total != "") {
			t.Errorf("%+v: groups total %s", q.quirks, g["total"])
		}
	}

	s.SetOffsetQuirks(OffsetQuirks{RepeatRows: 7})
	var p1, p2, p3, p4 offsetPage[apiUser]
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=1", &p1)
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=2", &p2)
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=3", &p3)
	getJSON(t, s, "/__api__/v1/users?page_size=100&page_number=4", &p4)
	if len(p1.Results) != 100 || len(p2.Results) != 107 || len(p3.Results) != 107 || len(p4.Results) != 0 {
		t.Fatalf("page lengths %d %d %d %d, want 100 107 107 0", len(p1.Results), len(p2.Results), len(p3.Results), len(p4.Results))
	}
	for i := range 7 {
		if p2.Results[i].GUID != p1.Results[93+i].GUID {
			t.Fatalf("page 2 row %d is not page 1 row %d", i, 93+i)
		}
	}
	seen := map[string]bool{}
	for _, p := range [][]apiUser{p1.Results, p2.Results, p3.Results} {
		for _, u := range p {
			seen[u.GUID] = true
		}
	}
	if len(seen) != 300 {
		t.Errorf("%d distinct users across the pages, want 300", len(seen))
	}
}

func TestFaultOnOnePageAndEcho(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	s.SetFault(Fault{Kind: FaultServerError, Path: "/__api__/v1/users", Page: 2, Times: 1})
	if r := fetch(t, s.URL(), "/__api__/v1/users?page_size=100&page_number=1", DefaultAPIKey); r.status != 200 {
		t.Errorf("page 1: %d", r.status)
	}
	if r := fetch(t, s.URL(), "/__api__/v1/users?page_size=100&page_number=2", DefaultAPIKey); r.status != 500 {
		t.Errorf("page 2: %d, want the fault", r.status)
	}
	if r := fetch(t, s.URL(), "/__api__/v1/users?page_size=100&page_number=2", DefaultAPIKey); r.status != 200 {
		t.Errorf("page 2 again: %d", r.status)
	}

	for _, k := range []FaultKind{FaultUnauthorized, FaultServerError, FaultProxyHTML} {
		s.SetFault(Fault{Kind: k, Echo: true, Times: 1})
		r := fetch(t, s.URL(), "/__api__/v1/users", DefaultAPIKey)
		if !strings.Contains(string(r.body), "Key "+DefaultAPIKey) {
			t.Errorf("%v with Echo: the body does not repeat the key: %s", k, r.body)
		}
		if k != FaultProxyHTML && !json.Valid(r.body) {
			t.Errorf("%v with Echo: not JSON: %s", k, r.body)
		}
	}
}
