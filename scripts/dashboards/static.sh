#!/usr/bin/env bash
# Static checks of the dashboards, rules and Kubernetes examples. Needs
# promtool (Debian package prometheus), Go, node and npm; no network beyond
# `npm ci` (the npm registry) and nothing listening.
#   scripts/dashboards/static.sh
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

step() { printf '== %s\n' "$*"; }

step "promtool check rules examples/alerts.yml"
promtool check rules examples/alerts.yml

step "promtool test rules examples/alerts_test.yml"
promtool test rules examples/alerts_test.yml

step "examples/kubernetes/prometheusrule.yaml is generated from alerts.yml"
scripts/dashboards/prometheusrule.sh --check
# and its spec is a valid rules file
sed -n '/^spec:/,$p' examples/kubernetes/prometheusrule.yaml | tail -n +2 | sed 's/^  //' >"$tmp/spec.yml"
promtool check rules "$tmp/spec.yml"

step "dashboards: Go convention tests and dashtool unit tests"
go test -count=1 ./dashboards/...

step "dashboards: @grafana/schema types, tsc --strict"
(
	cd dashboards/schema
	npm ci --no-audit --no-fund --loglevel=error
	node gen.mjs
	npx --no-install tsc -p tsconfig.json
)
echo "static dashboard checks: OK"
