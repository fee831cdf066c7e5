// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"maps"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "posit_connect"

const since = " since the exporter started, or since the state file began"

var (
	shinySessionsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "shiny", "sessions_total"),
		"Shiny sessions started, each counted once when first seen,"+since+
			". Sessions already open at that moment are not counted.",
		[]string{"content_guid"}, nil)
	shinyEndedDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "shiny", "sessions_ended_total"),
		"Shiny sessions counted in posit_connect_shiny_sessions_total that have ended, each counted once when first seen ended,"+since+".",
		[]string{"content_guid"}, nil)
	shinyDurationDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "shiny", "session_duration_seconds_total"),
		"Summed length (end minus start) of the sessions in posit_connect_shiny_sessions_ended_total,"+since+".",
		[]string{"content_guid"}, nil)
	visitsDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "content", "visits_total"),
		"Visits to content other than Shiny applications, each counted once,"+since+
			". Visits from ignored user agents (Connect's health monitor by default) and excluded users are not counted.",
		[]string{"content_guid"}, nil)
	auditDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "audit", "events_total"),
		"Audit log entries by action, each counted once,"+since+".",
		[]string{"action"}, nil)
	lastEventDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "usage", "last_event_timestamp_seconds"),
		"Time of the newest event read from each usage stream (shiny, visits, audit) and applied, counted or not; absent until the stream has seen one.",
		[]string{"stream"}, nil)
)

func emitLastEvent(ch chan<- prometheus.Metric, stream string, t time.Time) {
	if t.IsZero() {
		return
	}
	ch <- prometheus.MustNewConstMetric(lastEventDesc, prometheus.GaugeValue, float64(t.UnixNano())/1e9, stream)
}

// resized copies m into a map sized for its contents. Go maps never shrink
// and churn (insert, delete, insert…) grows them to several times their live
// size; rebuilding after many deletions keeps memory tied to what is live.
func resized[K comparable, V any](m map[K]V) map[K]V {
	out := make(map[K]V, len(m))
	maps.Copy(out, m)
	return out
}
