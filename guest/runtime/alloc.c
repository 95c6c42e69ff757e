// SPDX-License-Identifier: GPL-2.0-only
/*
 * Page allocator for page tables and test buffers.
 *
 * A bump pointer over the RAM after the image and any modules, plus a free
 * list for pages given back. The pool stops at 1 GiB, the end of the boot
 * identity map, so that every page it returns can be used through its own
 * physical address: page tables need that, and so do tests that hand a
 * buffer's address to the host as a guest-physical address.
 */
#include "internal.h"

static uintptr_t pool_start, pool_next, pool_end;
static void *free_list;
static unsigned long free_listed;

void page_alloc_init(uint64_t start, uint64_t end)
{
	start = (start + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
	end &= ~(uint64_t)(PAGE_SIZE - 1);
	if (end > IDENTITY_LOW_END)
		end = IDENTITY_LOW_END;
	if (start >= end)
		guest_panic("no RAM for the page pool (free range 0x%llx-0x%llx)",
			    (unsigned long long)start, (unsigned long long)end);
	pool_start = pool_next = (uintptr_t)start;
	pool_end = (uintptr_t)end;
}

unsigned long page_pool_free_pages(void)
{
	return (pool_end - pool_next) / PAGE_SIZE + free_listed;
}

void *alloc_pages(unsigned int n)
{
	void *p;

	if (n == 0)
		guest_panic("alloc_pages: 0 pages");
	if (n == 1 && free_list) {
		p = free_list;
		free_list = *(void **)p;
		free_listed--;
	} else {
		if ((pool_end - pool_next) / PAGE_SIZE < n)
			guest_panic("alloc_pages: out of memory (%u pages asked, %lu left)", n,
				    (unsigned long)((pool_end - pool_next) / PAGE_SIZE));
		p = (void *)pool_next;
		pool_next += (uintptr_t)n * PAGE_SIZE;
	}
	memset(p, 0, (size_t)n * PAGE_SIZE);
	return p;
}

void *alloc_page(void)
{
	return alloc_pages(1);
}

void free_page(void *page)
{
	uintptr_t p = (uintptr_t)page;

	if ((p & (PAGE_SIZE - 1)) || p < pool_start || p >= pool_next)
		guest_panic("free_page: %p was not returned by alloc_page()", page);
	*(void **)page = free_list;
	free_list = page;
	free_listed++;
}
