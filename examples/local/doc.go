// Copyright 2026 The posit_connect_exporter Authors
// SPDX-License-Identifier: Apache-2.0

// Package local holds no code: its test checks the local Prometheus and
// Grafana set-up in this folder (README, "Local Prometheus and Grafana")
// against the repository: rule files, scrape target, data source, one
// dashboard provider per dashboard, and the minimum Grafana version.
// scripts/test.d/60-local.sh runs Prometheus with it for real.
package local
