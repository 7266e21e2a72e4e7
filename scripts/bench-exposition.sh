#!/bin/sh
# Benchmarks the /metrics exposition on 10 SLOs x 1000 groups (10,000
# groups, 8 windows, 4 tiers: about 510,000 series) and prints each
# implementation's cost relative to the default text writer, from one run.
#
#   scripts/bench-exposition.sh            # 5 iterations each
#   BENCHTIME=10x scripts/bench-exposition.sh
set -eu
cd "$(dirname "$0")/.."
out=$(mktemp)
trap 'rm -f "$out"' EXIT
go test ./internal/export/ -run '^$' -bench 'Exposition|ScrapeHandler|Prepare|GzipSnapshot' \
	-benchtime "${BENCHTIME:-5x}" -count 1 | tee "$out"
echo
echo "relative to BenchmarkExposition/text (time, bytes allocated, allocations):"
awk '
/^BenchmarkExposition\// {
	name = $1; sub(/-[0-9]+$/, "", name)
	for (i = 3; i < NF; i++) {
		if ($(i+1) == "ns/op") ns[name] = $i
		if ($(i+1) == "B/op") bytes[name] = $i
		if ($(i+1) == "allocs/op") allocs[name] = $i
		if ($(i+1) == "bytes/scrape") size[name] = $i
	}
	order[++n] = name
}
END {
	base = "BenchmarkExposition/text"
	if (!(base in ns)) { print "no baseline"; exit 1 }
	for (i = 1; i <= n; i++) {
		k = order[i]
		printf "  %-40s %8.2fx time  %8.2fx bytes  %8.2fx allocs  output %.1f MB\n", k,
			ns[k] / ns[base], bytes[k] / bytes[base], allocs[k] / allocs[base], size[k] / 1e6
	}
}' "$out"
