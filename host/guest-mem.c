// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <sys/mman.h>

#include "guest-mem.h"

/*
 * Anonymous, private, never-touched pages: RAM the guest does not use costs
 * nothing, and migration can tell untouched pages apart with mincore().
 */
int guest_mem_alloc(struct guest_mem *mem, uint64_t size)
{
	void *p;

	if (size == 0 || (size & 0xfff))
		return -EINVAL;
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	mem->host = p;
	mem->size = size;
	return 0;
}

void guest_mem_free(struct guest_mem *mem)
{
	if (mem->host)
		munmap(mem->host, mem->size);
	mem->host = NULL;
	mem->size = 0;
}
