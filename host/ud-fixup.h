/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The #UD path of the emulated hosts: decide whether a trapping instruction
 * is a hypercall, and rewrite a foreign hypercall opcode to the host's
 * native one in guest-physical memory.
 */
#ifndef PVHC_UD_FIXUP_H
#define PVHC_UD_FIXUP_H

#include <stdbool.h>
#include <stdint.h>

#include "x86.h"

struct vcpu;

enum ud_outcome {
	UD_NATIVE,	/* the host's own hypercall instruction: emulate it */
	UD_REWRITTEN,	/* foreign opcode rewritten: re-execute the instruction */
	UD_INJECT,	/* deliver an exception to the guest */
};

struct ud_result {
	enum ud_outcome outcome;
	uint8_t vector;		/* UD_INJECT */
	bool has_error;
	uint32_t error;
	uint64_t la;		/* linear address of the instruction */
	uint64_t gpa[3];	/* physical address of each of its bytes */
	uint8_t bytes[3];	/* bytes as found */
	const char *why;	/* one word for traces */
};

/* Linear address of the instruction at CS:RIP. */
uint64_t ud_insn_la(const struct x86_regs *r, const struct x86_sregs *s);

/*
 * Decide what the #UD at CS:RIP is and, for a foreign hypercall, rewrite it.
 * The rewrite happens only if every byte translates and lies in RAM, and
 * writes all three bytes while no other vCPU runs (the scheduler guarantees
 * that), so no vCPU can see a torn instruction; the caller must still drop
 * every translated copy of [la, la + 3) before the guest runs again.
 */
void ud_fixup(struct vcpu *vcpu, const struct x86_regs *r, const struct x86_sregs *s,
	      struct ud_result *res);

#endif /* PVHC_UD_FIXUP_H */
