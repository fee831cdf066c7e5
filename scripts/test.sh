#!/usr/bin/env bash
# Runs every check of the project: formatting, vet, lint, unit and end-to-end
# tests, rule tests, dashboard checks and the live Prometheus verification.
# It installs missing tools when it can (root with apt-get), and otherwise
# fails naming what is missing: it never skips a check.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH 2>/dev/null || echo "$HOME/go")/bin"
export GOFLAGS="${GOFLAGS:--buildvcs=false}"

GOLANGCI_VERSION=v2.15.0
DEADCODE_VERSION=v0.52.0
step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

step "tools"
need_apt=()
command -v go >/dev/null || fail "Go is not installed (want Go 1.26)"
command -v promtool >/dev/null || need_apt+=(prometheus)
command -v jq >/dev/null || need_apt+=(jq)
command -v chromium >/dev/null || need_apt+=(chromium)
command -v npm >/dev/null || need_apt+=(npm)
command -v make >/dev/null || need_apt+=(make)
command -v unzip >/dev/null || need_apt+=(unzip)
command -v curl >/dev/null || need_apt+=(curl)
command -v ip >/dev/null || need_apt+=(iproute2)
command -v systemd-analyze >/dev/null || need_apt+=(systemd)
if ((${#need_apt[@]})); then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    fail "missing Debian packages: ${need_apt[*]} (run as root, or: sudo apt-get install ${need_apt[*]})"
  fi
fi
if ! golangci-lint version 2>/dev/null | grep -q "version ${GOLANGCI_VERSION#v}"; then
  go install "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@${GOLANGCI_VERSION}"
fi
if ! command -v deadcode >/dev/null; then
  go install "golang.org/x/tools/cmd/deadcode@${DEADCODE_VERSION}"
fi
go version
promtool --version 2>&1 | head -1

step "go mod download and tidy check"
go mod download
cp go.mod /tmp/pce-go.mod.bak; cp go.sum /tmp/pce-go.sum.bak
go mod tidy
if ! cmp -s go.mod /tmp/pce-go.mod.bak || ! cmp -s go.sum /tmp/pce-go.sum.bak; then
  cp /tmp/pce-go.mod.bak go.mod; cp /tmp/pce-go.sum.bak go.sum
  fail "go.mod/go.sum are not tidy: run go mod tidy"
fi

step "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
[ -z "$unformatted" ] || fail "gofmt needed: $unformatted"

step "licence headers"
for f in $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'); do
  head -3 "$f" | grep -q "Copyright" || fail "$f has no licence header"
done

step "go vet"
go vet ./...

step "dead code (deadcode -test: nothing unreachable from main or the tests)"
dead=$(deadcode -test ./...)
[ -z "$dead" ] || fail "unreachable code: $dead"

step "golangci-lint"
golangci-lint run ./...

step "go test -race"
go test -race -count=1 ./...

step "scale test: the simulator serves 1,000,000 Shiny sessions (too slow under -race)"
CONNECTTEST_SCALE=1 go test -count=1 -run '^TestScaleWalk$' ./connectapi/connecttest/

step "benchmarks run once each, so they cannot rot (numbers: docs/PERFORMANCE.md)"
go test -count=1 -run '^$' -bench . -benchtime 1x ./... >/tmp/pce-bench-smoke.log 2>&1 ||
  { cat /tmp/pce-bench-smoke.log; fail "a benchmark failed"; }

for extra in scripts/test.d/*.sh; do
  [ -e "$extra" ] || continue
  step "$extra"
  bash "$extra"
done

step "all checks passed"
