# shellcheck shell=bash
# The tools the tests need, installed the same way on every machine. Sourced
# by .ci/run (CI) and scripts/ci-fresh.sh (the proof that a machine that never
# ran the project can install them). Every version is pinned as its registry
# spells it; each install runs under a timeout and names the tool that failed.

# Go tools: "command|module path@version|release name". The module proxy
# serves module versions (v0.8.2), not a project's release names (2026.2.2).
CI_GO_TOOLS=(
  "staticcheck|honnef.co/go/tools/cmd/staticcheck@v0.8.2|staticcheck 2026.2.2"
  "helm|helm.sh/helm/v3/cmd/helm@v3.22.0|Helm 3.22.0"
  "sloth|github.com/slok/sloth/cmd/sloth@v0.16.0|Sloth v0.16.0, for the converter's comparison"
  "victoria-metrics|github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v1.151.0|VictoriaMetrics v1.151.0 single-node, for the scrape proofs"
)

# Debian packages: "command|package". prometheus brings promtool (2.42 on
# bookworm); chromium runs the status-page and report tests.
CI_DEBIAN_TOOLS=(
  "prometheus|prometheus"
  "promtool|prometheus"
  "chromium|chromium"
  "curl|curl"
  "gzip|gzip"
)

# Seconds each install may take before it is reported as failed. A cold helm
# build is the slowest step (about 3 minutes on 2 cores); a cold
# victoria-metrics build took 1m23s wall (80s user CPU) on the same machine.
CI_GO_INSTALL_TIMEOUT=${CI_GO_INSTALL_TIMEOUT:-900}
CI_APT_TIMEOUT=${CI_APT_TIMEOUT:-900}

ci_die() { echo "ci: $*" >&2; exit 1; }

# ci_setup_path puts Go and the directory go install writes to on PATH. go
# must be found before `go env` is asked where that directory is.
ci_setup_path() {
  case ":$PATH:" in *:/usr/local/go/bin:*) ;; *) export PATH="$PATH:/usr/local/go/bin" ;; esac
  command -v go >/dev/null 2>&1 || ci_die "go not found on PATH or in /usr/local/go/bin"
  CI_GOBIN=$(go env GOBIN)
  [ -n "$CI_GOBIN" ] || CI_GOBIN="$(go env GOPATH)/bin"
  case ":$PATH:" in *:"$CI_GOBIN":*) ;; *) export PATH="$PATH:$CI_GOBIN" ;; esac
  export CI_GOBIN
}

# CI_SUDO is empty as root (CI) and "sudo" for a developer's account.
CI_SUDO=""
[ "$(id -u)" -eq 0 ] || CI_SUDO=sudo

# ci_without_service_starts runs a command with Debian's policy-rc.d denying
# every service start (exit 101), so that installing the prometheus package
# does not start a system Prometheus on :9090. A policy-rc.d that was there
# before is put back afterwards, also when the command fails.
ci_without_service_starts() {
  local policy=/usr/sbin/policy-rc.d saved="" rc=0
  if [ -e "$policy" ]; then
    saved=$($CI_SUDO mktemp)
    $CI_SUDO cp -p "$policy" "$saved"
  fi
  printf '#!/bin/sh\n# slo-exporter: no service starts while packages install\nexit 101\n' |
    $CI_SUDO tee "$policy" >/dev/null
  $CI_SUDO chmod 0755 "$policy"
  "$@" || rc=$?
  if [ -n "$saved" ]; then $CI_SUDO mv -f "$saved" "$policy"; else $CI_SUDO rm -f "$policy"; fi
  return "$rc"
}

# ci_install_debian installs the Debian packages whose commands are missing.
ci_install_debian() {
  local missing=() entry bin pkg
  for entry in "${CI_DEBIAN_TOOLS[@]}"; do
    bin=${entry%%|*} pkg=${entry##*|}
    command -v "$bin" >/dev/null 2>&1 && continue
    case " ${missing[*]} " in *" $pkg "*) ;; *) missing+=("$pkg") ;; esac
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "ci: apt-get install ${missing[*]}"
  timeout "$CI_APT_TIMEOUT" $CI_SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq ||
    ci_die "apt-get update failed or timed out after ${CI_APT_TIMEOUT}s"
  ci_without_service_starts timeout "$CI_APT_TIMEOUT" $CI_SUDO env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    ci_die "apt-get install ${missing[*]} failed or timed out after ${CI_APT_TIMEOUT}s"
  for entry in "${CI_DEBIAN_TOOLS[@]}"; do
    bin=${entry%%|*}
    command -v "$bin" >/dev/null 2>&1 || ci_die "$bin still missing after apt-get install"
  done
}

# ci_module_version prints the main module version a Go binary was built
# from (go version -m), or nothing.
ci_module_version() {
  [ -x "$1" ] || return 0
  go version -m "$1" 2>/dev/null | awk '$1 == "mod" { print $3; exit }' || true
}

# ci_install_go_tools installs each pinned Go tool into CI_GOBIN unless the
# binary there was already built from the pinned version.
ci_install_go_tools() {
  local entry bin target release want have
  for entry in "${CI_GO_TOOLS[@]}"; do
    IFS='|' read -r bin target release <<<"$entry"
    want=${target##*@}
    have=$(ci_module_version "$CI_GOBIN/$bin")
    if [ "$have" = "$want" ]; then
      continue
    fi
    echo "ci: go install $target ($release)"
    GOBIN="$CI_GOBIN" timeout "$CI_GO_INSTALL_TIMEOUT" go install "$target" ||
      ci_die "installing $bin failed or timed out after ${CI_GO_INSTALL_TIMEOUT}s: go install $target ($release)"
    have=$(ci_module_version "$CI_GOBIN/$bin")
    [ "$have" = "$want" ] || ci_die "$CI_GOBIN/$bin reports module version '$have', want $want"
  done
}

# ci_report prints the version of every tool the tests will use.
ci_report() {
  echo "ci: go $(go env GOVERSION); prometheus $(prometheus --version 2>&1 | awk 'NR==1 {print $3}')"
  echo "ci: helm $(helm version --short 2>&1); $(staticcheck -version 2>&1)"
  echo "ci: $(chromium --version 2>/dev/null | head -1)"
  # go install leaves victoria-metrics' own version string empty.
  echo "ci: victoria-metrics $(ci_module_version "$(command -v victoria-metrics)")"
}
