#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# `make bench`: every benchmark; each prints a table and writes JSON under
# build/bench/. Figures are medians of several runs, and each benchmark
# measures its own baseline in the same run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
export O="${O:-$top/build/out}"
mkdir -p "$top/build/bench"
"$top/scripts/bench/hypercall.sh"
echo
"$top/scripts/bench/smp.sh"
echo
"$top/scripts/bench/migration.py"
