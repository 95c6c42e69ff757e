// SPDX-License-Identifier: GPL-2.0-only
/*
 * Negative controls for scripts/check-hypercall-asm.py: the same call sites
 * as hypercall_sites.c, compiled against a copy of the hypercall API with
 * one deliberate defect, chosen by -D:
 *
 *   BROKEN_VMMCALL   emits AMD's VMMCALL (0f 01 d9) instead of VMCALL
 *   BROKEN_SWAP      p1 and p2 in each other's registers (RCX, RBX)
 *   BROKEN_RESULT    the result taken from RDI instead of RAX
 *   BROKEN_NARROW    p1..p4 cut to 32 bits (caught only by 64-bit builds)
 *   BROKEN_NOMEMORY  no "memory" clobber (caught only where the optimizer
 *                    exploits it: gcc -O2, -Os)
 *   BROKEN_NOVOLATILE  no __volatile__ (caught where the optimizer merges
 *                    or drops the asm: -O2, -Os)
 *
 * The checker must reject each of these; if it accepted one, it would
 * accept the same defect in the real API.
 */
#include <pvhc/hypercall.h>

#if defined(BROKEN_VMMCALL) + defined(BROKEN_SWAP) + defined(BROKEN_RESULT) + \
	defined(BROKEN_NARROW) + defined(BROKEN_NOMEMORY) + \
	defined(BROKEN_NOVOLATILE) != 1
#error "define exactly one BROKEN_* (see the comment above)"
#endif

#ifdef BROKEN_VMMCALL
#define INSN PVHC_VMMCALL_ASM
#else
#define INSN PVHC_VMCALL_ASM
#endif

#ifdef BROKEN_SWAP
#define R1 "c"
#define R2 "b"
#else
#define R1 "b"
#define R2 "c"
#endif

#ifdef BROKEN_RESULT
#define OUT "=D"
#else
#define OUT "=a"
#endif

#ifdef BROKEN_NARROW
#define ARG(x) ((unsigned int)(x))
#else
#define ARG(x) (x)
#endif

/* "cc" is a no-op for x86 asm; it keeps the clobber list non-empty. */
#ifdef BROKEN_NOMEMORY
#define CLOBBER "cc"
#else
#define CLOBBER "memory"
#endif

#ifdef BROKEN_NOVOLATILE
#define VOLATILE
#else
#define VOLATILE __volatile__
#endif

#define BROKEN_INLINE static inline __attribute__((__always_inline__, __unused__))

BROKEN_INLINE long kvm_hypercall0(unsigned int nr)
{
	long ret;

	__asm__ VOLATILE(INSN : OUT(ret) : "a"((unsigned long)nr) : CLOBBER);
	return ret;
}

BROKEN_INLINE long kvm_hypercall1(unsigned int nr, unsigned long p1)
{
	long ret;

	__asm__ VOLATILE(INSN : OUT(ret)
			     : "a"((unsigned long)nr), R1(ARG(p1))
			     : CLOBBER);
	return ret;
}

BROKEN_INLINE long kvm_hypercall2(unsigned int nr, unsigned long p1,
				  unsigned long p2)
{
	long ret;

	__asm__ VOLATILE(INSN : OUT(ret)
			     : "a"((unsigned long)nr), R1(ARG(p1)), R2(ARG(p2))
			     : CLOBBER);
	return ret;
}

BROKEN_INLINE long kvm_hypercall3(unsigned int nr, unsigned long p1,
				  unsigned long p2, unsigned long p3)
{
	long ret;

	__asm__ VOLATILE(INSN : OUT(ret)
			     : "a"((unsigned long)nr), R1(ARG(p1)), R2(ARG(p2)),
			       "d"(ARG(p3))
			     : CLOBBER);
	return ret;
}

BROKEN_INLINE long kvm_hypercall4(unsigned int nr, unsigned long p1,
				  unsigned long p2, unsigned long p3,
				  unsigned long p4)
{
	long ret;

	__asm__ VOLATILE(INSN : OUT(ret)
			     : "a"((unsigned long)nr), R1(ARG(p1)), R2(ARG(p2)),
			       "d"(ARG(p3)), "S"(ARG(p4))
			     : CLOBBER);
	return ret;
}

#include "sites.h"
