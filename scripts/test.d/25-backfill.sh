#!/usr/bin/env bash
# The backfill end to end, as the README's History section runs it: the
# exporter's backfill command over a simulated Connect with 30 days of
# history, promtool's blocks moved into the data directory of a running
# Prometheus (the Debian package, 2.42), which loads them at its next
# reload (a minute); then the exporter started with the state file while Connect
# records more (some of it dated before the backfill's end, as late writes),
# scraped by that Prometheus. The history at its last sample and over its
# last 7 days (x - x offset 7d), and the live counters after the join, must
# equal the simulator's truth per series, with no counter reset anywhere.
# Everything listens on loopback; the test stops what it starts
# (backfill/e2e_test.go).
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/posit_connect_exporter" .
BACKFILL_E2E_EXPORTER="$tmp/posit_connect_exporter" \
	go test -count=1 -timeout 5m -run '^TestEndToEndWithPrometheus$' -v ./backfill/ 2>&1 |
	grep -v '^=== RUN'
