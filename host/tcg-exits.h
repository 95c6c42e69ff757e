/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Instructions the emulated CPU must not execute itself: RDMSR and WRMSR,
 * whose outcome pvhc's MSR model decides (host/msr.c), and a HLT directly in
 * front of one (see tcg-exits.c for why). Unicorn 2.1.1 has no hook for
 * them; its "exits" - addresses before which emulation stops - do the job
 * without costing anything on the paths that never meet them.
 *
 * The engine reports each block it translates (UC_HOOK_EDGE_GENERATED). A
 * block holding one of these instructions at an address that is not an exit
 * yet is stopped before its first instruction runs; the run loop then arms
 * the new exits, drops the stale translations and resumes, and from then on
 * the engine returns to pvhc at exactly that instruction.
 */
#ifndef PVHC_TCG_EXITS_H
#define PVHC_TCG_EXITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <unicorn/unicorn.h>

#include "guest-mem.h"
#include "x86.h"

/* At most this many addresses are armed; Unicorn revisits each one after every run. */
#define TCG_EXITS_MAX 4096
/*
 * The first non-canonical address. Unicorn 2.1.1 reports the fetch fault
 * of an instruction that runs into it at the start of that instruction's
 * block (QEMU 7.2 and hardware: at 2^47); an exit there lets pvhc deliver
 * the #GP(0) with the right RIP.
 */
#define TCG_EXIT_CANONICAL_EDGE 0x800000000000ull

struct tcg_exit_reject {
	uint64_t la;
	uint8_t len;
	uint8_t bytes[15];
};

struct tcg_exits {
	uc_engine *uc;
	uint64_t *armed;		/* sorted linear addresses Unicorn stops before */
	size_t nr_armed, cap_armed;
	uint64_t *found;		/* found in new blocks, not armed yet */
	size_t nr_found, cap_found;
	struct tcg_exit_reject *rejects;	/* looked like one, was not: never again */
	size_t nr_rejects, cap_rejects;
	bool block_seen;		/* Unicorn has reported a new block */
	bool overflow;			/* more than TCG_EXITS_MAX */
};

/* What a trapped instruction is, decoded at the stop. */
enum tcg_exit_insn {
	EXIT_INSN_OTHER, EXIT_INSN_RDMSR, EXIT_INSN_WRMSR, EXIT_INSN_HLT,
	EXIT_INSN_MOV_CR4,	/* MOV to CR4: Unicorn checks no reserved bits */
};

void tcg_exits_init(struct tcg_exits *ex, uc_engine *uc);
void tcg_exits_destroy(struct tcg_exits *ex);

/*
 * Look for trapped instructions in the size bytes at linear address la
 * (a block just translated, under the paging state s). Returns true if it
 * found any that are not armed: the block must not run before
 * tcg_exits_arm().
 */
bool tcg_exits_scan(struct tcg_exits *ex, const struct guest_mem *mem,
		    const struct x86_sregs *s, uint64_t la, size_t size);
/*
 * Unicorn never reports the first block an engine runs: until it has
 * reported one, scan from the next instruction to the end of the page after.
 */
void tcg_exits_scan_entry(struct tcg_exits *ex, const struct guest_mem *mem,
			  const struct x86_sregs *s, uint64_t la);
/*
 * Arm the canonical edge only while code can run into it: in long mode, with
 * the page below it mapped for fetching. Unicorn looks up the byte before
 * each exit after every run, and a look-up that fails writes CR2 (and, for
 * 32-bit paging, faults on an address that means nothing there).
 */
void tcg_exits_set_edge(struct tcg_exits *ex, bool armed);
/* RIP (linear) la on the page below the edge, which is not armed: arm it. */
bool tcg_exits_edge_wanted(const struct tcg_exits *ex, uint64_t la, size_t size);
/* Arm what was found and drop every translation of it; -ENOSPC past TCG_EXITS_MAX. */
int tcg_exits_arm(struct tcg_exits *ex);
bool tcg_exits_found(const struct tcg_exits *ex);
bool tcg_exits_is_armed(const struct tcg_exits *ex, uint64_t la);
/*
 * The engine stopped at armed address la, where the instruction is not one
 * of ours after all (the guest changed its code or mode): disarm it, and
 * remember its bytes so that scanning the same bytes does not arm it again.
 */
void tcg_exits_reject(struct tcg_exits *ex, uint64_t la, const uint8_t *bytes, size_t len);

/*
 * Decode the instruction in the n bytes at b (in 64-bit mode when long64):
 * one of ours, with its length, or EXIT_INSN_OTHER.
 */
enum tcg_exit_insn tcg_exit_decode(const uint8_t *b, size_t n, bool long64, unsigned int *len,
				   unsigned int *gpr);

#endif /* PVHC_TCG_EXITS_H */
