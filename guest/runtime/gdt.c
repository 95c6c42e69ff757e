// SPDX-License-Identifier: GPL-2.0-only
/*
 * GDT and TSS.
 *
 * One table serves both flavours so that selectors mean the same thing in
 * every test: 64- and 32-bit code for CPL 0 and 3 (the 32-bit CPL-0 segment
 * is the main one in the 32-bit flavour and the compatibility-mode one in the
 * 64-bit flavour), flat data, 16-bit segments for leaving to real mode, and
 * the TSS. USER_CS32, USER_DS, USER_CS64 are consecutive, the order SYSRET
 * expects, should a test want to use it.
 *
 * The TSS provides the CPL-0 stack for exceptions taken at CPL 3 (switched
 * by run_in_user_mode()), the #DF stack (IST1, or a task in 32-bit mode),
 * and an I/O bitmap that lets CPL-3 code reach the console and exit ports
 * without giving it IOPL 3 (which would also allow cli/sti).
 */
#include "internal.h"

/* access byte: P, DPL, S, type; flags nibble: G, D/B, L. */
#define SEG(access, flags, base, limit)					\
	(((uint64_t)(limit) & 0xffff) |						\
	 (((uint64_t)(base) & 0xffffff) << 16) |				\
	 ((uint64_t)(access) << 40) |						\
	 ((((uint64_t)(limit) >> 16) & 0xf) << 48) |				\
	 ((uint64_t)(flags) << 52) |						\
	 ((((uint64_t)(base) >> 24) & 0xff) << 56))

#define CODE_DPL0	0x9a	/* present, code, execute/read */
#define DATA_DPL0	0x92	/* present, data, read/write */
#define CODE_DPL3	0xfa
#define DATA_DPL3	0xf2
#define TSS_AVAIL	0x89	/* present, available 32/64-bit TSS */
#define FLAGS_G32	0xc	/* 4 KiB granularity, 32-bit */
#define FLAGS_G64	0xa	/* 4 KiB granularity, long mode */

#define GDT_ENTRIES	13

uint64_t gdt[GDT_ENTRIES] __attribute__((__aligned__(16))) = {
	[KERNEL_CS64 >> 3] = SEG(CODE_DPL0, FLAGS_G64, 0, 0xfffff),
	[KERNEL_DS >> 3] = SEG(DATA_DPL0, FLAGS_G32, 0, 0xfffff),
	[KERNEL_CS32 >> 3] = SEG(CODE_DPL0, FLAGS_G32, 0, 0xfffff),
	[USER_CS32 >> 3] = SEG(CODE_DPL3, FLAGS_G32, 0, 0xfffff),
	[USER_DS >> 3] = SEG(DATA_DPL3, FLAGS_G32, 0, 0xfffff),
	[USER_CS64 >> 3] = SEG(CODE_DPL3, FLAGS_G64, 0, 0xfffff),
	/* Byte granular, 64 KiB, 16-bit: what real mode expects in the hidden parts. */
	[KERNEL_CS16 >> 3] = SEG(CODE_DPL0, 0, 0, 0xffff),
	[KERNEL_DS16 >> 3] = SEG(DATA_DPL0, 0, 0, 0xffff),
	/* TSS_SEL and DF_TSS_SEL are filled in by gdt_init(). */
};

struct desc_ptr {
	uint16_t limit;
	unsigned long base;
} __attribute__((__packed__));

/* boot.S loads this in 32-bit mode (6 bytes), which is enough below 4 GiB. */
struct desc_ptr gdt_desc = { sizeof(gdt) - 1, (unsigned long)gdt };

#ifdef __x86_64__
struct tss_hw {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __attribute__((__packed__));
#else
struct tss_hw {
	uint16_t link, r0;
	uint32_t esp0;
	uint16_t ss0, r1;
	uint32_t esp1;
	uint16_t ss1, r2;
	uint32_t esp2;
	uint16_t ss2, r3;
	uint32_t cr3, eip, eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, r4, cs, r5, ss, r6, ds, r7, fs, r8, gs, r9, ldt, r10;
	uint16_t trap, iomap_base;
} __attribute__((__packed__));

_Static_assert(sizeof(struct tss_hw) == 104, "32-bit TSS layout");
#endif

/*
 * One bit per port, 1 = #GP at CPL 3; a final 0xff byte is required because
 * the CPU reads two bytes for every access.
 */
#define IOBITMAP_BYTES	(65536 / 8 + 1)

struct tss_area {
	struct tss_hw hw;
	uint8_t iobitmap[IOBITMAP_BYTES];
} __attribute__((__packed__));

/* Global for assembly: user_switch.S switches the CPL-0 stack at TSS_SP0_OFFSET. */
struct tss_area tss __attribute__((__aligned__(128)));

_Static_assert(__builtin_offsetof(struct tss_area, hw) + 4 == TSS_SP0_OFFSET, "TSS SP0");

#ifndef __x86_64__
static struct tss_hw df_tss __attribute__((__aligned__(128)));
#endif

static void allow_ports(unsigned int first, unsigned int count)
{
	for (unsigned int p = first; p < first + count; p++)
		tss.iobitmap[p / 8] &= (uint8_t)~(1u << (p % 8));
}

static void set_tss_desc(unsigned int sel, const void *base, uint32_t limit)
{
	uintptr_t b = (uintptr_t)base;

	gdt[sel >> 3] = SEG(TSS_AVAIL, 0, b, limit);
#ifdef __x86_64__
	gdt[(sel >> 3) + 1] = (uint64_t)b >> 32;	/* long-mode TSS descriptors are 16 bytes */
#endif
}

void gdt_init(void)
{
	struct tss_hw *t = &tss.hw;

	memset(tss.iobitmap, 0xff, sizeof(tss.iobitmap));
	allow_ports(PVHC_PORT_COM1, 8);
	allow_ports(PVHC_PORT_DEBUG_EXIT, 4);
	allow_ports(PVHC_PORT_TEST, 4);
	allow_ports(PVHC_PORT_SHUTDOWN, 1);
	t->iomap_base = __builtin_offsetof(struct tss_area, iobitmap);

#ifdef __x86_64__
	t->rsp[0] = (uintptr_t)ring0_stack_top;
	t->ist[0] = (uintptr_t)df_stack_top;	/* IST1 */
#else
	t->esp0 = (uintptr_t)ring0_stack_top;
	t->ss0 = KERNEL_DS;

	/* The #DF task: a fresh stack, same address space, interrupts off. */
	df_tss.esp0 = df_tss.esp = (uintptr_t)df_stack_top;
	df_tss.ss0 = df_tss.ss = df_tss.ds = df_tss.es = KERNEL_DS;
	df_tss.fs = df_tss.gs = KERNEL_DS;
	df_tss.cs = KERNEL_CS32;
	df_tss.eip = (uintptr_t)df_task_entry;
	df_tss.eflags = 0x2;
	df_tss.cr3 = (uint32_t)read_cr3();
	df_tss.iomap_base = sizeof(df_tss);	/* beyond the limit: no bitmap */
	set_tss_desc(DF_TSS_SEL, &df_tss, sizeof(df_tss) - 1);
#endif
	set_tss_desc(TSS_SEL, &tss, sizeof(tss) - 1);
	__asm__ __volatile__("ltr %w0" : : "r"(TSS_SEL));
}
