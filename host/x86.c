// SPDX-License-Identifier: GPL-2.0-only
/* Helpers that interpret architectural x86 state the same way for every backend. */
#include <string.h>

#include "x86.h"

const uint32_t x86_saved_msrs[] = {
	MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SYSCALL_MASK, MSR_KERNEL_GS_BASE,
	MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP, MSR_IA32_SYSENTER_EIP,
	MSR_IA32_CR_PAT, MSR_TSC_AUX, MSR_IA32_TSC,
};
const unsigned int x86_nr_saved_msrs = sizeof(x86_saved_msrs) / sizeof(x86_saved_msrs[0]);

const char *x86_mode_name(enum x86_mode mode)
{
	switch (mode) {
	case X86_MODE_REAL:	return "real";
	case X86_MODE_VM86:	return "vm86";
	case X86_MODE_PROT16:	return "prot16";
	case X86_MODE_PROT32:	return "prot32";
	case X86_MODE_COMPAT:	return "compat";
	case X86_MODE_LONG64:	return "long64";
	}
	return "?";
}

enum x86_mode x86_mode_of(const struct x86_sregs *s, uint64_t rflags)
{
	const struct x86_segment *cs = &s->seg[SEG_CS];

	if (!(s->cr0 & X86_CR0_PE))
		return X86_MODE_REAL;
	if ((s->efer & X86_EFER_LMA))
		return cs->l ? X86_MODE_LONG64 : X86_MODE_COMPAT;
	if (rflags & X86_RFLAGS_VM)
		return X86_MODE_VM86;
	return cs->db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

/* CPL is SS.DPL in protected mode (what KVM reports too), 0 in real mode, 3 in VM86. */
unsigned int x86_cpl_of(const struct x86_sregs *s, uint64_t rflags)
{
	if (!(s->cr0 & X86_CR0_PE))
		return 0;
	if ((rflags & X86_RFLAGS_VM) && !(s->efer & X86_EFER_LMA))
		return 3;
	return s->seg[SEG_SS].dpl;
}

void x86_segment_from_desc(struct x86_segment *seg, uint16_t selector,
			   uint64_t lo, uint64_t hi)
{
	uint32_t limit = (uint32_t)((lo & 0xffff) | ((lo >> 32) & 0xf0000));

	seg->selector = selector;
	seg->base = ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24);
	seg->type = (lo >> 40) & 0xf;
	seg->s = (lo >> 44) & 1;
	seg->dpl = (lo >> 45) & 3;
	seg->present = (lo >> 47) & 1;
	seg->avl = (lo >> 52) & 1;
	seg->l = (lo >> 53) & 1;
	seg->db = (lo >> 54) & 1;
	seg->g = (lo >> 55) & 1;
	seg->limit = seg->g ? (limit << 12) | 0xfff : limit;
	seg->unusable = !seg->present;
	/* System descriptors (TSS, LDT) are 16 bytes in long mode. */
	if (!seg->s)
		seg->base |= (hi & 0xffffffffull) << 32;
}

void x86_segment_real(struct x86_segment *seg, uint16_t selector, bool code)
{
	*seg = (struct x86_segment){
		.selector = selector,
		.base = (uint64_t)selector << 4,
		.limit = 0xffff,
		.type = code ? 0xb : 0x3,
		.s = 1,
		.present = 1,
	};
}

uint8_t x86_fpu_abridged_tag(uint16_t ftw)
{
	uint8_t tag = 0;
	unsigned int i;

	for (i = 0; i < 8; i++)
		if (((ftw >> (2 * i)) & 3) != 3)
			tag |= (uint8_t)(1u << i);
	return tag;
}

/* The SDM's table for FXRSTOR's tag reconstruction: exponent and integer bit decide. */
static unsigned int fpu_reg_class(const uint8_t *reg)
{
	uint64_t mant;
	uint16_t exp;

	memcpy(&mant, reg, 8);
	memcpy(&exp, reg + 8, 2);
	exp &= 0x7fff;
	if (exp == 0x7fff)
		return 2;			/* NaN or infinity: special */
	if (exp == 0)
		return mant ? 2 : 1;		/* denormal: special; zero */
	return (mant >> 63) ? 0 : 2;		/* valid; unnormal: special */
}

uint16_t x86_fpu_full_tag(const struct x86_fpu *f, uint8_t abridged)
{
	unsigned int top = (f->fsw >> 11) & 7, phys;
	uint16_t ftw = 0;

	for (phys = 0; phys < 8; phys++) {
		unsigned int tag = 3;

		if ((abridged >> phys) & 1)
			tag = fpu_reg_class(f->st[(phys - top) & 7]);
		ftw |= (uint16_t)(tag << (2 * phys));
	}
	return ftw;
}
