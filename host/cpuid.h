/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPUID a VM answers with: built once from the personality the VM was
 * created on and carried with the guest across migrations, as a real
 * cross-vendor migration does.
 */
#ifndef PVHC_CPUID_H
#define PVHC_CPUID_H

#include <stddef.h>
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

/*
 * The hardware features a CPUID promises: the feature words of leaves 1, 7
 * and 0x80000001 and the physical address width. A guest that arrives by
 * migration has already read its CPUID and may be using any of them, so a
 * host that cannot give one of them cannot take the guest.
 */
#define CPUID_FEATURE_WORDS 7
struct cpuid_features {
	uint32_t word[CPUID_FEATURE_WORDS];
	uint32_t pa_bits;
};

/* Where a table answers (function, index): 0 when it has no such leaf. */
typedef void (*cpuid_lookup_fn)(const void *table, uint32_t function, uint32_t index,
				uint32_t out[4]);
void cpuid_features_of(struct cpuid_features *f, cpuid_lookup_fn lookup, const void *table);
void cpuid_table_features(struct cpuid_features *f, const struct cpuid_table *t);
/*
 * 0 if have offers everything want asks for (the hypervisor bit, which any
 * host sets, is not a hardware feature); else -EINVAL and the first missing
 * feature named in err.
 */
int cpuid_features_missing(const struct cpuid_features *want, const struct cpuid_features *have,
			   char *err, size_t errlen);
/*
 * The CR4 bits a guest with this CPUID may set (KVM's rule): the ones every
 * x86-64 CPU has, and each of the others only if CPUID reports its feature.
 */
uint64_t cpuid_cr4_allowed(const struct cpuid_table *t);
/* Fill out[4] = EAX..EDX for (function, index) as the VM's CPU reports it. */
void cpuid_lookup(const struct cpuid_table *t, uint32_t function, uint32_t index,
		  uint32_t apic_id, uint32_t out[4]);

#endif /* PVHC_CPUID_H */
