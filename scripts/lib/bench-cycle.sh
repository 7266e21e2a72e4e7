# shellcheck shell=bash
# shellcheck disable=SC2154 # step_s, from, t_end: set by bench-backfill.sh
# scripts/lib/bench-cycle.sh: the CYCLE=1 phase of scripts/bench-backfill.sh,
# sourced by it after its backfill runs, on the same Prometheus and history
# and with its helpers (start, stop, cpu, calc, mval, wait_for, wait_ready,
# compactions, compacted, log, die).
#
# What one 30 s evaluation cycle costs Prometheus (its CPU from
# /proc/<pid>/stat) for the same SLOs (one per model, 99.9% over
# CYCLE_PERIOD) computed three ways:
#   sloth-raw: Sloth's rules with its sli_rules plugin's disableOptimized,
#              every window, 30d included, a rate() over raw samples;
#   sloth-opt: Sloth's default rules, 30d an average of the recorded 5m SLI
#              (backfilled over the history first, so that it reads 30 days
#              of samples as after 30 days of running);
#   exporter:  the working tree's slo-exporter ticking every 30 s, and
#              Prometheus scraping its /metrics every 30 s.
# Throughout, Prometheus scrapes `gen serve` every STEP (the same counters
# as the history, so the two are one series) and an exporter scrape job
# (down while the exporter is not running). The baseline is that alone.
# Every figure is net of the baseline. Windows are whole multiples of both
# 30 s and STEP, so each holds the same number of rule evaluations and
# scrapes. Order: sloth-raw, sloth-opt, then CYCLE_ROUNDS x (baseline,
# exporter) and a last baseline; each exporter window is set against the
# mean of the baselines either side of it, and the spread of those
# differences is printed.
#
# Environment: CYCLE_WINDOW (60: seconds per baseline and exporter
# window), CYCLE_ROUNDS (2), SLOTH_CYCLES (2: cycles measured per Sloth
# variant), CYCLE_PERIOD (30d), SLOTH (binary; `sloth` on PATH or in
# ~/go/bin, scripts/test-deps.sh installs v0.16.0), SLOTH_BACKFILL (1:
# backfill the 5m SLI for sloth-opt). With the defaults the phase takes
# about 16 minutes at SLOS=200 DAYS=31, 7 of them the 5m SLI backfill and
# the compactions after it, which do not depend on the windows.

CYCLE_WINDOW=${CYCLE_WINDOW:-60}
CYCLE_ROUNDS=${CYCLE_ROUNDS:-2}
SLOTH_CYCLES=${SLOTH_CYCLES:-2}
CYCLE_PERIOD=${CYCLE_PERIOD:-30d}
SLOTH_BACKFILL=${SLOTH_BACKFILL:-1}
SLOTH_BIN=$(find_bin sloth SLOTH)
GEN_ADDR=127.0.0.1:$((PORT_BASE + 1))

# unit: the shortest window holding whole rule cycles and whole scrapes.
unit=$(awk -v a=30 -v b="$step_s" 'function gcd(x, y) { return y ? gcd(y, x % y) : x } BEGIN { print a * b / gcd(a, b) }')
[ $((CYCLE_WINDOW % unit)) = 0 ] || die "CYCLE_WINDOW=$CYCLE_WINDOW: want a multiple of $unit s (30 s cycles and STEP=$STEP scrapes)"
sloth_window=$(((SLOTH_CYCLES * 30 + unit - 1) / unit * unit))

prom_metric() { # prom_metric NAME: Prometheus's own metric, summed over its series
	curl -sf "$PROM/metrics" >"$WORK/prom.metrics" || die "cannot read $PROM/metrics"
	mval "$WORK/prom.metrics" "$1"
}
promq() { # promq QUERY: the first value of an instant query
	curl -sf --data-urlencode "query=$1" "$PROM/api/v1/query" | jq -r '.data.result[0].value[1] // "nan"'
}
# within VALUE WANT LO HI: VALUE is a number between LO x WANT and HI x WANT.
within() {
	awk -v g="$1" -v w="$2" -v lo="$3" -v hi="$4" 'BEGIN { exit !(g ~ /^[0-9.]+([eE][-+]?[0-9]+)?$/ && g >= lo * w && g <= hi * w) }'
}

# cycle_config [RULES]: Prometheus scrapes gen serve and the exporter, with
# the rule file RULES if given; reloaded by SIGHUP to the PID this script
# started, and waited for.
cycle_config() {
	{
		printf 'global:\n  scrape_interval: %s\n  evaluation_interval: 30s\n' "$STEP"
		if [ "${QUERY_LOG:-0}" = 1 ]; then printf '  query_log_file: %s\n' "$WORK/query.log"; fi
		if [ -n "${1:-}" ]; then printf 'rule_files: [%s]\n' "$1"; fi
		printf 'scrape_configs:\n'
		printf '  - job_name: bench\n    static_configs: [{targets: ["%s"]}]\n' "$GEN_ADDR"
		printf '    relabel_configs: [{target_label: instance, replacement: bench}]\n'
		printf '  - job_name: slo-exporter\n    scrape_interval: 30s\n    scrape_timeout: 25s\n'
		printf '    static_configs: [{targets: ["%s"]}]\n' "$EXP_ADDR"
	} >"$WORK/prom.yml"
	local t0 t1
	t0=$(prom_metric prometheus_config_last_reload_success_timestamp_seconds)
	sleep 1 # the reload timestamp has a resolution of one second
	kill -HUP "$PROM_PID"
	for _ in $(seq 150); do
		t1=$(prom_metric prometheus_config_last_reload_success_timestamp_seconds)
		[ "$t1" != "$t0" ] && return 0
		sleep 0.2
	done
	die "Prometheus did not reload $WORK/prom.yml (see $WORK/prometheus.log)"
}

# measure NAME SECONDS: Prometheus CPU per 30 s cycle over a window of
# SECONDS, with the rule group time and compactions in it.
measure() {
	local name=$1 secs=$2 c0 w0 g0 k0 c1 w1
	c0=$(cpu "$PROM_PID"); w0=$(now)
	g0=$(prom_metric prometheus_rule_group_duration_seconds_sum); k0=$(compactions)
	sleep "$secs"
	c1=$(cpu "$PROM_PID"); w1=$(now)
	C[${name}_cpu]=$(calc "($c1 - $c0) * 30 / ($w1 - $w0) * 1000")
	C[${name}_eval]=$(calc "($(prom_metric prometheus_rule_group_duration_seconds_sum) - $g0) * 30 / ($w1 - $w0)")
	C[${name}_compact]=$(calc "$(compactions) - $k0")
	log "cycle: $name: ${C[${name}_cpu]} ms Prometheus CPU per cycle, rule groups ${C[${name}_eval]} s per cycle, ${C[${name}_compact]} compactions (window ${secs}s)"
}

# sloth_phase NAME RULES: Sloth's rules loaded, every group evaluated once,
# then measured over SLOTH_CYCLES cycles.
sloth_phase() {
	local name=$1 rules=$2 m0
	cycle_config "$rules"
	wait_for 600 sh -c "curl -sf '$PROM/api/v1/rules' | jq -e '[.data.groups[].lastEvaluation | select(startswith(\"0001-\"))] | length == 0'" \
		|| die "$name: the rule groups were not all evaluated within 120 s"
	m0=$(prom_metric prometheus_rule_group_iterations_missed_total)
	measure "$name" "$sloth_window"
	C[${name}_missed]=$(calc "$(prom_metric prometheus_rule_group_iterations_missed_total) - $m0")
	curl -sf "$PROM/api/v1/rules" >"$WORK/$name.rules.json"
	C[${name}_groups]=$(jq '.data.groups | length' "$WORK/$name.rules.json")
	C[${name}_rules]=$(jq '[.data.groups[].rules[]] | length' "$WORK/$name.rules.json")
	C[${name}_last]=$(calc "$(jq '[.data.groups[].evaluationTime] | add' "$WORK/$name.rules.json")")
	C[${name}_unhealthy]=$(jq '[.data.groups[].rules[] | select(.health != "ok")] | length' "$WORK/$name.rules.json")
	[ "${C[${name}_unhealthy]}" = 0 ] || die "$name: ${C[${name}_unhealthy]} rules failed: $(jq -c '[.data.groups[].rules[] | select(.health != "ok") | .lastError][0]' "$WORK/$name.rules.json")"
}

declare -A C
log "cycle: Prometheus scrapes gen serve every $STEP; Sloth rules and the exporter, one after the other"
start gen-serve "$WORK/gen" serve -addr "$GEN_ADDR" -models "$SLOS" -pods "$PODS" -origin "$ORIGIN" -reset-every "$RESET_EVERY"
wait_for 50 curl -sf "http://$GEN_ADDR/metrics" || die "gen serve not up (see $WORK/gen-serve.log)"
cycle_config ""
wait_for 600 sh -c "[ \"\$(curl -sf --data-urlencode 'query=up{job=\"bench\"}' $PROM/api/v1/query | jq -r '.data.result[0].value[1]')\" = 1 ]" \
	|| die "Prometheus does not scrape gen serve"
# History and live data must be one series: the live samples join the
# history's (same labels, same values at the same instant).
n=$(promq "count(count_over_time(bench_requests_total{job=\"bench\",instance=\"bench\"}[${DAYS}d] @ $t_end) and bench_requests_total)")
[ "$n" = $((SLOS * PODS * 2)) ] || die "live and history series do not line up: $n series carry both, want $((SLOS * PODS * 2))"

# Sloth's rules, raw and optimized, from one spec.
"$WORK/gen" sloth -models "$SLOS" -out "$WORK"
"$SLOTH_BIN" generate --no-log -i "$WORK/sloth-spec.yaml" -o "$WORK/sloth-opt.yml" 2>"$WORK/sloth.log" \
	|| die "sloth generate failed (see $WORK/sloth.log)"
"$SLOTH_BIN" generate --no-log -i "$WORK/sloth-spec.yaml" -o "$WORK/sloth-raw.yml" 2>"$WORK/sloth.log" \
	-s '{"id":"sloth.dev/core/sli_rules/v1","priority":0,"config":{"disableOptimized":true}}' \
	|| die "sloth generate failed (see $WORK/sloth.log)"
n=$(grep -c '\[30d\])))' "$WORK/sloth-raw.yml" || true)
[ "$n" = $((SLOS * 2)) ] || die "sloth-raw.yml reads rate over 30d $n times, want $((SLOS * 2)) (did the sli_rules plugin ignore disableOptimized?)"
n=$(grep -c '\[30d\])))' "$WORK/sloth-opt.yml" || true)
[ "$n" = 0 ] || die "sloth-opt.yml reads rate over 30d $n times, want 0"

if [ "$SLOTH_BACKFILL" = 1 ]; then
	# The 5m SLI over the history, as Sloth's 5m rules would have recorded
	# it every 30 s; Prometheus loads the blocks within a minute and merges
	# them with the history's (vertical compaction), which must end before
	# anything is measured.
	t0=$(now)
	"$PROMTOOL_BIN" tsdb create-blocks-from rules --quiet --url="$PROM" --start="$((from + 300))" --end="$t_end" \
		--output-dir="$WORK/sloth-blocks" "$WORK/sloth-backfill.yml" >"$WORK/sloth-backfill.log" 2>&1 \
		|| die "backfilling Sloth's 5m SLI failed (see $WORK/sloth-backfill.log)"
	mv "$WORK"/sloth-blocks/* "$WORK/data/"
	# One sample every 30 s per SLO from from+300 to t_end, give or take
	# the ends of promtool's range queries.
	want=$((SLOS * ((t_end - from - 300) / 30)))
	q="sum(count_over_time(slo:sli_error:ratio_rate5m{sloth_service=\"bench\",sloth_window=\"5m\"}[$((DAYS * 86400))s] @ $t_end))"
	got=nan
	for _ in $(seq 90); do
		got=$(promq "$q")
		within "$got" "$want" 0.99 2 && break
		sleep 2
	done
	within "$got" "$want" 0.99 1.01 \
		|| die "the 5m SLI backfill did not load: $got samples, want about $want"
	n=$(promq "count(count_over_time(slo:sli_error:ratio_rate5m{sloth_service=\"bench\",sloth_window=\"5m\"}[$((DAYS * 86400))s] @ $t_end))")
	[ "$n" = "$SLOS" ] || die "the 5m SLI backfill holds $n series, want $SLOS"
	C[backfill_samples]=$got
	log "cycle: Sloth's 5m SLI backfilled ($got samples in $n series) in $(calc "$(now) - $t0")s; waiting for compactions to end"
	compacted
fi

sloth_phase sloth-raw "$WORK/sloth-raw.yml"
sloth_phase sloth-opt "$WORK/sloth-opt.yml"
cycle_config ""

"$WORK/gen" slos -models "$SLOS" -prometheus "$PROM" -period "$CYCLE_PERIOD" -interval 30s >"$WORK/slos-cycle.yaml"
base_list="" exp_list=""
for r in $(seq "$CYCLE_ROUNDS"); do
	measure "baseline$r" "$CYCLE_WINDOW"
	base_list="$base_list ${C[baseline${r}_cpu]}"
	start "cycle-exporter$r" "$WORK/after" serve --config.file="$WORK/slos-cycle.yaml" --web.listen-address="$EXP_ADDR"
	pid=$LAST_PID
	wait_ready "$pid" "http://$EXP_ADDR/-/ready" || die "exporter exited before it was ready (see $WORK/cycle-exporter$r.log)"
	sleep 30 # its first tick after the backfill, and Prometheus's first scrape of it
	curl -sf "http://$EXP_ADDR/metrics" >"$WORK/exp.metrics"
	q0=$(mval "$WORK/exp.metrics" slo_exporter_queries_total); k0=$(mval "$WORK/exp.metrics" slo_exporter_ticks_total)
	measure "exporter$r" "$CYCLE_WINDOW"
	curl -sf "http://$EXP_ADDR/metrics" >"$WORK/exp.metrics"
	C[exporter${r}_queries]=$(calc "$(mval "$WORK/exp.metrics" slo_exporter_queries_total) - $q0")
	C[exporter${r}_ticks]=$(calc "$(mval "$WORK/exp.metrics" slo_exporter_ticks_total) - $k0")
	C[exporter${r}_series]=$(promq "scrape_samples_scraped{job=\"slo-exporter\"}")
	exp_list="$exp_list ${C[exporter${r}_cpu]}"
	stop "$pid"
done
measure "baseline$((CYCLE_ROUNDS + 1))" "$CYCLE_WINDOW"
base_list="$base_list ${C[baseline$((CYCLE_ROUNDS + 1))_cpu]}"

# Summary: baseline mean and spread; each exporter window net of the mean
# of the baselines either side.
read -r base_mean base_min base_max < <(echo "$base_list" | tr ' ' '\n' | awk 'NF { s += $1; n++; if (n == 1 || $1 < lo) lo = $1; if (n == 1 || $1 > hi) hi = $1 } END { printf "%.6g %.6g %.6g\n", s / n, lo, hi }')
read -r -a B <<<"$base_list"
read -r -a E <<<"$exp_list"
net_list="" queries=0 ticks=0 compact=0
for i in "${!E[@]}"; do
	net_list="$net_list $(calc "${E[$i]} - (${B[$i]} + ${B[$((i + 1))]}) / 2")"
	queries=$(calc "$queries + ${C[exporter$((i + 1))_queries]}")
	ticks=$(calc "$ticks + ${C[exporter$((i + 1))_ticks]}")
	compact=$(calc "$compact + ${C[exporter$((i + 1))_compact]} + ${C[baseline$((i + 1))_compact]}")
done
read -r exp_net exp_min exp_max < <(echo "$net_list" | tr ' ' '\n' | awk 'NF { s += $1; n++; if (n == 1 || $1 < lo) lo = $1; if (n == 1 || $1 > hi) hi = $1 } END { printf "%.6g %.6g %.6g\n", s / n, lo, hi }')
raw_net=$(calc "${C[sloth-raw_cpu]} - $base_mean")
opt_net=$(calc "${C[sloth-opt_cpu]} - $base_mean")

printf '\nPrometheus CPU per 30 s cycle: %d SLOs x %d series, %s of history, scrape every %s, period %s (ms of CPU)\n' \
	"$SLOS" $((PODS * 2)) "${DAYS}d" "$STEP" "$CYCLE_PERIOD"
crow() { printf '%-10s %8s %12s %14s %20s %12s %10s %8s %10s\n' "$@"; }
crow phase windows "CPU ms" "net ms" "spread (net)" "rules s" "rules" missed "q/tick"
crow baseline $((CYCLE_ROUNDS + 1)) "$base_mean" - "$base_min..$base_max (raw)" - - - -
for s in sloth-raw sloth-opt; do
	crow "$s" 1 "${C[${s}_cpu]}" "$(calc "${C[${s}_cpu]} - $base_mean")" - "${C[${s}_eval]}" "${C[${s}_rules]}" "${C[${s}_missed]}" -
done
crow exporter "$CYCLE_ROUNDS" "$(calc "$exp_net + $base_mean")" "$exp_net" "$exp_min..$exp_max" - - - "$(calc "$queries / $ticks")"
printf 'rules s: rule group evaluation time per cycle (the summed evaluationTime of the last cycle: sloth-raw %s s, sloth-opt %s s, in %s and %s groups)\n' \
	"${C[sloth-raw_last]}" "${C[sloth-opt_last]}" "${C[sloth-raw_groups]}" "${C[sloth-opt_groups]}"
printf 'exporter: %s queries in %s ticks; Prometheus scraped %s samples from it per scrape; %s compactions during the baseline and exporter windows\n' \
	"$queries" "$ticks" "${C[exporter1_series]}" "$compact"
ratio() { # ratio NUM: NUM / the exporter's net CPU, with the range its spread gives
	local lo hi
	lo=$(awk -v n="$1" -v d="$exp_max" 'BEGIN { if (d > 0) printf "%.4g", n / d; else print "inf" }')
	hi=$(awk -v n="$1" -v d="$exp_min" 'BEGIN { if (d > 0) printf "%.4g", n / d; else print "inf" }')
	printf '%s (%s..%s)' "$(awk -v n="$1" -v d="$exp_net" 'BEGIN { if (d > 0) printf "%.4g", n / d; else print "inf" }')" "$lo" "$hi"
}
printf 'sloth-raw / exporter: %s; sloth-opt / exporter: %s (net Prometheus CPU per cycle; range from the exporter windows'"'"' spread)\n' \
	"$(ratio "$raw_net")" "$(ratio "$opt_net")"
