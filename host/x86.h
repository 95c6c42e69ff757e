/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * x86 architectural state as pvhc's backends exchange it, and the constants
 * needed to interpret it. The layout mirrors KVM's kvm_regs/kvm_sregs so that
 * the kvm backend converts field by field and the migration stream can carry
 * one format for every backend.
 */
#ifndef PVHC_X86_H
#define PVHC_X86_H

#include <stdbool.h>
#include <stdint.h>

enum x86_gpr {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
	GPR_COUNT
};

/* Segment registers in the hardware encoding order. */
enum x86_sreg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_COUNT };

struct x86_segment {
	uint64_t base;
	uint32_t limit;		/* byte granular, already scaled by G */
	uint16_t selector;
	uint8_t type;		/* descriptor type field, 4 bits */
	uint8_t s, dpl, present, avl, l, db, g;
	uint8_t unusable;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

struct x86_regs {
	uint64_t gpr[GPR_COUNT];
	uint64_t rip;
	uint64_t rflags;
};

struct x86_sregs {
	struct x86_segment seg[SEG_COUNT];
	struct x86_segment tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8;
	uint64_t efer;
	uint64_t apic_base;
	/*
	 * PAE paging outside long mode: the CPU's own copies of the four
	 * PDPTEs, loaded with CR3 (hidden state, like a segment's). A backend
	 * that keeps them reports them with pdptrs_valid; set_sregs() without
	 * them loads them from guest memory, as a CR3 load would.
	 */
	bool pdptrs_valid;
	uint64_t pdptrs[4];
};

/* x87 and SSE state, as FXSAVE lays it out (registers in 16-byte slots). */
struct x86_fpu {
	uint16_t fcw, fsw, ftw;	/* ftw: the full tag word (2 bits per register) */
	uint16_t fop;
	uint64_t fip, fdp;
	uint8_t st[8][16];	/* ST(0)..ST(7), 80 bits each */
	uint32_t mxcsr;
	uint8_t xmm[16][16];
};

/* The MSRs a vCPU's state includes besides EFER and APIC_BASE (in sregs). */
#define X86_MAX_MSRS 16
struct x86_msr {
	uint32_t index;
	uint64_t value;
};

struct x86_msrs {
	uint32_t nr;
	struct x86_msr e[X86_MAX_MSRS];
};

/* CR0 */
#define X86_CR0_PE	(1ull << 0)
#define X86_CR0_MP	(1ull << 1)
#define X86_CR0_EM	(1ull << 2)
#define X86_CR0_TS	(1ull << 3)
#define X86_CR0_ET	(1ull << 4)
#define X86_CR0_NE	(1ull << 5)
#define X86_CR0_WP	(1ull << 16)
#define X86_CR0_PG	(1ull << 31)
/* CR4 */
#define X86_CR4_PSE	(1ull << 4)
#define X86_CR4_PAE	(1ull << 5)
#define X86_CR4_PGE	(1ull << 7)
#define X86_CR4_PCE	(1ull << 8)
#define X86_CR4_OSFXSR	(1ull << 9)
#define X86_CR4_LA57	(1ull << 12)
#define X86_CR4_PCIDE	(1ull << 17)
#define X86_CR4_SMEP	(1ull << 20)
#define X86_CR4_SMAP	(1ull << 21)
/* EFER */
#define X86_EFER_SCE	(1ull << 0)
#define X86_EFER_LME	(1ull << 8)
#define X86_EFER_LMA	(1ull << 10)
#define X86_EFER_NXE	(1ull << 11)
#define X86_EFER_SVME	(1ull << 12)
/* RFLAGS */
#define X86_RFLAGS_FIXED (1ull << 1)
#define X86_RFLAGS_TF	(1ull << 8)
#define X86_RFLAGS_IF	(1ull << 9)
#define X86_RFLAGS_DF	(1ull << 10)
#define X86_RFLAGS_IOPL	(3ull << 12)
#define X86_RFLAGS_NT	(1ull << 14)
#define X86_RFLAGS_RF	(1ull << 16)
#define X86_RFLAGS_VM	(1ull << 17)
#define X86_RFLAGS_AC	(1ull << 18)

/* MSRs */
#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_APICBASE	0x0000001b
#define MSR_P6_PERFCTR0		0x000000c1
#define MSR_P6_PERFCTR1		0x000000c2
#define MSR_IA32_SYSENTER_CS	0x00000174
#define MSR_IA32_SYSENTER_ESP	0x00000175
#define MSR_IA32_SYSENTER_EIP	0x00000176
#define MSR_IA32_MCG_CAP	0x00000179
#define MSR_IA32_MCG_STATUS	0x0000017a
#define MSR_IA32_MCG_CTL	0x0000017b
#define MSR_P6_EVNTSEL0		0x00000186
#define MSR_P6_EVNTSEL1		0x00000187
#define MSR_IA32_PERF_STATUS	0x00000198
#define MSR_IA32_MISC_ENABLE	0x000001a0
#define MSR_IA32_DEBUGCTL	0x000001d9
#define MSR_IA32_CR_PAT		0x00000277
#define MSR_K7_EVNTSEL0		0xc0010000
#define MSR_K7_PERFCTR3		0xc0010007
#define MSR_EFER		0xc0000080
#define MSR_STAR		0xc0000081
#define MSR_LSTAR		0xc0000082
#define MSR_CSTAR		0xc0000083
#define MSR_SYSCALL_MASK	0xc0000084
#define MSR_FS_BASE		0xc0000100
#define MSR_GS_BASE		0xc0000101
#define MSR_KERNEL_GS_BASE	0xc0000102
#define MSR_TSC_AUX		0xc0000103

/* IA32_APIC_BASE */
#define X86_APIC_BASE_BSP	(1ull << 8)
#define X86_APIC_BASE_EXTD	(1ull << 10)	/* x2APIC mode */
#define X86_APIC_BASE_EN	(1ull << 11)
#define X86_APIC_DEFAULT_BASE	0xfee00000ull

/* Exception vectors */
enum x86_vector {
	X86_DE = 0, X86_DB = 1, X86_NMI = 2, X86_BP = 3, X86_OF = 4, X86_BR = 5,
	X86_UD = 6, X86_NM = 7, X86_DF = 8, X86_TS = 10, X86_NP = 11,
	X86_SS = 12, X86_GP = 13, X86_PF = 14, X86_MF = 16, X86_AC = 17,
	X86_MC = 18, X86_XM = 19,
};

/* #PF error code bits */
#define X86_PF_P	(1u << 0)
#define X86_PF_W	(1u << 1)
#define X86_PF_U	(1u << 2)
#define X86_PF_RSVD	(1u << 3)
#define X86_PF_I	(1u << 4)

/* Which vectors push an error code (bit per vector). */
#define X86_VECTORS_WITH_ERROR_CODE \
	((1u << X86_DF) | (1u << X86_TS) | (1u << X86_NP) | (1u << X86_SS) | \
	 (1u << X86_GP) | (1u << X86_PF) | (1u << X86_AC))

/*
 * Fault-class vectors (SDM vol. 3, table 6-1): the saved RIP is the
 * faulting instruction's, and the saved RFLAGS has RF set.
 */
#define X86_FAULT_VECTORS \
	((1u << X86_DE) | (1u << X86_BR) | (1u << X86_UD) | (1u << X86_NM) | \
	 (1u << X86_TS) | (1u << X86_NP) | (1u << X86_SS) | (1u << X86_GP) | \
	 (1u << X86_PF) | (1u << X86_MF) | (1u << X86_AC) | (1u << X86_XM))

/* The execution mode that decides how a hypercall is decoded and masked. */
enum x86_mode {
	X86_MODE_REAL,		/* CR0.PE = 0 */
	X86_MODE_VM86,		/* EFLAGS.VM = 1 */
	X86_MODE_PROT16,	/* protected mode, CS.D = 0 */
	X86_MODE_PROT32,	/* protected mode, CS.D = 1 */
	X86_MODE_COMPAT,	/* long mode, CS.L = 0 */
	X86_MODE_LONG64,	/* long mode, CS.L = 1 */
};

/* The MSRs saved with a vCPU (their indexes), in a fixed order. */
extern const uint32_t x86_saved_msrs[];
extern const unsigned int x86_nr_saved_msrs;

const char *x86_mode_name(enum x86_mode mode);
enum x86_mode x86_mode_of(const struct x86_sregs *s, uint64_t rflags);
unsigned int x86_cpl_of(const struct x86_sregs *s, uint64_t rflags);

/* Decode a GDT/LDT descriptor (8 bytes, or 16 for system descriptors in long mode). */
void x86_segment_from_desc(struct x86_segment *seg, uint16_t selector,
			   uint64_t lo, uint64_t hi);
/* Real-mode / VM86 segment for a selector. */
void x86_segment_real(struct x86_segment *seg, uint16_t selector, bool code);

/*
 * FXSAVE (and KVM's kvm_fpu, XSAVE's legacy area) keep one "not empty" bit
 * per physical x87 register; FSTENV's full tag word, which pvhc carries, has
 * two: valid, zero, special or empty. The full word is derived from the
 * registers' contents, as the CPU does (st[] is ST(0)..ST(7), from TOP).
 */
uint8_t x86_fpu_abridged_tag(uint16_t ftw);
/* f's full tag word from abridged, f's FSW (TOP) and its registers. */
uint16_t x86_fpu_full_tag(const struct x86_fpu *f, uint8_t abridged);

static inline bool x86_is_canonical(uint64_t va)
{
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

#endif /* PVHC_X86_H */
