// SPDX-License-Identifier: GPL-2.0-only
/* The VM's CPUID table; see cpuid.h. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <pvhc/cpuid.h>

#include "cpuid.h"

/* CPUID.1 features: what the TCG CPU implements and a KVM guest would see. */
#define F1_EDX (1u << 0 /* fpu */ | 1u << 3 /* pse */ | 1u << 4 /* tsc */ | \
		1u << 5 /* msr */ | 1u << 6 /* pae */ | 1u << 8 /* cx8 */ | \
		1u << 9 /* apic */ | 1u << 11 /* sep */ | 1u << 13 /* pge */ | \
		1u << 15 /* cmov */ | 1u << 16 /* pat */ | 1u << 17 /* pse36 */ | \
		1u << 19 /* clflush */ | 1u << 23 /* mmx */ | 1u << 24 /* fxsr */ | \
		1u << 25 /* sse */ | 1u << 26 /* sse2 */)
#define F1_ECX (1u << 0 /* sse3 */ | 1u << 13 /* cx16 */ | 1u << 23 /* popcnt */ | \
		PVHC_CPUID_1_ECX_HYPERVISOR)
#define F81_EDX (1u << 11 /* syscall */ | 1u << 20 /* nx */ | 1u << 29 /* lm */)
#define F81_ECX (1u << 0 /* lahf_lm */)
/* KVM features pvhc implements: PV_UNHALT (KICK_CPU) and PV_SCHED_YIELD. */
#define KVM_FEATURES ((1u << 7) | (1u << 13))

static void add(struct cpuid_table *t, uint32_t fn, uint32_t a, uint32_t b, uint32_t c,
		uint32_t d)
{
	if (t->nr < CPUID_MAX_ENTRIES)
		t->e[t->nr++] = (struct cpuid_entry){ fn, 0, a, b, c, d, 0 };
}

static uint32_t brand_word(const char *brand, int i)
{
	char buf[48] = { 0 };
	uint32_t w;

	strncpy(buf, brand, sizeof(buf) - 1);
	memcpy(&w, buf + 4 * i, 4);
	return w;
}

void cpuid_table_build(struct cpuid_table *t, const struct vendor *v, unsigned int nr_vcpus)
{
	int i;

	memset(t, 0, sizeof(*t));
	add(t, 0, v->max_basic_leaf, v->sig_ebx, v->sig_ecx, v->sig_edx);
	/* EBX[23:16] logical processor count; EBX[31:24] (APIC ID) is per vCPU. */
	add(t, 1, v->fms, (nr_vcpus & 0xff) << 16 | 8 << 8, F1_ECX, F1_EDX);
	if (v->max_basic_leaf >= 0xa)
		add(t, 0xa, 0, 0, 0, 0);	/* no architectural PMU */
	add(t, KVM_CPUID_SIGNATURE, KVM_CPUID_FEATURES, PVHC_KVM_SIG_EBX, PVHC_KVM_SIG_ECX,
	    PVHC_KVM_SIG_EDX);
	add(t, KVM_CPUID_FEATURES, KVM_FEATURES, 0, 0, 0);
	add(t, 0x80000000, 0x80000008, v == &vendor_amd ? v->sig_ebx : 0,
	    v == &vendor_amd ? v->sig_ecx : 0, v == &vendor_amd ? v->sig_edx : 0);
	add(t, 0x80000001, v == &vendor_amd ? v->fms : 0, 0, F81_ECX, F81_EDX);
	for (i = 0; i < 3; i++)
		add(t, 0x80000002 + i, brand_word(v->brand, 4 * i), brand_word(v->brand, 4 * i + 1),
		    brand_word(v->brand, 4 * i + 2), brand_word(v->brand, 4 * i + 3));
	add(t, 0x80000008, 0x3028, 0, nr_vcpus ? nr_vcpus - 1 : 0, 0); /* 40-bit PA, 48-bit VA */
}

void cpuid_lookup(const struct cpuid_table *t, uint32_t function, uint32_t index,
		  uint32_t apic_id, uint32_t out[4])
{
	uint32_t i;

	memset(out, 0, 4 * sizeof(out[0]));
	for (i = 0; i < t->nr; i++) {
		const struct cpuid_entry *e = &t->e[i];

		if (e->function != function)
			continue;
		if ((e->flags & CPUID_F_INDEXED) && e->index != index)
			continue;
		out[0] = e->eax;
		out[1] = e->ebx;
		out[2] = e->ecx;
		out[3] = e->edx;
		break;
	}
	if (function == 1)
		out[1] = (out[1] & 0x00ffffff) | apic_id << 24;
}

/* The feature words compared, in struct cpuid_features order. */
static const struct {
	uint32_t function, index;
	unsigned int reg;	/* 0..3: EAX..EDX */
	const char *name;
} feature_words[CPUID_FEATURE_WORDS] = {
	{ 1, 0, 2, "0x1 ECX" }, { 1, 0, 3, "0x1 EDX" },
	{ 7, 0, 1, "0x7 EBX" }, { 7, 0, 2, "0x7 ECX" }, { 7, 0, 3, "0x7 EDX" },
	{ 0x80000001, 0, 2, "0x80000001 ECX" }, { 0x80000001, 0, 3, "0x80000001 EDX" },
};

void cpuid_features_of(struct cpuid_features *f, cpuid_lookup_fn lookup, const void *table)
{
	uint32_t out[4];
	unsigned int i;

	for (i = 0; i < CPUID_FEATURE_WORDS; i++) {
		lookup(table, feature_words[i].function, feature_words[i].index, out);
		f->word[i] = out[feature_words[i].reg];
	}
	lookup(table, 0x80000008, 0, out);
	f->pa_bits = out[0] & 0xff;
}

static void table_lookup(const void *table, uint32_t function, uint32_t index, uint32_t out[4])
{
	cpuid_lookup(table, function, index, 0, out);
}

void cpuid_table_features(struct cpuid_features *f, const struct cpuid_table *t)
{
	cpuid_features_of(f, table_lookup, t);
}

int cpuid_features_missing(const struct cpuid_features *want, const struct cpuid_features *have,
			   char *err, size_t errlen)
{
	unsigned int i;

	for (i = 0; i < CPUID_FEATURE_WORDS; i++) {
		uint32_t missing = want->word[i] & ~have->word[i];

		if (i == 0)
			missing &= ~PVHC_CPUID_1_ECX_HYPERVISOR;
		if (missing) {
			snprintf(err, errlen, "the guest's CPUID promises a feature this host "
				 "lacks: leaf %s bit %d", feature_words[i].name,
				 __builtin_ctz(missing));
			return -EINVAL;
		}
	}
	if (want->pa_bits > have->pa_bits) {
		snprintf(err, errlen, "the guest's CPUID promises %u-bit physical addresses; "
			 "this host has %u", want->pa_bits, have->pa_bits);
		return -EINVAL;
	}
	return 0;
}

uint64_t cpuid_cr4_allowed(const struct cpuid_table *t)
{
	/* VME PVI TSD DE PSE PAE MCE PGE PCE OSFXSR OSXMMEXCPT */
	uint64_t allowed = 0x7ff;
	uint32_t l1[4], l7[4];

	cpuid_lookup(t, 1, 0, 0, l1);
	cpuid_lookup(t, 7, 0, 0, l7);
	if (l1[2] & (1u << 5))		/* VMX */
		allowed |= 1ull << 13;	/* VMXE */
	if (l1[2] & (1u << 17))		/* PCID */
		allowed |= 1ull << 17;	/* PCIDE */
	if (l1[2] & (1u << 26))		/* XSAVE */
		allowed |= 1ull << 18;	/* OSXSAVE */
	if (l7[1] & (1u << 0))		/* FSGSBASE */
		allowed |= 1ull << 16;
	if (l7[1] & (1u << 7))		/* SMEP */
		allowed |= 1ull << 20;
	if (l7[1] & (1u << 20))		/* SMAP */
		allowed |= 1ull << 21;
	if (l7[2] & (1u << 2))		/* UMIP */
		allowed |= 1ull << 11;
	if (l7[2] & (1u << 3))		/* PKU */
		allowed |= 1ull << 22;	/* PKE */
	if (l7[2] & (1u << 16))		/* LA57 */
		allowed |= 1ull << 12;
	if ((l7[2] & (1u << 7)) || (l7[3] & (1u << 20)))	/* CET shadow stack, IBT */
		allowed |= 1ull << 23;
	return allowed;
}
