#!/usr/bin/env bash
# Kubernetes: the example manifests and the Helm chart.
#   - helm lint --strict of charts/posit-connect-exporter;
#   - examples/kubernetes is a Go module of its own (so the exporter's
#     go.mod stays free of Kubernetes): tidy, vet, golangci-lint, and its
#     test, which decodes every manifest and the chart's `helm template`
#     output strictly against the Kubernetes and Prometheus Operator API
#     types and checks that the non-root exporter can read its key file and
#     write its state file.
# Needs go and helm (installed at HELM_VERSION from the Go module proxy if
# missing; Debian has no helm package).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
HELM_VERSION=v3.22.0
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
t0=$SECONDS
step() { printf '== [%3ds] %s\n' "$((SECONDS - t0))" "$*"; }

# A helm built by `go install` reports its version without the patch level.
if [[ $(helm version --template '{{.Version}}' 2>/dev/null) != "${HELM_VERSION%.*}"* ]]; then
	step "install helm ${HELM_VERSION}"
	go install "helm.sh/helm/v3/cmd/helm@${HELM_VERSION}"
fi
command -v golangci-lint >/dev/null || fail "golangci-lint is not installed (scripts/test.sh installs it)"

step "helm lint"
helm lint --strict charts/posit-connect-exporter --set connect.url=https://connect.example.com

cd examples/kubernetes
step "examples/kubernetes: go mod tidy check"
cp go.mod /tmp/pce-k8s-go.mod.bak
cp go.sum /tmp/pce-k8s-go.sum.bak
go mod tidy
if ! cmp -s go.mod /tmp/pce-k8s-go.mod.bak || ! cmp -s go.sum /tmp/pce-k8s-go.sum.bak; then
	cp /tmp/pce-k8s-go.mod.bak go.mod
	cp /tmp/pce-k8s-go.sum.bak go.sum
	fail "examples/kubernetes: go.mod/go.sum are not tidy: run go mod tidy there"
fi
step "examples/kubernetes: go vet and golangci-lint"
go vet ./...
golangci-lint run ./...
step "examples/kubernetes: strict decoding of the manifests and the chart's output"
go test -count=1 -v ./...
step "kubernetes checks passed"
