#!/usr/bin/env bash
# The exporter (--demo scenarios), a real Prometheus and headless Chromium on
# loopback: every panel and variable query returns data, every rule is
# healthy, each scenario raises exactly its alerts, and both dashboards
# render with no empty panel.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
bash scripts/dashboards/live.sh --render "$out"
