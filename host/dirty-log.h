/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Which guest pages were written since the last look, for live migration.
 * Guest RAM is ordinary anonymous host memory that the CPU emulator writes
 * directly, so the log comes from the host kernel: userfaultfd
 * write-protection in asynchronous mode (Linux >= 6.7: a write just clears
 * the protection, nothing faults to user space) and the PAGEMAP_SCAN ioctl,
 * which returns the written pages and protects them again in one step.
 */
#ifndef PVHC_DIRTY_LOG_H
#define PVHC_DIRTY_LOG_H

#include <stddef.h>
#include <stdint.h>

struct dirty_log {
	int uffd;
	int pagemap;
	uint8_t *base;
	uint64_t size;
};

/* Start logging writes to [base, base + size); -errno and a reason if unsupported. */
int dirty_log_start(struct dirty_log *d, void *base, uint64_t size, char *err, size_t errlen);
/*
 * Collect the offsets of pages written since the start or the previous
 * collect (and protect them again). Calls fn(opaque, offset, len) per run
 * of written pages. Returns the number of pages, or -errno.
 */
long dirty_log_collect(struct dirty_log *d, void (*fn)(void *opaque, uint64_t off, uint64_t len),
		       void *opaque);
void dirty_log_stop(struct dirty_log *d);

/* Call fn for each run of pages of [base, base + size) that exist (were ever touched). */
int present_pages(void *base, uint64_t size, void (*fn)(void *opaque, uint64_t off, uint64_t len),
		  void *opaque);

#endif /* PVHC_DIRTY_LOG_H */
