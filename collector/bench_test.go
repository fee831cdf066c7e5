// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

var (
	benchSimOnce sync.Once
	benchSim     *connecttest.Server
)

// scaleSim is 100,000 users and 10,000 content items, built once.
func scaleSim(b *testing.B) *connecttest.Server {
	b.Helper()
	benchSimOnce.Do(func() {
		benchSim = connecttest.New(connecttest.Config{Seed: 100, Users: 100_000, Content: 10_000, Groups: 500,
			APIKey: testKey, Version: "2026.03.0", LicenseSeats: 120_000, Now: func() time.Time { return testNow }})
		if err := benchSim.Start(); err != nil {
			b.Fatal(err)
		}
	})
	return benchSim
}

func benchExporter(b *testing.B, url string, ttl time.Duration) *Exporter {
	b.Helper()
	client, err := connectapi.NewClient(url, connectapi.WithAPIKey(connectapi.StaticKey(testKey)),
		connectapi.WithHTTPClient(&http.Client{Timeout: time.Minute}))
	if err != nil {
		b.Fatal(err)
	}
	windows, _ := window.Parse("30d,90d,365d")
	src := &Source{Client: client, Cache: connectapi.NewCache(connectapi.CacheConfig{DefaultTTL: ttl, FetchTimeout: time.Minute}),
		ActiveWindows: windows, Now: func() time.Time { return testNow }, Logger: slog.New(slog.DiscardHandler)}
	return NewExporter(src, apiCollectors(b, src), src.Logger)
}

func scrapeOnce(b *testing.B, e *Exporter) int {
	reg := prometheus.NewRegistry()
	reg.MustRegister(e.Scrape(context.Background()))
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, mf := range mfs {
		n += len(mf.GetMetric())
		if mf.GetName() == "posit_connect_up" && mf.GetMetric()[0].GetGauge().GetValue() != 1 {
			b.Fatal("up 0")
		}
	}
	return n
}

// BenchmarkScrapeCold100kUsers: every scrape fetches everything (empty cache).
func BenchmarkScrapeCold100kUsers(b *testing.B) {
	sim := scaleSim(b)
	b.ReportAllocs()
	series := 0
	for b.Loop() {
		series = scrapeOnce(b, benchExporter(b, sim.URL(), time.Hour))
	}
	b.ReportMetric(float64(series), "series")
}

// BenchmarkScrapeWarm100kUsers: scrapes answered from the cache.
func BenchmarkScrapeWarm100kUsers(b *testing.B) {
	sim := scaleSim(b)
	e := benchExporter(b, sim.URL(), time.Hour)
	scrapeOnce(b, e)
	b.ReportAllocs()
	for b.Loop() {
		scrapeOnce(b, e)
	}
}

// BenchmarkDownloadOnly100kUsers is the floor for a cold scrape: the same
// API pages read and decoded, nothing aggregated or exposed.
func BenchmarkDownloadOnly100kUsers(b *testing.B) {
	sim := scaleSim(b)
	client, _ := connectapi.NewClient(sim.URL(), connectapi.WithAPIKey(connectapi.StaticKey(testKey)))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := client.ServerSettings(ctx); err != nil {
			b.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() {
			if err := client.EachUserPage(ctx, func([]connectapi.User) error { return nil }); err != nil {
				b.Error(err)
			}
		})
		wg.Go(func() {
			if err := client.EachContent(ctx, func(*connectapi.Content) error { return nil }); err != nil {
				b.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := client.CountGroups(ctx, nil); err != nil {
				b.Error(err)
			}
		})
		wg.Wait()
	}
}
