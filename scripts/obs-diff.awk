# SPDX-License-Identifier: GPL-2.0-only
#
# obs-diff.awk - the differential check: compare what guests saw on two
# hosts, observation by observation.
#
#   awk -v first=N -f scripts/obs-diff.awk TCG.log KVM.log
#
# Both logs are KTAP output of the same selftest binaries, the first run on
# pvhc's emulated host (tcg), the second on a real KVM (PVHC_ACCEL=kvm). A
# guest prints one "OBS key=value" line per guest-visible observation (RAX,
# the bytes of a site afterwards, the exception taken: vector, error code,
# RIP); the harness's "#  RUN  fixture.variant.test" line before it scopes
# the key. For every test that ran on the real KVM, one result:
#   ok N diff: TEST (K observations equal)
#   not ok N diff: TEST          + one "#   mismatch KEY: tcg=A kvm=B" each
# An observation missing on one side is a mismatch too, unless that side
# skipped the test (then only the common ones are compared, and not the exit
# status, which is the skip). Tests with no observation on either side (host
# checks only) give no result. Results are numbered from `first` (default
# 1); the plan is the caller's.
#
# Intentional differences, each with its reason, are the only exceptions:
# they are reported with both values and never fail. If one stops differing
# it is reported as such, so that this list can be kept true.

BEGIN {
	if (first == "")
		first = 1
	n_intent = 0
	# test-name pattern, observation-key pattern, reason
	intent("^rw\\.amd_(64|32)\\.read_only_text_is_patched$", "^ro_text\\.",
	       "upstream KVM writes the patch through the guest's page tables with a " \
	       "write check, so read-only text gets #PF(P|W) and keeps VMCALL; pvhc " \
	       "writes the physical frame and the call returns")
	intent("^qk\\.amd_(64|32)\\.msr_rules$", "^msr\\.gs_noncanonical$",
	       "kvm_amd lets the guest write GS_BASE itself, and the CPU under it here is " \
	       "QEMU's TCG, whose WRMSR takes a non-canonical base; hardware raises #GP(0), " \
	       "and so does pvhc")
	intent("^qk\\.amd_64\\.cr4_reserved_bits$", "^cr4\\.bit32$",
	       "on the test bed, KVM runs on QEMU's TCG CPU, and a MOV to CR4 that sets " \
	       "bit 32 goes through there; the SDM and the APM reserve bits 63:32 " \
	       "(#GP(0)), and so does pvhc")
}

function intent(test_re, key_re, reason) {
	n_intent++
	i_test[n_intent] = test_re
	i_key[n_intent] = key_re
	i_reason[n_intent] = reason
}

function intentional(test, key,    i) {
	for (i = 1; i <= n_intent; i++)
		if (test ~ i_test[i] && key ~ i_key[i])
			return i_reason[i]
	return ""
}

FNR == 1 {
	side = NR == FNR ? "tcg" : "kvm"
	test = ""
}

/^#  RUN / {
	test = $3
	if (side == "kvm" && !(test in ran_kvm)) {
		ran_kvm[test] = 1
		order[++n_tests] = test
	}
	next
}

# Any result line ends the test it belongs to; a skip is remembered.
/^(not )?ok [0-9]+/ {
	if (test != "" && $0 ~ /# [Ss][Kk][Ii][Pp]/)
		skipped[side, test] = 1
	test = ""
	next
}

test != "" && /OBS [^ =]+=/ {
	line = $0
	sub(/^.*OBS /, "", line)
	key = line
	sub(/=.*/, "", key)
	val = substr(line, length(key) + 2)
	if (!((side, test, key) in obs)) {
		keys[side, test] = keys[side, test] " " key
	}
	obs[side, test, key] = val
}

END {
	num = first - 1
	for (t = 1; t <= n_tests; t++) {
		test = order[t]
		if (keys["kvm", test] == "" && keys["tcg", test] == "")
			continue	# nothing observed: not run, or a host-only test
		if (skipped["kvm", test] && keys["kvm", test] == "")
			continue	# not run on the real KVM (e.g. another vendor)
		# The union of the keys, in the order the guests printed them.
		nk = 0
		split("", seen)
		split(keys["kvm", test] " " keys["tcg", test], all, " ")
		for (i = 1; i in all; i++) {
			if (all[i] == "" || (all[i] in seen))
				continue
			seen[all[i]] = 1
			klist[++nk] = all[i]
		}
		equal = 0
		bad = 0
		notes = ""
		n_int = 0
		for (i = 1; i <= nk; i++) {
			k = klist[i]
			in_t = (("tcg", test, k) in obs)
			in_k = (("kvm", test, k) in obs)
			# A skip is its own exit status; the reason is in the log.
			if (k == "exit_status" && (skipped["tcg", test] || skipped["kvm", test]))
				continue
			if (!in_t || !in_k) {
				if ((!in_t && skipped["tcg", test]) || (!in_k && skipped["kvm", test]))
					continue
				bad++
				notes = notes sprintf("#   mismatch %s: tcg=%s kvm=%s\n", k,
						      in_t ? obs["tcg", test, k] : "(none)",
						      in_k ? obs["kvm", test, k] : "(none)")
				continue
			}
			vt = obs["tcg", test, k]
			vk = obs["kvm", test, k]
			why = intentional(test, k)
			if (why != "") {
				n_int++
				if (vt == vk)
					notes = notes sprintf("#   intentional difference no longer differs: %s=%s (%s)\n", k, vt, why)
				else
					notes = notes sprintf("#   intentional %s: tcg=%s kvm=%s (%s)\n", k, vt, vk, why)
			} else if (vt == vk) {
				equal++
			} else {
				bad++
				notes = notes sprintf("#   mismatch %s: tcg=%s kvm=%s\n", k, vt, vk)
			}
		}
		num++
		if (equal + bad + n_int == 0) {
			printf("ok %d diff: %s # SKIP no observation on both hosts\n", num, test)
			continue
		}
		printf("%sok %d diff: %s (%d equal%s%s)\n", bad ? "not " : "", num, test, equal,
		       n_int ? sprintf(", %d intentionally different", n_int) : "",
		       bad ? sprintf(", %d different", bad) : "")
		printf("%s", notes)
		total_equal += equal
		total_bad += bad
		total_int += n_int
	}
	printf("# differential: %d tests, %d observations equal, %d intentional differences, %d mismatches\n",
	       num - first + 1, total_equal, total_int, total_bad)
	exit total_bad ? 1 : 0
}
