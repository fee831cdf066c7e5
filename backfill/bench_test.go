// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package backfill

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

const mib = 1 << 20

// benchSim is 400 days of history: n Shiny sessions, n visits and n/10
// audit entries over 100 content items. With
// BACKFILL_BENCH_LATENCY (a duration), every request waits that long, as a
// real Connect's database does.
func benchSim(b *testing.B, n int) (*connecttest.Server, *connectapi.Client) {
	b.Helper()
	clk := testutil.NewClock(end)
	sim, client := newSimConfig(b, connecttest.Config{Seed: 1, Users: 10_000, Content: 100, Now: clk.Now, History: 400 * 24 * time.Hour,
		ShinySessions: n, Visits: n, AuditEntries: n / 10})
	if v := os.Getenv("BACKFILL_BENCH_LATENCY"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			b.Fatal(err)
		}
		sim.SetFault(connecttest.Fault{Kind: connecttest.FaultSlow, Delay: d})
	}
	return sim, client
}

// BenchmarkBackfill backfills 365 days at 1h from the simulator above,
// with 100,000 and 1,000,000 sessions and visits: the same 185 series of
// 8,761 samples. Reported: events read per second, requests, output size,
// and the peak live heap (sampled after a forced collection every 250 ms)
// above the heap held before, which is the simulator's data.
//
//	go test -run '^$' -bench Backfill -benchtime 1x ./backfill/
func BenchmarkBackfill(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) { benchBackfill(b, n) })
	}
}

func benchBackfill(b *testing.B, n int) {
	sim, client := benchSim(b, n)
	dir := b.TempDir()
	for b.Loop() {
		out := filepath.Join(dir, "history.om")
		os.Remove(out)
		sim.ResetRequests()
		base := testutil.HeapAfterGC()
		live := liveHeapSampler(250 * time.Millisecond)
		start := time.Now()
		res, err := Run(context.Background(), Config{Client: client, Since: end.Add(-365 * 24 * time.Hour), End: end, Output: out,
			Labels: []Label{{"job", "posit_connect"}, {"instance", "connect.example.com:10233"}}})
		elapsed := time.Since(start)
		peak := live() - min(live(), base)
		if err != nil {
			b.Fatal(err)
		}
		requests := sim.Requests("/__api__/v1/")
		b.ReportMetric(float64(res.Events)/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(peak)/mib, "peak-live-heap-MiB")
		b.ReportMetric(float64(requests), "requests")
		b.ReportMetric(float64(res.Bytes)/mib, "output-MiB")
		b.Logf("%d events in %d pages (%d requests), %d series, %d samples, %.0f MiB in %v; peak live heap +%.1f MiB",
			res.Events, res.Pages, requests, res.Series, res.Samples, float64(res.Bytes)/mib, elapsed.Round(time.Millisecond), float64(peak)/mib)
	}
}

// liveHeapSampler collects garbage every interval and records the live
// heap; the returned function stops it (the first call) and returns the
// largest live heap seen.
func liveHeapSampler(every time.Duration) func() uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.GC()
				var m runtime.MemStats
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > peak.Load() {
					peak.Store(m.HeapAlloc)
				}
			}
		}
	})
	var once sync.Once
	return func() uint64 {
		once.Do(func() {
			close(stop)
			wg.Wait()
		})
		return peak.Load()
	}
}

// BenchmarkDownload1M is the bare download of the pages the backfill
// reads: the audit log newest first down to the first sample, then the
// Shiny sessions and the visits oldest first, at the same time.
func BenchmarkDownload1M(b *testing.B) {
	sim, client := benchSim(b, 1_000_000)
	since := end.Add(-365 * 24 * time.Hour)
	from := since.Add(-5 * time.Minute)
	for b.Loop() {
		sim.ResetRequests()
		ctx := context.Background()
		start := time.Now()
		var events atomic.Int64
		err := client.EachAuditPage(ctx, true, func(p []connectapi.AuditEntry) error {
			events.Add(int64(len(p)))
			if !p[len(p)-1].Time.After(since) {
				return connectapi.ErrStopPaging
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		wg.Go(func() {
			errs[0] = client.EachShinySessionPage(ctx, connectapi.UsageQuery{From: from, To: end}, func(p []connectapi.ShinySession) error {
				events.Add(int64(len(p)))
				return nil
			})
		})
		wg.Go(func() {
			errs[1] = client.EachVisitPage(ctx, connectapi.UsageQuery{From: from, To: end}, func(p []connectapi.Visit) error {
				events.Add(int64(len(p)))
				return nil
			})
		})
		wg.Wait()
		elapsed := time.Since(start)
		for _, err := range errs {
			if err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(events.Load())/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(sim.Requests("/__api__/v1/")), "requests")
		b.Logf("%d events in %v", events.Load(), elapsed.Round(time.Millisecond))
	}
}
