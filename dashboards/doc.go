// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package dashboards holds the Grafana dashboards for posit_connect_exporter
// (posit-connect-license.json, posit-connect-usage.json) as plain JSON files,
// embeds them, and gives the Go tests and the dashtool verification program a
// typed view of their panels, queries and variables.
//
// The dashboards follow a few conventions (a datasource variable, job and
// instance variables on every selector, $__rate_interval, units and
// descriptions everywhere, max across exporter replicas). The tests in this
// package enforce them; dashtool checks the queries against a live
// Prometheus and renders previews. Neither needs a Grafana server.
package dashboards
