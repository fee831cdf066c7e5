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

# promtool evaluates the rule groups in a random order at each step unless a
# test file fixes it (group_eval_order). The tests fix it, and the groups do
# not depend on each other's order (dashboards/rules_test.go checks both, and
# runs the tests in the reverse order); 20 runs make sure a dependency on the
# order cannot come back unnoticed.
rule_tests=(examples/alerts_test.yml examples/alerts_forecast_test.yml)
step "promtool test rules ${rule_tests[*]}, 20 times"
for i in $(seq 20); do
	if ! promtool test rules "${rule_tests[@]}" >"$tmp/rules-test.log" 2>&1; then
		cat "$tmp/rules-test.log" >&2
		echo "promtool test rules failed on run $i of 20" >&2
		exit 1
	fi
done
tail -n +1 "$tmp/rules-test.log"

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
