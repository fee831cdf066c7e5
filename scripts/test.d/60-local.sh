#!/usr/bin/env bash
# examples/local, the Prometheus half for real: the exporter (--demo) on
# 127.0.0.1:10233, where examples/local/prometheus.yml looks for it, and
# Prometheus (Debian's 2.42) started with that file as it stands. Checks
# that the target is scraped and up, that Prometheus loaded every rule of
# examples/alerts.yml and evaluated each without error. The Grafana half is
# checked statically by examples/local/local_test.go (go test ./...).
# Then examples/servers.yml: `--config.file=examples/servers.yml
# --config.check` with the key files and variables it names.
# Needs go, prometheus, promtool, curl, jq, and root for the key files
# under /etc/posit_connect_exporter (created and removed if absent).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
t0=$SECONDS
step() { printf '== [%3ds] %s\n' "$((SECONDS - t0))" "$*"; }
for tool in go prometheus promtool curl jq; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

step "promtool check config examples/local/prometheus.yml"
promtool check config examples/local/prometheus.yml
want_rules=$(promtool check rules examples/alerts.yml | sed -n 's/^ *SUCCESS: \([0-9]*\) rules found$/\1/p')
[[ $want_rules -gt 0 ]] || fail "promtool check rules found no rules in examples/alerts.yml"

step "start the exporter (--demo) on 127.0.0.1:10233"
if curl -s --max-time 2 -o /dev/null http://127.0.0.1:10233/; then
	fail "something already listens on 127.0.0.1:10233, where examples/local/prometheus.yml scrapes"
fi
go build -o "$tmp/pce" .
"$tmp/pce" --demo --web.listen-address=127.0.0.1:10233 >"$tmp/exporter.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 150; i++)); do
	curl -sf --max-time 2 -o /dev/null http://127.0.0.1:10233/metrics && break
	sleep 0.2
done
curl -sf --max-time 5 -o /dev/null http://127.0.0.1:10233/metrics || { cat "$tmp/exporter.log"; fail "the exporter did not start"; }

step "start Prometheus with examples/local/prometheus.yml"
# A free loopback port for Prometheus' own web address (9090 may be taken).
go build -o "$tmp/dashtool" ./dashboards/dashtool
pport=$("$tmp/dashtool" freeport)
prom=http://127.0.0.1:$pport
prometheus --config.file=examples/local/prometheus.yml --storage.tsdb.path="$tmp/data" \
	--web.listen-address="127.0.0.1:$pport" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pids+=($!)
for ((i = 0; i < 150; i++)); do
	curl -sf --max-time 2 -o /dev/null "$prom/-/ready" && break
	sleep 0.2
done
curl -sf --max-time 5 -o /dev/null "$prom/-/ready" || { cat "$tmp/prometheus.log"; fail "Prometheus did not become ready"; }
prometheus --version 2>&1 | head -1

step "wait (at most 90 s: 30 s intervals) for a scrape and a rule evaluation"
ok=""
for ((i = 0; i < 90; i++)); do
	targets=$(curl -sf "$prom/api/v1/targets")
	rules=$(curl -sf "$prom/api/v1/rules")
	if jq -e '[.data.activeTargets[] | select(.labels.job == "posit_connect" and .health == "up")] | length == 1' <<<"$targets" >/dev/null &&
		jq -e '[.data.groups[].rules[]] | length > 0 and all(.lastEvaluation != "0001-01-01T00:00:00Z")' <<<"$rules" >/dev/null; then
		ok=1
		break
	fi
	sleep 1
done
[[ -n $ok ]] || {
	jq '.data.activeTargets' <<<"$targets"
	cat "$tmp/prometheus.log"
	fail "no successful scrape of localhost:10233 with every rule evaluated"
}
jq -r '.data.activeTargets[] | "target \(.scrapeUrl) \(.health) (job \(.labels.job))"' <<<"$targets"
got_rules=$(jq '[.data.groups[].rules[]] | length' <<<"$rules")
[[ $got_rules == "$want_rules" ]] || fail "Prometheus loaded $got_rules rules, examples/alerts.yml has $want_rules"
bad=$(jq -r '.data.groups[].rules[] | select(.health != "ok") | "\(.name): \(.health) \(.lastError // "")"' <<<"$rules")
[[ -z $bad ]] || fail "rules not healthy:
$bad"
echo "ok $got_rules rules loaded from examples/alerts.yml, all evaluated without error"
up=$(curl -sf "$prom/api/v1/query" --data-urlencode 'query=posit_connect_up{job="posit_connect"}' | jq -r '.data.result[0].value[1] // "none"')
[[ $up == 1 ]] || fail "posit_connect_up is $up in Prometheus, want 1"
echo "ok posit_connect_up 1 in Prometheus"

step "examples/servers.yml: --config.check with the key files and variable it names"
[[ $(id -u) == 0 ]] || fail "needs root to create the key files examples/servers.yml names under /etc/posit_connect_exporter"
created=()
dir=/etc/posit_connect_exporter
if [[ ! -d $dir ]]; then
	mkdir -m 0750 "$dir"
	created+=("$dir")
fi
for key in $(sed -n 's/^ *api_key_file: *//p' examples/servers.yml); do
	[[ $(dirname "$key") == "$dir" ]] || fail "examples/servers.yml names $key, outside $dir"
	if [[ ! -e $key ]]; then
		echo "placeholder-key" >"$key"
		created=("$key" "${created[@]}")
	fi
done
trap 'for f in "${created[@]}"; do rm -rf -- "$f"; done; cleanup' EXIT
env_var=$(sed -n 's/^ *api_key_env: *//p' examples/servers.yml)
[[ -n $env_var ]] || fail "examples/servers.yml names no api_key_env (the check covers both kinds)"
export "$env_var=placeholder-key"
go run . --config.file=examples/servers.yml --config.check 2>&1 | tee "$tmp/check.log"
grep -q 'Configuration is valid' "$tmp/check.log" || fail "--config.check did not say the configuration is valid"
# And it does check: without the variable the same command fails naming it.
if env -u "$env_var" go run . --config.file=examples/servers.yml --config.check >"$tmp/check-bad.log" 2>&1; then
	fail "--config.check passed without $env_var"
fi
grep -q "$env_var" "$tmp/check-bad.log" || { cat "$tmp/check-bad.log"; fail "--config.check failed without naming $env_var"; }
echo "ok examples/servers.yml is valid; without $env_var the check fails naming it"
