#!/usr/bin/env bash
# Versions and releases, checked on a fresh clone of the committed HEAD (so
# that git, goreleaser and Go's VCS stamping see what CI and Docker see):
#   - the Dockerfile's build commands, run outside Docker, stamp the version
#     from VERSION and the revision and branch from git;
#   - a plain `go build` stamps the module version and VCS revision, and
#     `go install module@vVERSION` (through a file:// module proxy made
#     from the commit) reports vVERSION;
#   - goreleaser check, and a snapshot release without publishing: every
#     target (linux, darwin, windows on amd64 and arm64) built and archived
#     with the files the README's install steps use, and the checksums.
# Needs go, git, make, unzip and goreleaser (installed at GORELEASER_VERSION
# if missing).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
export PATH="$PATH:/usr/local/go/bin:$(go env GOPATH)/bin"
GORELEASER_VERSION=v2.15.1
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
t0=$SECONDS
step() { printf '== [%3ds] %s\n' "$((SECONDS - t0))" "$*"; }

for tool in git make unzip sha256sum; do
	command -v "$tool" >/dev/null || fail "$tool is not installed"
done
if ! goreleaser --version 2>/dev/null | grep -q "GitVersion: *${GORELEASER_VERSION}$"; then
	step "install goreleaser ${GORELEASER_VERSION}"
	go install "github.com/goreleaser/goreleaser/v2@${GORELEASER_VERSION}"
fi

tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
head=$(git rev-parse HEAD)
short=$(git rev-parse --short=7 HEAD)
want_version=$(tr -d '[:space:]' <VERSION)
[[ $want_version =~ ^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]] || fail "VERSION ($want_version) is not a semantic version"
if [[ -n $(git status --porcelain --untracked-files=no) ]]; then
	echo "note: the working tree has uncommitted changes; these checks use the committed HEAD $short"
fi
src=$tmp/src
git clone -q "$root" "$src"
git -C "$src" checkout -q --detach "$head"

# field OUTPUT NAME: a field of prometheus/common/version's Print output.
field() {
	case $2 in
	version) sed -n '1s/^[^,]*, version \([^ ]*\) .*/\1/p' <<<"$1" ;;
	branch) sed -n '1s/.*(branch: \([^,]*\),.*/\1/p' <<<"$1" ;;
	revision) sed -n '1s/.*revision: \([^)]*\)).*/\1/p' <<<"$1" ;;
	user) sed -n 's/^ *build user: *//p' <<<"$1" ;;
	date) sed -n 's/^ *build date: *//p' <<<"$1" ;;
	esac
}
# expect WHAT OUTPUT NAME WANT
expect() {
	local got
	got=$(field "$2" "$3")
	[[ $got == "$4" ]] || fail "$1: $3 is '$got', want '$4'; the output was:
$2"
}

step "Dockerfile build commands, outside Docker"
# The RUN lines after `COPY . .` in the build stage, run in a clean tree as
# Docker would (Docker's Go image sets no GOFLAGS, so VCS stamping is on).
docker_cmds=$(awk '/^FROM /{stage++} stage==1 && copied && /^RUN /{sub(/^RUN /, ""); print} stage==1 && /^COPY \. \./{copied=1}' Dockerfile)
[[ -n $docker_cmds ]] || fail "no RUN line after 'COPY . .' in the Dockerfile's build stage"
echo "$docker_cmds"
(cd "$src" && GOFLAGS=-buildvcs=auto bash -euo pipefail -c "$docker_cmds")
out=$("$src/posit_connect_exporter" --version 2>&1)
expect "docker build" "$out" version "$want_version"
expect "docker build" "$out" revision "$head"
expect "docker build" "$out" branch HEAD
expect "docker build" "$out" user docker
[[ $(field "$out" date) =~ ^[0-9]{8}-[0-9]{2}:[0-9]{2}:[0-9]{2}$ ]] || fail "docker build: build date is '$(field "$out" date)'"
grep -q '^COPY --from=build /src/posit_connect_exporter ' Dockerfile || fail "the Dockerfile's final stage does not copy /src/posit_connect_exporter, which make build writes"

step "make build on a modified tree: the revision says so"
echo "modified" >>"$src/README.md"
(cd "$src" && make -s build >/dev/null)
expect "make build (modified)" "$("$src/posit_connect_exporter" --version 2>&1)" revision "$head-modified"
git -C "$src" checkout -q -- README.md

# Plain Go builds: the binaries that call buildinfo.Init. The exporter
# (".") joins this list once package main calls it.
plain_targets=(./internal/buildinfo/testdata/printversion .)
# print_version BINARY: its --version output. printversion takes the
# fallback version as its argument; the exporter embeds VERSION.
print_version() {
	if [[ $(basename "$1") == printversion ]]; then "$1" 9.9.9-fallback 2>&1; else "$1" --version 2>&1; fi
}
fallback_version() { if [[ $1 == *printversion ]]; then echo 9.9.9-fallback; else echo "$want_version"; fi; }

step "plain go build in a git checkout: module version and VCS revision from the build info"
mkdir -p "$tmp/plain"
commit_date=$(TZ=UTC git -C "$src" show -s --format=%cd --date=format-local:%Y%m%d-%H:%M:%S HEAD)
for pkg in "${plain_targets[@]}"; do
	bin=$tmp/plain/$(basename "$(cd "$src" && go list -f '{{.Target}}' "$pkg")")
	(cd "$src" && go build -buildvcs=true -o "$bin" "$pkg")
	out=$(print_version "$bin")
	v=$(field "$out" version)
	# A tagged commit gives the tag; any other the pseudo-version.
	[[ $v == "$want_version" || $v =~ ^[0-9]+\.[0-9]+\.[0-9]+-.*${head:0:12}$ ]] || fail "go build $pkg: version '$v' is not the pseudo-version of $head:
$out"
	expect "go build $pkg" "$out" revision "$head"
	expect "go build $pkg" "$out" date "$commit_date"
	(cd "$src" && go build -buildvcs=false -o "$bin" "$pkg")
	expect "go build -buildvcs=false $pkg" "$(print_version "$bin")" version "$(fallback_version "$pkg")"
done

step "goreleaser check"
(cd "$src" && goreleaser check)

step "goreleaser release --snapshot --skip=publish: every release target, archived"
(cd "$src" && goreleaser release --snapshot --clean --skip=publish --timeout 30m >"$tmp/goreleaser.log" 2>&1) || {
	cat "$tmp/goreleaser.log" >&2
	fail "goreleaser build failed"
}
for target in linux_amd64_v1 linux_arm64_v8.0 darwin_amd64_v1 darwin_arm64_v8.0 windows_amd64_v1 windows_arm64_v8.0; do
	os=${target%%_*} rest=${target#*_} arch=${rest%%_*}
	exe=posit_connect_exporter
	[[ $os == windows ]] && exe=$exe.exe
	bin=$src/dist/posit_connect_exporter_$target/$exe
	[[ -f $bin ]] || fail "goreleaser built no $bin"
	info=$(go version -m "$bin")
	grep -q "GOOS=$os$" <<<"$info" && grep -q "GOARCH=$arch$" <<<"$info" || fail "$bin is not $os/$arch:
$info"
	# -trimpath keeps -ldflags out of the build info: look for the stamp.
	grep -aqF "$want_version-snapshot.$short" "$bin" || fail "$bin is not stamped with the snapshot version"
	echo "ok $os/$arch $(stat -c %s "$bin") bytes"
done
(cd "$src/dist" && sha256sum --quiet -c sha256sums.txt) || fail "sha256sums.txt does not match the archives"
for target in linux-amd64 linux-arm64 darwin-amd64 darwin-arm64 windows-amd64 windows-arm64; do
	name=posit_connect_exporter-$want_version-snapshot.$short.$target
	exe=posit_connect_exporter
	if [[ $target == windows-* ]]; then
		archive=$src/dist/$name.zip exe=$exe.exe
		list=$(unzip -Z1 "$archive")
	else
		archive=$src/dist/$name.tar.gz
		list=$(tar tzf "$archive")
	fi
	for f in "$exe" LICENSE README.md CHANGELOG.md examples/systemd/posit_connect_exporter.service \
		examples/systemd/posit_connect_exporter.socket examples/systemd/posit_connect_exporter.default \
		examples/local/prometheus.yml examples/servers.yml examples/alerts.yml; do
		grep -qx "$name/$f" <<<"$list" || fail "$archive has no $name/$f"
	done
	grep -qF "  $(basename "$archive")" "$src/dist/sha256sums.txt" || fail "no checksum for $archive"
	echo "ok $(basename "$archive") $(stat -c %s "$archive") bytes"
done
out=$("$src/dist/posit_connect_exporter_linux_amd64_v1/posit_connect_exporter" --version 2>&1)
expect "goreleaser snapshot" "$out" version "$want_version-snapshot.$short"
expect "goreleaser snapshot" "$out" revision "$head"
expect "goreleaser snapshot" "$out" user goreleaser
step "go install module@v$want_version through a file:// module proxy"
mod=$(go list -m)
proxy=$tmp/proxy/$mod/@v
mkdir -p "$proxy"
# The module zip holds the commit's files minus nested modules.
excludes=()
while read -r gomod; do
	[[ $gomod == go.mod ]] || excludes+=(":(exclude)$(dirname "$gomod")")
done < <(git -C "$src" ls-files '*go.mod')
git -C "$src" archive --format=zip --prefix="$mod@v$want_version/" HEAD -- . "${excludes[@]}" >"$proxy/v$want_version.zip"
cp "$src/go.mod" "$proxy/v$want_version.mod"
printf '{"Version":"v%s","Time":"%s"}\n' "$want_version" "$(git -C "$src" show -s --format=%cI HEAD)" >"$proxy/v$want_version.info"
echo "v$want_version" >"$proxy/list"
modcache=$(go env GOMODCACHE)
for pkg in "${plain_targets[@]}"; do
	# Dependencies come from the local module cache (a valid proxy layout),
	# so nothing is fetched; the module cache used is a temporary one.
	# -trimpath and CGO_ENABLED=0, as goreleaser builds: the build cache
	# it filled serves the dependencies (the version stamps do not depend
	# on either).
	path=$mod/${pkg#./}
	[[ $pkg == . ]] && path=$mod
	GOMODCACHE=$tmp/modcache GOFLAGS="-mod=mod -trimpath" CGO_ENABLED=0 GOSUMDB=off GOBIN=$tmp/bin \
		GOPROXY="file://$tmp/proxy,file://$modcache/cache/download" \
		go install "$path@v$want_version"
	out=$(print_version "$tmp/bin/$(basename "$path")")
	expect "go install $pkg@v$want_version" "$out" version "$want_version"
	expect "go install $pkg@v$want_version" "$out" revision unknown
done

step "release checks passed"
