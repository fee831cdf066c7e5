#!/usr/bin/env bash
# Runs an exporter binary against the simulated Connect at 100,000 users and
# 10,000 content items, slowed to a given latency per answer, and reports how
# long the first complete users scrape took, how many of 30 later scrapes (2 s
# apart, 10 s scrape timeout) failed the users collector, and the exporter's
# peak RSS. Loopback only; every process it starts is stopped by PID.
#
#   go build -o /tmp/pce . && go build -o /tmp/simserver ./scripts/simserver
#   scripts/perf/slow-connect.sh /tmp/pce 160ms [port]
set -euo pipefail
exporter=${1:?usage: slow-connect.sh EXPORTER LATENCY [PORT]}
latency=${2:?usage: slow-connect.sh EXPORTER LATENCY [PORT]}
port=${3:-10611}
simserver=${SIMSERVER:-/tmp/simserver}
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

"$simserver" --users 100000 --content 10000 --key-file "$tmp/key" --latency-per-request "$latency" >"$tmp/sim.out" 2>&1 &
pids+=($!)
for _ in $(seq 1 300); do grep -q 'http://127.0.0.1' "$tmp/sim.out" && break; sleep 0.2; done
url=$(grep -o 'http://127.0.0.1:[0-9]*' "$tmp/sim.out" | head -1)
[ -n "$url" ] || { echo "the simulator did not start" >&2; exit 1; }

start=$(date +%s.%N)
CONNECT_API_KEY=$(cat "$tmp/key") /usr/bin/time -v "$exporter" --connect.url="$url" \
  --web.listen-address=127.0.0.1:"$port" --connect.cache-ttl.users=10s --connect.cache-ttl.content=10s \
  --collector.usage.interval=5s >"$tmp/exporter.out" 2>"$tmp/exporter.err" &
timepid=$!
pids+=("$timepid")

scrape() { curl -s -m 12 -H 'X-Prometheus-Scrape-Timeout-Seconds: 10' "127.0.0.1:$port/metrics" || true; }
first=never
for _ in $(seq 1 600); do
  if scrape | grep -q 'posit_connect_scrape_collector_success{collector="users"} 1'; then
    first="$(echo "$(date +%s.%N) - $start" | bc) s"
    break
  fi
  sleep 0.5
done
echo "first complete users scrape: $first"
fails=0
for _ in $(seq 1 30); do
  scrape | grep -q 'posit_connect_scrape_collector_success{collector="users"} 1' || fails=$((fails + 1))
  sleep 2
done
echo "users failures in 30 scrapes: $fails"
scrape | grep -E '^posit_connect_up '
# Stop the exporter (the child of time) so that time reports its peak RSS.
kill -INT "$(pgrep -P "$timepid")" 2>/dev/null || true
wait "$timepid" 2>/dev/null || true
grep 'Maximum resident' "$tmp/exporter.err"
