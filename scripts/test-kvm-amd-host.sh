#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Test: run selftests/kvm/kvm_amd_probe on a real KVM AMD host (Debian's
# kvm_amd under QEMU TCG, scripts/kvm-amd-host.sh) and print its KTAP.
#
# The probe's results are the reference that pvhc's emulated AMD host must
# match, so they are checked on every `make check`. The host script's own
# lines (timings, errors) follow as KTAP diagnostics. A machine without QEMU,
# Debian's kernel or busybox-static skips (exit 4) with the reason; a host
# that does not come up, or a probe that fails or dies, is a failure.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-$top/build/out}
probe=$O/selftests/kvm/kvm_amd_probe

if [ ! -x "$probe" ]; then
	echo "Bail out! $probe is not built (run make selftests)"
	exit 1
fi

err=$(mktemp "${TMPDIR:-/tmp}/test-kvm-amd-host.XXXXXX")
trap 'rm -f "$err"' EXIT

set +e
"$top/scripts/kvm-amd-host.sh" --timeout 300 "$probe" 2>"$err"
rc=$?
set -e
sed 's/^/# /' "$err"

case $rc in
0|1|4)
	# The probe's own verdict (4: it found no kvm_amd, said why).
	exit "$rc" ;;
3)
	echo "1..0 # SKIP $(sed -n 's/^kvm-amd-host: cannot run the AMD host: //p' "$err" | head -n 1)"
	exit 4 ;;
*)
	echo "Bail out! scripts/kvm-amd-host.sh exit $rc: the AMD host did not run the probe"
	exit 1 ;;
esac
