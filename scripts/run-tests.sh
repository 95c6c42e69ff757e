#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Run each test program given as an argument and add up the results.
#
# A test prints KTAP/TAP: every top-level "ok N ..." / "not ok N ..." line is
# one result, "# SKIP" marks a skip. A program that prints no result line
# counts as one result from its exit status (0 pass, 4 skip, else fail). A
# program that exits with a failure status but reported no "not ok" adds one
# failure, so a crash is never lost. Ends with "N passed, N failed, N skipped"
# and exits non-zero when anything failed.
set -u
pass=0 fail=0 skip=0
logdir=${O:-build/out}/test-logs
mkdir -p "$logdir"
for t in "$@"; do
	name=$(basename "$t")
	log=$logdir/$name.log
	"$t" >"$log" 2>&1
	rc=$?
	p=$(grep -cE '^ok [0-9]+' "$log" | head -1)
	s=$(grep -cE '^ok [0-9]+.*# [Ss][Kk][Ii][Pp]' "$log" | head -1)
	f=$(grep -cE '^not ok [0-9]+' "$log" | head -1)
	p=$((p - s))
	if [ $((p + s + f)) -eq 0 ]; then
		case $rc in
		0) p=1 ;;
		4) s=1 ;;
		*) f=1 ;;
		esac
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ "$f" -eq 0 ]; then
		f=1
	fi
	pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
	if [ "$f" -gt 0 ]; then
		echo "FAIL $name (exit $rc, $f failed; log: $log)"
		grep -E '^not ok|^# |GUEST_ASSERT|error' "$log" | head -20 | sed 's/^/    /'
	elif [ "$s" -gt 0 ] && [ "$p" -eq 0 ]; then
		echo "SKIP $name: $(grep -m1 -oE '# [Ss][Kk][Ii][Pp].*' "$log" || echo "exit status 4")"
	else
		echo "PASS $name ($p passed${s:+, $s skipped})"
	fi
done
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
