#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Build-level test of the guest ABI headers: include/uapi/pvhc/*.h and
# guest/include/pvhc/kvm_hypercall.h must compile warning-free wherever guest
# or host code may include them -- a kernel module, a freestanding payload,
# host userspace -- as C99 and C11, -m32 and -m64, with gcc and clang.
#
# One KTAP result per (compiler, -m, -std, environment):
#   freestanding  -ffreestanding -nostdinc: each header alone with no include
#                 path at all (proves it needs nothing), then all of them
#                 together with the compiler's own <stddef.h>, <stdint.h>...
#   hosted        each header alone, and together with libc in both orders
#                 (the uapi header defines EPERM & co. when no errno header
#                 came first; <errno.h> after it must not see a different
#                 definition)
#   kvm_para      with the system's <linux/kvm_para.h> before and after, and
#                 static asserts that every KVM_* name has KVM's exact value
#                 (selftests/abi/kvm_values.h); every macro that pvhc and
#                 the system both define has the same replacement list; and
#                 two negative controls that must NOT compile
#
# Generated sources and objects go to $O/abi/uapi, never into the tree.
# Exit status: 0 when nothing failed (skips are fine), 1 otherwise.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
out=${O:-$top/build/out}
case $out in /*) ;; *) out=$top/$out ;; esac
out=$out/abi/uapi
src=$out/src
rm -rf "$out"
mkdir -p "$src"

uapi=$top/include/uapi
guest=$top/guest/include
values=$top/selftests/abi/kvm_values.h
# The uapi headers, by name relative to include/uapi (pvhc/cpuid.h ...).
mapfile -t headers < <(cd "$uapi" && ls pvhc/*.h)
mapfile -t rev_headers < <(printf '%s\n' "${headers[@]}" | sort -r)

# The kernel's and W=1's usual suspects on top of what the brief demands:
# a header that trips any of them costs every includer a -Wno-... flag.
warn="-Wall -Wextra -pedantic -Werror -Wundef -Wshadow -Wstrict-prototypes \
-Wmissing-prototypes -Wcast-qual -Wpointer-arith -Wredundant-decls"

# ---- translation units ------------------------------------------------------

# -pedantic rejects an empty translation unit, and a macro-only header
# leaves one; this line keeps each TU non-empty without using the header.
tail_line='typedef int pvhc_tu_not_empty;'

incs() { for h in "$@"; do echo "#include <$h>"; done; }

# Every function of the guest API called once, so the inline asm and its
# constraints are really compiled (an unused static inline never is).
guest_use() {
	cat <<-'EOF'
	long pvhc_use_api(unsigned long *v);
	long pvhc_use_api(unsigned long *v)
	{
		long r = kvm_hypercall0(PVHC_HC_NOP);

		r += kvm_hypercall1(PVHC_HC_ECHO, v[0]);
		r += kvm_hypercall2(PVHC_HC_ECHO, v[0], v[1]);
		r += kvm_hypercall3(PVHC_HC_ECHO, v[0], v[1], v[2]);
		r += kvm_hypercall4(PVHC_HC_ECHO, v[0], v[1], v[2], v[3]);
		r += pvhc_hypercall4(KVM_HC_SEND_IPI, v[0], v[1], v[2], v[3]);
		return r + kvm_para_available() + (long)pvhc_kvm_cpuid_base();
	}
	EOF
}

gen() { # name, then the file's lines on stdin
	cat >"$src/$1.c"
}

alone=()
for h in "${headers[@]}"; do
	n=alone_$(basename "$h" .h)
	{ incs "$h"; echo "$tail_line"; } | gen "$n"
	alone+=("$n")
done
{ incs "pvhc/kvm_hypercall.h"; guest_use; } | gen alone_kvm_hypercall

# All uapi headers in both orders, then the ABI values they must carry.
{ incs "${headers[@]}"; echo "#include \"$values\""; echo "$tail_line"; } | gen all_fwd
{ incs "${rev_headers[@]}"; echo "#include \"$values\""; echo "$tail_line"; } | gen all_rev

# Freestanding: beside the compiler's own headers, the ones a payload has.
# Not <limits.h>: gcc's copy does #include_next into libc's, which -nostdinc
# has removed.
fs_libc=(stddef.h stdint.h stdbool.h stdarg.h)
{ incs "${fs_libc[@]}" "${headers[@]}" pvhc/kvm_hypercall.h; guest_use; } | gen fs_libc_first
{ incs "${headers[@]}" pvhc/kvm_hypercall.h "${fs_libc[@]}"; guest_use; } | gen fs_libc_last

# Hosted: libc first and last; <errno.h> is the one that matters.
libc=(errno.h stdio.h stdlib.h string.h stdint.h)
{ incs "${libc[@]}" "${headers[@]}" pvhc/kvm_hypercall.h; echo "#include \"$values\"";
  guest_use; } | gen libc_first
{ incs "${headers[@]}" pvhc/kvm_hypercall.h "${libc[@]}"; echo "#include \"$values\"";
  guest_use; } | gen libc_last

# <linux/kvm_para.h> before and after, uapi alone and through the guest API.
# No <errno.h> here on purpose: KVM_EFAULT expands to EFAULT, which then has
# to come from pvhc's own fallback definition.
kvm=linux/kvm_para.h
{ incs $kvm "${headers[@]}"; echo "#include \"$values\""; echo "$tail_line"; } | gen kvm_first
{ incs "${headers[@]}" $kvm; echo "#include \"$values\""; echo "$tail_line"; } | gen kvm_last
{ incs $kvm pvhc/kvm_hypercall.h; echo "#include \"$values\""; guest_use; } |
	gen guest_kvm_first
{ incs pvhc/kvm_hypercall.h $kvm; echo "#include \"$values\""; guest_use; } |
	gen guest_kvm_last
# ... and with <errno.h> in the middle, where EFAULT gets defined twice.
{ incs $kvm errno.h pvhc/hypercall.h; echo "#include \"$values\"";
  echo "$tail_line"; } | gen kvm_errno_pvhc
{ incs pvhc/hypercall.h errno.h $kvm; echo "#include \"$values\"";
  echo "$tail_line"; } | gen pvhc_errno_kvm

# For the -dM comparison: what the system defines, and what pvhc defines.
{ incs $kvm errno.h; echo "$tail_line"; } | gen sys_macros
{ incs "${headers[@]}" pvhc/kvm_hypercall.h; echo "$tail_line"; } | gen pvhc_macros

# Negative controls: if these compiled, a broken header would pass as well.
# A value that differs from KVM's must trip kvm_values.h (C99's typedef trick
# included), and a macro redefined with another replacement list must be an
# error, not a warning lost in -Werror's absence.
{ incs "${headers[@]}"; echo '#undef KVM_E2BIG'; echo '#define KVM_E2BIG 8';
  echo "#include \"$values\""; } | gen neg_value
{ incs pvhc/hypercall.h; echo '#define EPERM (1)'; echo "$tail_line"; } |
	gen neg_redefine

# ---- running ----------------------------------------------------------------

# Compile the named TUs with one flag set; on failure, leave the command and
# the compiler's output in $diag and return 1. -c, not -fsyntax-only, so the
# inline asm reaches the back end and its constraints are checked.
compile() { # tag "flags" tu...
	local tag=$1 flags=$2 tu obj
	shift 2
	mkdir -p "$out/$tag"
	for tu in "$@"; do
		obj=$out/$tag/$tu.o
		# shellcheck disable=SC2086
		if ! $cc $flags -c "$src/$tu.c" -o "$obj" >"$obj.log" 2>&1; then
			{ echo "$tu.c: $cc $flags"; cat "$obj.log"; } >"$diag"
			return 1
		fi
		if [ -s "$obj.log" ]; then # output that -Werror let through
			{ echo "$tu.c: output from $cc"; cat "$obj.log"; } >"$diag"
			return 1
		fi
	done
}

# The opposite: the TU must be rejected, and for the expected reason (the
# error names $word), not because of some unrelated breakage.
compile_fails() { # tag "flags" tu word
	local tag=$1 flags=$2 tu=$3 word=$4 log
	mkdir -p "$out/$tag"
	log=$out/$tag/$tu.log
	# shellcheck disable=SC2086
	if $cc $flags -c "$src/$tu.c" -o "$out/$tag/$tu.o" >"$log" 2>&1; then
		echo "$tu.c: compiled, but must not: $cc $flags" >"$diag"
		return 1
	fi
	grep -q "$word" "$log" || {
		{ echo "$tu.c: rejected, but the errors do not name $word:"
		  cat "$log"; } >"$diag"
		return 1
	}
}

# A name both pvhc and the system define (KVM_*, EPERM...) must have the
# same replacement list, token for token. The compiler cannot be trusted to
# say so: a redefinition inside a system header (<errno.h> after pvhc's
# header) is not diagnosed, so compare the preprocessor's own -dM listings.
macros_agree() { # tag "flags"
	local tag=$1 flags=$2 d=$out/$1
	mkdir -p "$d"
	# shellcheck disable=SC2086
	if ! $cc $flags -dM -E "$src/sys_macros.c" >"$d/sys.dM.raw" ||
	   ! $cc $flags -dM -E "$src/pvhc_macros.c" >"$d/pvhc.dM.raw"; then
		echo "$cc -dM -E failed" >"$diag"
		return 1
	fi
	sort "$d/sys.dM.raw" >"$d/sys.dM"
	sort "$d/pvhc.dM.raw" >"$d/pvhc.dM"
	# Lines of one file whose macro name the other defines differently.
	if ! awk 'NR == FNR { sys[$2] = $0; next }
		  ($2 in sys) && sys[$2] != $0 {
			print "pvhc:   " $0; print "system: " sys[$2]; bad = 1
		  }
		  END { exit bad }' "$d/sys.dM" "$d/pvhc.dM" >"$d/differ"; then
		{ echo "macros defined differently from the system's:"
		  cat "$d/differ"; } >"$diag"
		return 1
	fi
	# Guard against comparing nothing: KVM's names must be in both.
	if ! grep -q '^#define KVM_HC_MAP_GPA_RANGE ' "$d/pvhc.dM" ||
	   ! grep -q '^#define KVM_HC_MAP_GPA_RANGE ' "$d/sys.dM" ||
	   ! grep -q '^#define EFAULT ' "$d/sys.dM"; then
		echo "-dM listings lack KVM_HC_MAP_GPA_RANGE or EFAULT" >"$diag"
		return 1
	fi
}

# Does $cc build for this -m at all? Hosted -m32 needs the i386 libc
# headers (gcc-multilib); freestanding needs only the compiler.
probe() { # tag "flags" "include line"
	printf '%s\nint pvhc_probe;\n' "$3" >"$out/$1.probe.c"
	# shellcheck disable=SC2086
	$cc $2 -c "$out/$1.probe.c" -o "$out/$1.probe.o" >/dev/null 2>&1
}

# One (compiler, -m, -std) group: three results, written as lines
# "ok|fail|skip<TAB>description<TAB>reason or diagnostics file" to $res.
group() { # cc m std
	local cc=$1 m=$2 std=$3
	local tag=$cc-m$m-$std
	local res=$out/$tag.res diag=$out/$tag.diag
	local base="-std=$std -m$m $warn -O2" desc="$cc -m$m -std=$std"
	local ccinc fs hosted env
	: >"$res"

	if ! command -v "$cc" >/dev/null 2>&1; then
		for env in freestanding hosted kvm_para; do
			printf 'skip\t%s\t%s\n' "$desc $env" "$cc not installed" >>"$res"
		done
		return
	fi

	# Freestanding: -nostdinc for real; the compiler's own include dir
	# comes back only for the TUs that want <stdint.h> & co.
	ccinc=$($cc -print-file-name=include)
	fs="$base -ffreestanding -nostdinc"
	if ! probe "$tag" "-m$m -ffreestanding -nostdinc" ""; then
		printf 'skip\t%s\t%s\n' "$desc freestanding" "$cc cannot target -m$m" >>"$res"
	elif compile "$tag-fs" "$fs -I$uapi -I$guest" "${alone[@]}" \
			alone_kvm_hypercall all_fwd all_rev &&
	     compile "$tag-fs-inc" "$fs -isystem $ccinc -I$uapi -I$guest" \
			fs_libc_first fs_libc_last; then
		printf 'ok\t%s\t\n' "$desc freestanding" >>"$res"
	else
		printf 'fail\t%s\t%s\n' "$desc freestanding" "$diag" >>"$res"
	fi

	hosted="$base -I$uapi -I$guest"
	if ! probe "$tag" "-m$m" "#include <stdio.h>"; then
		for env in hosted kvm_para; do
			printf 'skip\t%s\t%s\n' "$desc $env" \
				"no -m$m libc headers (gcc-multilib)" >>"$res"
		done
		return
	fi
	if compile "$tag-hosted" "$hosted" "${alone[@]}" alone_kvm_hypercall \
			all_fwd all_rev libc_first libc_last; then
		printf 'ok\t%s\t\n' "$desc hosted" >>"$res"
	else
		printf 'fail\t%s\t%s\n' "$desc hosted" "$diag" >>"$res"
	fi

	if ! probe "$tag" "-m$m" "#include <$kvm>"; then
		printf 'skip\t%s\t%s\n' "$desc kvm_para" "no <$kvm> (linux-libc-dev)" >>"$res"
	elif compile "$tag-kvm" "$hosted" kvm_first kvm_last guest_kvm_first \
			guest_kvm_last kvm_errno_pvhc pvhc_errno_kvm &&
	     macros_agree "$tag-dM" "$hosted" &&
	     compile_fails "$tag-neg" "$hosted" neg_value KVM_E2BIG &&
	     compile_fails "$tag-neg" "$hosted" neg_redefine EPERM; then
		printf 'ok\t%s\t\n' "$desc kvm_para" >>"$res"
	else
		printf 'fail\t%s\t%s\n' "$desc kvm_para" "$diag" >>"$res"
	fi
}

# The groups are independent: run them as parallel as the machine allows
# (hundreds of small compiler runs; mostly process start-up).
jobs=$(nproc 2>/dev/null || echo 2)
tags=""
running=0
for cc in gcc clang; do
	for m in 64 32; do
		for std in c99 c11; do
			group "$cc" "$m" "$std" &
			tags="$tags $cc-m$m-$std"
			running=$((running + 1))
			if [ "$running" -ge "$jobs" ]; then
				wait
				running=0
			fi
		done
	done
done
wait

# Report in a fixed order, whatever order the groups finished in.
total=0
for tag in $tags; do
	total=$((total + $(wc -l <"$out/$tag.res")))
done
echo "TAP version 13"
echo "1..$total"
n=0
failed=0
for tag in $tags; do
	while IFS="$(printf '\t')" read -r status desc extra; do
		n=$((n + 1))
		case $status in
		ok) echo "ok $n $desc" ;;
		skip) echo "ok $n $desc # SKIP $extra" ;;
		*)
			echo "not ok $n $desc"
			failed=$((failed + 1))
			sed 's/^/# /' "$extra" | head -n 40
			;;
		esac
	done <"$out/$tag.res"
done

[ "$total" -eq 24 ] || { echo "# expected 24 results, got $total"; exit 1; }
[ "$failed" -eq 0 ]
