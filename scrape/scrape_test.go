// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package scrape

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestScrapeTimeout(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if d := Timeout(r, time.Second, 7*time.Second); d != 7*time.Second {
		t.Errorf("no header: %v", d)
	}
	r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
	if d := Timeout(r, 500*time.Millisecond, 7*time.Second); d != 9500*time.Millisecond {
		t.Errorf("10s - 0.5s: %v", d)
	}
	r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "0.2")
	if d := Timeout(r, time.Second, 7*time.Second); d != 200*time.Millisecond {
		t.Errorf("offset larger than the timeout: %v", d)
	}
	r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "soon")
	if d := Timeout(r, time.Second, 7*time.Second); d != 7*time.Second {
		t.Errorf("garbage header: %v", d)
	}
	// A header must never remove the deadline or stretch it beyond reason.
	for _, v := range []string{"NaN", "nan", "Inf", "+Inf", "-Inf", "9e18", "1e300", "-5", "0"} {
		r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", v)
		d := Timeout(r, 500*time.Millisecond, 30*time.Second)
		if d <= 0 || d > MaxTimeout {
			t.Errorf("header %q: deadline %v", v, d)
		}
		if (v == "NaN" || v == "nan" || v == "-5" || v == "0" || v == "-Inf" || v == "Inf" || v == "+Inf") && d != 30*time.Second {
			t.Errorf("header %q: %v, want the 30s fallback", v, d)
		}
	}
	r.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "9e18")
	if d := Timeout(r, 0, time.Second); d != MaxTimeout {
		t.Errorf("huge header: %v, want the %v ceiling", d, MaxTimeout)
	}
}

// blocking is a collector whose Collect waits until released, and which
// records the deadline its scrape had.
type blocking struct {
	ctx      context.Context
	release  chan struct{}
	deadline chan time.Duration
}

var gaugeDesc = prometheus.NewDesc("test_gauge", "A test gauge.", nil, nil)

func (b *blocking) Describe(ch chan<- *prometheus.Desc) { ch <- gaugeDesc }

func (b *blocking) Collect(ch chan<- prometheus.Metric) {
	if d, ok := b.ctx.Deadline(); ok {
		b.deadline <- time.Until(d)
	}
	<-b.release
	ch <- prometheus.MustNewConstMetric(gaugeDesc, prometheus.GaugeValue, 1)
}

func TestServeBoundsConcurrencyAndPassesTheDeadline(t *testing.T) {
	release, deadlines := make(chan struct{}), make(chan time.Duration, 2)
	h := NewHandler(1, 500*time.Millisecond, time.Minute, nil)
	scrape := func(ctx context.Context) prometheus.Collector {
		return &blocking{ctx: ctx, release: release, deadline: deadlines}
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.Serve(w, r, scrape) }))
	defer srv.Close()

	var wg sync.WaitGroup
	var first string
	wg.Go(func() {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL, nil)
		req.Header.Set("X-Prometheus-Scrape-Timeout-Seconds", "10")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		first = b.String()
	})
	// The first scrape holds the only slot: a second one is turned away.
	d := <-deadlines
	if d > 9500*time.Millisecond || d < 9*time.Second {
		t.Errorf("the scrape's deadline is %s away, want 10s minus the 0.5s offset", d)
	}
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("second concurrent scrape: %d, want 503", resp.StatusCode)
	}
	close(release)
	wg.Wait()
	if !strings.Contains(first, "test_gauge 1") {
		t.Errorf("first scrape answered %q", first)
	}
}
