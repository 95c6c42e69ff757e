#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `make demo`: the demo guest on the emulated AMD host, then on the emulated
# Intel host. On AMD every VMCALL site traps #UD once and becomes VMMCALL;
# on Intel VMCALL is native and nothing is rewritten.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-$top/build/out}
pvhc=$O/pvhc
image=$O/guest/demo.64.elf
stats=$O/demo-stats.json

for host in amd intel; do
	echo "== pvhc run --host $host $(basename "$image")"
	status=0
	"$pvhc" run --host "$host" --stats "$stats" "$image" || status=$?
	if [ "$status" -ne 1 ]; then
		echo "demo: the guest failed on the $host host (exit status $status)" >&2
		exit 1
	fi
	# The shim's own view of the same run, from --stats.
	sed -n 's/^  "\(hypercalls\|ud_traps\|rewrites\|sites_learned\|slow_hypercalls\)": \([0-9]*\),$/  \1 \2/p' "$stats" |
		tr '\n' ' ' | sed 's/^/shim:/; s/$/\n/'
	echo
done
