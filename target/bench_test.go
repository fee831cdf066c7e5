// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package target

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/posit-connect-exporter/posit_connect_exporter/config"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/internal/testutil"
	"github.com/posit-connect-exporter/posit_connect_exporter/scrape"
)

// prometheusAccept is the Accept header Prometheus 2.42 sends.
const prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

var (
	scaleOnce sync.Once
	scaleSim  *connecttest.Server
)

// scaleServer is a simulated Connect with 100,000 users and 10,000
// content items, started once for every benchmark of the package.
func scaleServer(b *testing.B) *connecttest.Server {
	scaleOnce.Do(func() {
		scaleSim = connecttest.New(connecttest.Config{Seed: 100, Users: 100_000, Content: 10_000, Groups: 500,
			APIKey: testAPIKey, Version: "2026.03.0", LicenseSeats: 120_000})
		if err := scaleSim.Start(); err != nil {
			b.Fatal(err)
		}
	})
	return scaleSim
}

// hideText hides a scrape's ExpositionWriter, so the handler gathers it through
// a registry as it did before the text path existed.
type hideText struct{ prometheus.Collector }

// BenchmarkWarmScrapeHTTP100kUsers: a scrape of /metrics through the HTTP
// handler, text encoding (and gzip) included, with every Connect resource
// cached: 100,000 users, 10,000 content items (about 10,300 series). The
// registry variant is the path every scrape took before outputs were kept
// with their encoding.
func BenchmarkWarmScrapeHTTP100kUsers(b *testing.B) {
	sim := scaleServer(b)
	b.Setenv("CONNECT_API_KEY", testAPIKey)
	sh := Defaults()
	for _, r := range []string{"server_settings", "users", "active_users", "groups", "content"} {
		sh.TTLs[r] = time.Hour
	}
	for _, c := range []string{"shiny", "visits", "audit"} {
		sh.Collectors[c] = false
	}
	tg, err := New(config.Target{URL: sim.URL(), APIKeyEnv: "CONNECT_API_KEY"}, &sh)
	if err != nil {
		b.Fatal(err)
	}
	defer tg.Close()
	self := prometheus.NewRegistry()
	self.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := scrape.NewHandler(0, 500*time.Millisecond, time.Minute, nil)
	for _, v := range []struct {
		name   string
		gzip   bool
		scrape scrape.Func
	}{
		{"text", false, tg.Scrape},
		{"text-gzip", true, tg.Scrape},
		{"registry", false, func(ctx context.Context) prometheus.Collector { return hideText{tg.Scrape(ctx)} }},
		{"registry-gzip", true, func(ctx context.Context) prometheus.Collector { return hideText{tg.Scrape(ctx)} }},
	} {
		b.Run(v.name, func(b *testing.B) {
			get := func() int {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				req.Header.Set("Accept", prometheusAccept)
				if v.gzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				rec := httptest.NewRecorder()
				h.Serve(rec, req, v.scrape, self)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
				return rec.Body.Len()
			}
			get() // warm the cache
			body := testutil.ParseText(b, func() []byte {
				req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
				rec := httptest.NewRecorder()
				h.Serve(rec, req, v.scrape, self)
				return rec.Body.Bytes()
			}())
			if up, _ := body.Value("posit_connect_up"); up != 1 {
				b.Fatal("up 0")
			}
			series := 0
			for _, mf := range body {
				series += len(mf.GetMetric())
			}
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				n = get()
			}
			b.ReportMetric(float64(series), "series")
			b.ReportMetric(float64(n), "body-bytes")
		})
	}
}
