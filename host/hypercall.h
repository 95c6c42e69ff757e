/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The hypercall table and KVM's hypercall semantics. Every backend that
 * emulates a hypercall itself (the emulated hosts) calls hypercall_emulate();
 * real KVM implements the same rules in the kernel.
 */
#ifndef PVHC_HYPERCALL_H
#define PVHC_HYPERCALL_H

#include <stdbool.h>
#include <stdint.h>

#include "x86.h"

struct vcpu;

/* One hypercall as the handler sees it: already masked to the guest's width. */
struct hc_call {
	uint64_t nr;
	uint64_t a[4];
	bool long_mode;
	unsigned int cpl;
};

/* A handler returns the value for RAX (negative KVM_E* codes as two's complement). */
typedef uint64_t (*hc_fn)(struct vcpu *vcpu, const struct hc_call *call, void *opaque);

struct hc_entry {
	uint64_t nr;
	const char *name;
	unsigned int nargs;	/* how many of a0..a3 the handler reads */
	hc_fn fn;
	void *opaque;
	uint64_t calls;		/* statistics */
};

#define HC_TABLE_MAX 64

struct hc_table {
	unsigned int nr;
	struct hc_entry e[HC_TABLE_MAX];
	uint64_t unknown_calls;	/* answered -KVM_ENOSYS */
	uint64_t eperm_calls;	/* refused at CPL > 0 */
};

/* KVM's and pvhc's own hypercalls. */
void hc_table_init(struct hc_table *t);
/* Add or replace a handler (a program embedding the host library may do this). */
int hc_table_register(struct hc_table *t, uint64_t nr, const char *name, unsigned int nargs,
		      hc_fn fn, void *opaque);
const char *hc_name(const struct hc_table *t, uint64_t nr);

/*
 * Emulate the hypercall in regs (RAX = nr, RBX, RCX, RDX, RSI = arguments)
 * in upstream KVM's order: mask to 32 bits unless in 64-bit mode, CPL != 0
 * -> -KVM_EPERM, dispatch, unknown -> -KVM_ENOSYS, result truncated to 32
 * bits outside 64-bit mode. Returns the new RAX; *call receives what was
 * dispatched (for tracing). The caller advances RIP by 3.
 */
uint64_t hypercall_emulate(struct vcpu *vcpu, struct hc_table *t, const uint64_t regs[5],
			   enum x86_mode mode, unsigned int cpl, struct hc_call *call);

/*
 * The same in two steps, for callers that read registers lazily (each read
 * from the emulator costs several ns): hypercall_decode() masks nr, applies
 * the CPL rule and finds the handler; it returns how many arguments the
 * caller must put in call->a[] (masked with hypercall_mask()) before
 * hypercall_dispatch().
 */
unsigned int hypercall_decode(struct hc_table *t, uint64_t rax, enum x86_mode mode,
			      unsigned int cpl, struct hc_call *call, struct hc_entry **entry);
uint64_t hypercall_dispatch(struct vcpu *vcpu, struct hc_table *t, struct hc_entry *entry,
			    const struct hc_call *call);

static inline uint64_t hypercall_mask(const struct hc_call *call, uint64_t v)
{
	return call->long_mode ? v : (v & 0xffffffffull);
}

#endif /* PVHC_HYPERCALL_H */
