#!/usr/bin/env bash
# bench-backfill.sh: what the start-up backfill costs, before and after a
# change, against the floor: one PromQL query that reads every sample once.
#
# One local Prometheus serves DAYS of history (bench/gen: two counters per
# model and pod, PODS pods, one sample every STEP, written as TSDB blocks by
# promtool) for SLOS models; the configuration has one SLO per model (good:
# its ok counters, valid: all of its counters, so 2 x PODS series), so no
# two SLOs share a query, with a period of PERIOD. Once Prometheus has
# compacted promtool's 2h blocks (no compaction for 70 s), one after the
# other on the same Prometheus:
#   floor:  sum by (model) (increase(bench_requests_total[PERIOD])), timed,
#           with the Prometheus CPU it costs;
#   before: slo-exporter built from git ref BEFORE (default main), started
#           with the configuration: wall time until /-/ready, Prometheus CPU
#           meanwhile, queries and points (its own self-metrics), response
#           bytes (the body bytes of its backfill, from its log; with
#           PROXY=1, counted by a proxy in front of Prometheus, for builds
#           that do not log them), peak RSS (VmHWM) at ready,
#           RSS after SETTLE seconds of ticking (steady), and the time its
#           steps waited for streamed reads ("wait s", from its log's
#           read_wait: near the wall time, Prometheus set the pace);
#   after:  the same for the working tree's build;
#   steady: the working tree's build without backfill (backfill: false),
#           its RSS after SETTLE seconds of ticking: the memory the engine
#           needs, against which the backfills' peaks are judged.
# Every pod's counters restart once a day, at an hour of their own
# (RESET_EVERY, 0: never), as a daily deploy would: the backfill must read
# raw samples around each restart.
# Prints one table. With CYCLE=1 it then measures, on the same Prometheus
# and history, what one 30 s evaluation cycle costs Prometheus with Sloth's
# rules (raw and optimized) and with the exporter, and prints a second
# table (scripts/lib/bench-cycle.sh, which lists its own settings).
# History timestamps sit PHASE after the minute, as Prometheus stamps a
# target's scrapes at an offset of its own, to the millisecond (0s puts
# them on the minute, where every 2h block's chunks start on its first
# instant).
# Environment: SLOS (200), PODS (2; 1 gives the figures before pods),
# DAYS (7), PERIOD (DAYS-1 days), STEP (60s), PHASE (17.431s),
# RESET_EVERY (24h), SETTLE
# (60), QUERY_LOG (0), BEFORE (main), RUNS ("before after"), CYCLE (0),
# PROMETHEUS, PROMTOOL (binaries), PORT_BASE (19300), KEEP (1: keep the
# work directory), REPEAT (1), REUSE (a work directory kept before).
# REPEAT=N measures the floor and every run N times in turn, prints each
# round's table and then the median of each ratio: the floor moves by a
# third from one query to the next on a shared machine, so one round
# cannot settle a ratio near its goal. REUSE=DIR serves the history and
# compacted blocks of a run kept with KEEP=1 (it is kept again), skipping
# the minutes of history and compaction: for A/B rounds of one change.
# Its history ends when it was written, and a backfill runs to now, so
# its last hours hold fewer samples than a fresh run's.
# The builds read Prometheus directly, as the floor query does: a proxy
# copying their 80 MiB of answers took CPU from the same two cores
# (PROXY=1 puts it back, its CPU in the "proxy CPU s" column).
# Everything listens on 127.0.0.1. Needs curl, jq and awk.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SLOS=${SLOS:-200}
PODS=${PODS:-2}
DAYS=${DAYS:-7}
PERIOD=${PERIOD:-$((DAYS - 1))d}
STEP=${STEP:-60s}
PHASE=${PHASE:-17.431s}
RESET_EVERY=${RESET_EVERY:-24h}
SETTLE=${SETTLE:-60}
BEFORE=${BEFORE:-main}
RUNS=${RUNS:-"before after"}
REPEAT=${REPEAT:-1}
REUSE=${REUSE:-}
PROXY=${PROXY:-0}
PORT_BASE=${PORT_BASE:-19300}
PROM_ADDR=127.0.0.1:$((PORT_BASE + 90))
PROXY_ADDR=127.0.0.1:$((PORT_BASE + 91))
EXP_ADDR=127.0.0.1:$((PORT_BASE + 99))
PROM=http://$PROM_ADDR

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
find_bin() {
	local v=${!2:-}
	if [ -n "$v" ]; then [ -x "$v" ] || die "$2=$v is not executable"; echo "$v"; return; fi
	if command -v "$1" >/dev/null 2>&1; then command -v "$1"; return; fi
	[ -x "$HOME/go/bin/$1" ] && { echo "$HOME/go/bin/$1"; return; }
	die "$1 not found (set $2)"
}
PROMETHEUS_BIN=$(find_bin prometheus PROMETHEUS)
PROMTOOL_BIN=$(find_bin promtool PROMTOOL)
for t in curl jq awk git; do command -v $t >/dev/null || die "$t is needed"; done

if [ -n "$REUSE" ]; then
	{ [ -f "$REUSE/history.env" ] && [ -d "$REUSE/data" ]; } || die "REUSE=$REUSE holds no kept history (history.env, data/)"
	WORK=$REUSE
	KEEP=1
	rm -f "$WORK/bench-prom"
else
	WORK=$(mktemp -d /tmp/bench-backfill.XXXXXX)
fi
PIDS=""
cleanup() {
	local p
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	if [ "${KEEP:-0}" = 1 ]; then log "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start() {
	local name=$1; shift
	"$@" >"$WORK/$name.log" 2>&1 &
	LAST_PID=$!
	PIDS="$PIDS $LAST_PID"
}
stop() {
	kill "$1" 2>/dev/null || true
	wait "$1" 2>/dev/null || true
	PIDS=$(echo "$PIDS" | tr ' ' '\n' | grep -vx "$1" | tr '\n' ' ')
}
CLK=$(getconf CLK_TCK)
now() { date +%s.%N; }
cpu() { awk -v c="$CLK" '{print ($14 + $15) / c}' "/proc/$1/stat"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
calc() { awk "BEGIN { printf \"%.6g\", $1 }"; }
mval() {
	awk -v n="$2" 'index($0, n "{") == 1 || index($0, n " ") == 1 { s += $NF; f = 1 } END { if (f) printf "%.10g", s; else print "nan" }' "$1"
}
wait_for() {
	local n=$1; shift
	for _ in $(seq "$n"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.2; done
	return 1
}
# wait_ready PID URL: until URL answers, failing at once if PID exits.
wait_ready() {
	while kill -0 "$1" 2>/dev/null; do
		curl -sf "$2" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# Builds: BEFORE from git (never touching any checkout), after from here.
log "building $BEFORE and the working tree"
if [[ " $RUNS " == *" before "* ]]; then
	mkdir -p "$WORK/before-src"
	git archive "$BEFORE" | tar -x -C "$WORK/before-src"
	(cd "$WORK/before-src" && go build -o "$WORK/before" ./cmd/slo-exporter)
fi
go build -o "$WORK/after" ./cmd/slo-exporter
go build -o "$WORK/gen" ./bench/gen
ln -s "$PROMETHEUS_BIN" "$WORK/bench-prom"

# History.
if [ -n "$REUSE" ]; then
	# shellcheck source=/dev/null
	. "$WORK/history.env"
	log "reusing $samples samples ending $(date -u -d "@$t_end" +%H:%M:%S) from $WORK"
else
	step_s=$(awk -v d="$STEP" 'BEGIN { u = substr(d, length(d)); n = d + 0; print (u == "m") ? n * 60 : n }')
	t_end=$(($(date +%s) - 60))
	t_end=$((t_end - t_end % step_s))
	from=$((t_end - DAYS * 86400))
	mkdir -p "$WORK/om" "$WORK/data"
	t0=$(now)
	ORIGIN=$((from - 86400))
	samples=$("$WORK/gen" history -models "$SLOS" -pods "$PODS" -origin "$ORIGIN" -from "$from" -to "$t_end" -step "$STEP" -phase "$PHASE" -reset-every "$RESET_EVERY" -out "$WORK/om")
	find "$WORK/om" -name '*.om' -print0 | xargs -0 -P 2 -I{} "$PROMTOOL_BIN" tsdb create-blocks-from openmetrics --quiet {} "$WORK/data" >/dev/null
	rm -rf "$WORK/om"
	log "$samples samples ($SLOS models x $((PODS * 2)) series, $DAYS days at $STEP) into TSDB blocks in $(calc "$(now) - $t0")s"
	printf 't_end=%s\nsamples=%s\n' "$t_end" "$samples" >"$WORK/history.env"
fi

printf 'global:\n  scrape_interval: 1h\n' >"$WORK/prom.yml"
# QUERY_LOG=1: Prometheus logs every query with its timings to
# $WORK/query.log (with KEEP=1, to see where a backfill spends its time).
if [ "${QUERY_LOG:-0}" = 1 ]; then printf '  query_log_file: %s\n' "$WORK/query.log" >>"$WORK/prom.yml"; fi
start prometheus "$WORK/bench-prom" --config.file="$WORK/prom.yml" --storage.tsdb.path="$WORK/data" \
	--storage.tsdb.retention.time=90d --web.listen-address="$PROM_ADDR" --query.max-samples=1000000000 --log.level=warn
PROM_PID=$LAST_PID
wait_for 300 curl -sf "$PROM/-/ready" || die "Prometheus not ready (see $WORK/prometheus.log)"
# promtool writes one block per 2h (372 for 31 days), a layout no running
# Prometheus keeps: it compacts them into 6h, 18h, 54h and 162h blocks in
# its first minutes. Every block is one more index and iterator per series
# to every query (a 5m range at a 30m step paid 4x per sample on 2h
# blocks), and the compaction costs Prometheus CPU, so nothing is measured
# until it is done.
compactions() {
	curl -sf "$PROM/metrics" >"$WORK/prom.metrics" || die "cannot read $PROM/metrics"
	calc "$(mval "$WORK/prom.metrics" prometheus_tsdb_compactions_total) + $(mval "$WORK/prom.metrics" prometheus_tsdb_vertical_compactions_total)"
}
# compacted: until no compaction ran for 70 s (Prometheus plans one a minute).
compacted() {
	local t0 k k1
	t0=$(now); k=$(compactions)
	for _ in $(seq 60); do
		sleep 70
		k1=$(compactions)
		[ "$k1" = "$k" ] && break
		k=$k1
	done
	log "compactions done: $k in all, waited $(calc "$(now) - $t0")s"
}
[ -n "$REUSE" ] || compacted
READ_URL=$PROM
PROXY_PID=
if [ "$PROXY" = 1 ]; then
	start proxy "$WORK/gen" proxy -addr "$PROXY_ADDR" -target "$PROM"
	PROXY_PID=$LAST_PID
	wait_for 50 curl -sf "http://$PROXY_ADDR/-/bytes" || die "proxy not up"
	READ_URL=http://$PROXY_ADDR
fi
"$WORK/gen" slos -models "$SLOS" -prometheus "$READ_URL" -period "$PERIOD" >"$WORK/slos.yaml"
sed 's/^  backfill: true$/  backfill: false/' "$WORK/slos.yaml" >"$WORK/slos-nobackfill.yaml"

# Warm the page cache, so that neither build pays for the first read.
curl -sf --data-urlencode "query=count(count_over_time(bench_requests_total[$((DAYS * 24))h]))" "$PROM/api/v1/query" >/dev/null

declare -A R
floor_q="sum by (model) (increase(bench_requests_total{job=\"bench\"}[$PERIOD]))"
# floor: one query reading every sample of the period once.
floor() {
	local c0 w0 n
	c0=$(cpu "$PROM_PID"); w0=$(now)
	n=$(curl -sf --data-urlencode "query=$floor_q" --data-urlencode "time=$t_end" "$PROM/api/v1/query" | jq '.data.result | length')
	R[floor_wall]=$(calc "$(now) - $w0"); R[floor_cpu]=$(calc "$(cpu "$PROM_PID") - $c0")
	[ "$n" = "$SLOS" ] || die "floor query returned $n series, want $SLOS"
	log "floor: ${R[floor_wall]}s wall, ${R[floor_cpu]}s Prometheus CPU"
}

run() { # run NAME BINARY [CONFIG]
	local name=$1 bin=$2 cfg=${3:-$WORK/slos.yaml} b0=0 p0=0 c0 w0 pid
	if [ -n "$PROXY_PID" ]; then
		b0=$(curl -sf "http://$PROXY_ADDR/-/bytes" | awk '{print $1}'); p0=$(cpu "$PROXY_PID")
	fi
	c0=$(cpu "$PROM_PID"); w0=$(now)
	start "$name" "$bin" serve --config.file="$cfg" --web.listen-address="$EXP_ADDR"
	pid=$LAST_PID
	wait_ready "$pid" "http://$EXP_ADDR/-/ready" || die "$name exited before it was ready (see $WORK/$name.log)"
	R[${name}_wall]=$(calc "$(now) - $w0")
	R[${name}_cpu]=$(calc "$(cpu "$PROM_PID") - $c0")
	R[${name}_selfcpu]=$(cpu "$pid")
	R[${name}_hwm]=$(calc "$(status_kb "$pid" VmHWM) / 1024")
	if [ -n "$PROXY_PID" ]; then
		R[${name}_bytes]=$(calc "($(curl -sf "http://$PROXY_ADDR/-/bytes" | awk '{print $1}') - $b0) / 1048576")
		R[${name}_proxy]=$(calc "$(cpu "$PROXY_PID") - $p0")
	else
		R[${name}_bytes]=$(sed -n 's/.*"bytes": \([0-9]*\).*/\1/p' "$WORK/$name.log" | tail -1)
		[ -z "${R[${name}_bytes]}" ] || R[${name}_bytes]=$(calc "${R[${name}_bytes]} / 1048576")
		R[${name}_proxy]=-
	fi
	curl -sf "http://$EXP_ADDR/metrics" >"$WORK/$name.metrics"
	R[${name}_queries]=$(mval "$WORK/$name.metrics" slo_exporter_queries_total)
	R[${name}_points]=$(mval "$WORK/$name.metrics" slo_exporter_query_points_total)
	# How long the steps waited for streamed reads (builds that log it).
	R[${name}_wait]=$(sed -n 's/.*"read_wait": \([0-9.e+-]*\).*/\1/p' "$WORK/$name.log" | tail -1)
	[ -n "${R[${name}_bytes]}" ] || R[${name}_bytes]=-
	[ -n "${R[${name}_wait]}" ] || R[${name}_wait]=-
	sleep "$SETTLE"
	R[${name}_rss]=$(calc "$(status_kb "$pid" VmRSS) / 1024")
	log "$name: ready in ${R[${name}_wall]}s, ${R[${name}_queries]} queries, ${R[${name}_points]} points, ${R[${name}_bytes]} MiB, VmHWM ${R[${name}_hwm]} MiB, steady ${R[${name}_rss]} MiB"
	stop "$pid"
}
row() { printf '%-8s %10s %12s %10s %12s %12s %10s %10s %10s %10s %12s\n' "$@"; }
# median: of the numbers on stdin.
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
declare -A RATIOS
for round in $(seq "$REPEAT"); do
	[ "$REPEAT" = 1 ] || log "round $round of $REPEAT"
	floor
	for n in $RUNS; do run "$n" "$WORK/$n"; done
	# steady: the engine's own memory, once (it does not depend on the round).
	[ "$round" = 1 ] && run steady "$WORK/after" "$WORK/slos-nobackfill.yaml"

	printf '\n%d SLOs x %d series, %d days at %s (%s samples, restarts every %s), period %s, Prometheus %s\n' "$SLOS" $((PODS * 2)) "$DAYS" "$STEP" "$samples" "$RESET_EVERY" "$PERIOD" \
		"$("$PROMETHEUS_BIN" --version 2>&1 | head -1 | awk '{print $3}')"
	[ "$REPEAT" = 1 ] || printf 'round %d of %d\n' "$round" "$REPEAT"
	row run "wall s" "Prom CPU s" queries points "MiB read" "own CPU s" "VmHWM MiB" "RSS MiB" "wait s" "proxy CPU s"
	row floor "${R[floor_wall]}" "${R[floor_cpu]}" 1 - - - - - - -
	for n in $RUNS steady; do
		[ "$n" != steady ] || [ "$round" = 1 ] || continue
		row "$n" "${R[${n}_wall]}" "${R[${n}_cpu]}" "${R[${n}_queries]}" \
			"${R[${n}_points]}" "${R[${n}_bytes]}" "${R[${n}_selfcpu]}" "${R[${n}_hwm]}" "${R[${n}_rss]}" "${R[${n}_wait]}" "${R[${n}_proxy]}"
	done
	for n in $RUNS; do
		w=$(calc "${R[${n}_wall]} / ${R[floor_wall]}"); c=$(calc "${R[${n}_cpu]} / ${R[floor_cpu]}"); m=$(calc "${R[${n}_hwm]} / ${R[steady_rss]}")
		RATIOS[${n}_wall]+="$w "; RATIOS[${n}_cpu]+="$c "; RATIOS[${n}_mem]+="$m "; RATIOS[${n}_self]+="${R[${n}_selfcpu]} "
		printf '%s: wall %sx the floor, Prometheus CPU %sx the floor, peak RSS %sx steady\n' "$n" "$w" "$c" "$m"
	done
done
if [ "$REPEAT" != 1 ]; then
	printf '\nmedians of %d rounds\n' "$REPEAT"
	for n in $RUNS; do
		printf '%s: wall %sx the floor, Prometheus CPU %sx the floor, peak RSS %sx steady, own CPU %ss (per round: wall %s)\n' "$n" \
			"$(tr ' ' '\n' <<<"${RATIOS[${n}_wall]}" | grep . | median)" "$(tr ' ' '\n' <<<"${RATIOS[${n}_cpu]}" | grep . | median)" \
			"$(tr ' ' '\n' <<<"${RATIOS[${n}_mem]}" | grep . | median)" "$(tr ' ' '\n' <<<"${RATIOS[${n}_self]}" | grep . | median)" "${RATIOS[${n}_wall]% }"
	done
fi

if [ "${CYCLE:-0}" = 1 ]; then
	# shellcheck source=scripts/lib/bench-cycle.sh
	. "$ROOT/scripts/lib/bench-cycle.sh"
fi
