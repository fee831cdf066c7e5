// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package collector turns Posit Connect API data into Prometheus metrics.
//
// Every collector is one row of the Collectors table: its name (the
// --collector.<name> switch), whether it is on by default, its help, the
// cached resources it reads and its constructor. An Exporter runs the
// enabled collectors concurrently for every scrape, reports
// posit_connect_up and per-collector success and duration, and drops every
// series of a collector that failed, so a scrape never shows partial or
// stale data for it.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/posit-connect-exporter/posit_connect_exporter/connectapi"
	"github.com/posit-connect-exporter/posit_connect_exporter/usage"
)

const namespace = "posit_connect"

// Collector produces one area's metrics for one scrape, and describes
// every metric it can produce.
type Collector interface {
	Describe(ch chan<- *prometheus.Desc)
	Update(ctx context.Context, ch chan<- prometheus.Metric) error
}

// Env is what the collectors of one Connect server are built from.
type Env struct {
	Source *Source
	// Usage opens the server's usage streams (and its state file) on first
	// use; the usage collectors share them.
	Usage func() (*usage.Streams, error)
}

// Definition is one row of the collector table.
type Definition struct {
	Name    string
	Default bool
	Help    string
	// Reads lists the cached resources the collector reads.
	Reads []Resource
	New   func(env *Env) (Collector, error)
}

// Collectors lists every collector. Flags, the README's collector table
// and the per-server switches of the configuration file come from it.
var Collectors = []Definition{
	{"server", true, "server version, licence seats and expiry", []Resource{ResourceServerSettings},
		func(env *Env) (Collector, error) { return &serverCollector{env.Source}, nil }},
	{"users", true, "accounts by role and lock state, active users per window, named users",
		[]Resource{ResourceServerSettings, ResourceUsers, ResourceActiveUsers},
		func(env *Env) (Collector, error) { return &usersCollector{env.Source}, nil }},
	{"groups", true, "number of groups", []Resource{ResourceServerSettings, ResourceGroups},
		func(env *Env) (Collector, error) { return &groupsCollector{env.Source}, nil }},
	{"content", true, "content items by type and access, and content_info", []Resource{ResourceContent},
		func(env *Env) (Collector, error) { return &contentCollector{env.Source}, nil }},
	{"shiny", true, "Shiny sessions and their length per app (incremental)", nil,
		usageStream(func(s *usage.Streams) Collector { return s.Shiny })},
	{"visits", true, "visits to non-Shiny content (incremental)", nil,
		usageStream(func(s *usage.Streams) Collector { return s.Visits })},
	{"audit", true, "audit log events by action (incremental)", nil,
		usageStream(func(s *usage.Streams) Collector { return s.Audit })},
}

// Names lists the collectors' names in table order.
func Names() []string {
	names := make([]string, len(Collectors))
	for i, d := range Collectors {
		names[i] = d.Name
	}
	return names
}

func usageStream(pick func(*usage.Streams) Collector) func(*Env) (Collector, error) {
	return func(env *Env) (Collector, error) {
		if env.Usage == nil {
			return nil, errors.New("no usage streams for this server")
		}
		s, err := env.Usage()
		if err != nil {
			return nil, err
		}
		return pick(s), nil
	}
}

// Enabled is a collector switched on for one server.
type Enabled struct {
	Name      string
	Collector Collector
}

// Build makes the collectors that on switches on, in table order.
func Build(env *Env, on func(name string) bool) ([]Enabled, error) {
	var out []Enabled
	for _, d := range Collectors {
		if !on(d.Name) {
			continue
		}
		c, err := d.New(env)
		if err != nil {
			return nil, fmt.Errorf("collector %s: %w", d.Name, err)
		}
		out = append(out, Enabled{d.Name, c})
	}
	return out, nil
}

var (
	upDesc = prometheus.NewDesc(namespace+"_up",
		"1 if the last request to Connect that completed was answered with valid credentials, else 0 (no answer, a rejected key, or no answer yet).", nil, nil)
	cacheAgeDesc = prometheus.NewDesc(namespace+"_cache_age_seconds",
		"How old the cached Connect data this scrape served is, by resource; a value stays served past its TTL, up to --connect.cache-max-age, while a refresh runs or fails.",
		[]string{"resource"}, nil)
	successDesc = prometheus.NewDesc(namespace+"_scrape_collector_success",
		"1 if the collector succeeded in this scrape, else 0 (its series are then left out).", []string{"collector"}, nil)
	durationDesc = prometheus.NewDesc(namespace+"_scrape_collector_duration_seconds",
		"How long the collector took in this scrape.", []string{"collector"}, nil)
)

// answeredBadly reports errors that mean Connect did not answer this
// scrape with valid credentials, as opposed to one endpoint failing.
func answeredBadly(err error) bool {
	if connectapi.IsWalkTimeout(err) {
		return false // Connect answered every page asked; there were many
	}
	return connectapi.IsUnreachable(err) || connectapi.IsAuthError(err) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

// safeUpdate turns a panic in a collector into an error: one bad response
// must not take the exporter down.
func safeUpdate(ctx context.Context, c Collector, ch chan<- prometheus.Metric) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{value: r}
		}
	}()
	return c.Update(ctx, ch)
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
