// SPDX-License-Identifier: GPL-2.0-only
/* Dirty-page logging with userfaultfd async write-protection; see dirty-log.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dirty-log.h"

/* Newer than Debian 12's linux-libc-dev (Linux 6.7). */
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)
#endif
#define PVHC_PAGE_IS_WRITTEN		(1ull << 1)
#define PVHC_PAGE_IS_PRESENT		(1ull << 3)
#define PVHC_PM_SCAN_WP_MATCHING	(1ull << 0)
#define PVHC_PM_SCAN_CHECK_WPASYNC	(1ull << 1)

struct pvhc_page_region {
	uint64_t start, end, categories;
};

struct pvhc_pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};

#define PVHC_PAGEMAP_SCAN _IOWR('f', 16, struct pvhc_pm_scan_arg)
#define SCAN_VEC 512

int dirty_log_start(struct dirty_log *d, void *base, uint64_t size, char *err, size_t errlen)
{
	struct uffdio_api api = {
		.api = UFFD_API,
		.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED,
	};
	struct uffdio_register reg = {
		.range = { (uintptr_t)base, size },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	struct uffdio_writeprotect wp = {
		.range = { (uintptr_t)base, size },
		.mode = UFFDIO_WRITEPROTECT_MODE_WP,
	};

	memset(d, 0, sizeof(*d));
	d->uffd = d->pagemap = -1;
	d->base = base;
	d->size = size;
	d->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
	if (d->uffd < 0) {
		snprintf(err, errlen, "userfaultfd: %s", strerror(errno));
		goto fail;
	}
	if (ioctl(d->uffd, UFFDIO_API, &api)) {
		snprintf(err, errlen,
			 "userfaultfd has no asynchronous write-protect (Linux >= 6.7 needed): %s",
			 strerror(errno));
		goto fail;
	}
	if (ioctl(d->uffd, UFFDIO_REGISTER, &reg) || ioctl(d->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		snprintf(err, errlen, "userfaultfd write-protect of guest RAM: %s", strerror(errno));
		goto fail;
	}
	d->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (d->pagemap < 0) {
		snprintf(err, errlen, "/proc/self/pagemap: %s", strerror(errno));
		goto fail;
	}
	return 0;
fail:
	dirty_log_stop(d);
	return -ENOTSUP;
}

static long scan(int pagemap, void *base, uint64_t size, uint64_t flags, uint64_t mask,
		 void (*fn)(void *, uint64_t, uint64_t), void *opaque)
{
	struct pvhc_page_region vec[SCAN_VEC];
	uint64_t start = (uintptr_t)base, end = start + size;
	long pages = 0;

	while (start < end) {
		struct pvhc_pm_scan_arg arg = {
			.size = sizeof(arg), .flags = flags, .start = start, .end = end,
			.vec = (uintptr_t)vec, .vec_len = SCAN_VEC,
			.category_mask = mask, .return_mask = mask,
		};
		long n = ioctl(pagemap, PVHC_PAGEMAP_SCAN, &arg), i;

		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			fn(opaque, vec[i].start - (uintptr_t)base, vec[i].end - vec[i].start);
			pages += (long)((vec[i].end - vec[i].start) >> 12);
		}
		if (arg.walk_end <= start)
			break;
		start = arg.walk_end;
	}
	return pages;
}

long dirty_log_collect(struct dirty_log *d, void (*fn)(void *opaque, uint64_t off, uint64_t len),
		       void *opaque)
{
	return scan(d->pagemap, d->base, d->size,
		    PVHC_PM_SCAN_WP_MATCHING | PVHC_PM_SCAN_CHECK_WPASYNC, PVHC_PAGE_IS_WRITTEN,
		    fn, opaque);
}

void dirty_log_stop(struct dirty_log *d)
{
	if (d->uffd >= 0) {
		struct uffdio_range r = { (uintptr_t)d->base, d->size };

		ioctl(d->uffd, UFFDIO_UNREGISTER, &r);
		close(d->uffd);
	}
	if (d->pagemap >= 0)
		close(d->pagemap);
	d->uffd = d->pagemap = -1;
}

/*
 * mincore() says which pages are resident; a page never touched costs
 * nothing to skip, so an idle 1 GiB guest scans in well under a millisecond.
 */
int present_pages(void *base, uint64_t size, void (*fn)(void *opaque, uint64_t off, uint64_t len),
		  void *opaque)
{
	const uint64_t chunk = 1ull << 30;	/* 256 Ki pages: a 256 KiB vector */
	unsigned char *vec = malloc(chunk >> 12);
	uint64_t off;

	if (!vec)
		return -ENOMEM;
	for (off = 0; off < size; off += chunk) {
		uint64_t len = size - off < chunk ? size - off : chunk, i, run = 0;

		if (mincore((uint8_t *)base + off, len, vec)) {
			free(vec);
			return -errno;
		}
		for (i = 0; i <= len >> 12; i++) {
			bool in = i < len >> 12 && (vec[i] & 1);

			if (in) {
				run++;
			} else if (run) {
				fn(opaque, off + ((i - run) << 12), run << 12);
				run = 0;
			}
		}
	}
	free(vec);
	return 0;
}
