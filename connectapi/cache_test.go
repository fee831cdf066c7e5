// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestCacheConcurrentColdCallersShareOneFetch(t *testing.T) {
	c := NewCache(CacheConfig{DefaultTTL: time.Minute})
	var fetches atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	results := make(chan int, 50)
	for range 50 {
		wg.Go(func() {
			v, err := Cached(context.Background(), c, "users", func(context.Context) (int, error) {
				fetches.Add(1)
				<-release
				return 42, nil
			})
			if err != nil {
				t.Error(err)
			}
			results <- v
		})
	}
	// Give the callers a chance to pile up; the assertion holds either way
	// because the value is cached after the first fetch.
	time.Sleep(50 * time.Millisecond)
	close(release)
	wg.Wait()
	close(results)
	for v := range results {
		if v != 42 {
			t.Fatalf("got %d", v)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Fatalf("%d fetches, want 1", n)
	}
}

func TestCacheTTLExpiresAndErrorsAreNotCached(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var hits, misses atomic.Int32
		c := NewCache(CacheConfig{
			TTL:        map[string]time.Duration{"settings": 30 * time.Second, "nocache": 0},
			DefaultTTL: time.Minute,
			Observer: func(_ string, hit bool) {
				if hit {
					hits.Add(1)
				} else {
					misses.Add(1)
				}
			},
		})
		ctx := context.Background()
		n := 0
		fetch := func(context.Context) (int, error) { n++; return n, nil }
		get := func(resource string) int {
			v, err := Cached(ctx, c, resource, fetch)
			if err != nil {
				t.Fatal(err)
			}
			return v
		}
		first := get("settings")
		second := get("settings")
		if first != 1 || second != 1 {
			t.Fatal("second call within TTL must hit the cache")
		}
		time.Sleep(29 * time.Second)
		if get("settings") != 1 {
			t.Fatal("expired early")
		}
		time.Sleep(2 * time.Second)
		if get("settings") != 2 {
			t.Fatal("did not expire after the TTL")
		}
		if get("nocache") != 3 || get("nocache") != 4 {
			t.Fatal("TTL 0 must not cache")
		}
		if hits.Load() != 2 || misses.Load() != 4 {
			t.Errorf("hits %d misses %d", hits.Load(), misses.Load())
		}

		boom := errors.New("boom")
		calls := 0
		failing := func(context.Context) (int, error) { calls++; return 0, boom }
		if _, err := Cached(ctx, c, "users", failing); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		// The first failure rests nothing: the next call asks again.
		if _, err := Cached(ctx, c, "users", failing); !errors.Is(err, boom) || calls != 2 {
			t.Fatalf("error was cached: calls=%d err=%v", calls, err)
		}
		// After two failures it backs off one second, without asking Connect.
		_, err := Cached(ctx, c, "users", failing)
		var be *BackoffError
		if !errors.As(err, &be) || !errors.Is(err, boom) || calls != 2 {
			t.Fatalf("want a backoff error, got %v (calls %d)", err, calls)
		}
		time.Sleep(time.Second)
		if v, err := Cached(ctx, c, "users", func(context.Context) (int, error) { return 7, nil }); err != nil || v != 7 {
			t.Fatalf("recovery: %v %v", v, err)
		}
	})
}

func TestCacheHonoursRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(CacheConfig{DefaultTTL: time.Minute, MaxBackoff: time.Second})
		ctx := context.Background()
		calls := 0
		limited := func(context.Context) (int, error) {
			calls++
			return 0, &APIError{Method: "GET", Endpoint: "/v1/users", StatusCode: 429, RetryAfter: 20 * time.Second}
		}
		_, _ = Cached(ctx, c, "users", limited)
		time.Sleep(19 * time.Second) // longer than MaxBackoff: Retry-After has its own bound
		if _, err := Cached(ctx, c, "users", limited); calls != 1 || err == nil {
			t.Fatalf("asked Connect during Retry-After: calls=%d", calls)
		}
		time.Sleep(2 * time.Second)
		_, _ = Cached(ctx, c, "users", limited)
		if calls != 2 {
			t.Fatalf("did not ask again after Retry-After: calls=%d", calls)
		}
	})
}

func TestCacheWaiterHonoursItsOwnDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(CacheConfig{DefaultTTL: time.Minute, FetchTimeout: time.Minute})
		started := make(chan struct{})
		slow := func(ctx context.Context) (int, error) {
			close(started)
			select {
			case <-time.After(10 * time.Second):
				return 5, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if _, err := Cached(ctx, c, "content", slow); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("want the caller's deadline, got %v", err)
		}
		<-started
		// The detached fetch goes on and fills the cache for the next scrape.
		time.Sleep(10 * time.Second)
		synctest.Wait()
		v, err := Cached(context.Background(), c, "content", func(context.Context) (int, error) { return -1, nil })
		if err != nil || v != 5 {
			t.Fatalf("detached fetch result not cached: %v %v", v, err)
		}
	})
}

func TestCacheServesStaleWhileOneRefreshRuns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var outcomes []error
		var mu sync.Mutex
		c := NewCache(CacheConfig{DefaultTTL: time.Minute, MaxAge: 5 * time.Minute, FetchTimeout: time.Hour,
			OnFetched: func(_ string, err error) { mu.Lock(); outcomes = append(outcomes, err); mu.Unlock() }})
		var fetches atomic.Int32
		release := make(chan struct{})
		fail := atomic.Bool{}
		fetch := func(context.Context) (int, error) {
			n := fetches.Add(1)
			if n > 1 {
				<-release // refreshes are slow
			}
			if fail.Load() {
				return 0, errors.New("boom")
			}
			return int(n), nil
		}
		scrape := func(timeout time.Duration) (int, error) {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			return Cached(ctx, c, "users", fetch)
		}
		if v, err := scrape(time.Second); v != 1 || err != nil {
			t.Fatalf("cold: %v %v", v, err)
		}
		if age, ok := c.Age("users"); !ok || age != 0 {
			t.Fatalf("age %v %v", age, ok)
		}
		time.Sleep(90 * time.Second) // stale
		// Ten scrapes while the refresh is stuck: all answered at once from
		// the stale value, one refresh in flight.
		for range 10 {
			if v, err := scrape(10 * time.Millisecond); v != 1 || err != nil {
				t.Fatalf("stale scrape: %v %v", v, err)
			}
		}
		synctest.Wait() // the refresh is blocked in fetch
		if n := fetches.Load(); n != 2 {
			t.Fatalf("%d fetches, want the first and one refresh", n)
		}
		if age, _ := c.Age("users"); age != 90*time.Second {
			t.Errorf("age of the served value %v, want 90s", age)
		}
		release <- struct{}{}
		synctest.Wait()
		if v, err := scrape(time.Second); v != 2 || err != nil {
			t.Fatalf("after the refresh: %v %v", v, err)
		}
		// Refreshes that fail keep the value served until MaxAge.
		fail.Store(true)
		time.Sleep(61 * time.Second)
		if v, err := scrape(time.Second); v != 2 || err != nil {
			t.Fatalf("stale while failing: %v %v", v, err)
		}
		synctest.Wait()
		release <- struct{}{}
		synctest.Wait()
		close(release)                            // from now on fetches fail at once
		time.Sleep(4*time.Minute - 3*time.Second) // 4m58s after the last good fetch: just inside MaxAge
		if v, err := scrape(time.Second); v != 2 || err != nil {
			t.Fatalf("at the edge of MaxAge: %v %v", v, err)
		}
		synctest.Wait()
		time.Sleep(2 * time.Minute) // past MaxAge (and any backoff): nothing servable, the error shows
		if _, err := scrape(time.Second); err == nil || err.Error() != "boom" {
			t.Fatalf("a value older than MaxAge was served, or the wrong error: %v", err)
		}
		mu.Lock()
		defer mu.Unlock()
		if len(outcomes) < 3 || outcomes[0] != nil || outcomes[1] != nil || outcomes[2] == nil {
			t.Errorf("fetch outcomes %v", outcomes)
		}
	})
}

func TestCacheFirstFetchOutlivingTheCallerIsPendingAndGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var reported atomic.Int32
		c := NewCache(CacheConfig{DefaultTTL: time.Minute, MaxAge: 5 * time.Minute, FetchTimeout: time.Minute,
			OnFetched: func(string, error) { reported.Add(1) }})
		fetch := func(ctx context.Context) (int, error) {
			select {
			case <-time.After(20 * time.Second):
				return 7, nil
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := Cached(ctx, c, "users", fetch)
		cancel()
		var pending *PendingError
		if !errors.As(err, &pending) || pending.Running != 10*time.Second || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err %v", err)
		}
		time.Sleep(11 * time.Second)
		synctest.Wait()
		if v, err := Cached(context.Background(), c, "users", fetch); v != 7 || err != nil {
			t.Fatalf("the detached fetch did not fill the cache: %v %v", v, err)
		}
		// A fetch cut by the cache's own bound says nothing about Connect.
		slow := func(ctx context.Context) (int, error) { <-ctx.Done(); return 0, ctx.Err() }
		_, err = Cached(context.Background(), c, "content", slow)
		if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "one fetch may take at most 1m0s") {
			t.Errorf("bounded fetch: %v", err)
		}
		if reported.Load() != 1 {
			t.Errorf("%d outcomes reported, want only the completed fetch", reported.Load())
		}
	})
}

func TestCacheDecodeErrorRestsAtMostOneTTL(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := NewCache(CacheConfig{DefaultTTL: 15 * time.Second, MaxBackoff: 2 * time.Minute})
		bad := atomic.Bool{}
		bad.Store(true)
		var calls atomic.Int32
		fetch := func(context.Context) (int, error) {
			calls.Add(1)
			if bad.Load() {
				return 0, &DecodeError{Endpoint: "/server_settings", Err: errors.New("bad licence")}
			}
			return 1, nil
		}
		for range 12 { // many failures: a server error would rest up to 2 minutes by now
			_, _ = Cached(context.Background(), c, "server_settings", fetch)
			time.Sleep(16 * time.Second)
		}
		bad.Store(false)
		if v, err := Cached(context.Background(), c, "server_settings", fetch); v != 1 || err != nil {
			t.Errorf("fixed data still refused one TTL later: %v %v", v, err)
		}
	})
}
