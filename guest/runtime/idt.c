// SPDX-License-Identifier: GPL-2.0-only
/*
 * IDT, exception dispatch and the default handlers.
 *
 * All 256 vectors have a gate, so a stray vector is reported like any other
 * exception instead of escalating to a triple fault that would only show up
 * as a silent reset. Gates are interrupt gates (IF cleared) at DPL 0, except
 * USER_RETURN_VECTOR (DPL 3, run_in_user_mode() returns through it) and, in
 * the 32-bit flavour, #DF, a task gate (see ex_stubs.S). In the 64-bit
 * flavour #DF runs on IST1 for the same reason: a fresh stack.
 */
#include "internal.h"

#ifdef __x86_64__
struct gate {
	uint16_t offset0;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset1;
	uint32_t offset2;
	uint32_t reserved;
} __attribute__((__packed__));
#else
struct gate {
	uint16_t offset0;
	uint16_t selector;
	uint8_t zero;
	uint8_t type;
	uint16_t offset1;
} __attribute__((__packed__));
#endif

#define GATE_INTR_DPL0	0x8e	/* present, interrupt gate */
#define GATE_INTR_DPL3	0xee
#define GATE_TASK	0x85	/* present, task gate */

static struct gate idt[256] __attribute__((__aligned__(16)));
static ex_handler_t handlers[256];
/* Exceptions taken while an earlier one is still being reported. */
static unsigned int default_depth;

static void set_gate(unsigned int vector, const void *fn, uint16_t sel, uint8_t type,
		     unsigned int ist)
{
	uintptr_t off = (uintptr_t)fn;
	struct gate *g = &idt[vector];

	g->offset0 = (uint16_t)off;
	g->selector = sel;
	g->type = type;
	g->offset1 = (uint16_t)(off >> 16);
#ifdef __x86_64__
	g->ist = (uint8_t)ist;
	g->offset2 = (uint32_t)(off >> 32);
#endif
}

void idt_load(void)
{
	struct {
		uint16_t limit;
		unsigned long base;
	} __attribute__((__packed__)) desc = { sizeof(idt) - 1, (unsigned long)idt };

	__asm__ __volatile__("lidt %0" : : "m"(desc));
}

void idt_init(void)
{

	for (unsigned int v = 0; v < 256; v++)
		set_gate(v, (const void *)ex_stub_table[v], KERNEL_CS, GATE_INTR_DPL0, 0);
	set_gate(USER_RETURN_VECTOR, user_return_entry, KERNEL_CS, GATE_INTR_DPL3, 0);
#ifdef __x86_64__
	set_gate(DF_VECTOR, (const void *)ex_stub_table[DF_VECTOR], KERNEL_CS, GATE_INTR_DPL0, 1);
#else
	set_gate(DF_VECTOR, NULL, DF_TSS_SEL, GATE_TASK, 0);
#endif
	idt_load();
}

void install_exception_handler(int vector, ex_handler_t fn)
{
	if (vector < 0 || vector > 255 || vector == USER_RETURN_VECTOR)
		guest_panic("install_exception_handler: vector %d cannot be handled", vector);
	handlers[vector] = fn;
}

const char *exception_name(unsigned int vector)
{
	static const char *const names[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
		"#DF", "#CSO", "#TS", "#NP", "#SS", "#GP", "#PF", "#15",
		"#MF", "#AC", "#MC", "#XM", "#VE", "#CP", "#22", "#23",
		"#24", "#25", "#26", "#27", "#HV", "#VC", "#SX", "#31",
	};

	return vector < 32 ? names[vector] : "INT";
}

/* Whether the 3 bytes at va are mapped and are VMCALL or VMMCALL. */
static bool is_hypercall_at(unsigned long va)
{
	const uint8_t *p = (const uint8_t *)va;

	if (virt_to_phys(va) == (uint64_t)-1 ||
	    virt_to_phys(va + PVHC_HYPERCALL_LEN - 1) == (uint64_t)-1)
		return false;
	return p[0] == PVHC_VMCALL_B0 && p[1] == PVHC_VMCALL_B1 &&
	       (p[2] == PVHC_VMCALL_B2 || p[2] == PVHC_VMMCALL_B2);
}

static void default_handler(struct ex_regs *r)
{
	/* A fault while reporting one would recurse: report tersely and stop. */
	if (default_depth++ > 1) {
		puts("Unhandled exception while reporting an exception");
		guest_exit(PVHC_EXIT_FAIL);
	}
	if (r->vector == UD_VECTOR && is_hypercall_at(r->rip)) {
		printf("no KVM hypervisor: hypercall at RIP 0x%lx raised #UD\n", r->rip);
		guest_exit(PVHC_EXIT_SKIP);
	}
	if (r->vector == PF_VECTOR)
		printf("Unhandled exception: vector %lu (%s) at RIP 0x%lx error 0x%lx cr2 0x%lx\n",
		       r->vector, exception_name(r->vector), r->rip, r->error_code, read_cr2());
	else
		printf("Unhandled exception: vector %lu (%s) at RIP 0x%lx error 0x%lx\n",
		       r->vector, exception_name(r->vector), r->rip, r->error_code);
	guest_exit(PVHC_EXIT_FAIL);
}

void ex_dispatch(struct ex_regs *r)
{
	ex_handler_t fn = handlers[r->vector & 255];

	if (fn)
		fn(r);
	else
		default_handler(r);
}
