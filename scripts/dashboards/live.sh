#!/usr/bin/env bash
# Live check of the dashboards and alert rules against the real exporter in
# --demo mode and a real Prometheus (Debian package prometheus, 2.42), all on
# loopback. Needs go, prometheus, promtool, curl, jq; chromium for --render.
#
#   scripts/dashboards/live.sh                  check only
#   scripts/dashboards/live.sh --render DIR     also write DIR/posit-connect-{license,usage}.png
#
# Environment: EXPORTER, a prebuilt exporter binary to use instead of
# building the repository's; DEMO_FLAGS, extra exporter flags for every scenario (e.g. to
# make the simulated server busier); QUERY_TIMEOUT (default 120s), how long
# the live-only queries may take to return data.
#
# Exporters, one per scenario (job label = posit_connect_<name>):
#   live       healthy, no history: every panel and variable query must
#              return data from live scrapes alone; no alert; then it is
#              stopped and PositConnectExporterDown must become active.
#   healthy    healthy, 14 days of backfilled gauges and 3 days of usage
#              counters (the usage render); no alert.
#   breach     93 % of the seats, license ends in 20 days, named users grew
#              30 % over the backfilled 14 days: seats, expiry and forecast
#              alerts (the license render).
#   expiring   license ends in 5 days: both expiry alerts.
#   down       Connect unreachable: PositConnectAPIDown only.
#   unauthorized  Connect rejects the key: PositConnectAPIDown only.
# Alerts are checked as pending or firing: alerts.yml keeps its production
# `for:` durations, and an alert is pending from its first true evaluation.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
render_dir=""
if [[ "${1:-}" == "--render" ]]; then
	render_dir=$(mkdir -p "${2:?--render needs a directory}" && cd "$2" && pwd)
fi

tmp=$(mktemp -d)
declare -A pid port
cleanup() {
	for name in "${!pid[@]}"; do
		kill "${pid[$name]}" 2>/dev/null || true
	done
	for name in "${!pid[@]}"; do
		wait "${pid[$name]}" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
t0=$SECONDS
step() { printf '== [%3ds] %s\n' "$((SECONDS - t0))" "$*"; }

# wait_for DESCRIPTION TRIES COMMAND...: run COMMAND every 0.2 s until it succeeds.
wait_for() {
	local what=$1 tries=$2
	shift 2
	for ((i = 0; i < tries; i++)); do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	echo "timed out waiting for $what" >&2
	return 1
}

step "build exporter and dashtool"
if [[ -n "${EXPORTER:-}" ]]; then
	cp "$EXPORTER" "$tmp/pce"
else
	go build -o "$tmp/pce" .
fi
go build -o "$tmp/dashtool" ./dashboards/dashtool

start_exporter() { # name scenario
	local name=$1 scenario=$2
	port[$name]=$("$tmp/dashtool" freeport)
	# shellcheck disable=SC2086 # DEMO_FLAGS is a list of flags
	"$tmp/pce" --demo --demo.scenario="$scenario" --web.listen-address="127.0.0.1:${port[$name]}" ${DEMO_FLAGS:-} \
		>"$tmp/exporter-$name.log" 2>&1 &
	pid[$name]=$!
}
step "start exporters"
start_exporter live healthy
start_exporter healthy healthy
start_exporter breach license-breach
start_exporter expiring license-expiring
start_exporter down down
start_exporter unauthorized unauthorized
for name in "${!port[@]}"; do
	if ! wait_for "exporter $name" 150 curl -sf "http://127.0.0.1:${port[$name]}/metrics"; then
		cat "$tmp/exporter-$name.log" >&2
		exit 1
	fi
done

step "promtool check metrics on every exporter"
for name in "${!port[@]}"; do
	curl -sf "http://127.0.0.1:${port[$name]}/metrics" >"$tmp/metrics-$name.txt"
	if ! promtool check metrics <"$tmp/metrics-$name.txt"; then
		echo "promtool check metrics: exporter $name ($(grep -c . "$tmp/metrics-$name.txt") lines) has lint problems" >&2
		exit 1
	fi
done
grep -q '^posit_connect_up 1' "$tmp/metrics-healthy.txt"
grep -q '^posit_connect_up 0' "$tmp/metrics-down.txt"

# Usage counters exist only once the simulated server has had activity since
# start-up; the backfill gives history only to series the exporter exposes.
usage_counters() {
	local m
	m=$(curl -sf "http://127.0.0.1:${port[healthy]}/metrics") || return 1
	for f in posit_connect_shiny_sessions_total posit_connect_shiny_sessions_ended_total \
		posit_connect_content_visits_total posit_connect_audit_events_total; do
		grep -q "^$f{" <<<"$m" || return 1
	done
}
step "wait (at most 60 s) for usage counters on exporter 'healthy'"
wait_for "usage counters (the usage render will have no history)" 300 usage_counters || true

step "backfill history (healthy: flat; breach: named users grew 30 % over 14 days)"
"$tmp/dashtool" backfill -exporter "http://127.0.0.1:${port[healthy]}/metrics" -job posit_connect_healthy \
	-instance "127.0.0.1:${port[healthy]}" -days 14 -usage-days 3 -out "$tmp/healthy.om"
"$tmp/dashtool" backfill -exporter "http://127.0.0.1:${port[breach]}/metrics" -job posit_connect_breach \
	-instance "127.0.0.1:${port[breach]}" -days 14 -usage-days 14 -counters 'posit_connect_exporter_.*' \
	-growth 0.3 -out "$tmp/breach.om"
# Two promtool runs in parallel into one data directory (distinct blocks).
bf=()
for f in healthy breach; do
	promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$tmp/$f.om" "$tmp/data" >"$tmp/backfill-$f.log" 2>&1 &
	bf+=($!)
done
for p in "${bf[@]}"; do
	if ! wait "$p"; then
		cat "$tmp"/backfill-*.log >&2
		exit 1
	fi
done
rm "$tmp/healthy.om" "$tmp/breach.om"

step "start Prometheus"
pport=$("$tmp/dashtool" freeport)
prom="http://127.0.0.1:$pport"
{
	cat <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - $root/examples/alerts.yml
scrape_configs:
YAML
	for name in "${!port[@]}"; do
		printf '  - job_name: posit_connect_%s\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "$name" "${port[$name]}"
	done
} >"$tmp/prometheus.yml"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
	--storage.tsdb.retention.time=30d --web.listen-address="127.0.0.1:$pport" \
	--rules.alert.resend-delay=1s --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pid[prometheus]=$!
if ! wait_for "Prometheus ready" 150 curl -sf "$prom/-/ready"; then
	cat "$tmp/prometheus.log" >&2
	exit 1
fi
scraped_jobs() {
	curl -sf "$prom/api/v1/query" --data-urlencode 'query=count by (job) (posit_connect_up)' |
		jq -e --argjson n "${#port[@]}" '.data.result | length == $n'
}
wait_for "a scrape of every exporter" 300 scraped_jobs
step "first samples of all ${#port[@]} exporters are in"

# The remaining stages all run; failures are listed at the end.
failed=()
step "every panel and variable query returns data from live scrapes alone"
"$tmp/dashtool" queries -prom "$prom" -job posit_connect_live -timeout "${QUERY_TIMEOUT:-120s}" || failed+=("queries")

step "rules healthy; exactly the expected alerts per scenario"
"$tmp/dashtool" alerts -prom "$prom" -timeout 90s \
	-expect posit_connect_live= \
	-expect posit_connect_healthy= \
	-expect posit_connect_breach=PositConnectLicenseSeatsNearlyExhausted,PositConnectLicenseExpiringSoon,PositConnectLicenseSeatsForecastExhausted \
	-expect posit_connect_expiring=PositConnectLicenseExpiringSoon,PositConnectLicenseExpiryImminent \
	-expect posit_connect_down=PositConnectAPIDown \
	-expect posit_connect_unauthorized=PositConnectAPIDown || failed+=("scenario alerts")

step "stop exporter 'live': PositConnectExporterDown"
kill "${pid[live]}"
wait "${pid[live]}" 2>/dev/null || true
unset 'pid[live]'
"$tmp/dashtool" alerts -prom "$prom" -timeout 60s \
	-expect posit_connect_live=PositConnectExporterDown \
	-expect posit_connect_healthy= || failed+=("exporter down alert")

if [[ -n "$render_dir" ]]; then
	for uid in posit-connect-license posit-connect-usage; do
		step "render $uid"
		# The history is 14 days (license: the breach scenario, which has a
		# trend) and 3 days of usage counters (healthy).
		job=posit_connect_breach range=14d
		[[ $uid == posit-connect-usage ]] && job=posit_connect_healthy range=3d
		# An empty panel fails the check; the page is still drawn to show it.
		height=$("$tmp/dashtool" render -prom "$prom" -uid "$uid" -job "$job" -range "$range" -width 1400 -out "$tmp/$uid.html") ||
			failed+=("empty panels in $uid")
		chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
			--disable-background-networking --disable-component-update --disable-sync \
			--user-data-dir="$tmp/chrome" --hide-scrollbars --window-size="1400,$height" \
			--screenshot="$render_dir/$uid.png" "file://$tmp/$uid.html" 2>"$tmp/chromium.log" >/dev/null ||
			{
				cat "$tmp/chromium.log" >&2
				exit 1
			}
		test -s "$render_dir/$uid.png"
	done
fi
if ((${#failed[@]})); then
	step "FAILED: ${failed[*]}"
	exit 1
fi
step "live dashboard and alert checks: OK"
