// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "tcg" backend: emulated Intel and AMD hosts on Unicorn. Here pvhc is
 * the hypervisor. Unicorn treats both hypercall instructions as invalid, so
 * every hypercall first arrives as #UD in tcg_on_invalid(); from there the
 * path is: ud_fixup() decides (native / rewrite / inject), native hypercalls
 * go to hypercall_emulate() and RAX, RIP += 3.
 *
 * Stopping and restarting emulation costs microseconds, so a native site is
 * "learned" the first time: a code hook on exactly that address emulates
 * later calls without leaving the emulator (tcg_site_hook()).
 *
 * Exceptions are never delivered by Unicorn through the guest IDT; the host
 * builds the frame (exception.c) and loads the handler state (tcg-state.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include <pvhc/hypercall.h>

#include "cpu.h"
#include "dev/lapic.h"
#include "exception.h"
#include "guest-pt.h"
#include "msr.h"
#include "stats.h"
#include "tcg-exits.h"
#include "tcg-state.h"
#include "ud-fixup.h"
#include "vm.h"

/*
 * Unicorn calls every code hook's bounds check for each hooked instruction,
 * so the fast path costs a few ns per learned site: keep only the most
 * recently used sites hooked. The others take the #UD path (~0.7 us).
 */
#define TCG_FAST_SITES 8

#define unlikely(x) __builtin_expect(!!(x), 0)
/*
 * A hooked site is replaced only after this many hypercalls on other hooked
 * sites: re-hooking costs a retranslation (~10 us), so a guest cycling over
 * more hot sites than there are slots keeps the first ones hooked and pays
 * the #UD path for the rest instead of thrashing.
 */
#define TCG_SITE_IDLE 4096
/* Deleted hooks stay in Unicorn's list until emulation restarts. */
#define TCG_DEAD_SITES_MAX 32
/*
 * With several vCPUs each runs for this many translated blocks (about
 * 50-150 us) before the next one gets its turn; a switch costs about 5 us.
 */
#define TCG_SLICE_BLOCKS 8192
/*
 * Unicorn's translated-code buffer per vCPU (its default is 1 GiB). pvhc's
 * guests translate about 2 MiB; a full buffer is flushed and refilled (see
 * tcg_vcpu_init()). Unicorn 2.1.1 commits the whole buffer at a flush, so
 * VMs with many vCPUs get smaller ones: 32 MiB in all, at least 4 MiB each.
 */
#define TCG_CODE_BUFFER_TOTAL	(32u << 20)
#define TCG_CODE_BUFFER_MIN	(4u << 20)

/* A native hypercall site that has the in-emulation fast path. */
struct tcg_site {
	struct vcpu *vcpu;
	uint64_t la;		/* linear address, what the code hook sees */
	uint64_t cs_base;
	uint16_t cs;		/* CS selector it was learned with: same mode and CPL */
	enum x86_mode mode;
	unsigned int cpl;
	uint64_t cr3;
	uint8_t *byte[3];	/* host pointers to its bytes (pages may differ) */
	struct site_stats *stats;
	uint64_t last_use;	/* for choosing which site to unhook */
	uc_hook hook;
};

struct tcg_vcpu {
	uc_engine *uc;
	struct tcg_state ts;
	struct tcg_exits exits;	/* RDMSR, WRMSR and the HLTs before them */
	bool exits_stop;	/* stopped before a block holding new ones */
	bool edge_hit;		/* ... or before code running into the canonical edge */
	bool pf_delivered;	/* a #PF was delivered in this run ... */
	uint64_t pf_cr2;	/* ... with this CR2 */
	bool ud_consumed;	/* the INTR hook's vector 6 after INSN_INVALID handled it */
	volatile bool stop_requested;
	volatile enum vcpu_exit stop_exit;
	/*
	 * A stop asked for where stopping is not safe (another thread, or a
	 * helper in the middle of a block): taken at the next block start.
	 */
	volatile bool stop_deferred;
	volatile enum vcpu_exit deferred_exit;
	bool block_hook;	/* tcg_on_block() is installed: deferred stops work */
	unsigned int timer_checks;	/* blocks run while the APIC timer is armed */
	uint32_t slice_left;	/* blocks left in this turn; 0: no slices (one vCPU) */
	bool has_run;		/* the engine has translated code (worth invalidating) */
	uc_hook insn_counter;	/* --migrate-at-insn: counts every instruction */
	uint64_t insns;
	struct tcg_site *sites[TCG_FAST_SITES];
	unsigned int nr_sites;
	uint64_t use_clock;
	struct tcg_site *dead[TCG_DEAD_SITES_MAX];	/* unhooked, freed after emulation stops */
	unsigned int nr_dead;
};

static const int gpr_ids[GPR_COUNT] = {
	UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
	UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
	UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
	UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
};

static struct tcg_vcpu *tv(struct vcpu *vcpu)
{
	return vcpu->backend;
}

static int tcg_get_regs(struct vcpu *vcpu, struct x86_regs *r)
{
	int ids[GPR_COUNT + 2];
	void *vals[GPR_COUNT + 2];
	int i;

	for (i = 0; i < GPR_COUNT; i++) {
		ids[i] = gpr_ids[i];
		vals[i] = &r->gpr[i];
	}
	ids[GPR_COUNT] = UC_X86_REG_RIP;
	vals[GPR_COUNT] = &r->rip;
	ids[GPR_COUNT + 1] = UC_X86_REG_RFLAGS;
	vals[GPR_COUNT + 1] = &r->rflags;
	return uc_reg_read_batch(tv(vcpu)->uc, ids, vals, GPR_COUNT + 2) ? -EIO : 0;
}

static int tcg_set_regs(struct vcpu *vcpu, const struct x86_regs *r)
{
	int ids[GPR_COUNT + 2];
	void *vals[GPR_COUNT + 2];
	struct x86_regs copy = *r;
	int i;

	for (i = 0; i < GPR_COUNT; i++) {
		ids[i] = gpr_ids[i];
		vals[i] = &copy.gpr[i];
	}
	ids[GPR_COUNT] = UC_X86_REG_RIP;
	vals[GPR_COUNT] = &copy.rip;
	ids[GPR_COUNT + 1] = UC_X86_REG_RFLAGS;
	vals[GPR_COUNT + 1] = &copy.rflags;
	return uc_reg_write_batch(tv(vcpu)->uc, ids, vals, GPR_COUNT + 2) ? -EIO : 0;
}

/* IA32_APIC_BASE lives with the local APIC: Unicorn's reads as 0 whatever is written. */
static int tcg_get_sregs(struct vcpu *vcpu, struct x86_sregs *s)
{
	int ret = tcg_state_get_sregs(&tv(vcpu)->ts, s);

	if (!ret)
		s->apic_base = vcpu->lapic.apic_base;
	return ret;
}

static int tcg_set_sregs(struct vcpu *vcpu, const struct x86_sregs *s)
{
	vcpu->lapic.apic_base = s->apic_base;
	return tcg_state_set_sregs(&tv(vcpu)->ts, s);
}

static int tcg_get_fpu(struct vcpu *vcpu, struct x86_fpu *f)
{
	uc_engine *uc = tv(vcpu)->uc;
	uint64_t fip = 0, fdp = 0;
	uint32_t mxcsr = 0;
	int i, err = 0;

	memset(f, 0, sizeof(*f));
	err |= uc_reg_read(uc, UC_X86_REG_FPCW, &f->fcw);
	err |= uc_reg_read(uc, UC_X86_REG_FPSW, &f->fsw);
	err |= uc_reg_read(uc, UC_X86_REG_FPTAG, &f->ftw);
	err |= uc_reg_read(uc, UC_X86_REG_FOP, &f->fop);
	err |= uc_reg_read(uc, UC_X86_REG_FIP, &fip);
	err |= uc_reg_read(uc, UC_X86_REG_FDP, &fdp);
	err |= uc_reg_read(uc, UC_X86_REG_MXCSR, &mxcsr);
	for (i = 0; i < 8; i++)
		err |= uc_reg_read(uc, UC_X86_REG_ST0 + i, f->st[i]);
	for (i = 0; i < 16; i++)
		err |= uc_reg_read(uc, i < 8 ? UC_X86_REG_XMM0 + i : UC_X86_REG_XMM8 + i - 8,
				   f->xmm[i]);
	f->fip = fip;
	f->fdp = fdp;
	f->mxcsr = mxcsr;
	return err ? -EIO : 0;
}

static int tcg_set_fpu(struct vcpu *vcpu, const struct x86_fpu *f)
{
	uc_engine *uc = tv(vcpu)->uc;
	struct x86_fpu c = *f;
	int i, err = 0;

	err |= uc_reg_write(uc, UC_X86_REG_FPCW, &c.fcw);
	err |= uc_reg_write(uc, UC_X86_REG_FPSW, &c.fsw);	/* also sets TOP, so ST(i) below land right */
	err |= uc_reg_write(uc, UC_X86_REG_FPTAG, &c.ftw);
	err |= uc_reg_write(uc, UC_X86_REG_FOP, &c.fop);
	err |= uc_reg_write(uc, UC_X86_REG_FIP, &c.fip);
	err |= uc_reg_write(uc, UC_X86_REG_FDP, &c.fdp);
	err |= uc_reg_write(uc, UC_X86_REG_MXCSR, &c.mxcsr);
	for (i = 0; i < 8; i++)
		err |= uc_reg_write(uc, UC_X86_REG_ST0 + i, c.st[i]);
	for (i = 0; i < 16; i++)
		err |= uc_reg_write(uc, i < 8 ? UC_X86_REG_XMM0 + i : UC_X86_REG_XMM8 + i - 8,
				    c.xmm[i]);
	return err ? -EIO : 0;
}

static int tcg_get_msrs(struct vcpu *vcpu, struct x86_msrs *m)
{
	unsigned int i;

	m->nr = x86_nr_saved_msrs;
	for (i = 0; i < x86_nr_saved_msrs; i++) {
		uc_x86_msr msr = { .rid = x86_saved_msrs[i] };

		if (uc_reg_read(tv(vcpu)->uc, UC_X86_REG_MSR, &msr))
			return -EIO;
		m->e[i].index = msr.rid;
		m->e[i].value = msr.value;
	}
	return 0;
}

static int tcg_set_msrs(struct vcpu *vcpu, const struct x86_msrs *m)
{
	uint32_t i;

	for (i = 0; i < m->nr && i < X86_MAX_MSRS; i++) {
		uc_x86_msr msr = { .rid = m->e[i].index, .value = m->e[i].value };

		if (uc_reg_write(tv(vcpu)->uc, UC_X86_REG_MSR, &msr))
			return -EIO;
	}
	return 0;
}

static int tcg_read_msr(struct vcpu *vcpu, uint32_t index, uint64_t *value)
{
	uc_x86_msr msr = { .rid = index };

	if (uc_reg_read(tv(vcpu)->uc, UC_X86_REG_MSR, &msr))
		return -EIO;
	*value = msr.value;
	return 0;
}

static int tcg_write_msr(struct vcpu *vcpu, uint32_t index, uint64_t value)
{
	uc_x86_msr msr = { .rid = index, .value = value };

	return uc_reg_write(tv(vcpu)->uc, UC_X86_REG_MSR, &msr) ? -EIO : 0;
}

static size_t tcg_get_blob(struct vcpu *vcpu, void *buf, size_t cap)
{
	uint64_t rflags;

	/*
	 * QEMU keeps arithmetic flags lazily (cc_op, cc_src); writing RFLAGS
	 * back puts them in their one canonical form, so equal CPU states give
	 * equal blobs.
	 */
	uc_reg_read(tv(vcpu)->uc, UC_X86_REG_RFLAGS, &rflags);
	uc_reg_write(tv(vcpu)->uc, UC_X86_REG_RFLAGS, &rflags);
	return tcg_state_save_blob(&tv(vcpu)->ts, buf, cap);
}

static int tcg_set_blob(struct vcpu *vcpu, const void *buf, size_t len)
{
	return tcg_state_load_blob(&tv(vcpu)->ts, buf, len);
}

/*
 * Stopping Unicorn 2.1.1 is only safe at an instruction boundary it knows:
 * it checks for exit requests after every guest memory access, so a stop
 * that arrives in the middle of a block leaves after some of the block's
 * instructions ran, with RIP put back to the block's start (or not synced
 * at all when code hooks exist). The next run would execute them twice.
 *
 * tcg_stop() is for hooks that run at a boundary: the exception hooks and
 * code hooks. Everything else - other threads, I/O helpers - uses
 * tcg_defer_stop(), which the block hook turns into a stop before the next
 * block's first instruction.
 */
static void tcg_stop(struct vcpu *vcpu, enum vcpu_exit exit)
{
	struct tcg_vcpu *t = tv(vcpu);

	t->stop_requested = true;
	t->stop_exit = exit;
	uc_emu_stop(t->uc);
}

static void tcg_defer_stop(struct vcpu *vcpu, enum vcpu_exit exit)
{
	struct tcg_vcpu *t = tv(vcpu);

	/*
	 * The block hook costs about 10 ns per block, so it exists only in VMs
	 * that can be paused and resumed (migration, monitor) or have several
	 * vCPUs. In the others a stop is only ever final (exit, crash,
	 * timeout), where a half-run block does not matter: stop at once.
	 */
	if (!t->block_hook) {
		tcg_stop(vcpu, exit);
		return;
	}
	t->deferred_exit = exit;
	t->stop_deferred = true;
}

/* From any thread: make run() return soon (it then reports AGAIN). */
static void tcg_kick(struct vcpu *vcpu)
{
	tcg_defer_stop(vcpu, VCPU_EXIT_AGAIN);
}

static bool tcg_irq_window_open(struct tcg_vcpu *t)
{
	uint64_t rflags = 0;

	uc_reg_read(t->uc, UC_X86_REG_EFLAGS, &rflags);
	return (rflags & X86_RFLAGS_IF) && !tcg_state_interrupt_shadow(&t->ts);
}

/*
 * At the start of every block, before its first instruction: take a
 * deferred stop. RIP is set here because Unicorn does not sync it when it
 * leaves at a block start while any code hook exists.
 */
static void tcg_on_block(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
	struct vcpu *vcpu = user;
	struct tcg_vcpu *t = tv(vcpu);
	struct x86_sregs s;
	uint64_t rip;

	/* End of this vCPU's turn: let the scheduler run the next one. */
	if (t->slice_left && --t->slice_left == 0 && !t->stop_deferred) {
		t->deferred_exit = VCPU_EXIT_PREEMPT;
		t->stop_deferred = true;
	}
	/*
	 * An interrupt waits for IF: take it at the first block that starts
	 * with IF set and no STI shadow. (Unicorn ends a block after STI and
	 * after the instruction in its shadow, so `sti; nop; cli` has one.)
	 */
	if (vcpu->irq_window_wanted && !t->stop_deferred && tcg_irq_window_open(t)) {
		t->deferred_exit = VCPU_EXIT_AGAIN;
		t->stop_deferred = true;
	}
	/* The local APIC timer expired (the clock is read every 64 blocks: ~1 us late). */
	if (vcpu->lapic.timer_deadline_ns && !t->stop_deferred && !(++t->timer_checks & 63) &&
	    lapic_now_ns() >= vcpu->lapic.timer_deadline_ns) {
		t->deferred_exit = VCPU_EXIT_AGAIN;
		t->stop_deferred = true;
	}
	/* An IRET ended the NMI handler (the CPU model clears its NMI mask there). */
	if (vcpu->lapic.nmi_blocked && !tcg_state_nmi_masked(&t->ts)) {
		vcpu->lapic.nmi_blocked = 0;
		if (vcpu->lapic.nmi_pending && !t->stop_deferred) {
			t->deferred_exit = VCPU_EXIT_AGAIN;
			t->stop_deferred = true;
		}
	}
	if (!t->stop_deferred)
		return;
	t->stop_deferred = false;
	if (tcg_state_get_sregs(&t->ts, &s) == 0) {
		rip = address - s.seg[SEG_CS].base;
		if (x86_mode_of(&s, 0) != X86_MODE_LONG64)
			rip &= 0xffffffffull;
		uc_reg_write(uc, UC_X86_REG_RIP, &rip);
	}
	tcg_stop(vcpu, t->deferred_exit);
}

/* Drop every translation of [la, la + len), page by page (frames may differ). */
static void tcg_invalidate(struct tcg_vcpu *t, uint64_t la, uint64_t len)
{
	while (len) {
		uint64_t chunk = 0x1000 - (la & 0xfff);

		if (chunk > len)
			chunk = len;
		uc_ctl_remove_cache(t->uc, la, la + chunk);
		la += chunk;
		len -= chunk;
	}
}

/*
 * The host rewrote guest code at la: no vCPU may run a translation of the
 * old bytes. Engines that share the rewriting vCPU's address space (paging
 * mode and CR3) drop the translations of exactly those bytes; any other
 * engine drops all of its translations, since la may mean another frame
 * there. The other engines are not running (smp.h), so this is safe.
 */
static void tcg_invalidate_everywhere(struct vcpu *self, uint64_t la, uint64_t len)
{
	struct vm *vm = self->vm;
	uint64_t cr0 = 0, cr3 = 0, ocr0, ocr3;
	unsigned int i;

	uc_reg_read(tv(self)->uc, UC_X86_REG_CR0, &cr0);
	uc_reg_read(tv(self)->uc, UC_X86_REG_CR3, &cr3);
	for (i = 0; i < vm->nr_vcpus; i++) {
		struct tcg_vcpu *t = tv(vm->vcpus[i]);

		if (vm->vcpus[i] == self) {
			tcg_invalidate(t, la, len);
			continue;
		}
		if (!t->has_run)
			continue;
		ocr0 = ocr3 = 0;
		uc_reg_read(t->uc, UC_X86_REG_CR0, &ocr0);
		uc_reg_read(t->uc, UC_X86_REG_CR3, &ocr3);
		if (((ocr0 ^ cr0) & X86_CR0_PG) == 0 && (!(cr0 & X86_CR0_PG) || ocr3 == cr3))
			tcg_invalidate(t, la, len);
		else
			uc_ctl_flush_tb(t->uc);
	}
}

/*
 * The length of the INT3, INTO or INT n that ends at RIP (Unicorn reports a
 * software interrupt with RIP past it): CC, CE or CD ib, found by looking at
 * the bytes before RIP. Prefixes in front of INT n are not counted.
 */
static unsigned int soft_int_len(struct vcpu *vcpu, const struct x86_regs *r,
				 const struct x86_sregs *s, uint8_t vector)
{
	uint64_t la = s->seg[SEG_CS].base + r->rip, fault_la;
	uint8_t b[2] = { 0, 0 };
	uint32_t pf;

	guest_pt_read(&vcpu->vm->mem, s, la - 2, b, 2, MMU_READ, &fault_la, &pf);
	if ((vector == X86_BP && b[1] == 0xcc) || (vector == X86_OF && b[1] == 0xce))
		return 1;
	return b[0] == 0xcd && b[1] == vector ? 2 : 0;
}

/*
 * Deliver an exception. A fault raised by the delivery itself (an absent
 * gate or code segment, ...) is delivered in its place or turned into #DF
 * by the double-fault rules, and a fault while delivering #DF is a triple
 * fault. The guest may crash itself; the host carries on.
 */
static void tcg_deliver(struct vcpu *vcpu, const struct x86_event *ev)
{
	struct vm *vm = vcpu->vm;
	struct x86_regs r, r0;
	struct x86_sregs s, s0;
	struct x86_event cur = *ev, fault;
	char why[160], first_why[160] = "";

	if (tcg_get_regs(vcpu, &r0) || tcg_get_sregs(vcpu, &s0)) {
		vm_request_exit(vm, VM_FAILED, 0, "cannot read vCPU %u state", vcpu->id);
		tcg_stop(vcpu, VCPU_EXIT_STOP);
		return;
	}
	if (ev->vector == X86_PF) {
		tv(vcpu)->pf_delivered = true;
		tv(vcpu)->pf_cr2 = s0.cr2;
	}
	for (;;) {
		/* A #PF raised by the delivery: CR2 as the CPU sets it. */
		if (cur.vector == X86_PF && first_why[0]) {
			s0.cr2 = cur.cr2;
			tv(vcpu)->pf_delivered = true;
			tv(vcpu)->pf_cr2 = cur.cr2;
		}
		if (cur.vector < 32)
			vm->stats.exceptions[cur.vector]++;
		else
			vm->stats.exceptions_other++;
		trace_exception(vm, vcpu->id, r0.rip, cur.vector, cur.error, cur.has_error);
		r = r0;
		s = s0;
		if (!x86_deliver_event(&vm->mem, &r, &s, &cur, &fault, why, sizeof(why)))
			break;
		if (!first_why[0]) {
			snprintf(first_why, sizeof(first_why), "%s", why);
			/* A fault: its RIP is the INT instruction's, not the return address. */
			if (ev->soft)
				r0.rip -= soft_int_len(vcpu, &r0, &s0, ev->vector);
		}
		/* Each step climbs benign -> contributory -> #DF -> triple: it ends. */
		if (!x86_next_event(&cur, &fault, &cur)) {
			vm_request_exit(vm, VM_CRASHED, 0,
					"triple fault: vector %u (error 0x%x) at RIP 0x%" PRIx64
					" could not be delivered: %s", ev->vector, ev->error,
					r0.rip, first_why);
			tcg_stop(vcpu, VCPU_EXIT_STOP);
			return;
		}
	}
	if (tcg_set_sregs(vcpu, &s) || tcg_set_regs(vcpu, &r) ||
	    tcg_exception_done(&tv(vcpu)->ts)) {
		vm_request_exit(vm, VM_FAILED, 0, "cannot load vCPU %u state", vcpu->id);
		tcg_stop(vcpu, VCPU_EXIT_STOP);
	}
}

/* RIP + len, wrapping at the width of the code segment. */
static uint64_t rip_advance(enum x86_mode mode, uint64_t rip, unsigned int len)
{
	rip += len;
	switch (mode) {
	case X86_MODE_LONG64:
		return rip;
	case X86_MODE_PROT32:
	case X86_MODE_COMPAT:
		return rip & 0xffffffffull;
	default:
		return rip & 0xffffull;
	}
}

/* The fast path: a learned native site, emulated without leaving the emulator. */
static void tcg_site_hook(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
	static const int ids[] = { UC_X86_REG_RAX, UC_X86_REG_CS, UC_X86_REG_CR3 };
	static const int arg_ids[4] = {
		UC_X86_REG_RBX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RSI,
	};
	static const int out_ids[] = { UC_X86_REG_RAX, UC_X86_REG_RIP };
	struct tcg_site *site = user;
	struct vcpu *vcpu = site->vcpu;
	struct vm *vm = vcpu->vm;
	uint64_t rax = 0, cr3 = 0, rip, ret, args[4];
	uint16_t cs = 0;
	void *vals[] = { &rax, &cs, &cr3 };
	void *arg_vals[] = { &args[0], &args[1], &args[2], &args[3] };
	void *out_vals[] = { &ret, &rip };
	struct hc_entry *entry;
	struct hc_call call;
	unsigned int nargs, i;

	/*
	 * Take the fast path only when it is certainly the same instruction in
	 * the same mode: the bytes in memory are still the host's native
	 * hypercall, in the same address space and code segment. Anything
	 * else falls through: the instruction executes, raises #UD and the
	 * slow path decides from scratch.
	 */
	if (*site->byte[0] != PVHC_VMCALL_B0 || *site->byte[1] != PVHC_VMCALL_B1 ||
	    *site->byte[2] != vm->vendor->native_opcode)
		return;
	uc_reg_read_batch(uc, (int *)ids, vals, 3);
	if (cs != site->cs || cr3 != site->cr3)
		return;
	/* Each register read costs several ns: read only the arguments the handler uses. */
	nargs = hypercall_decode(&vm->hc, rax, site->mode, site->cpl, &call, &entry);
	if (vm->trace)
		nargs = 4;
	uc_reg_read_batch(uc, (int *)arg_ids, arg_vals, (int)nargs);
	for (i = 0; i < nargs; i++)
		call.a[i] = hypercall_mask(&call, args[i]);
	ret = hypercall_dispatch(vcpu, &vm->hc, entry, &call);
	vm->stats.hypercalls++;
	site->stats->hypercalls++;
	site->last_use = ++tv(vcpu)->use_clock;
	/* The hook's address is linear; RIP is relative to CS. */
	rip = address - site->cs_base;
	if (unlikely(vm->trace))
		trace_hypercall(vm, vcpu->id, rip, x86_mode_name(site->mode), &call, ret, true);
	rip = rip_advance(site->mode, rip, PVHC_HYPERCALL_LEN);
	uc_reg_write_batch(uc, (int *)out_ids, out_vals, 2);
	if (vcpu->yield_requested)
		tcg_stop(vcpu, VCPU_EXIT_YIELD);
}

/*
 * Unhook the least recently used site to make room, if it has gone idle.
 * Unicorn drops the
 * translations that call its hook; the struct lives until emulation stops.
 */
static bool tcg_evict_site(struct vcpu *vcpu, unsigned int *slot)
{
	struct tcg_vcpu *t = tv(vcpu);
	unsigned int i, lru = 0;

	if (t->nr_dead == TCG_DEAD_SITES_MAX)
		return false;
	for (i = 1; i < t->nr_sites; i++)
		if (t->sites[i]->last_use < t->sites[lru]->last_use)
			lru = i;
	if (t->use_clock - t->sites[lru]->last_use < TCG_SITE_IDLE)
		return false;
	uc_hook_del(t->uc, t->sites[lru]->hook);
	t->dead[t->nr_dead++] = t->sites[lru];
	if (t->nr_dead == TCG_DEAD_SITES_MAX)
		tcg_stop(vcpu, VCPU_EXIT_AGAIN);	/* let Unicorn free its dead hooks */
	*slot = lru;
	return true;
}

static void tcg_learn_site(struct vcpu *vcpu, const struct ud_result *res,
			   const struct x86_regs *r, const struct x86_sregs *s)
{
	struct tcg_vcpu *t = tv(vcpu);
	struct tcg_site *site = NULL;
	unsigned int i, slot = t->nr_sites;

	for (i = 0; i < t->nr_sites; i++)
		if (t->sites[i]->la == res->la)
			site = t->sites[i];
	if (!site) {
		struct site_stats *st = stats_site(&vcpu->vm->stats, res->la, res->bytes[2]);

		if (!st || (t->nr_sites == TCG_FAST_SITES && !tcg_evict_site(vcpu, &slot)))
			return;	/* the #UD path still serves this site correctly */
		site = calloc(1, sizeof(*site));
		if (!site)
			return;
		site->stats = st;
		site->vcpu = vcpu;
		site->la = res->la;
		if (uc_hook_add(t->uc, &site->hook, UC_HOOK_CODE, tcg_site_hook, site, res->la,
				res->la) != UC_ERR_OK) {
			free(site);
			if (slot < t->nr_sites)
				t->sites[slot] = t->sites[--t->nr_sites];
			return;
		}
		t->sites[slot] = site;
		if (slot == t->nr_sites)
			t->nr_sites++;
		vcpu->vm->stats.sites_learned++;
		/* The block holding the site must be translated again to call the hook. */
		tcg_invalidate(t, res->la, PVHC_HYPERCALL_LEN);
	}
	site->last_use = ++t->use_clock;
	site->cs = s->seg[SEG_CS].selector;
	site->cs_base = s->seg[SEG_CS].base;
	site->mode = x86_mode_of(s, r->rflags);
	site->cpl = x86_cpl_of(s, r->rflags);
	site->cr3 = s->cr3;
	for (i = 0; i < PVHC_HYPERCALL_LEN; i++)
		site->byte[i] = gpa_ptr(&vcpu->vm->mem, res->gpa[i], 1);
}

/* A native hypercall on the slow path: emulate, then learn the site. */
static void tcg_native_hypercall(struct vcpu *vcpu, const struct ud_result *res,
				 struct x86_regs *r, const struct x86_sregs *s)
{
	struct vm *vm = vcpu->vm;
	enum x86_mode mode = x86_mode_of(s, r->rflags);
	uint64_t regs[5] = { r->gpr[GPR_RAX], r->gpr[GPR_RBX], r->gpr[GPR_RCX],
			     r->gpr[GPR_RDX], r->gpr[GPR_RSI] };
	struct hc_call call;
	uint64_t ret, rip;

	struct site_stats *st = stats_site(&vm->stats, res->la, res->bytes[2]);

	ret = hypercall_emulate(vcpu, &vm->hc, regs, mode, x86_cpl_of(s, r->rflags), &call);
	vm->stats.hypercalls++;
	vm->stats.slow_hypercalls++;
	if (st) {
		st->hypercalls++;
		st->opcode = res->bytes[2];
	}
	trace_hypercall(vm, vcpu->id, r->rip, x86_mode_name(mode), &call, ret, false);
	rip = rip_advance(mode, r->rip, PVHC_HYPERCALL_LEN);
	tv(vcpu)->use_clock++;	/* hooked sites age while others run, too */
	uc_reg_write(tv(vcpu)->uc, UC_X86_REG_RAX, &ret);
	uc_reg_write(tv(vcpu)->uc, UC_X86_REG_RIP, &rip);
	tcg_learn_site(vcpu, res, r, s);
	if (vcpu->yield_requested)
		tcg_stop(vcpu, VCPU_EXIT_YIELD);
}

static void tcg_inject_gp(struct vcpu *vcpu)
{
	tcg_deliver(vcpu, &(struct x86_event){ .vector = X86_GP, .has_error = true, .error = 0 });
}

/* RDPMC, which Unicorn's CPU model leaves undefined (#UD): host/msr.c's counters. */
static void tcg_emulate_rdpmc(struct vcpu *vcpu, struct x86_regs *r, const struct x86_sregs *s)
{
	uint64_t value;

	if (msr_rdpmc(vcpu, s, x86_cpl_of(s, r->rflags), (uint32_t)r->gpr[GPR_RCX], &value)) {
		tcg_inject_gp(vcpu);
		return;
	}
	r->gpr[GPR_RAX] = (uint32_t)value;
	r->gpr[GPR_RDX] = value >> 32;
	r->rip = rip_advance(x86_mode_of(s, r->rflags), r->rip, 2);
	if (tcg_set_regs(vcpu, r)) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0, "cannot load vCPU %u state", vcpu->id);
		tcg_stop(vcpu, VCPU_EXIT_STOP);
	}
}

/* Every hypercall, native or not, and every other invalid opcode lands here first. */
static bool tcg_on_invalid(uc_engine *uc, void *user)
{
	struct vcpu *vcpu = user;
	struct tcg_vcpu *t = tv(vcpu);
	struct vm *vm = vcpu->vm;
	struct ud_result res;
	struct x86_regs r;
	struct x86_sregs s;

	t->ud_consumed = true;
	if (tcg_get_regs(vcpu, &r) || tcg_get_sregs(vcpu, &s)) {
		vm_request_exit(vm, VM_FAILED, 0, "cannot read vCPU %u state", vcpu->id);
		tcg_stop(vcpu, VCPU_EXIT_STOP);
		return true;
	}
	ud_fixup(vcpu, &r, &s, &res);
	if (res.outcome != UD_NATIVE)
		trace_ud(vm, vcpu->id, r.rip, x86_cpl_of(&s, r.rflags),
			 x86_mode_name(x86_mode_of(&s, r.rflags)), res.bytes, res.why);
	switch (res.outcome) {
	case UD_NATIVE:
		tcg_native_hypercall(vcpu, &res, &r, &s);
		break;
	case UD_REWRITTEN:
		/* Re-execute: the new bytes are translated afresh and run natively. */
		tcg_invalidate_everywhere(vcpu, res.la, PVHC_HYPERCALL_LEN);
		/* --migrate-after-ud: leave between the rewrite and the re-execution. */
		if (vm->cfg.migrate_after_ud && vm->stats.ud_traps == vm->cfg.migrate_after_ud &&
		    vm->cfg.migrate_to) {
			vm->mig_trigger = true;
			tcg_stop(vcpu, VCPU_EXIT_STOP);
		}
		break;
	case UD_INJECT:
		if (res.bytes[0] == 0x0f && res.bytes[1] == 0x33 && !strcmp(res.why, "not-a-hypercall")) {
			tcg_emulate_rdpmc(vcpu, &r, &s);
			break;
		}
		tcg_deliver(vcpu, &(struct x86_event){
			.vector = res.vector, .has_error = res.has_error, .error = res.error,
		});
		break;
	}
	return true;
}

/* Can code run into the canonical edge: long mode, the last page below it fetchable? */
static bool tcg_edge_reachable(struct vcpu *vcpu, const struct x86_sregs *s)
{
	unsigned int access = MMU_FETCH | ((s->seg[SEG_CS].selector & 3) == 3 ? MMU_USER : 0);
	uint64_t gpa;
	uint32_t pf;

	return (s->efer & X86_EFER_LME) && (s->cr0 & X86_CR0_PG) &&
	       !guest_pt_translate(&vcpu->vm->mem, s, TCG_EXIT_CANONICAL_EDGE - 1, access, &gpa,
				   &pf);
}

/*
 * Unicorn reports the fetch fault of an instruction that runs into the
 * canonical edge at the start of that instruction's block: without an exit
 * at the edge, a #GP(0) at a 64-bit RIP on the page below it may be that.
 */
static bool tcg_edge_fault_unarmed(struct vcpu *vcpu)
{
	struct tcg_vcpu *t = tv(vcpu);
	struct x86_sregs s;
	struct x86_regs r;

	if (tcg_exits_is_armed(&t->exits, TCG_EXIT_CANONICAL_EDGE) || tcg_get_regs(vcpu, &r) ||
	    tcg_state_get_sregs(&t->ts, &s))
		return false;
	return x86_mode_of(&s, r.rflags) == X86_MODE_LONG64 &&
	       tcg_exits_edge_wanted(&t->exits, r.rip + s.seg[SEG_CS].base, 1) &&
	       tcg_edge_reachable(vcpu, &s);
}

/* Exceptions raised by the guest's own execution (and the echo of a handled #UD). */
static void tcg_on_intr(uc_engine *uc, uint32_t intno, void *user)
{
	struct vcpu *vcpu = user;
	struct tcg_vcpu *t = tv(vcpu);
	struct x86_event ev = { .vector = (uint8_t)intno };
	uint32_t error;
	bool is_int;

	if (t->ud_consumed && intno == X86_UD) {
		t->ud_consumed = false;
		return;
	}
	t->ud_consumed = false;
	if (intno > 255) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0, "unexpected emulator event %u", intno);
		tcg_stop(vcpu, VCPU_EXIT_STOP);
		return;
	}
	tcg_exception_info(&t->ts, &error, &is_int);
	ev.soft = is_int;
	ev.has_error = !is_int && intno < 32 && ((X86_VECTORS_WITH_ERROR_CODE >> intno) & 1);
	ev.error = ev.has_error ? error : 0;
	if (intno == X86_GP && !is_int && !error && tcg_edge_fault_unarmed(vcpu)) {
		/* Nothing of the block has run: arm the edge, then run the block again. */
		t->edge_hit = true;
		tcg_exception_done(&t->ts);
		t->exits_stop = true;
		uc_emu_stop(uc);
		return;
	}
	tcg_deliver(vcpu, &ev);
}

static void tcg_on_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *user)
{
	struct vcpu *vcpu = user;

	if (vcpu->vm->state != VM_RUNNING)
		return;	/* the VM has ended: later writes in this block go nowhere */
	io_out(&vcpu->vm->io, vcpu, (uint16_t)port, (unsigned int)size, value);
	/* A VM that has ended cannot be harmed by a mid-block stop; anything else waits. */
	if (vcpu->vm->state != VM_RUNNING)
		tcg_stop(vcpu, VCPU_EXIT_STOP);
	else if (vm_needs_attention(vcpu->vm))
		tcg_defer_stop(vcpu, VCPU_EXIT_STOP);
}

static uint32_t tcg_on_in(uc_engine *uc, uint32_t port, int size, void *user)
{
	struct vcpu *vcpu = user;

	return io_in(&vcpu->vm->io, vcpu, (uint16_t)port, (unsigned int)size);
}

static int tcg_on_cpuid(uc_engine *uc, void *user)
{
	struct vcpu *vcpu = user;
	uint64_t rax = 0, rcx = 0, v;
	uint32_t out[4];

	uc_reg_read(uc, UC_X86_REG_RAX, &rax);
	uc_reg_read(uc, UC_X86_REG_RCX, &rcx);
	cpuid_lookup(&vcpu->vm->cpuid, (uint32_t)rax, (uint32_t)rcx, vcpu->apic_id, out);
	/* CPUID.1:EDX.APIC follows IA32_APIC_BASE.EN, as on a CPU (and KVM). */
	if ((uint32_t)rax == 1 && !(vcpu->lapic.apic_base & LAPIC_BASE_EN))
		out[3] &= ~(1u << 9);
	v = out[0];
	uc_reg_write(uc, UC_X86_REG_RAX, &v);
	v = out[1];
	uc_reg_write(uc, UC_X86_REG_RBX, &v);
	v = out[2];
	uc_reg_write(uc, UC_X86_REG_RCX, &v);
	v = out[3];
	uc_reg_write(uc, UC_X86_REG_RDX, &v);
	return 1;	/* handled: skip Unicorn's own CPUID */
}

/* Guest-physical addresses outside RAM have no device behind them: the guest crashed itself. */
static bool tcg_on_unmapped(uc_engine *uc, uc_mem_type type, uint64_t address, int size,
			    int64_t value, void *user)
{
	struct vcpu *vcpu = user;
	const char *what = type == UC_MEM_FETCH_UNMAPPED ? "fetch from" :
			   type == UC_MEM_WRITE_UNMAPPED ? "write to" : "read from";
	uint64_t rip = 0;

	uc_reg_read(uc, UC_X86_REG_RIP, &rip);
	vm_request_exit(vcpu->vm, VM_CRASHED, 0,
			"%s unbacked memory at 0x%" PRIx64 " (RIP 0x%" PRIx64 ")", what, address,
			rip);
	tcg_stop(vcpu, VCPU_EXIT_STOP);
	return false;
}

/* The local APIC page: each engine maps it with its own vCPU's registers. */
static uint64_t tcg_apic_read(uc_engine *uc, uint64_t offset, unsigned int size, void *user)
{
	return lapic_mmio_read(user, offset, size);
}

static void tcg_apic_write(uc_engine *uc, uint64_t offset, unsigned int size, uint64_t value,
			   void *user)
{
	lapic_mmio_write(user, offset, size, value);
}

/* RAM, minus the page where the local APIC sits when RAM reaches it. */
static int tcg_map_memory(struct tcg_vcpu *t, struct vcpu *vcpu, char *err, size_t errlen)
{
	struct vm *vm = vcpu->vm;
	uint64_t size = vm->mem.size, low = size < LAPIC_BASE ? size : LAPIC_BASE;
	uc_err e;

	e = uc_mem_map_ptr(t->uc, 0, low, UC_PROT_ALL, vm->mem.host);
	if (e == UC_ERR_OK && size > LAPIC_BASE + LAPIC_SIZE)
		e = uc_mem_map_ptr(t->uc, LAPIC_BASE + LAPIC_SIZE, size - LAPIC_BASE - LAPIC_SIZE,
				   UC_PROT_ALL, vm->mem.host + LAPIC_BASE + LAPIC_SIZE);
	if (e == UC_ERR_OK)
		e = uc_mmio_map(t->uc, LAPIC_BASE, LAPIC_SIZE, tcg_apic_read, vcpu,
				tcg_apic_write, vcpu);
	if (e != UC_ERR_OK) {
		snprintf(err, errlen, "Unicorn cannot map %" PRIu64 " MiB of RAM: %s",
			 vm->mem.size >> 20, uc_strerror(e));
		return -ENOMEM;
	}
	return 0;
}

/*
 * A lone vCPU runs without the block hook (it costs ~10 ns per block) until
 * it enables its local APIC or sends itself an NMI: from then on an
 * interrupt it sends itself is taken at the next block start, as a guest
 * expects right after the ICR write, not at its next exit (and the return
 * from an NMI handler is seen there).
 */
static bool tcg_wants_block_hook(struct vcpu *vcpu)
{
	const struct lapic *l = &vcpu->lapic;

	return !tv(vcpu)->block_hook &&
	       ((l->svr & LAPIC_SVR_ENABLE) || l->nmi_pending || l->nmi_blocked);
}

/* Between runs, so that the flush (translations without the hook) is safe. */
static int tcg_add_block_hook(struct vcpu *vcpu)
{
	struct tcg_vcpu *t = tv(vcpu);
	uc_hook h;

	if (uc_hook_add(t->uc, &h, UC_HOOK_BLOCK, tcg_on_block, vcpu, 1, 0) ||
	    uc_ctl_flush_tb(t->uc)) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0, "Unicorn refused a hook");
		return -EIO;
	}
	t->block_hook = true;
	vcpu->kick_for_irq = true;
	return 0;
}

/*
 * Unicorn translated a block and is about to run it: if it holds a RDMSR or
 * WRMSR that is not an exit yet, stop before its first instruction (the
 * block checks for a stop request before it starts, and RIP is still its
 * start) so that tcg_run() can arm it. The same stop installs the block
 * hook when a lone vCPU has just enabled its APIC.
 */
static void tcg_on_new_block(uc_engine *uc, uc_tb *cur, uc_tb *prev, void *user)
{
	struct vcpu *vcpu = user;
	struct tcg_vcpu *t = tv(vcpu);
	struct x86_sregs s;

	if (tcg_state_get_sregs(&t->ts, &s))
		return;
	if (tcg_exits_scan(&t->exits, &vcpu->vm->mem, &s, cur->pc, cur->size) ||
	    tcg_wants_block_hook(vcpu)) {
		t->exits_stop = true;
		uc_emu_stop(uc);
	}
}


/* Before a run: arm what was found since the last one. */
static int tcg_arm_exits(struct vcpu *vcpu)
{
	struct tcg_vcpu *t = tv(vcpu);
	struct x86_sregs s;
	struct x86_regs r;

	/*
	 * The canonical edge is armed after code ran into it (tcg_on_intr())
	 * and disarmed by the first run that finds its page gone; see
	 * tcg_exits_set_edge(). Other runs do not look.
	 */
	if ((t->edge_hit || tcg_exits_is_armed(&t->exits, TCG_EXIT_CANONICAL_EDGE)) &&
	    !tcg_state_get_sregs(&t->ts, &s))
		tcg_exits_set_edge(&t->exits, tcg_edge_reachable(vcpu, &s));
	t->edge_hit = false;
	if (!t->exits.block_seen && !tcg_get_regs(vcpu, &r) && !tcg_state_get_sregs(&t->ts, &s))
		tcg_exits_scan_entry(&t->exits, &vcpu->vm->mem, &s, ud_insn_la(&r, &s));
	if (!tcg_exits_found(&t->exits))
		return 0;
	if (tcg_exits_arm(&t->exits)) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0,
				"more than %d RDMSR/WRMSR sites in vCPU %u's code", TCG_EXITS_MAX,
				vcpu->id);
		return -ENOSPC;
	}
	return 0;
}

/*
 * Unicorn revisits every exit after each run to drop its translation: it
 * looks up the byte before the exit (the end of a block that stops there).
 * When that byte does not translate at that moment (always so below the
 * canonical edge, 0x7fffffffffff) the failed look-up is a fault it swallows:
 * it leaves that exception "in flight" (the next one would be taken for a
 * double fault) and, for a page fault, writes that address to CR2. Undo
 * both: no exception is in flight between runs, and CR2 is what the guest
 * last saw.
 */
static void tcg_undo_exit_lookups(struct vcpu *vcpu, uint64_t cr2_before)
{
	struct tcg_vcpu *t = tv(vcpu);
	uint64_t expected = t->pf_delivered ? t->pf_cr2 : cr2_before, now = 0;
	struct x86_sregs s;

	if (!t->exits.nr_armed)
		return;
	tcg_exception_done(&t->ts);
	uc_reg_read(t->uc, UC_X86_REG_CR2, &now);
	if (now == expected || !tcg_exits_is_armed(&t->exits, now + 1) ||
	    tcg_get_sregs(vcpu, &s))
		return;
	s.cr2 = expected;
	tcg_set_sregs(vcpu, &s);
}

/*
 * MOV to CR4 at an exit, len bytes long, from GPR gpr, CPL already checked.
 * Unicorn takes any value; a CPU (and KVM) raises #GP(0) for a reserved
 * bit, for leaving PAE or toggling LA57 in long mode, and for setting PCIDE
 * outside long mode or with a non-zero PCID in CR3.
 */
static enum vcpu_exit tcg_emulate_mov_cr4(struct vcpu *vcpu, struct x86_regs *r,
					  const struct x86_sregs *s, unsigned int gpr,
					  unsigned int len)
{
	enum x86_mode mode = x86_mode_of(s, r->rflags);
	uint64_t v = r->gpr[gpr], old = s->cr4;
	bool lma = s->efer & X86_EFER_LMA;

	if (mode != X86_MODE_LONG64)
		v = (uint32_t)v;
	if ((v & ~cpuid_cr4_allowed(&vcpu->vm->cpuid)) ||
	    (lma && !(v & X86_CR4_PAE)) || (lma && ((v ^ old) & X86_CR4_LA57)) ||
	    ((v & ~old & X86_CR4_PCIDE) && (!lma || (s->cr3 & 0xfff)))) {
		tcg_inject_gp(vcpu);
		return VCPU_EXIT_AGAIN;
	}
	r->rip = rip_advance(mode, r->rip, len);
	if (uc_reg_write(tv(vcpu)->uc, UC_X86_REG_CR4, &v) || tcg_set_regs(vcpu, r)) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0, "cannot load vCPU %u state", vcpu->id);
		return VCPU_EXIT_STOP;
	}
	return VCPU_EXIT_AGAIN;
}

/* RDMSR or WRMSR at an exit, len bytes long, with CPL already checked. */
static enum vcpu_exit tcg_emulate_msr(struct vcpu *vcpu, struct x86_regs *r,
				      const struct x86_sregs *s, bool write, unsigned int len)
{
	uint32_t index = (uint32_t)r->gpr[GPR_RCX];
	uint64_t value;
	int ret;

	if (write) {
		value = (r->gpr[GPR_RDX] << 32) | (uint32_t)r->gpr[GPR_RAX];
		ret = msr_wrmsr(vcpu, s, index, value);
	} else {
		ret = msr_rdmsr(vcpu, s, index, &value);
	}
	if (ret == -EINVAL) {
		tcg_inject_gp(vcpu);
		return VCPU_EXIT_AGAIN;
	}
	if (ret) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0, "vCPU %u: MSR 0x%x: the CPU model failed",
				vcpu->id, index);
		return VCPU_EXIT_STOP;
	}
	if (!write) {
		/* 32-bit results zero-extend into RAX and RDX, in every mode. */
		r->gpr[GPR_RAX] = (uint32_t)value;
		r->gpr[GPR_RDX] = value >> 32;
	}
	r->rip = rip_advance(x86_mode_of(s, r->rflags), r->rip, len);
	if (tcg_set_regs(vcpu, r)) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0, "cannot load vCPU %u state", vcpu->id);
		return VCPU_EXIT_STOP;
	}
	return VCPU_EXIT_AGAIN;
}

/*
 * The engine returned on its own: at an exit (a RDMSR, WRMSR or HLT to do
 * here), or after a HLT it executed itself. AGAIN: carry on running.
 */
static enum vcpu_exit tcg_on_exit(struct vcpu *vcpu)
{
	struct tcg_vcpu *t = tv(vcpu);
	struct x86_regs r;
	struct x86_sregs s;
	uint8_t insn[15];
	uint64_t la, fault_la;
	uint32_t pf;
	unsigned int len = 0, gpr = 0;
	enum x86_mode mode;
	enum tcg_exit_insn kind;

	if (tcg_get_regs(vcpu, &r) || tcg_get_sregs(vcpu, &s)) {
		vm_request_exit(vcpu->vm, VM_FAILED, 0, "cannot read vCPU %u state", vcpu->id);
		return VCPU_EXIT_STOP;
	}
	la = ud_insn_la(&r, &s);
	mode = x86_mode_of(&s, r.rflags);
	if (la == TCG_EXIT_CANONICAL_EDGE && mode == X86_MODE_LONG64) {
		tcg_inject_gp(vcpu);	/* the fetch at 2^47, RIP already there */
		return VCPU_EXIT_AGAIN;
	}
	if (!tcg_exits_is_armed(&t->exits, la))
		return VCPU_EXIT_HLT;
	/* Byte by byte: the instruction may end just before an unmapped page. */
	memset(insn, 0, sizeof(insn));
	for (len = 0; len < sizeof(insn); len++)
		if (guest_pt_read(&vcpu->vm->mem, &s, la + len, insn + len, 1, MMU_READ,
				  &fault_la, &pf))
			break;
	kind = tcg_exit_decode(insn, len, mode == X86_MODE_LONG64, &len, &gpr);
	if (kind == EXIT_INSN_OTHER) {
		/* Not ours any more (new code or another mode): let the CPU run it. */
		tcg_exits_reject(&t->exits, la, insn, sizeof(insn));
		return VCPU_EXIT_AGAIN;
	}
	/* All are privileged: #GP(0) at CPL > 0 (which includes virtual-8086 mode). */
	if (x86_cpl_of(&s, r.rflags) > 0) {
		tcg_inject_gp(vcpu);
		return VCPU_EXIT_AGAIN;
	}
	if (kind == EXIT_INSN_HLT) {
		r.rip = rip_advance(mode, r.rip, len);
		tcg_set_regs(vcpu, &r);
		return VCPU_EXIT_HLT;
	}
	if (kind == EXIT_INSN_MOV_CR4)
		return tcg_emulate_mov_cr4(vcpu, &r, &s, gpr, len);
	return tcg_emulate_msr(vcpu, &r, &s, kind == EXIT_INSN_WRMSR, len);
}

/* Between runs: an external interrupt (an IPI) through the guest's IDT. */
static void tcg_inject_interrupt(struct vcpu *vcpu, uint8_t vector)
{
	tcg_deliver(vcpu, &(struct x86_event){ .vector = vector });
	/* Vector 2 comes only as an NMI (a fixed IPI below 16 is illegal): IRET unmasks it. */
	if (vector == X86_NMI)
		tcg_state_set_nmi_masked(&tv(vcpu)->ts, true);
}

static bool tcg_interrupt_shadow(struct vcpu *vcpu)
{
	return tcg_state_interrupt_shadow(&tv(vcpu)->ts);
}

/* --migrate-at-insn N: stop before instruction N + 1, then migrate. */
static void tcg_count_insn(uc_engine *uc, uint64_t address, uint32_t size, void *user)
{
	struct vcpu *vcpu = user;
	struct tcg_vcpu *t = tv(vcpu);

	if (t->insns++ == vcpu->vm->cfg.migrate_at_insn) {
		vcpu->vm->mig_trigger = true;
		uc_hook_del(uc, t->insn_counter);	/* full speed again after this */
		tcg_stop(vcpu, VCPU_EXIT_STOP);
	}
}

static int tcg_vcpu_init(struct vcpu *vcpu, char *err, size_t errlen)
{
	uint32_t mxcsr = 0x1f80;
	struct vm *vm = vcpu->vm;
	struct tcg_vcpu *t;
	uint32_t buffer;
	uc_hook h;
	uc_err e;
	int ret;

	t = calloc(1, sizeof(*t));
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vcpu->backend = t;
	e = uc_open(UC_ARCH_X86, UC_MODE_64, &t->uc);
	if (e != UC_ERR_OK) {
		snprintf(err, errlen, "Unicorn: %s", uc_strerror(e));
		return -EIO;
	}
	/*
	 * Unicorn 2.1.1 never makes the initial allocation of its code buffer
	 * region (fixed upstream by commit 2128e01e, in 2.1.3): the first time
	 * the buffer fills up, the translator starts over at its beginning
	 * without a flush, overwriting translation blocks that are still
	 * linked, and the next guest store to a code page walks into garbage
	 * (SIGBUS or SIGSEGV in tb_invalidate_phys_page_range__locked). One
	 * flush before anything is translated makes that allocation; every
	 * later fill is then a proper flush. The size must be set before the
	 * engine initialises itself, the flush after RAM is mapped.
	 */
	buffer = TCG_CODE_BUFFER_TOTAL / vm->cfg.nr_vcpus;
	if (buffer < TCG_CODE_BUFFER_MIN)
		buffer = TCG_CODE_BUFFER_MIN;
	e = uc_ctl_set_tcg_buffer_size(t->uc, buffer);
	if (e != UC_ERR_OK) {
		snprintf(err, errlen, "Unicorn: %s", uc_strerror(e));
		return -EIO;
	}
	ret = tcg_state_init(&t->ts, t->uc, err, errlen);
	if (ret)
		return ret;
	ret = tcg_map_memory(t, vcpu, err, errlen);
	if (ret)
		return ret;
	e = uc_ctl_flush_tb(t->uc);	/* see above: before the first translation */
	if (e != UC_ERR_OK) {
		snprintf(err, errlen, "Unicorn: %s", uc_strerror(e));
		return -EIO;
	}
	t->block_hook = vm->cfg.resumable_stops || vm->cfg.nr_vcpus > 1;
	/* Exits enabled: uc_emu_start's `until` never costs a thing; tcg-exits.c adds some. */
	uc_ctl_exits_enable(t->uc);
	tcg_exits_init(&t->exits, t->uc);
	/*
	 * MXCSR's reset value masks every SIMD exception (SDM: 0x1f80 after
	 * RESET and INIT; what KVM gives a new vCPU). Unicorn leaves it 0, all
	 * unmasked, which a guest moved to a real CPU would take along.
	 */
	if (uc_reg_write(t->uc, UC_X86_REG_MXCSR, &mxcsr)) {
		snprintf(err, errlen, "Unicorn refused MXCSR");
		return -EIO;
	}
	if (uc_hook_add(t->uc, &h, UC_HOOK_EDGE_GENERATED, tcg_on_new_block, vcpu, 1, 0) ||
	    uc_hook_add(t->uc, &h, UC_HOOK_INSN_INVALID, tcg_on_invalid, vcpu, 1, 0) ||
	    uc_hook_add(t->uc, &h, UC_HOOK_INTR, tcg_on_intr, vcpu, 1, 0) ||
	    uc_hook_add(t->uc, &h, UC_HOOK_INSN, tcg_on_out, vcpu, 1, 0, UC_X86_INS_OUT) ||
	    uc_hook_add(t->uc, &h, UC_HOOK_INSN, tcg_on_in, vcpu, 1, 0, UC_X86_INS_IN) ||
	    uc_hook_add(t->uc, &h, UC_HOOK_INSN, tcg_on_cpuid, vcpu, 1, 0, UC_X86_INS_CPUID) ||
	    uc_hook_add(t->uc, &h, UC_HOOK_MEM_UNMAPPED, tcg_on_unmapped, vcpu, 1, 0) ||
	    (t->block_hook &&
	     uc_hook_add(t->uc, &h, UC_HOOK_BLOCK, tcg_on_block, vcpu, 1, 0))) {
		snprintf(err, errlen, "Unicorn refused a hook");
		return -EIO;
	}
	if (vm->cfg.migrate_at_insn_set && vm->cfg.migrate_to &&
	    uc_hook_add(t->uc, &t->insn_counter, UC_HOOK_CODE, tcg_count_insn, vcpu, 1, 0)) {
		snprintf(err, errlen, "Unicorn refused a hook");
		return -EIO;
	}
	return 0;
}

static void tcg_vcpu_destroy(struct vcpu *vcpu)
{
	struct tcg_vcpu *t = tv(vcpu);
	unsigned int i;

	if (!t)
		return;
	tcg_state_destroy(&t->ts);
	tcg_exits_destroy(&t->exits);
	if (t->uc)
		uc_close(t->uc);
	for (i = 0; i < t->nr_sites; i++)
		free(t->sites[i]);
	for (i = 0; i < t->nr_dead; i++)
		free(t->dead[i]);
	free(t);
	vcpu->backend = NULL;
}

static enum vcpu_exit tcg_run(struct vcpu *vcpu)
{
	struct tcg_vcpu *t = tv(vcpu);
	struct vm *vm = vcpu->vm;
	enum vcpu_exit exit;
	uint64_t rip = 0, cr2 = 0;
	uc_err e;

	t->slice_left = vm->nr_vcpus > 1 ? TCG_SLICE_BLOCKS : 0;
	t->has_run = true;
	for (;;) {
		t->stop_requested = false;
		t->exits_stop = false;
		t->pf_delivered = false;
		if (vm_needs_attention(vm))
			return VCPU_EXIT_AGAIN;	/* a kick right before we got here */
		/* Then back to the scheduler: something may be waiting to be injected. */
		if (tcg_wants_block_hook(vcpu))
			return tcg_add_block_hook(vcpu) ? VCPU_EXIT_STOP : VCPU_EXIT_AGAIN;
		if (tcg_arm_exits(vcpu))
			return VCPU_EXIT_STOP;
		uc_reg_read(t->uc, UC_X86_REG_RIP, &rip);
		uc_reg_read(t->uc, UC_X86_REG_CR2, &cr2);
		e = uc_emu_start(t->uc, rip, 0, 0, 0);
		/* Unicorn has dropped its deleted hooks: their user data can go. */
		while (t->nr_dead)
			free(t->dead[--t->nr_dead]);
		tcg_undo_exit_lookups(vcpu, cr2);
		if (vm->state != VM_RUNNING)
			return VCPU_EXIT_STOP;
		if (e != UC_ERR_OK) {
			uc_reg_read(t->uc, UC_X86_REG_RIP, &rip);
			vm_request_exit(vm, VM_CRASHED, 0, "emulation stopped at RIP 0x%" PRIx64 ": %s",
					rip, uc_strerror(e));
			return VCPU_EXIT_STOP;
		}
		if (t->stop_requested)
			return t->stop_exit;
		if (t->exits_stop)
			continue;	/* arm the new exits, then run that block again */
		/* Otherwise uc_emu_start returned on its own: an exit or a HLT. */
		exit = tcg_on_exit(vcpu);
		if (exit != VCPU_EXIT_AGAIN)
			return exit;
	}
}

/*
 * Both personalities are emulated, so any host is possible; Intel is the
 * default. A guest arriving with its own CPUID may ask only for what these
 * hosts give any new guest: the features Unicorn's CPU implements.
 */
static int tcg_probe(const struct vm_config *cfg, const struct vendor **vendor, char *err,
		     size_t errlen)
{
	*vendor = cfg->vendor ? cfg->vendor : &vendor_intel;
	if (cfg->cpuid) {
		struct cpuid_features want, have;
		struct cpuid_table offered;

		cpuid_table_build(&offered, *vendor, cfg->nr_vcpus);
		cpuid_table_features(&want, cfg->cpuid);
		cpuid_table_features(&have, &offered);
		return cpuid_features_missing(&want, &have, err, errlen);
	}
	return 0;
}

static int tcg_vm_init(struct vm *vm, char *err, size_t errlen)
{
	return 0;
}

static void tcg_vm_destroy(struct vm *vm)
{
}

const struct cpu_ops cpu_tcg_ops = {
	.name = "tcg",
	.probe = tcg_probe,
	.vm_init = tcg_vm_init,
	.vm_destroy = tcg_vm_destroy,
	.vcpu_init = tcg_vcpu_init,
	.vcpu_destroy = tcg_vcpu_destroy,
	.run = tcg_run,
	.kick = tcg_kick,
	.get_regs = tcg_get_regs,
	.set_regs = tcg_set_regs,
	.get_sregs = tcg_get_sregs,
	.set_sregs = tcg_set_sregs,
	.get_fpu = tcg_get_fpu,
	.set_fpu = tcg_set_fpu,
	.get_msrs = tcg_get_msrs,
	.set_msrs = tcg_set_msrs,
	.read_msr = tcg_read_msr,
	.write_msr = tcg_write_msr,
	.inject_interrupt = tcg_inject_interrupt,
	.interrupt_shadow = tcg_interrupt_shadow,
	/* Unicorn's version and the CPUX86State layout revision pvhc knows. */
	.blob_id = ((uint32_t)UC_API_MAJOR << 24) | (UC_API_MINOR << 16) | (UC_API_PATCH << 8) | 1,
	.get_blob = tcg_get_blob,
	.set_blob = tcg_set_blob,
};
