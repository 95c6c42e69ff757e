// SPDX-License-Identifier: GPL-2.0-only
/* Guest page-table walks; see mmu.h. */
#include <errno.h>
#include <string.h>

#include "guest-pt.h"

#define PTE_P		(1ull << 0)
#define PTE_W		(1ull << 1)
#define PTE_U		(1ull << 2)
#define PTE_PS		(1ull << 7)
#define PTE_NX		(1ull << 63)
#define PTE_ADDR_MASK	0x000ffffffffff000ull

static bool read_entry(const struct guest_mem *mem, uint64_t gpa, bool wide, uint64_t *e)
{
	const uint8_t *p = gpa_ptr(mem, gpa, wide ? 8 : 4);
	uint32_t v32;

	if (!p)
		return false;
	if (wide) {
		memcpy(e, p, 8);
	} else {
		memcpy(&v32, p, 4);
		*e = v32;
	}
	return true;
}

/*
 * Permission of a translation is the AND of W and U over all levels and the
 * OR of NX (when EFER.NXE is set). Supervisor writes ignore W unless CR0.WP.
 */
static int check_perm(const struct x86_sregs *s, unsigned int access,
		      bool w, bool u, bool nx, uint32_t *pf_error)
{
	bool user = access & MMU_USER, write = access & MMU_WRITE;
	uint32_t err = X86_PF_P | (write ? X86_PF_W : 0) | (user ? X86_PF_U : 0);

	if (access & MMU_FETCH)
		err |= (s->efer & X86_EFER_NXE) ? X86_PF_I : 0;
	if (user && !u)
		goto fault;
	if (write && !w && (user || (s->cr0 & X86_CR0_WP)))
		goto fault;
	if ((access & MMU_FETCH) && nx)
		goto fault;
	if ((access & MMU_FETCH) && !user && u && (s->cr4 & X86_CR4_SMEP))
		goto fault;
	return 0;
fault:
	*pf_error = err;
	return -EFAULT;
}

static int not_present(unsigned int access, const struct x86_sregs *s, uint32_t *pf_error)
{
	*pf_error = ((access & MMU_WRITE) ? X86_PF_W : 0) |
		    ((access & MMU_USER) ? X86_PF_U : 0) |
		    (((access & MMU_FETCH) && (s->efer & X86_EFER_NXE)) ? X86_PF_I : 0);
	return -EFAULT;
}

int guest_pt_translate(const struct guest_mem *mem, const struct x86_sregs *s,
		  uint64_t la, unsigned int access, uint64_t *gpa, uint32_t *pf_error)
{
	bool nxe = s->efer & X86_EFER_NXE;
	bool w = true, u = true, nx = false;
	uint64_t table, e = 0;
	int level, levels, shift;
	bool wide;

	if (!(s->cr0 & X86_CR0_PG)) {
		*gpa = (s->efer & X86_EFER_LMA) ? la : (la & 0xffffffffull);
		return 0;
	}
	if (s->efer & X86_EFER_LMA) {
		if (s->cr4 & X86_CR4_LA57)
			return not_present(access, s, pf_error);	/* unsupported */
		if (!x86_is_canonical(la))
			return not_present(access, s, pf_error);
		levels = 4;
		wide = true;
		table = s->cr3 & PTE_ADDR_MASK;
	} else if (s->cr4 & X86_CR4_PAE) {
		la &= 0xffffffffull;
		/* The 4 PDPTEs are loaded from CR3 (32-byte aligned); no U/W bits. */
		if (!read_entry(mem, (s->cr3 & 0xffffffe0ull) + ((la >> 30) & 3) * 8, true, &e) ||
		    !(e & PTE_P))
			return not_present(access, s, pf_error);
		levels = 2;
		wide = true;
		table = e & PTE_ADDR_MASK;
	} else {
		la &= 0xffffffffull;
		levels = 2;
		wide = false;
		table = s->cr3 & 0xfffff000ull;
	}

	for (level = levels; level >= 1; level--) {
		int bits = wide ? 9 : 10;
		uint64_t idx;

		shift = 12 + bits * (level - 1);
		idx = (la >> shift) & ((1ull << bits) - 1);
		if (!read_entry(mem, table + idx * (wide ? 8 : 4), wide, &e) || !(e & PTE_P))
			return not_present(access, s, pf_error);
		w = w && (e & PTE_W);
		u = u && (e & PTE_U);
		if (wide && nxe && (e & PTE_NX))
			nx = true;
		/* Large pages: 1 GiB / 2 MiB with 64-bit entries, 4 MiB with PSE. */
		if (level > 1 && (e & PTE_PS) &&
		    (wide ? level <= 3 : (s->cr4 & X86_CR4_PSE) != 0)) {
			uint64_t base;

			if (wide)
				base = e & PTE_ADDR_MASK & ~((1ull << shift) - 1);
			else	/* PSE-36: bits 13..20 give physical bits 32..39 */
				base = (e & 0xffc00000ull) | (((e >> 13) & 0xffull) << 32);
			if (check_perm(s, access, w, u, nx, pf_error))
				return -EFAULT;
			*gpa = base | (la & ((1ull << shift) - 1));
			return 0;
		}
		table = wide ? (e & PTE_ADDR_MASK) : (e & 0xfffff000ull);
	}
	if (check_perm(s, access, w, u, nx, pf_error))
		return -EFAULT;
	*gpa = table | (la & 0xfff);
	return 0;
}

static int guest_pt_copy(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
		    void *buf, size_t len, unsigned int access, uint64_t *fault_la,
		    uint32_t *pf_error)
{
	uint8_t *b = buf;

	while (len) {
		size_t chunk = 0x1000 - (la & 0xfff);
		uint64_t gpa;
		uint8_t *host;

		if (chunk > len)
			chunk = len;
		if (guest_pt_translate(mem, s, la, access, &gpa, pf_error) ||
		    !(host = gpa_ptr(mem, gpa, chunk))) {
			if (fault_la)
				*fault_la = la;
			return -EFAULT;
		}
		if (access & MMU_WRITE)
			memcpy(host, b, chunk);
		else
			memcpy(b, host, chunk);
		b += chunk;
		la += chunk;
		len -= chunk;
	}
	return 0;
}

int guest_pt_read(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
	     void *buf, size_t len, unsigned int access, uint64_t *fault_la,
	     uint32_t *pf_error)
{
	return guest_pt_copy(mem, s, la, buf, len, access & ~MMU_WRITE, fault_la, pf_error);
}

int guest_pt_write(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
	      const void *buf, size_t len, unsigned int access, uint64_t *fault_la,
	      uint32_t *pf_error)
{
	return guest_pt_copy(mem, s, la, (void *)buf, len, access | MMU_WRITE, fault_la, pf_error);
}
