// SPDX-License-Identifier: GPL-2.0-only
/*
 * The MSRs of the emulated hosts, modelled on what a KVM guest sees when its
 * CPUID offers what pvhc's does (host/cpuid.c): no vPMU, no MCE banks, no
 * x2APIC, no RDTSCP, no speculation controls. Any index not in the table
 * raises #GP(0), as on hardware and on KVM. (Unicorn's CPU model reads every
 * MSR it does not know as 0 and drops the write, which no real CPU does;
 * kvm-unit-tests and Linux probe MSRs by catching that #GP.)
 *
 * Architectural state that the CPU model keeps (EFER, the segment bases, the
 * SYSCALL/SYSENTER targets, PAT, ...) stays there, behind cpu_ops.read_msr
 * and write_msr; this file adds the checks KVM makes before a write.
 */
#include <errno.h>

#include "dev/lapic.h"
#include "msr.h"
#include "vm.h"

enum msr_kind {
	MSR_KIND_CPU,		/* kept by the CPU model, any value */
	MSR_KIND_CPU_CANONICAL,	/* kept by the CPU model, #GP unless canonical */
	MSR_KIND_CPU_SIGN_EXTEND, /* kept by the CPU model, made canonical (KVM's SYSENTER) */
	MSR_KIND_ZERO,		/* reads 0, writes ignored: PMU MSRs without a vPMU */
	MSR_KIND_SPECIAL,	/* its own rules below */
};

struct msr_desc {
	uint32_t first, last;
	enum msr_kind kind;
};

static const struct msr_desc msr_table[] = {
	{ MSR_IA32_TSC, MSR_IA32_TSC, MSR_KIND_SPECIAL },
	{ MSR_IA32_APICBASE, MSR_IA32_APICBASE, MSR_KIND_SPECIAL },
	/* KVM answers the P6 and K7 counters with 0 on either vendor when no vPMU claims them. */
	{ MSR_P6_PERFCTR0, MSR_P6_PERFCTR1, MSR_KIND_ZERO },
	{ MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_CS, MSR_KIND_CPU },
	{ MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP, MSR_KIND_CPU_SIGN_EXTEND },
	{ MSR_IA32_MCG_CAP, MSR_IA32_MCG_CAP, MSR_KIND_SPECIAL },
	{ MSR_IA32_MCG_STATUS, MSR_IA32_MCG_STATUS, MSR_KIND_CPU },
	{ MSR_P6_EVNTSEL0, MSR_P6_EVNTSEL1, MSR_KIND_ZERO },
	{ MSR_IA32_PERF_STATUS, MSR_IA32_PERF_STATUS, MSR_KIND_SPECIAL },
	{ MSR_IA32_MISC_ENABLE, MSR_IA32_MISC_ENABLE, MSR_KIND_SPECIAL },
	{ MSR_IA32_DEBUGCTL, MSR_IA32_DEBUGCTL, MSR_KIND_SPECIAL },
	{ MSR_IA32_CR_PAT, MSR_IA32_CR_PAT, MSR_KIND_SPECIAL },
	{ MSR_EFER, MSR_EFER, MSR_KIND_SPECIAL },
	{ MSR_STAR, MSR_STAR, MSR_KIND_CPU },
	{ MSR_LSTAR, MSR_CSTAR, MSR_KIND_CPU_CANONICAL },
	{ MSR_SYSCALL_MASK, MSR_SYSCALL_MASK, MSR_KIND_CPU },
	{ MSR_FS_BASE, MSR_KERNEL_GS_BASE, MSR_KIND_CPU_CANONICAL },
	{ MSR_K7_EVNTSEL0, MSR_K7_PERFCTR3, MSR_KIND_ZERO },
};

/* MISC_ENABLE: BTS and PEBS "unavailable" are read-only; writes to EMON are dropped. */
#define MISC_ENABLE_EMON	(1ull << 7)
#define MISC_ENABLE_RO		((1ull << 11) | (1ull << 12))
/* What KVM's IA32_PERF_STATUS reports: TSC increment per tick and the multiplier. */
#define PERF_STATUS_VALUE	(1000ull | (4ull << 40))
#define CPUID_LM_EDX		(1u << 29)
#define CPUID_NX_EDX		(1u << 20)
#define CPUID_SYSCALL_EDX	(1u << 11)

static const struct msr_desc *msr_find(uint32_t index)
{
	unsigned int i;

	for (i = 0; i < sizeof(msr_table) / sizeof(msr_table[0]); i++)
		if (index >= msr_table[i].first && index <= msr_table[i].last)
			return &msr_table[i];
	return NULL;
}

static uint64_t sign_extend_48(uint64_t v)
{
	return (uint64_t)((int64_t)(v << 16) >> 16);
}

static int cpu_read(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	const struct cpu_ops *ops = vcpu->vm->cfg.backend;

	return ops->read_msr ? ops->read_msr(vcpu, index, value) : -EIO;
}

static int cpu_write(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	const struct cpu_ops *ops = vcpu->vm->cfg.backend;

	return ops->write_msr ? ops->write_msr(vcpu, index, value) : -EIO;
}

/* The EFER bits the guest's CPUID allows it to set (LMA may be written as it is). */
static uint64_t efer_writable(const struct vcpu *vcpu)
{
	uint32_t ext[4];
	uint64_t ok = 0;

	cpuid_lookup(&vcpu->vm->cpuid, 0x80000001, 0, vcpu->apic_id, ext);
	if (ext[3] & CPUID_SYSCALL_EDX)
		ok |= X86_EFER_SCE;
	if (ext[3] & CPUID_LM_EDX)
		ok |= X86_EFER_LME | X86_EFER_LMA;
	if (ext[3] & CPUID_NX_EDX)
		ok |= X86_EFER_NXE;
	return ok;
}

/* A PAT entry may hold UC, WC, WT, WP, WB or UC- (0, 1, 4, 5, 6, 7). */
static bool pat_valid(uint64_t pat)
{
	int i;

	for (i = 0; i < 8; i++) {
		unsigned int type = (pat >> (8 * i)) & 0xff;

		if (type > 7 || type == 2 || type == 3)
			return false;
	}
	return true;
}

int msr_rdmsr(struct vcpu *vcpu, const struct x86_sregs *s, uint32_t index, uint64_t *value)
{
	const struct msr_desc *d = msr_find(index);

	if (!d)
		return -EINVAL;
	if (d->kind == MSR_KIND_ZERO) {
		*value = 0;
		return 0;
	}
	/* Reads of the CPU model's MSRs need no check, whatever their writes need. */
	if (d->kind != MSR_KIND_SPECIAL)
		return cpu_read(vcpu, index, value);
	switch (index) {
	case MSR_IA32_TSC:
		/* The emulated CPU's TSC is the host's, as its RDTSC returns it. */
		*value = __builtin_ia32_rdtsc();
		break;
	case MSR_IA32_APICBASE:
		*value = vcpu->lapic.apic_base;
		break;
	case MSR_IA32_PERF_STATUS:
		*value = PERF_STATUS_VALUE;
		break;
	case MSR_EFER:
		*value = s->efer;
		break;
	case MSR_IA32_MCG_CAP:	/* no MCE banks */
	case MSR_IA32_DEBUGCTL:	/* nothing enabled */
		*value = 0;
		break;
	default:
		return cpu_read(vcpu, index, value);
	}
	return 0;
}

int msr_wrmsr(struct vcpu *vcpu, const struct x86_sregs *s, uint32_t index, uint64_t value)
{
	const struct msr_desc *d = msr_find(index);
	uint64_t old;

	if (!d)
		return -EINVAL;
	switch (d->kind) {
	case MSR_KIND_CPU:
		return cpu_write(vcpu, index, value);
	case MSR_KIND_CPU_CANONICAL:
		if (!x86_is_canonical(value))
			return -EINVAL;
		return cpu_write(vcpu, index, value);
	case MSR_KIND_CPU_SIGN_EXTEND:
		return cpu_write(vcpu, index, sign_extend_48(value));
	case MSR_KIND_ZERO:
		return 0;
	case MSR_KIND_SPECIAL:
		break;
	}
	switch (index) {
	case MSR_IA32_TSC:
		/* Unicorn's TSC cannot be offset: the write is accepted and has no effect. */
		return 0;
	case MSR_IA32_APICBASE:
		return lapic_set_base(&vcpu->lapic, value);
	case MSR_IA32_DEBUGCTL:
		return value ? -EINVAL : 0;	/* no LBR or BTF to turn on */
	case MSR_IA32_CR_PAT:
		return pat_valid(value) ? cpu_write(vcpu, index, value) : -EINVAL;
	case MSR_IA32_MISC_ENABLE:
		if (cpu_read(vcpu, index, &old))
			return -EIO;
		if ((old ^ value) & MISC_ENABLE_RO)
			return -EINVAL;
		value = (value & ~MISC_ENABLE_EMON) | (old & MISC_ENABLE_EMON);
		return cpu_write(vcpu, index, value);
	case MSR_EFER:
		if (value & ~efer_writable(vcpu))
			return -EINVAL;
		/* Long mode cannot be switched on or off while paging is on. */
		if ((s->cr0 & X86_CR0_PG) && ((s->efer ^ value) & X86_EFER_LME))
			return -EINVAL;
		value = (value & ~X86_EFER_LMA) | (s->efer & X86_EFER_LMA);
		return cpu_write(vcpu, index, value);
	default:
		/* MCG_CAP and PERF_STATUS are read-only. */
		return -EINVAL;
	}
}

int msr_rdpmc(struct vcpu *vcpu, const struct x86_sregs *s, unsigned int cpl, uint32_t index,
	      uint64_t *value)
{
	if (cpl > 0 && !(s->cr4 & X86_CR4_PCE))
		return -EINVAL;
	if (vcpu->vm->vendor != &vendor_amd || index > 3)
		return -EINVAL;
	*value = 0;
	return 0;
}
