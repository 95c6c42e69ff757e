/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The 256 IDT entry stubs and the common path to ex_dispatch().
 *
 * Each stub pushes a 0 error code where the CPU pushes none (so every frame
 * has the same shape) and its vector, then jumps to ex_common, which saves
 * the GPRs so that the stack holds a struct ex_regs, calls the C dispatcher
 * with a pointer to it, and returns with whatever the handler left there.
 */
#include "internal.h"

/* Vectors for which the CPU pushes an error code. */
#define HAS_ERROR_CODE(v)	((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
				 (v) == 21 || (v) == 29 || (v) == 30)

	.altmacro
.macro ex_stub vec
	.balign 16
ex_stub_\vec:
	.if !HAS_ERROR_CODE(\vec)
	push	$0
	.endif
	push	$\vec
	jmp	ex_common
.endm

.macro ex_stub_entry vec
#ifdef __x86_64__
	.quad	ex_stub_\vec
#else
	.long	ex_stub_\vec
#endif
.endm

	.text
	.set	vec, 0
	.rept	256
	ex_stub	%vec
	.set	vec, vec + 1
	.endr

	.section .rodata
	.balign 8
	.globl	ex_stub_table
ex_stub_table:
	.set	vec, 0
	.rept	256
	ex_stub_entry %vec
	.set	vec, vec + 1
	.endr

	.text
#ifdef __x86_64__
/*
 * Stack on entry: vector, error code, then the CPU's RIP, CS, RFLAGS, RSP,
 * SS (always all five in long mode, on a 16-byte aligned stack). Push the
 * GPRs in reverse field order so RSP ends up pointing at ex_regs.rax;
 * 22 eight-byte slots keep RSP 16-byte aligned for the call.
 */
ex_common:
	pushq	%r15
	pushq	%r14
	pushq	%r13
	pushq	%r12
	pushq	%r11
	pushq	%r10
	pushq	%r9
	pushq	%r8
	pushq	%rbp
	pushq	%rdi
	pushq	%rsi
	pushq	%rdx
	pushq	%rcx
	pushq	%rbx
	pushq	%rax
	movq	%rsp, %rdi
	cld
	call	ex_dispatch
	popq	%rax
	popq	%rbx
	popq	%rcx
	popq	%rdx
	popq	%rsi
	popq	%rdi
	popq	%rbp
	popq	%r8
	popq	%r9
	popq	%r10
	popq	%r11
	popq	%r12
	popq	%r13
	popq	%r14
	popq	%r15
	addq	$16, %rsp		/* vector and error code */
	iretq

#else /* !__x86_64__ */

/*
 * Stack on entry: vector, error code, EIP, CS, EFLAGS, and ESP, SS only when
 * the privilege level changed. ex_regs wants rsp and ss after rflags, so for
 * an exception from CPL 0 the five words are moved down by two and the two
 * slots filled with the interrupted ESP and the current SS; the CPU-pushed
 * frame from CPL 3 already has the shape. The 7 GPRs go below.
 */
#define R_CS	40	/* offsets in struct ex_regs */
#define R_EFL	44
#define R_ESP	48

ex_common:
	testl	$3, 12(%esp)
	jnz	1f
	subl	$8, %esp
	pushl	%eax
	movl	12(%esp), %eax		/* vector */
	movl	%eax, 4(%esp)
	movl	16(%esp), %eax		/* error code */
	movl	%eax, 8(%esp)
	movl	20(%esp), %eax		/* EIP */
	movl	%eax, 12(%esp)
	movl	24(%esp), %eax		/* CS */
	movl	%eax, 16(%esp)
	movl	28(%esp), %eax		/* EFLAGS */
	movl	%eax, 20(%esp)
	leal	32(%esp), %eax		/* ESP before the exception */
	movl	%eax, 24(%esp)
	xorl	%eax, %eax
	movw	%ss, %ax
	movl	%eax, 28(%esp)
	popl	%eax
1:	pushl	%ebp
	pushl	%edi
	pushl	%esi
	pushl	%edx
	pushl	%ecx
	pushl	%ebx
	pushl	%eax
	pushl	%ds
	pushl	%es
	movl	$KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	leal	8(%esp), %eax
	cld
	pushl	%eax
	call	ex_dispatch
	addl	$4, %esp
	popl	%es
	popl	%ds

	testl	$3, R_CS(%esp)
	jz	2f
	/* To CPL 3: the struct's tail is the iret frame with ESP and SS. */
	popl	%eax
	popl	%ebx
	popl	%ecx
	popl	%edx
	popl	%esi
	popl	%edi
	popl	%ebp
	addl	$8, %esp
	iret

	/*
	 * To CPL 0: iret pops only EIP, CS, EFLAGS, so build them just below the
	 * target ESP, copy the GPRs below that (highest first, as the target
	 * normally lies above the struct and the regions may overlap), switch to
	 * the copy and pop. This is why the target ESP may only move up.
	 */
2:	movl	R_ESP(%esp), %eax
	subl	$12, %eax
	movl	36(%esp), %ebx		/* EIP */
	movl	R_CS(%esp), %ecx
	movl	R_EFL(%esp), %edx
	movl	%ebx, 0(%eax)
	movl	%ecx, 4(%eax)
	movl	%edx, 8(%eax)
	leal	24(%esp), %esi		/* the last GPR, EBP */
	leal	-4(%eax), %edi
	movl	$7, %ecx
	std
	rep movsl
	cld
	leal	-28(%eax), %esp
	popl	%eax
	popl	%ebx
	popl	%ecx
	popl	%edx
	popl	%esi
	popl	%edi
	popl	%ebp
	iret

/*
 * #DF arrives through a task gate: a #DF usually means the stack is gone, and
 * only a task switch gives 32-bit protected mode a known-good one (the
 * counterpart of IST1 in the 64-bit flavour). The interrupted state is in
 * the main TSS; present it as ex_regs, dispatch, write back what the handler
 * changed, and iret back to the interrupted task. The CPU saves this task's
 * EIP after the iret, so the next #DF resumes at the jmp.
 */
#define TSS32_EIP	32
#define TSS32_EFLAGS	36
#define TSS32_EAX	40
#define TSS32_ESP	56
#define TSS32_CS	76
#define TSS32_SS	80

	.globl	df_task_entry
df_task_entry:
	popl	%eax			/* the #DF error code (0) */
	subl	$56, %esp
	movl	$tss, %esi
	movl	TSS32_EAX + 0(%esi), %eax	/* eax */
	movl	%eax, 0(%esp)
	movl	TSS32_EAX + 12(%esi), %eax	/* ebx */
	movl	%eax, 4(%esp)
	movl	TSS32_EAX + 4(%esi), %eax	/* ecx */
	movl	%eax, 8(%esp)
	movl	TSS32_EAX + 8(%esi), %eax	/* edx */
	movl	%eax, 12(%esp)
	movl	TSS32_EAX + 24(%esi), %eax	/* esi */
	movl	%eax, 16(%esp)
	movl	TSS32_EAX + 28(%esi), %eax	/* edi */
	movl	%eax, 20(%esp)
	movl	TSS32_EAX + 20(%esi), %eax	/* ebp */
	movl	%eax, 24(%esp)
	movl	$DF_VECTOR, 28(%esp)
	movl	$0, 32(%esp)
	movl	TSS32_EIP(%esi), %eax
	movl	%eax, 36(%esp)
	movl	TSS32_CS(%esi), %eax
	movl	%eax, 40(%esp)
	movl	TSS32_EFLAGS(%esi), %eax
	movl	%eax, 44(%esp)
	movl	TSS32_ESP(%esi), %eax
	movl	%eax, 48(%esp)
	movl	TSS32_SS(%esi), %eax
	movl	%eax, 52(%esp)
	pushl	%esp
	call	ex_dispatch
	addl	$4, %esp
	movl	$tss, %esi
	movl	0(%esp), %eax
	movl	%eax, TSS32_EAX + 0(%esi)
	movl	4(%esp), %eax
	movl	%eax, TSS32_EAX + 12(%esi)
	movl	8(%esp), %eax
	movl	%eax, TSS32_EAX + 4(%esi)
	movl	12(%esp), %eax
	movl	%eax, TSS32_EAX + 8(%esi)
	movl	16(%esp), %eax
	movl	%eax, TSS32_EAX + 24(%esi)
	movl	20(%esp), %eax
	movl	%eax, TSS32_EAX + 28(%esi)
	movl	24(%esp), %eax
	movl	%eax, TSS32_EAX + 20(%esi)
	movl	36(%esp), %eax
	movl	%eax, TSS32_EIP(%esi)
	movl	40(%esp), %eax
	movl	%eax, TSS32_CS(%esi)
	movl	44(%esp), %eax
	movl	%eax, TSS32_EFLAGS(%esi)
	movl	48(%esp), %eax
	movl	%eax, TSS32_ESP(%esi)
	movl	52(%esp), %eax
	movl	%eax, TSS32_SS(%esi)
	addl	$56, %esp
	iret
	jmp	df_task_entry

#endif /* !__x86_64__ */

	.section .note.GNU-stack, "", @progbits
