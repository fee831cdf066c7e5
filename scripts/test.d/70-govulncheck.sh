#!/usr/bin/env bash
# govulncheck against the offline Go vulnerability database in
# ../shared/vulndb (beside the checkout; its README says how it is built):
# the exporter's module, and the examples/kubernetes module with its tests.
# Fails when a vulnerable symbol is called (exit 3) or the database was not
# the one read. Installs govulncheck GOVULNCHECK_VERSION if missing.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
GOVULNCHECK_VERSION=v1.9.0
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }

db=$(cd .. && pwd)/shared/vulndb
[[ -f $db/index/modules.json ]] || fail "no vulnerability database at $db (../shared/vulndb beside the checkout)"
if ! govulncheck -version 2>/dev/null | grep -q "govulncheck@${GOVULNCHECK_VERSION}"; then
	go install "golang.org/x/vuln/cmd/govulncheck@${GOVULNCHECK_VERSION}"
fi
govulncheck -version | grep Scanner
# The database really read: its last-modified time appears in the JSON output.
modified=$(jq -r .modified "$db/index/db.json")
json=$(govulncheck -db "file://$db" -format json ./...)
grep -q "\"db_last_modified\": *\"$modified\"" <<<"$json" ||
	fail "govulncheck did not report the database's time $modified: was $db read?"
govulncheck -db "file://$db" ./...
(cd examples/kubernetes && govulncheck -db "file://$db" -test ./...)
