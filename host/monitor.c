// SPDX-License-Identifier: GPL-2.0-only
/*
 * The control socket; see monitor.h. One client at a time, served on its own
 * thread; every command is short except "stop", which waits for the vCPU to
 * park. Input lines are bounded and parsed by a small JSON reader that
 * accepts exactly one object with an "execute" string and an optional flat
 * "arguments" object; anything else is answered with an error, never trusted.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "migrate.h"
#include "monitor.h"
#include "stats.h"
#include "vm.h"

#define LINE_MAX_LEN	4096
#define MAX_ARGS	8

struct monitor {
	struct vm *vm;
	int lfd;
	volatile int cfd;
	pthread_t thread;
	volatile bool stopping;
	char path[108];
};

/* ---- a minimal JSON reader for {"execute": "...", "arguments": {...}} ---- */

struct json_arg {
	char key[32];
	char str[512];		/* string value, or the literal for true/false/numbers */
	bool is_string;
};

struct json_cmd {
	char execute[64];
	unsigned int nargs;
	struct json_arg args[MAX_ARGS];
};

static const char *skip_ws(const char *p)
{
	while (*p && isspace((unsigned char)*p))
		p++;
	return p;
}

/* A JSON string into out (escapes \" \\ \/ \n \t only); returns past it or NULL. */
static const char *parse_string(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		char c = *p;

		if (c == '\\') {
			p++;
			switch (*p) {
			case '"': case '\\': case '/': c = *p; break;
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			default: return NULL;
			}
		} else if ((unsigned char)c < 0x20) {
			return NULL;
		}
		if (n + 1 >= cap)
			return NULL;
		out[n++] = c;
	}
	if (*p != '"')
		return NULL;
	out[n] = '\0';
	return p + 1;
}

/* true, false, null or a number: copied as text. */
static const char *parse_literal(const char *p, char *out, size_t cap)
{
	size_t n = 0;

	while (*p && (isalnum((unsigned char)*p) || *p == '-' || *p == '+' || *p == '.')) {
		if (n + 1 >= cap)
			return NULL;
		out[n++] = *p++;
	}
	out[n] = '\0';
	return n ? p : NULL;
}

static const char *parse_args(const char *p, struct json_cmd *cmd)
{
	p = skip_ws(p);
	if (*p++ != '{')
		return NULL;
	p = skip_ws(p);
	if (*p == '}')
		return p + 1;
	for (;;) {
		struct json_arg *a;

		if (cmd->nargs == MAX_ARGS)
			return NULL;
		a = &cmd->args[cmd->nargs++];
		p = parse_string(skip_ws(p), a->key, sizeof(a->key));
		if (!p)
			return NULL;
		p = skip_ws(p);
		if (*p++ != ':')
			return NULL;
		p = skip_ws(p);
		a->is_string = *p == '"';
		p = a->is_string ? parse_string(p, a->str, sizeof(a->str))
				 : parse_literal(p, a->str, sizeof(a->str));
		if (!p)
			return NULL;
		p = skip_ws(p);
		if (*p == '}')
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static int parse_command(const char *line, struct json_cmd *cmd)
{
	const char *p = skip_ws(line);

	memset(cmd, 0, sizeof(*cmd));
	if (*p++ != '{')
		return -EINVAL;
	for (;;) {
		char key[32];

		p = parse_string(skip_ws(p), key, sizeof(key));
		if (!p)
			return -EINVAL;
		p = skip_ws(p);
		if (*p++ != ':')
			return -EINVAL;
		p = skip_ws(p);
		if (!strcmp(key, "execute"))
			p = parse_string(p, cmd->execute, sizeof(cmd->execute));
		else if (!strcmp(key, "arguments"))
			p = parse_args(p, cmd);
		else
			return -EINVAL;
		if (!p)
			return -EINVAL;
		p = skip_ws(p);
		if (*p == '}')
			break;
		if (*p++ != ',')
			return -EINVAL;
	}
	p = skip_ws(p + 1);
	return (*p || !cmd->execute[0]) ? -EINVAL : 0;
}

static const struct json_arg *arg(const struct json_cmd *cmd, const char *key)
{
	unsigned int i;

	for (i = 0; i < cmd->nargs; i++)
		if (!strcmp(cmd->args[i].key, key))
			return &cmd->args[i];
	return NULL;
}

/* ---- replies ---- */

static void reply(struct monitor *m, const char *json)
{
	size_t len = strlen(json);

	/* The client may have gone; a failed write just ends this client. */
	if (write(m->cfd, json, len) != (ssize_t)len || write(m->cfd, "\n", 1) != 1)
		shutdown(m->cfd, SHUT_RDWR);
}

static void reply_error(struct monitor *m, const char *desc)
{
	char buf[600], clean[300];
	size_t i, n = 0;

	for (i = 0; desc[i] && n + 2 < sizeof(clean); i++) {
		if (desc[i] == '"' || desc[i] == '\\')
			clean[n++] = '\\';
		clean[n++] = (unsigned char)desc[i] < 0x20 ? ' ' : desc[i];
	}
	clean[n] = '\0';
	snprintf(buf, sizeof(buf), "{\"error\": {\"class\": \"GenericError\", \"desc\": \"%s\"}}",
		 clean);
	reply(m, buf);
}

static const char *mig_state_name(enum mig_state s)
{
	switch (s) {
	case MIG_ACTIVE:
		return "active";
	case MIG_COMPLETED:
		return "completed";
	case MIG_FAILED:
		return "failed";
	case MIG_NONE:
		break;
	}
	return "none";
}

static void cmd_query_migrate(struct monitor *m)
{
	struct mig_status st;
	char buf[1024];

	mig_get_status(m->vm, &st);
	snprintf(buf, sizeof(buf),
		 "{\"return\": {\"status\": \"%s\", \"total-time\": %.1f, \"downtime\": %.1f, "
		 "\"ram\": {\"transferred\": %" PRIu64 ", \"total\": %" PRIu64 ", \"pages\": %" PRIu64
		 ", \"zero-pages\": %" PRIu64 ", \"dirty-pages\": %" PRIu64 "}, \"rounds\": %" PRIu64
		 "%s%s%s}}",
		 mig_state_name(st.state), st.total_ms, st.downtime_ms, st.bytes, st.ram_total,
		 st.pages, st.zero_pages, st.dirty_last, st.rounds,
		 st.error[0] ? ", \"error-desc\": \"" : "", st.error[0] ? st.error : "",
		 st.error[0] ? "\"" : "");
	reply(m, buf);
}

static void cmd_stats(struct monitor *m)
{
	char *json = NULL, *out;
	size_t len = 0, i, n = 0;
	FILE *f = open_memstream(&json, &len);

	if (!f) {
		reply_error(m, "out of memory");
		return;
	}
	stats_write_json(m->vm, f);
	fclose(f);
	out = malloc(len + 16);
	if (!out) {
		free(json);
		reply_error(m, "out of memory");
		return;
	}
	/* One line per reply: the stats document has newlines only between tokens. */
	n = (size_t)sprintf(out, "{\"return\": ");
	for (i = 0; i < len; i++)
		if (json[i] != '\n')
			out[n++] = json[i];
	strcpy(out + n, "}");
	reply(m, out);
	free(out);
	free(json);
}

static void execute(struct monitor *m, const char *line)
{
	struct json_cmd cmd;
	char err[300];

	if (parse_command(line, &cmd)) {
		reply_error(m, "expected {\"execute\": NAME, \"arguments\": {...}}");
		return;
	}
	if (!strcmp(cmd.execute, "qmp_capabilities")) {
		reply(m, "{\"return\": {}}");
	} else if (!strcmp(cmd.execute, "migrate")) {
		const struct json_arg *uri = arg(&cmd, "uri"), *live = arg(&cmd, "live");
		struct mig_params p = mig_default_params();

		if (!uri || !uri->is_string) {
			reply_error(m, "migrate needs a \"uri\" string");
			return;
		}
		p.live = live && !strcmp(live->str, "true");
		p.progress = false;
		if (mig_start(m->vm, uri->str, &p, err, sizeof(err)))
			reply_error(m, err);
		else
			reply(m, "{\"return\": {}}");
	} else if (!strcmp(cmd.execute, "query-migrate")) {
		cmd_query_migrate(m);
	} else if (!strcmp(cmd.execute, "stats")) {
		cmd_stats(m);
	} else if (!strcmp(cmd.execute, "stop")) {
		if (vm_pause(m->vm))
			reply_error(m, "the guest has ended");
		else
			reply(m, "{\"return\": {}}");
	} else if (!strcmp(cmd.execute, "cont")) {
		struct mig_status st;

		mig_get_status(m->vm, &st);
		if (st.state == MIG_ACTIVE) {
			reply_error(m, "a migration is running");
			return;
		}
		vm_resume(m->vm);
		reply(m, "{\"return\": {}}");
	} else if (!strcmp(cmd.execute, "quit")) {
		reply(m, "{\"return\": {}}");
		vm_request_exit(m->vm, VM_POWEROFF, 0, "quit from the monitor");
		vm_resume(m->vm);
	} else {
		snprintf(err, sizeof(err), "unknown command '%s'", cmd.execute);
		reply_error(m, err);
	}
}

static void serve(struct monitor *m)
{
	char line[LINE_MAX_LEN + 1];
	size_t n = 0;
	bool overlong = false;

	reply(m, "{\"PVHC\": {\"version\": 1, \"capabilities\": []}}");
	while (!m->stopping) {
		char c;
		ssize_t r = read(m->cfd, &c, 1);

		if (r <= 0)
			break;
		if (c != '\n') {
			if (n < LINE_MAX_LEN)
				line[n++] = c;
			else
				overlong = true;
			continue;
		}
		line[n] = '\0';
		if (overlong)
			reply_error(m, "line too long");
		else if (n)
			execute(m, line);
		n = 0;
		overlong = false;
	}
}

static void *monitor_main(void *arg)
{
	struct monitor *m = arg;

	while (!m->stopping) {
		int fd = accept4(m->lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		m->cfd = fd;
		serve(m);
		m->cfd = -1;
		close(fd);
	}
	return NULL;
}

int monitor_start(struct vm *vm, const char *uri, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct monitor *m;

	if (strncmp(uri, "unix:", 5) || !uri[5] || strlen(uri + 5) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "bad monitor '%s' (unix:PATH)", uri);
		return -EINVAL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	m->vm = vm;
	m->cfd = -1;
	strcpy(m->path, uri + 5);
	strcpy(sa.sun_path, m->path);
	unlink(m->path);
	m->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (m->lfd < 0 || bind(m->lfd, (struct sockaddr *)&sa, sizeof(sa)) || listen(m->lfd, 4)) {
		snprintf(err, errlen, "monitor %s: %s", m->path, strerror(errno));
		if (m->lfd >= 0)
			close(m->lfd);
		free(m);
		return -EIO;
	}
	if (pthread_create(&m->thread, NULL, monitor_main, m)) {
		snprintf(err, errlen, "cannot start the monitor thread");
		close(m->lfd);
		free(m);
		return -EAGAIN;
	}
	vm->monitor = m;
	return 0;
}

void monitor_stop(struct vm *vm)
{
	struct monitor *m = vm->monitor;
	int waited;

	if (!m)
		return;
	/*
	 * A client still connected may want the last word (query-migrate says
	 * "completed" after the guest has left): give it a second to ask and
	 * hang up before the socket goes away.
	 */
	for (waited = 0; m->cfd >= 0 && waited < 1000; waited += 10)
		usleep(10000);
	m->stopping = true;
	shutdown(m->lfd, SHUT_RDWR);
	if (m->cfd >= 0)
		shutdown(m->cfd, SHUT_RDWR);
	pthread_join(m->thread, NULL);
	close(m->lfd);
	unlink(m->path);
	free(m);
	vm->monitor = NULL;
}
