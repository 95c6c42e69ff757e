#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Install what pvhc needs from Debian's packages, idempotently: a package
# already present is skipped, so a second run does nothing and needs no network.
#
# Everything `make check` needs: compilers (gcc, clang with libFuzzer), QEMU for
# the -kernel and real-KVM-under-TCG tests, Debian's kernel image, headers and
# source (kselftest headers, checkpatch, the module build), busybox for the
# test initramfs.
pkgs="gcc gcc-multilib clang llvm lld libclang-rt-14-dev binutils make libc6-dev
	python3 qemu-system-x86 cpio zstd xz-utils busybox-static kmod ca-certificates
	linux-image-amd64 linux-headers-amd64 linux-source-6.1 sparse
	libelf-dev bc flex bison"

missing=""
for p in $pkgs; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing="$missing $p"
done

if [ -n "$missing" ]; then
	echo "install-deps: installing:$missing"
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo="sudo"
	export DEBIAN_FRONTEND=noninteractive
	$sudo apt-get update -qq
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing
fi

# Unicorn >= 2.1 from Debian 13, unpacked under build/ (DESIGN.md: 2.0.1 in
# Debian 12 does not translate through guest page tables).
"$(dirname "$0")/fetch-unicorn.sh"
