/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pvhc guest<->host ABI: hypercall numbers, return codes and the two
 * hypercall instructions.
 *
 * Calling convention (KVM's): nr in RAX, arguments in RBX, RCX, RDX, RSI,
 * result in RAX; nothing else is clobbered. Outside 64-bit mode the host
 * uses the low 32 bits of every register and truncates the result.
 *
 * Plain C: no libc, usable from a kernel module, a freestanding payload
 * and host userspace, -m32 and -m64, C99 and later. The KVM_* names carry
 * exactly KVM's values and replacement lists, so this header and the
 * system's <linux/kvm_para.h> can be included in either order.
 */
#ifndef _UAPI_PVHC_HYPERCALL_H
#define _UAPI_PVHC_HYPERCALL_H

/*
 * Error codes returned (negated) in RAX. KVM spells four of them as errno
 * names; give those names their x86 Linux values when no errno header has
 * been seen, with the same replacement list as <asm-generic/errno-base.h>.
 */
#ifndef EPERM
#define EPERM		 1	/* Operation not permitted */
#endif
#ifndef EFAULT
#define EFAULT		14	/* Bad address */
#endif
#ifndef EINVAL
#define EINVAL		22	/* Invalid argument */
#endif
#ifndef E2BIG
#define E2BIG		 7	/* Argument list too long */
#endif

#define KVM_ENOSYS		1000
#define KVM_EFAULT		EFAULT
#define KVM_EINVAL		EINVAL
#define KVM_E2BIG		E2BIG
#define KVM_EPERM		EPERM
#define KVM_EOPNOTSUPP		95

/* KVM's hypercall numbers (include/uapi/linux/kvm_para.h). */
#define KVM_HC_VAPIC_POLL_IRQ		1
#define KVM_HC_MMU_OP			2
#define KVM_HC_FEATURES			3
#define KVM_HC_PPC_MAP_MAGIC_PAGE	4
#define KVM_HC_KICK_CPU			5
#define KVM_HC_MIPS_GET_CLOCK_FREQ	6
#define KVM_HC_MIPS_EXIT_VM		7
#define KVM_HC_MIPS_CONSOLE_OUTPUT	8
#define KVM_HC_CLOCK_PAIRING		9
#define KVM_HC_SEND_IPI		10
#define KVM_HC_SCHED_YIELD		11
#define KVM_HC_MAP_GPA_RANGE		12

/*
 * pvhc's own diagnostic hypercalls. KVM allocates its numbers densely from 1
 * (12 in use); pvhc's live in 0x50480000.. ("PH"), far from that range and
 * below 2^31 so that 32-bit guests can name them too. Real KVM answers them
 * with -KVM_ENOSYS, which is how a guest tells the two apart.
 */
#define PVHC_HC_BASE		0x50480000u
/* Returns 0. The cheapest hypercall, for benchmarks. */
#define PVHC_HC_NOP		(PVHC_HC_BASE + 0)
/*
 * Returns nr + 2*a0 + 3*a1 + 5*a2 + 7*a3, computed in the guest's register
 * width (so in unsigned long arithmetic on the guest side). Distinct weights
 * make a swapped, dropped or truncated argument visible in the result. See
 * PVHC_HC_ECHO0..3 for fewer arguments.
 */
#define PVHC_HC_ECHO		(PVHC_HC_BASE + 1)
/* Returns the host personality: PVHC_HOST_INTEL or PVHC_HOST_AMD. */
#define PVHC_HC_HOST_VENDOR	(PVHC_HC_BASE + 2)
/* Returns how many #UD traps the host shim has taken for this VM. */
#define PVHC_HC_UD_TRAPS	(PVHC_HC_BASE + 3)
/* Returns how many hypercall sites the shim has rewritten for this VM. */
#define PVHC_HC_REWRITES	(PVHC_HC_BASE + 4)
/*
 * Returns the host's monotonic clock in ns (truncated to 32 bits outside
 * 64-bit mode), so a guest can time a loop of hypercalls in host time.
 */
#define PVHC_HC_HOST_NS		(PVHC_HC_BASE + 5)
/*
 * PVHC_HC_ECHO over the first n arguments only (the others are not read):
 * ECHOn returns nr + 2*a0 + ... for n = 0..3. Registers a guest did not set
 * hold whatever they held, so kvm_hypercallN pairs with ECHON.
 */
#define PVHC_HC_ECHO0		(PVHC_HC_BASE + 0x10)
#define PVHC_HC_ECHO1		(PVHC_HC_BASE + 0x11)
#define PVHC_HC_ECHO2		(PVHC_HC_BASE + 0x12)
#define PVHC_HC_ECHO3		(PVHC_HC_BASE + 0x13)
#define PVHC_HC_LAST		PVHC_HC_ECHO3

#define PVHC_HOST_INTEL		1
#define PVHC_HOST_AMD		2

/* The two hypercall instructions, 3 bytes each. */
#define PVHC_HYPERCALL_LEN	3
#define PVHC_VMCALL_B0		0x0f
#define PVHC_VMCALL_B1		0x01
#define PVHC_VMCALL_B2		0xc1	/* Intel VMX: vmcall */
#define PVHC_VMMCALL_B2		0xd9	/* AMD SVM: vmmcall */
/* The same bytes for inline assembly. */
#define PVHC_VMCALL_ASM		".byte 0x0f, 0x01, 0xc1"
#define PVHC_VMMCALL_ASM	".byte 0x0f, 0x01, 0xd9"

#endif /* _UAPI_PVHC_HYPERCALL_H */
