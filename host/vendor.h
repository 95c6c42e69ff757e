/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host personalities. A personality says which hypercall instruction the
 * host's CPU executes natively and what CPUID a VM created on it is given.
 * The native opcode belongs to the host and changes when a guest migrates;
 * the CPUID belongs to the VM and does not.
 */
#ifndef PVHC_VENDOR_H
#define PVHC_VENDOR_H

#include <stdint.h>

struct vendor {
	const char *name;		/* "intel" or "amd" */
	uint32_t hc_id;			/* PVHC_HOST_INTEL / PVHC_HOST_AMD */
	uint8_t native_opcode;		/* third byte of the native hypercall */
	uint8_t foreign_opcode;		/* third byte of the other vendor's */
	uint32_t sig_ebx, sig_edx, sig_ecx;	/* CPUID.0 vendor string */
	uint32_t fms;			/* CPUID.1:EAX family/model/stepping */
	uint32_t max_basic_leaf;
	const char *brand;		/* CPUID 0x80000002..4, 48 bytes max */
};

extern const struct vendor vendor_intel, vendor_amd;

/* The personality named name, or NULL. */
const struct vendor *vendor_by_name(const char *name);
const char *opcode_name(uint8_t third_byte);

#endif /* PVHC_VENDOR_H */
