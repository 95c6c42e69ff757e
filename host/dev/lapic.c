// SPDX-License-Identifier: GPL-2.0-only
/*
 * Local APIC registers and IPIs (see lapic.h). Values follow QEMU's APIC
 * where guests can see them (version 0x50014, DFR and SVR reset values), so
 * an image behaves the same under both.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "dev/lapic.h"
#include "smp.h"
#include "vm.h"
#include "vmstate.h"

#define LAPIC_VERSION_VALUE	0x00050014u	/* version 0x14, 6 LVT entries (max index 5) */
#define ESR_SEND_ILLEGAL_VECTOR	(1u << 5)
#define ESR_RECV_ILLEGAL_VECTOR	(1u << 6)

/* Below bit 8, bit 9 and above the 40-bit physical address width. */
#define APIC_BASE_RESERVED	(0x2ffull | ~((1ull << 40) - 1))

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
	VMSTATE_FIELD(struct lapic, lvt),
	VMSTATE_FIELD(struct lapic, timer_initial),
	VMSTATE_FIELD(struct lapic, timer_divide),
	VMSTATE_FIELD(struct lapic, irr),
	VMSTATE_FIELD(struct lapic, isr),
	VMSTATE_FIELD(struct lapic, tmr),
	VMSTATE_FIELD(struct lapic, init_pending),
	VMSTATE_FIELD(struct lapic, sipi_pending),
	VMSTATE_FIELD(struct lapic, sipi_vector),
	VMSTATE_FIELD(struct lapic, nmi_pending),
	VMSTATE_FIELD(struct lapic, nmi_blocked),
	VMSTATE_END,
};

const struct vmstate lapic_vmstate = { "lapic", 1, lapic_fields };

void lapic_reset(struct lapic *l, uint32_t apic_id)
{
	uint64_t base = l->apic_base;	/* INIT leaves IA32_APIC_BASE alone */
	unsigned int i;

	memset(l, 0, sizeof(*l));
	l->apic_base = base;
	l->id = apic_id;
	l->dfr = 0xffffffffu;	/* flat model */
	l->svr = 0xff;		/* software-disabled, spurious vector 0xff */
	for (i = 0; i < LAPIC_NR_LVT; i++)
		l->lvt[i] = LAPIC_LVT_MASKED;
}

static void vec_set(uint32_t *v, int n)
{
	v[n >> 5] |= 1u << (n & 31);
}

static void vec_clear(uint32_t *v, int n)
{
	v[n >> 5] &= ~(1u << (n & 31));
}

/* The highest vector set, or -1. */
static int vec_highest(const uint32_t *v)
{
	int i;

	for (i = 7; i >= 0; i--)
		if (v[i])
			return i * 32 + 31 - __builtin_clz(v[i]);
	return -1;
}

/* Processor priority: the higher of the task priority and the class in service. */
static uint32_t lapic_ppr(const struct lapic *l)
{
	int isr = vec_highest(l->isr);
	uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;

	return (l->tpr & 0xf0) >= (isrv & 0xf0) ? l->tpr & 0xff : isrv & 0xf0;
}

int lapic_pending_vector(const struct lapic *l)
{
	int irr = vec_highest(l->irr);

	if (irr < 0 || ((uint32_t)irr & 0xf0) <= (lapic_ppr(l) & 0xf0))
		return -1;
	return irr;
}

void lapic_accept(struct lapic *l, int vector)
{
	vec_clear(l->irr, vector);
	vec_set(l->isr, vector);
}

/* The LVT slot of a register offset, or -1. */
#define LVT_TIMER	1	/* index of the timer's entry in lvt[] */

static int lvt_index(uint32_t offset)
{
	if (offset == LAPIC_LVT_CMCI)
		return 0;
	if (offset >= LAPIC_LVT_TIMER && offset <= LAPIC_LVT_ERROR)
		return 1 + (int)((offset - LAPIC_LVT_TIMER) >> 4);
	return -1;
}

uint64_t lapic_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* TDCR bits 0, 1 and 3: divide by 2, 4, ..., 128, or 1 for 0b111. */
static uint64_t timer_divisor(const struct lapic *l)
{
	uint32_t v = (l->timer_divide & 3) | ((l->timer_divide >> 1) & 4);

	return v == 7 ? 1 : 2ull << v;
}

static uint64_t timer_period_ns(const struct lapic *l)
{
	return (uint64_t)l->timer_initial * timer_divisor(l);
}

static bool timer_periodic(const struct lapic *l)
{
	return ((l->lvt[LVT_TIMER] >> 17) & 3) == 1;
}

static uint32_t timer_current(const struct lapic *l, uint64_t now)
{
	if (!l->timer_deadline_ns || now >= l->timer_deadline_ns)
		return 0;
	return (uint32_t)((l->timer_deadline_ns - now) / timer_divisor(l));
}

uint32_t lapic_read(struct vcpu *vcpu, uint32_t offset)
{
	const struct lapic *l = &vcpu->lapic;
	int lvt = lvt_index(offset);

	if (offset & 0xf)
		return 0;	/* only the aligned dword of each register exists */
	if (lvt >= 0)
		return l->lvt[lvt];
	if (offset >= LAPIC_ISR && offset < LAPIC_ISR + 0x80)
		return l->isr[(offset - LAPIC_ISR) >> 4];
	if (offset >= LAPIC_TMR && offset < LAPIC_TMR + 0x80)
		return l->tmr[(offset - LAPIC_TMR) >> 4];
	if (offset >= LAPIC_IRR && offset < LAPIC_IRR + 0x80)
		return l->irr[(offset - LAPIC_IRR) >> 4];
	switch (offset) {
	case LAPIC_ID:
		return l->id << 24;
	case LAPIC_VERSION:
		return LAPIC_VERSION_VALUE;
	case LAPIC_TPR:
		return l->tpr;
	case LAPIC_PPR:
		return lapic_ppr(l);
	case LAPIC_LDR:
		return l->ldr;
	case LAPIC_DFR:
		return l->dfr;
	case LAPIC_SVR:
		return l->svr;
	case LAPIC_ESR:
		return l->esr;
	case LAPIC_ICR_LO:
		return l->icr_lo & ~ICR_BUSY;	/* every IPI is delivered at once */
	case LAPIC_ICR_HI:
		return l->icr_hi;
	case LAPIC_TIMER_INITIAL:
		return l->timer_initial;
	case LAPIC_TIMER_DIVIDE:
		return l->timer_divide;
	case LAPIC_TIMER_CURRENT:
		return timer_current(l, lapic_now_ns());
	}
	return 0;	/* APR, EOI, reserved */
}

void lapic_write(struct vcpu *vcpu, uint32_t offset, uint32_t value)
{
	struct lapic *l = &vcpu->lapic;
	int lvt = lvt_index(offset), isr;
	unsigned int i;

	if (offset & 0xf)
		return;
	if (lvt >= 0) {
		l->lvt[lvt] = value | ((l->svr & LAPIC_SVR_ENABLE) ? 0 : LAPIC_LVT_MASKED);
		return;
	}
	switch (offset) {
	case LAPIC_TPR:
		l->tpr = value & 0xff;
		smp_reschedule(vcpu);	/* a lower priority may unblock a pending vector */
		break;
	case LAPIC_EOI:
		isr = vec_highest(l->isr);
		if (isr >= 0)
			vec_clear(l->isr, isr);
		if (lapic_pending_vector(l) >= 0)
			smp_reschedule(vcpu);
		break;
	case LAPIC_LDR:
		l->ldr = value & 0xff000000u;
		break;
	case LAPIC_DFR:
		l->dfr = value | 0x0fffffffu;
		break;
	case LAPIC_SVR:
		l->svr = value & 0x3ff;
		if (!(l->svr & LAPIC_SVR_ENABLE))
			for (i = 0; i < LAPIC_NR_LVT; i++)
				l->lvt[i] |= LAPIC_LVT_MASKED;
		break;
	case LAPIC_ESR:
		l->esr = 0;
		break;
	case LAPIC_ICR_HI:
		l->icr_hi = value & 0xff000000u;
		break;
	case LAPIC_ICR_LO:
		l->icr_lo = value & ~ICR_BUSY;
		lapic_send_ipi(vcpu, l->icr_lo, l->icr_hi);
		break;
	case LAPIC_TIMER_INITIAL:
		/* Writing the initial count (re)starts the timer; 0 stops it. */
		l->timer_initial = value;
		l->timer_start_ns = lapic_now_ns();
		l->timer_deadline_ns = value ? l->timer_start_ns + timer_period_ns(l) : 0;
		smp_reschedule(vcpu);
		break;
	case LAPIC_TIMER_DIVIDE:
		l->timer_divide = value & 0xb;
		break;
	}
}

bool lapic_timer_poll(struct lapic *l, uint64_t now)
{
	uint64_t period = timer_period_ns(l);

	if (!l->timer_deadline_ns || now < l->timer_deadline_ns)
		return false;
	if (!(l->lvt[LVT_TIMER] & LAPIC_LVT_MASKED)) {
		vec_set(l->irr, l->lvt[LVT_TIMER] & 0xff);
		vec_clear(l->tmr, l->lvt[LVT_TIMER] & 0xff);
	}
	if (timer_periodic(l) && period) {
		/* Missed periods merge into this one interrupt, as on hardware. */
		l->timer_deadline_ns += period * ((now - l->timer_deadline_ns) / period + 1);
	} else {
		l->timer_deadline_ns = 0;
	}
	return true;
}

uint64_t lapic_timer_deadline(const struct lapic *l)
{
	return l->timer_deadline_ns;
}

uint64_t lapic_default_base(uint32_t apic_id)
{
	return LAPIC_BASE | LAPIC_BASE_EN | (apic_id == 0 ? LAPIC_BASE_BSP : 0);
}

int lapic_set_base(struct lapic *l, uint64_t value)
{
	if (value & (APIC_BASE_RESERVED | LAPIC_BASE_EXTD))
		return -EINVAL;
	if ((l->apic_base & LAPIC_BASE_EN) && !(value & LAPIC_BASE_EN))
		lapic_reset(l, l->id);	/* a hardware-disabled APIC comes back reset */
	l->apic_base = value;
	return 0;
}

static bool xapic_enabled(const struct lapic *l)
{
	return (l->apic_base & (LAPIC_BASE_EN | LAPIC_BASE_EXTD)) == LAPIC_BASE_EN;
}

uint64_t lapic_mmio_read(struct vcpu *vcpu, uint64_t offset, unsigned int size)
{
	uint32_t v;

	if (!xapic_enabled(&vcpu->lapic))
		return ~0ull;
	if ((offset & 3) + size > 4)
		return 0;	/* registers are dwords; nothing spans two */
	v = lapic_read(vcpu, (uint32_t)offset & ~3u);
	return size == 4 ? v : (v >> ((offset & 3) * 8)) & ((1u << (size * 8)) - 1);
}

void lapic_mmio_write(struct vcpu *vcpu, uint64_t offset, unsigned int size, uint64_t value)
{
	if (xapic_enabled(&vcpu->lapic) && size == 4)
		lapic_write(vcpu, (uint32_t)offset, (uint32_t)value);
}

/* Does dst accept a message addressed to dest in this destination mode? */
static bool lapic_matches(const struct lapic *dst, uint32_t dest, bool logical)
{
	uint32_t ldr = dst->ldr >> 24;

	if (!logical)
		return dest == 0xff || dest == dst->id;
	if (dest == 0xff)
		return true;
	if ((dst->dfr >> 28) == 0xf)	/* flat: one bit per CPU */
		return (ldr & dest) != 0;
	/* cluster: high nibble the cluster, low nibble a bit per CPU in it */
	return (ldr >> 4) == (dest >> 4) && (ldr & dest & 0xf) != 0;
}

static void lapic_deliver(struct vcpu *src, struct vcpu *dst, uint32_t lo)
{
	struct lapic *l = &dst->lapic;
	int vector = ICR_VECTOR(lo);

	switch (ICR_MODE(lo)) {
	case ICR_MODE_FIXED:
	case ICR_MODE_LOWEST:
		if (vector < 16) {
			src->lapic.esr |= ESR_SEND_ILLEGAL_VECTOR;
			l->esr |= ESR_RECV_ILLEGAL_VECTOR;
			return;
		}
		if (!(l->svr & LAPIC_SVR_ENABLE))
			return;	/* a software-disabled APIC accepts no interrupts */
		vec_set(l->irr, vector);
		vec_clear(l->tmr, vector);
		break;
	case ICR_MODE_INIT:
		/* The level de-assert of the old INIT protocol does nothing on xAPICs. */
		if ((lo & ICR_LEVEL_TRIGGER) && !(lo & ICR_LEVEL_ASSERT))
			return;
		l->init_pending = 1;
		l->sipi_pending = 0;	/* an earlier SIPI is void; a later one counts */
		break;
	case ICR_MODE_SIPI:
		l->sipi_pending = 1;
		l->sipi_vector = (uint32_t)vector;
		break;
	case ICR_MODE_NMI:
		l->nmi_pending = 1;	/* also on a software-disabled APIC */
		break;
	default:
		return;	/* SMI is not modelled; see README "Limits" */
	}
	smp_reschedule(dst);
}

void lapic_send_ipi(struct vcpu *src, uint32_t icr_lo, uint32_t icr_hi)
{
	struct vm *vm = src->vm;
	bool logical = icr_lo & ICR_LOGICAL;
	uint32_t dest = icr_hi >> 24;
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *dst = vm->vcpus[i];
		bool hit;

		switch (ICR_SHORTHAND(icr_lo)) {
		case ICR_DEST_SELF:
			hit = dst == src;
			break;
		case ICR_DEST_ALL:
			hit = true;
			break;
		case ICR_DEST_OTHERS:
			hit = dst != src;
			break;
		default:
			hit = lapic_matches(&dst->lapic, dest, logical);
			break;
		}
		if (!hit)
			continue;
		lapic_deliver(src, dst, icr_lo);
		/* Lowest priority: one CPU takes it (all have the same priority here). */
		if (ICR_MODE(icr_lo) == ICR_MODE_LOWEST)
			break;
	}
}
