#!/usr/bin/env bash
# Builds the thanos binary that the opt-in Thanos tests use (THANOS=...), from
# the Go module proxy, into GOBIN (or GOPATH/bin).
#
# `go install github.com/thanos-io/thanos/cmd/thanos@VERSION` refuses: the
# module's go.mod holds replace directives, which go install does not apply.
# So the script downloads the module, copies it out of the read-only module
# cache and builds cmd/thanos inside it, where the replaces apply (they all
# name modules the proxy serves). v0.42.5 requires Go >= 1.26.10: the build
# runs with GOTOOLCHAIN=go1.27.3, which the go command fetches from the proxy.
# The build tags are the release's (.promu.yml): without slicelabels the
# sidecar panics (makeslice: len out of range) on the querier's first call,
# because Thanos' gRPC codec assumes Prometheus' slice-based labels.
#
#   scripts/install-thanos.sh            v0.42.5
#   THANOS_VERSION=v0.42.4 scripts/install-thanos.sh
set -euo pipefail
version=${THANOS_VERSION:-v0.42.5}
export GOTOOLCHAIN=${THANOS_GOTOOLCHAIN:-go1.27.3}
gobin=$(go env GOBIN)
[ -n "$gobin" ] || gobin="$(go env GOPATH)/bin"
mkdir -p "$gobin"

mod=$(go mod download -json "github.com/thanos-io/thanos@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -n "$mod" ] && [ -d "$mod" ] || { echo "install-thanos: go mod download github.com/thanos-io/thanos@$version failed" >&2; exit 1; }
src=$(mktemp -d /tmp/thanos-src.XXXXXX)
trap 'chmod -R u+w "$src" 2>/dev/null; rm -rf "$src"' EXIT
cp -r "$mod/." "$src"
chmod -R u+w "$src"
cd "$src"
echo "install-thanos: building thanos $version with $GOTOOLCHAIN into $gobin"
GOFLAGS=-mod=mod go build -trimpath -tags netgo,slicelabels \
  -ldflags "-X github.com/prometheus/common/version.Version=${version#v}" \
  -o "$gobin/thanos" ./cmd/thanos
"$gobin/thanos" --version 2>&1 | head -1
