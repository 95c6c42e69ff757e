/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pvhc guest hypercall API.
 *
 *   long kvm_hypercall0(unsigned int nr);
 *   long kvm_hypercall1(unsigned int nr, unsigned long p1);
 *   ...
 *   long kvm_hypercall4(unsigned int nr, unsigned long p1, unsigned long p2,
 *                       unsigned long p3, unsigned long p4);
 *   bool kvm_para_available(void);
 *
 * Every call site emits the same instruction, VMCALL (0f 01 c1), whatever CPU
 * the guest was booted on. On an AMD host the first execution of each site
 * traps (#UD) and the host rewrites it to VMMCALL once; after a migration to
 * the other vendor the same happens again. Choosing the opcode at boot would
 * be wrong: the guest cannot know where it will be migrated to.
 *
 * Registers follow KVM: nr in EAX/RAX, p1..p4 in RBX, RCX, RDX, RSI, result in
 * RAX. The "memory" clobber makes each call a compiler barrier, since
 * hypercalls may read or write guest memory.
 *
 * Inside the Linux kernel <asm/kvm_para.h> owns the kvm_hypercallN names, so
 * there (__KERNEL__) only the pvhc_hypercallN spellings exist and the two
 * headers can be included in one file. Elsewhere both spellings exist and
 * are the same function.
 */
#ifndef _PVHC_KVM_HYPERCALL_H
#define _PVHC_KVM_HYPERCALL_H

#include "../../../include/uapi/pvhc/hypercall.h"
#include "../../../include/uapi/pvhc/cpuid.h"

#define __pvhc_inline static inline __attribute__((__always_inline__, __unused__))

/*
 * nr is widened explicitly: "a" with a 32-bit operand only promises EAX,
 * while a 64-bit host reads all of RAX.
 */
__pvhc_inline long pvhc_hypercall0(unsigned int nr)
{
	long ret;

	__asm__ __volatile__(PVHC_VMCALL_ASM
			     : "=a"(ret)
			     : "a"((unsigned long)nr)
			     : "memory");
	return ret;
}

__pvhc_inline long pvhc_hypercall1(unsigned int nr, unsigned long p1)
{
	long ret;

	__asm__ __volatile__(PVHC_VMCALL_ASM
			     : "=a"(ret)
			     : "a"((unsigned long)nr), "b"(p1)
			     : "memory");
	return ret;
}

__pvhc_inline long pvhc_hypercall2(unsigned int nr, unsigned long p1,
				   unsigned long p2)
{
	long ret;

	__asm__ __volatile__(PVHC_VMCALL_ASM
			     : "=a"(ret)
			     : "a"((unsigned long)nr), "b"(p1), "c"(p2)
			     : "memory");
	return ret;
}

__pvhc_inline long pvhc_hypercall3(unsigned int nr, unsigned long p1,
				   unsigned long p2, unsigned long p3)
{
	long ret;

	__asm__ __volatile__(PVHC_VMCALL_ASM
			     : "=a"(ret)
			     : "a"((unsigned long)nr), "b"(p1), "c"(p2), "d"(p3)
			     : "memory");
	return ret;
}

__pvhc_inline long pvhc_hypercall4(unsigned int nr, unsigned long p1,
				   unsigned long p2, unsigned long p3,
				   unsigned long p4)
{
	long ret;

	__asm__ __volatile__(PVHC_VMCALL_ASM
			     : "=a"(ret)
			     : "a"((unsigned long)nr), "b"(p1), "c"(p2), "d"(p3),
			       "S"(p4)
			     : "memory");
	return ret;
}

__pvhc_inline void pvhc_cpuid(unsigned int leaf, unsigned int *a,
			      unsigned int *b, unsigned int *c, unsigned int *d)
{
	__asm__ __volatile__("cpuid"
			     : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d)
			     : "a"(leaf), "c"(0u));
}

/*
 * The CPUID base at which the KVM signature appears, or 0. Like Linux, look
 * only when CPUID.1 says a hypervisor is present, and scan the hypervisor
 * range in steps of 0x100 (Hyper-V-compatible hosts put KVM at 0x40000100).
 */
__pvhc_inline unsigned int pvhc_kvm_cpuid_base(void)
{
	unsigned int a, b, c, d, base;

	pvhc_cpuid(1, &a, &b, &c, &d);
	if (!(c & PVHC_CPUID_1_ECX_HYPERVISOR))
		return 0;
	for (base = PVHC_CPUID_HV_FIRST; base < PVHC_CPUID_HV_LAST;
	     base += PVHC_CPUID_HV_STEP) {
		pvhc_cpuid(base, &a, &b, &c, &d);
		if (b == PVHC_KVM_SIG_EBX && c == PVHC_KVM_SIG_ECX &&
		    d == PVHC_KVM_SIG_EDX)
			return base;
	}
	return 0;
}

__pvhc_inline int pvhc_para_available(void)
{
	return pvhc_kvm_cpuid_base() != 0;
}

#ifndef __KERNEL__
__pvhc_inline long kvm_hypercall0(unsigned int nr)
{
	return pvhc_hypercall0(nr);
}

__pvhc_inline long kvm_hypercall1(unsigned int nr, unsigned long p1)
{
	return pvhc_hypercall1(nr, p1);
}

__pvhc_inline long kvm_hypercall2(unsigned int nr, unsigned long p1,
				  unsigned long p2)
{
	return pvhc_hypercall2(nr, p1, p2);
}

__pvhc_inline long kvm_hypercall3(unsigned int nr, unsigned long p1,
				  unsigned long p2, unsigned long p3)
{
	return pvhc_hypercall3(nr, p1, p2, p3);
}

__pvhc_inline long kvm_hypercall4(unsigned int nr, unsigned long p1,
				  unsigned long p2, unsigned long p3,
				  unsigned long p4)
{
	return pvhc_hypercall4(nr, p1, p2, p3, p4);
}

__pvhc_inline int kvm_para_available(void)
{
	return pvhc_para_available();
}
#endif /* !__KERNEL__ */

#endif /* _PVHC_KVM_HYPERCALL_H */
