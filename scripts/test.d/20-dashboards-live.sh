#!/usr/bin/env bash
# The exporter (--demo scenarios, Workbench audit logs, --config.file over
# simulated servers), a real Prometheus and headless Chromium on loopback:
# every panel and variable query returns data, every rule is healthy, each
# scenario raises exactly its alerts, and every dashboard renders with no
# empty panel (panels of metrics in dashboards.Pending are reported, not
# failed).
set -euo pipefail
cd "$(dirname "$0")/../.."
# The average-session-length panel needs a session that started after the
# exporter's first read to have ended: that takes the demo anything from
# seconds to a couple of minutes, so allow 300 s, and read the usage streams
# every 10 s rather than 30 s so the counters appear sooner.
export QUERY_TIMEOUT=300s
export DEMO_FLAGS="--collector.usage.interval=10s"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash scripts/dashboards/live.sh --render "$out"
