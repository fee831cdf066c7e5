// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi/connecttest"
	"github.com/posit-connect-exporter/posit_connect_exporter/window"
)

// TestNoGoroutineLeakUnderFaults scrapes through every fault the simulator
// makes and checks that nothing the exporter started is left running.
func TestNoGoroutineLeakUnderFaults(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	sim := connecttest.New(connecttest.Config{Seed: 2, Users: 30, Content: 6, Groups: 2, APIKey: testKey})
	if err := sim.Start(); err != nil {
		t.Fatal(err)
	}
	transport := &http.Transport{}
	client, _ := connectapi.NewClient(sim.URL(), connectapi.WithAPIKey(connectapi.StaticKey(testKey)),
		connectapi.WithHTTPClient(&http.Client{Transport: transport, Timeout: 2 * time.Second}))
	windows, _ := window.Parse("30d")
	logger := slog.New(slog.DiscardHandler)
	src := &Source{Client: client, ActiveWindows: windows, Logger: logger,
		Cache: connectapi.NewCache(connectapi.CacheConfig{FetchTimeout: time.Second})} // TTL 0: every scrape fetches
	e := NewExporter(src, apiCollectors(t, src), logger)

	for _, f := range []connecttest.Fault{
		{}, {Kind: connecttest.FaultServerError}, {Kind: connecttest.FaultTruncatedJSON}, {Kind: connecttest.FaultProxyHTML},
		{Kind: connecttest.FaultUnauthorized}, {Kind: connecttest.FaultRateLimited, RetryAfter: time.Second},
		{Kind: connecttest.FaultConnReset}, {Kind: connecttest.FaultSlow, Delay: 1500 * time.Millisecond},
		{Kind: connecttest.FaultHugeBody, Size: 8 << 20}, {Kind: connecttest.FaultDown},
	} {
		sim.ClearFaults()
		if f.Kind != 0 {
			sim.SetFault(f)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		gather(t, e.Scrape(ctx))
		cancel()
	}
	sim.ClearFaults()
	// Detached fetches end within the fetch timeout; then the test's own
	// servers and connections go away.
	time.Sleep(1200 * time.Millisecond)
	sim.Close()
	transport.CloseIdleConnections()
}
