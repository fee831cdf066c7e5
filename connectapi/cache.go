// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"fmt"
	"sync"
	"time"

	gocache "github.com/patrickmn/go-cache"
	"golang.org/x/sync/singleflight"
)

// MaxRetryAfter bounds how long a resource rests on Connect's say-so, in
// case a server or proxy asks for something absurd.
const MaxRetryAfter = 15 * time.Minute

// CacheObserver is told about every cache lookup.
type CacheObserver func(resource string, hit bool)

// CacheConfig configures a Cache.
type CacheConfig struct {
	// TTL per resource name; resources not listed use DefaultTTL. A TTL of
	// 0 disables caching for that resource (concurrent callers still share
	// one fetch).
	TTL        map[string]time.Duration
	DefaultTTL time.Duration
	// FetchTimeout bounds one upstream fetch. A fetch runs detached from the
	// caller that started it, so one cancelled scrape cannot fail the others
	// waiting on the same fetch.
	FetchTimeout time.Duration
	// MaxBackoff bounds how long a resource rests after repeated failures.
	MaxBackoff time.Duration
	Observer   CacheObserver
}

// Cache keeps fetched resources for their TTL and lets concurrent callers
// share one fetch. Errors are never cached: after a failure the next call
// fetches again, except that a resource rests while Connect asked for it
// (429 Retry-After) or while it backs off after repeated failures.
type Cache struct {
	cfg    CacheConfig
	store  *gocache.Cache
	flight singleflight.Group

	mu       sync.Mutex
	failures map[string]failureState
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
	return &Cache{cfg: cfg, store: gocache.New(gocache.NoExpiration, 0), failures: map[string]failureState{}}
}

func (c *Cache) ttl(resource string) time.Duration {
	if d, ok := c.cfg.TTL[resource]; ok {
		return d
	}
	return c.cfg.DefaultTTL
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

// Cached returns the cached value of resource, or fetches it. Values are
// shared between callers and must be treated as read-only.
func Cached[T any](ctx context.Context, c *Cache, resource string, fetch func(context.Context) (T, error)) (T, error) {
	var zero T
	if c == nil {
		return fetch(ctx)
	}
	if v, ok := c.store.Get(resource); ok {
		c.observe(resource, true)
		return v.(T), nil
	}
	c.observe(resource, false)
	if err := c.resting(resource); err != nil {
		return zero, err
	}
	ch := c.flight.DoChan(resource, func() (any, error) {
		if v, ok := c.store.Get(resource); ok { // filled while we queued
			return v, nil
		}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.FetchTimeout)
		defer cancel()
		v, err := fetch(fctx)
		c.record(resource, err)
		if err != nil {
			return nil, err
		}
		if ttl := c.ttl(resource); ttl > 0 {
			c.store.Set(resource, v, ttl)
		}
		return v, nil
	})
	select {
	case <-ctx.Done():
		return zero, fmt.Errorf("%s: %w", resource, ctx.Err())
	case r := <-ch:
		if r.Err != nil {
			return zero, r.Err
		}
		return r.Val.(T), nil
	}
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
// second up to MaxBackoff, and never exceeds what a scrape interval can
// notice for long.
func (c *Cache) record(resource string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err == nil {
		delete(c.failures, resource)
		return
	}
	f := c.failures[resource]
	f.count++
	f.lastErr = err
	var rest time.Duration
	if f.count > 1 {
		rest = min(time.Second<<min(f.count-2, 16), c.cfg.MaxBackoff)
	}
	if ra, ok := RetryAfter(err); ok {
		rest = max(rest, min(ra, MaxRetryAfter))
	}
	f.until = time.Now().Add(rest)
	c.failures[resource] = f
}
