// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

// BenchmarkColdFetchLatency is the first complete fetch of users and content
// from a slow Connect: 100,000 users (200 pages), 10,000 content items and
// 500 groups, every answer delayed by 50 ms (the simulator's latency
// injector). Sub-benchmarks:
//
//   - serial-download: the same requests one after another, bodies read and
//     thrown away: what a walk one page at a time costs at best;
//   - parallel=N: what the exporter does, with --connect.max-concurrent-
//     requests=N: server settings, then the users walk (pages in parallel,
//     folded into counts), the content list and the group count at once.
//
// Reported per sub-benchmark: min, median and max seconds per fetch, the
// ratio of the median to serial-download's, and the peak heap above the
// heap before (the simulator's own data excluded). BENCH_LATENCY overrides
// the 50 ms (e.g. 160ms), BENCH_LATENCY_PER_ROW adds a delay per row
// returned (e.g. 80us: 40 ms more for a page of 500 users, 0.8 s for the
// content list); with SIMSERVER_URL and SIMSERVER_KEY_FILE the
// benchmark reads a scripts/simserver in its own process instead (start
// it with --latency-per-request), so that the process's peak RSS
// (peak-rss-MiB) is the client's alone.
//
//	go test -run '^$' -bench ColdFetchLatency -benchtime 3x -timeout 30m ./connectapi/
func BenchmarkColdFetchLatency(b *testing.B) {
	latency := connecttest.Latency{PerRequest: envDuration(b, "BENCH_LATENCY", 50*time.Millisecond),
		PerRow: envDuration(b, "BENCH_LATENCY_PER_ROW", 0)}
	url, key := remoteSim(b)
	if url == "" {
		sim := testutil.Start(b, connecttest.New(connecttest.Config{Seed: 100, Users: 100_000, Content: 10_000, Groups: 500,
			APIKey: benchKey, Version: "2026.03.0", Now: func() time.Time { return benchNow },
			Latency: latency}))
		url, key = sim.URL(), benchKey
	}
	var serial time.Duration
	b.Run("serial-download", func(b *testing.B) {
		serial = timed(b, func() { serialDownload(b, url, key) }, 0)
	})
	for _, p := range []int{1, 2, 4, 8, 16} {
		b.Run("parallel="+strconv.Itoa(p), func(b *testing.B) {
			c, err := connectapi.NewClient(url, connectapi.WithAPIKey(connectapi.StaticKey(key)),
				connectapi.WithMaxConcurrentRequests(p), connectapi.WithHTTPClient(&http.Client{
					Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: p}}))
			if err != nil {
				b.Fatal(err)
			}
			timed(b, func() { coldFetch(b, c) }, serial)
		})
	}
}

func envDuration(b *testing.B, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		b.Fatalf("%s: %v", name, err)
	}
	return d
}

// remoteSim returns the address and key of a simulator in another process,
// if the environment names one.
func remoteSim(b *testing.B) (url, key string) {
	url = os.Getenv("SIMSERVER_URL")
	if url == "" {
		return "", ""
	}
	raw, err := os.ReadFile(os.Getenv("SIMSERVER_KEY_FILE"))
	if err != nil {
		b.Fatal(err)
	}
	return url, strings.TrimSpace(string(raw))
}

// timed runs fn once per iteration and reports min, median and max
// seconds, the ratio of the median to base (when set) and the peak heap.
// It returns the median.
func timed(b *testing.B, fn func(), base time.Duration) time.Duration {
	b.Helper()
	var runs []time.Duration
	var peak uint64
	for b.Loop() {
		start := time.Now()
		peak = max(peak, testutil.PeakHeapAbove(fn))
		runs = append(runs, time.Since(start))
	}
	slices.Sort(runs)
	median := runs[len(runs)/2]
	b.ReportMetric(runs[0].Seconds(), "min-s")
	b.ReportMetric(median.Seconds(), "median-s")
	b.ReportMetric(runs[len(runs)-1].Seconds(), "max-s")
	if base > 0 {
		b.ReportMetric(median.Seconds()/base.Seconds(), "x-serial")
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	if rss := peakRSS(); rss > 0 {
		b.ReportMetric(float64(rss)/(1<<20), "peak-rss-MiB")
	}
	return median
}

// peakRSS is the process's peak resident set (VmHWM), 0 if unknown.
func peakRSS() uint64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(raw)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

// coldFetch is the exporter's first fetch: server settings, then users,
// content and groups at once.
func coldFetch(b *testing.B, c *connectapi.Client) {
	ctx := context.Background()
	if _, err := c.ServerSettings(ctx); err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		type counts struct{ users, named int }
		since := benchNow.Add(-365 * 24 * time.Hour)
		w := connectapi.NewUserWalk(c, connectapi.UserFold[*counts]{Start: func() *counts { return &counts{} },
			Add: func(n *counts, u *connectapi.User) {
				n.users++
				if !u.Locked && u.ActiveTime != nil && u.ActiveTime.After(since) {
					n.named++
				}
			}})
		n, err := w.Run(ctx)
		if err != nil {
			b.Error(err)
		} else if n.users != 100_000 {
			b.Errorf("walked %d users", n.users)
		}
	})
	wg.Go(func() {
		n := 0
		if err := c.EachContent(ctx, func(*connectapi.Content) error { n++; return nil }); err != nil {
			b.Error(err)
		} else if n != 10_000 {
			b.Errorf("%d content items", n)
		}
	})
	wg.Go(func() {
		if _, err := c.CountGroups(ctx, nil); err != nil {
			b.Error(err)
		}
	})
	wg.Wait()
}

var serialHTTP = &http.Client{Timeout: time.Minute}

// serialDownload asks for the same answers as coldFetch, one at a time.
func serialDownload(b *testing.B, url, key string) {
	paths := []string{"/__api__/server_settings"}
	for page := 1; page <= 201; page++ { // 200 pages and the empty one past the end
		paths = append(paths, fmt.Sprintf("/__api__/v1/users?page_number=%d&page_size=500", page))
	}
	paths = append(paths, "/__api__/v1/content", "/__api__/v1/groups?page_number=1&page_size=1")
	for _, p := range paths {
		req, _ := http.NewRequest(http.MethodGet, url+p, nil)
		req.Header.Set("Authorization", "Key "+key)
		resp, err := serialHTTP.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d", p, resp.StatusCode)
		}
	}
}
