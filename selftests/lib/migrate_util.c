// SPDX-License-Identifier: GPL-2.0-only
/* Host-side helpers for tests that look inside migration streams; see migrate_util.h. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "migrate_util.h"

/* Every section is read whole, whatever its size: the tests make the streams. */
static uint64_t any_len(uint32_t id, uint16_t flags)
{
	return 64ull << 20;
}

int read_stream(const char *path, struct saved_stream *ss)
{
	struct stream st;
	int fd = open(path, O_RDONLY), ret = 0;

	memset(ss, 0, sizeof(*ss));
	if (fd < 0)
		return -1;
	stream_init(&st, fd, 0);
	if (stream_read_header(&st))
		ret = -1;
	while (!ret && ss->n < 256) {
		struct saved_section *x = &ss->s[ss->n++];
		size_t cap = 0;

		if (stream_read_section(&st, &x->h, &x->data, &cap, any_len)) {
			ret = -1;
			break;
		}
		if (x->h.id == SEC_END)
			break;
	}
	stream_destroy(&st);
	close(fd);
	return ret;
}

void free_stream(struct saved_stream *ss)
{
	for (unsigned int i = 0; i < ss->n; i++)
		free(ss->s[i].data);
}

int write_stream(const char *path, const struct saved_stream *ss, int skip,
		 const struct saved_section *extra, int extra_before)
{
	struct stream st;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600), ret;
	unsigned int i;

	if (fd < 0)
		return -1;
	stream_init(&st, fd, 0);
	ret = stream_write_header(&st);
	for (i = 0; i < ss->n && !ret; i++) {
		const struct saved_section *x;
		struct iovec iov;

		if ((int)i == extra_before && extra) {
			iov = (struct iovec){ extra->data, extra->h.len };
			ret = stream_write_section(&st, extra->h.id, extra->h.version,
						   extra->h.flags, &iov, 1);
		}
		if ((int)i == skip)
			continue;
		x = &ss->s[i];
		iov = (struct iovec){ x->data, x->h.len };
		ret = stream_write_section(&st, x->h.id, x->h.version, x->h.flags, &iov, 1);
	}
	if (!ret)
		ret = stream_flush(&st);
	stream_destroy(&st);
	close(fd);
	return ret;
}

uint8_t *ram_image(const struct saved_stream *ss, uint64_t size)
{
	uint8_t *ram = calloc(1, size);

	for (unsigned int i = 0; ram && i < ss->n; i++) {
		const struct saved_section *x = &ss->s[i];
		uint32_t n, k, data = 0;

		if (x->h.id != SEC_RAM)
			continue;
		memcpy(&n, x->data, 4);
		for (k = 0; k < n; k++) {
			uint64_t d;

			memcpy(&d, x->data + 8 + 8 * k, 8);
			if (d & RAM_DESC_ZERO)
				memset(ram + (d & ~0xfffull), 0, 4096);
			else
				memcpy(ram + d, x->data + 8 + 8 * n + 4096ull * data++, 4096);
		}
	}
	return ram;
}

struct saved_section *find_section(struct saved_stream *ss, uint32_t id)
{
	int i = section_index(ss, id);

	return i < 0 ? NULL : &ss->s[i];
}

int section_index(const struct saved_stream *ss, uint32_t id)
{
	for (unsigned int i = 0; i < ss->n; i++)
		if (ss->s[i].h.id == id)
			return (int)i;
	return -1;
}

const char *checksum_of(const char *out)
{
	static char line[64];
	const char *p = strstr(out, "checksum=");

	line[0] = '\0';
	if (p) {
		size_t n = strcspn(p, "\n");

		snprintf(line, sizeof(line), "%.*s", (int)(n < 60 ? n : 60), p);
	}
	return line;
}
