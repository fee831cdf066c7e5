#!/usr/bin/env bash
# Alert rules (promtool check and test), the generated PrometheusRule, the
# dashboard convention tests and the @grafana/schema type check.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec bash scripts/dashboards/static.sh
