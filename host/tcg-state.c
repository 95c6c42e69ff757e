// SPDX-License-Identifier: GPL-2.0-only
/*
 * Reading and writing the CPU state that Unicorn's register API cannot: see
 * tcg-state.h. Every offset below is checked by tcg_state_init().
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "tcg-state.h"

/* Unicorn 2.1's struct uc_context (uc_priv.h): a header, then the CPU env. */
struct uc_context_mirror {
	size_t context_size;
	uc_mode mode;
	uc_arch arch;
	int snapshot_level;
	char data[];
};

/* QEMU 5.0 CPUX86State, x86_64 target (target/i386/cpu.h). */
#define ENV_REGS	0	/* target_ulong regs[16] */
#define ENV_EIP		128
#define ENV_EFLAGS	136
#define ENV_HFLAGS	176	/* uint32_t */
#define ENV_HFLAGS2	180	/* uint32_t, right after hflags */
#define HF2_NMI_MASK	(1u << 2)
#define ENV_SEGS	184	/* SegmentCache segs[6], then ldt, tr, gdt, idt */
#define ENV_SEGCACHE_SIZE 24	/* selector u32, pad, base u64, limit u32, flags u32 */
#define ENV_LDT		(ENV_SEGS + 6 * ENV_SEGCACHE_SIZE)
#define ENV_TR		(ENV_LDT + ENV_SEGCACHE_SIZE)
#define ENV_GDT		(ENV_TR + ENV_SEGCACHE_SIZE)
#define ENV_IDT		(ENV_GDT + ENV_SEGCACHE_SIZE)
#define ENV_CR		(ENV_IDT + ENV_SEGCACHE_SIZE)	/* target_ulong cr[5] */
/* then int32 a20_mask, BNDReg bnd_regs[4], BNDCSReg bndcs_regs, u64 msr_bndcfgs */
#define ENV_EFER	(ENV_CR + 5 * 8 + 8 + 4 * 16 + 16 + 8)
/* error_code sits 176 bytes before the end of the saved part (retaddr). */
#define ENV_ERROR_CODE_FROM_END	176
#define ENV_EXC_IS_INT_FROM_END	172
#define ENV_DR_FROM_END		160	/* target_ulong dr[8] */
#define ENV_OLD_EXC_FROM_END	64	/* int old_exception: the exception in flight */
/* The union of 4 host pointers (CPUBreakpoint/CPUWatchpoint) after dr[8]. */
#define ENV_BKPT_PTRS_FROM_END	(ENV_DR_FROM_END - 8 * 8)
#define ENV_BKPT_PTRS_SIZE	(4 * 8)

/* hflags bits (HF_*_SHIFT in QEMU) */
#define HF_CPL_MASK	(3u << 0)
#define HF_INHIBIT_IRQ	(1u << 3)
#define HF_CS32		(1u << 4)
#define HF_SS32		(1u << 5)
#define HF_ADDSEG	(1u << 6)
#define HF_PE		(1u << 7)
#define HF_LMA		(1u << 14)
#define HF_CS64		(1u << 15)

/* SegmentCache.flags holds the descriptor's high dword; these are its attribute bits. */
#define DESC_TYPE_SHIFT	8
#define DESC_S		(1u << 12)
#define DESC_DPL_SHIFT	13
#define DESC_P		(1u << 15)
#define DESC_AVL	(1u << 20)
#define DESC_L		(1u << 21)
#define DESC_B		(1u << 22)
#define DESC_G		(1u << 23)

static uint64_t env_u64(const struct tcg_state *ts, size_t off)
{
	uint64_t v;

	memcpy(&v, ts->env + off, sizeof(v));
	return v;
}

static uint32_t env_u32(const struct tcg_state *ts, size_t off)
{
	uint32_t v;

	memcpy(&v, ts->env + off, sizeof(v));
	return v;
}

static void env_put_u64(struct tcg_state *ts, size_t off, uint64_t v)
{
	memcpy(ts->env + off, &v, sizeof(v));
}

static void env_put_u32(struct tcg_state *ts, size_t off, uint32_t v)
{
	memcpy(ts->env + off, &v, sizeof(v));
}

static void seg_from_cache(const struct tcg_state *ts, size_t off, struct x86_segment *s)
{
	uint32_t f = env_u32(ts, off + 20);

	s->selector = (uint16_t)env_u32(ts, off);
	s->base = env_u64(ts, off + 8);
	s->limit = env_u32(ts, off + 16);
	s->type = (f >> DESC_TYPE_SHIFT) & 0xf;
	s->s = !!(f & DESC_S);
	s->dpl = (f >> DESC_DPL_SHIFT) & 3;
	s->present = !!(f & DESC_P);
	s->avl = !!(f & DESC_AVL);
	s->l = !!(f & DESC_L);
	s->db = !!(f & DESC_B);
	s->g = !!(f & DESC_G);
	s->unusable = !s->present;
}

static void seg_to_cache(struct tcg_state *ts, size_t off, const struct x86_segment *s)
{
	/* DPL survives in an unusable (null) SS: it is the CPL in long mode. */
	uint32_t f = ((uint32_t)(s->dpl & 3) << DESC_DPL_SHIFT);

	if (!s->unusable)
		f |= ((uint32_t)(s->type & 0xf) << DESC_TYPE_SHIFT) |
		     (s->s ? DESC_S : 0) | (s->present ? DESC_P : 0) |
		     (s->avl ? DESC_AVL : 0) | (s->l ? DESC_L : 0) |
		     (s->db ? DESC_B : 0) | (s->g ? DESC_G : 0);
	env_put_u32(ts, off, s->selector);
	env_put_u64(ts, off + 8, s->base);
	env_put_u32(ts, off + 16, s->limit);
	env_put_u32(ts, off + 20, f);
}

static int save(struct tcg_state *ts)
{
	return uc_context_save(ts->uc, ts->ctx) == UC_ERR_OK ? 0 : -EIO;
}

static int restore(struct tcg_state *ts)
{
	return uc_context_restore(ts->uc, ts->ctx) == UC_ERR_OK ? 0 : -EIO;
}

static uint64_t read_msr(uc_engine *uc, uint32_t index)
{
	uc_x86_msr msr = { .rid = index };

	uc_reg_read(uc, UC_X86_REG_MSR, &msr);
	return msr.value;
}

static void write_msr(uc_engine *uc, uint32_t index, uint64_t value)
{
	uc_x86_msr msr = { .rid = index, .value = value };

	uc_reg_write(uc, UC_X86_REG_MSR, &msr);
}

/* Write recognisable values through the API and find them where the layout says. */
static const char *check_layout(struct tcg_state *ts)
{
	static const int gprs[GPR_COUNT] = {
		UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
		UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
		UC_X86_REG_R8, UC_X86_REG_R9, UC_X86_REG_R10, UC_X86_REG_R11,
		UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15,
	};
	uc_x86_mmr gdt = { .base = 0x12345000, .limit = 0x7ff };
	uc_x86_mmr idt = { .base = 0x23456000, .limit = 0xfff };
	uint64_t v, cr3 = 0x7000, rflags = 0x202, rip = 0x123456789aull;
	uint16_t cs = 0x33, ss = 0x2b;
	int i;

	for (i = 0; i < GPR_COUNT; i++) {
		v = 0x1111111111111111ull * (uint64_t)(i + 1);
		uc_reg_write(ts->uc, gprs[i], &v);
	}
	uc_reg_write(ts->uc, UC_X86_REG_RIP, &rip);
	uc_reg_write(ts->uc, UC_X86_REG_RFLAGS, &rflags);
	uc_reg_write(ts->uc, UC_X86_REG_CS, &cs);
	uc_reg_write(ts->uc, UC_X86_REG_SS, &ss);
	uc_reg_write(ts->uc, UC_X86_REG_GDTR, &gdt);
	uc_reg_write(ts->uc, UC_X86_REG_IDTR, &idt);
	uc_reg_write(ts->uc, UC_X86_REG_CR3, &cr3);
	write_msr(ts->uc, MSR_EFER, X86_EFER_LME | X86_EFER_NXE | X86_EFER_SCE);
	if (save(ts))
		return "uc_context_save failed";
	for (i = 0; i < GPR_COUNT; i++)
		if (env_u64(ts, ENV_REGS + 8 * i) != 0x1111111111111111ull * (uint64_t)(i + 1))
			return "general registers";
	if (env_u64(ts, ENV_EIP) != rip)
		return "rip";
	if ((env_u64(ts, ENV_EFLAGS) & 0x200) != 0x200)
		return "rflags";
	if (env_u32(ts, ENV_SEGS + SEG_CS * ENV_SEGCACHE_SIZE) != cs ||
	    env_u32(ts, ENV_SEGS + SEG_SS * ENV_SEGCACHE_SIZE) != ss)
		return "segment selectors";
	if (env_u64(ts, ENV_GDT + 8) != gdt.base || env_u32(ts, ENV_GDT + 16) != gdt.limit ||
	    env_u64(ts, ENV_IDT + 8) != idt.base || env_u32(ts, ENV_IDT + 16) != idt.limit)
		return "descriptor tables";
	if (env_u64(ts, ENV_CR + 3 * 8) != cr3)
		return "control registers";
	if (env_u64(ts, ENV_EFER) != (X86_EFER_LMA | X86_EFER_LME | X86_EFER_NXE | X86_EFER_SCE))
		return "efer";
	/* A fresh 64-bit engine: CPL 0, protected, long mode, 64-bit code. */
	if ((env_u32(ts, ENV_HFLAGS) & (HF_CPL_MASK | HF_PE | HF_LMA | HF_CS64)) !=
	    (HF_PE | HF_LMA | HF_CS64))
		return "hflags";
	/* Reset values of DR6 and DR7 (QEMU's DR6_FIXED_1, DR7_FIXED_1). */
	if (env_u64(ts, ts->env_size - ENV_DR_FROM_END + 6 * 8) != 0xffff0ff0 ||
	    env_u64(ts, ts->env_size - ENV_DR_FROM_END + 7 * 8) != 0x400)
		return "debug registers / exception fields";
	if (env_u32(ts, ts->env_size - ENV_OLD_EXC_FROM_END) != (uint32_t)-1)
		return "old_exception";
	return NULL;
}

int tcg_state_init(struct tcg_state *ts, uc_engine *uc, char *err, size_t errlen)
{
	struct uc_context_mirror *m;
	uc_context *pristine;
	const char *bad;

	memset(ts, 0, sizeof(*ts));
	ts->uc = uc;
	if (uc_context_alloc(uc, &ts->ctx) != UC_ERR_OK ||
	    uc_context_alloc(uc, &pristine) != UC_ERR_OK) {
		snprintf(err, errlen, "cannot allocate a Unicorn context");
		return -ENOMEM;
	}
	m = (struct uc_context_mirror *)(void *)ts->ctx;
	if (m->mode != UC_MODE_64 || m->arch != UC_ARCH_X86 ||
	    m->context_size + sizeof(*m) != uc_context_size(uc)) {
		snprintf(err, errlen, "unexpected Unicorn context header");
		uc_context_free(pristine);
		return -ENOTSUP;
	}
	ts->env = m->data;
	ts->env_size = m->context_size;

	uc_context_save(uc, pristine);
	bad = check_layout(ts);
	uc_context_restore(uc, pristine);
	uc_context_free(pristine);
	if (bad) {
		snprintf(err, errlen,
			 "this Unicorn build's CPU state layout differs from QEMU 5.0's (%s); pvhc needs Unicorn 2.1.x",
			 bad);
		return -ENOTSUP;
	}
	return 0;
}

void tcg_state_destroy(struct tcg_state *ts)
{
	if (ts->ctx)
		uc_context_free(ts->ctx);
	ts->ctx = NULL;
}

int tcg_state_get_sregs(struct tcg_state *ts, struct x86_sregs *s)
{
	int i;

	if (save(ts))
		return -EIO;
	memset(s, 0, sizeof(*s));
	for (i = 0; i < SEG_COUNT; i++)
		seg_from_cache(ts, ENV_SEGS + (size_t)i * ENV_SEGCACHE_SIZE, &s->seg[i]);
	seg_from_cache(ts, ENV_LDT, &s->ldt);
	seg_from_cache(ts, ENV_TR, &s->tr);
	s->gdt.base = env_u64(ts, ENV_GDT + 8);
	s->gdt.limit = (uint16_t)env_u32(ts, ENV_GDT + 16);
	s->idt.base = env_u64(ts, ENV_IDT + 8);
	s->idt.limit = (uint16_t)env_u32(ts, ENV_IDT + 16);
	s->cr0 = env_u64(ts, ENV_CR + 0 * 8);
	s->cr2 = env_u64(ts, ENV_CR + 2 * 8);
	s->cr3 = env_u64(ts, ENV_CR + 3 * 8);
	s->cr4 = env_u64(ts, ENV_CR + 4 * 8);
	s->efer = read_msr(ts->uc, MSR_EFER);
	s->apic_base = ts->apic_base;
	s->pdptrs_valid = ts->pdptrs_valid && s->cr3 == ts->pdptrs_cr3 &&
			  (s->cr0 & X86_CR0_PG) && (s->cr4 & X86_CR4_PAE) &&
			  !(s->efer & X86_EFER_LMA);
	if (s->pdptrs_valid)
		memcpy(s->pdptrs, ts->pdptrs, sizeof(s->pdptrs));
	return 0;
}

/*
 * The hidden flags QEMU derives when it loads CS and SS (cpu_x86_load_seg_cache):
 * CPL from SS.DPL, 16/32/64-bit code and stack, and whether DS/ES/SS bases
 * must be added to addresses.
 */
static uint32_t derive_hflags(uint32_t hflags, const struct x86_sregs *s, uint64_t rflags)
{
	const struct x86_segment *cs = &s->seg[SEG_CS], *ss = &s->seg[SEG_SS];
	bool pe = s->cr0 & X86_CR0_PE, vm = rflags & X86_RFLAGS_VM;

	hflags &= ~(HF_CPL_MASK | HF_CS32 | HF_SS32 | HF_ADDSEG | HF_CS64);
	hflags |= x86_cpl_of(s, rflags);
	if ((hflags & HF_LMA) && cs->l && !cs->unusable) {
		hflags |= HF_CS32 | HF_SS32 | HF_CS64;
		return hflags;
	}
	if (cs->db)
		hflags |= HF_CS32;
	if (ss->db)
		hflags |= HF_SS32;
	if (!pe || vm || !cs->db)
		hflags |= HF_ADDSEG;
	else if (s->seg[SEG_DS].base | s->seg[SEG_ES].base | ss->base)
		hflags |= HF_ADDSEG;
	return hflags;
}

int tcg_state_set_sregs(struct tcg_state *ts, const struct x86_sregs *s)
{
	uint64_t zero = 0, rflags, cr;
	uint32_t hflags;
	uc_x86_mmr gdt = { .base = s->gdt.base, .limit = s->gdt.limit };
	uc_x86_mmr idt = { .base = s->idt.base, .limit = s->idt.limit };
	int i;

	/*
	 * Let QEMU's own CR and EFER paths update paging and long-mode state:
	 * leave paging, set EFER without LMA, then CR4, CR3 and CR0 (which
	 * activates long mode when LME and PG are both set).
	 */
	uc_reg_write(ts->uc, UC_X86_REG_CR0, &zero);
	write_msr(ts->uc, MSR_EFER, s->efer & ~X86_EFER_LMA);
	cr = s->cr4;
	uc_reg_write(ts->uc, UC_X86_REG_CR4, &cr);
	cr = s->cr3;
	uc_reg_write(ts->uc, UC_X86_REG_CR3, &cr);
	cr = s->cr0;
	uc_reg_write(ts->uc, UC_X86_REG_CR0, &cr);
	uc_reg_write(ts->uc, UC_X86_REG_GDTR, &gdt);
	uc_reg_write(ts->uc, UC_X86_REG_IDTR, &idt);
	/* Long mode is active exactly when paging is on with LME and PAE. */
	if (!!(s->efer & X86_EFER_LMA) !=
	    ((s->cr0 & X86_CR0_PG) && (s->cr4 & X86_CR4_PAE) && (s->efer & X86_EFER_LME)))
		return -EINVAL;
	ts->apic_base = s->apic_base;
	ts->pdptrs_valid = s->pdptrs_valid;
	ts->pdptrs_cr3 = s->cr3;
	memcpy(ts->pdptrs, s->pdptrs, sizeof(ts->pdptrs));

	if (save(ts))
		return -EIO;
	for (i = 0; i < SEG_COUNT; i++)
		seg_to_cache(ts, ENV_SEGS + (size_t)i * ENV_SEGCACHE_SIZE, &s->seg[i]);
	seg_to_cache(ts, ENV_LDT, &s->ldt);
	seg_to_cache(ts, ENV_TR, &s->tr);
	/*
	 * WRMSR never changes EFER.LMA and CR0 writes only change it on a
	 * paging transition, so a fresh engine (LMA set, paging off) keeps a
	 * stale LMA: set it here, with its copy in hflags.
	 */
	env_put_u64(ts, ENV_EFER, s->efer);
	/* Unicorn 2.1 writes CR1 and CR2 through its CR3 path: set CR2 here. */
	env_put_u64(ts, ENV_CR + 2 * 8, s->cr2);
	hflags = env_u32(ts, ENV_HFLAGS) & ~HF_LMA;
	if (s->efer & X86_EFER_LMA)
		hflags |= HF_LMA;
	rflags = env_u64(ts, ENV_EFLAGS);
	env_put_u32(ts, ENV_HFLAGS, derive_hflags(hflags, s, rflags));
	if (restore(ts))
		return -EIO;
	/* Translations were made for the old CPL and mode. */
	uc_ctl_flush_tlb(ts->uc);
	return 0;
}

size_t tcg_state_save_blob(struct tcg_state *ts, void *buf, size_t cap)
{
	if (cap < ts->env_size || save(ts))
		return 0;
	memcpy(buf, ts->env, ts->env_size);
	memset((uint8_t *)buf + ts->env_size - ENV_BKPT_PTRS_FROM_END, 0, ENV_BKPT_PTRS_SIZE);
	return ts->env_size;
}

int tcg_state_load_blob(struct tcg_state *ts, const void *buf, size_t len)
{
	if (len != ts->env_size)
		return -EINVAL;
	if (save(ts))
		return -EIO;
	memcpy(ts->env, buf, len);
	memset(ts->env + ts->env_size - ENV_BKPT_PTRS_FROM_END, 0, ENV_BKPT_PTRS_SIZE);
	if (restore(ts))
		return -EIO;
	uc_ctl_flush_tlb(ts->uc);
	return 0;
}

int tcg_exception_done(struct tcg_state *ts)
{
	if (save(ts))
		return -EIO;
	env_put_u32(ts, ts->env_size - ENV_OLD_EXC_FROM_END, (uint32_t)-1);
	return restore(ts);
}

void tcg_exception_info(struct tcg_state *ts, uint32_t *error_code, bool *is_int)
{
	*error_code = 0;
	*is_int = false;
	if (save(ts))
		return;
	*error_code = env_u32(ts, ts->env_size - ENV_ERROR_CODE_FROM_END);
	*is_int = env_u32(ts, ts->env_size - ENV_EXC_IS_INT_FROM_END) != 0;
}

bool tcg_state_interrupt_shadow(struct tcg_state *ts)
{
	if (save(ts))
		return true;	/* unknown: better late than inside the shadow */
	return (env_u32(ts, ENV_HFLAGS) & HF_INHIBIT_IRQ) != 0;
}

bool tcg_state_nmi_masked(struct tcg_state *ts)
{
	if (save(ts))
		return true;	/* unknown: keep the next NMI waiting */
	return (env_u32(ts, ENV_HFLAGS2) & HF2_NMI_MASK) != 0;
}

int tcg_state_set_nmi_masked(struct tcg_state *ts, bool masked)
{
	uint32_t h;

	if (save(ts))
		return -EIO;
	h = env_u32(ts, ENV_HFLAGS2);
	env_put_u32(ts, ENV_HFLAGS2, masked ? h | HF2_NMI_MASK : h & ~HF2_NMI_MASK);
	return restore(ts);
}
