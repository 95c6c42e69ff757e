#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build-level test of the guest hypercall API (guest/include/pvhc/
# kvm_hypercall.h): compile the call sites in selftests/abi/sites.h with gcc
# and clang at -O0, -O2, -Os, -m64 and -m32, non-PIC and PIC, and let
# scripts/check-hypercall-asm.py prove from the disassembly that every site
# emits exactly 0f 01 c1 with nr in RAX, p1..p4 in RBX, RCX, RDX, RSI and the
# result taken from RAX, and that the "memory" clobber orders a store before
# the hypercall and a load after it.
#
# A checker that cannot fail proves nothing, so every build also compiles
# selftests/abi/hypercall_broken.c -- the same sites over a deliberately
# wrong copy of the API -- and requires the checker to reject each defect,
# for the right reason (its report must name the defect):
#   BROKEN_VMMCALL   every build            report names "VMMCALL"
#   BROKEN_SWAP      every build            report names "p1 must be in"
#   BROKEN_RESULT    every build            report names "result"
#   BROKEN_NARROW    -m64 builds            report names "truncated"
#                    (in -m32 unsigned int and unsigned long are the same)
#   BROKEN_NOMEMORY  gcc at -O2 and -Os     report names "memory"
#   BROKEN_NOVOLATILE  gcc at -O2 and -Os   report names "volatile"
#                    (only there does the optimizer exploit the missing
#                    clobber or qualifier, as measured with gcc 12 and
#                    clang 14: clang treats a volatile asm as a memory
#                    barrier and an asm with a "memory" clobber as a side
#                    effect, and -O0 never reorders, merges or drops)
#
# One KTAP result per (compiler, -O, -m, PIC) build: 2 x 12. Objects and
# logs go to $O/abi/guest-api, never into the tree.
# Exit status: 0 when nothing failed (skips are fine), 1 otherwise; 4 (skip)
# when objdump or python3 is missing.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${O:-$top/build/out}
case $out in /*) ;; *) out=$top/$out ;; esac
out=$out/abi/guest-api

checker=$top/scripts/check-hypercall-asm.py
sites=$top/selftests/abi/hypercall_sites.c
broken=$top/selftests/abi/hypercall_broken.c
# No stack protector: with -fstack-protector-all a site gets a canary check
# and a branch to __stack_chk_fail, and the checker reads sites as
# straight-line code. (The distributions' default, -strong, adds nothing to
# these sites; saying so explicitly keeps the test independent of it.)
cflags="-std=c11 -ffreestanding -fno-stack-protector -Wall -Wextra -Werror \
-I$top/include/uapi -I$top/guest/include"

for tool in objdump python3; do
	command -v "$tool" >/dev/null 2>&1 || {
		echo "TAP version 13"
		echo "1..0 # SKIP $tool not installed (scripts/install-deps.sh)"
		exit 4
	}
done

# One build: writes "ok|fail|skip<TAB>description<TAB>detail" to $dir/result
# and the details of a failure to $dir/diag.
build() { # cc m opt pic
	local cc=$1 m=$2 opt=$3 pic=$4
	local dir=$out/$cc$opt-m$m$pic
	local desc="$cc $opt -m$m $pic" flags="$cflags -m$m $opt $pic"
	local defects d word objs status obj names=""
	mkdir -p "$dir"
	: >"$dir/diag"

	if ! command -v "$cc" >/dev/null 2>&1; then
		printf 'skip\t%s\t%s\n' "$desc" "$cc not installed" >"$dir/result"
		return
	fi
	printf 'int pvhc_probe;\n' >"$dir/probe.c"
	if ! $cc "-m$m" -c "$dir/probe.c" -o "$dir/probe.o" >/dev/null 2>&1; then
		printf 'skip\t%s\t%s\n' "$desc" "$cc cannot target -m$m" >"$dir/result"
		return
	fi

	defects="VMMCALL:VMMCALL SWAP:p1_must_be_in RESULT:result"
	[ "$m" = 64 ] && defects="$defects NARROW:truncated"
	case $cc$opt in
	gcc-O2 | gcc-Os) defects="$defects NOMEMORY:memory NOVOLATILE:volatile" ;;
	esac

	# Compile the real sites and every applicable broken copy.
	# shellcheck disable=SC2086
	if ! $cc $flags -c "$sites" -o "$dir/sites.o" >"$dir/sites.cc.log" 2>&1; then
		{ echo "$cc $flags -c $sites"; cat "$dir/sites.cc.log"; } >>"$dir/diag"
		printf 'fail\t%s\t%s\n' "$desc" "sites do not compile" >"$dir/result"
		return
	fi
	objs=$dir/sites.o
	for d in $defects; do
		d=${d%%:*}
		# shellcheck disable=SC2086
		if ! $cc $flags -DBROKEN_$d -c "$broken" -o "$dir/broken-$d.o" \
				>"$dir/broken-$d.cc.log" 2>&1; then
			{ echo "$cc $flags -DBROKEN_$d -c $broken";
			  cat "$dir/broken-$d.cc.log"; } >>"$dir/diag"
			printf 'fail\t%s\t%s\n' "$desc" "BROKEN_$d does not compile" >"$dir/result"
			return
		fi
		objs="$objs $dir/broken-$d.o"
		names="$names, $d"
	done

	# One checker run for all of them; "STATUS OBJECT" per line, each
	# object's report in OBJECT.check.
	# shellcheck disable=SC2086
	python3 "$checker" $objs >"$dir/verdicts" 2>"$dir/checker.err" || true
	status=$(sed -n "s| $dir/sites.o\$||p" "$dir/verdicts")
	if [ "$status" != 0 ]; then
		{ cat "$dir/checker.err"; cat "$dir/sites.o.check" 2>/dev/null; } >>"$dir/diag"
		printf 'fail\t%s\t%s\n' "$desc" "checker rejects the real API" >"$dir/result"
		return
	fi
	# Every defect must be rejected (1, not 2 = could not check), by a
	# report that names it.
	for d in $defects; do
		word=$(echo "${d#*:}" | tr _ ' ')
		d=${d%%:*}
		obj=$dir/broken-$d.o
		status=$(sed -n "s| $obj\$||p" "$dir/verdicts")
		if [ "$status" != 1 ] || ! grep -q "$word" "$obj.check"; then
			{ echo "BROKEN_$d: checker status '$status', want 1 with a report naming '$word':";
			  cat "$dir/checker.err" "$obj.check" 2>/dev/null; } >>"$dir/diag"
			printf 'fail\t%s\t%s\n' "$desc" "checker accepts BROKEN_$d" >"$dir/result"
			return
		fi
	done
	printf 'ok\t%s\t%s\n' "$desc" \
		"$(sed -n 's/.*bit, \([0-9]*\) sites.*/\1/p' "$dir/sites.o.check") sites correct, rejects ${names#, }" \
		>"$dir/result"
}

# Re-entered through xargs, once per build.
if [ "${1:-}" = --build ]; then
	shift
	build "$@"
	exit 0
fi

rm -rf "$out"
mkdir -p "$out"
builds=()
for cc in gcc clang; do
	for m in 64 32; do
		for opt in -O0 -O2 -Os; do
			for pic in -fno-pic -fPIC; do
				builds+=("$cc:$m:$opt:$pic")
			done
		done
	done
done
# Builds are independent: as many at once as there are CPUs.
jobs=$(nproc 2>/dev/null || echo 2)
printf '%s\n' "${builds[@]}" | tr : ' ' |
	xargs -P "$jobs" -L 1 "$0" --build

echo "TAP version 13"
echo "1..24"
n=0
failed=0
for b in "${builds[@]}"; do
	n=$((n + 1))
	IFS=: read -r cc m opt pic <<<"$b"
	dir=$out/$cc$opt-m$m$pic
	if [ ! -s "$dir/result" ]; then
		echo "not ok $n $cc $opt -m$m $pic: the build step itself failed"
		failed=$((failed + 1))
		continue
	fi
	IFS="$(printf '\t')" read -r status desc detail <"$dir/result"
	case $status in
	ok) echo "ok $n $desc: $detail" ;;
	skip) echo "ok $n $desc # SKIP $detail" ;;
	*)
		echo "not ok $n $desc: $detail"
		failed=$((failed + 1))
		sed 's/^/# /' "$dir/diag" | head -n 30
		;;
	esac
done
[ "$failed" -eq 0 ]
