#!/usr/bin/env bash
# Generates examples/kubernetes/prometheusrule.yaml from examples/alerts.yml,
# so that the two never drift apart.
#   scripts/dashboards/prometheusrule.sh          rewrite the file
#   scripts/dashboards/prometheusrule.sh --check  exit 1 if it is out of date
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
src=$root/examples/alerts.yml
dst=$root/examples/kubernetes/prometheusrule.yaml

generate() {
	cat <<'HEAD'
# GENERATED from examples/alerts.yml by scripts/dashboards/prometheusrule.sh:
# edit alerts.yml and run the script. The rules are the same; the comments in
# alerts.yml explain them. Set `release:` (or whatever your Prometheus'
# ruleSelector wants).
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: posit-connect-exporter
  namespace: monitoring
  labels:
    app.kubernetes.io/name: posit-connect-exporter
spec:
HEAD
	# From the first `groups:` line on, indented under spec. Empty lines stay
	# empty (no trailing blanks); block scalars keep their relative indent.
	sed -n '/^groups:/,$p' "$src" | sed -e 's/^\(.\)/  \1/'
}

case "${1:-}" in
--check)
	if ! diff -u "$dst" <(generate); then
		echo "$dst is out of date: run scripts/dashboards/prometheusrule.sh" >&2
		exit 1
	fi
	;;
"")
	generate >"$dst"
	;;
*)
	echo "usage: $0 [--check]" >&2
	exit 2
	;;
esac
