#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Test: the selftest suite on a real KVM AMD host, and the differential check
# of pvhc's emulated AMD host against it.
#
# 1. Boots the QEMU AMD host (scripts/kvm-amd-host.sh: Debian's kvm_amd under
#    QEMU TCG -cpu EPYC) once and runs there selftests/kvm/kvm_amd_probe (what
#    scripts/test-kvm-amd-host.sh runs alone) and every static, kvm-only
#    selftest binary ($O/selftests-static) with PVHC_ACCEL=kvm: the same
#    payloads, devices and exit statuses as on the emulated hosts, every
#    guest-side check; the AMD variants run, the Intel ones skip. One boot
#    for all of it: each boot costs about 3 s of make check.
# 2. Runs the same tests' AMD variants here on the emulated AMD host (tcg,
#    PVHC_HOST=amd) and compares the guests' "OBS" observations test by test
#    (scripts/obs-diff.awk, which lists the intentional differences).
# 3. Moves guests between the backends in the same boot (cross_backend_test):
#    before it, the test saves guests here on the emulated hosts into files
#    that travel into the AMD host (PVHC_XMIG_OUT); there, the kvm build
#    restores them on the real kvm_amd and saves guests of its own
#    (PVHC_XMIG_IN/OUT), which come back base64-encoded in its output
#    between "@@XMIG BEGIN" and "@@XMIG END"; after it, they are restored
#    here on both emulated hosts (PVHC_XMIG_IN).
#
# Output: one KTAP stream, results numbered 1..N: "tcg->kvm_amd: TEST" for
# the run that saved the guests carried in, "kvm_amd: TEST" for each
# selftest result from the AMD host, "kvm_amd->tcg: TEST" for the run that
# restored the guests carried out, "diff: TEST" for each comparison; the AMD
# host's own lines follow as diagnostics. make check's run-tests.sh adds
# them to its totals. A machine without QEMU, Debian's kernel or
# busybox-static skips (exit 4) with the reason; anything else that goes
# wrong fails.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
O=${O:-$top/build/out}
static=$O/selftests-static
dynamic=$O/selftests

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-selftests-kvm-amd.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

tests=""
for t in "$static"/*; do
	name=$(basename "$t")
	[ -x "$t" ] && [ -f "$t" ] && [ "$name" != pvhc ] || continue
	tests="$tests $name"
done
probe=$O/selftests/kvm/kvm_amd_probe
if [ -z "$tests" ] || [ ! -x "$static/pvhc" ] || [ ! -x "$probe" ]; then
	echo "Bail out! no static selftests in $static or no $probe (run make selftests)"
	exit 1
fi

# KTAP results on stdin renumbered from $2 + 1, with prefix $1; the
# programs' own headers, plans and totals are left out.
renumber() {
	awk -v prefix="$1" -v n="$2" '
/^TAP version|^1\.\.|^# (Totals|PASSED|FAILED):/ { next }
/^(not )?ok [0-9]+/ {
	n++
	not = /^not /
	sub(/^(not )?ok [0-9]+ /, "")
	printf("%sok %d %s%s\n", not ? "not " : "", n, prefix, $0)
	next
}
{ print }
'
}
# Results (or, with $2 = "not ", failures) in file $1.
count() { grep -cE "^${2:-}(not )?ok [0-9]+" "$1" || true; }

# Guests saved here on the emulated hosts, to be restored on kvm_amd.
mkdir -p "$tmp/xmig-in" "$tmp/xmig-back"
PVHC_ACCEL=tcg PVHC_XMIG_OUT=$tmp/xmig-in "$dynamic/cross_backend_test" \
	>"$tmp/xmig-save.log" 2>&1 || true

# The selftests read the backend from the environment; the AMD host passes
# arguments only, so each one starts through this wrapper. Only
# cross_backend_test reads the PVHC_XMIG_* directories.
cat >"$tmp/kvm-env.sh" <<'EOF'
#!/bin/sh
export PVHC_ACCEL=kvm PVHC_XMIG_IN=/xmig/in PVHC_XMIG_OUT=/xmig/out
mkdir -p /xmig/out
exec "$@"
EOF
# The guests kvm_amd saved go out the only way there is: the output.
cat >"$tmp/xmig-out.sh" <<'EOF'
#!/bin/sh
echo "@@XMIG BEGIN"
cd /xmig/out && tar c . | gzip | base64
echo "@@XMIG END"
EOF
chmod +x "$tmp/kvm-env.sh" "$tmp/xmig-out.sh"

set -- --timeout 300 --file "$static/pvhc:/t/pvhc" --file "$tmp/xmig-in:/xmig/in"
progs=" -- $probe"
for name in $tests; do
	set -- "$@" --file "$static/$name:/t/$name"
	progs="$progs -- $tmp/kvm-env.sh /t/$name"
done
progs="$progs -- $tmp/xmig-out.sh"
# shellcheck disable=SC2086 # progs is a word list on purpose
set -- "$@" ${progs# -- }

t0=$(date +%s.%N)
set +e
"$top/scripts/kvm-amd-host.sh" "$@" >"$tmp/kvm.log" 2>"$tmp/host.err"
rc=$?
set -e
t1=$(date +%s.%N)

echo "TAP version 13"
case $rc in
0|1) ;;
3)
	echo "1..0 # SKIP $(sed -n 's/^kvm-amd-host: cannot run the AMD host: //p' "$tmp/host.err" | head -n 1)"
	exit 4 ;;
*)
	sed 's/^/# /' "$tmp/host.err"
	echo "Bail out! scripts/kvm-amd-host.sh exit $rc: the AMD host did not run the selftests"
	exit 1 ;;
esac

# The guests kvm_amd saved: out of its output, restored here.
sed -n '/^@@XMIG BEGIN$/,/^@@XMIG END$/p' "$tmp/kvm.log" | sed '1d;$d' | base64 -d |
	tar xz -C "$tmp/xmig-back" 2>"$tmp/xmig-back.err" || true
sed -i '/^@@XMIG BEGIN$/,/^@@XMIG END$/d' "$tmp/kvm.log"
PVHC_ACCEL=tcg PVHC_XMIG_IN=$tmp/xmig-back "$dynamic/cross_backend_test" \
	>"$tmp/xmig-restore.log" 2>&1 || true

# All results, renumbered into one stream.
renumber "tcg->kvm_amd: " 0 <"$tmp/xmig-save.log" >"$tmp/all.ktap"
renumber "kvm_amd: " "$(count "$tmp/all.ktap")" <"$tmp/kvm.log" >>"$tmp/all.ktap"
renumber "kvm_amd->tcg: " "$(count "$tmp/all.ktap")" <"$tmp/xmig-restore.log" \
	>>"$tmp/all.ktap"
cat "$tmp/all.ktap"
sed 's/^/# /' "$tmp/xmig-back.err"
num=$(count "$tmp/all.ktap")
fails=$(count "$tmp/all.ktap" "not ")
sed 's/^/# /' "$tmp/host.err"

# The same AMD variants on the emulated AMD host, for the comparison.
t2=$(date +%s.%N)
: >"$tmp/tcg.log"
for name in $tests; do
	[ -x "$dynamic/$name" ] || continue
	PVHC_ACCEL=tcg PVHC_HOST=amd "$dynamic/$name" >>"$tmp/tcg.log" 2>&1 || true
done
t3=$(date +%s.%N)

set +e
awk -v first=$((num + 1)) -f "$top/scripts/obs-diff.awk" "$tmp/tcg.log" "$tmp/kvm.log" \
	>"$tmp/diff.ktap"
drc=$?
set -e
cat "$tmp/diff.ktap"
ndiff=$(grep -cE '^(not )?ok [0-9]+' "$tmp/diff.ktap" || true)
num=$((num + ndiff))
[ "$drc" -eq 0 ] || fails=$((fails + 1))

awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" 'BEGIN {
	printf "# timing: AMD host %.1f s (boot included), emulated AMD host %.1f s\n", b - a, d - c }'
echo "1..$num"
[ "$fails" -eq 0 ] && [ "$rc" -eq 0 ]
