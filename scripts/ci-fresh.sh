#!/usr/bin/env bash
# Proves .ci/run's install path on a machine that has never run the project:
# the install steps of .ci/install.sh run with an empty GOPATH, GOBIN, module
# cache and build cache, HOME and a PATH that holds none of the tools, and the
# Debian packages are fetched again from the archive into an empty directory.
# Any step that leans on something only a used machine has fails here.
#
#   scripts/ci-fresh.sh          install steps, then `make lint` and `go test -short`
#   FULL=1 scripts/ci-fresh.sh   the same, then the whole `make test`
#   KEEP=1                       keep the scratch directory (its path is printed)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scratch=$(mktemp -d /tmp/slo-ci-fresh.XXXXXX)
cleanup() {
  # The module cache is written read-only; make it removable first.
  if [ "${KEEP:-0}" = 1 ]; then echo "ci-fresh: kept $scratch"; return; fi
  chmod -R u+w "$scratch" 2>/dev/null || true
  rm -rf "$scratch"
}
trap cleanup EXIT
mkdir -p "$scratch"/{home,gopath,gobin,modcache,gocache,apt/partial}

step() { printf 'ci-fresh: %-44s' "$1"; }
t0=$SECONDS
took() { echo "ok ($((SECONDS - t0)) s)"; t0=$SECONDS; }

# A fresh machine's environment: no Go on PATH (.ci/install.sh must find
# /usr/local/go/bin itself), no ~/go/bin, no module or build cache.
env -i \
  HOME="$scratch/home" \
  PATH=/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin \
  GOPATH="$scratch/gopath" GOBIN="$scratch/gobin" \
  GOMODCACHE="$scratch/modcache" GOCACHE="$scratch/gocache" \
  GOFLAGS=-modcacherw TERM=dumb CI=true \
  bash -c '
set -euo pipefail
cd "'"$root"'"
scratch="'"$scratch"'"
step() { printf "ci-fresh: %-44s" "$1"; }
t0=$SECONDS
took() { echo "ok ($((SECONDS - t0)) s)"; t0=$SECONDS; }

step "no tool on PATH before install"
for bin in go staticcheck helm; do
  if command -v "$bin" >/dev/null 2>&1; then echo "FAIL: $bin is on PATH already ($(command -v "$bin"))"; exit 1; fi
done
took

. .ci/install.sh
step "go found by ci_setup_path"
ci_setup_path
[ "$CI_GOBIN" = "$scratch/gobin" ] || { echo "FAIL: tools would go to $CI_GOBIN"; exit 1; }
echo "ok: $(go env GOVERSION), tools into $CI_GOBIN"

step "Debian packages served (download only)"
pkgs=$(for e in "${CI_DEBIAN_TOOLS[@]}"; do echo "${e##*|}"; done | sort -u | tr "\n" " ")
timeout "$CI_APT_TIMEOUT" apt-get update -qq
timeout "$CI_APT_TIMEOUT" apt-get install -qq -y --reinstall --download-only --no-install-recommends \
  -o APT::Sandbox::User=root -o Dir::Cache::archives="$scratch/apt" $pkgs >/dev/null
echo "ok: $pkgs-> $(ls "$scratch"/apt/*.deb | wc -l) .deb files"
t0=$SECONDS

step "Debian tools installed (no service started)"
ci_install_debian
took

# The package would start a system Prometheus on :9090 on a machine with an
# init system; reinstalling it under ci_without_service_starts must start
# nothing and leave policy-rc.d as it was.
step "reinstall starts no service, policy-rc.d kept"
before_policy=$(cat /usr/sbin/policy-rc.d 2>/dev/null || echo absent)
before_pids=$(pgrep -x prometheus | sort || true)
ci_without_service_starts timeout "$CI_APT_TIMEOUT" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --reinstall --no-install-recommends prometheus >/dev/null 2>&1
sleep 2
after_pids=$(pgrep -x prometheus | sort || true)
[ "$before_pids" = "$after_pids" ] || { echo "FAIL: a prometheus process appeared: $after_pids"; exit 1; }
[ "$(cat /usr/sbin/policy-rc.d 2>/dev/null || echo absent)" = "$before_policy" ] ||
  { echo "FAIL: policy-rc.d changed"; exit 1; }
took

echo "ci-fresh: Go tools into an empty GOBIN and module cache:"
ci_install_go_tools
for e in "${CI_GO_TOOLS[@]}"; do
  bin=${e%%|*}
  [ "$(command -v "$bin")" = "$CI_GOBIN/$bin" ] || { echo "FAIL: $bin resolves to $(command -v "$bin")"; exit 1; }
done
echo "ci-fresh: installed in $((SECONDS - t0)) s"; t0=$SECONDS
ci_report

step "a second run installs nothing"
out=$(ci_install_go_tools)
[ -z "$out" ] || { echo "FAIL: $out"; exit 1; }
took

step "make lint (gofmt, vet, staticcheck)"
make -s lint >"$scratch/lint.log" 2>&1 || { echo FAIL; cat "$scratch/lint.log"; exit 1; }
took

step "go test -short ./... (modules from the proxy)"
go test -short -count=1 ./... >"$scratch/short.log" 2>&1 || { echo FAIL; tail -40 "$scratch/short.log"; exit 1; }
took

if [ "${FULL:-0}" = 1 ]; then
  echo "ci-fresh: make test (CI=true)"
  make test
fi
'
echo "ci-fresh: the fresh-machine path passed"
