#!/usr/bin/env bash
# bench-daemon.sh: what the daemon costs per tick, and what the same SLO costs
# Prometheus as multi-window recording rules, for N = 1,000 and 10,000 groups.
#
# For each N, against a local Prometheus that scrapes synthetic counters
# (bench/gen: bench_requests_total{model,code} for N models) with history
# backfilled by promtool:
#   1. baseline: Prometheus CPU with nothing but the scrape;
#   2. rules: the 16 recording rules of a rule generator (SLI and error
#      ratio over 5m..30d, by model) evaluated every 30s: Prometheus CPU per
#      cycle and the group's and each rule's evaluationTime;
#   3. exporter: slo-exporter with one grouped ratio SLO (N groups, 30d, default
#      tiers): start-up backfill, then CPU per tick of the exporter and of
#      Prometheus (minus baseline), query and evaluation wall time, RSS;
#   4. exposition: /metrics size and the wall and CPU time of several scrapes;
#   5. scraped: Prometheus also scrapes the exporter every 30s: its extra CPU
#      per scrape (ingesting the slo_* series).
# and, for the ratios to what Prometheus cannot do cheaper, two floors:
#   3b. one curl instant query of every source series' latest sample (a
#      range of one scrape interval): the least a tick's read can cost
#      Prometheus;
#   5b. a static copy of one /metrics answer (bench/gen static), scraped by
#      the same Prometheus in the same minutes: the least the exporter's
#      scrape can take.
# CPU is read from /proc/<pid>/stat (the source of process_cpu_seconds_total)
# so that measuring never costs a scrape inside a measured interval.
#
# Environment: SIZES ("1000 10000"), HISTORY_<N> (history span, default 48h
# for 1000, 6h for 10000, 1h above), INTERVAL (exporter evaluation interval, 15s),
# TICKS (ticks measured, 4), CYCLES (rule cycles measured, 2), BASELINE
# (seconds of each of the two baselines, 20), RULES (1: run phase 2; 0 skips
# the recording rules, which take minutes per cycle above 10,000 groups),
# SLOS (split the groups between this many SLOs, a divisor of 100; default 1),
# SHARD (i/n: the exporter runs serve --shard=i/n and measures that shard
# alone), SCRAPED (1: run phase 5), SCRAPES (scrapes of the exporter
# measured in phase 5, 4), FLOOR (1: measure the floors of a tick's read
# and of a scrape, phases 3b and 5b; 0 skips them), FLOOR_QUERIES (3),
# WRITE_DOCS (1: update the figures of each size
# in docs/benchmarks.md, each in its own block, so that a run of one size
# keeps the others), KEEP (1: keep the work directory),
# SLO_EXPORTER, PROMETHEUS, PROMTOOL (binaries), PORT_BASE (19100),
# EXPORTER_ENV (extra environment for the exporter, e.g. GOGC=100).
# Everything listens on 127.0.0.1. Needs curl, jq and awk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SIZES=${SIZES:-"1000 10000"}
INTERVAL=${INTERVAL:-15s}
TICKS=${TICKS:-4}
CYCLES=${CYCLES:-2}
BASELINE=${BASELINE:-20}
SCRAPED=${SCRAPED:-1}
SCRAPES=${SCRAPES:-4}
FLOOR=${FLOOR:-1}
FLOOR_QUERIES=${FLOOR_QUERIES:-3}
RULES=${RULES:-1}
SLOS=${SLOS:-1}
SHARD=${SHARD:-}
EXPORTER_ENV=${EXPORTER_ENV:-}
WRITE_DOCS=${WRITE_DOCS:-1}
PORT_BASE=${PORT_BASE:-19100}
SCRAPE_INTERVAL=30s
RULE_INTERVAL=30s
GEN_ADDR=127.0.0.1:$((PORT_BASE + 1))
PROM_ADDR=127.0.0.1:$((PORT_BASE + 90))
EXP_ADDR=127.0.0.1:$((PORT_BASE + 99))
STATIC_ADDR=127.0.0.1:$((PORT_BASE + 98))
PROM=http://$PROM_ADDR
EXP=http://$EXP_ADDR

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# find NAME ENVVAR: the binary from $ENVVAR, else PATH, else ~/go/bin.
find_bin() {
	local v=${!2:-}
	if [ -n "$v" ]; then [ -x "$v" ] || die "$2=$v is not executable"; echo "$v"; return; fi
	if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
	[ -x "$HOME/go/bin/$1" ] && { echo "$HOME/go/bin/$1"; return; }
	die "$1 not found (set $2)"
}
PROMETHEUS_BIN=$(find_bin prometheus PROMETHEUS)
PROMTOOL_BIN=$(find_bin promtool PROMTOOL)
for t in curl jq awk; do command -v $t >/dev/null || die "$t is needed"; done

WORK=$(mktemp -d /tmp/bench-daemon.XXXXXX)
PIDS=""
cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start NAME CMD...: run CMD in the background, logging to $WORK/NAME.log.
start() {
	local name=$1; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}
# stop PID: end one process this script started and wait for it.
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}

if [ -n "${SLO_EXPORTER:-}" ]; then
	EXPORTER_BIN=$SLO_EXPORTER
else
	EXPORTER_BIN=$ROOT/bin/slo-exporter
	# Always: a binary left by an earlier build would measure old code
	# (go build only rebuilds what changed).
	make build >&2
fi
[ -x "$EXPORTER_BIN" ] || die "no slo-exporter binary at $EXPORTER_BIN"
go build -o "$WORK/gen" ./bench/gen
# Run Prometheus under its own name: a `pkill prometheus` (or -f) elsewhere on
# a shared machine must not end the benchmark's server halfway.
ln -s "$PROMETHEUS_BIN" "$WORK/bench-prom"

CLK=$(getconf CLK_TCK)
now() { date +%s.%N; }
# cpu PID: user+system CPU seconds of the process.
cpu() {
	[ -r "/proc/$1/stat" ] || die "process $1 ended early; see the logs in $WORK (KEEP=1 keeps them); a pkill of prometheus elsewhere on the machine ends ours too"
	awk -v c="$CLK" '{print ($14 + $15) / c}' "/proc/$1/stat"
}
# rss PID: resident memory in bytes.
# (%.0f: mawk's %d stops at 2^31 - 1, which capped every RSS above 2 GiB at 2048 MiB.)
rss() { awk '$1 == "VmRSS:" { printf "%.0f\n", $2 * 1024 }' "/proc/$1/status"; }
# calc EXPR: floating-point arithmetic.
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
# mval FILE NAME: sum of the samples of metric NAME (any labels) in a text exposition.
mval() {
	awk -v n="$2" 'index($0, n "{") == 1 || index($0, n " ") == 1 { s += $NF; f = 1 } END { if (f) printf "%.10g", s; else print "nan" }' "$1"
}
# wait_for SECONDS CMD...: retry CMD every second until it succeeds.
wait_for() {
	local n=$1; shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 1; done
	return 1
}
# promq EXPR: the first value of an instant query.
promq() { curl -sf --data-urlencode "query=$1" "$PROM/api/v1/query" | jq -r '.data.result[0].value[1] // "nan"'; }
# sleep_to_phase PERIOD OFFSET: sleep until OFFSET seconds after a multiple of PERIOD.
sleep_to_phase() {
	awk -v p="$1" -v o="$2" -v t="$(now)" 'BEGIN { d = (o - (t % p)); while (d <= 0.2) d += p; printf "%.3f", d }' | xargs sleep
}
secs() { # duration text (30s, 6h, 3d) -> seconds
	awk -v d="$1" 'BEGIN { n = d + 0; u = substr(d, length(d)); m = (u == "s") ? 1 : (u == "m") ? 60 : (u == "h") ? 3600 : (u == "d") ? 86400 : 0; if (!m) exit 1; print n * m }'
}
IV=$(secs "$INTERVAL")
# baseline PID: CPU seconds per second of the process over $BASELINE seconds.
baseline() {
	local c0 c1 w0 w1
	c0=$(cpu "$1"); w0=$(now); sleep "$BASELINE"; c1=$(cpu "$1"); w1=$(now)
	calc "($c1 - $c0) / ($w1 - $w0)"
}
# qwall FILE: seconds Prometheus spent in /api/v1/query handlers, from its /metrics.
qwall() { awk 'index($0, "prometheus_http_request_duration_seconds_sum{handler=\"/api/v1/query\"}") == 1 { print $NF }' "$1"; }
declare -A R

bench_size() {
	local N=$1 dir=$WORK/n$1
	local span_txt
	span_txt=$(eval "echo \${HISTORY_$N:-}")
	[ -n "$span_txt" ] || { if [ "$N" -le 1000 ]; then span_txt=48h; elif [ "$N" -le 10000 ]; then span_txt=6h; else span_txt=1h; fi; }
	local span; span=$(secs "$span_txt")
	mkdir -p "$dir/om" "$dir/data"

	# History: N models x {ok,error} every 30s, one OpenMetrics file per 2h block.
	local t_end origin t0
	t_end=$(($(date +%s) - 30))
	origin=$((t_end - span - 86400))
	t0=$(now)
	R[samples_$N]=$("$WORK/gen" history -models "$N" -origin "$origin" -from "$((t_end - span))" -to "$t_end" -step "$SCRAPE_INTERVAL" -out "$dir/om")
	ls "$dir"/om/*.om | xargs -P 2 -I{} "$PROMTOOL_BIN" tsdb create-blocks-from openmetrics --quiet {} "$dir/data" >/dev/null
	rm -rf "$dir/om"
	R[span_$N]=$span_txt
	R[histsecs_$N]=$(calc "$(now) - $t0")
	log "N=$N: ${R[samples_$N]} samples over $span_txt into TSDB blocks in ${R[histsecs_$N]}s"

	"$WORK/gen" config -models "$N" -slos "$SLOS" -target "$GEN_ADDR" -exporter "$EXP_ADDR" -prometheus "$PROM" \
		-static "$STATIC_ADDR" -interval "$INTERVAL" -scrape-interval "$SCRAPE_INTERVAL" -rule-interval "$RULE_INTERVAL" -out "$dir"
	cp "$dir/prometheus-base.yml" "$dir/prom.yml"

	start "gen-$N" "$WORK/gen" serve -addr "$GEN_ADDR" -models "$N" -origin "$origin"
	local gen_pid=$LAST_PID
	# max-block-duration=2h: the promtool blocks are not compacted while we measure.
	start "prometheus-$N" "$WORK/bench-prom" --config.file="$dir/prom.yml" --storage.tsdb.path="$dir/data" \
		--storage.tsdb.retention.time=90d --storage.tsdb.max-block-duration=2h --web.enable-lifecycle \
		--web.listen-address="$PROM_ADDR" --query.max-samples=1000000000 --log.level=warn
	local prom_pid=$LAST_PID
	wait_for 60 curl -sf "$PROM/-/ready" || die "Prometheus not ready (see $WORK/prometheus-$N.log)"
	wait_for 60 sh -c "[ \"\$(curl -sf --data-urlencode 'query=up{job=\"bench\"}' $PROM/api/v1/query | jq -r '.data.result[0].value[1]')\" = 1 ]" \
		|| die "Prometheus does not scrape bench/gen"

	# 1. Baseline.
	local c0 c1 w0 w1
	local base; base=$(baseline $prom_pid)
	R[base_$N]=$(calc "$base * 1000")
	log "N=$N: baseline Prometheus CPU ${R[base_$N]} ms/s"

	# 2. Recording rules.
	if [ "$RULES" = 1 ]; then
		cp "$dir/prometheus-rules.yml" "$dir/prom.yml"
		curl -sf -X POST "$PROM/-/reload" >/dev/null || die "reload with rules failed"
		wait_for 90 sh -c "curl -sf $PROM/api/v1/rules | jq -e '.data.groups[0].rules[0].health == \"ok\"'" \
			|| die "rules were not evaluated: $(curl -s "$PROM/api/v1/rules" | head -c 500)"
		local it0 it1
		curl -sf "$PROM/metrics" >"$dir/prom0.txt"
		it0=$(mval "$dir/prom0.txt" prometheus_rule_group_iterations_total)
		c0=$(cpu $prom_pid); w0=$(now)
		local k
		for k in $(seq "$CYCLES"); do
			sleep "$(secs "$RULE_INTERVAL")"
			curl -sf "$PROM/api/v1/rules" >"$dir/rules-$k.json"
		done
		c1=$(cpu $prom_pid); w1=$(now)
		curl -sf "$PROM/metrics" >"$dir/prom1.txt"
		it1=$(mval "$dir/prom1.txt" prometheus_rule_group_iterations_total)
		local cycles; cycles=$(calc "$it1 - $it0")
		R[cycles_$N]=$cycles
		if [ "$cycles" = 0 ]; then
			# A busy machine can stretch one evaluation past the measured
			# cycles: the rules' figures are then missing, the rest is not.
			log "N=$N: no rule cycle completed in $(calc "$w1 - $w0")s (evaluationTime above the interval?): rules figures skipped"
			R[rules_cpu_$N]=skipped; R[rules_eval_$N]=skipped; : >"$dir/per-window.txt"
		else
			R[missed_$N]=$(mval "$dir/prom1.txt" prometheus_rule_group_iterations_missed_total)
			R[rules_cpu_$N]=$(calc "(($c1 - $c0) - $base * ($w1 - $w0)) / $cycles * 1000")
			R[rules_eval_$N]=$(cat "$dir"/rules-*.json | jq -s '[.[].data.groups[0].evaluationTime] | add / length * 1000')
			# Per window: mean evaluationTime of its two rules, summed.
			cat "$dir"/rules-*.json | jq -r '.data.groups[0].rules[] | "\(.name) \(.evaluationTime)"' |
				awk '{ w = $1; sub(/.*:rate/, "", w); s[w] += $2; c[$1]++; n[w] = c[$1] } END { for (w in s) printf "%s %.6f\n", w, s[w] / n[w] }' >"$dir/per-window.txt"
			log "N=$N: rules: ${R[rules_cpu_$N]} ms CPU per cycle over $cycles cycles, evaluationTime ${R[rules_eval_$N]} ms"
		fi
		cp "$dir/prometheus-base.yml" "$dir/prom.yml"
		curl -sf -X POST "$PROM/-/reload" >/dev/null || die "reload without rules failed"
	else
		R[rules_cpu_$N]=skipped; R[cycles_$N]=skipped; R[rules_eval_$N]=skipped; : >"$dir/per-window.txt"
	fi

	# 3. The exporter, against a fresh baseline: the rules' work leaves
	# Prometheus with a larger heap to collect and return.
	base=$(baseline $prom_pid)
	R[base2_$N]=$(calc "$base * 1000")
	log "N=$N: baseline after the rules ${R[base2_$N]} ms/s"
	w0=$(now)
	local shard_args=()
	[ -z "$SHARD" ] || shard_args=(--shard="$SHARD")
	# shellcheck disable=SC2086 # EXPORTER_ENV is a list of NAME=value words
	start "exporter-$N" env $EXPORTER_ENV "$EXPORTER_BIN" serve --config.file="$dir/slo.yaml" --web.listen-address="$EXP_ADDR" --log.level=warn "${shard_args[@]}"
	local exp_pid=$LAST_PID # env execs the exporter: the same process
	wait_for 400 curl -sf "$EXP/-/ready" || die "slo-exporter not ready (see $WORK/exporter-$N.log)"
	R[ready_$N]=$(calc "$(now) - $w0")
	R[backfill_cpu_$N]=$(cpu $exp_pid)
	log "N=$N: slo-exporter ready after ${R[ready_$N]}s (backfill, ${R[backfill_cpu_$N]} CPU s)"
	# Skip the first ticks after ready (they may still close the gap left by the backfill).
	sleep_to_phase "$IV" 3
	local m0 m1
	m0=$(now); curl -sf "$EXP/metrics" >"$dir/exp0.txt"
	sleep_to_phase "$IV" 3
	local e0 e1 p0 p1
	curl -sf "$PROM/metrics" >"$dir/promq0.txt"
	e0=$(cpu $exp_pid); p0=$(cpu $prom_pid); w0=$(now)
	# RSS every second over the measured ticks: the steady maximum.
	local rss_max=0 r end sleep_until
	end=$(awk -v w="$w0" -v d="$((IV * TICKS))" 'BEGIN { printf "%.3f", w + d }') # not calc: %g would round the time
	while awk -v e="$end" -v t="$(now)" 'BEGIN { exit !(t < e - 1) }'; do
		r=$(rss $exp_pid); [ "$r" -gt "$rss_max" ] && rss_max=$r
		sleep 1
	done
	sleep_until=$(calc "$end - $(now)"); awk -v d="$sleep_until" 'BEGIN { exit !(d > 0) }' && sleep "$sleep_until"
	e1=$(cpu $exp_pid); p1=$(cpu $prom_pid); w1=$(now)
	curl -sf "$PROM/metrics" >"$dir/promq1.txt"
	R[rss_$N]=$(rss $exp_pid)
	R[rss_max_$N]=$rss_max
	R[hwm_$N]=$(awk '$1 == "VmHWM:" {print $2 * 1024}' "/proc/$exp_pid/status")
	m1=$(now); curl -sf "$EXP/metrics" >"$dir/exp1.txt"
	local q0 q1 ticks
	q0=$(mval "$dir/exp0.txt" slo_exporter_queries_total); q1=$(mval "$dir/exp1.txt" slo_exporter_queries_total)
	ticks=$(printf %.0f "$(calc "($w1 - $w0) / $IV")")
	R[ticks_$N]=$ticks
	# Ticks between the two reads of /metrics: those of the measured window and the ones before it.
	R[qpt_$N]=$(calc "($q1 - $q0) / $(printf %.0f "$(calc "($m1 - $m0) / $IV")")")
	R[ppt_$N]=$(calc "($(mval "$dir/exp1.txt" slo_exporter_query_points_total) - $(mval "$dir/exp0.txt" slo_exporter_query_points_total)) / ($q1 - $q0) * ${R[qpt_$N]}")
	R[query_ms_$N]=$(calc "($(mval "$dir/exp1.txt" slo_exporter_query_duration_seconds_sum) - $(mval "$dir/exp0.txt" slo_exporter_query_duration_seconds_sum)) / ($(mval "$dir/exp1.txt" slo_exporter_query_duration_seconds_count) - $(mval "$dir/exp0.txt" slo_exporter_query_duration_seconds_count)) * 1000")
	R[exp_cpu_$N]=$(calc "($e1 - $e0) / $ticks * 1000")
	R[gc_$N]=$(calc "($(mval "$dir/exp1.txt" go_gc_duration_seconds_count) - $(mval "$dir/exp0.txt" go_gc_duration_seconds_count)) / $(printf %.0f "$(calc "($m1 - $m0) / $IV")")")
	R[prom_q_cpu_$N]=$(calc "(($p1 - $p0) - $base * ($w1 - $w0)) / $ticks * 1000")
	R[prom_q_wall_$N]=$(calc "($(qwall "$dir/promq1.txt") - $(qwall "$dir/promq0.txt")) / $ticks * 1000")
	R[heap_$N]=$(mval "$dir/exp1.txt" go_memstats_heap_inuse_bytes)
	R[groups_$N]=$(mval "$dir/exp1.txt" slo_exporter_groups)
	R[tracked_$N]=$(mval "$dir/exp1.txt" slo_exporter_tracked_series)
	log "N=$N: exporter ${R[exp_cpu_$N]} ms CPU/tick, Prometheus ${R[prom_q_cpu_$N]} ms CPU/tick, ${R[groups_$N]} groups"

	# 3b. The floor of a tick's read: one instant query of every source
	# series over one scrape interval (its latest sample: one sample each),
	# sent by curl halfway between two ticks, FLOOR_QUERIES times. A shard reads a part of the
	# series, which no single selector of bench/gen names: skipped.
	R[floor_q_wall_$N]=skipped; R[floor_q_cpu_$N]=skipped; R[floor_q_samples_$N]=skipped
	if [ -z "$SHARD" ] && [ "$FLOOR" = 1 ]; then
		local fq walls="" cpus="" fw
		fq="bench_requests_total{job=\"bench\"}[$SCRAPE_INTERVAL]"
		for _ in $(seq "$FLOOR_QUERIES"); do
			sleep_to_phase "$IV" "$(calc "$IV / 2")"
			p0=$(cpu $prom_pid)
			fw=$(curl -sf -o "$dir/floor-query.json" -w '%{time_total}' --data-urlencode "query=$fq" "$PROM/api/v1/query") || die "floor query $fq failed"
			p1=$(cpu $prom_pid)
			walls="$walls $fw"; cpus="$cpus $(calc "($p1 - $p0) - $base * $fw")"
		done
		R[floor_q_wall_$N]=$(echo "$walls" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF * 1000 }')
		R[floor_q_cpu_$N]=$(echo "$cpus" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF * 1000 }')
		R[floor_q_samples_$N]=$(jq '[.data.result[].values | length] | add // 0' "$dir/floor-query.json")
		log "N=$N: floor query $fq: ${R[floor_q_wall_$N]} ms, ${R[floor_q_cpu_$N]} ms Prometheus CPU, ${R[floor_q_samples_$N]} samples"
	fi

	# 4. Exposition: five scrapes, plus one gzipped.
	local evals="" sizes="" times="" i
	e0=$(cpu $exp_pid)
	for i in 1 2 3 4 5; do
		set -- $(curl -sf -o "$dir/scrape.txt" -w '%{time_total} %{size_download}' "$EXP/metrics")
		times="$times $1"; sizes="$sizes $2"
		evals="$evals $(mval "$dir/scrape.txt" slo_exporter_evaluation_duration_seconds)"
		[ "$i" = 1 ] && q0=$(mval "$dir/scrape.txt" slo_exporter_queries_total)
	done
	e1=$(cpu $exp_pid)
	q1=$(mval "$dir/scrape.txt" slo_exporter_queries_total)
	local during; during=$(calc "($q1 - $q0) / ${R[qpt_$N]}")
	R[scrape_cpu_$N]=$(calc "(($e1 - $e0) * 1000 - $during * ${R[exp_cpu_$N]}) / 5")
	R[scrape_ms_$N]=$(echo "$times" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF * 1000 }')
	R[scrape_max_ms_$N]=$(echo "$times" | awk '{ m = 0; for (i = 1; i <= NF; i++) if ($i > m) m = $i; printf "%.1f", m * 1000 }')
	R[bytes_$N]=$(echo "$sizes" | awk '{ print $NF }')
	R[series_$N]=$(grep -vc '^#' "$dir/scrape.txt")
	R[slo_series_$N]=$(grep -c '^slo_[a-z_]*{slo=' "$dir/scrape.txt" || true)
	R[per_group_$N]=$(calc "${R[slo_series_$N]} / ${R[groups_$N]}")
	R[gzip_$N]=$(curl -sf -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "$EXP/metrics")
	# Not exp0's: at 100,000 groups a tick outlasts the 3 s skipped after
	# ready, and exp0 still shows the evaluation of the ready snapshot, which
	# sums every window afresh (windows.Counts' running totals start there):
	# 4 s against 0.2 s for the ticks after it.
	R[eval_ms_$N]=$(echo "$(mval "$dir/exp1.txt" slo_exporter_evaluation_duration_seconds)$evals" |
		awk '{ for (i = 1; i <= NF; i++) { s += $i; if ($i > m) m = $i }; printf "%.1f (max %.1f)", s / NF * 1000, m * 1000 }')
	log "N=$N: /metrics ${R[bytes_$N]} bytes, ${R[series_$N]} samples, ${R[scrape_ms_$N]} ms per scrape"

	# 5. Prometheus scrapes the exporter.
	R[ingest_cpu_$N]=skipped; R[ingest_scrape_$N]=skipped; R[ingest_scrape_max_$N]=skipped; R[ingest_scrape_mean_$N]=skipped; R[prom_rss_$N]=$(rss $prom_pid)
	if [ "$SCRAPED" = 1 ]; then
		cp "$dir/prometheus-scraped.yml" "$dir/prom.yml"
		curl -sf -X POST "$PROM/-/reload" >/dev/null || die "reload with the exporter job failed"
		# The first scrape creates every series: minutes at 100,000 groups.
		wait_for 300 sh -c "[ \"\$(curl -sf --data-urlencode 'query=up{job=\"slo-exporter\"}' $PROM/api/v1/query | jq -r '.data.result[0].value[1]')\" = 1 ]" \
			|| die "Prometheus does not scrape slo-exporter"
		# The first scrape creates the series; measure the next SCRAPES: a
		# window of SCRAPES x 30 + 10 s from 5s after the first scrape holds
		# exactly that many.
		local first; first=$(curl -sf --data-urlencode 'query=up{job="slo-exporter"}' "$PROM/api/v1/query" | jq -r '.data.result[0].value[0]')
		sleep_to_phase 30 "$(calc "($first % 30) + 5")"
		p0=$(cpu $prom_pid); w0=$(now)
		sleep $((SCRAPES * 30 + 10))
		p1=$(cpu $prom_pid); w1=$(now)
		local scrapes=$SCRAPES tk; tk=$(calc "($w1 - $w0) / $IV")
		local win=$((SCRAPES * 30 + 10))s
		R[ingest_scrape_max_$N]=$(calc "$(promq "max_over_time(scrape_duration_seconds{job=\"slo-exporter\"}[$win])") * 1000")
		R[ingest_scrape_mean_$N]=$(calc "$(promq "avg_over_time(scrape_duration_seconds{job=\"slo-exporter\"}[$win])") * 1000")
		R[ingest_scrapes_$N]=$scrapes
		R[ingest_cpu_$N]=$(calc "((($p1 - $p0) - $base * ($w1 - $w0)) * 1000 - $tk * ${R[prom_q_cpu_$N]}) / $scrapes")
		R[ingest_scrape_$N]=$(calc "$(promq 'scrape_duration_seconds{job="slo-exporter"}') * 1000")
		R[ingest_samples_$N]=$(promq 'scrape_samples_scraped{job="slo-exporter"}')
		R[prom_rss_$N]=$(rss $prom_pid)
		log "N=$N: Prometheus ingests the exporter: ${R[ingest_cpu_$N]} ms CPU per scrape over $scrapes scrapes"
	fi

	R[promsamples_$N]=$(promq 'prometheus_tsdb_head_series')

	# 5b. The floor of a scrape: the same Prometheus also scrapes a static
	# copy of one gzipped /metrics answer (bench/gen static), which does no
	# work per scrape; both jobs' scrape_duration_seconds over the same
	# SCRAPES scrapes, after the copy's first.
	R[floor_scrape_mean_$N]=skipped; R[floor_scrape_max_$N]=skipped; R[floor_exp_mean_$N]=skipped; R[floor_exp_max_$N]=skipped
	if [ "$SCRAPED" = 1 ] && [ "$FLOOR" = 1 ]; then
		curl -sf -H 'Accept-Encoding: gzip' -o "$dir/metrics.gz" "$EXP/metrics" || die "saving /metrics failed"
		start "static-$N" "$WORK/gen" static -addr "$STATIC_ADDR" -file "$dir/metrics.gz"
		local static_pid=$LAST_PID
		cp "$dir/prometheus-floor.yml" "$dir/prom.yml"
		curl -sf -X POST "$PROM/-/reload" >/dev/null || die "reload with the static job failed"
		wait_for 300 sh -c "[ \"\$(curl -sf --data-urlencode 'query=up{job=\"static\"}' $PROM/api/v1/query | jq -r '.data.result[0].value[1]')\" = 1 ]" \
			|| die "Prometheus does not scrape the static copy (see $WORK/static-$N.log)"
		first=$(curl -sf --data-urlencode 'query=up{job="static"}' "$PROM/api/v1/query" | jq -r '.data.result[0].value[0]')
		sleep_to_phase 30 "$(calc "($first % 30) + 5")"
		sleep $((SCRAPES * 30 + 10))
		local fwin=$((SCRAPES * 30 + 10))s
		R[floor_scrape_mean_$N]=$(calc "$(promq "avg_over_time(scrape_duration_seconds{job=\"static\"}[$fwin])") * 1000")
		R[floor_scrape_max_$N]=$(calc "$(promq "max_over_time(scrape_duration_seconds{job=\"static\"}[$fwin])") * 1000")
		R[floor_exp_mean_$N]=$(calc "$(promq "avg_over_time(scrape_duration_seconds{job=\"slo-exporter\"}[$fwin])") * 1000")
		R[floor_exp_max_$N]=$(calc "$(promq "max_over_time(scrape_duration_seconds{job=\"slo-exporter\"}[$fwin])") * 1000")
		stop "$static_pid"
		log "N=$N: scrape_duration_seconds mean ${R[floor_exp_mean_$N]} ms for the exporter, ${R[floor_scrape_mean_$N]} ms for its static copy"
	fi
	stop "$exp_pid"; stop "$prom_pid"; stop "$gen_pid"
	rm -rf "$dir/data"
}

t_all=$(now)
for N in $SIZES; do bench_size "$N"; done
TOTAL=$(calc "$(now) - $t_all")

# Report.
RS=$SIZES # the sizes row() prints
row() { # label key
	local line="| $1 |" N v
	for N in $RS; do v=${R[$2_$N]:-n/a}; line="$line $v |"; done
	echo "$line"
}
fmt() { # round a number to 1 decimal, pass text through
	awk -v v="$1" 'BEGIN { if (v ~ /^-?[0-9.eE+-]+$/) printf "%.1f", v; else print v }'
}
for N in $SIZES; do
	R[heap_mb_$N]=$(calc "${R[heap_$N]} / 1048576")
	for k in base base2 rules_cpu rules_eval exp_cpu prom_q_cpu prom_q_wall scrape_cpu ingest_cpu query_ms ready backfill_cpu histsecs heap_mb gc per_group; do R[${k}_$N]=$(fmt "${R[${k}_$N]}"); done
	for k in rss rss_max hwm; do R[${k}_mb_$N]=$(fmt "$(calc "${R[${k}_$N]} / 1048576")"); done
	R[exp_cpu_group_$N]=$(awk -v c="${R[exp_cpu_$N]}" -v g="${R[groups_$N]}" 'BEGIN { printf "%.1f", c * 1000 / g }')
	R[prom_rss_mb_$N]=$(fmt "$(calc "${R[prom_rss_$N]} / 1048576")")
	R[mb_$N]=$(fmt "$(calc "${R[bytes_$N]} / 1048576")")
	R[gzmb_$N]=$(fmt "$(calc "${R[gzip_$N]} / 1048576")")
	for k in ingest_scrape ingest_scrape_mean ingest_scrape_max floor_scrape_mean floor_scrape_max floor_exp_mean floor_exp_max; do R[${k}_$N]=$(fmt "${R[${k}_$N]}"); done
	R[floor_q_ratio_$N]=skipped; R[floor_scrape_ratio_$N]=skipped
	[ "${R[floor_q_cpu_$N]}" = skipped ] || R[floor_q_ratio_$N]=$(awk -v a="${R[prom_q_cpu_$N]}" -v b="${R[floor_q_cpu_$N]}" 'BEGIN { printf "%.2f", a / b }')
	[ "${R[floor_scrape_mean_$N]}" = skipped ] || R[floor_scrape_ratio_$N]=$(awk -v a="${R[floor_exp_mean_$N]}" -v b="${R[floor_scrape_mean_$N]}" 'BEGIN { printf "%.2f", a / b }')
	if [ "${R[rules_cpu_$N]}" = skipped ]; then
		for k in ratio_q ratio_all ratio_sys extra extra_ratio; do R[${k}_$N]=skipped; done
		continue
	fi
	R[ratio_q_$N]=$(fmt "$(calc "${R[rules_cpu_$N]} / ${R[prom_q_cpu_$N]}")")
	if [ "${R[ingest_cpu_$N]}" != skipped ]; then
		R[ratio_all_$N]=$(fmt "$(calc "${R[rules_cpu_$N]} / (${R[prom_q_cpu_$N]} + ${R[ingest_cpu_$N]})")")
		R[ratio_sys_$N]=$(fmt "$(calc "${R[rules_cpu_$N]} / (${R[prom_q_cpu_$N]} + ${R[ingest_cpu_$N]} + ${R[exp_cpu_$N]} + ${R[scrape_cpu_$N]})")")
	fi
	# Window costs, and the rules' cost per sample scanned on the longest window that holds all data.
	while read -r w t; do R[win_${w}_$N]=$(fmt "$(calc "$t * 1000")"); done <"$WORK/n$N/per-window.txt"
	# Extrapolation of the rules' CPU to 30 days of history: each window
	# shorter than the data keeps its measured share; each longer one is
	# scaled by window / data span (linear in samples scanned).
	R[extra_$N]=$(awk -v d="$(secs "${R[span_$N]}")" -v c="${R[rules_cpu_$N]}" '
		BEGIN { split("5m 300 30m 1800 1h 3600 2h 7200 6h 21600 1d 86400 3d 259200 30d 2592000", a, " "); for (i = 1; i < 16; i += 2) w[a[i]] = a[i + 1] }
		{ t = $2; all += t; ext += (w[$1] > d) ? t * w[$1] / d : t }
		END { printf "%.0f", c * ext / all }' "$WORK/n$N/per-window.txt")
	R[extra_ratio_$N]=$(fmt "$(calc "${R[extra_$N]} / 30000")")
done

# report: the tables of the sizes in RS.
report() {
	local header sep
	header="| | $(for N in $RS; do printf 'N = %s | ' "$N"; done)"
	sep="|---|$(for _ in $RS; do printf -- '---|'; done)"
	echo "Machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM, shared with other work"
	echo "Versions: $("$PROMETHEUS_BIN" --version 2>&1 | head -1); $("$EXPORTER_BIN" --version 2>&1 | head -1); $(go version | cut -d' ' -f3)"
	echo "Settings: scrape ${SCRAPE_INTERVAL}, rule group ${RULE_INTERVAL}, exporter evaluation_interval ${INTERVAL}, ${SLOS} SLO(s)${SHARD:+, shard $SHARD}${EXPORTER_ENV:+, exporter environment $EXPORTER_ENV}, ${TICKS} ticks, ${CYCLES} rule cycles, ${SCRAPES} scrapes of the exporter, ${BASELINE}s baseline; run took $(fmt "$TOTAL")s"
	echo
	echo "Data and set-up"
	echo
	echo "$header"; echo "$sep"
	row "history in the TSDB (then live)" span
	row "samples backfilled (promtool)" samples
	row "groups tracked by the exporter" groups
	row "source series tracked" tracked
	row "exporter start-up backfill to ready (s)" ready
	row "exporter CPU for that backfill (s)" backfill_cpu
	row "Prometheus baseline CPU, scraping only (ms/s)" base
	row "the same after the rules phase, used for the exporter (ms/s)" base2
	echo
	echo "slo-exporter per tick"
	echo
	echo "$header"; echo "$sep"
	row "queries per tick" qpt
	row "samples returned per tick" ppt
	row "query wall time, mean per query (ms)" query_ms
	row "evaluation wall time (ms)" eval_ms
	row "exporter CPU per tick: queries + merge + evaluation + compression (ms)" exp_cpu
	row "the same per group (us)" exp_cpu_group
	row "Go collections per tick" gc
	row "exporter RSS at the end (MiB)" rss_mb
	row "exporter RSS, maximum over the measured ticks (MiB)" rss_max_mb
	row "exporter peak RSS since start, backfill included (VmHWM, MiB)" hwm_mb
	row "exporter Go heap in use (MiB)" heap_mb
	row "/metrics samples" series
	row "slo_* series per group" per_group
	row "/metrics size (MiB)" mb
	row "/metrics gzip (MiB)" gzmb
	row "/metrics scrape wall time, no gzip, mean of 5 (ms)" scrape_ms
	row "/metrics scrape wall time, no gzip, max of 5 (ms)" scrape_max_ms
	row "exporter CPU per /metrics scrape, no gzip (ms)" scrape_cpu
	row "Prometheus CPU per tick for the exporter's queries (ms)" prom_q_cpu
	row "Prometheus /api/v1/query handler wall time per tick (ms)" prom_q_wall
	row "floor: one instant query of every source series' latest sample, wall (ms)" floor_q_wall
	row "floor: that query's Prometheus CPU (ms)" floor_q_cpu
	row "floor: that query's samples" floor_q_samples
	row "Prometheus CPU per tick / the floor query's" floor_q_ratio
	row "Prometheus CPU per scrape of the exporter, ingestion (ms)" ingest_cpu
	row "Prometheus scrape_duration_seconds of the exporter, last (ms)" ingest_scrape
	row "the same, mean over the measured scrapes (ms)" ingest_scrape_mean
	row "the same, max over the measured scrapes (ms)" ingest_scrape_max
	row "floor: scrape_duration_seconds of a static copy of /metrics, mean (ms)" floor_scrape_mean
	row "floor: the same, max (ms)" floor_scrape_max
	row "the exporter's scrape_duration_seconds over the same minutes, mean (ms)" floor_exp_mean
	row "the exporter's scrape over the same minutes, max (ms)" floor_exp_max
	row "the exporter's mean scrape / the static copy's" floor_scrape_ratio
	row "Prometheus RSS at the end (MiB)" prom_rss_mb
	echo
	echo "Recording rules (16 rules: SLI and error ratio x 8 windows), every ${RULE_INTERVAL}"
	echo
	echo "$header"; echo "$sep"
	row "cycles measured" cycles
	row "iterations missed (total)" missed
	row "Prometheus CPU per cycle (ms)" rules_cpu
	row "group evaluationTime, mean (ms)" rules_eval
	for w in 5m 30m 1h 2h 6h 1d 3d 30d; do row "evaluationTime of the $w rules (ms)" "win_$w"; done
	row "CPU per cycle extrapolated to 30d of data (ms; windows beyond the data scaled linearly)" extra
	row "that extrapolation as a share of one core per 30s" extra_ratio
	echo
	echo "Ratios (Prometheus CPU, rules per 30s cycle over the exporter approach per 30s)"
	echo
	echo "$header"; echo "$sep"
	row "rules / exporter's queries" ratio_q
	row "rules / (queries + ingesting the exporter)" ratio_all
	row "rules / (queries + ingesting + the exporter's own CPU)" ratio_sys
}
report >"$WORK/report.md"
cat "$WORK/report.md"
for N in $SIZES; do RS=$N; report >"$WORK/report-$N.md"; done

if [ "$WRITE_DOCS" = 1 ]; then
	doc=$ROOT/docs/benchmarks.md
	[ -f "$doc" ] || die "$doc missing"
	grep -q '<!-- bench-daemon:end -->' "$doc" || die "$doc has no bench-daemon block"
	# One block per size inside the bench-daemon markers: a run replaces the
	# blocks of its sizes and keeps the others; a new size goes last.
	for N in $SIZES; do
		# A shard's figures are a block of their own.
		awk -v rep="$WORK/report-$N.md" -v d="$(date -u +%Y-%m-%d)" -v n="$N" -v shard="$SHARD" -v slos="$SLOS" -v key="N=$N${SHARD:+ shard=$SHARD}" '
			function block() {
				print "<!-- bench-daemon:" key ":begin -->"; print ""
				printf "### N = %s%s%s\n\n", n, (slos > 1 ? ", " slos " SLOs" : ""), (shard != "" ? ", shard " shard : "")
				print "Measured " d " by `scripts/bench-daemon.sh`."; print ""
				while ((getline l < rep) > 0) print l
				print ""; print "<!-- bench-daemon:" key ":end -->"; done = 1
			}
			$0 == "<!-- bench-daemon:" key ":begin -->" { block(); skip = 1; next }
			$0 == "<!-- bench-daemon:" key ":end -->" { skip = 0; next }
			/<!-- bench-daemon:end -->/ && !done { block(); print "" }
			!skip' "$doc" >"$WORK/doc.md"
		cp "$WORK/doc.md" "$doc"
	done
	log "figures of N = $SIZES written to docs/benchmarks.md"
fi
