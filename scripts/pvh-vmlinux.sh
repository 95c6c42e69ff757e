#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Usage: scripts/pvh-vmlinux.sh VMLINUZ CACHE_DIR
# Print the path of the fastest way to boot VMLINUZ under QEMU -kernel.
#
# Under TCG the bzImage's own decompressor takes about 4 of a ~7 s test
# boot (measured with Debian's 6.1 kernel). A kernel built with CONFIG_PVH
# carries an ELF note with a 32-bit entry point that QEMU's -kernel uses
# when given the uncompressed ELF vmlinux, skipping the decompressor
# entirely. So unpack the ELF from the bzImage once (the first compressed
# stream after the setup code), keep it in CACHE_DIR keyed by VMLINUZ's
# checksum, and print its path; when that is not possible, print VMLINUZ
# itself and say why on stderr. Neither changes what the kernel does.
set -eu

[ $# -eq 2 ] || { echo "usage: $0 VMLINUZ CACHE_DIR" >&2; exit 2; }
vmlinuz=$1
cache=$2
[ -r "$vmlinuz" ] || { echo "$0: cannot read $vmlinuz" >&2; exit 1; }
mkdir -p "$cache"
elf=$cache/vmlinux-$(basename "$vmlinuz" | sed 's/^vmlinuz-//')
key=$(sha256sum "$vmlinuz" | cut -d' ' -f1)

# A PVH kernel has a "Xen" ELF note of type 18 (XEN_ELFNOTE_PHYS32_ENTRY),
# which readelf does not name.
has_pvh_note() {
	readelf -nW "$1" 2>/dev/null |
		grep -Eq '^ *Xen +0x[0-9a-f]+[[:space:]]+Unknown note type: \(0x00000012\)'
}

if [ -f "$elf" ] && [ "$(cat "$elf.key" 2>/dev/null)" = "$key" ]; then
	echo "$elf"
	exit 0
fi
rm -f "$elf" "$elf.key"

# Offsets of the stream magics; the earliest one that a tool here can
# decompress is the payload.
off="" tool=""
for m in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08\x00'; do
	t=${m%%:*}
	command -v "$t" >/dev/null || continue
	o=$(LC_ALL=C grep -obUaP "${m#*:}" "$vmlinuz" 2>/dev/null | head -n 1 | cut -d: -f1)
	[ -n "$o" ] || continue
	if [ -z "$off" ] || [ "$o" -lt "$off" ]; then
		off=$o
		tool=$t
	fi
done

why=""
if [ -z "$off" ]; then
	why="no xz, zstd or gzip stream found"
else
	# Bytes after the stream make the tools complain; judge by the result.
	tail -c +$((off + 1)) "$vmlinuz" | "$tool" -dc >"$elf.tmp.$$" 2>/dev/null || true
	if has_pvh_note "$elf.tmp.$$"; then
		mv -f "$elf.tmp.$$" "$elf"
		echo "$key" >"$elf.key"
	else
		rm -f "$elf.tmp.$$"
		why="the unpacked kernel has no PVH entry note (CONFIG_PVH)"
	fi
fi
if [ -n "$why" ]; then
	echo "$0: booting the compressed $vmlinuz (slower): $why" >&2
	echo "$vmlinuz"
else
	echo "$elf"
fi
