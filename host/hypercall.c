// SPDX-License-Identifier: GPL-2.0-only
/* The hypercall table: {nr, name, fn}, and KVM's dispatch rules. */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <pvhc/hypercall.h>

#include "hypercall.h"
#include "vm.h"

static uint64_t hc_zero(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	return 0;
}

/* KVM_HC_KICK_CPU(flags, apicid): wake the vCPU with that APIC ID from HLT. */
static uint64_t hc_kick_cpu(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	smp_kick_apic_id(vcpu->vm, (uint32_t)c->a[1]);
	return 0;
}

/* KVM_HC_SCHED_YIELD(apicid): let other vCPUs (preferably that one) run. */
static uint64_t hc_sched_yield(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	smp_yield_to(vcpu, (uint32_t)c->a[0]);
	return 0;
}

/*
 * KVM_HC_SEND_IPI(bitmap_low, bitmap_high, min, icr): a fixed IPI to every
 * APIC ID min + n whose bit n is set, the high bitmap continuing where the
 * low one ends (64 bits each in 64-bit mode, 32 otherwise). KVM's rules:
 * no destination shorthand or logical mode; the result is how many vCPUs
 * got it.
 */
static uint64_t hc_send_ipi(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	unsigned int width = c->long_mode ? 64 : 32, n;
	uint32_t icr = (uint32_t)c->a[3];
	uint64_t count = 0;

	if (icr & (ICR_LOGICAL | (3u << 18)))
		return (uint64_t)-KVM_EINVAL;
	for (n = 0; n < 2 * width; n++) {
		uint64_t word = n < width ? c->a[0] : c->a[1];
		uint64_t id = c->a[2] + n;
		unsigned int i;

		if (!((word >> (n % width)) & 1) || id > 0xfe)
			continue;
		for (i = 0; i < vcpu->vm->nr_vcpus; i++)
			if (vcpu->vm->vcpus[i]->apic_id == id) {
				lapic_send_ipi(vcpu, icr & 0x7ff, (uint32_t)id << 24);
				count++;
			}
	}
	return count;
}

/* KVM answers CLOCK_PAIRING with EOPNOTSUPP unless its clock is TSC-stable kvmclock. */
static uint64_t hc_clock_pairing(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	return (uint64_t)-KVM_EOPNOTSUPP;
}

/* opaque = how many arguments this ECHO variant reads. */
static uint64_t hc_echo(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	static const uint64_t weight[4] = { 2, 3, 5, 7 };
	unsigned int n = (unsigned int)(uintptr_t)opaque, i;
	uint64_t r = c->nr;

	for (i = 0; i < n; i++)
		r += weight[i] * c->a[i];
	return r;
}

static uint64_t hc_host_vendor(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	return vcpu->vm->vendor->hc_id;
}

static uint64_t hc_ud_traps(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	return vcpu->vm->stats.ud_traps;
}

static uint64_t hc_rewrites(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	return vcpu->vm->stats.rewrites;
}

static uint64_t hc_host_ns(struct vcpu *vcpu, const struct hc_call *c, void *opaque)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void hc_table_init(struct hc_table *t)
{
	*t = (struct hc_table){ 0 };
	/* Most frequent first: the lookup is a linear scan. */
	hc_table_register(t, PVHC_HC_NOP, "PVHC_NOP", 0, hc_zero, NULL);
	hc_table_register(t, KVM_HC_VAPIC_POLL_IRQ, "VAPIC_POLL_IRQ", 0, hc_zero, NULL);
	hc_table_register(t, KVM_HC_SCHED_YIELD, "SCHED_YIELD", 1, hc_sched_yield, NULL);
	hc_table_register(t, KVM_HC_KICK_CPU, "KICK_CPU", 2, hc_kick_cpu, NULL);
	hc_table_register(t, KVM_HC_SEND_IPI, "SEND_IPI", 4, hc_send_ipi, NULL);
	hc_table_register(t, KVM_HC_CLOCK_PAIRING, "CLOCK_PAIRING", 2, hc_clock_pairing, NULL);
	hc_table_register(t, PVHC_HC_ECHO, "PVHC_ECHO", 4, hc_echo, (void *)4);
	hc_table_register(t, PVHC_HC_HOST_VENDOR, "PVHC_HOST_VENDOR", 0, hc_host_vendor, NULL);
	hc_table_register(t, PVHC_HC_UD_TRAPS, "PVHC_UD_TRAPS", 0, hc_ud_traps, NULL);
	hc_table_register(t, PVHC_HC_REWRITES, "PVHC_REWRITES", 0, hc_rewrites, NULL);
	hc_table_register(t, PVHC_HC_HOST_NS, "PVHC_HOST_NS", 0, hc_host_ns, NULL);
	hc_table_register(t, PVHC_HC_ECHO0, "PVHC_ECHO0", 0, hc_echo, (void *)0);
	hc_table_register(t, PVHC_HC_ECHO1, "PVHC_ECHO1", 1, hc_echo, (void *)1);
	hc_table_register(t, PVHC_HC_ECHO2, "PVHC_ECHO2", 2, hc_echo, (void *)2);
	hc_table_register(t, PVHC_HC_ECHO3, "PVHC_ECHO3", 3, hc_echo, (void *)3);
}

int hc_table_register(struct hc_table *t, uint64_t nr, const char *name, unsigned int nargs,
		      hc_fn fn, void *opaque)
{
	struct hc_entry e = { nr, name, nargs, fn, opaque, 0 };
	unsigned int i;

	if (!fn || !name || nargs > 4)
		return -EINVAL;
	for (i = 0; i < t->nr; i++) {
		if (t->e[i].nr == nr) {
			t->e[i] = e;
			return 0;
		}
	}
	if (t->nr == HC_TABLE_MAX)
		return -ENOSPC;
	t->e[t->nr++] = e;
	return 0;
}

static struct hc_entry *hc_find(struct hc_table *t, uint64_t nr)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->e[i].nr == nr)
			return &t->e[i];
	return NULL;
}

const char *hc_name(const struct hc_table *t, uint64_t nr)
{
	unsigned int i;

	for (i = 0; i < t->nr; i++)
		if (t->e[i].nr == nr)
			return t->e[i].name;
	return "unknown";
}

unsigned int hypercall_decode(struct hc_table *t, uint64_t rax, enum x86_mode mode,
			      unsigned int cpl, struct hc_call *call, struct hc_entry **entry)
{
	call->long_mode = mode == X86_MODE_LONG64;
	call->cpl = cpl;
	call->nr = hypercall_mask(call, rax);
	call->a[0] = call->a[1] = call->a[2] = call->a[3] = 0;
	/* Upstream checks CPL before looking at nr. */
	*entry = cpl == 0 ? hc_find(t, call->nr) : NULL;
	return *entry ? (*entry)->nargs : 0;
}

uint64_t hypercall_dispatch(struct vcpu *vcpu, struct hc_table *t, struct hc_entry *entry,
			    const struct hc_call *call)
{
	uint64_t ret;

	if (call->cpl != 0) {
		t->eperm_calls++;
		ret = (uint64_t)-KVM_EPERM;
	} else if (entry) {
		entry->calls++;
		ret = entry->fn(vcpu, call, entry->opaque);
	} else {
		t->unknown_calls++;
		ret = (uint64_t)-KVM_ENOSYS;
	}
	return hypercall_mask(call, ret);
}

uint64_t hypercall_emulate(struct vcpu *vcpu, struct hc_table *t, const uint64_t regs[5],
			   enum x86_mode mode, unsigned int cpl, struct hc_call *call)
{
	struct hc_entry *entry;
	int i;

	hypercall_decode(t, regs[0], mode, cpl, call, &entry);
	for (i = 0; i < 4; i++)
		call->a[i] = hypercall_mask(call, regs[i + 1]);
	return hypercall_dispatch(vcpu, t, entry, call);
}
