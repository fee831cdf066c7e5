// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"maps"
	"net/url"
	"strconv"
	"sync"
	"time"
)

// DefaultWalkParallelism is how many pages of an offset walk are fetched at
// once by a client without WithMaxConcurrentRequests.
const DefaultWalkParallelism = 4

// maxRewalks bounds how often one Run starts a walk again because the list
// changed under it.
const maxRewalks = 3

// IncompleteWalkError is a walk of an offset-paged list (users, groups)
// that stopped part-way. What it read is kept: the next Run of the same walk
// asks only for the pages still missing. It unwraps to the cause: the
// caller's context (the walk's own time bound), or the failed request's
// *TransportError, *APIError or *DecodeError.
type IncompleteWalkError struct {
	Endpoint string
	// PagesDone were read; Pages is the length of the walk, 0 while it is
	// not known (Connect sent no total).
	PagesDone, Pages int
	Err              error
}

func (e *IncompleteWalkError) Error() string {
	of := "?"
	if e.Pages > 0 {
		of = strconv.Itoa(e.Pages)
	}
	if e.TimedOut() {
		return fmt.Sprintf("GET %s: the walk timed out after %d pages of %s; the next attempt continues with the pages still missing",
			e.Endpoint, e.PagesDone, of)
	}
	return fmt.Sprintf("GET %s: the walk stopped after %d pages of %s (the next attempt continues with the pages still missing): %v",
		e.Endpoint, e.PagesDone, of, e.Err)
}

func (e *IncompleteWalkError) Unwrap() error { return e.Err }

// TimedOut reports whether the walk ran out of its own time (its context's
// deadline), rather than a request failing.
func (e *IncompleteWalkError) TimedOut() bool { return errors.Is(e.Err, context.DeadlineExceeded) }

// IsWalkTimeout reports whether err is a walk that ran out of time part-way
// (an *IncompleteWalkError whose context expired). Connect answered every
// request it was sent; it is slow, not down.
func IsWalkTimeout(err error) bool {
	var we *IncompleteWalkError
	return errors.As(err, &we) && we.TimedOut()
}

// InconsistentWalkError means the pages of an offset-paged list did not add
// up, walk after walk: the list changed while it was read (users created or
// deleted), or the server's paging is broken. No count is reported rather
// than a wrong one.
type InconsistentWalkError struct {
	Endpoint string
	Walks    int
	// Reason is what the last walk found, e.g. "total changed from 1200
	// to 1250".
	Reason string
}

func (e *InconsistentWalkError) Error() string {
	return fmt.Sprintf("GET %s: the list did not hold still for %d walks in a row (%s); not reporting a count that may be wrong",
		e.Endpoint, e.Walks, e.Reason)
}

// changedError ends one walk attempt: the list changed, start again.
type changedError struct{ reason string }

func (e *changedError) Error() string { return e.reason }

// WalkProgress is where an offset walk stands.
type WalkProgress struct {
	// Started is when the walk now in progress read its first page; zero
	// when none is in progress.
	Started time.Time
	// PagesDone of Pages (0 while the length is not known).
	PagesDone, Pages int
	// Rows handed on: distinct by GUID.
	Rows int
	// Rewalks counts walks started again because the list changed.
	Rewalks int
}

// offsetWalk reads an offset-paged list (page_number, page_size; pages
// carry current_page and total) with up to parallel requests at once.
//
// Page 1 comes first; its total says how many pages there are, and the
// others are fetched in parallel. Rows are handed on at most once per walk,
// by GUID (64-bit hashes, so 100,000 users cost about 2 MB). The walk is
// complete when every page was read and the rows add up: every page reports
// the same total and the distinct rows equal it (an extra page past the end
// must be empty when the total fills the last page). A changed total, or
// rows that do not add up, mean the list changed while it was read: the walk
// starts again from page 1 (at most maxRewalks times), so users created or
// deleted mid-walk are neither counted twice nor missed. Without a total
// (missing, or 0 beside rows), pages are fetched in parallel batches until
// an empty one, and a row that comes twice, a short page before the last or
// rows after the empty page mean the list changed.
//
// What offset paging cannot show: as many rows created as deleted between
// two page reads, so that the total holds and no row comes twice. The count
// is still exact, but a row deleted meanwhile may stand for one created;
// the next walk sees the list as it is.
//
// A failed request ends the attempt but keeps the progress: the next run
// asks only for the pages still missing and keeps the rows already handed
// on. The walk is not safe for concurrent runs; the owner serialises them.
type offsetWalk[T any] struct {
	c        *Client
	endpoint string
	query    url.Values
	rec      recordReader[T]
	// id identifies a row; rows with an empty id are all distinct.
	id func(*T) string
	// fold receives the new rows of each page, never concurrently.
	fold func([]T) error
	// restart is called when the walk starts again from page 1 because
	// the list changed, before any row of the new walk is handed on. nil:
	// rows already handed on stay handed on (the seen set is kept).
	restart func()

	mu      sync.Mutex
	started time.Time
	total   int // -1: not known
	size    int // rows per page, as the server pages
	pages   []int32
	done    int
	emptyAt int // the lowest page found empty when the total is not known
	// seen maps the hash of each row's id to the walk (gen) that last saw
	// it: a row is new to this walk when its gen differs, and is handed on
	// only when it is absent.
	seen map[uint64]uint32
	gen  uint32
	seed maphash.Seed
	// rows counts the distinct rows of this walk, returned all rows.
	rows, returned int
	rewalks        int
}

const notRead = -1

func newOffsetWalk[T any](c *Client, endpoint string, query url.Values, rec recordReader[T], id func(*T) string) *offsetWalk[T] {
	return &offsetWalk[T]{c: c, endpoint: endpoint, query: query, rec: rec, id: id, seed: maphash.MakeSeed()}
}

// progress returns where the walk stands.
func (w *offsetWalk[T]) progress() WalkProgress {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := WalkProgress{Started: w.started, PagesDone: w.done, Rows: w.rows, Rewalks: w.rewalks}
	if w.total >= 0 && w.pages != nil {
		p.Pages = len(w.pages) - 1
	}
	return p
}

// clear forgets the walk in progress; keepSeen keeps the rows handed on.
func (w *offsetWalk[T]) clear(keepSeen bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started, w.total, w.size, w.pages, w.done, w.emptyAt, w.rows, w.returned = time.Time{}, -1, 0, nil, 0, 0, 0, 0
	if !keepSeen {
		w.seen = nil
	}
}

// run reads the walk to its end, starting again when the list changed.
func (w *offsetWalk[T]) run(ctx context.Context) error {
	w.setRewalks(0)
	for {
		err := w.attempt(ctx)
		var ch *changedError
		if !errors.As(err, &ch) {
			if err == nil {
				w.clear(false)
			}
			return err
		}
		if w.rewalks >= maxRewalks {
			w.clear(false)
			return &InconsistentWalkError{Endpoint: w.endpoint, Walks: w.rewalks + 1, Reason: ch.reason}
		}
		w.setRewalks(w.rewalks + 1)
		w.clear(w.restart == nil)
		if w.restart != nil {
			w.restart()
		}
	}
}

func (w *offsetWalk[T]) setRewalks(n int) {
	w.mu.Lock()
	w.rewalks = n
	w.mu.Unlock()
}

// attempt reads the pages still missing.
func (w *offsetWalk[T]) attempt(ctx context.Context) error {
	if w.pages == nil {
		w.mu.Lock()
		w.started = time.Now()
		w.gen++
		if w.seen == nil {
			w.seen = map[uint64]uint32{}
		}
		w.mu.Unlock()
		pg := &page[T]{}
		if err := w.fetch(ctx, 1, pg); err != nil {
			if ctx.Err() != nil {
				return w.stopped(ctx, err) // out of time before page 1
			}
			return err
		}
		if err := w.first(pg); err != nil {
			return err
		}
	}
	open := w.total < 0
	if err := w.parallel(ctx, open); err != nil {
		return w.stopped(ctx, err)
	}
	if open {
		return w.checkOpen()
	}
	return w.check()
}

// stopped wraps the error that ended an attempt part-way.
func (w *offsetWalk[T]) stopped(ctx context.Context, err error) error {
	if _, ok := errors.AsType[*changedError](err); ok {
		return err
	}
	if _, ok := errors.AsType[*callbackError](err); ok {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	p := w.progress()
	return &IncompleteWalkError{Endpoint: w.endpoint, PagesDone: p.PagesDone, Pages: p.Pages, Err: err}
}

// first takes page 1 and plans the walk.
func (w *offsetWalk[T]) first(pg *page[T]) error {
	n := len(pg.results)
	total, size := -1, n // no usable total: walk until an empty page
	var pages []int32
	switch {
	case pg.total != nil && *pg.total > 0:
		total, size = *pg.total, PageSize
		if n > 0 && n < PageSize && total > n {
			size = n // the server pages by fewer rows than asked
		}
		if total/size >= maxPages {
			return fmt.Errorf("GET %s: a total of %d rows would take more than %d pages", w.endpoint, total, maxPages)
		}
		count := (total + size - 1) / size
		if total%size == 0 {
			count++ // the page past the end must be empty
		}
		pages = make([]int32, count+1)
	case n == 0:
		// An empty list (total 0 or missing): done.
		w.mu.Lock()
		w.total, w.size, w.pages, w.done = 0, PageSize, []int32{0, 0}, 1
		w.mu.Unlock()
		return nil
	default:
		pages = make([]int32, 2)
	}
	for i := range pages {
		pages[i] = notRead
	}
	pages[0] = 0
	w.mu.Lock()
	w.total, w.size, w.pages = total, size, pages
	w.mu.Unlock()
	return w.take(1, pg)
}

// missing lists the pages not read yet.
func (w *offsetWalk[T]) missing() []int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []int
	for p := 1; p < len(w.pages); p++ {
		if w.pages[p] == notRead {
			out = append(out, p)
		}
	}
	return out
}

// parallel fetches the pages not read yet and, when open (no total), the
// pages after them until an empty one, with up to the client's
// parallelism.
func (w *offsetWalk[T]) parallel(ctx context.Context, open bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	list := w.missing()
	var (
		mu       sync.Mutex
		next     int // index into list, then (open) pages beyond it
		frontier = len(w.pages)
		firstErr error
	)
	claim := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if firstErr != nil {
			return 0, false
		}
		if next < len(list) {
			p := list[next]
			next++
			return p, true
		}
		if !open {
			return 0, false
		}
		w.mu.Lock()
		stop := w.emptyAt != 0 && frontier > w.emptyAt
		w.mu.Unlock()
		if stop || frontier > maxPages {
			return 0, false
		}
		p := frontier
		frontier++
		return p, true
	}
	var wg sync.WaitGroup
	for range w.c.parallelism() {
		wg.Go(func() {
			pg := &page[T]{} // reused: take hands the rows on before the next fetch
			for {
				p, ok := claim()
				if !ok {
					return
				}
				err := w.fetch(ctx, p, pg)
				if err == nil {
					err = w.take(p, pg)
				}
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
						cancel()
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if firstErr == nil && open && frontier > maxPages {
		return fmt.Errorf("GET %s: more than %d pages", w.endpoint, maxPages)
	}
	return firstErr
}

// fetch reads and decodes page p into pg.
func (w *offsetWalk[T]) fetch(ctx context.Context, p int, pg *page[T]) error {
	q := maps.Clone(w.query)
	if q == nil {
		q = url.Values{}
	}
	q.Set("page_size", strconv.Itoa(PageSize))
	q.Set("page_number", strconv.Itoa(p))
	f, err := w.c.fetchBody(ctx, w.endpoint, q)
	if err != nil {
		return err
	}
	defer f.release()
	s := &scanner{b: f.body(), secret: f.x.key}
	readPage(s, pg, w.rec, nil)
	if s.err != nil {
		return f.x.decodeError(s.err)
	}
	if pg.current != nil && *pg.current != p {
		return fmt.Errorf("GET %s: asked for page %d, got page %d (the server ignores page_number)", w.endpoint, p, *pg.current)
	}
	return nil
}

// take records page p and hands on its new rows.
func (w *offsetWalk[T]) take(p int, pg *page[T]) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(pg.results)
	if w.total >= 0 {
		if pg.total == nil || *pg.total != w.total {
			was := "none"
			if pg.total != nil {
				was = strconv.Itoa(*pg.total)
			}
			return &changedError{fmt.Sprintf("total changed from %d to %s", w.total, was)}
		}
		past := w.total%w.size == 0 && p == len(w.pages)-1 // the page past the end
		if n == 0 && !past {
			// Fewer rows than the total says: stop at once rather than
			// ask for every page a wrong total promises.
			return &changedError{fmt.Sprintf("page %d is empty, before the end of a total of %d rows", p, w.total)}
		}
	} else if n == 0 && (w.emptyAt == 0 || p < w.emptyAt) {
		w.emptyAt = p
	}
	for p >= len(w.pages) {
		w.pages = append(w.pages, notRead)
	}
	if w.pages[p] != notRead {
		return nil // read before this attempt was cut short
	}
	w.pages[p] = int32(n)
	w.done++
	w.returned += n
	before := w.rows
	fresh := pg.results[:0]
	for i := range pg.results {
		r := &pg.results[i]
		if id := w.id(r); id != "" {
			h := maphash.String(w.seed, id)
			gen, ok := w.seen[h]
			if ok && gen == w.gen {
				continue // twice in this walk
			}
			w.seen[h] = w.gen
			w.rows++
			if ok {
				continue // handed on by an earlier walk (kept by EachUserPage)
			}
		} else {
			w.rows++
		}
		fresh = append(fresh, *r)
	}
	if w.total < 0 && n > 0 && w.rows == before {
		// Without a total, only an empty page ends the walk: a page of
		// rows all read already means the server repeats itself.
		return &changedError{fmt.Sprintf("page %d holds only rows already read", p)}
	}
	if len(fresh) == 0 {
		return nil
	}
	if err := w.fold(fresh); err != nil {
		return &callbackError{err}
	}
	return nil
}

// check decides whether a walk with a total is complete and consistent.
func (w *offsetWalk[T]) check() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	last := len(w.pages) - 1
	if w.total%w.size == 0 && w.total > 0 && w.pages[last] != 0 {
		return &changedError{fmt.Sprintf("page %d, past the total of %d rows, is not empty", last, w.total)}
	}
	if w.rows != w.total {
		return &changedError{fmt.Sprintf("%d distinct rows for a total of %d", w.rows, w.total)}
	}
	return nil
}

// checkOpen decides whether a walk without a total is complete: every page
// before the first empty one full but the last, and none after it.
func (w *offsetWalk[T]) checkOpen() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.emptyAt == 0 {
		return fmt.Errorf("GET %s: no empty page within %d pages", w.endpoint, maxPages)
	}
	if w.returned != w.rows {
		// Rows came twice: the list shifted under the walk (users
		// created before a page already read), so others were missed.
		return &changedError{fmt.Sprintf("%d rows came twice", w.returned-w.rows)}
	}
	for p := 1; p < len(w.pages); p++ {
		n := int(w.pages[p])
		switch {
		case n == notRead && p < w.emptyAt:
			return fmt.Errorf("GET %s: page %d was not read", w.endpoint, p) // unreachable: parallel reads every page below the frontier
		case p > w.emptyAt && n > 0:
			return &changedError{fmt.Sprintf("page %d has rows after the empty page %d", p, w.emptyAt)}
		case p < w.emptyAt-1 && n != w.size:
			return &changedError{fmt.Sprintf("page %d has %d rows, page 1 has %d", p, n, w.size)}
		case p == w.emptyAt-1 && (n < 1 || n > w.size):
			return &changedError{fmt.Sprintf("the last page %d has %d rows, page 1 has %d", p, n, w.size)}
		}
	}
	return nil
}

// parallelism is how many requests one walk keeps in flight.
func (c *Client) parallelism() int {
	if c.limiter != nil {
		return cap(c.limiter)
	}
	return DefaultWalkParallelism
}
