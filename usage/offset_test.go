// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// offsetSource is a Connect double whose paging cursor is an offset into
// the result, evaluated afresh for every page (real Connect uses keyset
// cursors). Records that arrive during a walk shift the rows after them, so
// a page can repeat rows of the page before. between runs after each page,
// to insert such records.
type offsetSource struct {
	*fakeSource
	between func(stream string)
}

func offsetPages[T any](ctx context.Context, size int, rows func() []T, between func(), fn func([]T) error) error {
	for off := 0; ; off += size {
		if err := ctx.Err(); err != nil {
			return err
		}
		all := rows()
		if off >= len(all) {
			return nil
		}
		if err := fn(slices.Clone(all[off:min(off+size, len(all))])); err != nil {
			if errors.Is(err, connectapi.ErrStopPaging) {
				return nil
			}
			return err
		}
		between()
	}
}

func (o *offsetSource) EachAuditPage(ctx context.Context, newestFirst bool, fn func([]connectapi.AuditEntry) error) error {
	return offsetPages(ctx, o.pageSize, func() []connectapi.AuditEntry {
		o.mu.Lock()
		defer o.mu.Unlock()
		rows := slices.Clone(o.audit)
		if newestFirst {
			slices.Reverse(rows)
		}
		return rows
	}, func() { o.between("audit") }, fn)
}

func (o *offsetSource) EachVisitPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.Visit) error) error {
	return offsetPages(ctx, o.pageSize, func() []connectapi.Visit {
		o.mu.Lock()
		defer o.mu.Unlock()
		var rows []connectapi.Visit
		for _, v := range o.visits {
			if !v.Time.Before(q.From) {
				rows = append(rows, v)
			}
		}
		return rows
	}, func() { o.between("visits") }, fn)
}

func (o *offsetSource) EachShinySessionPage(ctx context.Context, q connectapi.UsageQuery, fn func([]connectapi.ShinySession) error) error {
	return offsetPages(ctx, o.pageSize, func() []connectapi.ShinySession {
		o.mu.Lock()
		defer o.mu.Unlock()
		var rows []connectapi.ShinySession
		for _, s := range o.sessions {
			if s.Ended == nil || !s.Ended.Before(q.From) {
				if s.Ended != nil {
					e := *s.Ended
					s.Ended = &e
				}
				rows = append(rows, s)
			}
		}
		return rows
	}, func() { o.between("shiny") }, fn)
}

// TestOffsetCursorsWithBursts: with offset cursors and records arriving in
// bursts during every walk (audit entries at the newest end; visits and
// Shiny sessions dated a few seconds back, so they land before the cursor),
// every counter still equals the truth after every read: repeated rows are
// never counted twice.
func TestOffsetCursorsWithBursts(t *testing.T) {
	for seed := range uint64(3) {
		t.Run("seed"+strconv.FormatUint(seed, 10), func(t *testing.T) {
			clk := newClock()
			f := newFake()
			f.pageSize = 4
			rng := rand.New(rand.NewPCG(seed, 12))
			a := &activity{f: f, clk: clk, rng: rand.New(rand.NewPCG(seed, 13))}
			a.step(10 * time.Minute)
			src := &offsetSource{fakeSource: f}
			const overlap = time.Minute
			var t0 time.Time
			bursts := false // not during the baseline, whose misses are counted later
			late := 0
			perRead := map[string]int{} // bursts in the current read, per stream
			src.between = func(stream string) {
				if !bursts || rng.IntN(2) == 0 || perRead[stream] == 8 {
					return
				}
				perRead[stream]++
				now := clk.Now()
				for range 1 + rng.IntN(6) {
					// Dated up to half the overlap back, but after the baseline.
					back := time.Duration(rng.IntN(int(min(overlap/2, now.Sub(t0))/time.Millisecond))) * time.Millisecond
					switch stream {
					case "audit":
						f.addAudit(fakeActions[rng.IntN(len(fakeActions))], now)
					case "visits":
						f.addVisit(connectapi.Visit{ContentGUID: fakeStatic[rng.IntN(3)], UserGUID: fakeUsers[rng.IntN(5)], Time: now.Add(-back), Path: "/late"})
					case "shiny":
						started := now.Add(-back)
						late++ // a user of its own: two sessions never share a key
						c, u := fakeApps[rng.IntN(4)], "late-"+strconv.Itoa(late)
						f.startSession(c, u, started)
						if rng.IntN(2) == 0 {
							f.endSession(c, u, started, started.Add(time.Duration(rng.IntN(1000))*time.Millisecond))
						}
					}
				}
			}
			t0 = clk.Now()
			s := newStreams(t, Config{Client: src, Now: clk.Now, Overlap: overlap, Interval: time.Second})
			auditBase := len(f.audit) + 999
			scrape(t, s)
			bursts = true
			prev := values{}
			for i := range 40 {
				a.step(time.Duration(10+rng.IntN(40)) * time.Second)
				clear(perRead)
				checkMonotone(t, prev, scrape(t, s).v) // bursts during the walk
				// What arrived behind the cursor is read by the next read;
				// a read with no bursts must then find every counter exact.
				bursts = false
				clk.Advance(2 * time.Second)
				r := scrape(t, s)
				bursts = true
				checkMonotone(t, prev, r.v)
				checkTruth(t, r.v, f.truth(t0, auditBase, nil, "ContentHealthMonitor/1.0"))
				if t.Failed() {
					t.Fatalf("differs after read %d", i)
				}
			}
		})
	}
}

// TestAuditOutOfOrderIsAnError: a server that does not return the audit log
// newest first (ids increasing within a page) fails the read rather than
// counting from a wrong order.
func TestAuditOutOfOrderIsAnError(t *testing.T) {
	clk := newClock()
	f := newFake()
	for range 5 {
		f.addAudit("add_user", clk.Now())
	}
	s := newStreams(t, Config{Client: &oldestFirstAudit{f}, Now: clk.Now})
	for range 2 {
		r := scrapeCtx(context.Background(), t, s)
		if r.errs["audit"] == nil || !strings.Contains(r.errs["audit"].Error(), "not newest first") {
			t.Fatalf("an audit log in increasing id order was accepted: %v, %v", r.errs["audit"], r.v[mAudit])
		}
		f.addAudit("add_user", clk.Now())
		clk.Advance(time.Minute)
	}
}

// oldestFirstAudit ignores newestFirst, as a proxy that drops the query can.
type oldestFirstAudit struct{ *fakeSource }

func (o *oldestFirstAudit) EachAuditPage(ctx context.Context, _ bool, fn func([]connectapi.AuditEntry) error) error {
	return o.fakeSource.EachAuditPage(ctx, false, fn)
}
