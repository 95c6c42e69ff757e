/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Call sites of kvm_hypercall0..4 for scripts/check-hypercall-asm.py.
 *
 * Included by hypercall_sites.c (the real API) and hypercall_broken.c (a
 * deliberately wrong copy), so both compile to the same sites and a verdict
 * that differs can only come from the API itself.
 *
 * Each site is one out-of-line function around its hypercall (two for the
 * site_twice* sites), and next to it a description of what the hypercall's registers must hold, stored in
 * the object's .pvhc_sites section. The description is built by the
 * preprocessor from the very tokens the call uses, so the checker and the
 * code cannot disagree about a constant. Its language (one site per line):
 *
 *   NAME nr=V [p1=V ... p4=V] [before=SYM:V] [sink=SYM] [ret=result|SYM|V]
 *        [count=N]
 *
 * where V is an integer literal, argN (parameter N of the site function),
 * argN[K] or SYM[K] (word K of the array that parameter N, or the global
 * SYM, points to / is), optionally followed by .u32 (low 32 bits, zero-
 * extended: an unsigned int widened to unsigned long). before= asks for a
 * store of V to SYM ahead of the hypercall, sink= for the result to be
 * stored to SYM after it, ret= for what the function returns: the
 * hypercall's result (the default), SYM re-read after the hypercall, or a
 * constant; count= for how many hypercalls the function makes (default 1).
 */
#ifndef PVHC_SELFTEST_SITES_H
#define PVHC_SELFTEST_SITES_H

#define SITE_STR_(x) #x
#define SITE_STR(x) SITE_STR_(x)

/*
 * Out of line, and (gcc) not cloned or specialized: the checker finds a
 * site by its symbol, and a constant-propagated clone of a parameter site
 * would no longer test parameters. clang has no noipa and never clones
 * functions without callers.
 */
#ifdef __clang__
#define SITE_FN __attribute__((__noinline__))
#else
#define SITE_FN __attribute__((__noinline__, __noipa__))
#endif

#define SITE_DESC(fn, text) \
	__attribute__((__section__(".pvhc_sites"), __used__)) \
	static const char fn##_desc[] = #fn " " text "\n"

/*
 * Constants: every argument of every site a different value. In 64-bit
 * builds each has distinct non-zero upper and lower halves, so a value cut
 * to 32 bits anywhere on the way to its register is caught; none fits a
 * sign-extended imm32, so the compiler has to materialize all 64 bits.
 */
#if __SIZEOF_LONG__ == 8
#define C1_P1 0x1a11b0011c11d001UL
#define C2_P1 0x2a21b0012c21d001UL
#define C2_P2 0x2a22b0022c22d002UL
#define C3_P1 0x3a31b0013c31d001UL
#define C3_P2 0x3a32b0023c32d002UL
#define C3_P3 0x3a33b0033c33d003UL
#define C4_P1 0x4a41b0014c41d001UL
#define C4_P2 0x4a42b0024c42d002UL
#define C4_P3 0x4a43b0034c43d003UL
#define C4_P4 0x4a44b0044c44d004UL
/* Values compilers load in other ways: xor, sign-/zero-extended imm32. */
#define EDGE_ALL_ONES 0xffffffffffffffffUL
#define EDGE_BIT31 0x80000000UL
#define EDGE_SEXT31 0xffffffff80000000UL
#define MIX_K 0x5a5a00005b5b0001UL
#else
#define C1_P1 0x1c11d001UL
#define C2_P1 0x2c21d001UL
#define C2_P2 0x2c22d002UL
#define C3_P1 0x3c31d001UL
#define C3_P2 0x3c32d002UL
#define C3_P3 0x3c33d003UL
#define C4_P1 0x4c41d001UL
#define C4_P2 0x4c42d002UL
#define C4_P3 0x4c43d003UL
#define C4_P4 0x4c44d004UL
#define EDGE_ALL_ONES 0xffffffffUL
#define EDGE_BIT31 0x80000000UL
#define EDGE_SEXT31 0x7fffffffUL
#define MIX_K 0x5b5b0001UL
#endif
/* nr is an unsigned int in every build. */
#define C0_NR 0x50480a00U
#define C1_NR 0x50480a01U
#define C2_NR 0x50480a02U
#define C3_NR 0x50480a03U
#define C4_NR 0x50480a04U
#define MIX_NR 0x50480a05U
#define BARRIER_NR 0x50480a06U
#define SIDE_NR 0x50480a07U

/* Constant sites: the description is the call's own arguments. */
#define CONST_SITE(fn, call, desc)		\
	SITE_DESC(fn, desc);			\
	long fn(void);				\
	SITE_FN long fn(void)			\
	{					\
		return call;			\
	}
#define D_NR(nr) "nr=" SITE_STR(nr)
#define D_P(i, v) " p" #i "=" SITE_STR(v)

CONST_SITE(site_const0, kvm_hypercall0(C0_NR), D_NR(C0_NR))
CONST_SITE(site_const1, kvm_hypercall1(C1_NR, C1_P1), D_NR(C1_NR) D_P(1, C1_P1))
CONST_SITE(site_const2, kvm_hypercall2(C2_NR, C2_P1, C2_P2),
	   D_NR(C2_NR) D_P(1, C2_P1) D_P(2, C2_P2))
CONST_SITE(site_const3, kvm_hypercall3(C3_NR, C3_P1, C3_P2, C3_P3),
	   D_NR(C3_NR) D_P(1, C3_P1) D_P(2, C3_P2) D_P(3, C3_P3))
CONST_SITE(site_const4, kvm_hypercall4(C4_NR, C4_P1, C4_P2, C4_P3, C4_P4),
	   D_NR(C4_NR) D_P(1, C4_P1) D_P(2, C4_P2) D_P(3, C4_P3) D_P(4, C4_P4))
CONST_SITE(site_const_edge,
	   kvm_hypercall4(0U, 0UL, EDGE_ALL_ONES, EDGE_BIT31, EDGE_SEXT31),
	   D_NR(0U) D_P(1, 0UL) D_P(2, EDGE_ALL_ONES) D_P(3, EDGE_BIT31)
	   D_P(4, EDGE_SEXT31))

/*
 * Parameters: the values arrive in the calling convention's registers (or,
 * -m32, on the stack) and have to be moved into KVM's. nr is an unsigned
 * int parameter: its register's upper half is garbage in the 64-bit ABI,
 * and the API must zero-extend it, hence .u32.
 */
SITE_DESC(site_param0, "nr=arg0.u32");
long site_param0(unsigned int nr);
SITE_FN long site_param0(unsigned int nr)
{
	return kvm_hypercall0(nr);
}

SITE_DESC(site_param1, "nr=arg0.u32 p1=arg1");
long site_param1(unsigned int nr, unsigned long a);
SITE_FN long site_param1(unsigned int nr, unsigned long a)
{
	return kvm_hypercall1(nr, a);
}

SITE_DESC(site_param2, "nr=arg0.u32 p1=arg1 p2=arg2");
long site_param2(unsigned int nr, unsigned long a, unsigned long b);
SITE_FN long site_param2(unsigned int nr, unsigned long a, unsigned long b)
{
	return kvm_hypercall2(nr, a, b);
}

SITE_DESC(site_param3, "nr=arg0.u32 p1=arg1 p2=arg2 p3=arg3");
long site_param3(unsigned int nr, unsigned long a, unsigned long b,
		 unsigned long c);
SITE_FN long site_param3(unsigned int nr, unsigned long a, unsigned long b,
			 unsigned long c)
{
	return kvm_hypercall3(nr, a, b, c);
}

SITE_DESC(site_param4, "nr=arg0.u32 p1=arg1 p2=arg2 p3=arg3 p4=arg4");
long site_param4(unsigned int nr, unsigned long a, unsigned long b,
		 unsigned long c, unsigned long d);
SITE_FN long site_param4(unsigned int nr, unsigned long a, unsigned long b,
			 unsigned long c, unsigned long d)
{
	return kvm_hypercall4(nr, a, b, c, d);
}

/*
 * Parameters in reverse: in the 64-bit ABI rdi, rsi, rdx, rcx, r8 must
 * become rsi, rdx, rcx, rbx, rax -- a cycle the compiler has to break with
 * a scratch register, the shuffle most likely to go wrong.
 */
SITE_DESC(site_param_rev4, "nr=arg4.u32 p1=arg3 p2=arg2 p3=arg1 p4=arg0");
long site_param_rev4(unsigned long a, unsigned long b, unsigned long c,
		     unsigned long d, unsigned long e);
SITE_FN long site_param_rev4(unsigned long a, unsigned long b, unsigned long c,
			     unsigned long d, unsigned long e)
{
	return kvm_hypercall4((unsigned int)e, d, c, b, a);
}

/* Constants and parameters mixed, one parameter in two registers. */
SITE_DESC(site_mixed3, D_NR(MIX_NR) " p1=arg0" D_P(2, MIX_K) " p3=arg0");
long site_mixed3(unsigned long x);
SITE_FN long site_mixed3(unsigned long x)
{
	return kvm_hypercall3(MIX_NR, x, MIX_K, x);
}

/* Memory: every argument loaded through a pointer parameter. */
SITE_DESC(site_ptr4,
	  "nr=arg0[0].u32 p1=arg0[1] p2=arg0[2] p3=arg0[3] p4=arg0[4]");
long site_ptr4(const unsigned long *v);
SITE_FN long site_ptr4(const unsigned long *v)
{
	return kvm_hypercall4((unsigned int)v[0], v[1], v[2], v[3], v[4]);
}

/*
 * Memory: globals, reached through relocations (and, -m32 -fPIC, the GOT
 * pointer). Hidden, so that a PIC build addresses them directly instead of
 * loading their address from the GOT, and not static, so the compiler
 * cannot fold their values.
 */
#define SITE_GLOBAL __attribute__((__visibility__("hidden")))
SITE_GLOBAL extern unsigned int g_nr;
SITE_GLOBAL extern unsigned long g_in[4];
SITE_GLOBAL extern unsigned long g_flag, g_sink;
SITE_GLOBAL unsigned int g_nr;
SITE_GLOBAL unsigned long g_in[4];
SITE_GLOBAL unsigned long g_flag, g_sink;

SITE_DESC(site_global3, "nr=g_nr[0].u32 p1=g_in[2] p2=g_in[0] p3=g_in[3]");
long site_global3(void);
SITE_FN long site_global3(void)
{
	return kvm_hypercall3(g_nr, g_in[2], g_in[0], g_in[3]);
}

/*
 * The "memory" clobber: a hypercall may read and write guest memory, so a
 * store before it must happen before it, and a global read after it must
 * be read again. Without the clobber an optimizing compiler is free to sink
 * the store past the hypercall and to return the flag without a load. One
 * site per arity, since each of the five asm statements needs the clobber.
 */
#define BARRIER_SITE(fn, flag, call, desc)				\
	SITE_DESC(fn, desc " before=g_flag:" SITE_STR(flag)		\
		  " sink=g_sink ret=g_flag");				\
	long fn(unsigned long x);					\
	SITE_FN long fn(unsigned long x)				\
	{								\
		g_flag = flag;						\
		g_sink = (unsigned long)call;				\
		return (long)g_flag;					\
	}

BARRIER_SITE(site_barrier0, 0x6b6b0000UL, kvm_hypercall0((unsigned int)x),
	     "nr=arg0.u32")
BARRIER_SITE(site_barrier1, 0x6b6b0001UL, kvm_hypercall1(BARRIER_NR, x),
	     D_NR(BARRIER_NR) " p1=arg0")
BARRIER_SITE(site_barrier2, 0x6b6b0002UL,
	     kvm_hypercall2(BARRIER_NR, x, C2_P2),
	     D_NR(BARRIER_NR) " p1=arg0" D_P(2, C2_P2))
BARRIER_SITE(site_barrier3, 0x6b6b0003UL,
	     kvm_hypercall3(BARRIER_NR, x, C3_P2, C3_P3),
	     D_NR(BARRIER_NR) " p1=arg0" D_P(2, C3_P2) D_P(3, C3_P3))
BARRIER_SITE(site_barrier4, 0x6b6b0004UL,
	     kvm_hypercall4(BARRIER_NR, x, C4_P2, C4_P3, C4_P4),
	     D_NR(BARRIER_NR) " p1=arg0" D_P(2, C4_P2) D_P(3, C4_P3)
	     D_P(4, C4_P4))

/*
 * Side effects: a hypercall is not a pure function of its registers. Two
 * identical calls are two hypercalls, and one whose result is ignored still
 * happens; without __volatile__ the compiler would merge or delete them.
 */
#define TWICE_SITE(fn, call, desc)				\
	SITE_DESC(fn, desc " count=2");				\
	long fn(unsigned long x);				\
	SITE_FN long fn(unsigned long x)			\
	{							\
		call;						\
		return call;					\
	}
#define DISCARD_SITE(fn, call, desc)				\
	SITE_DESC(fn, desc " ret=0");				\
	long fn(unsigned long x);				\
	SITE_FN long fn(unsigned long x)			\
	{							\
		call;						\
		return 0;					\
	}
/* The same calls for both: x as nr or p1, the other arguments constant. */
#define SIDE_EFFECT_SITES(n, call, desc)			\
	TWICE_SITE(site_twice##n, call, desc)			\
	DISCARD_SITE(site_discard##n, call, desc)

SIDE_EFFECT_SITES(0, kvm_hypercall0((unsigned int)x), "nr=arg0.u32")
SIDE_EFFECT_SITES(1, kvm_hypercall1(SIDE_NR, x), D_NR(SIDE_NR) " p1=arg0")
SIDE_EFFECT_SITES(2, kvm_hypercall2(SIDE_NR, x, C2_P2),
		  D_NR(SIDE_NR) " p1=arg0" D_P(2, C2_P2))
SIDE_EFFECT_SITES(3, kvm_hypercall3(SIDE_NR, x, C3_P2, C3_P3),
		  D_NR(SIDE_NR) " p1=arg0" D_P(2, C3_P2) D_P(3, C3_P3))
SIDE_EFFECT_SITES(4, kvm_hypercall4(SIDE_NR, x, C4_P2, C4_P3, C4_P4),
		  D_NR(SIDE_NR) " p1=arg0" D_P(2, C4_P2) D_P(3, C4_P3)
		  D_P(4, C4_P4))

#endif /* PVHC_SELFTEST_SITES_H */
