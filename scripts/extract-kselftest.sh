#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Extract kselftest.h and kselftest_harness.h from Debian's linux-source-6.1
# into build/kselftest/ (once). They are never committed: the selftests are
# built against the kernel's own copies.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dest=$top/build/kselftest
[ -f "$dest/kselftest_harness.h" ] && [ -f "$dest/kselftest.h" ] && exit 0
src=$(ls /usr/src/linux-source-6.1.tar.* 2>/dev/null | head -n 1)
[ -n "$src" ] || { echo "extract-kselftest: /usr/src/linux-source-6.1.tar.* missing (scripts/install-deps.sh installs linux-source-6.1)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tar -xf "$src" -C "$tmp" --wildcards \
	'linux-source-6.1/tools/testing/selftests/kselftest.h' \
	'linux-source-6.1/tools/testing/selftests/kselftest_harness.h'
mkdir -p "$dest"
cp "$tmp/linux-source-6.1/tools/testing/selftests/kselftest.h" \
	"$tmp/linux-source-6.1/tools/testing/selftests/kselftest_harness.h" "$dest/"
echo "extract-kselftest: kselftest headers in $dest"
