/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Compile-time checks that the names a translation unit sees carry KVM's
 * exact values. Included last by the translation units that
 * scripts/test-uapi-headers.sh generates, after pvhc's headers and/or the
 * system's <linux/kvm_para.h>, so a value that drifted from KVM's fails the
 * build instead of a guest at run time.
 *
 * The values are spelled out here rather than taken from either header: the
 * point is to compare both against the ABI, not against each other.
 */
#ifndef PVHC_SELFTEST_KVM_VALUES_H
#define PVHC_SELFTEST_KVM_VALUES_H

/*
 * C99 has no _Static_assert; a negative array size is the portable error.
 * One typedef name per line, so -Wredundant-decls has nothing to say.
 */
#if __STDC_VERSION__ >= 201112L
#define ABI_ASSERT(cond) _Static_assert(cond, #cond)
#else
#define ABI_CAT_(a, b) a##b
#define ABI_CAT(a, b) ABI_CAT_(a, b)
#define ABI_ASSERT(cond) \
	typedef char ABI_CAT(abi_assert_line_, __LINE__)[(cond) ? 1 : -1]
#endif

/* KVM's return codes (include/uapi/linux/kvm_para.h), x86 errno values. */
ABI_ASSERT(KVM_ENOSYS == 1000);
ABI_ASSERT(KVM_EPERM == 1);
ABI_ASSERT(KVM_EFAULT == 14);
ABI_ASSERT(KVM_EINVAL == 22);
ABI_ASSERT(KVM_E2BIG == 7);
ABI_ASSERT(KVM_EOPNOTSUPP == 95);

/* KVM's hypercall numbers: dense from 1, so a shifted table shows up. */
ABI_ASSERT(KVM_HC_VAPIC_POLL_IRQ == 1);
ABI_ASSERT(KVM_HC_MMU_OP == 2);
ABI_ASSERT(KVM_HC_FEATURES == 3);
ABI_ASSERT(KVM_HC_PPC_MAP_MAGIC_PAGE == 4);
ABI_ASSERT(KVM_HC_KICK_CPU == 5);
ABI_ASSERT(KVM_HC_MIPS_GET_CLOCK_FREQ == 6);
ABI_ASSERT(KVM_HC_MIPS_EXIT_VM == 7);
ABI_ASSERT(KVM_HC_MIPS_CONSOLE_OUTPUT == 8);
ABI_ASSERT(KVM_HC_CLOCK_PAIRING == 9);
ABI_ASSERT(KVM_HC_SEND_IPI == 10);
ABI_ASSERT(KVM_HC_SCHED_YIELD == 11);
ABI_ASSERT(KVM_HC_MAP_GPA_RANGE == 12);

/* x86 CPUID leaves (arch/x86/include/uapi/asm/kvm_para.h). */
ABI_ASSERT(KVM_CPUID_SIGNATURE == 0x40000000);
ABI_ASSERT(KVM_CPUID_FEATURES == 0x40000001);
/* "KVMKVMKVM\0\0\0" plus the literal's own NUL. */
ABI_ASSERT(sizeof(KVM_SIGNATURE) == 13);

/*
 * pvhc's own spellings of the same facts, when its headers are in: the
 * register form of the signature and the two opcodes.
 */
#define ABI_LE32(a, b, c, d) \
	((unsigned int)(a) | (unsigned int)(b) << 8 | \
	 (unsigned int)(c) << 16 | (unsigned int)(d) << 24)
#ifdef PVHC_KVM_SIG_EBX
ABI_ASSERT(PVHC_KVM_SIG_EBX == ABI_LE32('K', 'V', 'M', 'K'));
ABI_ASSERT(PVHC_KVM_SIG_ECX == ABI_LE32('V', 'M', 'K', 'V'));
ABI_ASSERT(PVHC_KVM_SIG_EDX == ABI_LE32('M', 0, 0, 0));
ABI_ASSERT(PVHC_VENDOR_INTEL_EBX == ABI_LE32('G', 'e', 'n', 'u'));
ABI_ASSERT(PVHC_VENDOR_INTEL_EDX == ABI_LE32('i', 'n', 'e', 'I'));
ABI_ASSERT(PVHC_VENDOR_INTEL_ECX == ABI_LE32('n', 't', 'e', 'l'));
ABI_ASSERT(PVHC_VENDOR_AMD_EBX == ABI_LE32('A', 'u', 't', 'h'));
ABI_ASSERT(PVHC_VENDOR_AMD_EDX == ABI_LE32('e', 'n', 't', 'i'));
ABI_ASSERT(PVHC_VENDOR_AMD_ECX == ABI_LE32('c', 'A', 'M', 'D'));
#endif
#ifdef PVHC_VMCALL_B0
ABI_ASSERT(PVHC_HYPERCALL_LEN == 3);
ABI_ASSERT(PVHC_VMCALL_B0 == 0x0f && PVHC_VMCALL_B1 == 0x01);
ABI_ASSERT(PVHC_VMCALL_B2 == 0xc1);
ABI_ASSERT(PVHC_VMMCALL_B2 == 0xd9);
/* pvhc's private numbers must stay clear of KVM's dense range. */
ABI_ASSERT(PVHC_HC_BASE > KVM_HC_MAP_GPA_RANGE + 0x10000u);
ABI_ASSERT(PVHC_HC_LAST < 0x80000000u);
#endif

#endif /* PVHC_SELFTEST_KVM_VALUES_H */
