// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"strconv"
)

// eachCursorPage walks keyset pages (Shiny usage, visits, audit logs). It
// re-issues its own request with next=<cursor> instead of following
// paging.next, which the server builds from its own idea of its address and
// which drops the filters. A next cursor comes back even on a short page, so
// it stops on an empty page or a missing cursor.
//
// Three things overlap: the request for the next page (sent as soon as its
// cursor is known, before the results are read when "paging" comes first
// in the body, as Connect sends it), the reading of a page, and the
// caller's fn on the page before. The first page is never fetched ahead:
// the next request goes out only once fn has accepted page 1, so a caller
// that stops after one page (the audit log in steady state) costs one
// request, as before. At most two bodies and two decoded pages are held.
//
// fn is called from the caller's goroutine, one page at a time, in order.
// It must not keep the slice or the pointers in its elements: both are
// reused two pages later.
func eachCursorPage[T any](ctx context.Context, c *Client, endpoint string, q url.Values, rec recordReader[T], fn func([]T) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan *page[T])    // decoded pages, one at a time
	accepted := make(chan struct{}) // closed once fn accepted page 1
	var readErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(pages)
		readErr = readCursorPages(ctx, c, endpoint, q, rec, pages, accepted)
	}()
	first := true
	for pg := range pages {
		err := fn(pg.results)
		if err != nil {
			cancel()
			for range pages { // let the reader finish
			}
			<-done
			if errors.Is(err, ErrStopPaging) {
				return nil
			}
			return err
		}
		if first {
			first = false
			close(accepted)
		}
	}
	<-done
	return readErr
}

// readCursorPages fetches and reads the pages of eachCursorPage and hands
// each non-empty one to pages; it returns when the walk ends.
func readCursorPages[T any](ctx context.Context, c *Client, endpoint string, q url.Values, rec recordReader[T],
	pages chan<- *page[T], accepted <-chan struct{}) error {
	base := url.Values{}
	maps.Copy(base, q)
	base.Set("limit", strconv.Itoa(PageSize))
	base.Del("next")
	query := func(cursor string) url.Values {
		v := maps.Clone(base)
		if cursor != "" {
			v.Set("next", cursor)
		}
		return v
	}

	var ahead *prefetch
	defer func() { ahead.cancel() }()
	s := &scanner{strs: &interner{}}
	var bufs [2]page[T] // the page being read, and the one fn may hold
	cursor := ""
	f, err := c.fetchBody(ctx, endpoint, query(cursor))
	for n := range maxPages {
		if err != nil {
			return err
		}
		pg := &bufs[n%2]
		var early *string
		s.reset(f.body())
		s.secret = f.x.key
		readPage(s, pg, rec, func(next *string) {
			if n > 0 && next != nil && *next != "" && *next != cursor {
				v := *next
				early = &v
				ahead = c.prefetch(ctx, endpoint, query(v))
			}
		})
		f.release()
		if s.err != nil {
			return f.x.decodeError(s.err)
		}
		if len(pg.results) == 0 {
			return nil
		}
		next := pg.next
		if early != nil && (next == nil || *next != *early) {
			// A later "paging" member changed the cursor: drop the guess.
			ahead.cancel()
			ahead = nil
		}
		select {
		case pages <- pg:
		case <-ctx.Done():
			return ctx.Err()
		}
		if n == 0 {
			select {
			case <-accepted:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if next == nil || *next == "" {
			return nil
		}
		if *next == cursor {
			return fmt.Errorf("GET %s: the paging cursor did not advance (%q)", endpoint, *next)
		}
		cursor = *next
		if ahead != nil {
			f, err = ahead.wait()
			ahead = nil
		} else {
			f, err = c.fetchBody(ctx, endpoint, query(cursor))
		}
	}
	f.release()
	return fmt.Errorf("GET %s: more than %d pages", endpoint, maxPages)
}

// prefetch is a request in flight in its own goroutine.
type prefetch struct {
	stop context.CancelFunc
	done chan struct{}
	f    *fetched
	err  error
}

func (c *Client) prefetch(ctx context.Context, endpoint string, q url.Values) *prefetch {
	ctx, stop := context.WithCancel(ctx)
	p := &prefetch{stop: stop, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.f, p.err = c.fetchBody(ctx, endpoint, q)
	}()
	return p
}

// wait returns the answer.
func (p *prefetch) wait() (*fetched, error) {
	<-p.done
	p.stop()
	return p.f, p.err
}

// cancel abandons the request and waits for its goroutine; nil is fine.
func (p *prefetch) cancel() {
	if p == nil {
		return
	}
	p.stop()
	<-p.done
	p.f.release()
}

// reset makes the scanner read b from the start.
func (s *scanner) reset(b []byte) {
	s.b, s.i, s.depth, s.err = b, 0, 0, nil
}
