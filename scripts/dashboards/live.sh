#!/usr/bin/env bash
# Live check of the dashboards and alert rules against real exporters and a
# real Prometheus (Debian package prometheus, 2.42), all on loopback. Needs
# go, prometheus, promtool, curl, jq; chromium for --render.
#
#   scripts/dashboards/live.sh                  check only
#   scripts/dashboards/live.sh --render DIR     also write DIR/<dashboard uid>.png
#
# Environment: EXPORTER, a prebuilt exporter binary to use instead of
# building the repository's; DEMO_FLAGS, extra exporter flags for every
# --demo scenario (e.g. to make the simulated server busier); QUERY_TIMEOUT
# (default 120s), how long the live-only queries may take to return data.
#
# Exporters and their scrape jobs (the alerts each must raise):
#   posit_connect_live       --demo, healthy, plus a Workbench audit log at
#                            60 % of its seats; no history: every panel of
#                            the Connect and Workbench dashboards must return
#                            data from live scrapes alone; no alert. Then it
#                            is stopped: PositConnectExporterDown.
#   posit_connect_healthy    --demo, 14 days of backfilled gauges; no alert.
#   posit_connect_usage      a simulated Connect (scripts/simserver, with its
#                            audit log files) whose last 7 days of usage come
#                            from the exporter's backfill command (promtool
#                            blocks), the exporter then going on from the
#                            backfill's state file (the usage render); no
#                            alert.
#   posit_connect_breach     --demo license-breach: 93 % of the seats, license
#                            ends in 20 days, named users grew 30 % over the
#                            backfilled 14 days: seats, expiry, forecast alerts.
#   posit_connect_expiring   license ends in 5 days: both expiry alerts.
#   posit_connect_down, posit_connect_unauthorized: PositConnectAPIDown.
#   posit_workbench_breach   Workbench only (--workbench.audit-log and
#                            --workbench.license-seats), 93 % of the seats, 14
#                            days of history (the Workbench render):
#                            PositWorkbenchSeatsNearlyExhausted.
#   posit_workbench_missing  Workbench only, the log path matches no file:
#                            PositWorkbenchAuditLogUnreadable.
#   posit_connect_union, posit_connect_union_servers
#                            --config.file over two simulated Connect servers
#                            (scripts/simserver, each in its own process):
#                            /metrics (the union, the exporter's own metrics)
#                            and /probe per server, 14 days of history (the
#                            exporter render); no alert.
#   posit_connect_degraded, posit_connect_degraded_servers
#                            --config.file over one simulator and a server
#                            that does not answer, then a reload of a broken
#                            file; no history, so the exporter dashboard is
#                            checked on these jobs from live scrapes alone:
#                            PositConnectNamedUsersUnionIncomplete and
#                            PositConnectExporterConfigReloadFailed; the dead
#                            server's /probe: PositConnectAPIDown.
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

step "build exporter, dashtool and simserver"
if [[ -n "${EXPORTER:-}" ]]; then
	cp "$EXPORTER" "$tmp/pce"
else
	go build -o "$tmp/pce" .
fi
go build -o "$tmp/dashtool" ./dashboards/dashtool
go build -o "$tmp/simserver" ./scripts/simserver

step "Workbench audit logs (400 days of sessions; new sessions appended every 5 s (live) and 30 s (breach))"
mkdir "$tmp/wb"
# dashtool wblog prints the named users in 30d, 90d and 365d, as the exporter
# counts them; the seats put the 365-day count at 60 % and 93 %.
wblog_live=(-out "$tmp/wb/live.csv" -seed 1 -users 150)
wblog_breach=(-out "$tmp/wb/breach.csv" -seed 2 -users 120)
read -r _ _ wb_live < <("$tmp/dashtool" wblog "${wblog_live[@]}")
read -r _ _ wb_breach < <("$tmp/dashtool" wblog "${wblog_breach[@]}")
seats_live=$(((wb_live * 100 + 59) / 60))
seats_breach=$(((wb_breach * 100 + 92) / 93))
# The live check needs the live job's event counters to grow after
# Prometheus starts; the breach job's render wants a realistic rate.
"$tmp/dashtool" wblog "${wblog_live[@]}" -follow 5s -for 20m &
pid[wblog_live]=$!
"$tmp/dashtool" wblog "${wblog_breach[@]}" -follow 30s -for 20m &
pid[wblog_breach]=$!

step "simulated Connect servers for --config.file"
for s in 1 2; do
	"$tmp/simserver" -users $((200 * s + 100)) -content $((20 * s)) -shiny-sessions 3000 -visits 3000 \
		-audit 1000 -key-file "$tmp/sim$s.key" -live 1s >"$tmp/sim$s.out" 2>&1 &
	pid[sim$s]=$!
done
sim_url() { grep -om1 '^http://127\.0\.0\.1:[0-9]*' "$tmp/sim$1.out"; }
for s in 1 2; do
	if ! wait_for "simulated Connect server $s" 100 sim_url "$s"; then
		cat "$tmp/sim$s.out" >&2
		exit 1
	fi
done
server() { # name url key-file: one entry of a servers file
	printf '  - name: %s\n    url: %s\n    api_key_file: %s\n' "$1" "$2" "$3"
}
{
	echo "servers:"
	server s1 "$(sim_url 1)" "$tmp/sim1.key"
	server s2 "$(sim_url 2)" "$tmp/sim2.key"
} >"$tmp/union.yml"
# "gone" does not answer: a free port nothing listens on.
{
	echo "servers:"
	server s1 "$(sim_url 1)" "$tmp/sim1.key"
	server gone "http://127.0.0.1:$("$tmp/dashtool" freeport)" "$tmp/sim1.key"
} >"$tmp/degraded.yml"

step "simulated Connect for the usage render, and 7 days of its usage history from the backfill command"
mkdir "$tmp/usage-audit"
"$tmp/simserver" -users 600 -content 40 -shiny-sessions 200000 -visits 400000 -audit 40000 \
	-key-file "$tmp/simusage.key" -live 1s -audit-log "$tmp/usage-audit" >"$tmp/simusage.out" 2>&1 &
pid[simusage]=$!
usage_url() { grep -om1 '^http://127\.0\.0\.1:[0-9]*' "$tmp/simusage.out"; }
if ! wait_for "simulated Connect server for the usage render" 100 usage_url; then
	cat "$tmp/simusage.out" >&2
	exit 1
fi
# The exporter's port is its instance label, so it is chosen first. Samples
# 10 minutes apart: the 7-day render reads rates over 43 minutes.
port[usage]=$("$tmp/dashtool" freeport)
if ! "$tmp/pce" backfill --since=7d --step=10m --output="$tmp/usage.om" --state.file="$tmp/usage-state.json" \
	--connect.url="$(usage_url)" --connect.api-key-file="$tmp/simusage.key" \
	--label=job=posit_connect_usage --label=instance="127.0.0.1:${port[usage]}" 2>"$tmp/backfill-usage.log" ||
	! promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$tmp/usage.om" "$tmp/data" >/dev/null; then
	cat "$tmp/backfill-usage.log" >&2
	exit 1
fi
grep -o 'msg="Backfill written".*' "$tmp/backfill-usage.log"
rm "$tmp/usage.om"

# start_exporter NAME FLAGS...: an exporter on a free loopback port (or
# the one port[NAME] already holds).
start_exporter() {
	local name=$1
	shift
	port[$name]=${port[$name]:-$("$tmp/dashtool" freeport)}
	"$tmp/pce" --web.listen-address="127.0.0.1:${port[$name]}" "$@" >"$tmp/exporter-$name.log" 2>&1 &
	pid[$name]=$!
}
demo() { # name scenario [flags...]
	local name=$1 scenario=$2
	shift 2
	# shellcheck disable=SC2086 # DEMO_FLAGS is a list of flags
	start_exporter "$name" --demo --demo.scenario="$scenario" ${DEMO_FLAGS:-} "$@"
}
step "start exporters"
demo live healthy --workbench.audit-log="$tmp/wb/live.csv" --workbench.license-seats="$seats_live"
demo healthy healthy
demo breach license-breach
demo expiring license-expiring
demo down down
demo unauthorized unauthorized
start_exporter wb_breach --workbench.audit-log="$tmp/wb/breach.csv" --workbench.license-seats="$seats_breach"
start_exporter wb_missing --workbench.audit-log="$tmp/wb/missing-*.csv"
start_exporter union --config.file="$tmp/union.yml"
start_exporter degraded --config.file="$tmp/degraded.yml"
# shellcheck disable=SC2086 # DEMO_FLAGS is a list of flags
start_exporter usage --connect.url="$(usage_url)" --connect.api-key-file="$tmp/simusage.key" \
	--state.file="$tmp/usage-state.json" --connect.audit-log="$tmp/usage-audit/*.audit.log" ${DEMO_FLAGS:-}
exporters=(live healthy breach expiring down unauthorized wb_breach wb_missing union degraded usage)
for name in "${exporters[@]}"; do
	if ! wait_for "exporter $name" 150 curl -sf "http://127.0.0.1:${port[$name]}/metrics"; then
		cat "$tmp/exporter-$name.log" >&2
		exit 1
	fi
done

step "break the servers file of 'degraded' and reload it: refused, the old one stays"
echo "unknown_key: 1" >>"$tmp/degraded.yml"
code=$(curl -s -o "$tmp/reload.txt" -w '%{http_code}' -X POST "http://127.0.0.1:${port[degraded]}/-/reload")
if [[ $code != 500 ]] || ! grep -q '^posit_connect_exporter_config_last_reload_successful 0' \
	<(curl -sf "http://127.0.0.1:${port[degraded]}/metrics"); then
	echo "reload of a broken file: HTTP $code, $(cat "$tmp/reload.txt")" >&2
	exit 1
fi

# The scrape targets: job, URL path, address; a /probe job has one target per
# server (instance = the server's name, as in the README's relabelling).
targets=(
	"posit_connect_live /metrics live" "posit_connect_healthy /metrics healthy"
	"posit_connect_breach /metrics breach" "posit_connect_expiring /metrics expiring"
	"posit_connect_down /metrics down" "posit_connect_unauthorized /metrics unauthorized"
	"posit_workbench_breach /metrics wb_breach" "posit_workbench_missing /metrics wb_missing"
	"posit_connect_union /metrics union" "posit_connect_union_servers /probe?target=s1 union"
	"posit_connect_union_servers /probe?target=s2 union"
	"posit_connect_degraded /metrics degraded" "posit_connect_degraded_servers /probe?target=s1 degraded"
	"posit_connect_degraded_servers /probe?target=gone degraded" "posit_connect_usage /metrics usage"
)
target_url() { echo "http://127.0.0.1:${port[$3]}$2"; }

step "promtool check metrics on every target"
for t in "${targets[@]}"; do
	read -r job path name <<<"$t"
	out="$tmp/metrics-$job.txt"
	[[ $path == /metrics ]] || out="$tmp/metrics-$job-${path#*=}.txt"
	curl -sf "$(target_url "$job" "$path" "$name")" >"$out"
	if ! promtool check metrics <"$out"; then
		echo "promtool check metrics: $job $path ($(grep -c . "$out") lines) has lint problems" >&2
		exit 1
	fi
done
grep -q '^posit_connect_up 1' "$tmp/metrics-posit_connect_healthy.txt"
grep -q '^posit_connect_up 0' "$tmp/metrics-posit_connect_down.txt"
grep -q '^posit_connect_named_users_union_complete 1' "$tmp/metrics-posit_connect_union.txt"
grep -q "^posit_workbench_license_user_seats $seats_breach\$" "$tmp/metrics-posit_workbench_breach.txt"

step "backfill history"
# name job instance URL flags...: one backfill, run in the background.
bf=()
backfill() {
	local name=$1 job=$2 instance=$3 url=$4
	shift 4
	(
		start=$SECONDS
		"$tmp/dashtool" backfill -exporter "$url" -job "$job" -instance "$instance" -out "$tmp/$name.om" "$@" &&
			promtool tsdb create-blocks-from openmetrics --max-block-duration=24h "$tmp/$name.om" "$tmp/data" >/dev/null &&
			rm "$tmp/$name.om" &&
			echo "backfill $name: $((SECONDS - start)) s"
	) >"$tmp/backfill-$name.log" 2>&1 &
	bf+=($!)
}
# healthy: flat; breach: named users grew 30 % over 14 days. The usage
# render's history is the backfill command's (posit_connect_usage).
backfill healthy posit_connect_healthy "127.0.0.1:${port[healthy]}" "http://127.0.0.1:${port[healthy]}/metrics" \
	-days 14 -usage-days 0
backfill breach posit_connect_breach "127.0.0.1:${port[breach]}" "http://127.0.0.1:${port[breach]}/metrics" \
	-days 14 -usage-days 14 -counters 'posit_connect_exporter_.*' -growth 0.3
# Workbench named users grew 25 % over 14 days, the union 10 % over the 8
# days its render shows 7 of. Samples 2 minutes apart (4 for the union's
# histogram) suffice: the renders read rates over at least 4 minutes (43 for
# 7 days), and gauges within Prometheus' 5-minute lookback.
backfill wb_breach posit_workbench_breach "127.0.0.1:${port[wb_breach]}" "http://127.0.0.1:${port[wb_breach]}/metrics" \
	-days 14 -usage-days 14 -growth 0.25 -step 2m -continue 'posit_workbench_.*'
backfill union posit_connect_union "127.0.0.1:${port[union]}" "http://127.0.0.1:${port[union]}/metrics" \
	-days 8 -usage-days 8 -counters 'posit_connect_exporter_.*' -histograms -growth 0.1 -step 4m
for s in s1 s2; do
	backfill "union-$s" posit_connect_union_servers "$s" "http://127.0.0.1:${port[union]}/probe?target=$s" \
		-days 8 -usage-days 0 -growth 0.1 -step 2m -rule-history=false
done
for p in "${bf[@]}"; do
	if ! wait "$p"; then
		cat "$tmp"/backfill-*.log >&2
		exit 1
	fi
done
cat "$tmp"/backfill-*.log

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
	declare -A seen
	for t in "${targets[@]}"; do
		read -r job path name <<<"$t"
		if [[ -n ${seen[$job]:-} ]]; then
			continue
		fi
		seen[$job]=1
		if [[ $path == /metrics ]]; then
			printf '  - job_name: %s\n    static_configs:\n      - targets: ["127.0.0.1:%s"]\n' "$job" "${port[$name]}"
			continue
		fi
		servers=$(for u in "${targets[@]}"; do
			read -r j p _ <<<"$u"
			if [[ $j == "$job" ]]; then
				printf '"%s", ' "${p#/probe?target=}"
			fi
		done)
		cat <<YAML
  - job_name: $job
    metrics_path: /probe
    static_configs:
      - targets: [${servers%, }]
    relabel_configs:
      - source_labels: [__address__]
        target_label: __param_target
      - source_labels: [__param_target]
        target_label: instance
      - target_label: __address__
        replacement: 127.0.0.1:${port[$name]}
YAML
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
scraped_targets() {
	curl -sf "$prom/api/v1/query" --data-urlencode 'query=count(up)' |
		jq -e --argjson n "${#targets[@]}" '.data.result[0].value[1] == ($n | tostring)'
}
wait_for "a scrape of every target" 300 scraped_targets
step "first samples of all ${#targets[@]} targets are in"

# The remaining stages all run; failures are listed at the end.
failed=()
step "every panel and variable query returns data from live scrapes alone"
# The exporter dashboard is about several servers: the jobs without history
# of an exporter with --config.file.
"$tmp/dashtool" queries -prom "$prom" -job posit_connect_live \
	-dashboard-job posit-connect-exporter='posit_connect_degraded|posit_connect_degraded_servers' \
	-timeout "${QUERY_TIMEOUT:-120s}" || failed+=("queries")

step "rules healthy; exactly the expected alerts per scenario"
"$tmp/dashtool" alerts -prom "$prom" -timeout 90s \
	-expect posit_connect_live= \
	-expect posit_connect_healthy= \
	-expect posit_connect_breach=PositConnectLicenseSeatsNearlyExhausted,PositConnectLicenseExpiringSoon,PositConnectLicenseSeatsForecastExhausted \
	-expect posit_connect_expiring=PositConnectLicenseExpiringSoon,PositConnectLicenseExpiryImminent \
	-expect posit_connect_down=PositConnectAPIDown \
	-expect posit_connect_unauthorized=PositConnectAPIDown \
	-expect posit_workbench_breach=PositWorkbenchSeatsNearlyExhausted \
	-expect posit_workbench_missing=PositWorkbenchAuditLogUnreadable \
	-expect posit_connect_union= \
	-expect posit_connect_union_servers= \
	-expect posit_connect_degraded=PositConnectNamedUsersUnionIncomplete,PositConnectExporterConfigReloadFailed \
	-expect posit_connect_degraded_servers=PositConnectAPIDown \
	-expect posit_connect_usage= || failed+=("scenario alerts")

step "stop exporter 'live': PositConnectExporterDown"
kill "${pid[live]}"
wait "${pid[live]}" 2>/dev/null || true
unset 'pid[live]'
"$tmp/dashtool" alerts -prom "$prom" -timeout 60s \
	-expect posit_connect_live=PositConnectExporterDown \
	-expect posit_connect_healthy= || failed+=("exporter down alert")

if [[ -n "$render_dir" ]]; then
	# uid, job, range: each dashboard from the scenario with the history it shows.
	for r in "posit-connect-license posit_connect_breach 14d" "posit-connect-usage posit_connect_usage 7d" \
		"posit-workbench posit_workbench_breach 14d" "posit-connect-exporter posit_connect_union|posit_connect_union_servers 7d"; do
		read -r uid job range <<<"$r"
		step "render $uid"
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
