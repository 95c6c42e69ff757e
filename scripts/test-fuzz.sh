#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# make check's short fuzzing run (FUZZ_SECONDS per target, default 15): KTAP,
# one result per target; not ok if libFuzzer found a crash, leak, sanitizer
# report or hang.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-15}
echo "TAP version 13"
echo "1..2"
rc=0
i=0
for target in guest_code stream; do
	i=$((i + 1))
	log=$(mktemp)
	if "$top/scripts/fuzz.sh" "$secs" "$target" >"$log" 2>&1; then
		sed -n 's/^\(stat::number_of_executed_units\|#[0-9]*.*DONE.*\)/# \1/p' "$log" | tail -2
		echo "ok $i fuzz $target for ${secs}s"
	else
		tail -30 "$log" | sed 's/^/# /'
		echo "not ok $i fuzz $target for ${secs}s"
		rc=1
	fi
	rm -f "$log"
done
exit $rc
