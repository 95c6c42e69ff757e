/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The migration stream's framing: a header, then sections, each with a
 * type, a layout version, flags, a length and a CRC-32, then an END
 * section. Integers are little-endian. A reader knows every section's size
 * before it reads the payload, so it can refuse oversized claims without
 * allocating; it never trusts a byte of payload whose CRC failed.
 * The section contents are migrate.c's business; see host/migration.md.
 */
#ifndef PVHC_STREAM_H
#define PVHC_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#define STREAM_MAGIC		"PVHC-MIG"	/* 8 bytes */
#define STREAM_VERSION		1
#define STREAM_ENDIAN_MARK	0x01020304u	/* reads back as 04 03 02 01 on the wire */

#define SECTION_HEADER_SIZE	16
#define SECTION_F_OPTIONAL	(1u << 0)	/* unknown to a reader: skip, don't refuse */

/* A growable buffer that builds a payload; out-of-memory is sticky. */
struct sbuf {
	uint8_t *p;
	size_t len, cap;
	bool oom;
};

void sbuf_reset(struct sbuf *b);
void sbuf_free(struct sbuf *b);
void sbuf_put(struct sbuf *b, const void *data, size_t len);
void sbuf_u8(struct sbuf *b, uint8_t v);
void sbuf_u16(struct sbuf *b, uint16_t v);
void sbuf_u32(struct sbuf *b, uint32_t v);
void sbuf_u64(struct sbuf *b, uint64_t v);

/* A bounds-checked cursor over a received payload; running off the end is sticky. */
struct rbuf {
	const uint8_t *p;
	size_t len, pos;
	bool overrun;
};

void rbuf_init(struct rbuf *r, const void *p, size_t len);
const uint8_t *rbuf_get(struct rbuf *r, size_t len);	/* NULL on overrun */
uint8_t rbuf_u8(struct rbuf *r);
uint16_t rbuf_u16(struct rbuf *r);
uint32_t rbuf_u32(struct rbuf *r);
uint64_t rbuf_u64(struct rbuf *r);
static inline size_t rbuf_left(const struct rbuf *r)
{
	return r->len - r->pos;
}

struct stream {
	int fd;
	uint64_t bytes;		/* transferred so far */
	uint8_t *wbuf;		/* write buffering */
	size_t wfill;
	int timeout_ms;		/* per read/write wait; 0 = forever */
	char err[256];		/* first error, one line */
};

struct section {
	uint32_t id;
	uint16_t version, flags;
	uint64_t len;
};

void stream_init(struct stream *s, int fd, int timeout_ms);
void stream_destroy(struct stream *s);

int stream_write_header(struct stream *s);
int stream_write_section(struct stream *s, uint32_t id, uint16_t version, uint16_t flags,
			 const struct iovec *iov, int iovcnt);
int stream_flush(struct stream *s);

int stream_read_header(struct stream *s);
/*
 * Read the next section. max_len(id) gives the largest payload accepted for
 * that id (0 = unknown id). The payload lands in *buf (grown as needed, up
 * to that limit). Returns 0, or -errno with s->err set.
 */
int stream_read_section(struct stream *s, struct section *sec, uint8_t **buf, size_t *cap,
			uint64_t (*max_len)(uint32_t id, uint16_t flags));

/* Raw byte I/O on the stream's fd (the acknowledgement after the sections). */
int stream_read_exact(struct stream *s, void *buf, size_t len);
int stream_write_all(struct stream *s, const void *buf, size_t len);

#endif /* PVHC_STREAM_H */
