#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Boot Debian's default kernel under QEMU TCG (no KVM, so no hypervisor
# signature but "TCGTCGTCGTCG") with a busybox initramfs carrying
# pvhc_guest.ko built against that kernel's headers, and check the module
# from inside (scripts/module-guest-test.sh with pvhc_test.expect=nokvm):
# it loads, says in one line that there is no KVM, refuses hypercalls, the
# benchmark and the yield sample with -ENODEV, lists its call sites, answers
# malformed writes with -EINVAL, unloads cleanly, and leaves the kernel
# tainted only O (out-of-tree) and E (unsigned). Then the console log must
# hold no WARN, BUG, Oops, Call Trace or panic.
#
# KTAP on stdout: the build and boot steps, each guest check, the console
# check. The logs stay in $O/module-tcg/ (console.log: ttyS0, the kernel's;
# guest.out: ttyS1, the test's own). Exit status 0 when all passed, 4 when
# this machine lacks QEMU, the kernel or busybox (a skip), 1 otherwise.
#
# Usage: scripts/test-module-tcg.sh [-t TIMEOUT_S]   (default 120)
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
out=${O:-$top/build/out}
case $out in /*) ;; *) out=$top/$out ;; esac
work=$out/module-tcg
timeout_s=120
while getopts t: opt; do
	case $opt in
	t) timeout_s=$OPTARG ;;
	*) echo "usage: $0 [-t TIMEOUT_S]" >&2; exit 2 ;;
	esac
done

skip_all() {
	echo "TAP version 13"
	echo "1..0 # SKIP $*"
	exit 4
}

# --- what this machine must have ------------------------------------------
qemu=$(command -v qemu-system-x86_64) || skip_all "qemu-system-x86_64 not found (package qemu-system-x86)"
kver=$("$top/scripts/debian-kernel.sh" image 2>/dev/null) ||
	skip_all "package linux-image-amd64 not installed"
hver=$("$top/scripts/debian-kernel.sh" headers 2>/dev/null) ||
	skip_all "package linux-headers-amd64 not installed"
vmlinuz=/boot/vmlinuz-$kver
[ -r "$vmlinuz" ] || skip_all "$vmlinuz not readable (package linux-image-$kver)"
[ -x /bin/busybox ] || skip_all "busybox not found (package busybox-static)"

mkdir -p "$work"
rm -f "$work/console.log" "$work/guest.out" "$work/qemu.log"
results=$work/results
: >"$results"
n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $*" >>"$results"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $*" >>"$results"; }
diag() { sed 's/^/# /' >>"$results"; }
finish() {
	echo "TAP version 13"
	echo "1..$n"
	cat "$results"
	exit $failed
}

# --- 1: the module, for exactly the kernel that boots ---------------------
t0=$(date +%s.%N)
if [ "$hver" != "$kver" ]; then
	echo "linux-headers-amd64 is for $hver but linux-image-amd64 for $kver" | diag
	not_ok "build pvhc_guest.ko against $kver"
	finish
fi
if ko=$("$top/scripts/module-build.sh" -k "/usr/src/linux-headers-$kver" 2>"$work/build.log" | tail -n 1) &&
   [ -f "$ko" ]; then
	ok "build pvhc_guest.ko against $kver"
else
	tail -n 20 "$work/build.log" | diag
	not_ok "build pvhc_guest.ko against $kver"
	finish
fi

# --- 2: the initramfs, and the kernel in its fastest bootable form --------
kernel=$("$top/scripts/pvh-vmlinux.sh" "$vmlinuz" "$work" 2>"$work/pvh.log") || kernel=$vmlinuz
if "$top/scripts/module-initramfs.sh" -o "$work/initramfs.cpio" \
	-t "$top/scripts/module-guest-test.sh" -m "$ko" 2>"$work/initramfs.log"; then
	ok "initramfs with busybox, pvhc_guest.ko and the guest test"
else
	diag <"$work/initramfs.log"
	not_ok "initramfs with busybox, pvhc_guest.ko and the guest test"
	finish
fi
diag <"$work/pvh.log"

# --- 3: boot ---------------------------------------------------------------
# oops=panic with panic=-1 and -no-reboot: a module bug ends the run at once
# (its checks then show up as missing) instead of leaving a killed writer
# holding the module's mutex until the timeout.
t1=$(date +%s.%N)
timeout -k 5 "$timeout_s" "$qemu" -accel tcg -m 256 -smp 1 \
	-nodefaults -no-user-config -display none -monitor none -no-reboot \
	-kernel "$kernel" -initrd "$work/initramfs.cpio" \
	-append "console=ttyS0 panic=-1 oops=panic pvhc_test.expect=nokvm" \
	-serial "file:$work/console.log" -serial "file:$work/guest.out" \
	</dev/null >"$work/qemu.log" 2>&1
qrc=$?
t2=$(date +%s.%N)
touch "$work/console.log" "$work/guest.out"
secs=$(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }')
tr -d '\r' <"$work/guest.out" >"$work/guest.txt"
end=$(sed -n 's/^@@PVHC END \([0-9]*\)$/\1/p' "$work/guest.txt")
if [ -n "$end" ] && [ "$qrc" -eq 0 ]; then
	ok "boot $(basename "$kernel") under TCG and run the guest test ($secs s)"
else
	{
		echo "qemu exit status $qrc${end:+, guest test status $end}; last console lines:"
		tail -n 15 "$work/console.log"
		cat "$work/qemu.log"
	} | diag
	not_ok "boot $(basename "$kernel") under TCG and run the guest test ($secs s)"
fi

# --- the guest's own results, renumbered into this plan ----------------------
# Lines between the markers: "ok N ...", "not ok N ...", "# ...", "1..G".
sed -n '/^@@PVHC BEGIN$/,/^@@PVHC END/p' "$work/guest.txt" |
	sed '1d;$d' >"$work/guest.ktap"
planned=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' "$work/guest.ktap" | head -n 1)
seen=0
while IFS= read -r line; do
	case $line in
	"ok "[0-9]*)
		seen=$((seen + 1))
		ok "guest: ${line#ok [0-9]* }"
		;;
	"not ok "[0-9]*)
		seen=$((seen + 1))
		not_ok "guest: ${line#not ok [0-9]* }"
		;;
	"#"*)
		echo "$line" >>"$results"
		;;
	esac
done <"$work/guest.ktap"
while [ "$seen" -lt "${planned:-0}" ]; do
	seen=$((seen + 1))
	not_ok "guest: result $seen of $planned missing (the test stopped early)"
done
if [ -n "$end" ] && [ "$end" != 0 ] && ! grep -q '^not ok' "$work/guest.ktap"; then
	not_ok "guest: the test exited with status $end"
fi

# --- last: the kernel's console -------------------------------------------
if grep -nE 'WARNING:|BUG:|Oops|Call Trace|Kernel panic|general protection|invalid opcode' \
	"$work/console.log" >"$work/bad.log"; then
	head -n 20 "$work/bad.log" | diag
	not_ok "console log: no WARN, BUG, Oops, Call Trace or panic"
else
	ok "console log: no WARN, BUG, Oops, Call Trace or panic"
fi

t3=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t3" -v s="$secs" \
	'BEGIN { printf "# time: build %.1f s, boot+test %s s, total %.1f s\n", b - a, s, c - a }' |
	cat >>"$results"
echo "# logs: $work/console.log $work/guest.out" >>"$results"
finish
