// SPDX-License-Identifier: GPL-2.0-only
/*
 * pv_yield: directed yield through pvhc, the example for driver authors.
 *
 * The problem. A vCPU that waits for another vCPU, say for a function it
 * asked that CPU to run, may be waiting for a vCPU the host has not
 * scheduled: then every cycle it spins is wasted, and the target runs only
 * when the host's scheduler gets round to it. KVM_HC_SCHED_YIELD(apic_id)
 * asks the host to give the caller's time slice to the vCPU with that APIC
 * ID instead. Linux's KVM guest support does the same after sending IPIs to
 * vCPUs it sees preempted. This sample waits for a function call on a target
 * CPU and yields to that vCPU until the call has run.
 *
 * How a driver uses pvhc, step by step:
 *
 * 1. Include <pvhc/kvm_hypercall.h> (build with -I<pvhc>/guest/include). It
 *    may share a file with the kernel's <linux/kvm_para.h>, in either order;
 *    this file includes the kernel's first, main.c the other way round. In a
 *    kernel build the calls are spelled pvhc_hypercall0..4, because the
 *    kernel's own kvm_hypercall0..4 use the opcode chosen at boot, which is
 *    exactly what breaks after a migration to the other CPU vendor. (This
 *    module includes it through pvhc_guest.h, which also records each call
 *    site for debugfs; a driver does not need that.)
 *
 * 2. Before the first hypercall, make sure a KVM-compatible host is there:
 *    pvhc_para_available(), once, at probe time. A VMCALL on bare metal or
 *    under another hypervisor raises #UD, an oops in kernel code. Then check
 *    the feature bit for the hypercall (leaf KVM_CPUID_FEATURES, relative to
 *    the base pvhc_kvm_cpuid_base() found); hosts without it answer
 *    -KVM_ENOSYS.
 *
 * 3. Call pvhc_hypercallN(nr, args...). Nothing else is needed for Intel
 *    versus AMD or for migration: every site is VMCALL, and an AMD host
 *    rewrites a site to VMMCALL the first time it runs (once per site and
 *    vendor switch). The call is one instruction with no locks, so any
 *    context may make it, atomic context included; what the host does
 *    with it (here: a reschedule of the caller's vCPU) is the host's.
 *    Caveat, seen on Debian's 6.1 kvm_amd: upstream KVM writes the new
 *    opcode through the guest's page tables with permission checks, so a
 *    site in read-only text (module text is, unless rodata=off) gets a #PF
 *    instead, an oops. pvhc's host shim writes guest memory directly.
 *
 * 4. A negative result is a -KVM_E* code from the host (KVM_ENOSYS is 1000,
 *    not an errno); translate it before handing it to callers.
 */
#include <linux/kvm_para.h>

#include "pvhc_guest.h"

#include <linux/cpu.h>
#include <linux/cpumask.h>
#include <linux/smp.h>
#include <asm/processor.h>
#include <asm/smp.h>

/* Step 2: the host must offer directed yield. */
static bool pv_yield_supported(void)
{
	unsigned int base, eax, ebx, ecx, edx;

	if (!pvhc_guest_has_kvm)
		return false;
	base = pvhc_kvm_cpuid_base();
	if (!base)
		return false;
	pvhc_cpuid(base + (KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE),
		   &eax, &ebx, &ecx, &edx);
	return eax & BIT(KVM_FEATURE_PV_SCHED_YIELD);
}

/*
 * The flag is the only thing handed over, so no ordering beyond the single
 * access is needed; the caller re-reads it with READ_ONCE().
 */
static void pv_yield_mark_done(void *done)
{
	WRITE_ONCE(*(bool *)done, true);
}

/*
 * Runs a (trivial) function on @cpu without waiting in the IPI code, then
 * waits for it here, giving the host a chance to run @cpu's vCPU on every
 * turn of the loop. Fills @res; returns 0, -ENODEV without a KVM host,
 * -EOPNOTSUPP when the host lacks KVM_FEATURE_PV_SCHED_YIELD, or -EINVAL
 * for an offline CPU.
 */
int pvhc_yield_wait_for_cpu(unsigned int cpu, struct pvhc_yield_result *res)
{
	bool done = false;
	int err;

	if (!pvhc_guest_has_kvm)
		return -ENODEV;
	if (!pv_yield_supported())
		return -EOPNOTSUPP;

	res->cpu = cpu;
	res->yields = 0;
	res->ret = 0;

	/* Keep @cpu online, and its APIC ID valid, until the call has run. */
	cpus_read_lock();
	if (cpu >= nr_cpu_ids || !cpu_online(cpu)) {
		err = -EINVAL;
		goto out;
	}
	res->apicid = cpu_physical_id(cpu);

	err = smp_call_function_single(cpu, pv_yield_mark_done, &done, 0);
	if (err)
		goto out;

	/*
	 * @done lives on this stack, so wait for it whatever the host says.
	 * Step 4: after a failed yield (an old host: -KVM_ENOSYS) stop
	 * asking and just spin; the call still completes.
	 */
	while (!READ_ONCE(done)) {
		if (!res->ret) {
			res->ret = pvhc_hypercall1(KVM_HC_SCHED_YIELD,
						   res->apicid);
			res->yields++;
		}
		cpu_relax();
	}
out:
	cpus_read_unlock();
	return err;
}
