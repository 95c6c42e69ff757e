// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a migration stream goes: tcp:HOST:PORT, unix:PATH, fd:N (inherited)
 * or file:PATH; and the destination's one-line acknowledgement that comes
 * back on the same connection once it has validated and loaded everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "migrate.h"

#define ACK_OK	"PVHC-ACK OK\n"
#define ACK_ERR	"PVHC-ACK ERR "

int mig_parse_uri(const char *text, struct mig_uri *u, char *err, size_t errlen)
{
	memset(u, 0, sizeof(*u));
	u->fd = -1;
	if (!strncmp(text, "tcp:", 4)) {
		const char *hp = text + 4, *colon = strrchr(hp, ':');
		size_t hlen;

		if (!colon || colon == hp || !colon[1] || strlen(colon + 1) >= sizeof(u->port))
			goto bad;
		hlen = (size_t)(colon - hp);
		/* [v6]:port */
		if (hp[0] == '[' && hlen >= 2 && hp[hlen - 1] == ']') {
			hp++;
			hlen -= 2;
		}
		if (hlen >= sizeof(u->host))
			goto bad;
		u->kind = URI_TCP;
		memcpy(u->host, hp, hlen);
		strcpy(u->port, colon + 1);
		return 0;
	}
	if (!strncmp(text, "unix:", 5) && text[5] &&
	    strlen(text + 5) < sizeof(((struct sockaddr_un *)0)->sun_path)) {
		u->kind = URI_UNIX;
		strcpy(u->path, text + 5);
		return 0;
	}
	if (!strncmp(text, "file:", 5) && text[5] && strlen(text + 5) < sizeof(u->path) - 8) {
		u->kind = URI_FILE;
		strcpy(u->path, text + 5);
		return 0;
	}
	if (!strncmp(text, "fd:", 3)) {
		char *end;
		long fd = strtol(text + 3, &end, 10);

		if (end == text + 3 || *end || fd < 0 || fd > 65535)
			goto bad;
		u->kind = URI_FD;
		u->fd = (int)fd;
		return 0;
	}
bad:
	snprintf(err, errlen, "bad migration URI '%s' (tcp:HOST:PORT, unix:PATH, fd:N, file:PATH)",
		 text);
	return -EINVAL;
}

/*
 * A numeric IPv4 or IPv6 address, or "localhost". Names are not resolved: a
 * statically linked pvhc (the one that runs inside the test KVM host) has no
 * resolver, and a migration endpoint is an address anyway.
 */
static int tcp_addr(const struct mig_uri *u, bool listening, struct sockaddr_storage *ss,
		    socklen_t *len, char *err, size_t errlen)
{
	struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
	const char *host = u->host;
	char *end;
	long port = strtol(u->port, &end, 10);

	memset(ss, 0, sizeof(*ss));
	if (*end || port <= 0 || port > 65535) {
		snprintf(err, errlen, "tcp:%s:%s: bad port", u->host, u->port);
		return -EINVAL;
	}
	if (!host[0])
		host = listening ? "0.0.0.0" : "127.0.0.1";
	else if (!strcmp(host, "localhost"))
		host = "127.0.0.1";
	if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
		v4->sin_family = AF_INET;
		v4->sin_port = htons((uint16_t)port);
		*len = sizeof(*v4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
		v6->sin6_family = AF_INET6;
		v6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*v6);
		return 0;
	}
	snprintf(err, errlen, "tcp:%s:%s: not a numeric address (or localhost)", u->host, u->port);
	return -EINVAL;
}

static int tcp_socket(const struct mig_uri *u, bool listening, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (tcp_addr(u, listening, &ss, &len, err, errlen))
		return -1;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	if (listening) {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&ss, len) || listen(fd, 1))
			goto fail;
	} else {
		if (connect(fd, (struct sockaddr *)&ss, len))
			goto fail;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	return fd;
fail:
	snprintf(err, errlen, "tcp:%s:%s: %s", u->host, u->port, strerror(errno));
	close(fd);
	return -1;
}

static int unix_socket(const struct mig_uri *u, bool listening, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	strcpy(sa.sun_path, u->path);
	if (listening) {
		unlink(u->path);
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1))
			goto fail;
	} else if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		goto fail;
	}
	return fd;
fail:
	snprintf(err, errlen, "unix:%s: %s", u->path, strerror(errno));
	close(fd);
	return -1;
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int mig_open_out(const struct mig_uri *u, int timeout_ms, char *err, size_t errlen)
{
	double deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 10000);
	char tmp[sizeof(u->path) + 8];
	int fd;

	switch (u->kind) {
	case URI_FD:
		return u->fd;
	case URI_FILE:
		/* Written aside and renamed when complete: a file is whole or absent. */
		snprintf(tmp, sizeof(tmp), "%s.part", u->path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return fd;
	case URI_TCP:
	case URI_UNIX:
		/* The destination may still be starting: retry until the deadline. */
		for (;;) {
			fd = u->kind == URI_TCP ? tcp_socket(u, false, err, errlen)
						: unix_socket(u, false, err, errlen);
			if (fd >= 0 || now_ms() > deadline)
				return fd;
			usleep(20000);
		}
	}
	return -1;
}

int mig_open_in(const struct mig_uri *u, char *err, size_t errlen)
{
	int lfd, fd;

	switch (u->kind) {
	case URI_FD:
		return u->fd;
	case URI_FILE:
		fd = open(u->path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			snprintf(err, errlen, "%s: %s", u->path, strerror(errno));
		return fd;
	case URI_TCP:
	case URI_UNIX:
		lfd = u->kind == URI_TCP ? tcp_socket(u, true, err, errlen)
					 : unix_socket(u, true, err, errlen);
		if (lfd < 0)
			return -1;
		do {
			fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
		} while (fd < 0 && errno == EINTR);
		if (fd < 0)
			snprintf(err, errlen, "accept: %s", strerror(errno));
		close(lfd);
		if (u->kind == URI_UNIX)
			unlink(u->path);
		return fd;
	}
	return -1;
}

bool mig_fd_is_bidirectional(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_STREAM;
}

int mig_send_ack(struct stream *s, const char *error)
{
	char line[300];

	if (!error)
		return stream_write_all(s, ACK_OK, strlen(ACK_OK));
	snprintf(line, sizeof(line), "%s%.250s\n", ACK_ERR, error);
	return stream_write_all(s, line, strlen(line));
}

int mig_wait_ack(struct stream *s, char *err, size_t errlen)
{
	char line[300];
	size_t n = 0;

	/* Byte by byte: the line is short and nothing follows it. */
	while (n < sizeof(line) - 1) {
		if (stream_read_exact(s, line + n, 1)) {
			snprintf(err, errlen, "no acknowledgement from the destination (%s)", s->err);
			return -EIO;
		}
		if (line[n++] == '\n')
			break;
	}
	line[n] = '\0';
	if (!strcmp(line, ACK_OK))
		return 0;
	if (!strncmp(line, ACK_ERR, strlen(ACK_ERR))) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(err, errlen, "the destination refused the stream: %s",
			 line + strlen(ACK_ERR));
		return -EPROTO;
	}
	snprintf(err, errlen, "garbled acknowledgement from the destination");
	return -EPROTO;
}
