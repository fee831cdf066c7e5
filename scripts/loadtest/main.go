// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Command loadtest sends concurrent scrapes to an exporter on loopback for
// a fixed time and reports requests per second, errors and latency, then
// reads the exporter's own counters to show how many requests reached
// Connect. It refuses targets that are not loopback addresses.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func main() {
	target := flag.String("url", "http://127.0.0.1:10233/metrics", "exporter metrics URL (loopback only)")
	duration := flag.Duration("duration", 30*time.Second, "how long to send load (at most 5m)")
	concurrency := flag.Int("concurrency", 20, "concurrent scrapers (at most 500)")
	flag.Parse()
	if err := run(*target, *duration, *concurrency); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func run(target string, duration time.Duration, concurrency int) error {
	u, err := url.Parse(target)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("refusing %s: load goes to loopback addresses only", u.Host)
	}
	if duration <= 0 || duration > 5*time.Minute || concurrency < 1 || concurrency > 500 {
		return errors.New("duration must be in (0, 5m] and concurrency in [1, 500]")
	}
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: concurrency}}
	before, err := apiRequests(client, target)
	if err != nil {
		return fmt.Errorf("first scrape: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), duration)
	defer cancel()
	var ok, failed atomic.Int64
	latencies := make([][]time.Duration, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range concurrency {
		wg.Go(func() {
			for ctx.Err() == nil {
				t0 := time.Now()
				err := scrape(ctx, client, target)
				switch {
				case err == nil:
					ok.Add(1)
					latencies[i] = append(latencies[i], time.Since(t0))
				case ctx.Err() == nil:
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	after, err := apiRequests(client, target)
	if err != nil {
		return fmt.Errorf("last scrape: %w", err)
	}
	all := slices.Concat(latencies...)
	slices.Sort(all)
	pct := func(p float64) time.Duration {
		if len(all) == 0 {
			return 0
		}
		return all[min(len(all)-1, int(p*float64(len(all))))]
	}
	fmt.Printf("duration %s, concurrency %d\n", elapsed.Round(time.Millisecond), concurrency)
	fmt.Printf("scrapes ok %d, failed %d, %.0f scrapes/s\n", ok.Load(), failed.Load(), float64(ok.Load())/elapsed.Seconds())
	fmt.Printf("latency p50 %s, p90 %s, p99 %s, max %s\n", pct(.5), pct(.9), pct(.99), pct(1))
	fmt.Println("requests that reached Connect during the run, by endpoint:")
	for _, ep := range sortedKeys(after) {
		fmt.Printf("  %-40s %6.0f\n", ep, after[ep]-before[ep])
	}
	if failed.Load() > 0 {
		return fmt.Errorf("%d scrapes failed", failed.Load())
	}
	return nil
}

func scrape(ctx context.Context, client *http.Client, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return nil
}

// apiRequests reads posit_connect_exporter_api_requests_total by endpoint.
func apiRequests(client *http.Client, target string) (map[string]float64, error) {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, m := range mfs["posit_connect_exporter_api_requests_total"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "endpoint" {
				out[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return out, nil
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, strings.Compare)
	return keys
}
