/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Guest page-table walks done by the host: to read the bytes of a trapping
 * instruction, to write an exception frame on a guest stack, and to find
 * the guest-physical address of a hypercall site. Supports no paging,
 * 32-bit (with PSE), PAE and 4-level paging, with the permission checks a
 * CPU makes for the given access.
 */
#ifndef PVHC_GUEST_PT_H
#define PVHC_GUEST_PT_H

#include <stdbool.h>
#include <stdint.h>

#include "guest-mem.h"
#include "x86.h"

enum mmu_access {
	MMU_READ = 0,
	MMU_WRITE = 1 << 0,
	MMU_FETCH = 1 << 1,
	MMU_USER = 1 << 2,	/* a CPL3 access (not an implicit supervisor one) */
};

/*
 * Translate a linear address. Returns 0 and the GPA, or -EFAULT with the #PF
 * error code the CPU would report.
 */
int guest_pt_translate(const struct guest_mem *mem, const struct x86_sregs *s,
		  uint64_t la, unsigned int access, uint64_t *gpa, uint32_t *pf_error);

/*
 * Copy between a linear range and a host buffer, page by page (a range may
 * cross pages with unrelated physical frames). On a fault *fault_la is the
 * first linear address that failed.
 */
int guest_pt_read(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
	     void *buf, size_t len, unsigned int access, uint64_t *fault_la,
	     uint32_t *pf_error);
int guest_pt_write(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
	      const void *buf, size_t len, unsigned int access, uint64_t *fault_la,
	      uint32_t *pf_error);

#endif /* PVHC_GUEST_PT_H */
