#!/bin/sh
# Backfill a 30d period for 100 SLOs from a local Prometheus serving 31 days
# of synthetic TSDB blocks (built with promtool), and print wall time,
# range queries issued and points fetched.
#
# Needs prometheus and promtool (PROMETHEUS / PROMTOOL, else PATH, else
# ~/go/bin). Usage: scripts/bench-backfill.sh [extra go test flags]
set -eu
cd "$(dirname "$0")/.."
exec go test ./internal/scrape -run '^$' -bench '^BenchmarkBackfill$' -benchtime 1x -timeout 30m "$@"
