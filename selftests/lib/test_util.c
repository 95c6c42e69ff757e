// SPDX-License-Identifier: GPL-2.0-only
/* Host-side helpers for the selftests; see test_util.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

extern char **environ;

const struct cpu_ops *test_backend(void)
{
	const char *name = getenv("PVHC_ACCEL");

	return name && *name ? cpu_ops_by_name(name) : &cpu_tcg_ops;
}

/* A bad setting is one line before any test starts, not one failure per test. */
static __attribute__((constructor)) void check_environment(void)
{
	const char *host = getenv("PVHC_HOST");

	if (!test_backend()) {
		printf("Bail out! PVHC_ACCEL='%s': use tcg or kvm\n", getenv("PVHC_ACCEL"));
		exit(2);
	}
	if (host && *host && !vendor_by_name(host)) {
		printf("Bail out! PVHC_HOST='%s': use intel or amd\n", host);
		exit(2);
	}
}

bool on_emulated_host(void)
{
	return test_backend() == &cpu_tcg_ops;
}

const char *test_accel_name(void)
{
	return test_backend()->name;
}

const char *variant_unavailable(const char *host)
{
	static char why[512];
	struct vm_config cfg = vm_default_config();
	const struct vendor *v = NULL;
	const char *only = getenv("PVHC_HOST");
	char err[400];
	int ret;

	if (host && only && *only && strcmp(only, host)) {
		snprintf(why, sizeof(why), "PVHC_HOST=%s", only);
		return why;
	}
	cfg.backend = test_backend();
	cfg.vendor = host ? vendor_by_name(host) : NULL;
	ret = cfg.backend->probe(&cfg, &v, err, sizeof(err));
	if (!ret)
		return NULL;
	if (ret == -EINVAL)
		snprintf(why, sizeof(why), "%s backend: the host is the real CPU, not %s",
			 cfg.backend->name, host);
	else
		snprintf(why, sizeof(why), "%s", err);
	return why;
}

int run_guest(enum flavour f, const struct guest_opts *o, struct guest_run *r)
{
	struct vm_config cfg = vm_default_config();
	const uint8_t *img = f == FLAVOUR_64 ? payload64 : payload32;
	const uint8_t *end = f == FLAVOUR_64 ? payload64_end : payload32_end;
	FILE *serial, *trace = NULL;
	char err[512];

	memset(r, 0, sizeof(*r));
	cfg.backend = test_backend();
	cfg.vendor = o->host ? vendor_by_name(o->host) : NULL;
	cfg.fix_hypercall = !o->no_fix;
	cfg.mem_size = o->mem ? o->mem : 64ull << 20;
	cfg.timeout = o->timeout > 0 ? o->timeout : 20;
	cfg.nr_vcpus = o->vcpus ? o->vcpus : 1;
	if (o->host && !cfg.vendor)
		return -EINVAL;
	serial = open_memstream(&r->serial, &r->serial_len);
	if (!serial)
		return -ENOMEM;
	cfg.serial_out = serial;
	r->vm = vm_create(&cfg, err, sizeof(err));
	if (!r->vm) {
		fprintf(stderr, "vm_create: %s\n", err);
		fclose(serial);
		return -EIO;
	}
	if (o->trace) {
		trace = open_memstream(&r->trace, &r->trace_len);
		r->vm->trace = trace;
	}
	if (vm_load_multiboot_image(r->vm, f == FLAVOUR_64 ? "payload64" : "payload32", img,
				    (size_t)(end - img), o->args, o->modules, err, sizeof(err))) {
		fprintf(stderr, "load: %s\n", err);
		return -EIO;
	}
	r->status = vm_run(r->vm);
	fclose(serial);
	if (trace)
		fclose(trace);
	r->vm->trace = NULL;
	r->vm->cfg.serial_out = NULL;
	/* Show the guest's console in the test log, indented as KTAP diagnostics. */
	if (r->serial_len) {
		char *line, *save = NULL, *copy = strdup(r->serial);

		for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
			printf("#   guest: %s\n", line);
		free(copy);
	}
	if (r->vm->state != VM_EXITED)
		printf("#   vm: %s\n", r->vm->exit_reason);
	/* How the run ended is guest-visible too: compared across hosts (obs-diff.awk). */
	printf("#   host: OBS exit_status=%d\n", r->status);
	/* The harness ends a failing test with _exit(): nothing buffered may be lost. */
	fflush(stdout);
	return 0;
}

void guest_run_free(struct guest_run *r)
{
	vm_destroy(r->vm);
	free(r->serial);
	free(r->trace);
	memset(r, 0, sizeof(*r));
}

unsigned int trace_count(const struct guest_run *r, ...)
{
	unsigned int n = 0;
	char *copy, *line, *save = NULL;

	if (!r->trace)
		return 0;
	copy = strdup(r->trace);
	for (line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		const char *needle;
		bool all = true;
		va_list ap;

		va_start(ap, r);
		while ((needle = va_arg(ap, const char *)))
			if (!strstr(line, needle))
				all = false;
		va_end(ap);
		n += all;
	}
	free(copy);
	return n;
}

static const char *pvhc_path(void)
{
	static char path[PATH_MAX + 16];
	char self[PATH_MAX];
	ssize_t n;
	char *slash;

	if (getenv("PVHC"))
		return getenv("PVHC");
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0)
		return "pvhc";
	self[n] = '\0';
	slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	/* Installed layout: pvhc beside the tests; build layout: $O/pvhc, tests in $O/selftests. */
	snprintf(path, sizeof(path), "%s/pvhc", self);
	if (access(path, X_OK) == 0)
		return path;
	snprintf(path, sizeof(path), "%s/../pvhc", self);
	return path;
}

static void drain(int fd, char **buf, size_t *len)
{
	char tmp[4096];
	ssize_t n;

	while ((n = read(fd, tmp, sizeof(tmp))) > 0) {
		char *nb = realloc(*buf, *len + (size_t)n + 1);

		if (!nb)
			return;
		*buf = nb;
		memcpy(*buf + *len, tmp, (size_t)n);
		*len += (size_t)n;
		(*buf)[*len] = '\0';
	}
}

int run_pvhc(const char *const *args, struct cmd_result *r)
{
	posix_spawn_file_actions_t fa;
	int out[2], err[2], ws, i, argc = 0;
	size_t out_len = 0, err_len = 0;
	const char *argv[32];
	pid_t pid;

	memset(r, 0, sizeof(*r));
	argv[argc++] = pvhc_path();
	for (i = 0; args[i] && argc < 31; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC))
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	posix_spawn_file_actions_adddup2(&fa, err[1], 2);
	if (posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ)) {
		posix_spawn_file_actions_destroy(&fa);
		return -errno;
	}
	posix_spawn_file_actions_destroy(&fa);
	close(out[1]);
	close(err[1]);
	/* Read both pipes until EOF; output is small, so interleaving is enough. */
	for (;;) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };

		if (poll(p, 2, 60000) <= 0)
			break;
		if (p[0].revents)
			drain(out[0], &r->out, &out_len);
		if (p[1].revents)
			drain(err[0], &r->err, &err_len);
		if ((p[0].revents & POLLHUP) && (p[1].revents & POLLHUP))
			break;
	}
	close(out[0]);
	close(err[0]);
	waitpid(pid, &ws, 0);
	r->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	for (i = 0; r->err[i]; i++)
		r->err_lines += r->err[i] == '\n';
	return 0;
}

void cmd_result_free(struct cmd_result *r)
{
	free(r->out);
	free(r->err);
	memset(r, 0, sizeof(*r));
}

char *write_payload(enum flavour f)
{
	const uint8_t *img = f == FLAVOUR_64 ? payload64 : payload32;
	const uint8_t *end = f == FLAVOUR_64 ? payload64_end : payload32_end;
	char *path = test_tmpfile(f == FLAVOUR_64 ? "payload64" : "payload32");
	FILE *fp = path ? fopen(path, "w") : NULL;

	if (!fp || fwrite(img, 1, (size_t)(end - img), fp) != (size_t)(end - img) || fclose(fp)) {
		free(path);
		return NULL;
	}
	return path;
}

int proc_spawn(struct proc *p, const char *const *args)
{
	return proc_spawn_closing(p, args, -1);
}

int proc_spawn_closing(struct proc *p, const char *const *args, int close_fd)
{
	posix_spawn_file_actions_t fa;
	const char *argv[48];
	int argc = 0, i, ret;

	memset(p, 0, sizeof(*p));
	p->out_path = test_tmpfile("out");
	p->err_path = test_tmpfile("err");
	argv[argc++] = pvhc_path();
	for (i = 0; args[i] && argc < 47; i++)
		argv[argc++] = args[i];
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, p->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, p->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (close_fd >= 0)
		posix_spawn_file_actions_addclose(&fa, close_fd);
	ret = posix_spawn(&p->pid, argv[0], &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	return ret ? -ret : 0;
}

int proc_wait(struct proc *p, int timeout_ms)
{
	int ws, waited = 0;

	if (!p->pid)
		return p->status;
	for (;;) {
		pid_t r = waitpid(p->pid, &ws, WNOHANG);

		if (r == p->pid) {
			p->status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
			break;
		}
		if (waited >= timeout_ms) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &ws, 0);
			p->status = -1;
			break;
		}
		usleep(5000);
		waited += 5;
	}
	p->pid = 0;
	return p->status;
}

char *proc_read(const struct proc *p, bool err)
{
	const char *path = err ? p->err_path : p->out_path;
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;

	if (f) {
		FILE *m = open_memstream(&buf, &len);
		int c;

		while ((c = fgetc(f)) != EOF)
			fputc(c, m);
		fclose(m);
		fclose(f);
	}
	return buf ? buf : strdup("");
}

void proc_cleanup(struct proc *p)
{
	if (p->pid)
		proc_wait(p, 0);
	if (p->out_path)
		unlink(p->out_path);
	if (p->err_path)
		unlink(p->err_path);
	free(p->out_path);
	free(p->err_path);
	memset(p, 0, sizeof(*p));
}

int test_port_base(void)
{
	int lo = 32768, hi;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");

	/*
	 * Below the ephemeral range, where outgoing connections never take a
	 * port a destination is about to listen on; 100 ports per process.
	 */
	if (f) {
		if (fscanf(f, "%d %d", &lo, &hi) != 2)
			lo = 32768;
		fclose(f);
	}
	if (lo < 11100)
		lo = 11100;
	return 10000 + (int)(getpid() % ((lo - 11000) / 100)) * 100;
}

char *test_tmpfile(const char *stem)
{
	static unsigned int seq;
	const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *path;

	if (asprintf(&path, "%s/pvhc-%s-%d-%u", dir, stem, (int)getpid(), seq++) < 0)
		return NULL;
	return path;
}

void tmpfile_remove(char *path)
{
	if (path)
		unlink(path);
	free(path);
}
