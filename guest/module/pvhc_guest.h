/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pvhc_guest internals, and the only way this module reaches pvhc's guest
 * API: every file includes this header instead of <pvhc/kvm_hypercall.h>.
 *
 * Call-site records. The debugfs file "sites" shows every hypercall
 * instruction in the module with its current bytes, so that one can watch an
 * AMD host rewrite VMCALL to VMMCALL (and back after a migration). The API's
 * functions are always_inline, so a site is wherever a caller was compiled,
 * and the compiler may even duplicate one; only the assembler knows the real
 * addresses. The API builds its asm from the string PVHC_VMCALL_ASM, so this
 * header redefines that string, between the ABI header that defines it and
 * the API header that uses it, to the same three bytes preceded by a local
 * label and followed by a 4-byte record of that label's address (relative,
 * like the kernel's exception tables) in section pvhc_sites, which this
 * module owns. pvhc_sites.lds brackets the section when the objects are
 * linked. Nothing executes differently: the instruction is still exactly
 * VMCALL at the same place, and no register or flag is touched.
 *
 * A label is preferred to scanning the module's text for 0f 01 c1, which
 * would also match those bytes inside other instructions' immediates.
 */
#ifndef _PVHC_GUEST_H
#define _PVHC_GUEST_H

#ifdef _PVHC_KVM_HYPERCALL_H
#error "include pvhc_guest.h before <pvhc/kvm_hypercall.h>, or sites go unrecorded"
#endif

#include <linux/stringify.h>
#include <linux/types.h>

#include <pvhc/hypercall.h>
#include <pvhc/cpuid.h>

#undef PVHC_VMCALL_ASM
#define PVHC_VMCALL_ASM							\
	"771: .byte " __stringify(PVHC_VMCALL_B0) ", "			\
	__stringify(PVHC_VMCALL_B1) ", " __stringify(PVHC_VMCALL_B2) "\n\t" \
	".pushsection pvhc_sites, \"a\"\n\t"				\
	".balign 4\n\t"							\
	".long 771b - .\n\t"						\
	".popsection"

#include <pvhc/kvm_hypercall.h>

/* One record per hypercall instruction of this module. */
struct pvhc_site {
	s32 offset;	/* from this field to the instruction */
};

extern const struct pvhc_site __pvhc_sites_start[], __pvhc_sites_end[];

static inline unsigned long pvhc_site_addr(const struct pvhc_site *site)
{
	return (unsigned long)&site->offset + site->offset;
}

/*
 * Set at load time from the CPUID signature. Without a KVM-compatible host
 * VMCALL raises #UD in the guest kernel, so every entry point below refuses
 * with -ENODEV instead of executing one.
 */
extern bool pvhc_guest_has_kvm;

#define PVHC_GUEST_MAX_ARGS	4
int pvhc_guest_call(unsigned int nr, const unsigned long *args,
		    unsigned int nargs, long *ret);

/*
 * KVM documents KVM_HC_VAPIC_POLL_IRQ as "exit to the host and return 0":
 * a complete round trip with no work, on real KVM and on pvhc's shim alike.
 */
#define PVHC_BENCH_NR		KVM_HC_VAPIC_POLL_IRQ
#define PVHC_BENCH_MAX		10000000UL
int pvhc_guest_bench(unsigned long calls, u64 *ns);

/* pv_yield.c: the sample driver. */
struct pvhc_yield_result {
	unsigned int cpu;
	u32 apicid;
	unsigned long yields;	/* KVM_HC_SCHED_YIELD calls made while waiting */
	long ret;		/* result of the last of them (0 when none) */
};

int pvhc_yield_wait_for_cpu(unsigned int cpu, struct pvhc_yield_result *res);

void pvhc_debugfs_init(void);
void pvhc_debugfs_exit(void);

#endif /* _PVHC_GUEST_H */
