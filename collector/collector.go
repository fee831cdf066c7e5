// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package collector turns Posit Connect API data into Prometheus metrics.
//
// Each area (server, users, groups, content, and the usage streams) is an
// Updater. An Exporter runs the enabled Updaters concurrently for every
// scrape, reports posit_connect_up and per-collector success and duration,
// and drops every series of a collector that failed, so a scrape never
// shows partial or stale data for it.
package collector

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
)

const namespace = "posit_connect"

// Updater produces one area's metrics for one scrape, and describes every
// metric it can produce.
type Updater interface {
	Describe(ch chan<- *prometheus.Desc)
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Definition describes a collector that can be switched on or off.
type Definition struct {
	Name           string
	DefaultEnabled bool
	Help           string
}

// Definitions lists every collector, for flags and documentation.
var Definitions = []Definition{
	{"server", true, "server version, licence seats and expiry"},
	{"users", true, "accounts by role and lock state, active users per window, named users"},
	{"groups", true, "number of groups"},
	{"content", true, "content items by type and access, and content_info"},
	{"shiny", true, "Shiny sessions and their length per app (incremental)"},
	{"visits", true, "visits to non-Shiny content (incremental)"},
	{"audit", true, "audit log events by action (incremental)"},
}

var (
	upDesc = prometheus.NewDesc(namespace+"_up",
		"1 if the Connect API answered this scrape with valid credentials, else 0.", nil, nil)
	successDesc = prometheus.NewDesc(namespace+"_scrape_collector_success",
		"1 if the collector succeeded in this scrape, else 0 (its series are then left out).", []string{"collector"}, nil)
	durationDesc = prometheus.NewDesc(namespace+"_scrape_collector_duration_seconds",
		"How long the collector took in this scrape.", []string{"collector"}, nil)
)

// NewSourceUpdater builds the named collector that reads only through
// src. It reports false for names it does not build (the usage streams,
// which keep state of their own and are built by their package).
func NewSourceUpdater(name string, src *Source) (Updater, bool) {
	switch name {
	case "server":
		return NewServerCollector(src), true
	case "users":
		return NewUsersCollector(src), true
	case "groups":
		return NewGroupsCollector(src), true
	case "content":
		return NewContentCollector(src), true
	}
	return nil, false
}

// SourceUpdaters builds every collector NewSourceUpdater knows, in table
// order.
func SourceUpdaters(src *Source) []NamedUpdater {
	var out []NamedUpdater
	for _, d := range Definitions {
		if u, ok := NewSourceUpdater(d.Name, src); ok {
			out = append(out, NamedUpdater{d.Name, u})
		}
	}
	return out
}

// NamedUpdater is an enabled collector.
type NamedUpdater struct {
	Name    string
	Updater Updater
}

// Exporter runs collectors for one Connect server.
type Exporter struct {
	source   *Source
	updaters []NamedUpdater
	logger   *slog.Logger
	alarms   *alarm
}

// NewExporter returns an exporter over the given collectors. source is
// used to check that Connect answers (posit_connect_up).
func NewExporter(source *Source, updaters []NamedUpdater, logger *slog.Logger) *Exporter {
	return &Exporter{source: source, updaters: updaters, logger: logger, alarms: newAlarm()}
}

// Scrape returns a prometheus.Collector bound to one scrape's context,
// whose deadline bounds every collector.
func (e *Exporter) Scrape(ctx context.Context) prometheus.Collector {
	return &scrape{e: e, ctx: ctx}
}

type scrape struct {
	e   *Exporter
	ctx context.Context
}

// Describe sends every descriptor the enabled collectors can produce.
func (s *scrape) Describe(ch chan<- *prometheus.Desc) {
	ch <- upDesc
	ch <- successDesc
	ch <- durationDesc
	for _, u := range s.e.updaters {
		u.Updater.Describe(ch)
	}
}

type outcome struct {
	name     string
	metrics  []prometheus.Metric
	err      error
	duration time.Duration
}

func (s *scrape) Collect(ch chan<- prometheus.Metric) {
	e := s.e
	_, settingsErr := e.source.Settings(s.ctx)

	outcomes := make([]outcome, len(e.updaters))
	var wg sync.WaitGroup
	for i, u := range e.updaters {
		wg.Go(func() {
			start := time.Now()
			buf := make(chan prometheus.Metric, 256)
			var metrics []prometheus.Metric
			done := make(chan struct{})
			go func() {
				for m := range buf {
					metrics = append(metrics, m)
				}
				close(done)
			}()
			err := safeUpdate(s.ctx, u.Updater, buf)
			close(buf)
			<-done
			outcomes[i] = outcome{name: u.Name, metrics: metrics, err: err, duration: time.Since(start)}
		})
	}
	wg.Wait()

	up := settingsErr == nil
	var failures []namedErr
	if settingsErr != nil {
		failures = append(failures, namedErr{"server_settings", settingsErr})
	}
	for _, o := range outcomes {
		success := 0.0
		if o.err == nil {
			success = 1
			for _, m := range o.metrics {
				ch <- m
			}
		} else {
			failures = append(failures, namedErr{o.name, o.err})
			if answeredBadly(o.err) {
				up = false
			}
		}
		ch <- prometheus.MustNewConstMetric(successDesc, prometheus.GaugeValue, success, o.name)
		ch <- prometheus.MustNewConstMetric(durationDesc, prometheus.GaugeValue, o.duration.Seconds(), o.name)
	}
	ch <- prometheus.MustNewConstMetric(upDesc, prometheus.GaugeValue, boolFloat(up))
	e.alarms.scrape(e.logger, failures)
}

// answeredBadly reports errors that mean Connect did not answer this
// scrape with valid credentials, as opposed to one endpoint failing.
func answeredBadly(err error) bool {
	return connectapi.IsUnreachable(err) || connectapi.IsAuthError(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// safeUpdate turns a panic in a collector into an error: one bad response
// must not take the exporter down.
func safeUpdate(ctx context.Context, u Updater, ch chan<- prometheus.Metric) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return u.Update(ctx, ch)
}

type panicError struct{ value any }

func (p *panicError) Error() string { return "collector panicked: " + slogValue(p.value) }

func slogValue(v any) string { return slog.AnyValue(v).String() }

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
