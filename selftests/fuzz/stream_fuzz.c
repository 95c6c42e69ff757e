// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the migration stream reader: arbitrary bytes offered
 * as an incoming migration. Every input must be loaded or refused with a
 * message; never a crash, a hang or a sanitizer report, and memory stays
 * bounded (guest RAM claims are capped at 64 MiB here, like --mem 64M).
 *
 * Byte 0 is a control byte: if bit 0 is set, every section's CRC in the rest
 * is recomputed first, so that mutations reach the section parsers instead of
 * stopping at the checksum.
 */
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "crc32.h"
#include "migrate.h"
#include "vm.h"

/* Walk the section headers of a stream in buf and make every CRC match. */
static void fix_crcs(uint8_t *buf, size_t size)
{
	size_t p = 16;

	while (p + SECTION_HEADER_SIZE + 4 <= size) {
		uint64_t len;
		uint32_t crc;

		memcpy(&len, buf + p + 8, 8);
		if (len > size - p - SECTION_HEADER_SIZE - 4)
			break;
		crc = crc32_update(0, buf + p, SECTION_HEADER_SIZE + len);
		memcpy(buf + p + SECTION_HEADER_SIZE + len, &crc, 4);
		p += SECTION_HEADER_SIZE + len + 4;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg = vm_default_config();
	struct stream s;
	struct vm *vm;
	char err[512];
	FILE *null;
	uint8_t *copy;
	int fd;

	if (size < 1)
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	if (data[0] & 1)
		fix_crcs(copy, size - 1);
	/* A memfd is a file: the reader sees exactly these bytes, then EOF. */
	fd = memfd_create("stream", MFD_CLOEXEC);
	if (fd < 0 || write(fd, copy, size - 1) != (ssize_t)(size - 1) || lseek(fd, 0, SEEK_SET)) {
		if (fd >= 0)
			close(fd);
		free(copy);
		return 0;
	}
	free(copy);
	null = fopen("/dev/null", "w");
	cfg.serial_out = null;
	stream_init(&s, fd, 1000);
	vm = mig_load(&cfg, &s, 64ull << 20, err, sizeof(err));
	if (vm) {
		/* A stream that loads must also run without hurting the host. */
		vm->cfg.timeout = 0.02;
		vm_run(vm);
		vm_destroy(vm);
	} else if (!err[0]) {
		__builtin_trap();	/* refused without saying why */
	}
	stream_destroy(&s);
	close(fd);
	fclose(null);
	return 0;
}
