/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side helpers for pvhc's selftests: run a test's own guest payload on
 * an emulated (or real KVM) host in-process and keep the VM for inspection,
 * or run the `pvhc` command and capture what it prints.
 *
 * The environment chooses where guests run, so that one binary serves both:
 *   PVHC_ACCEL=tcg|kvm   the backend (default tcg). On kvm only the variants
 *                        of the real CPU's vendor run (the others skip), and
 *                        host-side checks of the shim's statistics and trace,
 *                        which exist only on the emulated hosts, are skipped
 *                        (on_emulated_host()); every guest-side check holds.
 *   PVHC_HOST=intel|amd  run only that host's variants (the others skip).
 */
#ifndef PVHC_TEST_UTIL_H
#define PVHC_TEST_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pvhc/ports.h>

#include "vm.h"

/* The payloads of this test, embedded by embed.S (both flavours of the same source). */
extern const uint8_t payload64[], payload64_end[];
extern const uint8_t payload32[], payload32_end[];

enum flavour { FLAVOUR_64, FLAVOUR_32 };
#define FLAVOUR_NAME(f) ((f) == FLAVOUR_64 ? "64-bit" : "32-bit")

struct guest_opts {
	const char *host;	/* "intel" (default) or "amd" */
	const char *args;	/* multiboot command line after the image name */
	const char *modules;	/* --initrd's list: "FILE ARGS[,FILE ARGS]..." */
	bool no_fix;		/* --no-fix-hypercall */
	uint64_t mem;		/* bytes; 0 = 64 MiB */
	double timeout;		/* seconds; 0 = 20 */
	bool trace;		/* keep a JSON-lines trace in guest_run.trace */
	unsigned int vcpus;	/* 0 = 1 */
};

struct guest_run {
	struct vm *vm;		/* kept for inspection until guest_run_free() */
	int status;		/* what `pvhc run` would exit with */
	char *serial;		/* everything the guest printed */
	size_t serial_len;
	char *trace;
	size_t trace_len;
};

/* The backend PVHC_ACCEL names; an unknown name ends the program with one line. */
const struct cpu_ops *test_backend(void);
/* The shim's statistics and trace are there to check: the emulated hosts (tcg). */
bool on_emulated_host(void);
/* "--accel" "tcg|kvm" for run_pvhc() argument lists. */
const char *test_accel_name(void);
/*
 * Why a variant for host ("intel" or "amd") cannot run here, or NULL if it
 * can: on kvm a host other than the real CPU's vendor or a /dev/kvm that
 * cannot run guests; with PVHC_HOST, any other host. host NULL: whether the
 * backend can run a guest at all.
 */
const char *variant_unavailable(const char *host);
/*
 * Skip the current test from inside a helper it calls: the harness's own
 * way out of a test body, the jump a failed ASSERT_*() takes.
 */
#define SKIP_TEST(fmt, ...) SKIP(longjmp(_metadata->env, 1), fmt, ##__VA_ARGS__)

/* Run this test's payload; returns 0 if the VM could be created and loaded. */
int run_guest(enum flavour f, const struct guest_opts *o, struct guest_run *r);
void guest_run_free(struct guest_run *r);
/* Exit status for isa-debug-exit value v (QEMU's (v << 1) | 1). */
#define GUEST_STATUS(v) ((((v) << 1) | 1) & 0xff)
/* Number of trace lines containing all of the given substrings (NULL-terminated). */
unsigned int trace_count(const struct guest_run *r, ...);

struct cmd_result {
	int status;		/* exit status, or 128 + signal */
	char *out, *err;
	int err_lines;
};

/* Run the pvhc binary (next to this test, or $PVHC) with args; collects output. */
int run_pvhc(const char *const *args, struct cmd_result *r);
void cmd_result_free(struct cmd_result *r);
/* A fresh path under $TMPDIR, freed by the caller. */
char *test_tmpfile(const char *stem);
/* Write this test's payload of that flavour to a temporary file; returns its path. */
char *write_payload(enum flavour f);
/* Remove a file made by test_tmpfile() or write_payload() and free its path (NULL: nothing). */
void tmpfile_remove(char *path);

/* A pvhc process running in the background, its output going to files. */
struct proc {
	pid_t pid;
	char *out_path, *err_path;
	int status;		/* once waited for: exit status, 128 + signal, -1 timeout */
};

int proc_spawn(struct proc *p, const char *const *args);
/* The same, closing close_fd in the child (the other end of a socketpair). */
int proc_spawn_closing(struct proc *p, const char *const *args, int close_fd);
/* Wait up to timeout_ms (then SIGKILL and status -1); returns the status. */
int proc_wait(struct proc *p, int timeout_ms);
/* The process's stdout or stderr so far (malloc'd, "" if none). */
char *proc_read(const struct proc *p, bool err);
void proc_cleanup(struct proc *p);
/* A TCP port base unlikely to collide with other runs on this machine. */
int test_port_base(void);

#endif /* PVHC_TEST_UTIL_H */
