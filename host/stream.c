// SPDX-License-Identifier: GPL-2.0-only
/* Migration stream framing; see stream.h. */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "crc32.h"
#include "stream.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the stream is little-endian and so is every host pvhc runs on"
#endif

#define WBUF_SIZE (256 * 1024)

static int set_err(struct stream *s, int ret, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_err(struct stream *s, int ret, const char *fmt, ...)
{
	va_list ap;

	if (!s->err[0]) {
		va_start(ap, fmt);
		vsnprintf(s->err, sizeof(s->err), fmt, ap);
		va_end(ap);
	}
	return ret;
}

void sbuf_reset(struct sbuf *b)
{
	b->len = 0;
	b->oom = false;
}

void sbuf_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void sbuf_put(struct sbuf *b, const void *data, size_t len)
{
	if (b->oom)
		return;
	if (b->len + len > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *n;

		while (cap < b->len + len)
			cap *= 2;
		n = realloc(b->p, cap);
		if (!n) {
			b->oom = true;
			return;
		}
		b->p = n;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

void sbuf_u8(struct sbuf *b, uint8_t v)
{
	sbuf_put(b, &v, 1);
}

void sbuf_u16(struct sbuf *b, uint16_t v)
{
	sbuf_put(b, &v, 2);
}

void sbuf_u32(struct sbuf *b, uint32_t v)
{
	sbuf_put(b, &v, 4);
}

void sbuf_u64(struct sbuf *b, uint64_t v)
{
	sbuf_put(b, &v, 8);
}

void rbuf_init(struct rbuf *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->pos = 0;
	r->overrun = false;
}

const uint8_t *rbuf_get(struct rbuf *r, size_t len)
{
	const uint8_t *p;

	if (r->overrun || len > r->len - r->pos) {
		r->overrun = true;
		return NULL;
	}
	p = r->p + r->pos;
	r->pos += len;
	return p;
}

#define RBUF_INT(bits)						\
uint##bits##_t rbuf_u##bits(struct rbuf *r)			\
{								\
	const uint8_t *p = rbuf_get(r, bits / 8);		\
	uint##bits##_t v = 0;					\
								\
	if (p)							\
		memcpy(&v, p, bits / 8);			\
	return v;						\
}
RBUF_INT(8)
RBUF_INT(16)
RBUF_INT(32)
RBUF_INT(64)

void stream_init(struct stream *s, int fd, int timeout_ms)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	s->timeout_ms = timeout_ms;
}

void stream_destroy(struct stream *s)
{
	free(s->wbuf);
	s->wbuf = NULL;
}

static int wait_fd(struct stream *s, short events)
{
	struct pollfd p = { .fd = s->fd, .events = events };
	int n;

	if (s->timeout_ms <= 0)
		return 0;
	do {
		n = poll(&p, 1, s->timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return set_err(s, -ETIMEDOUT, "no progress for %d ms", s->timeout_ms);
	return n < 0 ? set_err(s, -errno, "poll: %s", strerror(errno)) : 0;
}

int stream_write_all(struct stream *s, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n;

		if (wait_fd(s, POLLOUT))
			return -ETIMEDOUT;
		/* A peer that went away is an error to report, not a SIGPIPE to die of. */
		n = send(s->fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == ENOTSOCK)
			n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return set_err(s, n < 0 ? -errno : -EIO, "write: %s",
				       n < 0 ? strerror(errno) : "connection closed");
		p += n;
		len -= (size_t)n;
		s->bytes += (uint64_t)n;
	}
	return 0;
}

int stream_read_exact(struct stream *s, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n;

		if (wait_fd(s, POLLIN))
			return -ETIMEDOUT;
		n = read(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return set_err(s, -errno, "read: %s", strerror(errno));
		if (n == 0)
			return set_err(s, -EPIPE, "stream truncated after %llu bytes",
				       (unsigned long long)s->bytes);
		p += n;
		len -= (size_t)n;
		s->bytes += (uint64_t)n;
	}
	return 0;
}

int stream_flush(struct stream *s)
{
	int ret = 0;

	if (s->wfill)
		ret = stream_write_all(s, s->wbuf, s->wfill);
	s->wfill = 0;
	return ret;
}

/* Buffer small pieces; pass big ones (RAM pages) straight through. */
static int stream_put(struct stream *s, const void *p, size_t len)
{
	if (!len)
		return 0;
	if (!s->wbuf) {
		s->wbuf = malloc(WBUF_SIZE);
		if (!s->wbuf)
			return set_err(s, -ENOMEM, "out of memory");
	}
	if (s->wfill + len > WBUF_SIZE) {
		if (stream_flush(s))
			return -EIO;
		if (len > WBUF_SIZE / 2)
			return stream_write_all(s, p, len);
	}
	memcpy(s->wbuf + s->wfill, p, len);
	s->wfill += len;
	return 0;
}

int stream_write_header(struct stream *s)
{
	uint8_t h[16];
	uint32_t v = STREAM_VERSION, e = STREAM_ENDIAN_MARK;

	memcpy(h, STREAM_MAGIC, 8);
	memcpy(h + 8, &v, 4);
	memcpy(h + 12, &e, 4);
	return stream_put(s, h, sizeof(h));
}

int stream_write_section(struct stream *s, uint32_t id, uint16_t version, uint16_t flags,
			 const struct iovec *iov, int iovcnt)
{
	uint8_t h[SECTION_HEADER_SIZE];
	uint64_t len = 0;
	uint32_t crc;
	int i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	memcpy(h, &id, 4);
	memcpy(h + 4, &version, 2);
	memcpy(h + 6, &flags, 2);
	memcpy(h + 8, &len, 8);
	crc = crc32_update(0, h, sizeof(h));
	if (stream_put(s, h, sizeof(h)))
		return -EIO;
	for (i = 0; i < iovcnt; i++) {
		crc = crc32_update(crc, iov[i].iov_base, iov[i].iov_len);
		if (stream_put(s, iov[i].iov_base, iov[i].iov_len))
			return -EIO;
	}
	return stream_put(s, &crc, 4);
}

int stream_read_header(struct stream *s)
{
	uint8_t h[16];
	uint32_t v, e;

	if (stream_read_exact(s, h, sizeof(h)))
		return -EIO;
	if (memcmp(h, STREAM_MAGIC, 8))
		return set_err(s, -EINVAL, "not a pvhc migration stream (bad magic)");
	memcpy(&v, h + 8, 4);
	memcpy(&e, h + 12, 4);
	if (e != STREAM_ENDIAN_MARK)
		return set_err(s, -EINVAL, "stream endianness mark 0x%08x is wrong", e);
	if (v != STREAM_VERSION)
		return set_err(s, -EINVAL, "stream format version %u, this pvhc reads version %u",
			       v, STREAM_VERSION);
	return 0;
}

int stream_read_section(struct stream *s, struct section *sec, uint8_t **buf, size_t *cap,
			uint64_t (*max_len)(uint32_t id, uint16_t flags))
{
	uint8_t h[SECTION_HEADER_SIZE];
	uint32_t crc, want;
	uint64_t limit;

	if (stream_read_exact(s, h, sizeof(h)))
		return -EIO;
	memcpy(&sec->id, h, 4);
	memcpy(&sec->version, h + 4, 2);
	memcpy(&sec->flags, h + 6, 2);
	memcpy(&sec->len, h + 8, 8);
	limit = max_len(sec->id, sec->flags);
	if (sec->len > limit)
		return set_err(s, -E2BIG, "section 0x%x claims %llu bytes, above its limit of %llu",
			       sec->id, (unsigned long long)sec->len, (unsigned long long)limit);
	if (sec->len > *cap) {
		uint8_t *n = realloc(*buf, sec->len);

		if (!n)
			return set_err(s, -ENOMEM, "out of memory for a %llu-byte section",
				       (unsigned long long)sec->len);
		*buf = n;
		*cap = sec->len;
	}
	if ((sec->len && stream_read_exact(s, *buf, sec->len)) || stream_read_exact(s, &want, 4))
		return -EIO;
	crc = crc32_update(crc32_update(0, h, sizeof(h)), *buf, sec->len);
	if (crc != want)
		return set_err(s, -EBADMSG, "section 0x%x (%llu bytes) fails its CRC check",
			       sec->id, (unsigned long long)sec->len);
	return 0;
}
