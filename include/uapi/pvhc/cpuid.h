/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * CPUID leaves of the pvhc ABI. A guest finds a KVM-compatible hypervisor by
 * CPUID.1:ECX.hypervisor (bit 31) and then the signature "KVMKVMKVM\0\0\0"
 * in EBX, ECX, EDX of leaf 0x40000000 (or of a base above it, in steps of
 * 0x100, when another hypervisor interface comes first).
 */
#ifndef _UAPI_PVHC_CPUID_H
#define _UAPI_PVHC_CPUID_H

#define KVM_CPUID_SIGNATURE	0x40000000
#define KVM_SIGNATURE "KVMKVMKVM\0\0\0"
#define KVM_CPUID_FEATURES	0x40000001

/* The signature as the three little-endian registers EBX, ECX, EDX. */
#define PVHC_KVM_SIG_EBX	0x4b4d564bu	/* "KVMK" */
#define PVHC_KVM_SIG_ECX	0x564b4d56u	/* "VMKV" */
#define PVHC_KVM_SIG_EDX	0x0000004du	/* "M\0\0\0" */

/* Where a guest looks for hypervisor signatures, and how far. */
#define PVHC_CPUID_HV_FIRST	0x40000000u
#define PVHC_CPUID_HV_LAST	0x40010000u
#define PVHC_CPUID_HV_STEP	0x100u

/* CPUID.1:ECX bit 31: running under a hypervisor. */
#define PVHC_CPUID_1_ECX_HYPERVISOR	(1u << 31)

/* CPUID leaf 0 vendor strings as EBX, EDX, ECX. */
#define PVHC_VENDOR_INTEL_EBX	0x756e6547u	/* "Genu" */
#define PVHC_VENDOR_INTEL_EDX	0x49656e69u	/* "ineI" */
#define PVHC_VENDOR_INTEL_ECX	0x6c65746eu	/* "ntel" */
#define PVHC_VENDOR_AMD_EBX	0x68747541u	/* "Auth" */
#define PVHC_VENDOR_AMD_EDX	0x69746e65u	/* "enti" */
#define PVHC_VENDOR_AMD_ECX	0x444d4163u	/* "cAMD" */

#endif /* _UAPI_PVHC_CPUID_H */
