// SPDX-License-Identifier: GPL-2.0-only
/*
 * vCPU scheduling, INIT/SIPI and interrupt delivery between runs (smp.h).
 * Round robin over the runnable vCPUs; a directed yield goes first.
 */
#include <time.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "smp.h"
#include "vm.h"

void smp_power_on(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[i];

		lapic_reset(&v->lapic, v->apic_id);
		v->lapic.apic_base = lapic_default_base(v->apic_id);
		v->state = i == 0 ? VCPU_RUNNABLE : VCPU_WAIT_SIPI;
	}
}

/*
 * Where a SIPI starts an AP: real mode at vector << 12, as after INIT (SDM
 * vol. 3, 9.1.1 and 10.6.1), with the FPU in its FNINIT state.
 */
static void vcpu_start_at(struct vcpu *v, uint32_t vector)
{
	const struct cpu_ops *ops = v->vm->cfg.backend;
	struct x86_regs r = { .rflags = X86_RFLAGS_FIXED };
	struct x86_sregs s = { 0 };
	struct x86_fpu f = { .fcw = 0x37f, .mxcsr = 0x1f80 };
	unsigned int i;

	for (i = 0; i < SEG_COUNT; i++)
		x86_segment_real(&s.seg[i], 0, false);
	x86_segment_real(&s.seg[SEG_CS], (uint16_t)(vector << 8), true);
	s.tr = (struct x86_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s.ldt = (struct x86_segment){ .limit = 0xffff, .type = 0x2, .present = 1 };
	s.gdt.limit = 0xffff;
	s.idt.limit = 0xffff;
	s.cr0 = X86_CR0_ET | (1ull << 29) | (1ull << 30);	/* 0x60000010: CD, NW, ET */
	s.apic_base = LAPIC_BASE | (1ull << 11);		/* enabled, not the BSP */
	if (ops->set_sregs(v, &s) || ops->set_regs(v, &r) || ops->set_fpu(v, &f)) {
		vm_request_exit(v->vm, VM_FAILED, 0, "cannot start vCPU %u", v->id);
		return;
	}
	v->state = VCPU_RUNNABLE;
}

/* Can v take an external interrupt right now (IF set, no STI/MOV SS shadow)? */
static bool interrupt_window_open(struct vcpu *v)
{
	const struct cpu_ops *ops = v->vm->cfg.backend;
	struct x86_regs r;

	if (!ops->inject_interrupt || ops->get_regs(v, &r))
		return false;
	return (r.rflags & X86_RFLAGS_IF) && !ops->interrupt_shadow(v);
}

static bool has_deliverable_event(struct vcpu *v)
{
	const struct lapic *l = &v->lapic;

	if (!v->vm->cfg.backend->inject_interrupt)
		return false;
	return (l->nmi_pending && !l->nmi_blocked) ||
	       (lapic_pending_vector(l) >= 0 && interrupt_window_open(v));
}

/* Apply what arrived for v while it was not running. */
static void vcpu_update(struct vcpu *v)
{
	struct lapic *l = &v->lapic;

	if (l->init_pending) {
		/*
		 * A SIPI sent right after the INIT (kvm-unit-tests sends them
		 * back to back) is pending with it and must survive the reset;
		 * one sent before the INIT was dropped when the INIT arrived.
		 */
		uint32_t sipi = l->sipi_pending, vector = l->sipi_vector;

		lapic_reset(l, l->id);
		l->sipi_pending = sipi;
		l->sipi_vector = vector;
		v->state = VCPU_WAIT_SIPI;
		v->kicked = false;
	}
	if (l->sipi_pending) {
		l->sipi_pending = 0;
		/* A SIPI reaches only a CPU that waits for one; anything else ignores it. */
		if (v->state == VCPU_WAIT_SIPI)
			vcpu_start_at(v, l->sipi_vector);
	}
	if (v->state == VCPU_HALTED) {
		if (v->kicked) {
			v->kicked = false;
			v->state = VCPU_RUNNABLE;
		} else if (l->nmi_pending && !l->nmi_blocked && v->vm->cfg.backend->inject_interrupt) {
			v->state = VCPU_RUNNABLE;	/* an NMI wakes a HLT whatever IF says */
		} else if (lapic_pending_vector(l) >= 0 && interrupt_window_open(v)) {
			v->state = VCPU_RUNNABLE;
		}
	}
}

struct vcpu *smp_pick(struct vm *vm, struct vcpu *prev)
{
	unsigned int i, start = prev ? prev->id + 1 : 0;
	uint64_t now = lapic_now_ns();
	struct vcpu *want = NULL;

	for (i = 0; i < vm->nr_vcpus; i++) {
		lapic_timer_poll(&vm->vcpus[i]->lapic, now);
		vcpu_update(vm->vcpus[i]);
	}
	/*
	 * A vCPU stopped to take an interrupt or NMI it just received goes on
	 * at once, as a CPU would take it, before the others run a slice (and
	 * send it more: NMIs do not queue).
	 */
	if (prev && prev->state == VCPU_RUNNABLE && has_deliverable_event(prev))
		return prev;
	if (prev && prev->yield_to_valid) {
		prev->yield_to_valid = false;
		for (i = 0; i < vm->nr_vcpus; i++)
			if (vm->vcpus[i]->apic_id == prev->yield_to)
				want = vm->vcpus[i];
		if (want && want->state == VCPU_RUNNABLE)
			return want;
	}
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *v = vm->vcpus[(start + i) % vm->nr_vcpus];

		if (v->state == VCPU_RUNNABLE)
			return v;
	}
	return NULL;
}

/*
 * An NMI that may be taken now: through IDT vector 2 whatever IF says (not
 * in a MOV SS or STI shadow, which pvhc does not tell apart). The backend
 * clears nmi_blocked at the handler's IRET; until then the next one waits.
 */
static bool enter_nmi(struct vcpu *v)
{
	const struct cpu_ops *ops = v->vm->cfg.backend;
	struct lapic *l = &v->lapic;

	if (!l->nmi_pending || l->nmi_blocked || !ops->inject_interrupt ||
	    ops->interrupt_shadow(v))
		return false;
	l->nmi_pending = 0;
	l->nmi_blocked = 1;
	ops->inject_interrupt(v, X86_NMI);
	return true;
}

void smp_enter(struct vcpu *v)
{
	int vector = lapic_pending_vector(&v->lapic);

	v->irq_window_wanted = false;
	if (enter_nmi(v)) {
		/* An interrupt waiting too is taken once the handler's IRET opens IF. */
		v->irq_window_wanted = vector >= 0;
		return;
	}
	if (vector < 0)
		return;
	if (!interrupt_window_open(v)) {
		v->irq_window_wanted = true;	/* the backend stops when IF opens */
		return;
	}
	lapic_accept(&v->lapic, vector);
	v->vm->cfg.backend->inject_interrupt(v, (uint8_t)vector);
}

void smp_exit(struct vcpu *v, enum vcpu_exit exit)
{
	if (exit != VCPU_EXIT_HLT)
		return;
	/* A kick that came before the HLT lets it fall through (KVM's PV unhalt). */
	if (v->kicked)
		v->kicked = false;
	else
		v->state = VCPU_HALTED;
}

void smp_reschedule(struct vcpu *v)
{
	struct vm *vm = v->vm;

	/*
	 * With more than one vCPU the backend stops at a block boundary. A
	 * lone vCPU can do so once it has enabled its APIC (kick_for_irq);
	 * before, it takes what arrived at its next exit (HLT, I/O that needs
	 * the run loop), see README "Limits".
	 */
	if ((vm->nr_vcpus > 1 || v->kick_for_irq) && vm->running == v)
		vm->cfg.backend->kick(v);
}

void smp_kick_apic_id(struct vm *vm, uint32_t apic_id)
{
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpus[i]->apic_id == apic_id)
			vm->vcpus[i]->kicked = true;
}

void smp_yield_to(struct vcpu *v, uint32_t apic_id)
{
	if (v->vm->nr_vcpus < 2)
		return;
	v->yield_to = apic_id;
	v->yield_to_valid = true;
	v->yield_requested = true;
}

void smp_describe_deadlock(struct vm *vm, char *buf, size_t len)
{
	const struct cpu_ops *ops = vm->cfg.backend;
	struct vcpu *v = NULL;
	struct x86_regs r = { 0 };
	char where[160];
	unsigned int i;

	for (i = 0; i < vm->nr_vcpus && !v; i++)
		if (vm->vcpus[i]->state == VCPU_HALTED)
			v = vm->vcpus[i];
	if (!v) {
		snprintf(buf, len, "all %u vCPUs wait for a SIPI that nothing can send (INIT "
			 "reached every vCPU)", vm->nr_vcpus);
		return;
	}
	ops->get_regs(v, &r);
	/* RIP is past the HLT; name the HLT itself. */
	snprintf(where, sizeof(where), "vCPU %u halted at RIP 0x%" PRIx64 " with interrupts %s",
		 v->id, r.rip - 1, (r.rflags & X86_RFLAGS_IF) ? "enabled" : "disabled");
	if (vm->nr_vcpus == 1)
		snprintf(buf, len, "%s and nothing to wake it", where);
	else
		snprintf(buf, len, "all %u vCPUs halted or waiting for SIPI with nothing to wake "
			 "them (%s)", vm->nr_vcpus, where);
}

bool smp_wait_for_timer(struct vm *vm)
{
	uint64_t next = 0, now;
	unsigned int i;
	struct timespec ts;

	for (i = 0; i < vm->nr_vcpus; i++) {
		uint64_t d = lapic_timer_deadline(&vm->vcpus[i]->lapic);

		if (d && (!next || d < next))
			next = d;
	}
	if (!next)
		return false;
	/* In steps of at most 10 ms: a timeout, pause or migration may come first. */
	now = lapic_now_ns();
	if (next > now) {
		uint64_t ns = next - now < 10000000ull ? next - now : 10000000ull;

		ts.tv_sec = 0;
		ts.tv_nsec = (long)ns;
		nanosleep(&ts, NULL);
	}
	return true;
}
