#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Build and style checks of the guest kernel module, as KTAP (`make
# modules-check`, and part of `make check`):
#   1  kbuild W=1 KCFLAGS=-Werror builds it; no warning from gcc, modpost
#      or objtool either (those do not stop the build)
#   2  sparse (C=2) has nothing to say
#   3  checkpatch.pl --strict finds nothing in guest/module/* and the Kbuild
#      files (checkpatch comes from Debian's linux-source-6.1 tarball,
#      unpacked once into build/checkpatch/, never committed)
#   4  the module uses pvhc's API only: no call of the kernel's
#      kvm_hypercallN / kvm_para_available in the sources, and every
#      VMCALL/VMMCALL in the built .ko is one of its recorded call sites
#   5  pvhc's headers and the kernel's <linux/kvm_para.h> / <asm/kvm_para.h>
#      are compiled together in both orders (one file each way)
#   6  the source tree holds no build output afterwards
#
# Usage: scripts/test-module-style.sh [-k KDIR]   (default: Debian's headers)
# The builds go to $O/module-style/. Exit status 0 unless a check failed.

# File lists ($srcs, $files) are split at blanks on purpose: no blanks in
# the repository's file names.
# shellcheck disable=SC2086
set -u

top=$(cd "$(dirname "$0")/.." && pwd)
out=${O:-$top/build/out}
case $out in /*) ;; *) out=$top/$out ;; esac
kdir=""
while getopts k: opt; do
	case $opt in
	k) kdir=$OPTARG ;;
	*) echo "usage: $0 [-k KDIR]" >&2; exit 2 ;;
	esac
done

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n $*"; }
not_ok() { n=$((n + 1)); failed=1; echo "not ok $n $*"; }
skip() { n=$((n + 1)); echo "ok $n $1 # SKIP $2"; }
# Diagnostics: at most 30 lines of a file, as KTAP comments.
diag() { head -n 30 "$1" | sed 's/^/# /'; }

echo "TAP version 13"
echo "1..6"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/pvhc-style.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if [ -z "$kdir" ]; then
	ver=$("$top/scripts/debian-kernel.sh" headers 2>"$tmp/err") && kdir=/usr/src/linux-headers-$ver
fi
bdir=$out/module-style
srcs=$(cd "$top" && ls guest/module/*.c guest/module/*.h)

# 1: W=1 -Werror. Rebuild from scratch: warnings are printed only when a
# file is compiled.
ko=""
if [ -z "$kdir" ] || [ ! -f "$kdir/Makefile" ]; then
	sed 's/^/# /' "$tmp/err" 2>/dev/null
	skip "kbuild W=1 KCFLAGS=-Werror" "no kernel headers (scripts/install-deps.sh)"
	skip "sparse C=2" "no kernel headers"
else
	rm -rf "$bdir"
	if "$top/scripts/module-build.sh" -k "$kdir" -o "$bdir" W=1 KCFLAGS=-Werror \
	   >"$tmp/ko" 2>"$tmp/build"; then
		ko=$(tail -n 1 "$tmp/ko")
	fi
	grep -iE 'warning|error' "$tmp/build" | grep -v '^Skipping BTF' >"$tmp/warn"
	if [ -n "$ko" ] && [ ! -s "$tmp/warn" ]; then
		ok "kbuild W=1 KCFLAGS=-Werror: no warnings"
	else
		if [ -s "$tmp/warn" ]; then diag "$tmp/warn"; else diag "$tmp/build"; fi
		not_ok "kbuild W=1 KCFLAGS=-Werror: no warnings"
	fi

	# 2: sparse over every source (C=2 checks even up-to-date objects).
	if ! command -v sparse >/dev/null; then
		skip "sparse C=2" "sparse not installed (scripts/install-deps.sh)"
	elif "$top/scripts/module-build.sh" -k "$kdir" -o "$bdir" W=1 KCFLAGS=-Werror C=2 \
	     >/dev/null 2>"$tmp/sparse" &&
	     ! grep -E ': (warning|error):' "$tmp/sparse" >"$tmp/warn" &&
	     [ "$(grep -c '  CHECK ' "$tmp/sparse")" -gt 0 ]; then
		ok "sparse C=2: no warnings ($(grep -c '  CHECK ' "$tmp/sparse") files)"
	else
		if [ -s "$tmp/warn" ]; then diag "$tmp/warn"; else diag "$tmp/sparse"; fi
		not_ok "sparse C=2: no warnings"
	fi
fi

# 3: checkpatch --strict, taken from the kernel's source tarball.
tarball=/usr/src/linux-source-6.1.tar.xz
cpdir=$top/build/checkpatch
if [ ! -r "$tarball" ] && [ ! -x "$cpdir/checkpatch.pl" ]; then
	skip "checkpatch --strict" "$tarball missing (package linux-source-6.1)"
else
	if [ ! -f "$cpdir/stamp" ] || [ -n "$(find "$tarball" -newer "$cpdir/stamp")" ]; then
		rm -rf "$cpdir" && mkdir -p "$cpdir"
		tar -xJf "$tarball" -C "$cpdir" --occurrence=1 --strip-components=2 \
			linux-source-6.1/scripts/checkpatch.pl \
			linux-source-6.1/scripts/spelling.txt \
			linux-source-6.1/scripts/const_structs.checkpatch \
			2>"$tmp/tar" && touch "$cpdir/stamp"
	fi
	files="$srcs $(cd "$top" && ls guest/module/*.lds) Kbuild guest/Kbuild"
	bad=""
	if [ ! -f "$cpdir/stamp" ]; then
		diag "$tmp/tar"
		bad="(could not unpack checkpatch)"
	else
		for f in $files; do
			(cd "$top" && perl "$cpdir/checkpatch.pl" --no-tree --strict \
				--quiet --show-types -f "$f") >"$tmp/cp" 2>&1 ||
				{ bad="$bad $f"; diag "$tmp/cp"; }
		done
	fi
	if [ -z "$bad" ]; then
		ok "checkpatch --strict: $(printf '%s\n' $files | wc -l) files clean"
	else
		not_ok "checkpatch --strict:$bad"
	fi
fi

# 4: pvhc's API only. Calls of the kernel's names in the sources...
(cd "$top" && grep -nE '\b(kvm_hypercall[0-4]|kvm_para_available|kvm_para_has_feature)[[:space:]]*\(' \
	$srcs) >"$tmp/calls"
# ...and in the object: hypercall instructions (section offset) against the
# records in pvhc_sites (relocation "section + offset"). The kernel's
# kvm_hypercallN would add a VMCALL that no record names.
if [ -n "$ko" ]; then
	objdump -d "$ko" | awk '
		/^Disassembly of section / { sec = $4; sub(/:$/, "", sec) }
		/\t(vmcall|vmmcall)/ { a = $1; sub(/:$/, "", a); print sec, a }' |
		sort >"$tmp/insns"
	readelf -rW "$ko" | awk '
		/^Relocation section / { in_sites = ($3 == "'"'"'.relapvhc_sites'"'"'") }
		in_sites && $3 == "R_X86_64_PC32" { a = $7; sub(/^0+/, "", a); print $5, a }' |
		sort >"$tmp/records"
	nins=$(wc -l <"$tmp/insns")
fi
if [ -s "$tmp/calls" ]; then
	diag "$tmp/calls"
	not_ok "only pvhc's API: the kernel's hypercall API is called"
elif [ -z "$ko" ]; then
	skip "only pvhc's API" "no module was built"
elif [ "$nins" -gt 0 ] && cmp -s "$tmp/insns" "$tmp/records"; then
	ok "only pvhc's API: $nins hypercall instructions, all recorded sites"
else
	echo "# instructions (section offset):"; diag "$tmp/insns"
	echo "# records in pvhc_sites:"; diag "$tmp/records"
	not_ok "only pvhc's API: hypercall instructions and recorded sites differ"
fi

# 5: both include orders. In each .c file, is the kernel's kvm_para header
# included before or after pvhc_guest.h (which includes pvhc's)?
before="" after=""
for f in $(cd "$top" && ls guest/module/*.c); do
	order=$(grep -nE '^#include (<(linux|asm)/kvm_para\.h>|"pvhc_guest\.h")' "$top/$f" |
		sed -e 's/.*kvm_para.*/k/' -e 's/.*pvhc_guest.*/p/' | tr -d '\n')
	case $order in
	kp*) before="$before $f" ;;
	pk*) after="$after $f" ;;
	esac
done
if [ -n "$before" ] && [ -n "$after" ] && [ -n "$ko" ]; then
	ok "kernel kvm_para.h before pvhc:$before; after:$after; both compiled"
else
	not_ok "include orders: before:${before:- none}; after:${after:- none}; built: ${ko:-no}"
fi

# 6: nothing was written into the sources.
(cd "$top" && find guest/module Kbuild guest/Kbuild guest/pvhc_guest.* \
	guest/modules.order guest/.*.cmd Module.symvers modules.order .*.cmd \
	-maxdepth 1 \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o \
	-name '.*.cmd' -o -name '*.order' -o -name '*.symvers' \) 2>/dev/null) >"$tmp/left"
if [ -s "$tmp/left" ]; then
	diag "$tmp/left"
	not_ok "source tree clean: build output found (make modules-clean)"
else
	ok "source tree clean"
fi

exit $failed
