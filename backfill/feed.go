// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// feedDepth is how many pages a walk reads ahead of the replay.
const feedDepth = 4

// maxAttempts bounds the attempts of one walk that fails without progress.
const maxAttempts = 5

// maxRetryAfter bounds how long a Retry-After of Connect's is honoured.
const maxRetryAfter = 5 * time.Minute

// feed runs one ascending walk of Connect in the background and hands its
// records to the replay one by one, at most feedDepth pages ahead. A walk
// that fails for a reason that may pass (Connect unreachable, HTTP 429 or
// 5xx, a body cut short) starts again where it stopped, after 1, 2, 4 …
// backoff units (or Connect's Retry-After); after
// maxAttempts failures in a row without a page in between, or at once for
// any other error (a rejected key, an answer that does not decode), the
// feed ends with the error.
type feed[T any] struct {
	pages chan []T
	err   error // set before pages is closed
	cur   []T
	done  bool
	stop  context.CancelFunc
}

// walkFunc walks from where the records handed on so far leave off. The
// pages it hands on are its own (the client reuses its pages, so a walk
// copies what it keeps, pointers included).
type walkFunc[T any] func(ctx context.Context, fn func([]T) error) error

func startFeed[T any](ctx context.Context, what string, backoff time.Duration, pages *atomic.Int64, walk walkFunc[T]) *feed[T] {
	ctx, stop := context.WithCancel(ctx)
	f := &feed[T]{pages: make(chan []T, feedDepth), stop: stop}
	go func() {
		defer close(f.pages)
		failures := 0
		for {
			err := walk(ctx, func(p []T) error {
				failures = 0
				pages.Add(1)
				select {
				case f.pages <- p:
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			if errors.Is(err, connectapi.ErrStopPaging) {
				err = nil
			}
			if err == nil || ctx.Err() != nil || !transient(err) {
				if err != nil && ctx.Err() == nil {
					err = fmt.Errorf("reading %s: %w", what, err)
				}
				f.err = err
				return
			}
			failures++
			if failures >= maxAttempts {
				f.err = fmt.Errorf("reading %s (%d attempts): %w", what, failures, err)
				return
			}
			wait := backoff << (failures - 1)
			if apiErr, ok := errors.AsType[*connectapi.APIError](err); ok && apiErr.RetryAfter > wait {
				wait = min(apiErr.RetryAfter, maxRetryAfter)
			}
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				f.err = ctx.Err()
				return
			}
		}
	}()
	return f
}

// transient reports whether a walk that failed with err may succeed when
// tried again: Connect or a proxy overloaded, the connection cut (a body
// cut short does not decode).
func transient(err error) bool {
	if apiErr, ok := errors.AsType[*connectapi.APIError](err); ok {
		return apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode >= 500
	}
	_, cut := errors.AsType[*connectapi.TransportError](err)
	_, bad := errors.AsType[*connectapi.DecodeError](err)
	return cut || bad
}

// peek returns the next record without taking it; nil at the end of the
// walk, with the walk's error if it failed.
func (f *feed[T]) peek() (*T, error) {
	for len(f.cur) == 0 {
		if f.done {
			return nil, f.err
		}
		p, ok := <-f.pages
		if !ok {
			f.done = true
			continue
		}
		f.cur = p
	}
	return &f.cur[0], nil
}

// take drops the record peek returned.
func (f *feed[T]) take() { f.cur = f.cur[1:] }

// close stops the walk and waits for it to end.
func (f *feed[T]) close() {
	f.stop()
	for range f.pages {
	}
}
