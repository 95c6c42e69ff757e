#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# The middle of scripts/test-module-nested.sh. Levels, as KVM names them:
#   L0  this machine: QEMU TCG -cpu EPYC (scripts/kvm-amd-host.sh)
#   L1  Debian's kernel with the real kvm_amd, busybox only: this script
#       runs here, as a program of kvm-amd-host.sh
#   L2  the same kernel as a KVM guest of L1 (qemu-system-x86_64 -accel
#       kvm), with pvhc_guest.ko and scripts/module-guest-test.sh as /test
#
# The L0 side puts QEMU and every library `ldd` lists at their own paths in
# L1, its firmware in /usr/share/{qemu,seabios}, and the L2 kernel and
# initramfs in /nested. Each argument names one L2 boot as NAME=PARAMS:
# the boot runs with PARAMS added to the kernel command line, and its two
# serial ports are sent back in sections (all lines end in "\n"):
#   @@NEST BOOT <name> <kernel parameters>
#   @@NEST OUT <name>        then ttyS1 of L2: the test's own output
#   @@NEST CONSOLE <name>    then ttyS0 of L2: the kernel's console
#   @@NEST END <name> <QEMU exit status> <seconds>
# Exit status: 0 when QEMU could be started for every boot, 1 otherwise.
# The verdict on what L2 said is for the L0 side.
#
# Environment: NEST_TIMEOUT (seconds per boot, default 120), NEST_MEM
# (L2 memory in MB, default 256).
export PATH=/bin:/usr/bin

kernel=/nested/kernel
initrd=/nested/initramfs.cpio
qemu=/usr/bin/qemu-system-x86_64
tmo=${NEST_TIMEOUT:-120}
mem=${NEST_MEM:-256}

for f in $kernel $initrd $qemu; do
	if [ ! -e "$f" ]; then
		echo "@@NEST FAIL $f missing in L1"
		exit 1
	fi
done
if [ ! -c /dev/kvm ]; then
	echo "@@NEST FAIL /dev/kvm missing in L1"
	exit 1
fi

up() { read -r u _ </proc/uptime; echo "$u"; }

status=0
for boot in "$@"; do
	name=${boot%%=*}
	params=${boot#*=}
	echo "@@NEST BOOT $name $params"
	rm -f /tmp/l2-console /tmp/l2-out /tmp/l2-qemu
	t0=$(up)
	# quiet: every byte L2 writes to a serial port is an exit to L1's
	# QEMU, which is expensive twice over under TCG. The test reads what
	# it checks from dmesg inside L2, not from this console.
	timeout -s KILL "$tmo" $qemu -accel kvm -cpu host -m "$mem" -smp 1 \
		-nodefaults -no-user-config -display none -monitor none \
		-no-reboot -kernel $kernel -initrd $initrd \
		-append "console=ttyS0 quiet panic=-1 $params" \
		-serial file:/tmp/l2-console -serial file:/tmp/l2-out \
		</dev/null >/tmp/l2-qemu 2>&1
	rc=$?
	t1=$(up)
	echo "@@NEST OUT $name"
	[ ! -f /tmp/l2-out ] || tr -d '\r' </tmp/l2-out
	echo
	echo "@@NEST CONSOLE $name"
	[ ! -f /tmp/l2-console ] || tr -d '\r' </tmp/l2-console
	# What QEMU itself said, minus the usual TCG noise of L0 (none here).
	sed 's/^/qemu: /' /tmp/l2-qemu
	echo
	echo "@@NEST END $name $rc $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
	[ -s /tmp/l2-out ] || status=1
done
exit $status
