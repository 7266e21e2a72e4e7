#!/usr/bin/env bash
# The local demo: the ML-platform simulator, a real Prometheus scraping it,
# slo-exporter evaluating the reference SLOs against that Prometheus, and
# Prometheus scraping slo-exporter back (with the generated alert rules).
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="$root/.demo"
SIM_PORT=${SIM_PORT:-8099}
PROM_PORT=${PROM_PORT:-9090}
EXPORTER_PORT=${EXPORTER_PORT:-9099}
export PATH="$PATH:/usr/local/go/bin"

if ! command -v prometheus >/dev/null 2>&1; then
  echo "demo: installing Prometheus from Debian's packages"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq || true
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq prometheus >/dev/null
  $sudo pkill -x prometheus 2>/dev/null || true   # the package may start one on :9090
fi

echo "demo: building"
make -s build
rm -rf "$demo"; mkdir -p "$demo/prometheus"

# --- 30 days of history (docs/dashboards.md#the-demos-month, internal/demo) ---
# TSDB blocks of the simulator's last month, written before Prometheus starts;
# the simulator then runs the same simulation (start and schedule), so its
# counters continue the history.
echo "demo: writing 30 days of history for Prometheus (a minute or two)"
SIM_START=$(bin/ml-platform-history --storage.tsdb.path="$demo/prometheus" --schedule.file="$demo/schedule.yaml" \
  --incidents.file=internal/simulator/testdata/incidents.yaml --instance="127.0.0.1:$SIM_PORT")
# --- end of the history ---

# The SLO configuration points at the demo's Prometheus; evaluation every 15s.
sed -e "s|url: http://localhost:9090|url: http://127.0.0.1:$PROM_PORT|" \
    -e "s|evaluation_interval: 30s|evaluation_interval: 15s|" \
    -e "s|query_offset: 30s|query_offset: 15s|" \
    config/examples/ml-platform.yaml > "$demo/slo.yaml"
bin/slo-exporter rules --config.file="$demo/slo.yaml" > "$demo/slo-rules.yaml"

cat > "$demo/prometheus.yml" <<YAML
global:
  scrape_interval: 5s
  evaluation_interval: 15s
rule_files: ["$demo/slo-rules.yaml"]
scrape_configs:
YAML
for svc in model-api batch-inference feature-store inference-journey; do
  cat >> "$demo/prometheus.yml" <<YAML
  - job_name: $svc
    metrics_path: /metrics/$svc
    static_configs: [{targets: ["127.0.0.1:$SIM_PORT"]}]
YAML
done
cat >> "$demo/prometheus.yml" <<YAML
  - job_name: slo-exporter
    scrape_interval: 15s
    static_configs: [{targets: ["127.0.0.1:$EXPORTER_PORT"]}]
YAML

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo; echo "demo: stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

bin/ml-platform-sim --web.listen-address="127.0.0.1:$SIM_PORT" \
  --incidents.file="$demo/schedule.yaml" --start.time="$SIM_START" >"$demo/sim.log" 2>&1 &
pids+=($!)
prometheus --config.file="$demo/prometheus.yml" --storage.tsdb.path="$demo/prometheus" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle --storage.tsdb.retention.time=60d >"$demo/prometheus.log" 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$PROM_PORT/-/ready" >/dev/null; do sleep 1; done
sleep 6   # a first scrape of the simulator
bin/slo-exporter serve --config.file="$demo/slo.yaml" --web.listen-address="127.0.0.1:$EXPORTER_PORT" \
  >"$demo/slo-exporter.log" 2>&1 &
pids+=($!)
until curl -sf "http://127.0.0.1:$EXPORTER_PORT/-/ready" >/dev/null; do sleep 1; done

cat <<TXT
demo: running. Logs and configuration in $demo/
  status page     http://127.0.0.1:$EXPORTER_PORT/
  slo_* metrics   http://127.0.0.1:$EXPORTER_PORT/metrics
  Prometheus      http://127.0.0.1:$PROM_PORT/graph?g0.expr=slo_burn_rate%7Bwindow%3D%225m%22%7D
  alerts          http://127.0.0.1:$PROM_PORT/alerts
  simulator       http://127.0.0.1:$SIM_PORT/  (incidents: internal/simulator/testdata/incidents.yaml;
                  inject one: curl -XPOST '127.0.0.1:$SIM_PORT/-/incident?service=model-api&error_ratio=0.5&duration=5m')
Ctrl-C stops everything.
TXT
sleep 2
while true; do
  summary=$(bin/slo-exporter status --url="http://127.0.0.1:$EXPORTER_PORT/metrics" 2>&1 || true)
  printf '\033[H\033[2J%s  slo-exporter demo (Ctrl-C to stop)\n\n%s\n' "$(date +%T)" "$summary"
  sleep 5
done
