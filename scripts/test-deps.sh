#!/usr/bin/env bash
# Says, one line each, which external programs the integration tests will use
# and which are missing (with the command that installs them). Outside CI the
# tests that need a missing program skip; with CI=true this script fails
# first, so a CI run never passes by skipping. `bash .ci/run` installs all.
set -uo pipefail
export PATH="$PATH:/usr/local/go/bin"
gobin=$(go env GOBIN 2>/dev/null)
[ -n "$gobin" ] || gobin="$(go env GOPATH 2>/dev/null)/bin"
export PATH="$PATH:$gobin:$HOME/go/bin"

# program | environment variable that overrides it | how to install | what needs it
deps=(
  "prometheus|PROMETHEUS|apt-get install -y prometheus|engine, scrape, plan, backtest and e2e proofs"
  "promtool|PROMTOOL|apt-get install -y prometheus|rule checks and TSDB history"
  "helm|HELM|go install helm.sh/helm/v3/cmd/helm@v3.22.0|the Helm chart tests"
  "chromium|CHROMIUM|apt-get install -y chromium|the status page and HTML report tests"
  "sloth|SLOTH|go install github.com/slok/sloth/cmd/sloth@v0.16.0|the Sloth converter comparison"
  "victoria-metrics|VICTORIA_METRICS|go install github.com/VictoriaMetrics/VictoriaMetrics/app/victoria-metrics@v1.151.0|the scrape proofs against VictoriaMetrics"
  "staticcheck||go install honnef.co/go/tools/cmd/staticcheck@v0.8.2|make lint"
)
missing=0
for d in "${deps[@]}"; do
  IFS='|' read -r bin env hint what <<<"$d"
  path=""
  if [ -n "$env" ] && [ -n "${!env:-}" ]; then path=${!env}; else path=$(command -v "$bin" || true); fi
  if [ -n "$path" ] && [ -x "$path" ]; then
    echo "test-deps: $bin: $path"
  else
    missing=$((missing + 1))
    echo "test-deps: $bin MISSING: tests for $what are skipped; install: $hint (or bash .ci/run)"
  fi
done
if [ "$missing" -gt 0 ] && [ "${CI:-}" = true ]; then
  echo "test-deps: CI=true and $missing program(s) missing" >&2
  exit 1
fi
exit 0
