/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CPL 0 -> 3 -> 0 round trip behind run_in_user_mode().
 *
 * __user_enter(fn, arg, stack_top) saves the callee-saved registers, points
 * the TSS's CPL-0 stack just below them (so exceptions taken at CPL 3 land
 * there, under the live kernel frames rather than over them) and irets to
 * fn at CPL 3 with the return address user_exit_trampoline on the user
 * stack. When fn returns, the trampoline raises USER_RETURN_VECTOR through
 * a DPL-3 gate; user_return_entry discards that frame, restores the kernel
 * stack and returns fn's result (still in RAX/EAX) to the caller. The saved
 * values are pushed, not kept in fixed variables alone, so a handler may
 * run a nested round trip.
 */
#include "internal.h"

	.data
	.balign 8
user_kernel_sp:
	.skip 8

	.text
#ifdef __x86_64__
	.globl	__user_enter
__user_enter:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushq	user_kernel_sp(%rip)
	pushq	tss + TSS_SP0_OFFSET(%rip)
	movq	%rsp, user_kernel_sp(%rip)
	movq	%rsp, tss + TSS_SP0_OFFSET(%rip)

	/* fn sees RSP = 8 mod 16 with its return address on top, like after a call. */
	leaq	user_exit_trampoline(%rip), %rax
	movq	%rax, -8(%rdx)
	leaq	-8(%rdx), %rax
	pushq	$USER_DS		/* SS */
	pushq	%rax			/* RSP */
	pushq	$0x2			/* RFLAGS: IF=0, IOPL=0 */
	pushq	$USER_CS64		/* CS */
	pushq	%rdi			/* RIP = fn */
	movq	%rsi, %rdi		/* its argument */
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%ebp, %ebp
	iretq

user_exit_trampoline:
	int	$USER_RETURN_VECTOR
	ud2

	.globl	user_return_entry
user_return_entry:
	movq	user_kernel_sp(%rip), %rsp
	/* CPL 3 -> 0 through a 64-bit gate loaded SS with a null selector. */
	movl	$KERNEL_DS, %ecx
	movl	%ecx, %ss
	movl	%ecx, %ds
	movl	%ecx, %es
	popq	tss + TSS_SP0_OFFSET(%rip)
	popq	user_kernel_sp(%rip)
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret

#else /* !__x86_64__ */

	.globl	__user_enter
__user_enter:
	pushl	%ebp
	pushl	%ebx
	pushl	%esi
	pushl	%edi
	pushl	user_kernel_sp
	pushl	tss + TSS_SP0_OFFSET
	movl	%esp, user_kernel_sp
	movl	%esp, tss + TSS_SP0_OFFSET

	movl	28(%esp), %edi		/* fn */
	movl	32(%esp), %esi		/* arg */
	movl	36(%esp), %edx		/* stack top */
	/* fn sees its argument at 4(%esp) and (%esp + 4) 16-byte aligned. */
	movl	$user_exit_trampoline, -20(%edx)
	movl	%esi, -16(%edx)
	leal	-20(%edx), %eax
	/* The CPU would null DS/ES of DPL 0 on the way to CPL 3: load user ones. */
	movl	$USER_DS, %ecx
	movl	%ecx, %ds
	movl	%ecx, %es
	movl	%ecx, %fs
	movl	%ecx, %gs
	pushl	$USER_DS		/* SS */
	pushl	%eax			/* ESP */
	pushl	$0x2			/* EFLAGS: IF=0, IOPL=0 */
	pushl	$USER_CS32		/* CS */
	pushl	%edi			/* EIP = fn */
	xorl	%eax, %eax
	xorl	%ebx, %ebx
	xorl	%ecx, %ecx
	xorl	%edx, %edx
	xorl	%esi, %esi
	xorl	%edi, %edi
	xorl	%ebp, %ebp
	iret

user_exit_trampoline:
	int	$USER_RETURN_VECTOR
	ud2

	.globl	user_return_entry
user_return_entry:
	movl	$KERNEL_DS, %ecx
	movl	%ecx, %ds
	movl	%ecx, %es
	movl	%ecx, %fs
	movl	%ecx, %gs
	movl	user_kernel_sp, %esp
	popl	tss + TSS_SP0_OFFSET
	popl	user_kernel_sp
	popl	%edi
	popl	%esi
	popl	%ebx
	popl	%ebp
	ret

#endif /* !__x86_64__ */

	.section .note.GNU-stack, "", @progbits
