// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest for the migration benchmark (scripts/bench/migration.py). Runs until
 * the host ends it:
 *   mode=idle            spin, touching nothing (like an idle OS)
 *   mode=dirty mb=N      rewrite N MiB over and over, one word per page
 * It prints "ready" once set up, so the host knows when to start.
 */
#include <pvhc/runtime.h>

void guest_main(void)
{
	const char *mode = cmdline_get("mode");
	unsigned long pages = cmdline_ulong("mb", 0) * 256, i, round = 0;
	volatile uint32_t *buf = pages ? alloc_pages((unsigned int)pages) : NULL;

	printf("ready\n");
	if (!mode || strcmp(mode, "dirty") || !buf) {
		for (;;)
			__asm__ __volatile__("pause");
	}
	for (;; round++)
		for (i = 0; i < pages; i++)
			buf[i * 1024] = (uint32_t)(round + i);
}
