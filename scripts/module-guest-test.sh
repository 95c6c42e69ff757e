#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The guest half of the module tests: runs as /test inside a guest built by
# scripts/module-initramfs.sh, loads /modules/pvhc_guest.ko, exercises
# /sys/kernel/debug/pvhc/ and unloads it, printing KTAP. Needs only busybox.
#
# What to expect comes from the kernel command line:
#   pvhc_test.expect=nokvm  no KVM-compatible host (QEMU TCG): the module
#                           loads, says so, and refuses every hypercall
#   pvhc_test.expect=kvm    a KVM host (e.g. nested on a real kvm_amd):
#                           hypercalls work, and on an AMD CPU the sites that
#                           ran have been rewritten to VMMCALL
#                           (needs rodata=off under upstream KVM: see
#                           rofault)
#   pvhc_test.expect=rofault  a KVM AMD host, module text read-only (no
#                           rodata=off): upstream KVM rewrites the opcode
#                           through the guest's page tables with permission
#                           checks, so the first hypercall gets a write #PF
#                           at its own address (an oops) instead of the
#                           patch; this mode shows exactly that and leaves
#                           the module loaded (its mutex dies with the
#                           killed writer)
# scripts/test-module-tcg.sh runs nokvm, scripts/test-module-nested.sh kvm
# and rofault.

d=/sys/kernel/debug/pvhc
ko=/modules/pvhc_guest.ko
n=0
failed=0

expect=$(sed -n 's/.*pvhc_test\.expect=\([a-z]*\).*/\1/p' /proc/cmdline)

ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $*"; }
# check NAME: result from the status of the last command; details in $why.
check() {
	if [ $? -eq 0 ]; then ok "$1"; else
		[ -z "$why" ] || printf '%s\n' "$why" | sed 's/^/# /'
		not_ok "$1"
	fi
	why=""
}
why=""

# wr FILE DATA: write DATA (echo -e escapes) in one write(2); print "ok" or
# the error text the shell reports, e.g. "Invalid argument".
# shellcheck disable=SC3037 # busybox echo: -n and -e are defined there
wr() {
	_e=$( { echo -n -e "$2" >"$1"; } 2>&1 ) && { echo ok; return; }
	echo "${_e##*: }"
}
# rd FILE: print the file, or the error text.
rd() {
	_o=$(cat "$1" 2>/tmp/rd.err) && { echo "$_o"; return; }
	_e=$(cat /tmp/rd.err)
	echo "${_e##*: }"
}
# expect_err FILE ERROR DATA...: every DATA written to FILE fails with ERROR.
expect_err() {
	_f=$1 _want=$2
	shift 2
	_bad=0
	for _in in "$@"; do
		_got=$(wr "$_f" "$_in")
		if [ "$_got" != "$_want" ]; then
			why="$why${why:+
}'$_in' -> $_got (want $_want)"
			_bad=1
		fi
	done
	return $_bad
}

# What the kernel said since /tmp/dmesg0 was written.
since_load() { dmesg | tail -n +$(($(wc -l </tmp/dmesg0) + 1)); }

# pvhc_test.expect=rofault: the upstream defect, shown at one call site.
rofault() {
	echo "TAP version 13"
	echo "1..6"
	echo "# expect: rofault; $(uname -r); $(grep -m1 vendor_id /proc/cpuinfo)"
	dmesg >/tmp/dmesg0

	# 1
	why=$(insmod $ko 2>&1)
	check "load: insmod pvhc_guest.ko"

	# 2: the preconditions: KVM is there and module text is read-only.
	why="kernel parameters: $(cat /proc/cmdline); $(since_load | grep 'pvhc_guest: ')"
	since_load | grep -q 'pvhc_guest: KVM signature' &&
		! grep -q 'rodata=off' /proc/cmdline
	check "KVM found, module text read-only (no rodata=off)"

	# 3: every site VMCALL; those of pvhc_guest_call are where "1" goes.
	rd $d/sites >/tmp/sites0
	sed 's/^/# /' /tmp/sites0
	grep "^pvhc_guest_call+" /tmp/sites0 >/tmp/call-sites
	why="$(grep -vc '^#' /tmp/sites0) sites, $(grep -c ' c1 vmcall$' /tmp/sites0) vmcall"
	[ -s /tmp/call-sites ] &&
		[ "$(grep -vc '^#' /tmp/sites0)" -eq "$(grep -c ' c1 vmcall$' /tmp/sites0)" ]
	check "sites before the first hypercall: all VMCALL"

	# 4: the first hypercall. The oops kills the writing (sub)shell.
	( echo 1 >$d/hypercall ) 2>/dev/null
	rc=$?
	# Never read "hypercall" after an oops: its read takes the mutex
	# that the killed writer still holds.
	if [ $rc -le 128 ]; then
		why="the write's status was $rc, the result $(rd $d/hypercall)"
		grep -q 'rodata=off' /proc/cmdline ||
			why="$why: this KVM patched read-only text, so the upstream defect is gone and nested boots need no rodata=off"
	fi
	[ $rc -gt 128 ]
	check "hypercall KVM_HC_VAPIC_POLL_IRQ: the writer is killed (status $rc)"

	# 5: the oops: a supervisor write to a present page, at a call site's
	# address, by the instruction at that very address: KVM's rewrite of
	# the VMCALL, which the guest's page tables forbid.
	since_load | grep -E 'BUG:|#PF:|RIP:|Oops' >/tmp/oops
	sed 's/^/# observed: /' /tmp/oops
	addr=$(sed -n 's/.*BUG: unable to handle page fault for address: \([0-9a-f]*\).*/\1/p' /tmp/oops | head -n 1)
	rip=$(sed -n 's/.*RIP: 0010:\([^ ]*\).*/\1/p' /tmp/oops | head -n 1)
	site=$(grep " ${addr:-none} " /tmp/call-sites)
	why="fault address ${addr:-none}, RIP ${rip:-none}, site: ${site:-none}"
	[ -n "$addr" ] && [ -n "$site" ] && [ "${site%% *}" = "$rip" ] &&
		grep -q '#PF: supervisor write access in kernel mode' /tmp/oops &&
		grep -q '#PF: error_code(0x0003) - permissions violation' /tmp/oops
	check "oops: write #PF (error code 3) at the call site ${rip:-?}, RIP there too"

	# 6: "sites" takes no lock.
	rd $d/sites >/tmp/sites1
	why="now: $(grep " ${addr:-none} " /tmp/sites1)"
	grep -q " ${addr:-none} 0f 01 c1 vmcall\$" /tmp/sites1
	check "the faulting site still holds VMCALL: not rewritten"
	exit $failed
}

case $expect in
rofault) rofault ;;
esac

echo "TAP version 13"
echo "1..15"

case $expect in
kvm|nokvm) ;;
*)
	echo "# pvhc_test.expect=kvm|nokvm|rofault missing from the kernel command line"
	exit 1
	;;
esac
echo "# expect: $expect; $(uname -r); $(grep -m1 vendor_id /proc/cpuinfo)"

# What the kernel said and how it was tainted before the module came: only
# what follows is the module's doing (a nested guest may boot with a WARN).
taint0=$(cat /proc/sys/kernel/tainted)
dmesg >/tmp/dmesg0

# 1
why=$(insmod $ko 2>&1)
check "load: insmod pvhc_guest.ko"

# 2: exactly one line at load, saying what was found.
if [ "$expect" = nokvm ]; then
	pat='pvhc_guest: no KVM signature in CPUID .*hypercalls refused with -ENODEV'
else
	pat='pvhc_guest: KVM signature at CPUID 0x4000[0-9a-f]*; [0-9]* hypercall sites'
fi
why=$(since_load | grep 'pvhc_guest: ' | grep -v 'taint')
[ "$(since_load | grep -c "$pat")" -eq 1 ] &&
	[ "$(since_load | grep 'pvhc_guest: ' | grep -vc 'taint')" -eq 1 ]
check "log: one line at load ($expect)"

# 3: root only.
why=$(ls -l $d 2>&1)
[ "$(stat -c %a $d/hypercall)" = 600 ] && [ "$(stat -c %a $d/bench)" = 600 ] &&
	[ "$(stat -c %a $d/yield)" = 600 ] && [ "$(stat -c %a $d/sites)" = 400 ]
check "debugfs: hypercall, bench, yield 0600 and sites 0400 in $d"

# 4, 5: a hypercall of each arity (nr 1 is KVM_HC_VAPIC_POLL_IRQ: returns 0).
if [ "$expect" = nokvm ]; then
	expect_err $d/hypercall "No such device" "1" "1 2" "1 2 3" "1 2 3 4" "1 2 3 4 5\n"
	check "hypercall with 0..4 arguments: -ENODEV"
	got=$(rd $d/hypercall)
	why="read: $got"
	[ "$got" = "No data available" ]
	check "hypercall read without a result: -ENODATA"
else
	bad=0
	for arg in "1" "1 2" "1 2 3" "1 2 3 4" "1 2 3 4 5\n"; do
		got=$(wr $d/hypercall "$arg")
		res=$(rd $d/hypercall)
		if [ "$got" != ok ] || [ "$res" != 0 ]; then
			why="$why '$arg' -> $got, read $res;"
			bad=1
		fi
	done
	[ $bad -eq 0 ]
	check "hypercall KVM_HC_VAPIC_POLL_IRQ with 0..4 arguments: returns 0"
	got=$(wr $d/hypercall "0x7fffffff")
	res=$(rd $d/hypercall)
	why="write $got, read $res"
	[ "$got" = ok ] && [ "$res" = -1000 ]
	check "hypercall of an unknown nr: -KVM_ENOSYS (-1000)"
fi

# 6: bench.
if [ "$expect" = nokvm ]; then
	expect_err $d/bench "No such device" "1000" &&
		[ "$(rd $d/bench)" = "No data available" ]
	check "bench refused: -ENODEV, then read -ENODATA"
else
	got=$(wr $d/bench 1000)
	res=$(rd $d/bench)
	why="write $got, read $res"
	[ "$got" = ok ] && echo "$res" | grep -Eq '^1000 calls, [0-9]+ ns/call$'
	check "bench 1000: $res"
fi

# 7: the pv_yield sample.
if [ "$expect" = nokvm ]; then
	expect_err $d/yield "No such device" "0"
	check "yield refused: -ENODEV"
else
	# The last CPU, from CPU 0: with more than one, a real wait for
	# another vCPU (from the same CPU, the call runs at once).
	cpu=$(($(grep -c '^processor' /proc/cpuinfo) - 1))
	taskset -p 1 $$ >/dev/null 2>&1
	got=$(wr $d/yield $cpu)
	res=$(rd $d/yield)
	why="write $got, read $res"
	{ [ "$got" = ok ] &&
		echo "$res" | grep -Eq "^cpu $cpu apic [0-9]+: [0-9]+ yields, last result -?[0-9]+\$"; } ||
		[ "$got" = "Operation not supported" ]
	check "yield to cpu $cpu: ${res:-$got}"
fi

# 8: sites. Every line "function+0xoff/0xsize address b0 b1 b2 insn", the
# three functions with hypercalls all present, the bytes what they must be.
rd $d/sites >/tmp/sites
sed 's/^/# /' /tmp/sites
re='^[a-z_][a-z0-9_.]*\+0x[0-9a-f]+/0x[0-9a-f]+ [0-9a-f]{16} 0f 01 (c1 vmcall|d9 vmmcall)$'
lines=$(grep -vc '^#' /tmp/sites)
good=$(grep -Ec "$re" /tmp/sites)
vmmcalls=$(grep -c ' d9 vmmcall$' /tmp/sites)
why="$lines sites, $good well-formed, $vmmcalls vmmcall"
sites_ok=0
[ "$lines" -ge 7 ] && [ "$good" -eq "$lines" ] || sites_ok=1
for f in pvhc_guest_call pvhc_guest_bench pvhc_yield_wait_for_cpu; do
	grep -q "^$f+" /tmp/sites || sites_ok=1
done
if [ "$expect" = nokvm ]; then
	# Nothing ran, so nothing was rewritten.
	[ "$vmmcalls" -eq 0 ] || sites_ok=1
elif grep -q AuthenticAMD /proc/cpuinfo; then
	# Each arity and the benchmark ran: six sites on an AMD host's path.
	[ "$vmmcalls" -ge 6 ] || sites_ok=1
fi
[ $sites_ok -eq 0 ]
check "sites: $why"

# 9-11: malformed input. Blank, junk, too many words, out of range, a NUL
# inside, split numbers, too long.
long=$(printf '%0200d' 1)
expect_err $d/hypercall "Invalid argument" "\n" " " "x" "1x" "0x" "1 2 3 4 5 6" \
	"-1" "4294967296" "1 99999999999999999999" "1\0000 2" "1,2" "$long"
check "hypercall: malformed writes -> -EINVAL"
expect_err $d/bench "Invalid argument" "\n" "0" "-5" "10000001" "abc" "1 2" "1e3"
check "bench: malformed writes -> -EINVAL"
expect_err $d/yield "Invalid argument" "\n" "-1" "99999" "0 1" "x"
check "yield: malformed writes -> -EINVAL"

# 12, 13: unload cleanly, and again after a reload.
why=$(rmmod pvhc_guest 2>&1) && [ ! -e $d ] && [ ! -e /sys/module/pvhc_guest ]
check "unload: rmmod, $d removed"
why=$( { insmod $ko && [ -r $d/sites ] && rmmod pvhc_guest && [ ! -e $d ]; } 2>&1)
check "reload and unload again"

# 14: new taint: out-of-tree (O, 4096) and unsigned (E, 8192) at most.
taint=$(cat /proc/sys/kernel/tainted)
why="tainted=$taint, before the module $taint0"
[ $(((taint & ~taint0) & ~(4096 | 8192))) -eq 0 ]
check "taint: only O/E added ($taint0 -> $taint)"

# 15: since the module came, the kernel logged no warning, bug or oops.
since_load | grep -E 'WARNING:|BUG:|Oops|Call Trace|general protection|invalid opcode|RIP:' >/tmp/bad
why=$(head -n 20 /tmp/bad)
[ ! -s /tmp/bad ]
check "kernel log: no WARN, BUG, Oops or Call Trace"

exit $failed
