/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The local APIC of each vCPU, in xAPIC mode at its MMIO page 0xfee00000:
 * what guests use to find their APIC ID, start the other CPUs (INIT and
 * SIPI through the ICR) and send each other interrupts and NMIs, and its
 * timer (one-shot and periodic; no TSC-deadline mode, which pvhc's CPUID
 * does not offer).
 *
 * The device only records what arrives (IRR, a pending INIT or SIPI); the
 * scheduler (host/smp.c) acts on it between runs, when no vCPU is inside its
 * backend, so no APIC write ever changes another vCPU's registers under it.
 */
#ifndef PVHC_LAPIC_H
#define PVHC_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vmstate;

#define LAPIC_BASE		0xfee00000ull
#define LAPIC_SIZE		0x1000

/* Register offsets (Intel SDM vol. 3, table 11-1). */
#define LAPIC_ID		0x020
#define LAPIC_VERSION		0x030
#define LAPIC_TPR		0x080
#define LAPIC_APR		0x090
#define LAPIC_PPR		0x0a0
#define LAPIC_EOI		0x0b0
#define LAPIC_LDR		0x0d0
#define LAPIC_DFR		0x0e0
#define LAPIC_SVR		0x0f0
#define LAPIC_ISR		0x100
#define LAPIC_TMR		0x180
#define LAPIC_IRR		0x200
#define LAPIC_ESR		0x280
#define LAPIC_LVT_CMCI		0x2f0
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT_ERROR		0x370
#define LAPIC_TIMER_INITIAL	0x380
#define LAPIC_TIMER_CURRENT	0x390
#define LAPIC_TIMER_DIVIDE	0x3e0

/* ICR fields */
#define ICR_VECTOR(lo)		((lo) & 0xff)
#define ICR_MODE(lo)		(((lo) >> 8) & 7)
#define ICR_MODE_FIXED		0
#define ICR_MODE_LOWEST		1
#define ICR_MODE_SMI		2
#define ICR_MODE_NMI		4
#define ICR_MODE_INIT		5
#define ICR_MODE_SIPI		6
#define ICR_LOGICAL		(1u << 11)
#define ICR_BUSY		(1u << 12)	/* delivery status: always idle here */
#define ICR_LEVEL_ASSERT	(1u << 14)
#define ICR_LEVEL_TRIGGER	(1u << 15)
#define ICR_SHORTHAND(lo)	(((lo) >> 18) & 3)
#define ICR_DEST_NONE		0
#define ICR_DEST_SELF		1
#define ICR_DEST_ALL		2
#define ICR_DEST_OTHERS		3

#define LAPIC_SVR_ENABLE	(1u << 8)
#define LAPIC_BASE_BSP		(1ull << 8)
#define LAPIC_BASE_EXTD		(1ull << 10)	/* x2APIC mode */
#define LAPIC_BASE_EN		(1ull << 11)
#define LAPIC_LVT_MASKED	(1u << 16)
#define LAPIC_NR_LVT		7	/* CMCI, timer, thermal, PMC, LINT0, LINT1, error */

struct lapic {
	uint64_t apic_base;	/* IA32_APIC_BASE: where, whether enabled, BSP */
	uint32_t id;		/* the APIC ID (not the register: that is id << 24) */
	uint32_t tpr, ldr, dfr, svr, esr;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LAPIC_NR_LVT];
	uint32_t timer_initial, timer_divide;
	/*
	 * The timer counts at 1 GHz / divisor (KVM's bus clock) in host
	 * monotonic time: armed while timer_deadline_ns != 0. Host time does
	 * not travel: a migrated guest arrives with its timer stopped.
	 */
	uint64_t timer_start_ns, timer_deadline_ns;
	uint32_t irr[8], isr[8], tmr[8];	/* 256-bit vectors, bit n = vector n */
	/* Received and not yet acted on by the scheduler. */
	uint32_t init_pending;
	uint32_t sipi_pending;
	uint32_t sipi_vector;
	/* NMIs: one can wait (they do not queue); while one is handled, until its IRET, blocked. */
	uint32_t nmi_pending;
	uint32_t nmi_blocked;
};

/* Power-on / INIT state: everything masked and clear, the ID and IA32_APIC_BASE kept. */
void lapic_reset(struct lapic *l, uint32_t apic_id);
uint32_t lapic_read(struct vcpu *vcpu, uint32_t offset);
void lapic_write(struct vcpu *vcpu, uint32_t offset, uint32_t value);
/*
 * An access of size bytes to the xAPIC page at offset, from either backend:
 * registers answer while IA32_APIC_BASE enables the APIC in xAPIC mode
 * (else reads are all ones and writes vanish); reads may be narrower than a
 * register, writes must be aligned dwords (others vanish, as on KVM).
 */
uint64_t lapic_mmio_read(struct vcpu *vcpu, uint64_t offset, unsigned int size);
void lapic_mmio_write(struct vcpu *vcpu, uint64_t offset, unsigned int size, uint64_t value);
/* IA32_APIC_BASE at power-on: the default base, enabled, BSP on the first vCPU. */
uint64_t lapic_default_base(uint32_t apic_id);
/*
 * WRMSR IA32_APIC_BASE: 0, or -EINVAL where KVM raises #GP (reserved bits,
 * and EXTD: pvhc offers no x2APIC). Clearing EN resets the APIC.
 */
int lapic_set_base(struct lapic *l, uint64_t value);
/* Send what the ICR says, from src (the ICR write path and KVM_HC_SEND_IPI). */
void lapic_send_ipi(struct vcpu *src, uint32_t icr_lo, uint32_t icr_hi);
/* Host monotonic time in ns, the timer's clock. */
uint64_t lapic_now_ns(void);
/*
 * Let the timer catch up with now: on expiry its vector goes to IRR (unless
 * the LVT entry is masked), and a periodic timer re-arms. Returns true if it
 * fired.
 */
bool lapic_timer_poll(struct lapic *l, uint64_t now);
/* When the timer expires next (host ns), or 0 if it is stopped. */
uint64_t lapic_timer_deadline(const struct lapic *l);
/* The vector the vCPU should take next (IRR above the processor priority), or -1. */
int lapic_pending_vector(const struct lapic *l);
/* The CPU takes that vector: IRR -> ISR. */
void lapic_accept(struct lapic *l, int vector);
/* Migratable state (the DEVICES-style record in the LAPIC section). */
extern const struct vmstate lapic_vmstate;

#endif /* PVHC_LAPIC_H */
