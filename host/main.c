// SPDX-License-Identifier: GPL-2.0-only
/* The pvhc command: parses the command line and nothing else. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "migrate.h"
#include "monitor.h"
#include "vm.h"

static const char usage[] =
	"usage: pvhc run [options] IMAGE\n"
	"  Run a multiboot image (as qemu-system-x86_64 -kernel IMAGE would) on an\n"
	"  emulated host whose hypercall shim rewrites foreign hypercall opcodes,\n"
	"  or on the machine's own KVM, whose kernel does the rewrite.\n"
	"\n"
	"  --accel tcg|kvm       CPU backend: tcg = pvhc's emulated hosts (default),\n"
	"                        kvm = /dev/kvm backed by kvm_intel or kvm_amd\n"
	"  --host intel|amd      host personality (tcg: default intel; kvm: the real\n"
	"                        CPU's vendor, and no other is accepted)\n"
	"  --mem SIZE            guest RAM, e.g. 64M, 1G; plain numbers are MiB (default 128M)\n"
	"  --vcpus N             vCPUs, 1..64 (default 1); the others wait for INIT/SIPI\n"
	"  --no-fix-hypercall    like KVM with KVM_X86_QUIRK_FIX_HYPERCALL_INSN disabled:\n"
	"                        a foreign hypercall opcode raises #UD in the guest\n"
	"  --append CMDLINE      kernel command line (multiboot cmdline is \"IMAGE CMDLINE\")\n"
	"  --initrd FILE[,FILE]  multiboot modules, as QEMU's -initrd (\"file args\" each)\n"
	"  --timeout SECONDS     end a runaway guest (exit status 6)\n"
	"  --stats FILE.json     write hypercall/#UD/rewrite statistics when the run ends\n"
	"  --trace FILE.jsonl    one JSON line per hypercall, #UD trap and injected exception\n"
	"\n"
	"usage: pvhc run --incoming URI [options]\n"
	"  Wait for a migration stream and run the guest it carries (no IMAGE); --mem\n"
	"  is then the largest guest RAM accepted.\n"
	"\n"
	"  URIs: tcp:HOST:PORT, unix:PATH, fd:N (an inherited descriptor), file:PATH\n"
	"  --monitor unix:PATH   a JSON command socket: migrate, query-migrate, stats,\n"
	"                        stop, cont, quit (see README)\n"
	"  --migrate-to URI      where the test triggers below migrate to\n"
	"  --migrate-on-port     migrate when the guest writes PVHC_TEST_MIGRATE to port 0xf0\n"
	"  --migrate-at-insn N   migrate before the guest's instruction N + 1 (kvm: N = 0 only)\n"
	"  --migrate-after-ud N  migrate right after the Nth foreign-opcode #UD (before\n"
	"                        the rewritten instruction runs again; tcg only)\n"
	"  --migrate-live        those migrations are live (pre-copy)\n"
	"\n"
	"exit status: the guest's isa-debug-exit value V as (V << 1) | 1 (QEMU's mapping);\n"
	"  0 guest powered off, 2 usage or bad input, 4 guest crashed (triple fault,\n"
	"  halted forever, access outside RAM), 6 timeout, 8 host error, 10 the guest\n"
	"  was migrated away\n";

/*
 * Unicorn 2.1.1 has known crashes in its translation-cache bookkeeping that a
 * guest can trigger (README, limits). A fault while a vCPU is inside the
 * emulator ends the run with one line and the host-error status instead of
 * a core dump; a fault anywhere else is pvhc's own bug and crashes normally.
 */
static struct vm *guarded_vm;

static void emulator_fault(int sig)
{
	static const char msg[] =
		"pvhc: internal error: the CPU emulator (Unicorn) faulted while running the guest; "
		"run abandoned\n";

	if (guarded_vm && guarded_vm->running) {
		if (write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
			_exit(PVHC_STATUS_HOST_ERROR);
		_exit(PVHC_STATUS_HOST_ERROR);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void guard_emulator_faults(struct vm *vm)
{
	static char altstack[64 * 1024];
	stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
	struct sigaction sa = { .sa_handler = emulator_fault, .sa_flags = SA_ONSTACK };
	static const int sigs[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
	unsigned int i;

	guarded_vm = vm;
	sigaltstack(&ss, NULL);
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

static int usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "pvhc: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (see pvhc --help)\n");
	return PVHC_STATUS_USAGE;
}

/* QEMU's -m syntax: a number with an optional K/M/G/T suffix, MiB by default. */
static int parse_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;
	unsigned int shift = 20;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	case 'b': case 'B': shift = 0; end++; break;
	case '\0': break;
	default: return -EINVAL;
	}
	if (*end == 'i' || *end == 'B')
		end += (*end == 'i' && end[1] == 'B') ? 2 : 1;
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

static int parse_count(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return (errno || end == s || *end || *s == '-') ? -EINVAL : 0;
}

/*
 * --incoming: wait for a stream, load it into a new VM and acknowledge, or
 * refuse it with one line. The guest runs only once everything has loaded.
 */
static int receive_vm(const struct vm_config *cfg, const char *text, uint64_t mem_limit,
		      struct vm **out)
{
	struct mig_uri u;
	struct stream s;
	char err[512] = "";
	bool ack, host_failed;
	int fd;

	*out = NULL;
	if (mig_parse_uri(text, &u, err, sizeof(err)))
		return usage_error("%s", err);
	fd = mig_open_in(&u, err, sizeof(err));
	if (fd < 0) {
		fprintf(stderr, "pvhc: incoming migration: %s\n", err);
		return PVHC_STATUS_USAGE;
	}
	/* A sender that stalls for this long has gone. */
	stream_init(&s, fd, 30000);
	ack = mig_fd_is_bidirectional(fd);
	*out = mig_load(cfg, &s, mem_limit, err, sizeof(err));
	host_failed = !*out && errno != EINVAL;
	if (ack && mig_send_ack(&s, *out ? NULL : err) && *out) {
		/* The source cannot know we have it: it keeps the guest, so we must not run it. */
		fprintf(stderr, "pvhc: incoming migration: cannot acknowledge: %s\n", s.err);
		vm_destroy(*out);
		*out = NULL;
	}
	stream_destroy(&s);
	if (u.kind != URI_FD)
		close(fd);
	if (!*out) {
		if (err[0])
			fprintf(stderr, "pvhc: incoming migration refused: %s\n", err);
		return host_failed ? PVHC_STATUS_HOST_ERROR : PVHC_STATUS_USAGE;
	}
	return 0;
}

static int cmd_run(int argc, char **argv)
{
	enum { OPT_HOST = 256, OPT_MEM, OPT_NOFIX, OPT_STATS, OPT_TRACE, OPT_TIMEOUT,
	       OPT_APPEND, OPT_INITRD, OPT_INCOMING, OPT_MIGRATE_TO, OPT_MIG_PORT, OPT_MIG_INSN,
	       OPT_MIG_UD, OPT_MIG_LIVE, OPT_MONITOR, OPT_ACCEL, OPT_VCPUS };
	static const struct option opts[] = {
		{ "accel", required_argument, NULL, OPT_ACCEL },
		{ "host", required_argument, NULL, OPT_HOST },
		{ "mem", required_argument, NULL, OPT_MEM },
		{ "vcpus", required_argument, NULL, OPT_VCPUS },
		{ "no-fix-hypercall", no_argument, NULL, OPT_NOFIX },
		{ "stats", required_argument, NULL, OPT_STATS },
		{ "trace", required_argument, NULL, OPT_TRACE },
		{ "timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "append", required_argument, NULL, OPT_APPEND },
		{ "initrd", required_argument, NULL, OPT_INITRD },
		{ "incoming", required_argument, NULL, OPT_INCOMING },
		{ "migrate-to", required_argument, NULL, OPT_MIGRATE_TO },
		{ "migrate-on-port", no_argument, NULL, OPT_MIG_PORT },
		{ "migrate-at-insn", required_argument, NULL, OPT_MIG_INSN },
		{ "migrate-after-ud", required_argument, NULL, OPT_MIG_UD },
		{ "migrate-live", no_argument, NULL, OPT_MIG_LIVE },
		{ "monitor", required_argument, NULL, OPT_MONITOR },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vm_config cfg = vm_default_config();
	struct mig_uri uri;
	const char *stats_path = NULL, *trace_path = NULL, *append = NULL, *initrd = NULL;
	const char *incoming = NULL, *monitor_uri = NULL;
	bool mem_given = false;
	FILE *trace = NULL;
	struct vm *vm;
	char err[512];
	int c, status;

	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case OPT_ACCEL:
			cfg.backend = cpu_ops_by_name(optarg);
			if (!cfg.backend)
				return usage_error("unknown accelerator '%s': use tcg or kvm", optarg);
			break;
		case OPT_HOST:
			cfg.vendor = vendor_by_name(optarg);
			if (!cfg.vendor)
				return usage_error("unknown host '%s': use intel or amd", optarg);
			break;
		case OPT_MEM:
			if (parse_size(optarg, &cfg.mem_size))
				return usage_error("bad memory size '%s'", optarg);
			mem_given = true;
			break;
		case OPT_VCPUS: {
			unsigned long n = strtoul(optarg, &end, 10);

			if (*end || !*optarg || n < 1 || n > VM_MAX_VCPUS)
				return usage_error("bad vCPU count '%s': use 1..64", optarg);
			cfg.nr_vcpus = (unsigned int)n;
			break;
		}
		case OPT_NOFIX:
			cfg.fix_hypercall = false;
			break;
		case OPT_STATS:
			stats_path = optarg;
			break;
		case OPT_TRACE:
			trace_path = optarg;
			break;
		case OPT_TIMEOUT:
			cfg.timeout = strtod(optarg, &end);
			if (*end || !(cfg.timeout > 0) || cfg.timeout > 1e7)
				return usage_error("bad timeout '%s'", optarg);
			break;
		case OPT_APPEND:
			append = optarg;
			break;
		case OPT_INITRD:
			initrd = optarg;
			break;
		case OPT_INCOMING:
			incoming = optarg;
			break;
		case OPT_MIGRATE_TO:
			cfg.migrate_to = optarg;
			break;
		case OPT_MIG_PORT:
			cfg.migrate_on_port = true;
			break;
		case OPT_MIG_INSN:
			if (parse_count(optarg, &cfg.migrate_at_insn))
				return usage_error("bad count '%s'", optarg);
			cfg.migrate_at_insn_set = true;
			break;
		case OPT_MIG_UD:
			if (parse_count(optarg, &cfg.migrate_after_ud) || !cfg.migrate_after_ud)
				return usage_error("bad count '%s'", optarg);
			break;
		case OPT_MIG_LIVE:
			cfg.migrate_live = true;
			break;
		case OPT_MONITOR:
			monitor_uri = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	cfg.resumable_stops = monitor_uri || cfg.migrate_to;
	if (incoming && optind != argc)
		return usage_error("%s", "--incoming takes no IMAGE");
	if (!incoming && optind != argc - 1)
		return usage_error("%s", optind >= argc ? "no IMAGE given" : "more than one IMAGE");
	if ((cfg.migrate_on_port || cfg.migrate_at_insn_set || cfg.migrate_after_ud ||
	     cfg.migrate_live) && !cfg.migrate_to)
		return usage_error("%s", "--migrate-on-port/-at-insn/-after-ud/-live need --migrate-to");
	if (cfg.migrate_to && mig_parse_uri(cfg.migrate_to, &uri, err, sizeof(err)))
		return usage_error("%s", err);

	if (incoming) {
		status = receive_vm(&cfg, incoming, mem_given ? cfg.mem_size : VM_MAX_MEM, &vm);
		if (!vm)
			return status;
	} else {
		vm = vm_create(&cfg, err, sizeof(err));
		if (!vm) {
			int e = errno;

			fprintf(stderr, "pvhc: %s\n", err);
			return e == EINVAL ? PVHC_STATUS_USAGE : PVHC_STATUS_HOST_ERROR;
		}
		if (vm_load_multiboot(vm, argv[optind], append, initrd, err, sizeof(err))) {
			fprintf(stderr, "pvhc: %s\n", err);
			vm_destroy(vm);
			return PVHC_STATUS_USAGE;
		}
	}
	if (monitor_uri && monitor_start(vm, monitor_uri, err, sizeof(err))) {
		fprintf(stderr, "pvhc: %s\n", err);
		vm_destroy(vm);
		return PVHC_STATUS_USAGE;
	}
	if (trace_path) {
		trace = fopen(trace_path, "w");
		if (!trace) {
			fprintf(stderr, "pvhc: %s: %s\n", trace_path, strerror(errno));
			vm_destroy(vm);
			return PVHC_STATUS_USAGE;
		}
		vm->trace = trace;
	}

	/* Only Unicorn runs guest code inside this process. */
	if (cfg.backend == &cpu_tcg_ops)
		guard_emulator_faults(vm);
	status = vm_run(vm);
	guarded_vm = NULL;

	monitor_stop(vm);
	switch (vm->state) {
	case VM_CRASHED:
		fprintf(stderr, "pvhc: guest crashed: %s\n", vm->exit_reason);
		break;
	case VM_MIGRATED:
		fprintf(stderr, "pvhc: %s\n", vm->exit_reason);
		break;
	case VM_TIMED_OUT:
	case VM_FAILED:
		fprintf(stderr, "pvhc: %s\n", vm->exit_reason);
		break;
	default:
		break;
	}
	if (trace && fclose(trace)) {
		fprintf(stderr, "pvhc: %s: %s\n", trace_path, strerror(errno));
		status = PVHC_STATUS_HOST_ERROR;
	}
	if (stats_path) {
		FILE *f = fopen(stats_path, "w");

		if (!f || stats_write_json(vm, f) || fclose(f)) {
			fprintf(stderr, "pvhc: cannot write %s: %s\n", stats_path, strerror(errno));
			status = PVHC_STATUS_HOST_ERROR;
		}
	}
	vm_destroy(vm);
	return status;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
			  !strcmp(argv[1], "help"))) {
		fputs(usage, stdout);
		return 0;
	}
	fputs(usage, stderr);
	return PVHC_STATUS_USAGE;
}
