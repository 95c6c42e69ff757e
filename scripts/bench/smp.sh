#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# SMP on the emulated AMD host (VMCALL foreign): the cost of a rewrite while
# N vCPUs run, and hypercall throughput against N (guest/bench/smpbench.c).
# Medians of RUNS (default 3) runs per N; the baseline is N = 1 in the same
# run. Output: a table on stdout, build/bench/smp.json.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-$top/build/out}
runs=${RUNS:-3}
json=$top/build/bench/smp.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$top/build/bench"
median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "n/a"; else print v[int((NR + 1) / 2)]}'; }

for n in 1 2 4 8; do
	i=0
	while [ "$i" -lt "$runs" ]; do
		"$O/pvhc" run --host amd --vcpus "$n" --timeout 120 --append "cpus=$n" \
			"$O/guest/smpbench.64.elf" >"$tmp/out" 2>&1 || [ $? -eq 1 ] ||
			{ cat "$tmp/out" >&2; exit 1; }
		awk -v d="$tmp" -v n="$n" '$1 == "BENCH" {print $3 > (d "/" n "." $2)}' "$tmp/out"
		i=$((i + 1))
	done
done

get() { median <"$tmp/$1.$2"; }
base_rw=$(get 1 rewrite_ns)
base_tp=$(get 1 calls_per_s)
printf '%-6s %12s %12s %10s %14s %10s\n' vCPUs "rewrite us" "p90 us" "vs N=1" "calls/s" "vs N=1"
printf '{\n  "runs": %s, "host": "amd",\n  "results": [\n' "$runs" >"$json"
sep=""
for n in 1 2 4 8; do
	rw=$(get "$n" rewrite_ns)
	p90=$(get "$n" rewrite_p90_ns)
	tp=$(get "$n" calls_per_s)
	awk -v n="$n" -v rw="$rw" -v p="$p90" -v tp="$tp" -v brw="$base_rw" -v btp="$base_tp" \
		'BEGIN { printf "%-6s %12.1f %12.1f %9.2fx %14d %9.2fx\n", n, rw / 1000, p / 1000,
			 rw / brw, tp, tp / btp }'
	printf '%s    {"vcpus": %s, "rewrite_ns": %s, "rewrite_p90_ns": %s, "calls_per_s": %s}' \
		"$sep" "$n" "$rw" "$p90" "$tp" >>"$json"
	sep=",
"
done
printf '\n  ]\n}\n' >>"$json"
echo "target: median rewrite (every vCPU stopped, all translations dropped) <= 50 us at 8 vCPUs"
echo "JSON: $json"
