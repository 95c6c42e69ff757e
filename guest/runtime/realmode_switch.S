/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The real-mode round trip behind real_mode_call() (32-bit flavour).
 *
 * Real mode can only run below 1 MiB, so realmode.c copies the part between
 * rm_tramp_start and rm_tramp_end to RM_BASE (and the caller's code to
 * RM_CODE) first; that part addresses itself through RM() and relative
 * jumps only. The way down is the architectural one: a far jump to a 16-bit
 * segment of limit 64 KiB (so the hidden segment state is what real mode
 * expects), load the 16-bit data segments, clear PG, clear PE, far jump to
 * real-mode CS 0. Exceptions go through an IVT at 0 (interrupts stay off,
 * so only vectors 0-31 are filled): #UD counts and skips the 3 hypercall
 * bytes, anything else is recorded and aborts the call. The way up sets PE
 * and far-jumps to flat 32-bit code in the image, which restores paging
 * (CR3 and CR4 were never changed), the IDT and the stack.
 */
#include "internal.h"

#ifndef __x86_64__

#define RM(x)	(RM_BASE + (x) - rm_tramp_start)

	.data
	.balign 4
rm_saved_esp:	.long 0
rm_saved_cr0:	.long 0
rm_saved_idt:	.word 0
		.long 0

	.text
	.code32
	.globl	__rm_enter
__rm_enter:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	pushfl
	cli
	movl	%esp, rm_saved_esp
	movl	%cr0, %eax
	movl	%eax, rm_saved_cr0
	sidt	rm_saved_idt
	ljmp	$KERNEL_CS16, $RM(rm_pm16)

rm_back32:
	load_kernel_data_segments
	/*
	 * QEMU 7.2's TCG, as the CPU under a real kvm_amd, sets the accessed
	 * bit in PAE PDPTEs, where it is a must-be-zero bit. KVM checks the
	 * PDPTEs when paging is turned back on and would answer this mov to
	 * CR0 with #GP (with the real-mode IDT still loaded: a triple fault).
	 * The runtime never sets that bit: clear it while paging is off.
	 */
	movl	%cr3, %edx
	andl	$~0x1f, %edx
	andl	$~PTE_A, 0 * 8(%edx)
	andl	$~PTE_A, 1 * 8(%edx)
	andl	$~PTE_A, 2 * 8(%edx)
	andl	$~PTE_A, 3 * 8(%edx)
	movl	rm_saved_cr0, %eax
	movl	%eax, %cr0
	movl	rm_saved_esp, %esp
	lidt	rm_saved_idt
	popfl
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret

	.code16
	.balign 16
	.globl	rm_tramp_start, rm_tramp_end, rm_data
rm_tramp_start:
rm_pm16:
	movw	$KERNEL_DS16, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	%cr0, %eax
	andl	$~CR0_PG, %eax		/* the page we run from is identity-mapped */
	movl	%eax, %cr0
	andl	$~CR0_PE, %eax
	movl	%eax, %cr0
	ljmp	$0, $RM(rm_real)

rm_real:
	xorw	%ax, %ax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %fs
	movw	%ax, %gs
	movw	%ax, %ss
	movl	$RM_STACK_TOP, %esp
	lidtl	RM(rm_ivt_desc)
	xorw	%di, %di
	movw	$RM(rm_exc_stubs), %ax
	movw	$RM_IVT_ENTRIES, %cx
1:	movw	%ax, (%di)
	movw	$0, 2(%di)
	addw	$8, %ax
	addw	$4, %di
	loop	1b
	movw	$RM(rm_ud), UD_VECTOR * 4

	movl	RM(rm_regs + 0), %eax
	movl	RM(rm_regs + 4), %ebx
	movl	RM(rm_regs + 8), %ecx
	movl	RM(rm_regs + 12), %edx
	movl	RM(rm_regs + 16), %esi
	movw	$RM_CODE, %di
	call	*%di
	/* Through CS: the caller's code may have changed DS. */
	movl	%eax, %cs:RM(rm_regs + 0)
	movl	%ebx, %cs:RM(rm_regs + 4)
	movl	%ecx, %cs:RM(rm_regs + 8)
	movl	%edx, %cs:RM(rm_regs + 12)
	movl	%esi, %cs:RM(rm_regs + 16)
rm_to_pm:
	cli
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$KERNEL_CS32, $rm_back32

/* #UD: count it, remember where, skip the hypercall. */
rm_ud:
	pushw	%bp
	movw	%sp, %bp
	pushw	%ax
	incw	%cs:RM(rm_ud_count)
	movw	2(%bp), %ax
	movw	%ax, %cs:RM(rm_ud_ip)
	movw	4(%bp), %ax
	movw	%ax, %cs:RM(rm_ud_cs)
	addw	$PVHC_HYPERCALL_LEN, 2(%bp)
	popw	%ax
	popw	%bp
	iret

/* Any other exception: 8 bytes per vector, so the IVT loop can compute them. */
	.balign 8
rm_exc_stubs:
	.set	vec, 0
	.rept	RM_IVT_ENTRIES
	.balign 8
	pushw	$vec
	jmp	rm_exc_common
	.set	vec, vec + 1
	.endr

rm_exc_common:
	popw	%cs:RM(rm_fault_vector)
	popw	%cs:RM(rm_fault_ip)
	popw	%cs:RM(rm_fault_cs)
	movl	$RM_STACK_TOP, %esp
	jmp	rm_to_pm

	/* Shared with realmode.c as struct rm_data. */
	.balign 4
rm_data:
rm_regs:	.long 0, 0, 0, 0, 0
rm_ud_count:	.word 0
rm_ud_ip:	.word 0
rm_ud_cs:	.word 0
rm_fault_vector: .word RM_NO_FAULT
rm_fault_ip:	.word 0
rm_fault_cs:	.word 0
rm_ivt_desc:	.word RM_IVT_ENTRIES * 4 - 1
		.long 0
rm_tramp_end:

	.code32
#endif /* !__x86_64__ */

	.section .note.GNU-stack, "", @progbits
