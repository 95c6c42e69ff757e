/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The local APIC of each vCPU: its IA32_APIC_BASE MSR and its register page
 * at 0xfee00000 (xAPIC MMIO), as far as software that only configures and
 * sends IPIs needs it. There is no interrupt delivery yet: accepted IPIs and
 * fixed vectors are recorded in the target's state (IRR, INIT/SIPI pending)
 * for the run loop of an SMP VM to act on.
 */
#ifndef PVHC_LAPIC_H
#define PVHC_LAPIC_H

#include <stdbool.h>
#include <stdint.h>

#include "vmstate.h"

struct vcpu;
struct vm;

/* Register offsets in the xAPIC page. */
#define APIC_ID		0x020
#define APIC_LVR	0x030
#define APIC_TASKPRI	0x080
#define APIC_ARBPRI	0x090
#define APIC_PROCPRI	0x0a0
#define APIC_EOI	0x0b0
#define APIC_RRR	0x0c0
#define APIC_LDR	0x0d0
#define APIC_DFR	0x0e0
#define APIC_SPIV	0x0f0
#define APIC_ISR	0x100
#define APIC_TMR	0x180
#define APIC_IRR	0x200
#define APIC_ESR	0x280
#define APIC_ICR	0x300
#define APIC_ICR2	0x310
#define APIC_LVTT	0x320
#define APIC_LVTTHMR	0x330
#define APIC_LVTPC	0x340
#define APIC_LVT0	0x350
#define APIC_LVT1	0x360
#define APIC_LVTERR	0x370
#define APIC_TMICT	0x380
#define APIC_TMCCT	0x390
#define APIC_TDCR	0x3e0

/* ICR fields. */
#define APIC_VECTOR_MASK	0x000ffu
#define APIC_DM_MASK		0x00700u
#define APIC_DM_FIXED		0x00000u
#define APIC_DM_LOWEST		0x00100u
#define APIC_DM_SMI		0x00200u
#define APIC_DM_NMI		0x00400u
#define APIC_DM_INIT		0x00500u
#define APIC_DM_STARTUP		0x00600u
#define APIC_DEST_LOGICAL	0x00800u
#define APIC_ICR_BUSY		0x01000u	/* delivery status: send pending */
#define APIC_INT_ASSERT		0x04000u
#define APIC_INT_LEVELTRIG	0x08000u
#define APIC_SHORT_MASK		0xc0000u
#define APIC_DEST_SELF		0x40000u
#define APIC_DEST_ALLINC	0x80000u
#define APIC_DEST_ALLBUT	0xc0000u

#define APIC_LVT_MASKED		0x10000u
#define APIC_SPIV_ENABLED	0x00100u
/* Version 0x14 (integrated APIC) with 6 LVT entries, KVM's value. */
#define APIC_VERSION_VALUE	0x00050014u

/* The six LVT entries of APIC_VERSION_VALUE, in register order (no CMCI). */
enum lapic_lvt { LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR, LVT_COUNT };

/*
 * One vCPU's local APIC. Everything here is guest-visible state and
 * migrates (lapic_vmstate); the SMP work adds delivery on top of irr, isr
 * and the INIT/SIPI fields.
 */
struct lapic {
	struct vcpu *vcpu;
	uint64_t apic_base;		/* IA32_APIC_BASE */
	uint32_t id;			/* APIC ID register (ID in bits 31:24) */
	uint32_t tpr, ldr, dfr, svr, esr;
	uint32_t icr_lo, icr_hi;
	uint32_t lvt[LVT_COUNT];
	uint32_t timer_initial, timer_divide;
	uint32_t irr[8], isr[8], tmr[8];	/* 256 vectors each, 32 per word */
	uint32_t init_pending;		/* an INIT IPI arrived */
	uint32_t sipi_vector;		/* a STARTUP IPI arrived: vector | 0x100 */
	/* The DEVICES record, named after the vCPU ("lapic0", ...). */
	char vms_name[16];
	struct vmstate vms;
};

/* The xAPIC page: guest-physical 0xfee00000, one page, the same for every vCPU. */
#define LAPIC_MMIO_SIZE	0x1000ull

/*
 * Claim the register page for every vCPU's APIC, unless guest RAM reaches it
 * (pvhc has no PCI hole: then RAM wins and there is no xAPIC page).
 */
int lapic_mmio_init(struct vm *vm);
/* The vCPU's APIC in reset state: its APIC ID, enabled, BSP on vCPU 0. */
int lapic_vcpu_init(struct vcpu *vcpu);
void lapic_vcpu_destroy(struct vcpu *vcpu);

uint64_t lapic_get_base(const struct lapic *apic);
/* WRMSR IA32_APIC_BASE: 0, or -EINVAL for a value KVM refuses with #GP. */
int lapic_set_base(struct lapic *apic, uint64_t value);
/* Restore IA32_APIC_BASE from saved state, unchecked (migration, loader). */
void lapic_load_base(struct lapic *apic, uint64_t value);

/*
 * Every ICR write ends here: deliver icr_lo (with the destination in icr_hi
 * bits 31:24) from src to its targets. With one vCPU an INIT or STARTUP to
 * the others starts nothing; a fixed vector to itself is left pending in
 * IRR.
 */
void lapic_send_ipi(struct vcpu *src, uint32_t icr_lo, uint32_t icr_hi);

#endif /* PVHC_LAPIC_H */
