#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make check's short fuzzing run (FUZZ_SECONDS, default 20): KTAP, one result
# per target; not ok if libFuzzer found a crash, leak, sanitizer report or hang.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-20}
echo "TAP version 13"
echo "1..1"
log=$(mktemp)
if "$top/scripts/fuzz.sh" "$secs" guest_code >"$log" 2>&1; then
	sed -n 's/^\(stat::number_of_executed_units\|#[0-9]*.*DONE.*\)/# \1/p' "$log" | tail -2
	echo "ok 1 fuzz guest_code for ${secs}s"
	rc=0
else
	tail -30 "$log" | sed 's/^/# /'
	echo "not ok 1 fuzz guest_code for ${secs}s"
	rc=1
fi
rm -f "$log"
exit $rc
