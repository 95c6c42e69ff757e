#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# kvm-amd-host.sh - run static programs on a real KVM AMD host.
#
# QEMU's TCG with -cpu EPYC emulates SVM well enough for Debian's own kernel
# to load kvm_amd, so every machine with the Debian packages has a genuine
# kvm_amd host to test against, even without any hardware virtualization.
# This script boots that kernel with a tiny busybox initramfs, loads the kvm
# modules, checks /dev/kvm and runs the given programs one after another.
#
# Usage:
#   scripts/kvm-amd-host.sh [OPTION]... [--] [BIN [ARG]... [-- BIN [ARG]...]...]
#
#   Each BIN is a host file copied into the guest (an ELF must be static: the
#   guest has no libc; a "#!/bin/sh" script runs under busybox). Its ARGs are
#   passed unchanged; a lone "--" ends one program's arguments and starts the
#   next program, so "--" itself cannot be passed as an argument. With no BIN
#   the host is only booted and checked. Programs run as root in /, with
#   stdin from /dev/null and stdout+stderr merged, in the order given.
#
# Options (before the first BIN):
#   --timeout S      kill the whole run after S seconds (default 240)
#   --file SRC:DEST  also copy host file or directory SRC to the absolute guest
#                    path DEST (repeatable); DEST's parent directories are made
#   --mem MB         guest memory (default 1536, enough for a nested QEMU)
#   --smp N          guest CPUs (default 1: more do not make TCG boot faster)
#   --log FILE       save the guest kernel's console log to FILE
#   -v, --verbose    print the kernel console log and timings even on success
#   -h, --help       this text
#
# Output: each program's output, unchanged, on stdout; this script's own
# lines ("kvm-amd-host: ...": per-program exit status and time, summary,
# errors) on stderr, so `kvm-amd-host.sh PROBE >out.ktap` keeps clean KTAP.
#
# Exit status:
#   0  every program exited 0 or 4, at least one 0 (or no program was given)
#   1  a program failed: another status, a signal, or it never finished
#   2  usage error
#   3  this machine cannot run the AMD host: QEMU, the kernel image, its kvm
#      modules or busybox-static is missing (one line says which; install
#      them with scripts/install-deps.sh)
#   4  every program exited 4 (kselftest's "skip")
#   5  the AMD host did not come up: kernel, module load or /dev/kvm failed,
#      or the timeout hit before the first program started
#
# Environment: KAH_KERNEL_VERSION overrides the kernel version, which is
# otherwise the one Debian's linux-image-amd64 package depends on (never the
# running kernel's: this machine's own is not Debian's). KAH_CACHE overrides
# the cache directory (default build/kvm-amd-host).
#
# Cache: the kernel's uncompressed vmlinux (booted through its PVH entry,
# which skips the bzImage decompressor: about 3 s less under TCG) and the
# base initramfs (busybox, modules, /init) are kept under build/kvm-amd-host/
# and rebuilt when the kernel image, a module, busybox or this script change.
# Each run appends a second, small cpio archive with the programs and files:
# the kernel unpacks concatenated archives in order.
#
# Wire protocol: the guest's kernel console is ttyS0; the programs and the
# markers below use ttyS1 (in raw mode, so bytes pass unchanged), so kernel
# messages can never interleave with a program's output:
#   @@KAH READY <uptime>            modules loaded, /dev/kvm is there
#   @@KAH BEGIN <n>                 program n starts
#   <output>\n@@KAH END <n> <status> <uptime>
#                                   the "\n" before END is added by the guest
#   @@KAH FAIL <reason>             the host could not be set up
#   @@KAH DONE                      all programs ran
set -eu

me=kvm-amd-host
top=$(cd "$(dirname "$0")/.." && pwd)
script="$top/scripts/$(basename "$0")"

die() { echo "$me: $*" >&2; exit 2; }
cannot() { echo "$me: cannot run the AMD host: $*" >&2; exit 3; }
note() { echo "$me: $*" >&2; }

usage() {
	sed -n '/^# Usage:/,/^set -eu/p' "$script" | sed -e '$d' -e 's/^# \{0,1\}//'
}

timeout_s=240
mem=1536
smp=1
log=""
verbose=0
files=""	# newline-separated SRC:DEST pairs
nl='
'

while [ $# -gt 0 ]; do
	case $1 in
	--timeout) [ $# -ge 2 ] || die "--timeout needs seconds"; timeout_s=$2; shift 2 ;;
	--timeout=*) timeout_s=${1#*=}; shift ;;
	--file) [ $# -ge 2 ] || die "--file needs SRC:DEST"; files="$files$2$nl"; shift 2 ;;
	--file=*) files="$files${1#*=}$nl"; shift ;;
	--mem) [ $# -ge 2 ] || die "--mem needs MB"; mem=$2; shift 2 ;;
	--mem=*) mem=${1#*=}; shift ;;
	--smp) [ $# -ge 2 ] || die "--smp needs N"; smp=$2; shift 2 ;;
	--smp=*) smp=${1#*=}; shift ;;
	--log) [ $# -ge 2 ] || die "--log needs FILE"; log=$2; shift 2 ;;
	--log=*) log=${1#*=}; shift ;;
	-v|--verbose) verbose=1; shift ;;
	-h|--help) usage; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1 (see --help)" ;;
	*) break ;;
	esac
done
for n in "$timeout_s" "$mem" "$smp"; do
	case $n in ''|*[!0-9]*) die "not a positive integer: '$n'" ;; esac
	[ "$n" -gt 0 ] || die "not a positive integer: '$n'"
done

# --- what this machine must have ---------------------------------------

qemu=$(command -v qemu-system-x86_64 || true)
[ -n "$qemu" ] || cannot "qemu-system-x86_64 not found (Debian package qemu-system-x86)"
for t in cpio sha256sum timeout readelf; do
	command -v $t >/dev/null || cannot "$t not found"
done

kver=${KAH_KERNEL_VERSION:-}
if [ -z "$kver" ]; then
	# "linux-image-6.1.0-56-amd64 (= 6.1.192-2)" -> 6.1.0-56-amd64
	dep=$(dpkg-query -W -f='${Depends}' linux-image-amd64 2>/dev/null || true)
	kver=$(printf '%s\n' "$dep" | tr ',' '\n' |
	       sed -n 's/^ *linux-image-\([^ ]*\).*/\1/p' | head -n 1)
	[ -n "$kver" ] || cannot "package linux-image-amd64 is not installed"
fi
vmlinuz=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$vmlinuz" ] || cannot "kernel image $vmlinuz not found (package linux-image-$kver)"
[ -r "$moddir/modules.dep" ] || cannot "$moddir/modules.dep not found (package linux-image-$kver)"

busybox=""
for b in /bin/busybox /usr/bin/busybox; do
	[ -x "$b" ] && busybox=$b && break
done
[ -n "$busybox" ] || cannot "busybox not found (Debian package busybox-static)"
if readelf -l "$busybox" 2>/dev/null | grep -q 'program interpreter'; then
	cannot "$busybox is dynamically linked (install busybox-static)"
fi

# Load order for kvm-amd and what it needs. modules.dep lists every module a
# module needs, transitively, the deepest last: its reverse is a valid order.
mod_order=""
add_mod() {
	case " $mod_order " in *" $1 "*) return ;; esac
	mod_order="$mod_order $1"
}
line=$(grep -E "(^|/)kvm-amd\.ko(\.[a-z]+)?:" "$moddir/modules.dep" || true)
[ -n "$line" ] || cannot "module kvm-amd.ko not in $moddir/modules.dep"
deps=""
for d in ${line#*:}; do deps="$d $deps"; done
for d in $deps ${line%%:*}; do add_mod "$d"; done
for m in $mod_order; do
	case $m in *.ko) ;; *) cannot "compressed module $m is not supported" ;; esac
	[ -r "$moddir/$m" ] || cannot "module $moddir/$m is missing"
done
for need in irqbypass kvm ccp kvm-amd; do
	case " $mod_order " in *"/$need.ko "*) ;;
	*) cannot "module dependencies of kvm-amd do not include $need" ;; esac
done

# --- the programs -------------------------------------------------------

tmp=$(mktemp -d "${TMPDIR:-/tmp}/$me.XXXXXX")
# shellcheck disable=SC2317 # run by the trap
cleanup() {
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Quote one word for the guest's shell.
shq() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

root=$tmp/root
mkdir -p "$root/kah/bin"
runlist=$root/kah/run
: >"$runlist"
nprog=0
names=""
while [ $# -gt 0 ]; do
	bin=$1
	shift
	[ "$bin" != -- ] || die "empty program between two '--'"
	[ -f "$bin" ] || die "no such file: $bin"
	if readelf -h "$bin" >/dev/null 2>&1 &&
	   readelf -l "$bin" 2>/dev/null | grep -q 'program interpreter'; then
		die "$bin is dynamically linked; the guest has no libc: link it with -static"
	fi
	nprog=$((nprog + 1))
	name=$(basename "$bin")
	names="$names$name$nl"
	mkdir -p "$root/kah/bin/$nprog"
	cp "$bin" "$root/kah/bin/$nprog/$name"
	chmod 755 "$root/kah/bin/$nprog/$name"
	cmd="run $nprog $(shq "/kah/bin/$nprog/$name")"
	while [ $# -gt 0 ] && [ "$1" != -- ]; do
		cmd="$cmd $(shq "$1")"
		shift
	done
	[ $# -eq 0 ] || shift
	printf '%s\n' "$cmd" >>"$runlist"
done

while IFS= read -r pair; do
	[ -n "$pair" ] || continue
	case $pair in *:*) ;; *) die "--file wants SRC:DEST, got '$pair'" ;; esac
	src=${pair%:*}
	dest=${pair##*:}
	case $dest in /*) ;; *) die "--file DEST must be an absolute guest path: '$dest'" ;; esac
	[ -e "$src" ] || die "--file: no such file: $src"
	mkdir -p "$root$(dirname "$dest")"
	cp -R "$src" "$root$dest"
done <<EOF
$files
EOF

# --- cache: vmlinux and the base initramfs -------------------------------

cache=${KAH_CACHE:-$top/build/kvm-amd-host}/$kver
mkdir -p "$cache"

# The bzImage's setup code decompresses the kernel, which takes seconds under
# TCG. With CONFIG_PVH QEMU boots the ELF vmlinux directly, so decompress it
# once here. If that is not possible, boot the bzImage and say so.
kernel=$vmlinuz
vkey=$(sha256sum "$vmlinuz" | cut -d' ' -f1)
if [ "$(cat "$cache/vmlinux.key" 2>/dev/null || true)" != "$vkey" ]; then
	rm -f "$cache/vmlinux" "$cache/vmlinux.key"
	why=""
	if ! grep -qx 'CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null; then
		why="kernel has no CONFIG_PVH"
	else
		# The first magic of a known compressor is the payload's start.
		off="" tool=""
		for m in 'xz:\xfd7zXZ\x00' 'zstd:\x28\xb5\x2f\xfd' 'gzip:\x1f\x8b\x08'; do
			o=$(LC_ALL=C grep -obUaP "${m#*:}" "$vmlinuz" 2>/dev/null |
			    head -n 1 | cut -d: -f1)
			if [ -n "$o" ] && command -v "${m%%:*}" >/dev/null &&
			   { [ -z "$off" ] || [ "$o" -lt "$off" ]; }; then
				off=$o tool=${m%%:*}
			fi
		done
		if [ -z "$off" ]; then
			why="no xz, zstd or gzip payload found in $vmlinuz"
		else
			# Trailing bytes after the stream make the tool complain:
			# judge the result by its ELF PVH note instead.
			tail -c +$((off + 1)) "$vmlinuz" |
				"$tool" -dc >"$cache/vmlinux.$$" 2>/dev/null || true
			# Xen note type 18: XEN_ELFNOTE_PHYS32_ENTRY, the PVH entry.
			if readelf -n "$cache/vmlinux.$$" 2>/dev/null |
			   grep -q 'Unknown note type: (0x00000012)'; then
				mv -f "$cache/vmlinux.$$" "$cache/vmlinux"
				echo "$vkey" >"$cache/vmlinux.key"
			else
				rm -f "$cache/vmlinux.$$"
				why="the unpacked kernel has no PVH entry note"
			fi
		fi
	fi
	[ -z "$why" ] || note "booting the compressed $vmlinuz (slower): $why"
fi
[ ! -f "$cache/vmlinux" ] || kernel=$cache/vmlinux

# /init of the AMD host. Kept in this file so that changing it changes the
# cache key below.
write_init() {
	cat <<'EOF'
#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Generated by scripts/kvm-amd-host.sh: bring up kvm_amd, run /kah/run.
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
# The kernel found no /dev/console in the archive; devtmpfs has one now.
exec </dev/console >/dev/console 2>&1
out=/dev/ttyS1
stty -F $out raw -echo
say() { printf '@@KAH %s\n' "$*" >$out; }
up() { read -r u _ </proc/uptime; echo "$u"; }
bye() { poweroff -f; echo o >/proc/sysrq-trigger; }
for m in $(cat /kah/modules.order); do
	if ! insmod "/kah/modules/$m" 2>/tmp/err; then
		say FAIL "insmod $m: $(cat /tmp/err)"
		bye
	fi
done
if [ ! -c /dev/kvm ]; then
	say FAIL "/dev/kvm missing after loading kvm_amd"
	bye
fi
say READY "$(up)"
run() {
	n=$1
	shift
	say BEGIN "$n"
	"$@" >$out 2>&1 </dev/null
	rc=$?
	printf '\n' >$out
	say END "$n" "$rc" "$(up)"
}
cd /
[ ! -f /kah/run ] || . /kah/run
say DONE
bye
EOF
}

bkey=$( {
	echo "$kver $mod_order"
	write_init
	sha256sum "$busybox"
	for m in $mod_order; do sha256sum "$moddir/$m"; done
} | sha256sum | cut -d' ' -f1)
if [ "$(cat "$cache/base.key" 2>/dev/null || true)" != "$bkey" ]; then
	b=$tmp/base
	mkdir -p "$b/bin" "$b/kah/modules" "$b/proc" "$b/sys" "$b/dev" "$b/tmp"
	cp "$busybox" "$b/bin/busybox"
	for a in $("$busybox" --list); do
		[ "$a" = busybox ] || ln -s busybox "$b/bin/$a"
	done
	for m in $mod_order; do
		cp "$moddir/$m" "$b/kah/modules/"
		basename "$m" >>"$b/kah/modules.order"
	done
	write_init >"$b/init"
	chmod 755 "$b/init"
	(cd "$b" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) \
		>"$cache/base.cpio.$$"
	mv -f "$cache/base.cpio.$$" "$cache/base.cpio"
	echo "$bkey" >"$cache/base.key"
	rm -rf "$b"
fi

# --- boot it --------------------------------------------------------------

case $tmp in *,*) die "TMPDIR must not contain a comma (QEMU option syntax): $tmp" ;; esac
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) >"$tmp/run.cpio"
cat "$cache/base.cpio" "$tmp/run.cpio" >"$tmp/initrd"

# quiet: every console byte costs TCG time. mitigations=off and the TSC
# options only shorten the boot; none of them changes what KVM does.
append="console=ttyS0 rdinit=/init panic=-1 quiet mitigations=off tsc=reliable no_timer_check"
t0=$(date +%s.%N)
set +e
timeout -k 5 "$timeout_s" "$qemu" -accel tcg -cpu EPYC -m "$mem" -smp "$smp" \
	-nodefaults -no-user-config -display none -monitor none -no-reboot \
	-kernel "$kernel" -initrd "$tmp/initrd" -append "$append" \
	-serial "file:$tmp/console" -serial "file:$tmp/out" \
	</dev/null >"$tmp/qemu.log" 2>&1
qrc=$?
set -e
t1=$(date +%s.%N)
touch "$tmp/console" "$tmp/out"
[ -z "$log" ] || cp "$tmp/console" "$log"

# Programs' output to stdout; markers to $tmp/status as
# "ready U", "begin N", "end N STATUS U", "fail REASON", "done".
awk -v st="$tmp/status" '
function flush() { if (held) print last; held = 0 }
{ sub(/\r$/, "") }
/^@@KAH READY / { print "ready", $3 >st; next }
/^@@KAH BEGIN / { flush(); inprog = 1; print "begin", $3 >st; next }
/^@@KAH END / {
	# The guest wrote one "\n" before END: an empty held line is that
	# "\n" alone, otherwise it ended a last line that had none.
	if (held && last != "") print last
	held = 0; inprog = 0
	print "end", $3, $4, $5 >st; next
}
/^@@KAH FAIL / { flush(); r = $0; sub(/^@@KAH FAIL /, "", r); print "fail", r >st; next }
/^@@KAH DONE/ { flush(); print "done" >st; next }
inprog { flush(); last = $0; held = 1 }
END { flush(); close(st) }
' "$tmp/out"
touch "$tmp/status"

elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
console_tail() {
	note "last lines of the guest console:"
	tail -n 25 "$tmp/console" | sed 's/^/    /' >&2
	if grep -qv 'warning: TCG doesn.t support' "$tmp/qemu.log"; then
		note "QEMU said:"
		# The first lines say why; a CPU dump may follow.
		grep -v 'warning: TCG doesn.t support' "$tmp/qemu.log" | head -n 8 |
			sed 's/^/    /' >&2
	fi
}
[ "$verbose" -eq 0 ] || { note "guest console:"; sed 's/^/    /' "$tmp/console" >&2; }

ready=$(sed -n 's/^ready //p' "$tmp/status" | head -n 1)
if [ -z "$ready" ]; then
	reason=$(sed -n 's/^fail //p' "$tmp/status" | head -n 1)
	if [ -n "$reason" ]; then
		note "AMD host setup failed: $reason"
	elif [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
		note "timeout: the AMD host was not ready after $timeout_s s"
	else
		note "the AMD host did not come up (QEMU exit $qrc, ${elapsed} s)"
	fi
	console_tail
	exit 5
fi

prev=$ready
npass=0 nskip=0 nfail=0
i=0
while [ "$i" -lt "$nprog" ]; do
	i=$((i + 1))
	name=$(printf '%s' "$names" | sed -n "${i}p")
	end=$(awk -v n="$i" '$1 == "end" && $2 == n { print $3, $4 }' "$tmp/status")
	if [ -z "$end" ]; then
		nfail=$((nfail + 1))
		if grep -qx "begin $i" "$tmp/status"; then
			if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
				note "[$i/$nprog] $name: did not finish: timeout after $timeout_s s"
			else
				note "[$i/$nprog] $name: did not finish: the host died (QEMU exit $qrc)"
				console_tail
			fi
		else
			note "[$i/$nprog] $name: never started"
		fi
		continue
	fi
	rc=${end% *}
	u=${end#* }
	secs=$(awk -v a="$prev" -v b="$u" 'BEGIN { printf "%.2f", b - a }')
	prev=$u
	case $rc in
	0) npass=$((npass + 1)); what="exit 0" ;;
	4) nskip=$((nskip + 1)); what="exit 4 (skip)" ;;
	*)
		nfail=$((nfail + 1))
		if [ "$rc" -gt 128 ]; then
			what="killed by signal $((rc - 128))"
		else
			what="exit $rc"
		fi ;;
	esac
	note "[$i/$nprog] $name: $what in $secs s"
done

if ! grep -qx 'done' "$tmp/status" && [ "$nfail" -eq 0 ]; then
	note "the host stopped before finishing (QEMU exit $qrc)"
	console_tail
	exit 1
fi
note "kernel $kver: host ready at ${ready} s, last program ended at ${prev} s guest uptime; ${elapsed} s wall in QEMU; $npass ok, $nskip skipped, $nfail failed"
if [ "$nfail" -gt 0 ]; then
	exit 1
elif [ "$nprog" -gt 0 ] && [ "$npass" -eq 0 ]; then
	exit 4
fi
exit 0
