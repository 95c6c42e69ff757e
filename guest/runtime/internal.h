/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Declarations shared by the runtime's own files, C and assembly. Nothing
 * here is API for payloads: that is <pvhc/runtime.h>.
 */
#ifndef _PVHC_RUNTIME_INTERNAL_H
#define _PVHC_RUNTIME_INTERNAL_H

#include <pvhc/runtime.h>

#define MULTIBOOT_HEADER_MAGIC		0x1badb002
/* Bit 0: modules page-aligned; bit 1: give us memory information. */
#define MULTIBOOT_HEADER_FLAGS		0x00000003
#define MULTIBOOT_BOOTLOADER_MAGIC	0x2badb002

#define CR0_PE		(1 << 0)
#define CR0_WP		(1 << 16)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define EFER_NXE	(1 << 11)

/* Stacks live in the image's .bss, each above an unmapped guard page. */
#define BOOT_STACK_SIZE		(16 * 1024)
#define DF_STACK_SIZE		(8 * 1024)	/* #DF: IST1 (64) or the #DF task (32) */
#define RING0_STACK_SIZE	(8 * 1024)	/* TSS RSP0 outside run_in_user_mode() */

/* The identity map built at boot (2 MiB pages). */
#define IDENTITY_LOW_END	0x40000000	/* 0 .. 1 GiB */
#define IDENTITY_TOP_START	0xfe000000	/* .. 4 GiB: APIC, I/O APIC, HPET, ROM */

/* real_mode_call(): below 1 MiB, clear of the loader's data in practice. */
#define RM_IVT_ENTRIES	32		/* exceptions only, interrupts stay off */
#define RM_STACK_TOP	0x8000		/* grows down into 0x7000-0x7fff */
#define RM_BASE		0x8000		/* trampoline code and data */
#define RM_CODE		0x8800		/* the caller's blob, then a ret */
#define RM_END		0x9000
#define RM_NO_FAULT	0xffff

/* RSP0 (64-bit) and ESP0 (32-bit) both sit at offset 4 of the TSS. */
#define TSS_SP0_OFFSET	4

#ifdef __ASSEMBLER__
/* Every data segment register := the flat kernel data selector (clobbers EAX). */
.macro load_kernel_data_segments
	movl	$KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %fs
	movl	%eax, %gs
	movl	%eax, %ss
.endm
#endif

#ifndef __ASSEMBLER__

/* boot.S */
extern uint32_t boot_magic, boot_mbi, boot_cpu_nx;
extern char boot_stack_guard[], boot_stack_top[];
extern char df_stack_guard[], df_stack_top[];
extern char ring0_stack_guard[], ring0_stack_top[];
extern char __bss_start[], _end[];
void runtime_main(unsigned long magic, unsigned long mbi);

/* ex_stubs.S and user_switch.S */
extern const unsigned long ex_stub_table[256];
#ifndef __x86_64__
extern const char df_task_entry[];
#endif
extern const char user_return_entry[];
long __user_enter(long (*fn)(void *), void *arg, void *stack_top);

/* C entry points called from assembly. */
void ex_dispatch(struct ex_regs *regs);

/* Set-up steps, in the order start.c runs them. */
void console_init(void);
void gdt_init(void);
void idt_init(void);
void multiboot_init(uint32_t mbi_phys);
void page_alloc_init(uint64_t start, uint64_t end);
void paging_init(void);
void cmdline_init(void);

/* The lowest physical address the page pool may use, and its limit. */
void multiboot_free_range(uint64_t *start, uint64_t *end);
/* Whether any loaded module overlaps [start, end). */
bool multiboot_overlaps(uint64_t start, uint64_t end);

/* console.c */
void serial_putc(char c);

/* alloc.c */
unsigned long page_pool_free_pages(void);

/* idt.c: load the IDT on an AP */
void idt_load(void);

/* smp.c: serialize console output between CPUs; unlock with lock's result */
int console_lock(void);
void console_unlock(int locked);

#endif /* !__ASSEMBLER__ */
#endif /* _PVHC_RUNTIME_INTERNAL_H */
