/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-side helpers shared by the selftests' guest parts: which host the
 * guest runs on, and the expected result of pvhc's ECHO hypercall.
 */
#ifndef PVHC_GUEST_UTIL_H
#define PVHC_GUEST_UTIL_H

#include <pvhc/runtime.h>

/* Where the guest runs, as far as it can tell. */
enum host_kind { HOST_INTEL, HOST_AMD };

/*
 * The host's vendor: pvhc's emulated hosts say it through PVHC_HC_HOST_VENDOR
 * (it changes after a migration); real KVM answers -KVM_ENOSYS, and then the
 * CPUID vendor is the host's.
 */
static inline bool on_real_kvm(void)
{
	return kvm_hypercall0(PVHC_HC_HOST_VENDOR) == -KVM_ENOSYS;
}

/* The vendor in CPUID: the host's unless the guest was migrated since boot. */
static inline enum host_kind cpuid_host_kind(void)
{
	unsigned int a, b, c, d;

	pvhc_cpuid(0, &a, &b, &c, &d);
	return b == PVHC_VENDOR_AMD_EBX ? HOST_AMD : HOST_INTEL;
}

static inline enum host_kind host_kind(void)
{
	long v = kvm_hypercall0(PVHC_HC_HOST_VENDOR);

	if (v == PVHC_HOST_AMD)
		return HOST_AMD;
	if (v == PVHC_HOST_INTEL)
		return HOST_INTEL;
	return cpuid_host_kind();
}

/* The host's native third opcode byte. */
static inline uint8_t native_opcode(void)
{
	return host_kind() == HOST_AMD ? PVHC_VMMCALL_B2 : PVHC_VMCALL_B2;
}

/*
 * The shim's counters, each read from one call site (so that after a first
 * warm-up call, reading a counter does not itself add a #UD).
 */
static __attribute__((noinline, unused)) long ud_traps(void)
{
	return kvm_hypercall0(PVHC_HC_UD_TRAPS);
}

static __attribute__((noinline, unused)) long rewrites(void)
{
	return kvm_hypercall0(PVHC_HC_REWRITES);
}

/* What PVHC_HC_ECHO returns, in the guest's register width. */
static inline unsigned long echo_expect(unsigned long nr, unsigned long a0, unsigned long a1,
					unsigned long a2, unsigned long a3)
{
	return nr + 2 * a0 + 3 * a1 + 5 * a2 + 7 * a3;
}

/* Has the test named name been selected with "test=name" on the command line? */
static inline bool test_selected(const char *name)
{
	const char *t = cmdline_get("test");

	return t && !strcmp(t, name);
}

#endif /* PVHC_GUEST_UTIL_H */
