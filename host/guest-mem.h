/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest-physical memory: one contiguous block of RAM at guest-physical 0,
 * backed by anonymous host memory that the CPU backend maps directly.
 */
#ifndef PVHC_GUEST_MEM_H
#define PVHC_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem {
	uint8_t *host;		/* host address of guest-physical 0 */
	uint64_t size;		/* bytes, a multiple of 4 KiB */
};

/* Host pointer for [gpa, gpa + len), or NULL if any of it is outside RAM. */
static inline uint8_t *gpa_ptr(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	if (gpa > mem->size || len > mem->size - gpa)
		return NULL;
	return mem->host + gpa;
}

int guest_mem_alloc(struct guest_mem *mem, uint64_t size);
void guest_mem_free(struct guest_mem *mem);

#endif /* PVHC_GUEST_MEM_H */
