/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The part of a Unicorn vCPU's state that its API cannot reach: segment
 * hidden state (base, limit, attributes), CPL and the pending exception's
 * error code. In 64-bit mode uc_reg_write() of CS/SS/DS/ES sets the selector
 * alone, so pvhc edits them in a saved uc_context and restores it. The
 * offsets are facts about QEMU 5.0's CPUX86State, the CPU Unicorn 2.1 runs;
 * tcg_state_init() proves them against the engine before anything relies on
 * them and refuses to run on a build where they do not hold.
 */
#ifndef PVHC_TCG_STATE_H
#define PVHC_TCG_STATE_H

#include <unicorn/unicorn.h>

#include "x86.h"

struct tcg_state {
	uc_engine *uc;
	uc_context *ctx;	/* scratch context, reused for every edit */
	char *env;		/* the saved CPUX86State inside ctx */
	size_t env_size;
	/*
	 * IA32_APIC_BASE. Unicorn's CPU has no local APIC and reads the MSR
	 * as 0, so the value is kept here, where migration finds it.
	 */
	uint64_t apic_base;
	/*
	 * PDPTE registers that arrived with the state (from KVM): QEMU's TCG
	 * reads PDPTEs from memory on every walk and keeps none, so they are
	 * kept here and given back while CR3 stays the one they were loaded
	 * with, as a PAE CPU holds them until CR3 is loaded again.
	 */
	bool pdptrs_valid;
	uint64_t pdptrs[4], pdptrs_cr3;
};

/* Allocate the scratch context and validate the layout; -errno and a message in err on failure. */
int tcg_state_init(struct tcg_state *ts, uc_engine *uc, char *err, size_t errlen);
void tcg_state_destroy(struct tcg_state *ts);

int tcg_state_get_sregs(struct tcg_state *ts, struct x86_sregs *s);
/* Load CRs, EFER, descriptor tables and segments with their hidden state. */
int tcg_state_set_sregs(struct tcg_state *ts, const struct x86_sregs *s);

/*
 * The exception has been delivered (by pvhc): QEMU's do_interrupt would
 * clear its record of the exception in flight, which it uses to turn a
 * second fault into #DF; Unicorn never calls it.
 */
int tcg_exception_done(struct tcg_state *ts);

/*
 * The whole saved CPU state (QEMU's CPUX86State up to its reset boundary),
 * for migrating between pvhc processes with the same Unicorn build: it
 * includes everything, hidden state, FPU, MSRs and QEMU's own flags. Host
 * pointers inside it (the DR0-3 breakpoint objects) are cleared.
 */
size_t tcg_state_save_blob(struct tcg_state *ts, void *buf, size_t cap);
int tcg_state_load_blob(struct tcg_state *ts, const void *buf, size_t len);

/* The one-instruction interrupt shadow after STI or MOV SS is active. */
bool tcg_state_interrupt_shadow(struct tcg_state *ts);
/*
 * The CPU model's NMI mask (QEMU's HF2_NMI_MASK), which its IRET clears:
 * pvhc sets it when it delivers an NMI and watches it to see the IRET.
 */
bool tcg_state_nmi_masked(struct tcg_state *ts);
int tcg_state_set_nmi_masked(struct tcg_state *ts, bool masked);

/* Error code and "software interrupt" flag of the exception being raised now. */
void tcg_exception_info(struct tcg_state *ts, uint32_t *error_code, bool *is_int);

#endif /* PVHC_TCG_STATE_H */
