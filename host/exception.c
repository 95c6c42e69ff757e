// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exception delivery in real mode (IVT), 32-bit protected mode (32-bit
 * interrupt/trap gates, stack switch through the TSS) and long mode (64-bit
 * gates, IST, TSS.RSPn). Task gates, 16-bit gates and delivery out of
 * virtual-8086 mode are not supported: they fail delivery, which ends in a
 * triple fault, and say so.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "exception.h"
#include "guest-pt.h"


/*
 * A fault the CPU raises while delivering an event (SDM vol. 3, 6.12.1):
 * records it in *f (when the caller models it) and the reason in why.
 */
static int raise_fault(struct x86_event *f, uint8_t vector, uint32_t error, char *why,
		       size_t len, const char *fmt, ...)
{
	va_list ap;

	if (f)
		*f = (struct x86_event){ .vector = vector, .has_error = true, .error = error };
	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EFAULT;
}

/* A failure pvhc does not model as a fault: the caller's default (#DF) stands. */
#define fail(why, len, ...) raise_fault(NULL, 0, 0, why, len, __VA_ARGS__)

/* The error code naming IDT entry `vector`; EXT says an external event caused it. */
static uint32_t idt_error(const struct x86_event *ev)
{
	return (uint32_t)ev->vector << 3 | 2 | (ev->soft ? 0 : 1);
}

/* The error code naming a selector. */
static uint32_t sel_error(const struct x86_event *ev, uint16_t sel)
{
	return (sel & 0xfffcu) | (ev->soft ? 0 : 1);
}

/* Implicit supervisor reads: descriptor tables, TSS. */
static int sys_read(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
		    void *buf, size_t len)
{
	uint32_t pf;

	return guest_pt_read(mem, s, la, buf, len, MMU_READ, NULL, &pf);
}

/*
 * Load the descriptor for selector from the GDT or LDT. For the handler's
 * CS (ev given), a bad selector is #GP and an absent segment #NP, naming
 * the selector; other failures are not modelled (the caller takes #DF).
 */
static int load_desc(const struct guest_mem *mem, const struct x86_sregs *s, uint16_t sel,
		     struct x86_segment *seg, const struct x86_event *ev, struct x86_event *fault,
		     char *why, size_t whylen)
{
	struct x86_event *f = ev ? fault : NULL;

	const struct x86_dtable *dt;
	struct x86_dtable ldt;
	uint64_t d;

	if ((sel & ~3u) == 0)
		return raise_fault(f, X86_GP, ev && !ev->soft, why, whylen, "null selector");
	if (sel & 4) {
		ldt.base = s->ldt.base;
		ldt.limit = (uint16_t)s->ldt.limit;
		if (s->ldt.unusable)
			return fail(why, whylen, "selector 0x%x in an absent LDT", sel);
		dt = &ldt;
	} else {
		dt = &s->gdt;
	}
	if ((uint32_t)(sel & ~7u) + 7 > dt->limit)
		return raise_fault(f, X86_GP, ev ? sel_error(ev, sel) : 0, why, whylen,
				   "selector 0x%x beyond the descriptor table limit", sel);
	if (sys_read(mem, s, dt->base + (sel & ~7u), &d, 8))
		return fail(why, whylen, "descriptor table not readable");
	x86_segment_from_desc(seg, sel, d, 0);
	if (!seg->present)
		return raise_fault(f, X86_NP, ev ? sel_error(ev, sel) : 0, why, whylen,
				   "descriptor 0x%x not present", sel);
	return 0;
}

/*
 * A write to the handler's stack; a page fault there is recorded in *fault
 * (a supervisor write: the error code has no U bit, CR2 is the address).
 */
static int stack_write(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
		       const void *buf, size_t len, struct x86_event *fault)
{
	uint64_t fault_la = la;
	uint32_t pf = 0;
	int ret = guest_pt_write(mem, s, la, buf, len, MMU_WRITE, &fault_la, &pf);

	if (ret == -EFAULT && fault)
		*fault = (struct x86_event){ .vector = X86_PF, .has_error = true, .error = pf,
					     .cr2 = fault_la };
	return ret;
}

static int push(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t *sp,
		uint64_t stack_base, uint64_t mask, uint64_t val, unsigned int size,
		struct x86_event *fault)
{
	*sp = (*sp - size) & mask;
	return stack_write(mem, s, (stack_base + *sp) & (mask | 0xffffffffull), &val, size,
			   fault);
}

static uint64_t clear_flags_on_entry(uint64_t rflags, bool interrupt_gate)
{
	rflags &= ~(X86_RFLAGS_TF | X86_RFLAGS_NT | X86_RFLAGS_RF | X86_RFLAGS_VM);
	if (interrupt_gate)
		rflags &= ~X86_RFLAGS_IF;
	return rflags;
}

static int deliver_real(const struct guest_mem *mem, struct x86_regs *r, struct x86_sregs *s,
			const struct x86_event *ev, char *why, size_t whylen)
{
	struct x86_segment *ss = &s->seg[SEG_SS];
	uint64_t sp = r->gpr[GPR_RSP] & 0xffff;
	uint32_t vec_entry;

	if ((uint32_t)ev->vector * 4 + 3 > s->idt.limit)
		return fail(why, whylen, "vector %u beyond the real-mode IVT limit", ev->vector);
	if (sys_read(mem, s, s->idt.base + ev->vector * 4u, &vec_entry, 4))
		return fail(why, whylen, "IVT not readable");
	if (push(mem, s, &sp, ss->base, 0xffff, r->rflags & 0xffff, 2, NULL) ||
	    push(mem, s, &sp, ss->base, 0xffff, s->seg[SEG_CS].selector, 2, NULL) ||
	    push(mem, s, &sp, ss->base, 0xffff, r->rip & 0xffff, 2, NULL))
		return fail(why, whylen, "real-mode stack not writable");
	r->gpr[GPR_RSP] = (r->gpr[GPR_RSP] & ~0xffffull) | sp;
	r->rflags &= ~(X86_RFLAGS_IF | X86_RFLAGS_TF | X86_RFLAGS_AC | X86_RFLAGS_RF);
	x86_segment_real(&s->seg[SEG_CS], (uint16_t)(vec_entry >> 16), true);
	r->rip = vec_entry & 0xffff;
	return 0;
}

static int deliver_prot32(const struct guest_mem *mem, struct x86_regs *r, struct x86_sregs *s,
			  const struct x86_event *ev, unsigned int cpl, struct x86_event *fault,
			  char *why, size_t whylen)
{
	struct x86_segment cs, ss = s->seg[SEG_SS];
	uint64_t gate, sp = r->gpr[GPR_RSP], ss_base = ss.base, mask;
	unsigned int type, dpl, new_cpl;
	uint32_t offset;
	uint16_t sel;
	bool stack_switch;

	if (r->rflags & X86_RFLAGS_VM)
		return fail(why, whylen, "delivery out of virtual-8086 mode is not supported");
	if ((uint32_t)ev->vector * 8 + 7 > s->idt.limit)
		return raise_fault(fault, X86_GP, idt_error(ev), why, whylen,
				   "vector %u beyond the IDT limit", ev->vector);
	if (sys_read(mem, s, s->idt.base + ev->vector * 8u, &gate, 8))
		return fail(why, whylen, "IDT not readable");
	type = (gate >> 40) & 0x1f;	/* S bit + type */
	dpl = (gate >> 45) & 3;
	if (!((gate >> 47) & 1))
		return raise_fault(fault, X86_NP, idt_error(ev), why, whylen,
				   "IDT gate %u not present", ev->vector);
	if (type == 0x5 || type == 0x6 || type == 0x7)
		return fail(why, whylen, "IDT gate %u has unsupported type 0x%x", ev->vector,
			    type);	/* task and 16-bit gates: not modelled */
	if (type != 0xe && type != 0xf)
		return raise_fault(fault, X86_GP, idt_error(ev), why, whylen,
				   "IDT gate %u has type 0x%x, not a gate", ev->vector, type);
	if (ev->soft && dpl < cpl)
		return raise_fault(fault, X86_GP, idt_error(ev), why, whylen,
				   "INT %u gate DPL %u below CPL %u", ev->vector, dpl, cpl);
	sel = (uint16_t)(gate >> 16);
	offset = (uint32_t)((gate & 0xffff) | ((gate >> 32) & 0xffff0000ull));
	if (load_desc(mem, s, sel, &cs, ev, fault, why, whylen))
		return -EFAULT;
	if (!cs.s || !(cs.type & 8) || cs.dpl > cpl)
		return raise_fault(fault, X86_GP, sel_error(ev, sel), why, whylen,
				   "gate %u CS 0x%x is not a usable code segment", ev->vector, sel);
	new_cpl = (cs.type & 4) ? cpl : cs.dpl;	/* conforming code keeps the CPL */
	stack_switch = new_cpl < cpl;
	if (stack_switch) {
		uint32_t tss_esp;
		uint16_t tss_ss;

		if (s->tr.unusable ||
		    sys_read(mem, s, s->tr.base + 4 + 8 * new_cpl, &tss_esp, 4) ||
		    sys_read(mem, s, s->tr.base + 8 + 8 * new_cpl, &tss_ss, 2))
			return fail(why, whylen, "TSS not readable for the stack switch");
		if (load_desc(mem, s, tss_ss, &ss, NULL, NULL, why, whylen))
			return -EFAULT;
		ss.selector = (uint16_t)((tss_ss & ~3u) | new_cpl);
		sp = tss_esp;
		ss_base = ss.base;
	}
	mask = ss.db ? 0xffffffffull : 0xffffull;
	sp &= mask;
	if (stack_switch &&
	    (push(mem, s, &sp, ss_base, mask, s->seg[SEG_SS].selector, 4, fault) ||
	     push(mem, s, &sp, ss_base, mask, r->gpr[GPR_RSP] & 0xffffffffull, 4, fault)))
		goto stack_fault;
	if (push(mem, s, &sp, ss_base, mask, r->rflags & 0xffffffffull, 4, fault) ||
	    push(mem, s, &sp, ss_base, mask, s->seg[SEG_CS].selector, 4, fault) ||
	    push(mem, s, &sp, ss_base, mask, r->rip & 0xffffffffull, 4, fault) ||
	    (ev->has_error && push(mem, s, &sp, ss_base, mask, ev->error, 4, fault)))
		goto stack_fault;
	cs.selector = (uint16_t)((sel & ~3u) | new_cpl);
	s->seg[SEG_CS] = cs;
	if (stack_switch)
		s->seg[SEG_SS] = ss;
	r->gpr[GPR_RSP] = (r->gpr[GPR_RSP] & ~mask) | sp;
	r->rflags = clear_flags_on_entry(r->rflags, type == 0xe);
	r->rip = offset;
	return 0;
stack_fault:
	return fail(why, whylen, "handler stack at 0x%llx not writable",
		    (unsigned long long)(ss_base + sp));
}

static int deliver_long(const struct guest_mem *mem, struct x86_regs *r, struct x86_sregs *s,
			const struct x86_event *ev, unsigned int cpl, struct x86_event *fault,
			char *why, size_t whylen)
{
	uint64_t gate[2], offset, sp;
	struct x86_segment cs;
	unsigned int type, dpl, ist, new_cpl;
	uint16_t sel;

	if ((uint32_t)ev->vector * 16 + 15 > s->idt.limit)
		return raise_fault(fault, X86_GP, idt_error(ev), why, whylen,
				   "vector %u beyond the IDT limit", ev->vector);
	if (sys_read(mem, s, s->idt.base + ev->vector * 16u, gate, 16))
		return fail(why, whylen, "IDT not readable");
	type = (gate[0] >> 40) & 0x1f;
	dpl = (gate[0] >> 45) & 3;
	ist = (gate[0] >> 32) & 7;
	if (!((gate[0] >> 47) & 1))
		return raise_fault(fault, X86_NP, idt_error(ev), why, whylen,
				   "IDT gate %u not present", ev->vector);
	if (type != 0xe && type != 0xf)
		return raise_fault(fault, X86_GP, idt_error(ev), why, whylen,
				   "IDT gate %u has type 0x%x, not a 64-bit gate", ev->vector, type);
	if (ev->soft && dpl < cpl)
		return raise_fault(fault, X86_GP, idt_error(ev), why, whylen,
				   "INT %u gate DPL %u below CPL %u", ev->vector, dpl, cpl);
	sel = (uint16_t)(gate[0] >> 16);
	offset = (gate[0] & 0xffff) | ((gate[0] >> 32) & 0xffff0000ull) | (gate[1] << 32);
	if (!x86_is_canonical(offset))
		return raise_fault(fault, X86_GP, ev->soft ? 0 : 1, why, whylen,
				   "gate %u target 0x%llx is not canonical", ev->vector,
			    (unsigned long long)offset);
	if (load_desc(mem, s, sel, &cs, ev, fault, why, whylen))
		return -EFAULT;
	if (!cs.s || !(cs.type & 8) || !cs.l || cs.db || cs.dpl > cpl)
		return raise_fault(fault, X86_GP, sel_error(ev, sel), why, whylen,
				   "gate %u CS 0x%x is not a 64-bit code segment", ev->vector, sel);
	new_cpl = (cs.type & 4) ? cpl : cs.dpl;

	/* Stack: IST if the gate names one, TSS.RSPn on a privilege change, else current. */
	sp = r->gpr[GPR_RSP];
	if (ist || new_cpl < cpl) {
		uint64_t off = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * new_cpl;

		if (s->tr.unusable || sys_read(mem, s, s->tr.base + off, &sp, 8))
			return fail(why, whylen, "TSS not readable for the stack switch");
	}
	sp &= ~0xfull;
	{
		uint64_t frame[6];
		int n = 0, i;

		/* Highest address first, as the CPU pushes. */
		frame[n++] = s->seg[SEG_SS].selector;
		frame[n++] = r->gpr[GPR_RSP];
		frame[n++] = r->rflags;
		frame[n++] = s->seg[SEG_CS].selector;
		frame[n++] = r->rip;
		if (ev->has_error)
			frame[n++] = ev->error;
		for (i = 0; i < n; i++) {
			sp -= 8;
			if (!x86_is_canonical(sp) ||
			    stack_write(mem, s, sp, &frame[i], 8, fault))
				return fail(why, whylen, "handler stack at 0x%llx not writable",
					    (unsigned long long)sp);
		}
	}
	if (new_cpl < cpl) {
		/* Long mode loads a null SS whose RPL is the new CPL. */
		struct x86_segment *ss = &s->seg[SEG_SS];

		memset(ss, 0, sizeof(*ss));
		ss->selector = (uint16_t)new_cpl;
		ss->dpl = (uint8_t)new_cpl;
		ss->unusable = 1;
	}
	cs.selector = (uint16_t)((sel & ~3u) | new_cpl);
	s->seg[SEG_CS] = cs;
	r->gpr[GPR_RSP] = sp;
	r->rflags = clear_flags_on_entry(r->rflags, type == 0xe);
	r->rip = offset;
	return 0;
}

int x86_deliver_event(const struct guest_mem *mem, struct x86_regs *r,
		      struct x86_sregs *s, const struct x86_event *ev, struct x86_event *fault,
		      char *why, size_t whylen)
{
	unsigned int cpl = x86_cpl_of(s, r->rflags);

	why[0] = '\0';
	/* What is not modelled below goes straight to #DF. */
	*fault = (struct x86_event){ .vector = X86_DF, .has_error = true, .error = 0 };
	if (!(s->cr0 & X86_CR0_PE))
		return deliver_real(mem, r, s, ev, why, whylen);
	/*
	 * A fault's saved RFLAGS has RF set (SDM vol. 3, 17.3.1.1): the IRET
	 * back to the faulting instruction then skips its instruction
	 * breakpoint. Entry clears RF in the handler's own RFLAGS.
	 */
	if (!ev->soft && ev->vector < 32 && ((X86_FAULT_VECTORS >> ev->vector) & 1))
		r->rflags |= X86_RFLAGS_RF;
	if (s->efer & X86_EFER_LMA)
		return deliver_long(mem, r, s, ev, cpl, fault, why, whylen);
	return deliver_prot32(mem, r, s, ev, cpl, fault, why, whylen);
}

enum x86_exception_class x86_exception_class(const struct x86_event *ev)
{
	if (ev->soft || ev->vector >= 32)
		return EXC_BENIGN;	/* INT n, INT3, INTO and external interrupts */
	switch (ev->vector) {
	case X86_DE: case X86_TS: case X86_NP: case X86_SS: case X86_GP:
		return EXC_CONTRIBUTORY;
	case X86_PF:
		return EXC_PAGE_FAULT;
	case X86_DF:
		return EXC_DOUBLE_FAULT;
	default:
		return EXC_BENIGN;
	}
}

bool x86_next_event(const struct x86_event *first, const struct x86_event *fault,
		    struct x86_event *next)
{
	enum x86_exception_class a = x86_exception_class(first), b = x86_exception_class(fault);

	if (a == EXC_DOUBLE_FAULT)
		return false;
	if (b == EXC_DOUBLE_FAULT || (a == EXC_CONTRIBUTORY && b == EXC_CONTRIBUTORY) ||
	    (a == EXC_PAGE_FAULT && b != EXC_BENIGN))
		*next = (struct x86_event){ .vector = X86_DF, .has_error = true, .error = 0 };
	else
		*next = *fault;
	return true;
}
