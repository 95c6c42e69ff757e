#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run test programs the way kselftest's runner does: one KTAP result per
# program ("ok N selftests: pvhc: NAME", exit 4 = SKIP), the program's own
# output indented as "# " diagnostics. Exits non-zero if any test failed.
set -u
n=$#
i=0
failed=0
echo "TAP version 13"
echo "1..$n"
for t in "$@"; do
	i=$((i + 1))
	name=$(basename "$t")
	echo "# selftests: pvhc: $name"
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | sed 's/^/# /'
	case $rc in
	0) echo "ok $i selftests: pvhc: $name" ;;
	4) echo "ok $i selftests: pvhc: $name # SKIP" ;;
	*) echo "not ok $i selftests: pvhc: $name # exit=$rc"; failed=1 ;;
	esac
done
exit $failed
