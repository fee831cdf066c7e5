// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

var walkNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func walkSim(t *testing.T, users int) *connecttest.Server {
	t.Helper()
	return testutil.Start(t, connecttest.New(connecttest.Config{Seed: 7, Users: users, Groups: 40, APIKey: testKey,
		Now: func() time.Time { return walkNow }}))
}

// tally is what a test folds users into: every GUID, and how often it came.
type tally struct {
	n     int
	named int
	guids map[string]int
}

func newTally() *tally { return &tally{guids: map[string]int{}} }

func tallyFold() UserFold[*tally] {
	named := walkNow.Add(-365 * 24 * time.Hour)
	return UserFold[*tally]{Start: newTally, Add: func(t *tally, u *User) {
		t.n++
		t.guids[u.GUID]++
		if !u.Locked && u.ActiveTime != nil && u.ActiveTime.After(named) {
			t.named++
		}
	}}
}

// exact fails unless the tally holds exactly the simulator's users, once
// each, with its named-user count.
func exact(t *testing.T, sim *connecttest.Server, got *tally) {
	t.Helper()
	want := countOnly(t, sim, got)
	for _, u := range want {
		if got.guids[u.GUID] != 1 {
			t.Fatalf("user %s folded %d times", u.GUID, got.guids[u.GUID])
		}
	}
	if tr := sim.Truth(); got.named != tr.NamedUsers {
		t.Fatalf("named users %d, truth %d", got.named, tr.NamedUsers)
	}
}

// countOnly fails unless the tally counts as many users as the simulator
// has, each once; it returns the simulator's users.
func countOnly(t *testing.T, sim *connecttest.Server, got *tally) []connecttest.UserInfo {
	t.Helper()
	want := sim.Users()
	if got.n != len(want) || len(got.guids) != len(want) {
		t.Fatalf("folded %d users (%d distinct), the server has %d", got.n, len(got.guids), len(want))
	}
	return want
}

func walkClient(t *testing.T, sim *connecttest.Server, parallel int) *Client {
	t.Helper()
	return newTestClient(t, sim.URL(), WithMaxConcurrentRequests(parallel))
}

// The cases: 50 users inserted at the front after page 1 (2,207
// named against 2,216 true before), 600 deleted (1,735 against 1,721), the
// same rows repeated across pages (1,300 against 1,200), a missing or zero
// total (500 against 1,200). Every one must now be exact.
func TestUserWalkIsExactWhenTheListChanges(t *testing.T) {
	cases := []struct {
		name  string
		users int
		setup func(sim *connecttest.Server)
		// countOnly: the change keeps the total and repeats no row, which
		// offset paging cannot see; the count is exact, the identities
		// may not be (see offsetWalk).
		countOnly bool
	}{
		{"insert 50 at the front after page 1", 2166, func(sim *connecttest.Server) {
			sim.AddHook(connecttest.Hook{Path: "/__api__/v1/users", Page: 1, Fn: func() {
				for i := range 50 {
					sim.AddUser(connecttest.UserSpec{Username: fmt.Sprintf("aa-front-%02d", i), FirstName: "Aaa",
						ActiveTime: walkNow.Add(-time.Hour)})
				}
			}})
		}, false},
		{"delete 600 after page 1", 2321, func(sim *connecttest.Server) {
			sim.AddHook(connecttest.Hook{Path: "/__api__/v1/users", Page: 1, Fn: func() {
				var gone []string
				for _, u := range sim.Users()[:600] {
					gone = append(gone, u.GUID)
				}
				sim.RemoveUsers(gone...)
			}})
		}, false},
		{"delete 7 and insert 7 while page 3 is read", 2400, func(sim *connecttest.Server) {
			sim.AddHook(connecttest.Hook{Path: "/__api__/v1/users", Page: 3, Fn: func() {
				var gone []string
				for _, u := range sim.Users()[:7] {
					gone = append(gone, u.GUID)
				}
				sim.RemoveUsers(gone...)
				for i := range 7 {
					sim.AddUser(connecttest.UserSpec{Username: fmt.Sprintf("zz-back-%d", i), FirstName: "Zzz"})
				}
			}})
		}, true},
		{"the last 100 rows of each page repeated on the next", 1200, func(sim *connecttest.Server) {
			sim.SetOffsetQuirks(connecttest.OffsetQuirks{RepeatRows: 100})
		}, false},
		{"no total", 1200, func(sim *connecttest.Server) {
			sim.SetOffsetQuirks(connecttest.OffsetQuirks{OmitTotal: true})
		}, false},
		{"a total of 0", 1200, func(sim *connecttest.Server) {
			sim.SetOffsetQuirks(connecttest.OffsetQuirks{ZeroTotal: true})
		}, false},
		{"no total, exactly two full pages", 1000, func(sim *connecttest.Server) {
			sim.SetOffsetQuirks(connecttest.OffsetQuirks{OmitTotal: true})
		}, false},
		{"no total, 50 inserted at the front after page 1", 2166, func(sim *connecttest.Server) {
			sim.SetOffsetQuirks(connecttest.OffsetQuirks{OmitTotal: true})
			sim.AddHook(connecttest.Hook{Path: "/__api__/v1/users", Page: 1, Fn: func() {
				for i := range 50 {
					sim.AddUser(connecttest.UserSpec{Username: fmt.Sprintf("aa-front-%02d", i), FirstName: "Aaa"})
				}
			}})
		}, false},
		{"a total that fills the last page exactly", 1500, func(*connecttest.Server) {}, false},
		{"one user", 1, func(*connecttest.Server) {}, false},
	}
	for _, tc := range cases {
		for _, parallel := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/parallel=%d", tc.name, parallel), func(t *testing.T) {
				sim := walkSim(t, tc.users)
				tc.setup(sim)
				w := NewUserWalk(walkClient(t, sim, parallel), tallyFold())
				got, err := w.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if tc.countOnly {
					countOnly(t, sim, got)
				} else {
					exact(t, sim, got)
				}
				if p := w.Progress(); p.PagesDone != 0 || !p.Started.IsZero() {
					t.Errorf("a completed walk left progress behind: %+v", p)
				}
				// A second run walks again from page 1 and is exact too.
				got, err = w.Run(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				exact(t, sim, got)
			})
		}
	}
}

// A list that never holds still is an error after a few walks, never a
// number.
func TestUserWalkGivesUpOnAListThatNeverHoldsStill(t *testing.T) {
	sim := walkSim(t, 1200)
	var added atomic.Int32
	var calm atomic.Bool
	var arm func()
	arm = func() {
		sim.AddHook(connecttest.Hook{Path: "/__api__/v1/users", Page: 1, Fn: func() {
			if calm.Load() {
				return
			}
			sim.AddUser(connecttest.UserSpec{Username: fmt.Sprintf("churn-%d", added.Add(1)), FirstName: "Aaa"})
			arm()
		}})
	}
	arm()
	w := NewUserWalk(walkClient(t, sim, 4), tallyFold())
	got, err := w.Run(context.Background())
	var ie *InconsistentWalkError
	if !errors.As(err, &ie) || got != nil || ie.Walks != maxRewalks+1 {
		t.Fatalf("got %v, err %v", got, err)
	}
	if !strings.Contains(err.Error(), "total changed") || !strings.Contains(err.Error(), "not reporting a count") {
		t.Errorf("message: %v", err)
	}
	if n := int(added.Load()); n != maxRewalks+1 {
		t.Errorf("%d users added: one per walk, want %d", n, maxRewalks+1)
	}
	// The churn stops: the next run is exact.
	calm.Store(true)
	got, err = w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exact(t, sim, got)
}

// A walk that fails part-way continues from the pages still missing, with
// the users folded so far, not from page 1.
func TestUserWalkResumesFromTheFailedPage(t *testing.T) {
	sim := walkSim(t, 29_900) // 60 pages, the last not full
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultServerError, Path: "/__api__/v1/users", Page: 37, Times: 1})
	w := NewUserWalk(walkClient(t, sim, 4), tallyFold())
	got, err := w.Run(context.Background())
	var we *IncompleteWalkError
	var ae *APIError
	if !errors.As(err, &we) || !errors.As(err, &ae) || ae.StatusCode != 500 || got != nil {
		t.Fatalf("first run: %v, %v", got, err)
	}
	if we.Pages != 60 || we.PagesDone < 1 || we.PagesDone >= 60 || we.TimedOut() || IsWalkTimeout(err) {
		t.Fatalf("progress %d of %d, timed out %v", we.PagesDone, we.Pages, we.TimedOut())
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("stopped after %d pages of 60", we.PagesDone)) {
		t.Errorf("message: %v", err)
	}
	p := w.Progress()
	if p.PagesDone != we.PagesDone || p.Pages != 60 || p.Started.IsZero() {
		t.Errorf("progress kept: %+v", p)
	}
	got, err = w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exact(t, sim, got)
	for page := 1; page <= 60; page++ {
		want := 1
		if page == 37 {
			want = 2
		}
		// Pages in flight when page 37 failed were abandoned and asked
		// again: at most parallelism-1 of them.
		if n := sim.PageRequests("/__api__/v1/users", page); n != want && (page == 1 || n > 2) {
			t.Errorf("page %d asked %d times", page, n)
		}
	}
	if n := sim.PageRequests("/__api__/v1/users", 1); n != 1 {
		t.Errorf("page 1 asked %d times: the walk started over", n)
	}
	if n := sim.Requests("/__api__/v1/users"); n > 60+4 {
		t.Errorf("%d requests for 60 pages", n)
	}
}

// At 160 ms per page, a walk that cannot fit in any one bound still
// completes across runs, each bounded, without starting over; the timeout
// says how far it came and is not "cannot reach Connect".
func TestUserWalkCompletesAcrossBoundedRuns(t *testing.T) {
	sim := walkSim(t, 9_900) // 20 pages, the last not full
	sim.SetLatency(connecttest.Latency{PerRequest: 160 * time.Millisecond})
	w := NewUserWalk(walkClient(t, sim, 2), tallyFold())
	// Progress may be read at any time (for logs and metrics) while a walk
	// runs; the race detector checks it.
	stop := make(chan struct{})
	watched := make(chan int)
	go func() {
		most := 0
		for {
			select {
			case <-stop:
				watched <- most
				return
			case <-time.After(20 * time.Millisecond):
				most = max(most, w.Progress().PagesDone)
			}
		}
	}()
	var got *tally
	var err error
	runs, timeouts := 0, 0
	for runs < 20 {
		runs++
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		got, err = w.Run(ctx)
		cancel()
		if err == nil {
			break
		}
		var we *IncompleteWalkError
		if !errors.As(err, &we) || !we.TimedOut() || !IsWalkTimeout(err) || IsUnreachable(err) {
			t.Fatalf("run %d: %v", runs, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "timed out after") || !strings.Contains(msg, "of 20") || strings.Contains(strings.ToLower(msg), "cannot reach") {
			t.Fatalf("run %d: message %q", runs, msg)
		}
		timeouts++
	}
	close(stop)
	if most := <-watched; most == 0 || most > 20 {
		t.Errorf("progress watched mid-walk: at most %d pages done", most)
	}
	if err != nil {
		t.Fatalf("no complete walk in %d runs: %v", runs, err)
	}
	exact(t, sim, got)
	if timeouts == 0 {
		t.Fatal("the walk fitted in one bound: the test proves nothing")
	}
	if n := sim.PageRequests("/__api__/v1/users", 1); n != 1 {
		t.Errorf("page 1 asked %d times: a run started over", n)
	}
	// Each timed-out run abandons at most the pages in flight (2).
	if n := sim.Requests("/__api__/v1/users"); n > 20+2*timeouts {
		t.Errorf("%d requests for 20 pages over %d runs", n, runs)
	}
}

// Reset drops a walk in progress.
func TestUserWalkReset(t *testing.T) {
	sim := walkSim(t, 3000)
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultServerError, Path: "/__api__/v1/users", Page: 4, Times: 1})
	w := NewUserWalk(walkClient(t, sim, 1), tallyFold())
	if _, err := w.Run(context.Background()); err == nil {
		t.Fatal("the fault did not fail the walk")
	}
	w.Reset()
	if p := w.Progress(); p.PagesDone != 0 {
		t.Fatalf("progress after Reset: %+v", p)
	}
	got, err := w.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exact(t, sim, got)
	if n := sim.PageRequests("/__api__/v1/users", 1); n != 2 {
		t.Errorf("page 1 asked %d times, want 2 (once per walk)", n)
	}
}

// EachUserPage hands every user once, even when the list changes under it;
// pages may come in any order but never two at once.
func TestEachUserPageHandsEveryUserOnce(t *testing.T) {
	sim := walkSim(t, 2166)
	sim.AddHook(connecttest.Hook{Path: "/__api__/v1/users", Page: 1, Fn: func() {
		for i := range 50 {
			sim.AddUser(connecttest.UserSpec{Username: fmt.Sprintf("aa-front-%02d", i), FirstName: "Aaa"})
		}
	}})
	c := walkClient(t, sim, 4)
	seen := map[string]int{}
	var inside atomic.Int32
	err := c.EachUserPage(context.Background(), func(p []User) error {
		if inside.Add(1) != 1 {
			t.Error("two calls at once")
		}
		defer inside.Add(-1)
		for _, u := range p {
			seen[u.GUID]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range sim.Users() {
		if seen[u.GUID] != 1 {
			t.Fatalf("user %s handed %d times", u.GUID, seen[u.GUID])
		}
	}
	if len(seen) != 2216 {
		t.Errorf("%d users handed on", len(seen))
	}
	// ErrStopPaging ends the walk without error.
	calls := 0
	if err := c.EachUserPage(context.Background(), func([]User) error { calls++; return ErrStopPaging }); err != nil || calls != 1 {
		t.Errorf("ErrStopPaging: %d calls, %v", calls, err)
	}
	stop := errors.New("mine")
	if err := c.EachUserPage(context.Background(), func([]User) error { return stop }); !errors.Is(err, stop) || err.Error() != "mine" {
		t.Errorf("a callback's error comes back as it is: %v", err)
	}
}

// total as a string is an error that names the field and no Go type.
func TestTotalAsAString(t *testing.T) {
	sim := walkSim(t, 1200)
	sim.SetOffsetQuirks(connecttest.OffsetQuirks{TotalString: true})
	w := NewUserWalk(walkClient(t, sim, 4), tallyFold())
	_, err := w.Run(context.Background())
	var de *DecodeError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), `total: want a number, got a string ("1200")`) {
		t.Fatalf("total as a string: %v", err)
	}
	for _, goish := range []string{"int", "Go ", "connectapi.", "offsetPage"} {
		if strings.Contains(err.Error(), goish) {
			t.Errorf("names a Go type (%q): %v", goish, err)
		}
	}
	if _, err := walkClient(t, sim, 1).CountGroups(context.Background(), nil); err == nil || !strings.Contains(err.Error(), "want a number, got a string") {
		t.Errorf("groups: %v", err)
	}
}

// Groups are counted from the total when there is one, and by a walk when
// there is not.
func TestCountGroupsWithoutATotal(t *testing.T) {
	sim := walkSim(t, 10)
	c := walkClient(t, sim, 4)
	for _, q := range []connecttest.OffsetQuirks{{}, {OmitTotal: true}, {ZeroTotal: true}, {RepeatRows: 3}} {
		sim.SetOffsetQuirks(q)
		sim.ResetRequests()
		n, err := c.CountGroups(context.Background(), nil)
		if err != nil || n != 40 {
			t.Errorf("%+v: %d groups, %v", q, n, err)
		}
		if q == (connecttest.OffsetQuirks{}) && sim.Requests("/__api__/v1/groups") != 1 {
			t.Errorf("with a total: %d requests, want 1", sim.Requests("/__api__/v1/groups"))
		}
	}
}

// The walk fetches in parallel up to the client's limit, never more.
func TestUserWalkParallelism(t *testing.T) {
	sim := walkSim(t, 20_000) // 40 pages
	sim.SetLatency(connecttest.Latency{PerRequest: 20 * time.Millisecond})
	ct := &countingTransport{next: &http.Transport{}}
	defer ct.next.CloseIdleConnections()
	c := newTestClient(t, sim.URL(), WithMaxConcurrentRequests(3), WithHTTPClient(&http.Client{Transport: ct, Timeout: time.Minute}))
	got, err := NewUserWalk(c, tallyFold()).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	exact(t, sim, got)
	if p := ct.peak.Load(); p != 3 {
		t.Errorf("peak %d requests in flight, want 3", p)
	}
}

// countingTransport records the most requests in flight at once.
type countingTransport struct {
	next           *http.Transport
	inFlight, peak atomic.Int32
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	n := c.inFlight.Add(1)
	defer c.inFlight.Add(-1)
	for {
		p := c.peak.Load()
		if n <= p || c.peak.CompareAndSwap(p, n) {
			break
		}
	}
	resp, err := c.next.RoundTrip(r)
	if err == nil {
		// The body is read after RoundTrip returns; the latency is before
		// the first byte, so counting until then is enough.
		_ = resp
	}
	return resp, err
}

// Out of time before page 1 answered is a walk timeout too.
func TestUserWalkTimeoutOnPageOne(t *testing.T) {
	sim := walkSim(t, 100)
	sim.SetLatency(connecttest.Latency{PerRequest: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := NewUserWalk(walkClient(t, sim, 4), tallyFold()).Run(ctx)
	if !IsWalkTimeout(err) || IsUnreachable(err) || !strings.Contains(err.Error(), "timed out after 0 pages of ?") {
		t.Fatalf("%v", err)
	}
}

// A hostile total (too many pages to walk, or the largest integer) is an
// error, not a panic or an endless walk.
func TestHugeTotal(t *testing.T) {
	for _, total := range []string{"9223372036854775807", "500000001", "1000000000000"} {
		f, srv := newFakeConnect(t)
		f.handle("/__api__/v1/users", func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(`{"results":[{"guid":"a"}],"current_page":1,"total":` + total + `}`))
		})
		err := newTestClient(t, srv.URL).EachUserPage(context.Background(), func([]User) error { return nil })
		if err == nil || !strings.Contains(err.Error(), "would take more than") {
			t.Errorf("total %s: %v", total, err)
		}
	}
}
