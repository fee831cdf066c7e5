// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

// year3000 is past what Unix nanoseconds can hold (year 2262).
var year3000 = time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)

// TestVisitsDatedAheadDoNotBlockExpiry: a visit dated a day ahead, or in
// the year 3000, is counted once and never keeps later keys alive: the
// key count and the state file stay bounded over many reads, and the
// last-event time does not jump ahead.
func TestVisitsDatedAheadDoNotBlockExpiry(t *testing.T) {
	for _, ahead := range []struct {
		name string
		at   func(now time.Time) time.Time
	}{
		{"plus1day", func(now time.Time) time.Time { return now.Add(24 * time.Hour) }},
		{"year3000", func(time.Time) time.Time { return year3000 }},
	} {
		t.Run(ahead.name, func(t *testing.T) {
			clk := newClock()
			f := newFake()
			path := filepath.Join(t.TempDir(), "state.json")
			cfg := Config{Client: f, Now: clk.Now, StateFile: path, Interval: time.Second, Overlap: time.Minute}
			s := newStreams(t, cfg)
			t0 := clk.Now()
			scrape(t, s) // baseline
			clk.Advance(time.Second)
			f.addVisit(connectapi.Visit{ContentGUID: "doc-9", Time: ahead.at(clk.Now()), Path: "/future"})
			var sizeEarly int64
			for i := range 120 {
				clk.Advance(10 * time.Second)
				for j := range 3 {
					f.addVisit(connectapi.Visit{ContentGUID: fakeStatic[j], UserGUID: "u-1", Time: clk.Now(), Path: "/"})
				}
				r := scrape(t, s)
				if i == 20 {
					fi, err := os.Stat(path)
					if err != nil {
						t.Fatal(err)
					}
					sizeEarly = fi.Size()
				}
				if i%30 == 29 {
					if i == 59 { // a restart from the file on the way
						if err := s.Close(); err != nil {
							t.Fatal(err)
						}
						s = newStreams(t, cfg)
						r = scrape(t, s)
					}
					checkTruth(t, r.v, f.truth(t0, 1<<30, nil, ""))
					if last := r.v[mLast]["visits"]; last > float64(clk.Now().Add(cfg.Overlap).Unix()) {
						t.Errorf("last event %v is ahead of the clock %v", time.Unix(int64(last), 0).UTC(), clk.Now())
					}
				}
			}
			// Overlap 1m, 3 visits every 10s: ~21 keys in the window, plus the one ahead.
			if n := s.visits.size(); n > 30 {
				t.Errorf("%d visit keys kept; the visit dated ahead blocks expiry", n)
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Size() > sizeEarly+sizeEarly/2 {
				t.Errorf("state file grew from %d to %d bytes", sizeEarly, fi.Size())
			}
		})
	}
}

// TestShinyDatedAheadCounted: a Shiny session started a day ahead or in the
// year 3000 counts once, and neither it nor a read that fails after it
// makes later sessions uncounted; open and ended sets stay bounded.
func TestShinyDatedAheadCounted(t *testing.T) {
	for _, ahead := range []struct {
		name string
		at   func(now time.Time) time.Time
	}{
		{"plus1day", func(now time.Time) time.Time { return now.Add(24 * time.Hour) }},
		{"year3000", func(time.Time) time.Time { return year3000 }},
	} {
		t.Run(ahead.name, func(t *testing.T) {
			clk := newClock()
			f := newFake()
			f.pageSize = 2
			path := filepath.Join(t.TempDir(), "state.json")
			cfg := Config{Client: f, Now: clk.Now, StateFile: path, Interval: time.Second, Overlap: time.Minute}
			s := newStreams(t, cfg)
			t0 := clk.Now()
			scrape(t, s)
			clk.Advance(time.Second)
			at := ahead.at(clk.Now())
			f.startSession("app-z", "u-9", at)
			f.endSession("app-z", "u-9", at, at.Add(time.Minute))
			f.startSession("app-y", "u-9", at.Add(time.Second)) // open, ahead
			for i := range 80 {
				clk.Advance(10 * time.Second)
				started := clk.Now().Add(-5 * time.Second)
				f.startSession(fakeApps[i%4], "u-1", started)
				f.endSession(fakeApps[i%4], "u-1", started, clk.Now())
				if i%7 == 3 {
					// The read fails after its last page: the mark must not
					// cover sessions that start later.
					f.mu.Lock()
					f.failShinyEnd = true
					f.mu.Unlock()
					if r := scrapeCtx(context.Background(), t, s); r.errs["shiny"] == nil {
						t.Fatal("the faulted read succeeded")
					}
					clk.Advance(time.Second)
					started := clk.Now().Add(-500 * time.Millisecond)
					f.startSession("app-x", "u-2", started)
					f.endSession("app-x", "u-2", started, clk.Now())
				}
				r := scrape(t, s)
				checkTruth(t, r.v, f.truth(t0, 1<<30, nil, ""))
				if t.Failed() {
					t.Fatalf("differs after read %d", i)
				}
				if last := r.v[mLast]["shiny"]; last > float64(clk.Now().Add(cfg.Overlap).Unix()) {
					t.Fatalf("last event %v is ahead of the clock %v", time.Unix(int64(last), 0).UTC(), clk.Now())
				}
			}
			open, ended := s.shiny.sizes()
			if open > 1 || ended > 20 {
				t.Errorf("dedup state: %d open, %d ended", open, ended)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			s = newStreams(t, cfg)
			checkTruth(t, scrape(t, s).v, f.truth(t0, 1<<30, nil, ""))
		})
	}
}

// TestVisitQueueExpiresByTime: whatever order keys arrive in, expire
// removes exactly the keys dated before the cut.
func TestVisitQueueExpiresByTime(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var q visitQueue
	live := map[visitKey]visitSeen{}
	base := int64(1_000_000)
	for round := range 200 {
		for range rng.IntN(20) {
			k := visitKey{t: base + int64(rng.IntN(1000)), h: rng.Uint64()}
			switch rng.IntN(10) {
			case 0:
				k.t += 1 << 40 // far ahead
			case 1:
				k.t = math.MaxInt64
			}
			live[k] = visitSeen{n: 1}
			q.push(k, base+1000)
		}
		cut := base + int64(rng.IntN(500))
		due := 0
		for k := range live {
			if k.t < cut {
				due++
			}
		}
		before := len(live)
		if n := q.expire(cut, live); n != due || before-len(live) != due {
			t.Fatalf("round %d: %d keys due, expire reports %d, removed %d", round, due, n, before-len(live))
		}
		for k := range live {
			if k.t < cut {
				t.Fatalf("round %d: key %d kept past cut %d", round, k.t, cut)
			}
		}
		if q.len() != len(live) {
			t.Fatalf("round %d: queue holds %d keys, %d live", round, q.len(), len(live))
		}
		base += 300
	}
}

func TestNanosSaturates(t *testing.T) {
	if got := nanos(year3000); got != math.MaxInt64 {
		t.Errorf("nanos(3000) = %d", got)
	}
	if got := nanos(time.Date(1000, 1, 1, 0, 0, 0, 0, time.UTC)); got != math.MinInt64 {
		t.Errorf("nanos(1000) = %d", got)
	}
	now := time.Date(2026, 3, 1, 0, 0, 0, 5, time.UTC)
	if got := nanos(now); got != now.UnixNano() {
		t.Errorf("nanos(now) = %d", got)
	}
	if addNanos(math.MaxInt64-1, time.Hour) != math.MaxInt64 || addNanos(math.MinInt64+1, -time.Hour) != math.MinInt64 || addNanos(5, 2) != 7 {
		t.Error("addNanos does not saturate")
	}
}
