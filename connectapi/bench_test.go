// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package connectapi_test

import (
	"context"
	"testing"
	"time"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"

	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
)

const benchKey = "bench-key"

var benchNow = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func startBenchSim(b *testing.B, cfg connecttest.Config) *connectapi.Client {
	b.Helper()
	cfg.APIKey, cfg.Now = benchKey, func() time.Time { return benchNow }
	sim := testutil.Start(b, connecttest.New(cfg))
	c, err := connectapi.NewClient(sim.URL(), connectapi.WithAPIKey(connectapi.StaticKey(benchKey)))
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkWalkUsers100k walks 100,000 users page by page (200 pages).
func BenchmarkWalkUsers100k(b *testing.B) {
	c := startBenchSim(b, connecttest.Config{Seed: 5, Users: 100_000})
	ctx := context.Background()
	var peak uint64
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		peak = max(peak, testutil.PeakHeapAbove(func() {
			if err := c.EachUserPage(ctx, func(p []connectapi.User) error { n += len(p); return nil }); err != nil {
				b.Fatal(err)
			}
		}))
		if n != 100_000 {
			b.Fatalf("walked %d users", n)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}

// BenchmarkWalkShinySessions1M walks 1,000,000 Shiny sessions (2,000 pages).
func BenchmarkWalkShinySessions1M(b *testing.B) {
	c := startBenchSim(b, connecttest.Config{Seed: 6, Users: 1000, Content: 200, ShinySessions: 1_000_000})
	ctx := context.Background()
	var peak uint64
	b.ReportAllocs()
	for b.Loop() {
		n := 0
		peak = max(peak, testutil.PeakHeapAbove(func() {
			err := c.EachShinySessionPage(ctx, connectapi.UsageQuery{}, func(p []connectapi.ShinySession) error { n += len(p); return nil })
			if err != nil {
				b.Fatal(err)
			}
		}))
		if n < 1_000_000 {
			b.Fatalf("walked %d sessions", n)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
