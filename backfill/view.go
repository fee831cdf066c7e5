// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

// view is Connect as it was at the replay's clock, for the usage streams
// (it is their usage.Client). It reads each stream of Connect once, oldest
// first (the audit log, which has no time filter, newest first into a
// spool before the replay starts), and keeps only what a read at the clock
// can still return: the Shiny sessions open then or ended within the read's
// window, the visits within it, the audit entries since the previous step.
//
// At the clock T, Connect held the sessions started by T, those ending
// after T still open; the visits up to T; and the audit log up to its first
// entry dated after T (the log is read by id: an entry never overtakes one
// with a lower id).
type view struct {
	client usage.Client
	now    time.Time
	shiny  shinyView
	visits visitView
	audit  auditView
	// events counts the records read from Connect, pages the pages.
	events, pages atomic.Int64
}

var _ usage.Client = (*view)(nil)

func (v *view) EachShinySessionPage(_ context.Context, q connectapi.UsageQuery, fn func([]connectapi.ShinySession) error) error {
	return v.shiny.serve(v.now, q.From, fn)
}

func (v *view) EachVisitPage(_ context.Context, q connectapi.UsageQuery, fn func([]connectapi.Visit) error) error {
	return v.visits.serve(q.From, fn)
}

// EachAuditPage serves the log newest first as it was at the clock; oldest
// first (the server's identity) it is Connect's own.
func (v *view) EachAuditPage(ctx context.Context, newestFirst bool, fn func([]connectapi.AuditEntry) error) error {
	if !newestFirst {
		return v.client.EachAuditPage(ctx, false, fn)
	}
	return v.audit.serve(fn)
}

func (v *view) EachUserPage(ctx context.Context, fn func([]connectapi.User) error) error {
	return v.client.EachUserPage(ctx, fn)
}

func (v *view) EachContent(ctx context.Context, fn func(*connectapi.Content) error) error {
	return v.client.EachContent(ctx, fn)
}

// advance moves the clock to t, taking in what Connect recorded up to t.
func (v *view) advance(t time.Time) error {
	v.now = t
	if err := v.shiny.advance(t); err != nil {
		return err
	}
	if err := v.visits.advance(t); err != nil {
		return err
	}
	return v.audit.advance(t)
}

func (v *view) close() {
	if v.shiny.feed != nil {
		v.shiny.feed.close()
	}
	if v.visits.feed != nil {
		v.visits.feed.close()
	}
	v.audit.close()
}

// ---- Shiny sessions ----

type sessionKey struct {
	content, user string
	started       int64
}

// shinyWalk walks the sessions that ended at or after from or are open,
// started by end, oldest start first. After a failure it asks again from
// the last start it handed on (a session that starts then or later ends
// then or later) and skips what it handed on already.
func shinyWalk(client usage.Client, from, end time.Time, events *atomic.Int64) walkFunc[connectapi.ShinySession] {
	var last time.Time
	atLast := map[sessionKey]bool{}
	return func(ctx context.Context, fn func([]connectapi.ShinySession) error) error {
		q := connectapi.UsageQuery{From: from, To: end}
		resumed := !last.IsZero()
		if resumed && last.After(from) {
			q.From = last
		}
		return client.EachShinySessionPage(ctx, q, func(p []connectapi.ShinySession) error {
			events.Add(int64(len(p)))
			// The client reuses its page, the ends' storage included.
			out, ends, past := make([]connectapi.ShinySession, 0, len(p)), make([]time.Time, len(p)), false
			for i, r := range p {
				if r.Ended != nil {
					ends[i] = *r.Ended
					r.Ended = &ends[i]
				}
				k := sessionKey{r.ContentGUID, r.UserGUID, r.Started.UnixNano()}
				switch {
				case r.Started.After(end):
					past = true // a server that ignores "to"
					continue
				case resumed && (r.Started.Before(last) || r.Started.Equal(last) && atLast[k]):
					continue
				case r.Started.After(last):
					last = r.Started
					clear(atLast)
				}
				atLast[k] = true
				out = append(out, r)
			}
			if len(out) > 0 {
				if err := fn(out); err != nil {
					return err
				}
			}
			if past {
				return connectapi.ErrStopPaging
			}
			return nil
		})
	}
}

type shinyView struct {
	feed *feed[connectapi.ShinySession]
	buf  []connectapi.ShinySession // started by the clock, in started order
	page []connectapi.ShinySession
}

func (s *shinyView) advance(t time.Time) error {
	for {
		r, err := s.feed.peek()
		if err != nil {
			return err
		}
		if r == nil || r.Started.After(t) {
			return nil
		}
		i := len(s.buf)
		for i > 0 && s.buf[i-1].Started.After(r.Started) {
			i-- // out of started order: sessions are served in order
		}
		s.buf = slices.Insert(s.buf, i, *r)
		s.feed.take()
	}
}

// serve returns what Connect answered at now for from: every session open
// then, and those that had ended at or after from. A session that ended
// before from is forgotten: the streams never ask from earlier again.
func (s *shinyView) serve(now, from time.Time, fn func([]connectapi.ShinySession) error) error {
	s.page = s.page[:0]
	keep := s.buf[:0]
	for _, r := range s.buf {
		if r.Ended != nil && !r.Ended.After(now) {
			if r.Ended.Before(from) {
				continue
			}
			keep = append(keep, r)
			s.page = append(s.page, r)
			continue
		}
		keep = append(keep, r)
		r.Ended = nil // still open at now
		s.page = append(s.page, r)
	}
	clear(s.buf[len(keep):])
	s.buf = keep
	if len(s.page) == 0 {
		return nil
	}
	return fn(s.page)
}

// ---- visits ----

type visitKey struct {
	content, user, variant, rendering, bundle, path, agent string
	version                                                int
	t                                                      int64
}

func keyOf(v *connectapi.Visit) visitKey {
	return visitKey{v.ContentGUID, v.UserGUID, v.VariantKey, string(v.RenderingID), string(v.BundleID), v.Path, v.UserAgent, v.DataVersion, v.Time.UnixNano()}
}

// visitWalk walks the visits from from to end, oldest first. After a
// failure it asks again from the last time it handed on and skips the
// records at that time it handed on already (identical records counted as
// a multiset).
func visitWalk(client usage.Client, from, end time.Time, events *atomic.Int64) walkFunc[connectapi.Visit] {
	var last time.Time
	atLast := map[visitKey]int{}
	return func(ctx context.Context, fn func([]connectapi.Visit) error) error {
		q := connectapi.UsageQuery{From: from, To: end}
		skip := map[visitKey]int{}
		if !last.IsZero() {
			q.From = last
			maps.Copy(skip, atLast)
		}
		return client.EachVisitPage(ctx, q, func(p []connectapi.Visit) error {
			events.Add(int64(len(p)))
			out, past := make([]connectapi.Visit, 0, len(p)), false
			for _, v := range p {
				k := keyOf(&v)
				switch {
				case v.Time.After(end):
					past = true
					continue
				case v.Time.Equal(last) && skip[k] > 0:
					skip[k]--
					continue
				case v.Time.After(last):
					last = v.Time
					clear(atLast)
				}
				if v.Time.Equal(last) {
					atLast[k]++
				}
				out = append(out, v)
			}
			if len(out) > 0 {
				if err := fn(out); err != nil {
					return err
				}
			}
			if past {
				return connectapi.ErrStopPaging
			}
			return nil
		})
	}
}

type visitView struct {
	feed *feed[connectapi.Visit]
	buf  []connectapi.Visit // up to the clock, in time order
	// floor is the earliest time the streams may still ask for; latest
	// the latest time taken in.
	floor, latest time.Time
}

func (s *visitView) advance(t time.Time) error {
	for {
		v, err := s.feed.peek()
		if err != nil {
			return err
		}
		if v == nil || v.Time.After(t) {
			return nil
		}
		if v.Time.Before(s.floor) {
			return fmt.Errorf("reading visits: Connect returned a visit dated %s after visits dated up to %s: they are not in time order, and the backfill cannot place it",
				v.Time.UTC().Format(time.RFC3339Nano), s.latest.UTC().Format(time.RFC3339Nano))
		}
		if v.Time.After(s.latest) {
			s.latest = v.Time
		}
		i := len(s.buf)
		for i > 0 && s.buf[i-1].Time.After(v.Time) {
			i--
		}
		s.buf = slices.Insert(s.buf, i, *v)
		s.feed.take()
	}
}

// serve returns the visits from from to the clock, as one page, and
// forgets those before from.
func (s *visitView) serve(from time.Time, fn func([]connectapi.Visit) error) error {
	i, _ := slices.BinarySearchFunc(s.buf, from, func(v connectapi.Visit, t time.Time) int { return v.Time.Compare(t) })
	clear(s.buf[:i])
	s.buf = s.buf[i:]
	if from.After(s.floor) {
		s.floor = from
	}
	if len(s.buf) == 0 {
		return nil
	}
	return fn(s.buf)
}

// ---- audit log ----

// auditWalk walks the audit log newest first down to its first entry
// dated at or before since, which ends the walk. After a failure it walks
// again from the newest entry and skips the ids it handed on already (as
// it skips a row repeated across pages).
func auditWalk(client usage.Client, since time.Time, events *atomic.Int64) walkFunc[connectapi.AuditEntry] {
	low := "" // the lowest id handed on
	return func(ctx context.Context, fn func([]connectapi.AuditEntry) error) error {
		return client.EachAuditPage(ctx, true, func(p []connectapi.AuditEntry) error {
			events.Add(int64(len(p)))
			out, reached := make([]connectapi.AuditEntry, 0, len(p)), false
			for _, e := range p {
				id, ok := usage.NormalizeAuditID(string(e.ID))
				if !ok {
					return fmt.Errorf("audit entry id %.40q is not a decimal number", string(e.ID))
				}
				if low != "" && usage.CompareAuditIDs(id, low) >= 0 {
					continue
				}
				low = id
				out = append(out, slim(&e))
				if !e.Time.After(since) {
					reached = true
					break
				}
			}
			if len(out) > 0 {
				if err := fn(out); err != nil {
					return err
				}
			}
			if reached {
				return connectapi.ErrStopPaging
			}
			return nil
		})
	}
}

type auditView struct {
	spool   auditSpool
	top     *connectapi.AuditEntry // the newest entry served before pending
	pending []connectapi.AuditEntry
	page    []connectapi.AuditEntry
}

// load reads the audit log newest first down to since into the spool; the
// entry that ends the walk (the newest dated at or before since) is where
// the replay's baseline stands.
func (a *auditView) load(f *feed[connectapi.AuditEntry], since time.Time, reached *atomic.Int64) error {
	defer f.close()
	for {
		e, err := f.peek()
		if err != nil {
			return err
		}
		if e == nil {
			break
		}
		if !e.Time.After(since) {
			top := slim(e)
			a.top = &top
			break
		}
		if err := a.spool.add(e); err != nil {
			return err
		}
		reached.Store(e.Time.UnixNano())
		f.take()
	}
	return a.spool.finish()
}

func slim(e *connectapi.AuditEntry) connectapi.AuditEntry {
	return connectapi.AuditEntry{ID: e.ID, Time: e.Time, Action: e.Action}
}

func (a *auditView) advance(t time.Time) error {
	if n := len(a.pending); n > 0 {
		top := a.pending[n-1]
		a.top = &top
		a.pending = a.pending[:0]
	}
	for {
		e, err := a.spool.peek()
		if err != nil {
			return fmt.Errorf("reading the audit log's spool: %w", err)
		}
		if e == nil || e.Time.After(t) {
			return nil
		}
		a.pending = append(a.pending, *e)
		a.spool.take()
	}
}

// serve returns the log newest first: the entries of this step, then the
// newest one before them, where the stream stops.
func (a *auditView) serve(fn func([]connectapi.AuditEntry) error) error {
	a.page = a.page[:0]
	for _, e := range slices.Backward(a.pending) {
		a.page = append(a.page, e)
	}
	if a.top != nil {
		a.page = append(a.page, *a.top)
	}
	if len(a.page) == 0 {
		return nil
	}
	return fn(a.page)
}

func (a *auditView) close() { a.spool.close() }
