// SPDX-License-Identifier: GPL-2.0-only
/* The two host personalities, as data. */
#include <string.h>

#include <pvhc/cpuid.h>
#include <pvhc/hypercall.h>

#include "vendor.h"

const struct vendor vendor_intel = {
	.name = "intel",
	.hc_id = PVHC_HOST_INTEL,
	.native_opcode = PVHC_VMCALL_B2,
	.foreign_opcode = PVHC_VMMCALL_B2,
	.sig_ebx = PVHC_VENDOR_INTEL_EBX,
	.sig_edx = PVHC_VENDOR_INTEL_EDX,
	.sig_ecx = PVHC_VENDOR_INTEL_ECX,
	.fms = 0x000506e3,		/* family 6, model 0x5e (Skylake), stepping 3 */
	.max_basic_leaf = 0xa,		/* leaf 0xA: architectural PMU (none) */
	.brand = "pvhc emulated Intel host",
};

const struct vendor vendor_amd = {
	.name = "amd",
	.hc_id = PVHC_HOST_AMD,
	.native_opcode = PVHC_VMMCALL_B2,
	.foreign_opcode = PVHC_VMCALL_B2,
	.sig_ebx = PVHC_VENDOR_AMD_EBX,
	.sig_edx = PVHC_VENDOR_AMD_EDX,
	.sig_ecx = PVHC_VENDOR_AMD_ECX,
	.fms = 0x00830f10,		/* family 0x17, model 0x31 (Zen 2), stepping 0 */
	.max_basic_leaf = 0xd,
	.brand = "pvhc emulated AMD host",
};

const struct vendor *vendor_by_name(const char *name)
{
	if (!strcmp(name, "intel"))
		return &vendor_intel;
	if (!strcmp(name, "amd"))
		return &vendor_amd;
	return NULL;
}

const char *opcode_name(uint8_t third_byte)
{
	switch (third_byte) {
	case PVHC_VMCALL_B2:
		return "vmcall";
	case PVHC_VMMCALL_B2:
		return "vmmcall";
	}
	return "other";
}
