#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run a libFuzzer target for a while.
#   scripts/fuzz.sh [SECONDS] [TARGET]   (default: 60 s, guest_code; or stream)
# The corpus lives in build/fuzz-corpus/TARGET and grows across runs; seeds
# (hypercalls of both vendors, UD2, INT3, HLT, a far jump) are added first.
# A crash leaves its input in build/fuzz-crashes/ and exits non-zero.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-60}
target=${2:-guest_code}
O=${O:-$top/build/out}
bin=$O/fuzz/${target}_fuzz
corpus=$top/build/fuzz-corpus/$target
crashes=$top/build/fuzz-crashes
[ -x "$bin" ] || { echo "fuzz: $bin not built (make fuzz)" >&2; exit 1; }
mkdir -p "$corpus" "$crashes"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$top/scripts/lsan.supp:print_suppressions=0}"

seed() { printf "$2" >"$corpus/seed-$1"; }
if [ "$target" = guest_code ]; then
	# byte 0 = set-up flags (see selftests/fuzz/guest_code_fuzz.c), then code
	seed vmcall-intel64   '\000\270\001\000\000\000\017\001\301\017\001\301\364'
	seed vmcall-amd64     '\001\270\001\000\000\000\017\001\301\017\001\301\364'
	seed vmmcall-intel32  '\002\270\001\000\000\000\017\001\331\364'
	seed vmcall-amd-user  '\021\017\001\301\353\373'
	seed vmcall-amd-nofix '\005\017\001\301\364'
	seed noidt-ud2        '\010\017\013'
	seed int3             '\000\314\364'
	seed straddle         '\001\351\373\017\000\000'
	seed loop             '\000\353\376'
fi
if [ "$target" = stream ]; then
	# Valid streams to mutate from: the demo guest saved at a few points.
	# Byte 0 of each input is the target's control byte (1: fix CRCs).
	for n in 0 5000 200000; do
		[ -f "$corpus/seed-demo-$n" ] && continue
		tmp=$corpus/.seed.tmp
		"$O/pvhc" run --mem 16M --migrate-to "file:$tmp" \
			--migrate-at-insn "$n" "$O/guest/demo.64.elf" >/dev/null 2>&1 || true
		[ -f "$tmp" ] && { printf '\001' | cat - "$tmp" >"$corpus/seed-demo-$n"; rm -f "$tmp"; }
	done
fi
maxlen=4097
[ "$target" = stream ] && maxlen=262144
exec "$bin" -max_total_time="$secs" -max_len="$maxlen" -timeout=10 -rss_limit_mb=4096 \
	-print_final_stats=1 -artifact_prefix="$crashes/" "$corpus"
