// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connecttest

import (
	"context"
	"net/url"
	"testing"
	"time"
)

func TestStep(t *testing.T) {
	clk := newClock()
	cfg := smallConfig(clk)
	// A busy month: about 40 new sessions and 120 visits an hour at the
	// clock's time.
	cfg.History, cfg.ShinySessions, cfg.Visits = 30*24*time.Hour, 10_000, 30_000
	s := startServer(t, cfg)
	t0 := clk.Now()
	lastAudit := s.LastAuditID()
	before := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}})
	activeBefore := map[string]time.Time{}
	for _, u := range s.Users() {
		activeBefore[u.GUID] = u.ActiveTime
	}

	stillOpen := map[string]int{} // new session -> steps seen open
	newCount := 0
	for step := range 12 {
		clk.Advance(5 * time.Minute)
		s.Step(5 * time.Minute)
		now := clk.Now()
		got := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}, "from": {now.Add(-5 * time.Minute).Format(time.RFC3339Nano)}})
		for _, x := range got {
			if !x.Started.After(t0) {
				continue
			}
			if x.Started.After(now.Add(-5 * time.Minute)) {
				newCount++
			}
			if x.Started.After(now) {
				t.Errorf("step %d: session started %v after now %v", step, x.Started, now)
			}
			if x.Ended == nil {
				stillOpen[sessionKey(x)]++
			}
		}
	}
	if newCount < 12 {
		t.Errorf("%d new sessions in an hour", newCount)
	}
	multi := 0
	for _, n := range stillOpen {
		if n >= 3 {
			multi++
		}
	}
	if multi == 0 {
		t.Error("no new session stayed open across several steps")
	}
	after := walkCursor[apiSession](t, s, usagePath, url.Values{"limit": {"500"}})
	if len(after) <= len(before) {
		t.Errorf("sessions %d -> %d", len(before), len(after))
	}

	// Visits since t0: health monitor and anonymous ones among them.
	vt := s.VisitTotals(t0)
	var all, hm, anon int
	for _, v := range vt {
		all += v.All
		hm += v.HealthMonitor
		anon += v.Anonymous
	}
	if all < 12 || hm < 5 || anon <= hm {
		t.Errorf("live visits: all %d health %d anonymous %d", all, hm, anon)
	}
	visits := walkCursor[apiVisit](t, s, visitsPath, url.Values{"limit": {"500"}, "from": {t0.Format(time.RFC3339Nano)}})
	if len(visits) < all { // from is inclusive, totals exclusive
		t.Errorf("served %d live visits, totals say %d", len(visits), all)
	}
	for _, v := range visits {
		if v.UserAgent == nil {
			t.Error("live visit without user agent")
			break
		}
	}

	// Logins moved active_time, and audit entries were added.
	moved := 0
	for _, u := range s.Users() {
		if u.ActiveTime.After(activeBefore[u.GUID]) {
			moved++
			if u.ActiveTime.After(clk.Now()) || !u.ActiveTime.After(t0) {
				t.Errorf("active_time %v outside the steps", u.ActiveTime)
			}
		}
	}
	if moved == 0 {
		t.Error("no user's active_time moved")
	}
	if s.LastAuditID() <= lastAudit {
		t.Fatal("no audit entries added")
	}
	if s.AuditTotals(lastAudit)["user_login"] == 0 {
		t.Error("no user_login entries added")
	}
	audits := walkCursor[apiAudit](t, s, auditPath, url.Values{"limit": {"500"}})
	for i := 1; i < len(audits); i++ {
		if audits[i].Time.Before(audits[i-1].Time) {
			t.Fatalf("audit times out of order after steps at %d", i)
		}
	}
}

// A walk in progress stays valid while live mode appends data: nothing is
// skipped or repeated.
func TestCursorStableWhileAppending(t *testing.T) {
	clk := newClock()
	s := startServer(t, smallConfig(clk))
	seen := map[string]bool{}
	next := ""
	pages := 0
	for ; pages < 1000; pages++ {
		q := url.Values{"limit": {"250"}}
		if next != "" {
			q.Set("next", next)
		}
		var p cursorPage[apiSession]
		getJSON(t, s, usagePath+"?"+q.Encode(), &p)
		if len(p.Results) == 0 {
			break
		}
		for _, x := range p.Results {
			if seen[sessionKey(x)] {
				t.Fatalf("session %s repeated", sessionKey(x))
			}
			seen[sessionKey(x)] = true
		}
		next = *p.Paging.Cursors.Next
		if pages < 10 { // each step appends at least one session
			clk.Advance(30 * time.Second)
			s.Step(30 * time.Second)
		}
	}
	var total int
	for _, v := range s.ShinyTotals(time.Time{}) {
		total += v.Started
	}
	if len(seen) != total {
		t.Errorf("walk saw %d sessions, server has %d", len(seen), total)
	}
}

func TestRunLive(t *testing.T) {
	s := New(Config{Seed: 5, Users: 20, Content: 30, ShinySessions: 10, Visits: 10, AuditEntries: 10})
	owed := func() float64 {
		s.mu.RLock()
		defer s.mu.RUnlock()
		return s.due[streamHealth]
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		s.RunLive(ctx, time.Millisecond)
		close(done)
	}()
	// Millisecond steps owe fractions of events; any change shows Step ran.
	for i := 0; i < 2000 && owed() == 0; i++ {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	if owed() == 0 {
		t.Error("RunLive did not step")
	}
}
