// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
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
