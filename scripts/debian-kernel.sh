#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Print the version of Debian's default kernel, e.g. "6.1.0-56-amd64", as
# the metapackages name it:
#   debian-kernel.sh image     from linux-image-amd64's dependency
#   debian-kernel.sh headers   from linux-headers-amd64's dependency
# The version is never taken from `uname -r`: the running kernel is the
# machine's, not the one the guest boots or the module is built for.
# Exits 1 with one line on stderr when the package is not installed.
set -eu

case ${1:-} in
image|headers) kind=$1 ;;
*) echo "usage: $0 image|headers" >&2; exit 2 ;;
esac

# "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" -> "6.1.0-56-amd64"
dep=$(dpkg-query -W -f='${Depends}' "linux-$kind-amd64" 2>/dev/null || true)
ver=$(printf '%s\n' "$dep" | sed 's/[,|]/\n/g' |
      sed -n "s/^ *linux-$kind-\\([0-9][^ ]*\\).*/\\1/p" | head -n 1)
if [ -z "$ver" ]; then
	echo "$0: package linux-$kind-amd64 is not installed (scripts/install-deps.sh)" >&2
	exit 1
fi
echo "$ver"
