#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Hypercall cost on the emulated hosts against a port-I/O exit on this
# machine's /dev/kvm, all measured now. Median of RUNS (default 5) runs.
#   steady: a warm site (no #UD, in-emulation fast path)
#   first:  the first call at a fresh site (#UD + rewrite on a foreign host)
#   second: the second call there (the site's block is translated again)
#   many:   steady0 again after 2000 sites were learned (the hooked set is bounded)
#   rdmsr:  an emulated RDMSR (IA32_APIC_BASE): an emulator stop and restart
# Output: a table on stdout, build/bench/hypercall.json.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
O=${O:-$top/build/out}
runs=${RUNS:-5}
json=$top/build/bench/hypercall.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -n | awk '{v[NR]=$1} END {if (NR == 0) print "n/a"; else print v[int((NR + 1) / 2)]}'; }

for flavour in 64 32; do
	for host in intel amd; do
		i=0
		while [ "$i" -lt "$runs" ]; do
			"$O/pvhc" run --host "$host" "$O/guest/hcbench.$flavour.elf" >"$tmp/out" 2>&1 ||
				[ $? -eq 1 ] || { cat "$tmp/out" >&2; exit 1; }
			awk -v h="$host" -v f="$flavour" '$1 == "BENCH" {print $3 > ("'"$tmp"'/" h "." f "." $2)}' "$tmp/out"
			i=$((i + 1))
		done
	done
done
# Same number of samples for the baseline.
i=0
: >"$tmp/baseline"
reason=""
while [ "$i" -lt "$runs" ]; do
	line=$("$O/kvm_pio_baseline" 200000)
	case $line in
	"BASELINE ns_per_exit "*) echo "${line#BASELINE ns_per_exit }" >>"$tmp/baseline" ;;
	*) reason=${line#BASELINE n/a }; break ;;
	esac
	i=$((i + 1))
done
base=$(median <"$tmp/baseline")

get() { if [ -f "$tmp/$1.$2.$3" ]; then median <"$tmp/$1.$2.$3"; else echo n/a; fi; }
ratio() { awk -v b="$base" -v v="$1" 'BEGIN { if (b == "n/a" || v == 0) print "n/a"; else printf "%.0fx", b / v }'; }

printf '%-7s %-7s %9s %11s %11s %10s %10s %10s %10s %12s\n' host guest "loop ns" "steady0 ns" \
	"steady4 ns" "first ns" "second ns" "many ns" "rdmsr ns" "vs KVM exit"
{
	printf '{\n  "runs": %s,\n  "baseline": {"what": "KVM_EXIT_IO round trip on /dev/kvm", ' "$runs"
	if [ "$base" = n/a ]; then
		printf '"ns": null, "reason": "%s"},\n' "${reason:-no samples}"
	else
		printf '"ns": %s},\n' "$base"
	fi
	printf '  "results": [\n'
} >"$json"
sep=""
for flavour in 64 32; do
	for host in intel amd; do
		loop=$(get "$host" "$flavour" loop_ns)
		s0=$(get "$host" "$flavour" steady0_ns)
		s4=$(get "$host" "$flavour" steady4_ns)
		first=$(get "$host" "$flavour" first_ns)
		second=$(get "$host" "$flavour" second_ns)
		many=$(get "$host" "$flavour" steady0_many_ns)
		msr=$(get "$host" "$flavour" rdmsr_ns)
		printf '%-7s %-7s %9s %11s %11s %10s %10s %10s %10s %12s\n' "$host" "$flavour-bit" "$loop" \
			"$s0" "$s4" "$first" "$second" "$many" "$msr" "$(ratio "$s0")"
		printf '%s    {"host": "%s", "guest": "%s-bit", "loop_ns": %s, "steady0_ns": %s, "steady4_ns": %s, "first_ns": %s, "second_ns": %s, "steady0_many_sites_ns": %s, "rdmsr_ns": %s, "speedup_vs_kvm_exit": "%s"}' \
			"$sep" "$host" "$flavour" "$loop" "$s0" "$s4" "$first" "$second" "$many" "$msr" "$(ratio "$s0")" >>"$json"
		sep=",
"
	done
done
printf '\n  ]\n}\n' >>"$json"
if [ "$base" = n/a ]; then
	echo "baseline: n/a ($reason)"
else
	echo "baseline: KVM_EXIT_IO round trip on this machine's /dev/kvm: $base ns"
fi
echo "target: steady0 <= 100 ns, i.e. >= 50x faster than the baseline; JSON: $json"
