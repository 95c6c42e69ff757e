/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * compat_mode_vmcall(): a hypercall from compatibility mode (64-bit flavour).
 *
 * The host must treat it as a 32-bit hypercall: use only the low halves of
 * RAX, RBX, RCX, RDX, RSI and truncate the result. To make that observable
 * the registers are loaded with their full 64-bit values in 64-bit mode and
 * nothing touches them between there and the VMCALL: the switch is a far
 * jump through memory to a CPL-0 code segment with L=0, D=1, and back with a
 * direct far jump, neither of which reads or writes a GPR. (The SDM leaves
 * the upper halves undefined across the switch; in practice CPUs and
 * emulators keep them, which is what a test of the host wants to see.)
 */
#include "internal.h"

#ifdef __x86_64__
	.data
	.balign 8
compat_regs:	.quad 0
compat_rsp:	.quad 0
compat_far:	.long compat_entry	/* m16:32 operand for the far jump */
		.word KERNEL_CS32

	.text
	.globl	compat_mode_vmcall
compat_mode_vmcall:
	pushq	%rbp
	pushq	%rbx
	pushq	%r12
	pushq	%r13
	pushq	%r14
	pushq	%r15
	pushfq
	cli
	movq	%rdi, compat_regs(%rip)
	movq	%rsp, compat_rsp(%rip)
	/* Compatibility mode uses segments again: make sure they are flat. */
	movl	$KERNEL_DS, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movq	0(%rdi), %rax
	movq	8(%rdi), %rbx
	movq	16(%rdi), %rcx
	movq	24(%rdi), %rdx
	movq	32(%rdi), %rsi
	ljmpl	*compat_far(%rip)

	.code32
compat_entry:
	.globl	compat_vmcall_insn
compat_vmcall_insn:
	.byte	PVHC_VMCALL_B0, PVHC_VMCALL_B1, PVHC_VMCALL_B2
	ljmp	$KERNEL_CS64, $compat_back

	.code64
compat_back:
	movq	compat_regs(%rip), %r8
	movq	%rax, 0(%r8)
	movq	%rbx, 8(%r8)
	movq	%rcx, 16(%r8)
	movq	%rdx, 24(%r8)
	movq	%rsi, 32(%r8)
	movq	compat_rsp(%rip), %rsp
	popfq
	popq	%r15
	popq	%r14
	popq	%r13
	popq	%r12
	popq	%rbx
	popq	%rbp
	ret
#endif

	.section .note.GNU-stack, "", @progbits
