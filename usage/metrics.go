// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

package usage

import (
	"maps"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "posit_connect"

const since = " since the exporter started, or since the state file began"

// CounterFamily describes one of the usage counters the way the exporter
// exposes it: the metric name (with its _total suffix), its help text, and
// its one label.
type CounterFamily struct {
	Name, Help, Label string
}

// The usage counters, as indexes into CounterFamilies and as the family
// argument of Replay.Counters.
const (
	ShinySessions = iota
	ShinySessionsEnded
	ShinySessionDuration
	ContentVisits
	AuditEvents
	numCounterFamilies
)

var counterFamilies = [numCounterFamilies]CounterFamily{
	ShinySessions: {
		prometheus.BuildFQName(namespace, "shiny", "sessions_total"),
		"Shiny sessions started, each counted once when first seen," + since +
			". Sessions already open at that moment are not counted.",
		"content_guid"},
	ShinySessionsEnded: {
		prometheus.BuildFQName(namespace, "shiny", "sessions_ended_total"),
		"Shiny sessions counted in posit_connect_shiny_sessions_total that have ended, each counted once when first seen ended," + since + ".",
		"content_guid"},
	ShinySessionDuration: {
		prometheus.BuildFQName(namespace, "shiny", "session_duration_seconds_total"),
		"Summed length (end minus start) of the sessions in posit_connect_shiny_sessions_ended_total," + since + ".",
		"content_guid"},
	ContentVisits: {
		prometheus.BuildFQName(namespace, "content", "visits_total"),
		"Visits to content other than Shiny applications, each counted once," + since +
			". Visits from ignored user agents (Connect's health monitor by default) and excluded users are not counted.",
		"content_guid"},
	AuditEvents: {
		prometheus.BuildFQName(namespace, "audit", "events_total"),
		"Audit log entries by action, each counted once," + since + ".",
		"action"},
}

// CounterFamilies returns the usage counters in the order of their
// indexes (ShinySessions, …, AuditEvents).
func CounterFamilies() []CounterFamily { return slices.Clone(counterFamilies[:]) }

func counterDesc(family int) *prometheus.Desc {
	f := counterFamilies[family]
	return prometheus.NewDesc(f.Name, f.Help, []string{f.Label}, nil)
}

var (
	shinySessionsDesc = counterDesc(ShinySessions)
	shinyEndedDesc    = counterDesc(ShinySessionsEnded)
	shinyDurationDesc = counterDesc(ShinySessionDuration)
	visitsDesc        = counterDesc(ContentVisits)
	auditDesc         = counterDesc(AuditEvents)
	rebaselinesDesc   = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "usage", "rebaselines_total"),
		"Times a usage stream (shiny, visits, audit) dropped its position and began counting afresh: the audit log's ids went backwards (a restored Connect database), or the state file belonged to another Connect database,"+since+".",
		[]string{"stream"}, nil)
	lastEventDesc = prometheus.NewDesc(
		prometheus.BuildFQName(namespace, "usage", "last_event_timestamp_seconds"),
		"Time of the newest event read from each usage stream (shiny, visits, audit) and applied, counted or not; absent until the stream has seen one.",
		[]string{"stream"}, nil)
)

func emitRebaselines(ch chan<- prometheus.Metric, stream string, n uint64) {
	ch <- prometheus.MustNewConstMetric(rebaselinesDesc, prometheus.CounterValue, float64(n), stream)
}

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
