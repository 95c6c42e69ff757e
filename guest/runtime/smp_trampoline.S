/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Where an application processor starts. smp_start_aps() copies
 * [ap_trampoline, ap_trampoline_end) to SMP_TRAMPOLINE and fills in
 * ap_tramp_gdt; the SIPI starts the AP there in real mode with CS =
 * SMP_TRAMPOLINE >> 4, IP = 0. It loads the runtime's GDT, enters protected
 * mode and jumps into the image (identity-mapped, so its addresses are also
 * physical), which takes the BSP's paging setup and calls ap_main(n) on a
 * stack of its own; n is the AP's CPU number, taken in arrival order.
 */
#include "internal.h"

	.section .text, "ax"
	.code16
	.globl	ap_trampoline, ap_trampoline_end, ap_tramp_gdt
ap_trampoline:
	cli
	cld
	movw	%cs, %ax
	movw	%ax, %ds
	lgdtl	ap_tramp_gdt - ap_trampoline
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$KERNEL_CS32, $ap_start32
	.balign	4
ap_tramp_gdt:
	.word	0		/* limit, base: the runtime's GDT */
	.long	0
ap_trampoline_end:

	.code32
ap_start32:
	load_kernel_data_segments
	movl	ap_cr4, %eax
	movl	%eax, %cr4
	movl	ap_efer, %eax
	testl	%eax, %eax
	jz	1f
	xorl	%edx, %edx
	movl	$MSR_EFER, %ecx
	wrmsr
1:	movl	ap_cr3, %eax
	movl	%eax, %cr3
	movl	ap_cr0, %eax
	movl	%eax, %cr0
#ifdef __x86_64__
	ljmp	$KERNEL_CS64, $ap_start64

	.code64
ap_start64:
	movl	$1, %eax
	lock xaddl %eax, ap_next_cpu
	movq	ap_stacks(, %rax, 8), %rsp
	xorl	%ebp, %ebp
	movl	%eax, %edi
	call	ap_main
#else
	movl	$1, %eax
	lock xaddl %eax, ap_next_cpu
	movl	ap_stacks(, %eax, 4), %esp
	xorl	%ebp, %ebp
	subl	$12, %esp		/* keep the 16-byte alignment at the call */
	pushl	%eax
	call	ap_main
#endif
2:	cli
	hlt
	jmp	2b

	.section .note.GNU-stack, "", @progbits
