/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPUID a VM answers with: built once from the personality the VM was
 * created on and carried with the guest across migrations, as a real
 * cross-vendor migration does.
 */
#ifndef PVHC_CPUID_H
#define PVHC_CPUID_H

#include <stdint.h>

#include "vendor.h"

#define CPUID_MAX_ENTRIES 32

struct cpuid_entry {
	uint32_t function, index;
	uint32_t eax, ebx, ecx, edx;
	uint32_t flags;		/* CPUID_F_INDEXED: index is significant */
};
#define CPUID_F_INDEXED 1

struct cpuid_table {
	uint32_t nr;
	struct cpuid_entry e[CPUID_MAX_ENTRIES];
};

void cpuid_table_build(struct cpuid_table *t, const struct vendor *v, unsigned int nr_vcpus);
/* Fill out[4] = EAX..EDX for (function, index) as the VM's CPU reports it. */
void cpuid_lookup(const struct cpuid_table *t, uint32_t function, uint32_t index,
		  uint32_t apic_id, uint32_t out[4]);

#endif /* PVHC_CPUID_H */
