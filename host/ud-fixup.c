// SPDX-License-Identifier: GPL-2.0-only
/*
 * Decode and rewrite; see ud-fixup.h. Upstream KVM's rules, with its rewrite
 * defects fixed:
 *  - only the exact bytes 0f 01 c1 (VMCALL) and 0f 01 d9 (VMMCALL) are
 *    hypercalls; prefixes or any other instruction -> #UD;
 *  - VMCALL is privileged in KVM's emulator: at CPL > 0 -> #GP(0), no patch;
 *  - VMMCALL is protected-mode only: in real or virtual-8086 mode -> #UD;
 *  - with the FIX_HYPERCALL_INSN quirk disabled the foreign opcode -> #UD;
 *  - the bytes are written through guest-PHYSICAL addresses (upstream writes
 *    through guest-virtual memory with permission checks, so read-only text
 *    gets #PF), all three at once even when they straddle two pages
 *    (upstream may write the two pieces separately).
 */
#include <errno.h>
#include <string.h>

#include <pvhc/hypercall.h>

#include "guest-pt.h"
#include "stats.h"
#include "ud-fixup.h"
#include "vm.h"

uint64_t ud_insn_la(const struct x86_regs *r, const struct x86_sregs *s)
{
	enum x86_mode mode = x86_mode_of(s, r->rflags);

	if (mode == X86_MODE_LONG64)
		return r->rip;
	return (s->seg[SEG_CS].base + r->rip) & 0xffffffffull;
}

static void inject(struct ud_result *res, uint8_t vector, bool has_error, const char *why)
{
	res->outcome = UD_INJECT;
	res->vector = vector;
	res->has_error = has_error;
	res->error = 0;
	res->why = why;
}

void ud_fixup(struct vcpu *vcpu, const struct x86_regs *r, const struct x86_sregs *s,
	      struct ud_result *res)
{
	struct vm *vm = vcpu->vm;
	enum x86_mode mode = x86_mode_of(s, r->rflags);
	unsigned int cpl = x86_cpl_of(s, r->rflags);
	unsigned int access = MMU_FETCH | (cpl == 3 ? MMU_USER : 0);
	uint32_t pf_error;
	struct site_stats *site;
	uint8_t *host2;
	int i;

	memset(res, 0, sizeof(*res));
	res->la = ud_insn_la(r, s);
	/*
	 * Translate each byte: an instruction may straddle two pages whose
	 * frames are unrelated. The CPU has just fetched these bytes, so a
	 * failure here means the guest changed its page tables under the
	 * instruction; treat it as an ordinary invalid opcode.
	 */
	for (i = 0; i < PVHC_HYPERCALL_LEN; i++) {
		uint64_t gpa;
		const uint8_t *p;

		if (guest_pt_translate(&vm->mem, s, res->la + (uint64_t)i, access, &gpa, &pf_error) ||
		    !(p = gpa_ptr(&vm->mem, gpa, 1))) {
			inject(res, X86_UD, false, "unfetchable");
			return;
		}
		res->bytes[i] = *p;
		res->gpa[i] = gpa;
	}
	if (res->bytes[0] != PVHC_VMCALL_B0 || res->bytes[1] != PVHC_VMCALL_B1 ||
	    (res->bytes[2] != PVHC_VMCALL_B2 && res->bytes[2] != PVHC_VMMCALL_B2)) {
		inject(res, X86_UD, false, "not-a-hypercall");
		return;
	}
	if (res->bytes[2] == vm->vendor->native_opcode) {
		res->outcome = UD_NATIVE;
		res->why = "native";
		return;
	}

	/* A foreign hypercall opcode: on real hardware this is the #UD KVM traps. */
	vm->stats.ud_traps++;
	site = stats_site(&vm->stats, res->la, res->bytes[2]);
	if (site)
		site->ud_traps++;
	if (res->bytes[2] == PVHC_VMCALL_B2 && cpl > 0) {
		inject(res, X86_GP, true, "vmcall-cpl>0");
		return;
	}
	if (res->bytes[2] == PVHC_VMMCALL_B2 &&
	    (mode == X86_MODE_REAL || mode == X86_MODE_VM86)) {
		inject(res, X86_UD, false, "vmmcall-real-mode");
		return;
	}
	if (!vm->cfg.fix_hypercall) {
		inject(res, X86_UD, false, "fix-hypercall-off");
		return;
	}

	host2 = gpa_ptr(&vm->mem, res->gpa[2], 1);
	/*
	 * Only the third byte differs between the two opcodes, and it is
	 * written with one store: whichever page it is on, no observer can see
	 * a mix of old and new instruction bytes.
	 */
	host2[0] = vm->vendor->native_opcode;
	vm->stats.rewrites++;
	if (site) {
		site->rewrites++;
		site->opcode = vm->vendor->native_opcode;
	}
	stats_add_rewrite(&vm->stats, &(struct rewrite_record){
		.gva = res->la,
		.gpa = { res->gpa[0], res->gpa[2] },
		.old_opcode = res->bytes[2],
		.new_opcode = vm->vendor->native_opcode,
		.vcpu = vcpu->id,
		.host = vm->vendor->name,
	});
	res->outcome = UD_REWRITTEN;
	res->why = "rewrite";
}
