// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package collector

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// SelfMetrics are the exporter's own counters about its calls to Connect
// and its cache. They live across scrapes, so they are ordinary vectors.
type SelfMetrics struct {
	apiRequests   *prometheus.CounterVec
	apiDuration   *prometheus.HistogramVec
	cacheRequests *prometheus.CounterVec
	cacheHits     *prometheus.CounterVec
}

// NewSelfMetrics registers the exporter's own metrics with reg.
func NewSelfMetrics(reg prometheus.Registerer) *SelfMetrics {
	m := &SelfMetrics{
		apiRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: namespace + "_exporter_api_requests_total",
			Help: "Requests the exporter sent to the Connect API, by route and HTTP status (\"error\" when no answer arrived).",
		}, []string{"endpoint", "code"}),
		apiDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    namespace + "_exporter_api_request_duration_seconds",
			Help:    "How long Connect API requests took, by route.",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"endpoint"}),
		cacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: namespace + "_exporter_cache_requests_total",
			Help: "Lookups of cached Connect resources.",
		}, []string{"resource"}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: namespace + "_exporter_cache_hits_total",
			Help: "Lookups of cached Connect resources answered from the cache.",
		}, []string{"resource"}),
	}
	reg.MustRegister(m.apiRequests, m.apiDuration, m.cacheRequests, m.cacheHits)
	for _, r := range Resources() {
		m.cacheRequests.WithLabelValues(r.Name)
		m.cacheHits.WithLabelValues(r.Name)
	}
	return m
}

// ObserveRequest counts one API request; it fits connectapi.RequestObserver.
func (m *SelfMetrics) ObserveRequest(endpoint string, status int, elapsed time.Duration) {
	code := "error"
	if status > 0 {
		code = strconv.Itoa(status)
	}
	m.apiRequests.WithLabelValues(endpoint, code).Inc()
	m.apiDuration.WithLabelValues(endpoint).Observe(elapsed.Seconds())
}

// ObserveCache counts one cache lookup; it fits connectapi.CacheObserver.
func (m *SelfMetrics) ObserveCache(resource string, hit bool) {
	m.cacheRequests.WithLabelValues(resource).Inc()
	if hit {
		m.cacheHits.WithLabelValues(resource).Inc()
	}
}
