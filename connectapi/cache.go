// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"
)

// MaxRetryAfter bounds how long a resource rests on Connect's say-so, in
// case a server or proxy asks for something absurd.
const MaxRetryAfter = 15 * time.Minute

// CacheObserver is told about every cache lookup: hit is true when the
// answer came from memory, fresh or stale.
type CacheObserver func(resource string, hit bool)

// FetchObserver is told how every fetch ended. err is nil for a fetch that
// succeeded; fetches cut short by the cache's own bound (FetchTimeout) are
// not reported: they say nothing about whether Connect answers.
type FetchObserver func(resource string, err error)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// TTL per resource name; resources not listed use DefaultTTL. Within
	// its TTL a value is fresh. A TTL of 0 disables caching for that
	// resource (concurrent callers still share one fetch).
	TTL        map[string]time.Duration
	DefaultTTL time.Duration
	// MaxAge is how long a value is served once it is stale, while one
	// refresh runs in the background (stale-while-revalidate), and while
	// refreshes fail. 0 serves nothing stale. A resource with TTL 0 is never
	// served stale.
	MaxAge time.Duration
	// FetchTimeout bounds one fetch, all pages of a resource. A fetch runs
	// detached from the callers that started or wait for it, so no scrape's
	// deadline cuts it short.
	FetchTimeout time.Duration
	// MaxBackoff bounds how long a resource rests after repeated failures.
	MaxBackoff time.Duration
	Observer   CacheObserver
	OnFetched  FetchObserver
}

// Cache keeps fetched resources and lets concurrent callers share one
// fetch. A fresh value is served from memory; a stale one (older than its
// TTL, younger than MaxAge) is served while one refresh runs in the
// background; with no servable value, callers wait for the fetch up to
// their own deadline. Errors are never cached: a failure is retried on the
// next call, except that a resource rests while Connect asked for it (429
// Retry-After) or while it backs off after repeated failures.
type Cache struct {
	cfg    CacheConfig
	store  *gocache.Cache
	flight singleflight.Group

	mu       sync.Mutex
	versions uint64 // the last version handed out
	failures map[string]failureState
	started  map[string]time.Time // fetches running, by resource
}

// entry is a cached value, when its fetch completed, and its version.
type entry struct {
	value   any
	fetched time.Time
	version uint64
}

type failureState struct {
	count   int
	until   time.Time
	lastErr error
}

// NewCache returns an empty cache.
func NewCache(cfg CacheConfig) *Cache {
	if cfg.FetchTimeout <= 0 {
		cfg.FetchTimeout = 30 * time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 2 * time.Minute
	}
	// No janitor goroutine: there are a handful of keys, each overwritten
	// on its next fetch.
	return &Cache{cfg: cfg, store: gocache.New(gocache.NoExpiration, 0),
		failures: map[string]failureState{}, started: map[string]time.Time{}}
}

func (c *Cache) ttl(resource string) time.Duration {
	if d, ok := c.cfg.TTL[resource]; ok {
		return d
	}
	return c.cfg.DefaultTTL
}

// Keeps reports whether values of resource are kept at all (TTL above 0).
func (c *Cache) Keeps(resource string) bool { return c.ttl(resource) > 0 }

// maxAge is how old a value of resource may be and still be served.
func (c *Cache) maxAge(resource string) time.Duration {
	ttl := c.ttl(resource)
	if ttl <= 0 {
		return 0
	}
	return max(ttl, c.cfg.MaxAge)
}

// BackoffError is returned while a resource rests after failures.
type BackoffError struct {
	Resource string
	Until    time.Time
	Last     error
}

func (e *BackoffError) Error() string {
	return fmt.Sprintf("%s: not asking Connect again until %s after: %v",
		e.Resource, e.Until.UTC().Format(time.RFC3339), e.Last)
}

func (e *BackoffError) Unwrap() error { return e.Last }

// PendingError is returned to a caller whose deadline passed while the
// first fetch of a resource (or the first after its value grew too old)
// was still running. The fetch goes on and fills the cache.
type PendingError struct {
	Resource string
	// Running is how long the fetch has been running.
	Running time.Duration
	Err     error // the caller's context error
}

func (e *PendingError) Error() string {
	return fmt.Sprintf("%s: still fetching after %s (the fetch goes on in the background): %v",
		e.Resource, e.Running.Round(time.Millisecond), e.Err)
}

func (e *PendingError) Unwrap() error { return e.Err }

// Cached returns the value of resource from the cache, or fetches it.
// Values are shared between callers and must be treated as read-only.
func Cached[T any](ctx context.Context, c *Cache, resource string, fetch func(context.Context) (T, error)) (T, error) {
	v, _, err := CachedVersion(ctx, c, resource, fetch)
	return v, err
}

// CachedVersion is Cached that also returns the value's version: a number,
// unique within the cache, that changes whenever a fetch replaces the
// value (0 without a cache). Work derived from a value can be kept until
// its version changes.
func CachedVersion[T any](ctx context.Context, c *Cache, resource string, fetch func(context.Context) (T, error)) (T, uint64, error) {
	var zero T
	if c == nil {
		v, err := fetch(ctx)
		return v, 0, err
	}
	if e, ok := c.lookup(resource); ok {
		age := time.Since(e.fetched)
		if age < c.ttl(resource) {
			c.observe(resource, true)
			return e.value.(T), e.version, nil
		}
		if age < c.maxAge(resource) {
			// Stale but servable: answer now, refresh in the background.
			c.observe(resource, true)
			if c.resting(resource) == nil {
				c.start(ctx, resource, anyFetch(fetch))
			}
			return e.value.(T), e.version, nil
		}
	}
	c.observe(resource, false)
	if err := c.resting(resource); err != nil {
		return zero, 0, err
	}
	ch := c.start(ctx, resource, anyFetch(fetch))
	select {
	case <-ctx.Done():
		return zero, 0, &PendingError{Resource: resource, Running: c.running(resource), Err: ctx.Err()}
	case r := <-ch:
		if r.Err != nil {
			return zero, 0, r.Err
		}
		e := r.Val.(entry)
		return e.value.(T), e.version, nil
	}
}

// Version returns the version of the cached value of resource (see
// CachedVersion); it fetches nothing. With no cached value (a resource
// with TTL 0 is never kept) it returns a new version each time, which
// matches nothing kept.
func (c *Cache) Version(resource string) uint64 {
	if e, ok := c.lookup(resource); ok {
		return e.version
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.versions++
	return c.versions
}

// Age returns how old the cached value of resource is, if there is one.
func (c *Cache) Age(resource string) (time.Duration, bool) {
	e, ok := c.lookup(resource)
	if !ok {
		return 0, false
	}
	return time.Since(e.fetched), true
}

func (c *Cache) lookup(resource string) (entry, bool) {
	v, ok := c.store.Get(resource)
	if !ok {
		return entry{}, false
	}
	return v.(entry), true
}

func anyFetch[T any](fetch func(context.Context) (T, error)) func(context.Context) (any, error) {
	return func(ctx context.Context) (any, error) { return fetch(ctx) }
}

// start joins the fetch of resource that is running, or starts one,
// detached from ctx (only ctx's values are kept) and bounded by
// FetchTimeout. The fetch stores its value and reports its outcome.
func (c *Cache) start(ctx context.Context, resource string, fetch func(context.Context) (any, error)) <-chan singleflight.Result {
	return c.flight.DoChan(resource, func() (any, error) {
		if e, ok := c.lookup(resource); ok && time.Since(e.fetched) < c.ttl(resource) {
			return e, nil // refreshed while we queued
		}
		c.mu.Lock()
		c.started[resource] = time.Now()
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.started, resource)
			c.mu.Unlock()
		}()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FetchTimeout)
		defer cancel()
		v, err := fetch(fctx)
		if err != nil && errors.Is(fctx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("%w (one fetch may take at most %s)", err, c.cfg.FetchTimeout)
		}
		c.record(resource, err)
		if c.cfg.OnFetched != nil && fctx.Err() == nil {
			c.cfg.OnFetched(resource, err)
		}
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.versions++
		e := entry{value: v, fetched: time.Now(), version: c.versions}
		c.mu.Unlock()
		if age := c.maxAge(resource); age > 0 {
			c.store.Set(resource, e, age)
		}
		return e, nil
	})
}

// running is how long the fetch of resource has been running (0: none).
func (c *Cache) running(resource string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.started[resource]; ok {
		return time.Since(t)
	}
	return 0
}

func (c *Cache) observe(resource string, hit bool) {
	if c.cfg.Observer != nil {
		c.cfg.Observer(resource, hit)
	}
}

// resting returns a BackoffError while the resource must not be fetched.
func (c *Cache) resting(resource string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.failures[resource]
	if !ok || !time.Now().Before(f.until) {
		return nil
	}
	return &BackoffError{Resource: resource, Until: f.until, Last: f.lastErr}
}

// record notes the outcome of a fetch. The first failure rests nothing
// (unless Connect sent Retry-After); after that the rest doubles from one
// second up to MaxBackoff. A response that did not decode rests at most
// the resource's TTL: the server answered, and once its data is fixed the
// next scrapes must see it soon.
func (c *Cache) record(resource string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.failures, resource)
		return
	}
	if IsWalkTimeout(err) {
		return // the walk keeps its pages: the next attempt continues, no need to rest
	}
	f := c.failures[resource]
	f.count++
	f.lastErr = err
	var rest time.Duration
	if f.count > 1 {
		rest = min(time.Second<<min(f.count-2, 16), c.cfg.MaxBackoff)
	}
	if _, ok := errors.AsType[*DecodeError](err); ok {
		rest = min(rest, c.ttl(resource))
	}
	if ra, ok := RetryAfter(err); ok {
		rest = max(rest, min(ra, MaxRetryAfter))
	}
	f.until = time.Now().Add(rest)
	c.failures[resource] = f
}
