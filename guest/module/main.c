// SPDX-License-Identifier: GPL-2.0-only
/*
 * pvhc_guest: pvhc's guest hypercall API inside a Linux kernel module.
 *
 * On load it looks for a KVM-compatible host by CPUID. With one, hypercalls
 * can be issued and timed through debugfs (debugfs.c) and the pv_yield
 * sample driver (pv_yield.c) works. Without one the module still loads, so
 * that the same image can be tested anywhere, says so in one line, and
 * refuses every hypercall with -ENODEV.
 *
 * Every hypercall instruction here is VMCALL; on an AMD host the host
 * rewrites each site to VMMCALL on its first execution. debugfs "sites"
 * shows them.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "pvhc_guest.h"

#include <linux/kernel.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>

/*
 * The kernel's KVM guest header comes after pvhc's here and before it in
 * pv_yield.c: pvhc's headers must coexist with the kernel's in both orders
 * (the shared KVM_* names have identical definitions, and in a kernel build
 * the API is spelled pvhc_hypercallN so that kvm_hypercallN stay the
 * kernel's). The assertions tie pvhc's own names to the kernel's values
 * and check what this module assumes of them.
 */
#include <asm/kvm_para.h>

/* Not used here: built to prove the whole ABI compiles in a module. */
#include <pvhc/ports.h>

static_assert(PVHC_CPUID_HV_FIRST == KVM_CPUID_SIGNATURE);
static_assert(KVM_CPUID_FEATURES - KVM_CPUID_SIGNATURE == 1);	/* pv_yield.c */
static_assert(sizeof(KVM_SIGNATURE) == 3 * 4 + 1);	/* EBX, ECX, EDX, NUL */

bool pvhc_guest_has_kvm __ro_after_init;

/*
 * Issues hypercall @nr with @nargs arguments. The number of arguments
 * chooses the API function, so each arity is its own call site in "sites".
 */
int pvhc_guest_call(unsigned int nr, const unsigned long *args,
		    unsigned int nargs, long *ret)
{
	if (!pvhc_guest_has_kvm)
		return -ENODEV;

	switch (nargs) {
	case 0:
		*ret = pvhc_hypercall0(nr);
		break;
	case 1:
		*ret = pvhc_hypercall1(nr, args[0]);
		break;
	case 2:
		*ret = pvhc_hypercall2(nr, args[0], args[1]);
		break;
	case 3:
		*ret = pvhc_hypercall3(nr, args[0], args[1], args[2]);
		break;
	case 4:
		*ret = pvhc_hypercall4(nr, args[0], args[1], args[2], args[3]);
		break;
	default:
		return -EINVAL;
	}
	return 0;
}

/*
 * Times @calls back-to-back PVHC_BENCH_NR hypercalls; the total wall time
 * goes to @ns. The first call of a fresh site on an AMD host includes the
 * host's #UD trap and rewrite; over many calls that one cost vanishes.
 * Every 1024 calls the loop lets the scheduler in and honours a fatal
 * signal, so a large count cannot hog the CPU or make the writer unkillable;
 * that costs little next to 1024 exits to the host.
 */
int pvhc_guest_bench(unsigned long calls, u64 *ns)
{
	unsigned long i;
	u64 start;

	if (!pvhc_guest_has_kvm)
		return -ENODEV;
	if (!calls || calls > PVHC_BENCH_MAX)
		return -EINVAL;

	start = ktime_get_ns();
	for (i = 1; i <= calls; i++) {
		pvhc_hypercall0(PVHC_BENCH_NR);
		if (!(i % 1024)) {
			if (fatal_signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	*ns = ktime_get_ns() - start;
	return 0;
}

/*
 * Copies the hypervisor signature at the first hypervisor CPUID leaf into
 * @sig as printable text, or "none" when CPUID.1 reports no hypervisor.
 * Only for the log line that explains why hypercalls are off.
 */
static void pvhc_guest_hv_signature(char sig[13])
{
	unsigned int eax, regs[3];
	int i;

	pvhc_cpuid(1, &eax, &regs[0], &regs[1], &regs[2]);
	if (!(regs[1] & PVHC_CPUID_1_ECX_HYPERVISOR)) {
		strscpy(sig, "none", 13);
		return;
	}
	pvhc_cpuid(PVHC_CPUID_HV_FIRST, &eax, &regs[0], &regs[1], &regs[2]);
	memcpy(sig, regs, 12);
	for (i = 0; i < 12; i++) {
		if (!sig[i])
			break;
		if (sig[i] < 0x20 || sig[i] > 0x7e)
			sig[i] = '?';
	}
	sig[i] = '\0';
}

static int __init pvhc_guest_init(void)
{
	unsigned int nsites = __pvhc_sites_end - __pvhc_sites_start;
	char sig[13];

	pvhc_guest_has_kvm = pvhc_para_available();
	if (pvhc_guest_has_kvm) {
		pr_info("KVM signature at CPUID 0x%x; %u hypercall sites, VMCALL until the host rewrites them\n",
			pvhc_kvm_cpuid_base(), nsites);
	} else {
		pvhc_guest_hv_signature(sig);
		pr_info("no KVM signature in CPUID (hypervisor: \"%s\"); hypercalls refused with -ENODEV\n",
			sig);
	}

	pvhc_debugfs_init();
	return 0;
}
module_init(pvhc_guest_init);

static void __exit pvhc_guest_exit(void)
{
	pvhc_debugfs_exit();
}
module_exit(pvhc_guest_exit);

MODULE_DESCRIPTION("pvhc guest hypercalls: debugfs access, benchmark, call sites, pv_yield sample");
MODULE_LICENSE("GPL");
