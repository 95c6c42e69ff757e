#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot the payload runtime's self-test (guest/runtime/selftest.c) in both
# flavours under QEMU TCG, as `qemu-system-x86_64 -kernel IMAGE` with COM1 on
# stdout and isa-debug-exit, and check what it prints and how it exits:
# every part reports, and the final hypercall raises #UD (TCG is no KVM), so
# the run ends with "no KVM hypervisor" and status 5 (PVHC_EXIT_SKIP << 1 | 1).
# Then the deliberate failures ("fail=..." on the command line) must each
# print their one line and exit with status 3 (FAIL). Last, the runtime's SMP
# bring-up (INIT/SIPI through the local APIC) under `-smp 4`, with
# selftests/x86/smp_test.c's boot and atomics cases (no hypercalls there).
#
# Prints KTAP. Builds the images first unless PVHC_NO_BUILD=1.
# Environment: QEMU (default qemu-system-x86_64), QEMU_TIMEOUT (seconds per
# boot, default 60), O (output directory, default build/out).
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-$top/build/out}
QEMU=${QEMU:-qemu-system-x86_64}
QEMU_TIMEOUT=${QEMU_TIMEOUT:-60}

if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "TAP version 13"
	echo "1..0 # SKIP $QEMU not found (scripts/install-deps.sh installs qemu-system-x86)"
	exit 4
fi
if [ "${PVHC_NO_BUILD:-0}" != 1 ]; then
	make -s -C "$top" runtime-selftest "$O/guest/selftest-smp_test.64.elf" \
		"$O/guest/selftest-smp_test.32.elf" >&2 || {
		echo "test-qemu-kernel: building the runtime self-test failed" >&2
		exit 1
	}
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# What the self-test prints for its printf check (PRINTF_FMT in selftest.c).
printf_line='selftest: printf: -42 42 beef deadbeef 123456789abcdef str c 0x1000|'
printf_line="$printf_line    7|7    |0002a|ABC|+5|abc|-9000000000|%"

n=0
failed=0

# result NAME: an "ok"/"not ok" line from the exit status of the last check.
result() {
	st=$?
	n=$((n + 1))
	if [ "$st" -eq 0 ]; then
		echo "ok $n $1"
	else
		echo "not ok $n $1"
		failed=$((failed + 1))
	fi
}

# boot IMAGE LOG [CMDLINE [QEMU ARGS...]]: the exit status of QEMU (or of timeout) in $status.
boot() {
	img=$1 blog=$2 cmdline=${3:-}
	shift 2
	[ $# -gt 0 ] && shift
	timeout "$QEMU_TIMEOUT" "$QEMU" -accel tcg "$@" -kernel "$img" ${cmdline:+-append "$cmdline"} \
		-serial stdio -display none -monitor none -no-reboot \
		-device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >"$blog" 2>&1
	status=$?
}

# has LOG LINE: LOG holds LINE exactly.
has() {
	grep -qxF -e "$2" "$1"
}

# has_prefix LOG PREFIX: some line of LOG starts with PREFIX.
has_prefix() {
	awk -v p="$2" 'index($0, p) == 1 { found = 1 } END { exit !found }' "$1"
}

# clean LOG: no failure lines, and the banner is the only runtime message.
clean() {
	! grep -qE '^(Unhandled exception|GUEST_ASSERT failed|FAIL: )' "$1" &&
		[ "$(grep -c '^pvhc runtime: ' "$1")" -eq 1 ]
}

# dump LOG: show the serial output as KTAP diagnostics when a check failed.
dump() {
	sed 's/^/# /' "$1"
}

echo "TAP version 13"
echo "1..28"

for flavour in 64 32; do
	img=$O/guest/runtime-selftest.$flavour.elf
	log=$tmp/$flavour.log
	f0=$failed
	if [ "$flavour" = 64 ]; then
		banner='pvhc runtime: 64-bit long mode, 4-level paging, NX '
		mode_line='selftest: compat mode ok: VMCALL raised #UD at CS 0x18, registers intact'
		mode_name='compat mode VMCALL (#UD at CS 0x18)'
	else
		banner='pvhc runtime: 32-bit protected mode, PAE paging, NX '
		mode_line='selftest: real mode ok: smsw 0x10, VMCALL raised #UD in real mode'
		mode_name='real mode round trip (smsw, VMCALL #UD)'
	fi

	boot "$img" "$log"
	has_prefix "$log" "$banner"
	result "$flavour-bit: boots to the runtime banner"
	has "$log" "$printf_line"
	result "$flavour-bit: printf conversions over COM1"
	has "$log" 'selftest: exceptions ok: ud2 caught, resumed with rax 0x1234'
	result "$flavour-bit: exception handler catches ud2 and resumes"
	has_prefix "$log" 'selftest: paging ok: aliases at '
	result "$flavour-bit: map_page aliases, split, read-only and NX faults"
	has_prefix "$log" 'selftest: user mode ok: ran at CS 0x'
	result "$flavour-bit: run_in_user_mode round trip at CPL 3"
	has "$log" "$mode_line"
	result "$flavour-bit: $mode_name"
	has_prefix "$log" 'no KVM hypervisor: hypercall at RIP 0x' && clean "$log"
	result "$flavour-bit: hypercall under TCG reports no KVM hypervisor"
	[ "$status" -eq 5 ]
	result "$flavour-bit: exits with status 5 (got $status)"
	[ "$failed" -eq "$f0" ] || dump "$log"

	for how in assert pf ud stack; do
		case $how in
		assert) want='GUEST_ASSERT failed at guest/runtime/selftest.c:' ;;
		pf) want='Unhandled exception: vector 14 (#PF) at RIP 0x' ;;
		ud) want='Unhandled exception: vector 6 (#UD) at RIP 0x' ;;
		stack) want='Unhandled exception: vector 8 (#DF) at RIP 0x' ;;
		esac
		log=$tmp/$flavour-$how.log
		f0=$failed
		boot "$img" "$log" "fail=$how"
		has_prefix "$log" "$want" && [ "$status" -eq 3 ]
		result "$flavour-bit: fail=$how prints '$want...', exit status 3 (got $status)"
		[ "$failed" -eq "$f0" ] || dump "$log"
	done

	img=$O/guest/selftest-smp_test.$flavour.elf
	log=$tmp/$flavour-smp.log
	f0=$failed
	boot "$img" "$log" "test=boot cpus=4" -smp 4
	has "$log" 'boot: 4 CPUs, distinct APIC IDs' && [ "$status" -eq 1 ]
	result "$flavour-bit: -smp 4: APs started by INIT/SIPI, 4 distinct APIC IDs (status $status)"
	log=$tmp/$flavour-atomic.log
	boot "$img" "$log" "test=atomic cpus=4 m=20000" -smp 4
	has "$log" 'atomic: lock incl 80000, spinlock 80000, expected 80000' && [ "$status" -eq 1 ]
	result "$flavour-bit: -smp 4: lock incl and a spinlock lose nothing (status $status)"
	[ "$failed" -eq "$f0" ] || dump "$log"
done

[ "$failed" -eq 0 ]
