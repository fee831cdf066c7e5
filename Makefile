# Builds of posit_connect_exporter. `make build` stamps the version from
# VERSION and the revision, branch and date from git into the binary
# (prometheus/common/version); the Dockerfile runs the same target. Without
# git the stamps that cannot be known are left empty and the binary fills
# them from Go's build info (internal/buildinfo).
#
#   make build        ./posit_connect_exporter for this machine
#   make crossbuild   every release target into dist/ (goreleaser, snapshot)
#   make release-check  goreleaser check
#   make test         every check CI runs (scripts/test.sh)

GO         ?= go
GORELEASER ?= goreleaser
BINARY     ?= posit_connect_exporter
PKG        := github.com/prometheus/common/version

VERSION    ?= $(shell cat VERSION)
# The commit, with -modified when tracked files differ from it.
REVISION   ?= $(shell r=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD -- 2>/dev/null && echo $$r || echo $$r-modified; })
BRANCH     ?= $(shell git rev-parse --abbrev-ref HEAD 2>/dev/null)
BUILD_USER ?= $(shell id -un 2>/dev/null)@$(shell hostname 2>/dev/null)
BUILD_DATE ?= $(shell date -u +%Y%m%d-%H:%M:%S)

LDFLAGS := -s -w \
	-X $(PKG).Version=$(VERSION) \
	-X $(PKG).Revision=$(REVISION) \
	-X $(PKG).Branch=$(BRANCH) \
	-X $(PKG).BuildUser=$(BUILD_USER) \
	-X $(PKG).BuildDate=$(BUILD_DATE)

.PHONY: build crossbuild release-check test clean

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINARY) .

crossbuild:
	$(GORELEASER) build --snapshot --clean

release-check:
	$(GORELEASER) check

test:
	bash scripts/test.sh

clean:
	rm -rf $(BINARY) dist
