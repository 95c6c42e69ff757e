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
 * CPUID vendor is the host's. Not inline: one call site, so that asking costs
 * the emulated AMD host one #UD per test, not one per question, and is asked
 * afresh every time (a migration may change the answer).
 */
static __attribute__((noinline, unused)) bool on_real_kvm(void)
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

/*
 * What a call of pvhc's own ECHO returns here: the echo on pvhc's emulated
 * hosts; -KVM_ENOSYS on real KVM, which does not know pvhc's numbers (ABI).
 */
static inline long expect_echo(bool real_kvm, unsigned long nr, unsigned long a0,
			       unsigned long a1, unsigned long a2, unsigned long a3)
{
	return real_kvm ? -KVM_ENOSYS : (long)echo_expect(nr, a0, a1, a2, a3);
}

/*
 * One guest-visible observation for the differential check of the emulated
 * AMD host against a real kvm_amd (scripts/obs-diff.awk): a line
 * "OBS key=value". The key is unique within one guest run; the value must
 * not depend on where the runtime placed things (offsets, not addresses),
 * and only behaviour both kinds of host share belongs here: never the
 * result of one of pvhc's own hypercall numbers.
 */
#define OBS(key, fmt, ...) printf("OBS %s=" fmt "\n", key, ##__VA_ARGS__)

/*
 * Faults in place of a hypercall (#UD, #GP, #PF): each is recorded and the
 * three bytes skipped, with FAULT_MARK in RAX, so a test sees what a host
 * delivered instead of dying in the default handler.
 */
#define FAULT_MARK 0x7070
struct fault_record {
	unsigned long count, vector, error, rip, cr2;
};
static volatile struct fault_record faults;

static __attribute__((unused)) void record_fault_and_skip(struct ex_regs *regs)
{
	faults.count++;
	faults.vector = regs->vector;
	faults.error = regs->error_code;
	faults.rip = regs->rip;
	faults.cr2 = regs->vector == PF_VECTOR ? read_cr2() : 0;
	regs->rax = FAULT_MARK;
	regs->rip += PVHC_HYPERCALL_LEN;
}

static __attribute__((unused)) void catch_faults(bool on)
{
	static const int vectors[] = { UD_VECTOR, GP_VECTOR, PF_VECTOR };

	for (unsigned int i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		install_exception_handler(vectors[i], on ? record_fault_and_skip : NULL);
	if (on)
		memset((void *)&faults, 0, sizeof(faults));
}

/* The faults so far, relative to the hypercall site at site. */
#define OBS_FAULTS(key, site)							\
	OBS(key, "%lu vector=%lu err=%lx rip=site%+ld cr2=site%+ld", faults.count,	\
	    faults.vector, faults.error,					\
	    faults.count ? (long)(faults.rip - (uintptr_t)(site)) : 0,		\
	    faults.vector == PF_VECTOR ? (long)(faults.cr2 - (uintptr_t)(site)) : 0)

/* The three bytes of a hypercall site as one number, e.g. 0x0f01d9. */
static inline unsigned long site_bytes(const void *site)
{
	const uint8_t *b = site;

	return (unsigned long)b[0] << 16 | (unsigned long)b[1] << 8 | b[2];
}

/* The first hypercall instruction in the max bytes from code, or NULL. */
static inline const uint8_t *find_hypercall(const void *code, unsigned int max)
{
	const uint8_t *p = code;

	for (unsigned int i = 0; i + 3 <= max; i++)
		if (p[i] == PVHC_VMCALL_B0 && p[i + 1] == PVHC_VMCALL_B1 &&
		    (p[i + 2] == PVHC_VMCALL_B2 || p[i + 2] == PVHC_VMMCALL_B2))
			return p + i;
	return NULL;
}

/* Ask the host to migrate the guest from here (pvhc run --migrate-on-port). */
static inline void migrate_here(void)
{
	outl(PVHC_PORT_TEST, PVHC_TEST_MIGRATE);
}

/* Has the test named name been selected with "test=name" on the command line? */
static inline bool test_selected(const char *name)
{
	const char *t = cmdline_get("test");

	return t && !strcmp(t, name);
}

#endif /* PVHC_GUEST_UTIL_H */
