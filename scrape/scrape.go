// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package scrape serves scrapes over HTTP. Each request gets a registry of
// its own, bound to a deadline taken from Prometheus' scrape timeout, so a
// slow Connect makes the scrape report failure in time rather than time out.
package scrape

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Func returns the collector of one scrape, bound to ctx.
type Func func(ctx context.Context) prometheus.Collector

// Handler serves scrapes.
type Handler struct {
	// TimeoutOffset is subtracted from Prometheus' scrape timeout to leave
	// time to send the answer.
	TimeoutOffset time.Duration
	// DefaultTimeout bounds a scrape when Prometheus sends no timeout.
	DefaultTimeout time.Duration
	ErrorLog       promhttp.Logger
	inFlight       chan struct{}
}

// NewHandler returns a handler answering 503 beyond maxInFlight concurrent
// scrapes (0: no limit).
func NewHandler(maxInFlight int, timeoutOffset, defaultTimeout time.Duration, errorLog promhttp.Logger) *Handler {
	h := &Handler{TimeoutOffset: timeoutOffset, DefaultTimeout: defaultTimeout, ErrorLog: errorLog}
	if maxInFlight > 0 {
		h.inFlight = make(chan struct{}, maxInFlight)
	}
	return h
}

// Serve answers one scrape with what scrape collects (nil: nothing) and
// the static gatherers (the exporter's own metrics, say).
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, scrape Func, static ...prometheus.Gatherer) {
	if h.inFlight != nil {
		select {
		case h.inFlight <- struct{}{}:
			defer func() { <-h.inFlight }()
		default:
			http.Error(w, "too many concurrent scrapes; see --web.max-requests", http.StatusServiceUnavailable)
			return
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), Timeout(r, h.TimeoutOffset, h.DefaultTimeout))
	defer cancel()
	// The scrape is gathered first so that the exporter's own counters
	// include the API calls this scrape made.
	var gatherers prometheus.Gatherers
	if scrape != nil {
		reg := prometheus.NewRegistry()
		if err := reg.Register(scrape(ctx)); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		gatherers = append(gatherers, reg)
	}
	gatherers = append(gatherers, static...)
	promhttp.HandlerFor(gatherers, promhttp.HandlerOpts{
		ErrorLog:      h.ErrorLog,
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r.WithContext(ctx))
}

// MaxTimeout bounds the deadline a scrape header can ask for: a header is
// client input, and no scrape should hold a slot for longer.
const MaxTimeout = 10 * time.Minute

// Timeout is Prometheus' scrape timeout (the
// X-Prometheus-Scrape-Timeout-Seconds header) minus the offset, or the
// fallback when Prometheus did not say or said something that is not a
// positive, finite number of seconds. It never exceeds MaxTimeout.
func Timeout(r *http.Request, offset, fallback time.Duration) time.Duration {
	v := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds")
	if v == "" {
		return min(fallback, MaxTimeout)
	}
	secs, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(secs) || math.IsInf(secs, 0) || secs <= 0 {
		return min(fallback, MaxTimeout)
	}
	if secs >= MaxTimeout.Seconds() {
		return MaxTimeout
	}
	t := time.Duration(secs * float64(time.Second))
	if t-offset > 0 {
		return t - offset
	}
	return t
}
