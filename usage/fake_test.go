// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// errPage is what a faulted fake page returns.
var errPage = errors.New("fake: page failed")

func newClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
}

// fakeSource is an in-memory Connect with the documented window semantics
// and page-level faults. Sessions are kept in started order, visits in time
// order, audit entries in id order.
type fakeSource struct {
	mu       sync.Mutex
	sessions []connectapi.ShinySession
	visits   []connectapi.Visit
	audit    []connectapi.AuditEntry
	users    []connectapi.User
	pageSize int

	// failX > 0: the failX-th page of the next read of X fails (once).
	failShiny, failVisits, failAudit, failUsers int
	// block, when set, is waited on at the start of every shiny read.
	block chan struct{}

	shinyReads, visitReads, auditReads, userReads int
	inFlight, maxInFlight                         int // shiny reads at once
	lastShinyFrom, lastVisitFrom                  time.Time
}

func newFake() *fakeSource { return &fakeSource{pageSize: 3} }

func (f *fakeSource) enter() func() {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
	return func() {
		f.mu.Lock()
		f.inFlight--
		f.mu.Unlock()
	}
}

func page[T any](ctx context.Context, rows []T, size int, fail int, fn func([]T) error) error {
	for i, n := 0, 1; i < len(rows); i, n = i+size, n+1 {
		if err := ctx.Err(); err != nil {
			return err
		}
		if n == fail {
			return fmt.Errorf("page %d: %w", n, errPage)
		}
		if err := fn(rows[i:min(i+size, len(rows))]); err != nil {
			if errors.Is(err, connectapi.ErrStopPaging) {
				return nil
			}
			return err
		}
	}
	return nil
}

func (f *fakeSource) EachShinySessionPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.ShinySession) error) error {
	defer f.enter()()
	f.mu.Lock()
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f.mu.Lock()
	f.shinyReads++
	f.lastShinyFrom = q.From
	var rows []connectapi.ShinySession
	for _, s := range f.sessions {
		if s.Ended == nil || !s.Ended.Before(q.From) {
			if s.Ended != nil {
				e := *s.Ended
				s.Ended = &e
			}
			rows = append(rows, s)
		}
	}
	fail := f.failShiny
	f.failShiny = 0
	size := f.pageSize
	f.mu.Unlock()
	return page(ctx, rows, size, fail, fn)
}

func (f *fakeSource) EachVisitPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.Visit) error) error {
	f.mu.Lock()
	f.visitReads++
	f.lastVisitFrom = q.From
	var rows []connectapi.Visit
	for _, v := range f.visits {
		if !v.Time.Before(q.From) {
			rows = append(rows, v)
		}
	}
	fail := f.failVisits
	f.failVisits = 0
	size := f.pageSize
	f.mu.Unlock()
	return page(ctx, rows, size, fail, fn)
}

func (f *fakeSource) EachAuditPage(ctx context.Context, newestFirst bool, fn func([]connectapi.AuditEntry) error) error {
	f.mu.Lock()
	f.auditReads++
	rows := slices.Clone(f.audit)
	if newestFirst {
		slices.Reverse(rows)
	}
	fail := f.failAudit
	f.failAudit = 0
	size := f.pageSize
	f.mu.Unlock()
	return page(ctx, rows, size, fail, fn)
}

func (f *fakeSource) EachUserPage(ctx context.Context, fn func([]connectapi.User) error) error {
	f.mu.Lock()
	f.userReads++
	rows := slices.Clone(f.users)
	fail := f.failUsers
	f.failUsers = 0
	f.mu.Unlock()
	return page(ctx, rows, 2, fail, fn)
}

// startSession adds an open session; it returns its index.
func (f *fakeSource) startSession(content, user string, started time.Time) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, _ := slices.BinarySearchFunc(f.sessions, started, func(s connectapi.ShinySession, t time.Time) int {
		if s.Started.After(t) {
			return 1
		}
		return -1 // insert after equal starts
	})
	f.sessions = slices.Insert(f.sessions, i, connectapi.ShinySession{ContentGUID: content, UserGUID: user, Started: started, DataVersion: 1})
	return i
}

// endSession ends the open session with this key.
func (f *fakeSource) endSession(content, user string, started, ended time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.sessions {
		s := &f.sessions[i]
		if s.ContentGUID == content && s.UserGUID == user && s.Started.Equal(started) && s.Ended == nil {
			s.Ended = &ended
			return
		}
	}
	panic("no such open session")
}

func (f *fakeSource) addVisit(v connectapi.Visit) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, _ := slices.BinarySearchFunc(f.visits, v.Time, func(x connectapi.Visit, t time.Time) int {
		if x.Time.After(t) {
			return 1
		}
		return -1
	})
	f.visits = slices.Insert(f.visits, i, v)
}

func (f *fakeSource) addAudit(action string, t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := len(f.audit) + 1000
	f.audit = append(f.audit, connectapi.AuditEntry{ID: connectapi.FlexString(strconv.Itoa(id)), Time: t, Action: action})
}

// truth is what the counters must equal.
type truth struct {
	started, ended map[string]int
	durationNS     map[string]int64
	visits         map[string]int
	audit          map[string]int
}

// shinyTruth counts sessions that started after t0 (all of them, ended
// ones in ended and duration), skipping excluded users.
func (f *fakeSource) truth(t0 time.Time, auditAfter int, excluded map[string]bool, ignoreUA string) truth {
	f.mu.Lock()
	defer f.mu.Unlock()
	tr := truth{started: map[string]int{}, ended: map[string]int{}, durationNS: map[string]int64{}, visits: map[string]int{}, audit: map[string]int{}}
	for _, s := range f.sessions {
		if !s.Started.After(t0) || excluded[s.UserGUID] {
			continue
		}
		tr.started[s.ContentGUID]++
		if s.Ended != nil {
			tr.ended[s.ContentGUID]++
			tr.durationNS[s.ContentGUID] += int64(s.Ended.Sub(s.Started))
		}
	}
	for _, v := range f.visits {
		if !v.Time.After(t0) || excluded[v.UserGUID] || (ignoreUA != "" && v.UserAgent == ignoreUA) {
			continue
		}
		tr.visits[v.ContentGUID]++
	}
	for _, a := range f.audit {
		id, _ := strconv.Atoi(string(a.ID))
		if id > auditAfter {
			tr.audit[a.Action]++
		}
	}
	return tr
}

// activity drives random live activity on a fake, stamped at clk.Now().
type activity struct {
	f    *fakeSource
	clk  *testutil.Clock
	rng  *rand.Rand
	open []connectapi.ShinySession
}

var (
	fakeApps    = []string{"app-a", "app-b", "app-c", "app-d"}
	fakeStatic  = []string{"doc-1", "doc-2", "doc-3"}
	fakeUsers   = []string{"", "u-1", "u-2", "u-3", "u-4"}
	fakeActions = []string{"user_login", "deploy_application", "add_user"}
)

// step advances the clock by d in small ticks; at each tick sessions start
// and end and visits and audit entries arrive, some at identical times.
func (a *activity) step(d time.Duration) {
	const tick = 7 * time.Second
	for elapsed := time.Duration(0); elapsed < d; elapsed += tick {
		a.clk.Advance(tick)
		now := a.clk.Now()
		for range a.rng.IntN(3) {
			s := connectapi.ShinySession{ContentGUID: fakeApps[a.rng.IntN(len(fakeApps))], UserGUID: fakeUsers[a.rng.IntN(len(fakeUsers))], Started: now.Add(-time.Duration(a.rng.IntN(3)) * time.Second)}
			if a.rng.IntN(4) == 0 {
				s.Started = now // same start as others at this tick: ties
			}
			dup := false
			for _, o := range a.open {
				if o.ContentGUID == s.ContentGUID && o.UserGUID == s.UserGUID && o.Started.Equal(s.Started) {
					dup = true
				}
			}
			if dup {
				continue
			}
			a.f.startSession(s.ContentGUID, s.UserGUID, s.Started)
			a.open = append(a.open, s)
		}
		for i := 0; i < len(a.open); i++ {
			if a.rng.IntN(10) == 0 {
				s := a.open[i]
				// Ends are recorded up to 5s late.
				end := now.Add(-time.Duration(a.rng.IntN(5000)) * time.Millisecond)
				if end.Before(s.Started) {
					end = s.Started.Add(time.Millisecond)
				}
				a.f.endSession(s.ContentGUID, s.UserGUID, s.Started, end)
				a.open = slices.Delete(a.open, i, i+1)
				i--
			}
		}
		for range a.rng.IntN(4) {
			v := connectapi.Visit{ContentGUID: fakeStatic[a.rng.IntN(len(fakeStatic))], UserGUID: fakeUsers[a.rng.IntN(len(fakeUsers))], Time: now, Path: "/"}
			if a.rng.IntN(5) == 0 {
				v.UserAgent = "ContentHealthMonitor/1.0"
				v.UserGUID = ""
			}
			a.f.addVisit(v)
			if a.rng.IntN(5) == 0 {
				a.f.addVisit(v) // an identical second visit
			}
		}
		if a.rng.IntN(3) == 0 {
			a.f.addAudit(fakeActions[a.rng.IntN(len(fakeActions))], now)
		}
	}
}
