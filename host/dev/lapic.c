// SPDX-License-Identifier: GPL-2.0-only
/*
 * Local APIC registers and IPIs, with the reset values and write masks KVM's
 * in-kernel APIC uses (arch/x86/kvm/lapic.c), so a guest that reads back
 * what it configured sees the same thing on pvhc and on KVM. The timer does
 * not count and nothing is delivered yet (see lapic.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dev/lapic.h"
#include "vm.h"

/* Writable bits of each LVT entry; delivery status (bit 12) and remote IRR read as 0. */
static const uint32_t lvt_mask[LVT_COUNT] = {
	[LVT_TIMER] = 0x300ff,		/* vector, mask, periodic */
	[LVT_THERMAL] = 0x107ff,	/* vector, delivery mode, mask */
	[LVT_PERF] = 0x107ff,
	[LVT_LINT0] = 0x1a7ff,		/* ... polarity, trigger mode */
	[LVT_LINT1] = 0x1a7ff,
	[LVT_ERROR] = 0x100ff,
};

#define APIC_BASE_RESERVED	(0x2ffull | ~((1ull << 40) - 1))	/* 40-bit physical addresses */

#define LAPIC_ARRAY_FIELDS(f) \
	VMSTATE_FIELD(struct lapic, f[0]), VMSTATE_FIELD(struct lapic, f[1]), \
	VMSTATE_FIELD(struct lapic, f[2]), VMSTATE_FIELD(struct lapic, f[3]), \
	VMSTATE_FIELD(struct lapic, f[4]), VMSTATE_FIELD(struct lapic, f[5]), \
	VMSTATE_FIELD(struct lapic, f[6]), VMSTATE_FIELD(struct lapic, f[7])

static const struct vmstate_field lapic_fields[] = {
	VMSTATE_FIELD(struct lapic, apic_base),
	VMSTATE_FIELD(struct lapic, id),
	VMSTATE_FIELD(struct lapic, tpr),
	VMSTATE_FIELD(struct lapic, ldr),
	VMSTATE_FIELD(struct lapic, dfr),
	VMSTATE_FIELD(struct lapic, svr),
	VMSTATE_FIELD(struct lapic, esr),
	VMSTATE_FIELD(struct lapic, icr_lo),
	VMSTATE_FIELD(struct lapic, icr_hi),
	VMSTATE_FIELD(struct lapic, lvt[LVT_TIMER]),
	VMSTATE_FIELD(struct lapic, lvt[LVT_THERMAL]),
	VMSTATE_FIELD(struct lapic, lvt[LVT_PERF]),
	VMSTATE_FIELD(struct lapic, lvt[LVT_LINT0]),
	VMSTATE_FIELD(struct lapic, lvt[LVT_LINT1]),
	VMSTATE_FIELD(struct lapic, lvt[LVT_ERROR]),
	VMSTATE_FIELD(struct lapic, timer_initial),
	VMSTATE_FIELD(struct lapic, timer_divide),
	LAPIC_ARRAY_FIELDS(irr),
	LAPIC_ARRAY_FIELDS(isr),
	LAPIC_ARRAY_FIELDS(tmr),
	VMSTATE_FIELD(struct lapic, init_pending),
	VMSTATE_FIELD(struct lapic, sipi_vector),
	VMSTATE_END,
};

static void lapic_reset(struct lapic *apic)
{
	struct vcpu *vcpu = apic->vcpu;
	int i;

	apic->apic_base = X86_APIC_DEFAULT_BASE | X86_APIC_BASE_EN |
			  (vcpu->id == 0 ? X86_APIC_BASE_BSP : 0);
	apic->id = vcpu->apic_id << 24;
	apic->tpr = apic->ldr = apic->esr = 0;
	apic->dfr = 0xffffffff;
	apic->svr = 0xff;
	apic->icr_lo = apic->icr_hi = 0;
	for (i = 0; i < LVT_COUNT; i++)
		apic->lvt[i] = APIC_LVT_MASKED;
	apic->timer_initial = apic->timer_divide = 0;
	memset(apic->irr, 0, sizeof(apic->irr));
	memset(apic->isr, 0, sizeof(apic->isr));
	memset(apic->tmr, 0, sizeof(apic->tmr));
	apic->init_pending = 0;
	apic->sipi_vector = 0;
}

int lapic_vcpu_init(struct vcpu *vcpu)
{
	struct lapic *apic = calloc(1, sizeof(*apic));
	int ret;

	if (!apic)
		return -ENOMEM;
	apic->vcpu = vcpu;
	lapic_reset(apic);
	snprintf(apic->vms_name, sizeof(apic->vms_name), "lapic%u", vcpu->id);
	apic->vms = (struct vmstate){ apic->vms_name, 1, lapic_fields };
	ret = vmstate_list_add(&vcpu->vm->dev_state, &apic->vms, apic);
	if (ret) {
		free(apic);
		return ret;
	}
	vcpu->lapic = apic;
	return 0;
}

void lapic_vcpu_destroy(struct vcpu *vcpu)
{
	free(vcpu->lapic);
	vcpu->lapic = NULL;
}

uint64_t lapic_get_base(const struct lapic *apic)
{
	return apic->apic_base;
}

void lapic_load_base(struct lapic *apic, uint64_t value)
{
	apic->apic_base = value;
}

/*
 * KVM's rules for a guest without x2APIC in its CPUID (pvhc offers none):
 * the reserved bits and EXTD fault, so the register reads back what was
 * written. Clearing EN resets the APIC, as on hardware.
 */
int lapic_set_base(struct lapic *apic, uint64_t value)
{
	if (value & (APIC_BASE_RESERVED | X86_APIC_BASE_EXTD))
		return -EINVAL;
	if ((apic->apic_base & X86_APIC_BASE_EN) && !(value & X86_APIC_BASE_EN))
		lapic_reset(apic);
	apic->apic_base = value;
	return 0;
}

/* The xAPIC page answers only while the APIC is enabled (and not in x2APIC mode). */
static bool xapic_mode(const struct lapic *apic)
{
	return (apic->apic_base & (X86_APIC_BASE_EN | X86_APIC_BASE_EXTD)) == X86_APIC_BASE_EN;
}

static int highest_bit(const uint32_t reg[8])
{
	int i;

	for (i = 7; i >= 0; i--)
		if (reg[i])
			return i * 32 + 31 - __builtin_clz(reg[i]);
	return -1;
}

/* Processor priority: the TPR, or the class of the highest vector in service. */
static uint32_t lapic_ppr(const struct lapic *apic)
{
	int isrv = highest_bit(apic->isr);
	uint32_t isr_class = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;

	return (apic->tpr & 0xf0) >= isr_class ? apic->tpr & 0xff : isr_class;
}

static uint32_t lapic_reg_read(const struct lapic *apic, uint32_t reg)
{
	if (reg >= APIC_ISR && reg < APIC_ISR + 0x80)
		return apic->isr[(reg - APIC_ISR) >> 4];
	if (reg >= APIC_TMR && reg < APIC_TMR + 0x80)
		return apic->tmr[(reg - APIC_TMR) >> 4];
	if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
		return apic->irr[(reg - APIC_IRR) >> 4];
	if (reg >= APIC_LVTT && reg <= APIC_LVTERR)
		return apic->lvt[(reg - APIC_LVTT) >> 4];
	switch (reg) {
	case APIC_ID:
		return apic->id;
	case APIC_LVR:
		return APIC_VERSION_VALUE;
	case APIC_TASKPRI:
		return apic->tpr;
	case APIC_PROCPRI:
		return lapic_ppr(apic);
	case APIC_LDR:
		return apic->ldr;
	case APIC_DFR:
		return apic->dfr;
	case APIC_SPIV:
		return apic->svr;
	case APIC_ESR:
		return apic->esr;
	case APIC_ICR:
		/* Delivery completes at once: the busy bit never reads set. */
		return apic->icr_lo & ~APIC_ICR_BUSY;
	case APIC_ICR2:
		return apic->icr_hi;
	case APIC_TMICT:
		return apic->timer_initial;
	case APIC_TDCR:
		return apic->timer_divide;
	default:
		/* TMCCT (the timer does not run), ARBPRI, EOI, RRR, reserved: 0. */
		return 0;
	}
}

static void lapic_reg_write(struct lapic *apic, uint32_t reg, uint32_t value)
{
	int i;

	if (reg >= APIC_LVTT && reg <= APIC_LVTERR) {
		i = (int)(reg - APIC_LVTT) >> 4;
		if (!(apic->svr & APIC_SPIV_ENABLED))
			value |= APIC_LVT_MASKED;
		apic->lvt[i] = value & lvt_mask[i];
		return;
	}
	switch (reg) {
	case APIC_ID:
		apic->id = value & 0xff000000u;
		break;
	case APIC_TASKPRI:
		apic->tpr = value & 0xff;
		break;
	case APIC_EOI:
		i = highest_bit(apic->isr);
		if (i >= 0)
			apic->isr[i >> 5] &= ~(1u << (i & 31));
		break;
	case APIC_LDR:
		apic->ldr = value & 0xff000000u;
		break;
	case APIC_DFR:
		apic->dfr = value | 0x0fffffffu;
		break;
	case APIC_SPIV:
		apic->svr = value & 0x3ff;
		if (!(apic->svr & APIC_SPIV_ENABLED))
			for (i = 0; i < LVT_COUNT; i++)
				apic->lvt[i] |= APIC_LVT_MASKED;
		break;
	case APIC_ESR:
		apic->esr = 0;	/* a write latches the errors seen since: none */
		break;
	case APIC_ICR:
		apic->icr_lo = value & ~APIC_ICR_BUSY;
		lapic_send_ipi(apic->vcpu, apic->icr_lo, apic->icr_hi);
		break;
	case APIC_ICR2:
		apic->icr_hi = value & 0xff000000u;
		break;
	case APIC_TMICT:
		apic->timer_initial = value;
		break;
	case APIC_TDCR:
		apic->timer_divide = value & 0xb;
		break;
	default:
		break;	/* read-only or reserved */
	}
}

/* Reads of 1, 2 or 4 bytes within one 32-bit register; anything else reads 0. */
static uint64_t lapic_mmio_read(struct vcpu *vcpu, void *opaque, uint64_t offset,
				unsigned int size)
{
	struct lapic *apic = vcpu->lapic;
	unsigned int shift = (offset & 3) * 8;

	if (!xapic_mode(apic))
		return ~0ull;
	if ((offset & 0xf) + size > 4)
		return 0;
	return (lapic_reg_read(apic, (uint32_t)offset & ~0xfu) >> shift) &
	       (size == 4 ? 0xffffffffull : (1ull << (8 * size)) - 1);
}

/* Only aligned 32-bit writes reach a register; others are dropped, as KVM does. */
static void lapic_mmio_write(struct vcpu *vcpu, void *opaque, uint64_t offset, unsigned int size,
			     uint64_t value)
{
	struct lapic *apic = vcpu->lapic;

	if (!xapic_mode(apic) || size != 4 || (offset & 0xf))
		return;
	lapic_reg_write(apic, (uint32_t)offset, (uint32_t)value);
}

int lapic_mmio_init(struct vm *vm)
{
	if (vm->mem.size > X86_APIC_DEFAULT_BASE)
		return 0;
	return mmio_register(&vm->mmio, &(struct mmio_handler){
		.base = X86_APIC_DEFAULT_BASE, .len = LAPIC_MMIO_SIZE, .name = "lapic",
		.read = lapic_mmio_read, .write = lapic_mmio_write,
	});
}

/* Does an IPI from src with this shorthand and destination reach dst? */
static bool lapic_targets(const struct vcpu *src, const struct vcpu *dst, uint32_t icr_lo,
			  uint32_t dest)
{
	const struct lapic *apic = dst->lapic;
	uint32_t ldr = apic->ldr >> 24;

	switch (icr_lo & APIC_SHORT_MASK) {
	case APIC_DEST_SELF:
		return src == dst;
	case APIC_DEST_ALLINC:
		return true;
	case APIC_DEST_ALLBUT:
		return src != dst;
	}
	if (!(icr_lo & APIC_DEST_LOGICAL))
		return dest == 0xff || dest == apic->id >> 24;
	if ((apic->dfr >> 28) == 0xf)	/* flat model: one bit per APIC */
		return ldr & dest;
	/* cluster model: cluster in the high nibble, a bit per APIC in the low one */
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf);
}

static void lapic_accept(struct lapic *apic, uint32_t icr_lo)
{
	uint32_t vector = icr_lo & APIC_VECTOR_MASK;

	switch (icr_lo & APIC_DM_MASK) {
	case APIC_DM_FIXED:
	case APIC_DM_LOWEST:
		if (vector >= 16)
			apic->irr[vector >> 5] |= 1u << (vector & 31);
		break;
	case APIC_DM_INIT:
		/* Level-triggered INIT de-assert does nothing on xAPICs. */
		if ((icr_lo & (APIC_INT_LEVELTRIG | APIC_INT_ASSERT)) != APIC_INT_LEVELTRIG)
			apic->init_pending = 1;
		break;
	case APIC_DM_STARTUP:
		apic->sipi_vector = 0x100 | vector;
		break;
	default:
		break;	/* SMI, NMI, ExtINT: no such sources here */
	}
}

void lapic_send_ipi(struct vcpu *src, uint32_t icr_lo, uint32_t icr_hi)
{
	struct vm *vm = src->vm;
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *dst = vm->vcpus[i];

		if (dst->lapic && lapic_targets(src, dst, icr_lo, icr_hi >> 24))
			lapic_accept(dst->lapic, icr_lo);
	}
}
