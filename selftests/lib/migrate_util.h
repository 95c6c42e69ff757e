/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side helpers for the selftests that look inside migration streams
 * (host/migration.md): read a stream file section by section, write it back
 * with sections left out, changed or added (CRCs recomputed, so that what a
 * destination refuses is the content, not the framing), and pick the
 * "checksum=..." line out of a guest's output.
 */
#ifndef PVHC_MIGRATE_UTIL_H
#define PVHC_MIGRATE_UTIL_H

#include <stdint.h>

#include "migrate.h"

struct saved_section {
	struct section h;
	uint8_t *data;
};

struct saved_stream {
	unsigned int n;
	struct saved_section s[256];
};

/* 0, or -1 if the file cannot be read as a whole stream. */
int read_stream(const char *path, struct saved_stream *ss);
void free_stream(struct saved_stream *ss);
/* Write ss to path, leaving out section skip (or -1), with extra before section extra_before. */
int write_stream(const char *path, const struct saved_stream *ss, int skip,
		 const struct saved_section *extra, int extra_before);
/* The RAM of a stream as one image (pages by address), for comparing two streams. */
uint8_t *ram_image(const struct saved_stream *ss, uint64_t size);
/* The first section with that id, or NULL. */
struct saved_section *find_section(struct saved_stream *ss, uint32_t id);
/* Its index in ss, or -1. */
int section_index(const struct saved_stream *ss, uint32_t id);

/* The "checksum=..." line of a guest's output, or "" (static buffer). */
const char *checksum_of(const char *out);

#endif /* PVHC_MIGRATE_UTIL_H */
