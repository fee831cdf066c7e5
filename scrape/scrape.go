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
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/expfmt"

	"github.com/posit-connect-exporter/posit_connect_exporter/exposition"
)

// Func returns the collector of one scrape, bound to ctx.
type Func func(ctx context.Context) prometheus.Collector

// ExpositionWriter is a scrape's collector that writes its metrics in the
// Prometheus text format itself, reusing encodings kept from earlier
// scrapes instead of gathering and encoding every series again.
type ExpositionWriter interface {
	WriteExposition(w *exposition.Writer) error
}

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
	var c prometheus.Collector
	if scrape != nil {
		c = scrape(ctx)
	}
	if ew, ok := c.(ExpositionWriter); ok && expfmt.NegotiateAccept(r.Header, expfmt.DefaultAcceptedFormats()...).FormatType() == expfmt.TypeTextPlain {
		h.serveText(w, r, ew, static)
		return
	}
	// The scrape is gathered first so that the exporter's own counters
	// include the API calls this scrape made.
	var gatherers prometheus.Gatherers
	if c != nil {
		reg := prometheus.NewRegistry()
		if err := reg.Register(c); err != nil {
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

// serveText answers in the text format without a registry: the scrape
// writes itself, then the static gatherers (the exporter's own metrics,
// whose names never meet the scrape's) are gathered and appended.
func (h *Handler) serveText(w http.ResponseWriter, r *http.Request, ew ExpositionWriter, static []prometheus.Gatherer) {
	header := w.Header()
	header.Set("Content-Type", string(exposition.Format))
	zip := gzipAccepted(r)
	if zip {
		header.Set("Content-Encoding", "gzip")
	}
	out := exposition.NewWriter(w, zip)
	defer func() {
		if err := out.Close(); err != nil {
			h.logError("Writing the scrape failed", err)
		}
	}()
	if err := ew.WriteExposition(out); err != nil {
		h.logError("Writing the scrape failed", err)
		return
	}
	enc := expfmt.NewEncoder(out, exposition.Format)
	for _, g := range static {
		families, err := g.Gather()
		if err != nil {
			h.logError("Gathering the exporter's own metrics failed", err)
		}
		for _, mf := range families {
			if err := enc.Encode(mf); err != nil {
				h.logError("Writing the exporter's own metrics failed", err)
				return
			}
		}
	}
}

func (h *Handler) logError(msg string, err error) {
	if h.ErrorLog != nil {
		h.ErrorLog.Println(msg+":", err)
	}
}

func gzipAccepted(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		if enc, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(enc, "gzip") {
			return true
		}
	}
	return false
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
