#!/usr/bin/env bash
# The local demo: the ML-platform simulator, a real Prometheus scraping it,
# slo-exporter evaluating the reference SLOs against that Prometheus, and
# Prometheus scraping slo-exporter back (with the generated alert rules).
# Ctrl-C (or SIGTERM) stops everything this script started, by PID.
#
# Ports (all on 127.0.0.1): SIM_PORT (simulator, 8099), PROM_PORT (Prometheus,
# 9090), EXPORTER_PORT (slo-exporter, 9099). A port in use is reported at once.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
demo="$root/.demo"
SIM_PORT=${SIM_PORT:-8099}
PROM_PORT=${PROM_PORT:-9090}
EXPORTER_PORT=${EXPORTER_PORT:-9099}
export PATH="$PATH:/usr/local/go/bin"

die() { echo "demo: $*" >&2; exit 1; }

# port_busy succeeds when something already accepts connections on the port.
port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for var in SIM_PORT PROM_PORT EXPORTER_PORT; do
  port=${!var}
  case "$port" in ''|*[!0-9]*) die "$var=$port is not a port number" ;; esac
  if port_busy "$port"; then
    die "port $port is in use by another program; set $var to a free port, e.g. $var=$((port + 100)) make demo"
  fi
done

if ! command -v prometheus >/dev/null 2>&1; then
  # Installed with service starts denied (policy-rc.d), so the package does
  # not start a system Prometheus of its own.
  echo "demo: installing Prometheus from Debian's packages"
  # shellcheck source=../.ci/install.sh
  . .ci/install.sh
  CI_DEBIAN_TOOLS=("prometheus|prometheus" "promtool|prometheus")
  ci_install_debian
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
# cleanup stops every process this script started, by PID, and ends the
# script: a signal during start-up must not let it go on to start more.
cleanup() {
  local rc=$?
  trap - INT TERM EXIT
  echo; echo "demo: stopping"
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_ready polls url until it answers, failing at once if the process
# (pid) has exited, and after a timeout.
wait_ready() {
  local name=$1 pid=$2 url=$3 log=$4 timeout=${5:-120} waited=0
  until curl -sf "$url" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: $name exited during start-up; the end of $log:" >&2
      tail -n 15 "$log" >&2
      exit 1
    fi
    if [ "$waited" -ge "$timeout" ]; then
      die "$name not ready at $url after ${timeout}s; see $log"
    fi
    sleep 1; waited=$((waited + 1))
  done
}

bin/ml-platform-sim --web.listen-address="127.0.0.1:$SIM_PORT" \
  --incidents.file="$demo/schedule.yaml" --start.time="$SIM_START" >"$demo/sim.log" 2>&1 &
pids+=($!)
prometheus --config.file="$demo/prometheus.yml" --storage.tsdb.path="$demo/prometheus" \
  --web.listen-address="127.0.0.1:$PROM_PORT" --web.enable-lifecycle --storage.tsdb.retention.time=60d >"$demo/prometheus.log" 2>&1 &
pids+=($!)
wait_ready Prometheus "${pids[-1]}" "http://127.0.0.1:$PROM_PORT/-/ready" "$demo/prometheus.log"
sleep 6   # a first scrape of the simulator
bin/slo-exporter serve --config.file="$demo/slo.yaml" --web.listen-address="127.0.0.1:$EXPORTER_PORT" \
  >"$demo/slo-exporter.log" 2>&1 &
pids+=($!)
wait_ready slo-exporter "${pids[-1]}" "http://127.0.0.1:$EXPORTER_PORT/-/ready" "$demo/slo-exporter.log" 600

where=$(cat <<TXT
demo: running. Logs and configuration in $demo/
  status page     http://127.0.0.1:$EXPORTER_PORT/
  slo_* metrics   http://127.0.0.1:$EXPORTER_PORT/metrics
  Prometheus      http://127.0.0.1:$PROM_PORT/graph?g0.expr=slo_burn_rate%7Bwindow%3D%225m%22%7D
  alerts          http://127.0.0.1:$PROM_PORT/alerts
  simulator       http://127.0.0.1:$SIM_PORT/  (incidents: internal/simulator/testdata/incidents.yaml;
                  inject one: curl -XPOST '127.0.0.1:$SIM_PORT/-/incident?service=model-api&error_ratio=0.5&duration=5m')
Ctrl-C stops everything.
TXT
)
echo "$where"
sleep 2
# The summary is redrawn every 5 s with the URLs and the incident command
# under it, so they stay on screen.
while true; do
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || die "a demo process ($p) exited; logs in $demo/"
  done
  summary=$(bin/slo-exporter status --url="http://127.0.0.1:$EXPORTER_PORT/metrics" 2>&1 || true)
  printf '\033[H\033[2J%s  slo-exporter demo (Ctrl-C to stop)\n\n%s\n\n%s\n' "$(date +%T)" "$summary" "$where"
  sleep 5
done
