// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page tables after boot.
 *
 * boot.S leaves an identity map of 2 MiB pages (0-1 GiB and the top 32 MiB
 * below 4 GiB). Here the tables become real ones: 4 KiB mappings anywhere,
 * large pages split on demand, guard pages unmapped. The same code serves
 * both flavours because a PAE table below the root has the long-mode format;
 * the flavours differ only in the number of levels (4 or 3) and in the PAE
 * root, whose four PDPTEs accept no W/U/NX bits and are cached by the CPU
 * until CR3 is written.
 *
 * Page tables come from alloc_page(), which hands out identity-mapped memory,
 * so a table's physical address is also a pointer to it.
 */
#include "internal.h"

#ifdef __x86_64__
#define LEVELS	4
#else
#define LEVELS	3
#endif

/* Transient mapping for the boot self-check, outside the identity map. */
#define SELFCHECK_VA	0x40000000ull

static uint64_t *root;
static bool nx_enabled;

bool cpu_has_nx(void)
{
	return nx_enabled;
}

static unsigned int level_shift(int level)
{
	return PAGE_SHIFT + 9 * (level - 1);
}

static unsigned int pt_index(uint64_t va, int level)
{
	return (unsigned int)(va >> level_shift(level)) & 511;
}

/* Tables are permissive (W, U); the leaf entry decides the access rights. */
static uint64_t table_entry_flags(int level)
{
#ifndef __x86_64__
	if (level == LEVELS)
		return PTE_P;
#endif
	return PTE_P | PTE_W | PTE_U;
}

static uint64_t *table_at(uint64_t entry)
{
	return (uint64_t *)(uintptr_t)(entry & PTE_ADDR_MASK);
}

static bool va_ok(uint64_t va)
{
#ifdef __x86_64__
	return (uint64_t)((int64_t)(va << 16) >> 16) == va;	/* canonical */
#else
	return (va >> 32) == 0;
#endif
}

static void check_va(const char *fn, uint64_t va)
{
	if (!va_ok(va))
		guest_panic("%s: VA 0x%llx is %s", fn, (unsigned long long)va,
#ifdef __x86_64__
			    "not canonical"
#else
			    "above 4 GiB (32-bit flavour)"
#endif
			    );
	if (va & (PAGE_SIZE - 1))
		guest_panic("%s: VA 0x%llx is not page-aligned", fn, (unsigned long long)va);
}

/* Replace the large page *e at level with a table of equivalent smaller pages. */
static void split_large(uint64_t *e, int level)
{
	uint64_t *t = alloc_page();
	uint64_t old = *e, size = 1ull << level_shift(level - 1);
	uint64_t base = old & PTE_ADDR_MASK & ~((1ull << level_shift(level)) - 1);
	uint64_t flags = old & ~PTE_ADDR_MASK;

	if (level - 1 == 1)
		flags &= ~(uint64_t)PTE_PS;	/* bit 7 means PAT in a 4 KiB entry */
	for (unsigned int i = 0; i < 512; i++)
		t[i] = (base + i * size) | flags;
	*e = (uintptr_t)t | table_entry_flags(level);
}

/*
 * The 4 KiB-level entry for va, splitting large pages on the way and, with
 * create, allocating missing tables (else NULL if one is missing). *changed
 * says that entries above the leaf were written, which needs a full flush.
 */
static uint64_t *walk(uint64_t va, bool create, bool *changed)
{
	uint64_t *t = root;

	for (int level = LEVELS; level > 1; level--) {
		uint64_t *e = &t[pt_index(va, level)];

		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			*e = (uintptr_t)alloc_page() | table_entry_flags(level);
			*changed = true;
		} else if (*e & PTE_PS) {
			split_large(e, level);
			*changed = true;
		}
		t = table_at(*e);
	}
	return &t[pt_index(va, 1)];
}

/*
 * invlpg covers a leaf change; a new or split table (and any PDPTE, which PAE
 * caches) needs CR3 reloaded.
 */
static void flush(uint64_t va, bool changed)
{
	if (changed)
		write_cr3(read_cr3());
	else
		flush_tlb_page(va);
}

void map_page(uint64_t va, uint64_t pa, unsigned int flags)
{
	bool changed = false;
	uint64_t *pte;

	check_va("map_page", va);
	if ((pa & ~PTE_ADDR_MASK) != 0)
		guest_panic("map_page: PA 0x%llx is not a page address", (unsigned long long)pa);
	if (flags & PTE_PS)
		guest_panic("map_page: PTE_PS: only 4 KiB pages are mapped");
	if ((flags & PTE_NX) && !nx_enabled)
		guest_panic("map_page: PTE_NX requested but the CPU has no NX");
	pte = walk(va, true, &changed);
	*pte = pa | (flags & 0xfff) | PTE_P | ((flags & PTE_NX) ? PTE_NX_BIT : 0);
	flush(va, changed);
}

void unmap_page(uint64_t va)
{
	bool changed = false;
	uint64_t *pte;

	check_va("unmap_page", va);
	pte = walk(va, false, &changed);
	if (pte)
		*pte = 0;
	flush(va, changed);
}

uint64_t *get_pte(uint64_t va)
{
	bool changed = false;
	uint64_t *pte;

	check_va("get_pte", va & ~(uint64_t)(PAGE_SIZE - 1));
	pte = walk(va, false, &changed);
	if (changed)
		flush(va, changed);
	return pte;
}

uint64_t virt_to_phys(uint64_t va)
{
	uint64_t *t = root;

	if (!va_ok(va))
		return (uint64_t)-1;
	for (int level = LEVELS; level >= 1; level--) {
		uint64_t e = t[pt_index(va, level)];

		if (!(e & PTE_P))
			return (uint64_t)-1;
		if (level == 1 || (level < LEVELS && (e & PTE_PS))) {
			uint64_t mask = (1ull << level_shift(level)) - 1;

			return (e & PTE_ADDR_MASK & ~mask) | (va & mask);
		}
		t = table_at(e);
	}
	return (uint64_t)-1;
}

/*
 * Prove at every boot that the tables are really walked: write through an
 * alias at another virtual address and read through the identity map, and
 * back. An emulator that ignored the guest's page tables would fail here
 * instead of in some later test.
 */
static void selfcheck_alias(void)
{
	volatile uint32_t *page = alloc_page();
	volatile uint32_t *alias = (volatile uint32_t *)(uintptr_t)SELFCHECK_VA;
	uint64_t pa = (uintptr_t)page;

	map_page(SELFCHECK_VA, pa, PTE_W);
	if (virt_to_phys(SELFCHECK_VA + 8) != pa + 8)
		guest_panic("paging self-check: VA 0x%llx does not translate to PA 0x%llx",
			    SELFCHECK_VA, (unsigned long long)pa);
	alias[0] = 0x50564843;
	alias[1023] = 0x0badf00d;
	page[1] = 0x12345678;
	if (page[0] != 0x50564843 || page[1023] != 0x0badf00d || alias[1] != 0x12345678)
		guest_panic("paging self-check: VA 0x%llx and PA 0x%llx disagree",
			    SELFCHECK_VA, (unsigned long long)pa);
	unmap_page(SELFCHECK_VA);
	if (virt_to_phys(SELFCHECK_VA) != (uint64_t)-1)
		guest_panic("paging self-check: VA 0x%llx still mapped", SELFCHECK_VA);
	free_page((void *)page);
}

void paging_init(void)
{
	root = (uint64_t *)(uintptr_t)(read_cr3() & ~0xffful);
	nx_enabled = boot_cpu_nx != 0;

	unmap_page(0);			/* NULL and small offsets from it fault */
	unmap_page((uintptr_t)boot_stack_guard);
	unmap_page((uintptr_t)df_stack_guard);
	unmap_page((uintptr_t)ring0_stack_guard);
	selfcheck_alias();
}
