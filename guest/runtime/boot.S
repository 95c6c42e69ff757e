/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Multiboot entry, shared by both flavours.
 *
 * The loader enters _start in 32-bit protected mode with paging off,
 * EAX = 0x2badb002 and EBX = the multiboot information, and promises
 * nothing about the GDT, the stack or interrupts. We load our own GDT, zero
 * .bss (loaders should, but one that does not would leave garbage page
 * tables), build the boot identity map, turn on PAE paging (and long mode in
 * the 64-bit flavour) and call runtime_main(magic, mbi) in C. The page
 * tables must exist before C runs because the 64-bit C code can only run
 * once long mode (which needs paging) is on.
 */
#include "internal.h"

	/* Must lie in the first 8 KiB of the file: the linker script puts it first. */
	.section .multiboot, "a"
	.balign 4
multiboot_header:
	.long	MULTIBOOT_HEADER_MAGIC
	.long	MULTIBOOT_HEADER_FLAGS
	.long	-(MULTIBOOT_HEADER_MAGIC + MULTIBOOT_HEADER_FLAGS)

	/* In .data, not .bss: they are written before .bss is cleared. */
	.data
	.balign 4
	.globl	boot_magic, boot_mbi, boot_cpu_nx
boot_magic:	.long 0
boot_mbi:	.long 0
boot_cpu_nx:	.long 0

msg_no_pae:	.asciz "pvhc runtime: the CPU has no PAE, cannot enable paging\n"
msg_no_lm:	.asciz "pvhc runtime: the CPU has no long mode; boot the 32-bit flavour\n"

	/*
	 * Stacks, each above a guard page that paging_init() unmaps, so that an
	 * overflow faults instead of corrupting whatever lies below.
	 */
	.section .bss.stacks, "aw", @nobits
	.balign 4096
	.globl	boot_stack_guard, boot_stack_top
	.globl	df_stack_guard, df_stack_top, ring0_stack_guard, ring0_stack_top
boot_stack_guard:	.skip 4096
			.skip BOOT_STACK_SIZE
boot_stack_top:
df_stack_guard:		.skip 4096
			.skip DF_STACK_SIZE
df_stack_top:
ring0_stack_guard:	.skip 4096
			.skip RING0_STACK_SIZE
ring0_stack_top:

	/*
	 * Boot page tables. The PAE and long-mode formats of a page directory are
	 * the same (512 eight-byte entries), so both flavours share them: pd_low
	 * maps 0-1 GiB, pd_top 0xfe000000-4 GiB, with 2 MiB pages. The root is
	 * pml4 (64-bit) or pdpt (32-bit PAE, only its first four entries count).
	 */
	.section .bss.pagetables, "aw", @nobits
	.balign 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd_low:	.skip 4096
pd_top:	.skip 4096
#ifndef __x86_64__
	/*
	 * PAE: every PDPTE is present from the start (these two directories
	 * stay empty until map_page() fills them), so that the PDPTEs never
	 * change while paging is on. CPUs cache PDPTEs at the load of CR3, and
	 * a hypervisor may too: kvm_amd's instruction emulator keeps the copy
	 * it took when paging was enabled whenever QEMU's TCG plays the CPU
	 * (see realmode_switch.S), and could not see a PDPTE added later.
	 */
pd_1g:	.skip 4096
pd_2g:	.skip 4096
#endif

#define PDE_LARGE	(PTE_P | PTE_W | PTE_U | PTE_PS)
#define PDE_LARGE_UC	(PDE_LARGE | PTE_PCD | PTE_PWT)
#ifdef __x86_64__
#define PDPTE		(PTE_P | PTE_W | PTE_U)
#else
#define PDPTE		PTE_P	/* PAE PDPTEs: W, U, NX are reserved bits */
#endif

	.section .text.boot, "ax"
	.code32
	.globl	_start
_start:
	cli
	cld
	movl	%eax, boot_magic
	movl	%ebx, boot_mbi

	movl	$__bss_start, %edi
	movl	$_end, %ecx
	subl	%edi, %ecx
	xorl	%eax, %eax
	rep stosb

	lgdt	gdt_desc
	ljmp	$KERNEL_CS32, $1f
1:
	load_kernel_data_segments
	movl	$boot_stack_top, %esp

	call	cpu_check
	call	build_page_tables

	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4

	/* EFER exists only with NX or long mode; do not touch it otherwise. */
	xorl	%ebx, %ebx
	cmpl	$0, boot_cpu_nx
	je	2f
	orl	$EFER_NXE, %ebx
2:
#ifdef __x86_64__
	orl	$EFER_LME, %ebx
#endif
	testl	%ebx, %ebx
	jz	3f
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	%ebx, %eax
	wrmsr
3:
#ifdef __x86_64__
	movl	$pml4, %eax
#else
	movl	$pdpt, %eax
#endif
	movl	%eax, %cr3
	/* WP: supervisor writes honour read-only pages, as tests of them expect. */
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_WP), %eax
	movl	%eax, %cr0

#ifdef __x86_64__
	ljmp	$KERNEL_CS64, $start64

	.code64
start64:
	load_kernel_data_segments
	movl	$boot_stack_top, %esp
	xorl	%ebp, %ebp
	movl	boot_magic(%rip), %edi
	movl	boot_mbi(%rip), %esi
	call	runtime_main
#else
	xorl	%ebp, %ebp
	subl	$8, %esp		/* keep the 16-byte alignment at the call */
	pushl	boot_mbi
	pushl	boot_magic
	call	runtime_main
#endif
4:	cli
	hlt
	jmp	4b

	.code32
/* PAE is required in both flavours, long mode in the 64-bit one; NX is optional. */
cpu_check:
	movl	$1, %eax
	cpuid
	testl	$(1 << 6), %edx
	jz	no_pae
	movl	$0x80000000, %eax
	cpuid
	cmpl	$0x80000001, %eax
	jb	no_ext_leaf
	movl	$0x80000001, %eax
	cpuid
	testl	$(1 << 20), %edx
	jz	1f
	movl	$1, boot_cpu_nx
1:
#ifdef __x86_64__
	testl	$(1 << 29), %edx
	jz	no_lm
#endif
	ret
no_ext_leaf:
#ifdef __x86_64__
no_lm:
	movl	$msg_no_lm, %esi
	jmp	boot_fail
#else
	ret
#endif
no_pae:
	movl	$msg_no_pae, %esi
	jmp	boot_fail

/* Print the string at ESI on COM1 and exit FAIL: C cannot run without paging. */
boot_fail:
	movw	$(PVHC_PORT_COM1 + PVHC_UART_LSR), %dx
1:	inb	%dx, %al
	testb	$PVHC_UART_LSR_THRE, %al
	jz	1b
	lodsb
	testb	%al, %al
	jz	2f
	movw	$PVHC_PORT_COM1, %dx
	outb	%al, %dx
	jmp	boot_fail
2:	movl	$PVHC_EXIT_FAIL, %eax
	movw	$PVHC_PORT_DEBUG_EXIT, %dx
	outl	%eax, %dx
3:	cli
	hlt
	jmp	3b

build_page_tables:
	movl	$pd_low, %edi
	movl	$PDE_LARGE, %eax
	movl	$512, %ecx
1:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	1b

	movl	$(pd_top + ((IDENTITY_TOP_START >> 21) & 511) * 8), %edi
	movl	$(IDENTITY_TOP_START | PDE_LARGE_UC), %eax
	movl	$((0x100000000 - IDENTITY_TOP_START) >> 21), %ecx
2:	movl	%eax, (%edi)
	movl	$0, 4(%edi)
	addl	$0x200000, %eax
	addl	$8, %edi
	loop	2b

	movl	$(pd_low + PDPTE), pdpt
	movl	$(pd_top + PDPTE), pdpt + 3 * 8
#ifndef __x86_64__
	movl	$(pd_1g + PDPTE), pdpt + 1 * 8
	movl	$(pd_2g + PDPTE), pdpt + 2 * 8
#endif
#ifdef __x86_64__
	movl	$(pdpt + PTE_P + PTE_W + PTE_U), pml4
#endif
	ret

	.section .note.GNU-stack, "", @progbits
