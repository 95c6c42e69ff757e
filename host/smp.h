/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Several vCPUs on one host thread. The run loop (vm.c) asks which vCPU runs
 * next, runs it for a slice and tells what ended the run; everything that
 * changes another vCPU's state (INIT, SIPI, interrupts, wake-ups) is applied
 * here, between runs, while no vCPU is inside its backend.
 *
 * That one decision is what makes guest atomics atomic and the hypercall
 * rewrite atomic for every vCPU: vCPUs never execute at the same time, and a
 * switch happens only at the start of a translated block (the emulated
 * hosts' block hook), so an instruction - a LOCK-prefixed one, or a hypercall
 * whose bytes the host is rewriting - is never observed half done.
 */
#ifndef PVHC_SMP_H
#define PVHC_SMP_H

#include "cpu.h"

struct vm;
struct vcpu;

enum vcpu_run_state {
	VCPU_RUNNABLE,
	VCPU_HALTED,		/* executed HLT; woken by an interrupt it can take or a kick */
	VCPU_WAIT_SIPI,		/* an AP after power-on or INIT */
};

/* Power-on: vCPU 0 (the BSP) runnable, the APs waiting for a SIPI. */
void smp_power_on(struct vm *vm);
/*
 * The vCPU to run after prev (NULL: the first choice), having applied every
 * pending INIT and SIPI and woken halted vCPUs that have something to do;
 * NULL when no vCPU can run and nothing could ever wake one.
 */
struct vcpu *smp_pick(struct vm *vm, struct vcpu *prev);
/* Just before v runs: deliver its highest pending interrupt if it can take it now. */
/*
 * No vCPU can run, but a local APIC timer is armed: sleep towards its
 * expiry (at most 10 ms) and return true; false if no timer is armed (a
 * deadlock then).
 */
bool smp_wait_for_timer(struct vm *vm);
void smp_enter(struct vcpu *v);
/* v's run ended with exit: halt it, or note where a yield wants to go. */
void smp_exit(struct vcpu *v, enum vcpu_exit exit);
/*
 * Something arrived for v (an IPI, INIT, SIPI, a kick) or changed its
 * priority: if v is the vCPU running now, it leaves its backend at the next
 * instruction boundary so that the scheduler can act.
 */
void smp_reschedule(struct vcpu *v);
/* KVM_HC_KICK_CPU: wake the vCPU with that APIC ID (or let its next HLT fall through). */
void smp_kick_apic_id(struct vm *vm, uint32_t apic_id);
/* KVM_HC_SCHED_YIELD: give up the rest of the slice, preferably to that APIC ID. */
void smp_yield_to(struct vcpu *v, uint32_t apic_id);
/* The reason no vCPU can run, for the crash line ("" if one can). */
void smp_describe_deadlock(struct vm *vm, char *buf, size_t len);

#endif /* PVHC_SMP_H */
