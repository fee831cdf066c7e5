// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

func walkSource(t *testing.T, sim *connecttest.Server, fetchTimeout time.Duration) *Source {
	t.Helper()
	client, err := connectapi.NewClient(sim.URL(), connectapi.WithAPIKey(connectapi.StaticKey(testKey)),
		connectapi.WithMaxConcurrentRequests(4), connectapi.WithHTTPClient(&http.Client{Timeout: 10 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	windows, _ := window.Parse("30d,90d,365d")
	return &Source{Client: client, Cache: connectapi.NewCache(connectapi.CacheConfig{DefaultTTL: time.Hour, FetchTimeout: fetchTimeout}),
		ActiveWindows: windows, Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler),
		NamedKey: func(u *connectapi.User) string { return u.GUID }}
}

// matchesTruth fails unless the summary is the simulator's truth.
func matchesTruth(t *testing.T, sim *connecttest.Server, sum *UserSummary) {
	t.Helper()
	tr := sim.Truth()
	for k, n := range tr.Users {
		if got := sum.Accounts[RoleLocked{k.Role, k.Locked}]; got != n {
			t.Errorf("accounts %v: %d, truth %d", k, got, n)
		}
	}
	if sum.Named != tr.NamedUsers || len(sum.NamedKeys) != tr.NamedUsers {
		t.Errorf("named %d (%d keys), truth %d", sum.Named, len(sum.NamedKeys), tr.NamedUsers)
	}
	for _, d := range []int{30, 90, 365} {
		for _, role := range knownRoles {
			label := fmt.Sprintf("%dd", d)
			if got, want := sum.Active[label][role], tr.ActiveUsers[connecttest.ActiveKey{Role: role, Days: d}]; got != want {
				t.Errorf("active %s %s: %d, truth %d", label, role, got, want)
			}
		}
	}
}

// The users summary goes through the resumable walk: a refresh that fails
// part-way is continued by the next one, from the pages still missing,
// and the summary is the truth, each user once.
func TestUsersSummaryResumesAcrossRefreshes(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 3, Users: 12_345, APIKey: testKey,
		Version: "2026.03.0", Now: func() time.Time { return testNow }}))
	sim.SetFault(connecttest.Fault{Kind: connecttest.FaultServerError, Path: "/__api__/v1/users", Page: 19, Times: 1})
	src := walkSource(t, sim, time.Minute)
	ctx := context.Background()
	if _, err := src.Users(ctx); err == nil {
		t.Fatal("the fault did not fail the first refresh")
	} else if _, ok := errors.AsType[*connectapi.IncompleteWalkError](err); !ok {
		t.Fatalf("first refresh: %v", err)
	}
	if p := src.UsersWalkProgress(); p.PagesDone == 0 || p.Pages != 25 {
		t.Errorf("progress after the failure: %+v", p)
	}
	sum, err := src.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	matchesTruth(t, sim, sum)
	if n := sim.PageRequests("/__api__/v1/users", 1); n != 1 {
		t.Errorf("page 1 asked %d times: the second refresh started over", n)
	}
}

// A walk slower than the cache's fetch bound (160 ms a page, 25 pages, a
// 600 ms bound) completes over several refreshes, never starting over, and
// the timeout is a walk timeout, not "Connect unreachable".
func TestUsersSummaryCompletesBeyondTheFetchBound(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 4, Users: 12_345, APIKey: testKey,
		Version: "2026.03.0", Now: func() time.Time { return testNow }, Latency: connecttest.Latency{PerRequest: 160 * time.Millisecond}}))
	src := walkSource(t, sim, 600*time.Millisecond)
	ctx := context.Background()
	// The progress can be read while the walk runs, without waiting for it.
	stop := make(chan struct{})
	seen := make(chan int)
	go func() {
		most := 0
		for {
			select {
			case <-stop:
				seen <- most
				return
			case <-time.After(50 * time.Millisecond):
				most = max(most, src.UsersWalkProgress().PagesDone)
			}
		}
	}()
	defer func() {
		close(stop)
		if most := <-seen; most == 0 {
			t.Error("UsersWalkProgress never showed a page done while the walk ran")
		}
	}()
	var sum *UserSummary
	var err error
	refreshes := 0
	deadline := time.Now().Add(time.Minute)
	for refreshes < 10 && time.Now().Before(deadline) {
		if sum, err = src.Users(ctx); err == nil {
			break
		}
		if be, ok := errors.AsType[*connectapi.BackoffError](err); ok {
			// The cache rests the resource after repeated failures.
			time.Sleep(min(time.Until(be.Until), 5*time.Second))
			continue
		}
		refreshes++
		if !connectapi.IsWalkTimeout(err) || connectapi.IsUnreachable(err) {
			t.Fatalf("refresh %d: %v", refreshes, err)
		}
	}
	if err != nil {
		t.Fatalf("no summary after %d refreshes: %v", refreshes, err)
	}
	if refreshes < 1 {
		t.Fatal("the walk fitted in one bound: the test proves nothing")
	}
	matchesTruth(t, sim, sum)
	if n := sim.PageRequests("/__api__/v1/users", 1); n != 1 {
		t.Errorf("page 1 asked %d times", n)
	}
}

// Users inserted at the front mid-walk are counted once (the 2,207
// against 2,216).
func TestUsersSummaryWithInsertsMidWalk(t *testing.T) {
	sim := testutil.Start(t, connecttest.New(connecttest.Config{Seed: 5, Users: 2166, APIKey: testKey,
		Version: "2026.03.0", Now: func() time.Time { return testNow }}))
	sim.AddHook(connecttest.Hook{Path: "/__api__/v1/users", Page: 1, Fn: func() {
		for i := range 50 {
			sim.AddUser(connecttest.UserSpec{Username: fmt.Sprintf("aa-%02d", i), FirstName: "Aaa", ActiveTime: testNow.Add(-time.Hour)})
		}
	}})
	sum, err := walkSource(t, sim, time.Minute).Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	matchesTruth(t, sim, sum)
	if sim.Truth().NamedUsers != sum.Named {
		t.Fatalf("named %d", sum.Named)
	}
}
