#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Unicorn >= 2.1 for the emulated hosts. Debian 12 ships 2.0.1, which does not
# translate guest-virtual addresses through the guest page tables; Debian 13's
# binary packages (2.1.x) need only libc6 >= 2.34. Download them through an
# isolated apt configuration under build/ (the mirror comes from this machine's
# own apt sources; /etc/apt is never touched), unpack with dpkg-deb -x, and let
# the Makefile link libunicorn.a statically.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
dest=$top/build/unicorn
[ -f "$dest/usr/lib/x86_64-linux-gnu/libunicorn.a" ] && exit 0

apt_dir=$top/build/apt-trixie
mkdir -p "$apt_dir/lists/partial" "$apt_dir/archives/partial" "$apt_dir/debs" "$dest"

# First non-security Debian mirror from the machine's configuration.
mirror=$(cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
	sed -n 's/^URIs:[[:space:]]*//p; s/^deb[[:space:]]\+\(\[[^]]*\][[:space:]]\+\)\?\(http[^[:space:]]*\)[[:space:]].*/\2/p' |
	tr ' ' '\n' | grep -v -e security -e '^$' | grep -i debian | head -n 1)
[ -n "$mirror" ] || { echo "fetch-unicorn: no Debian mirror in /etc/apt" >&2; exit 1; }

printf 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] %s trixie main\n' \
	"$mirror" >"$apt_dir/sources.list"

aptopts="-o Dir::Etc::SourceList=$apt_dir/sources.list -o Dir::Etc::SourceParts=/nonexistent
	-o Dir::State::Lists=$apt_dir/lists -o Dir::Cache::Archives=$apt_dir/archives
	-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o Debug::NoLocking=1
	-o APT::Get::List-Cleanup=0 -o Acquire::Languages=none -o APT::Sandbox::User=root"

echo "fetch-unicorn: downloading libunicorn-dev from $mirror trixie"
# shellcheck disable=SC2086
apt-get -qq $aptopts update
# shellcheck disable=SC2086
(cd "$apt_dir/debs" && apt-get -qq $aptopts download libunicorn-dev)
for deb in "$apt_dir"/debs/*.deb; do
	dpkg-deb -x "$deb" "$dest"
done

ver=$(sed -n 's/^#define UC_API_MINOR[[:space:]]*\([0-9]*\).*/\1/p' "$dest/usr/include/unicorn/unicorn.h")
maj=$(sed -n 's/^#define UC_API_MAJOR[[:space:]]*\([0-9]*\).*/\1/p' "$dest/usr/include/unicorn/unicorn.h")
if [ "${maj:-0}" -lt 2 ] || { [ "$maj" -eq 2 ] && [ "${ver:-0}" -lt 1 ]; }; then
	echo "fetch-unicorn: got Unicorn $maj.$ver, need >= 2.1" >&2
	exit 1
fi
[ -f "$dest/usr/lib/x86_64-linux-gnu/libunicorn.a" ] ||
	{ echo "fetch-unicorn: libunicorn.a missing from the package" >&2; exit 1; }
echo "fetch-unicorn: Unicorn $maj.$ver in $dest"
