#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Build pvhc_guest.ko with kbuild without writing into the source tree.
#
# Usage: scripts/module-build.sh [-k KDIR] [-o DIR] [KBUILD_ARG]...
#   -k KDIR      a configured kernel tree or headers package (default: the
#                headers of Debian's default kernel, /usr/src/linux-headers-
#                <version from linux-headers-amd64's dependency>)
#   -o DIR       where to build (default: $O/module/<kernel release>)
#   KBUILD_ARG   passed to kbuild unchanged: W=1, C=2, KCFLAGS=-Werror, V=1
# The last line of stdout is the path of the built pvhc_guest.ko.
#
# Linux 6.1's kbuild writes objects next to the sources of an external
# module (MO= came later), so DIR gets a mirror of the module's part of the
# tree made of symlinks -- Kbuild, guest/Kbuild, guest/module/* and the two
# header directories -- and kbuild builds there. Edits to the sources are
# seen at once (make follows the links); the mirror is refreshed on every
# run, so new or removed files are picked up too.
#
# Never run kbuild's `clean` with M= pointing at the repository: for an
# external module it deletes every *.o, *.a, *.ko ... below M, including
# other people's outputs under build/. `make modules-clean` is the safe way.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
kdir=""
dir=""
while getopts k:o: opt; do
	case $opt in
	k) kdir=$OPTARG ;;
	o) dir=$OPTARG ;;
	*) echo "usage: $0 [-k KDIR] [-o DIR] [KBUILD_ARG]..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))

if [ -z "$kdir" ]; then
	ver=$("$top/scripts/debian-kernel.sh" headers)
	kdir=/usr/src/linux-headers-$ver
fi
if [ ! -f "$kdir/Makefile" ] || [ ! -f "$kdir/include/generated/utsrelease.h" ]; then
	echo "$0: $kdir is not a configured kernel tree (no Makefile or include/generated/utsrelease.h)" >&2
	exit 1
fi
release=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' \
	  "$kdir/include/generated/utsrelease.h")
[ -n "$release" ] || release=$(basename "$kdir")

if [ -z "$dir" ]; then
	out=${O:-$top/build/out}
	case $out in /*) ;; *) out=$top/$out ;; esac
	dir=$out/module/$release
fi
mkdir -p "$dir/guest/module"
dir=$(cd "$dir" && pwd)
case $dir in "$top"/guest*|"$top") echo "$0: $dir is inside the sources" >&2; exit 1 ;; esac

# The mirror. Links to directories only where nothing is built (headers).
ln -sfn "$top/Kbuild" "$dir/Kbuild"
ln -sfn "$top/include" "$dir/include"
ln -sfn "$top/guest/Kbuild" "$dir/guest/Kbuild"
ln -sfn "$top/guest/include" "$dir/guest/include"
find "$dir/guest/module" -maxdepth 1 -type l -exec rm -f {} +
for f in "$top"/guest/module/*; do
	if [ -f "$f" ]; then
		ln -s "$f" "$dir/guest/module/"
	fi
done

# Called from make: do not inherit its flags or jobserver.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$kdir" M="$dir" -j"$(nproc)" "$@" modules >&2
echo "$dir/guest/pvhc_guest.ko"
