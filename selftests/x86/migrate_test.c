// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live migration between the emulated Intel and AMD hosts, with nothing
 * lost. The guest computes a checksum that depends on every hypercall
 * result, on state in x87/SSE registers and MSRs, and on code run at CPL 3;
 * the host runs it unmigrated once, then migrated in many ways, and the
 * final output must be the same every time.
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#include "guest_util.h"

#define SITE(i)								\
	static __attribute__((noinline)) long site_##i(unsigned long x)	\
	{								\
		return kvm_hypercall2(PVHC_HC_ECHO2, i, x);		\
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
static long (*const sites[])(unsigned long) = {
	site_0, site_1, site_2, site_3, site_4, site_5, site_6, site_7,
};
#define NR_SITES (sizeof(sites) / sizeof(sites[0]))

static unsigned long arg_or(const char *key, unsigned long def)
{
	const char *v = cmdline_get(key);
	unsigned long n = 0;

	if (!v || !*v)
		return def;
	while (*v >= '0' && *v <= '9')
		n = n * 10 + (unsigned long)(*v++ - '0');
	return n;
}

static void migrate_here(void)
{
	outl(PVHC_PORT_TEST, PVHC_TEST_MIGRATE);
}

/*
 * Ping-pong: each round calls every site once, then asks to migrate. The
 * host checks that each site trapped exactly once per vendor switch.
 */
static void test_pingpong(void)
{
	unsigned long rounds = arg_or("rounds", 51), r, i, sum = 0;

	for (r = 0; r < rounds; r++) {
		for (i = 0; i < NR_SITES; i++) {
			long v = sites[i](r);

			GUEST_ASSERT_EQ(v, echo_expect(PVHC_HC_ECHO2, i, r, 0, 0));
			sum = sum * 31 + (unsigned long)v;
		}
		if (r + 1 < rounds)
			migrate_here();
	}
	printf("checksum=%lx\n", sum);
}

/* ---- the workload for migrations at arbitrary points ---- */

static void enable_sse(void)
{
	unsigned long cr4;

	__asm__ __volatile__("mov %%cr4, %0" : "=r"(cr4));
	cr4 |= (1ul << 9) | (1ul << 10);	/* OSFXSR, OSXMMEXCPT */
	__asm__ __volatile__("mov %0, %%cr4" : : "r"(cr4) : "memory");
	/* xmm5 = 0; x87: one value on the stack */
	__asm__ __volatile__("pxor %%xmm5, %%xmm5\n\tfninit\n\tfld1" : : : "memory");
}

/* Live across the whole run in xmm5 and ST(0): lost state changes the checksum. */
static void fpu_step(unsigned long i)
{
	uint32_t v[4] = { (uint32_t)i, 3, (uint32_t)(i * 7), 1 };

	__asm__ __volatile__("movdqu %0, %%xmm6\n\tpaddd %%xmm6, %%xmm5\n\t"
			     "fld1\n\tfaddp\n\t" : : "m"(v) : "memory");
}

static unsigned long fpu_result(void)
{
	uint32_t v[4];
	uint32_t st0;

	__asm__ __volatile__("movdqu %%xmm5, %0\n\tfistpl %1" : "=m"(v), "=m"(st0) : : "memory");
	return (unsigned long)v[0] ^ v[1] ^ ((unsigned long)v[2] << 3) ^ v[3] ^ st0;
}

static volatile unsigned long user_port_at;

/* At CPL 3: hypercalls are refused, arithmetic goes on, maybe a migration. */
static long user_work(void *arg)
{
	unsigned long n = (unsigned long)arg, i, h = 5381;

	for (i = 0; i < n; i++) {
		h = h * 33 + i;
		if (kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ) != -KVM_EPERM)
			h ^= 0xbad;
		if (i == user_port_at)
			migrate_here();
	}
	return (long)h;
}

static void user_gp_as_eperm(struct ex_regs *regs)
{
	const uint8_t *insn = (const uint8_t *)regs->rip;

	GUEST_ASSERT(insn[0] == PVHC_VMCALL_B0 && insn[1] == PVHC_VMCALL_B1);
	regs->rax = (unsigned long)-KVM_EPERM;
	regs->rip += PVHC_HYPERCALL_LEN;
}

static void test_workload(void)
{
	unsigned long iters = arg_or("iters", 300), i, sum = 0;
	user_port_at = arg_or("user-port", ~0ul);
	/* VMCALL at CPL 3 is #GP on AMD, -KVM_EPERM on Intel: make both look alike. */
	install_exception_handler(GP_VECTOR, user_gp_as_eperm);
	enable_sse();
	wrmsr(0xc0000081, 0x0023001000000000ull);	/* STAR */
	wrmsr(0xc0000102, 0x123456789ull);	/* KERNEL_GS_BASE */
	for (i = 0; i < iters; i++) {
		sum = sum * 31 + (unsigned long)sites[i % NR_SITES](i);
		fpu_step(i);
		if (i % 50 == 25)
			sum += (unsigned long)run_in_user_mode(user_work, (void *)40ul);
		if (i == arg_or("port", ~0ul))
			migrate_here();
	}
	sum ^= fpu_result();
	sum ^= (unsigned long)rdmsr(0xc0000081) ^ (unsigned long)rdmsr(0xc0000102);
	printf("checksum=%lx\n", sum);
}

void guest_main(void)
{
	if (test_selected("pingpong"))
		test_pingpong();
	else if (test_selected("workload"))
		test_workload();
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "migrate.h"
#include "test_util.h"

#define PASS_STATUS GUEST_STATUS(PVHC_EXIT_PASS)

/* The "checksum=..." line of a run's output, or "" (static buffer). */
static const char *checksum_of(const char *out)
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

/* Stats of a finished run, parsed for the few numbers the tests need. */
static long stat_of(const char *json_path, const char *key)
{
	char pat[64], *text = NULL, *p;
	size_t len = 0;
	long v = -1;
	FILE *f = fopen(json_path, "r");

	if (!f)
		return -1;
	if (getdelim(&text, &len, '\0', f) > 0) {
		snprintf(pat, sizeof(pat), "\"%s\": ", key);
		p = strstr(text, pat);
		if (p)
			v = strtol(p + strlen(pat), NULL, 10);
	}
	free(text);
	fclose(f);
	return v;
}

/* The unmigrated reference run: its checksum line. */
static char *reference(struct __test_metadata *_metadata, const char *image, const char *host,
		       const char *append)
{
	const char *args[] = { "run", "--host", host, "--append", append, image, NULL };
	struct proc p;
	char *out, *sum;

	if (proc_spawn(&p, args))
		return NULL;
	EXPECT_EQ(PASS_STATUS, proc_wait(&p, 60000));
	out = proc_read(&p, false);
	sum = strdup(checksum_of(out));
	free(out);
	proc_cleanup(&p);
	return sum;
}

struct hop_result {
	int src_status, dst_status;
	char *dst_out, *src_err, *dst_err;
};

/*
 * One migration: source on src_host with extra trigger args, destination on
 * dst_host; both run to the end. stats_path (may be NULL) gets the
 * destination's --stats.
 */
static void one_hop(const char *image, const char *src_host, const char *dst_host,
		    const char *append, const char *const *trigger, const char *stats_path,
		    struct hop_result *res)
{
	char uri[64];
	const char *dargs[12] = { "run", "--incoming", uri, "--host", dst_host, "--timeout", "60" };
	const char *sargs[16] = { "run", "--host", src_host, "--migrate-to", uri, "--append",
				  append, "--timeout", "60" };
	int nd = 7, ns = 9, i;
	static int seq;
	struct proc src, dst;

	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", test_port_base() + (seq++ % 100));
	if (stats_path) {
		dargs[nd++] = "--stats";
		dargs[nd++] = stats_path;
	}
	dargs[nd] = NULL;
	for (i = 0; trigger[i]; i++)
		sargs[ns++] = trigger[i];
	sargs[ns++] = image;
	sargs[ns] = NULL;
	memset(res, 0, sizeof(*res));
	proc_spawn(&dst, dargs);
	proc_spawn(&src, sargs);
	res->src_status = proc_wait(&src, 60000);
	/* No migration happened: nothing will ever connect to the destination. */
	res->dst_status = proc_wait(&dst, res->src_status == PVHC_STATUS_MIGRATED ? 60000 : 0);
	res->dst_out = proc_read(&dst, false);
	res->src_err = proc_read(&src, true);
	res->dst_err = proc_read(&dst, true);
	proc_cleanup(&src);
	proc_cleanup(&dst);
}

static void hop_free(struct hop_result *r)
{
	free(r->dst_out);
	free(r->src_err);
	free(r->dst_err);
}

/*
 * Intel -> AMD -> Intel ... 50 times over loopback TCP, one round of K
 * sites on each host. Every switch rewrites each site exactly once.
 */
TEST(pingpong_50_migrations)
{
	char *image = write_payload(FLAVOUR_64), *ref, *stats = test_tmpfile("stats");
	const int hops = 50;
	struct proc procs[2];
	char uris[2][64];
	int i, base = test_port_base() + 50;
	char *out;

	ASSERT_NE(NULL, image);
	ref = reference(_metadata, image, "intel", "test=pingpong rounds=51");
	ASSERT_NE(0, strlen(ref));
	/* Process i runs round i; it receives from i - 1 and sends to i + 1. */
	for (i = 0; i <= hops; i++) {
		const char *host = i % 2 ? "amd" : "intel";
		char *in = uris[i % 2], *to = uris[(i + 1) % 2];
		const char *args[20];
		int n = 0;

		snprintf(to, 64, "tcp:127.0.0.1:%d", base + (i + 1) % 40);
		args[n++] = "run";
		args[n++] = "--host";
		args[n++] = host;
		args[n++] = "--timeout";
		args[n++] = "60";
		if (i < hops) {
			args[n++] = "--migrate-to";
			args[n++] = to;
			args[n++] = "--migrate-on-port";
		} else {
			args[n++] = "--stats";
			args[n++] = stats;
		}
		if (i == 0) {
			args[n++] = "--append";
			args[n++] = "test=pingpong rounds=51";
			args[n++] = image;
		} else {
			args[n++] = "--incoming";
			args[n++] = in;
		}
		args[n] = NULL;
		ASSERT_EQ(0, proc_spawn(&procs[i % 2], args));
		if (i > 0) {
			/* The previous host hands over and exits once acknowledged. */
			int st = proc_wait(&procs[(i - 1) % 2], 60000);

			EXPECT_EQ(PVHC_STATUS_MIGRATED, st) {
				char *err = proc_read(&procs[(i - 1) % 2], true);

				TH_LOG("hop %d: status %d: %s", i, st, err);
				free(err);
			}
			proc_cleanup(&procs[(i - 1) % 2]);
		}
	}
	EXPECT_EQ(PASS_STATUS, proc_wait(&procs[hops % 2], 60000));
	out = proc_read(&procs[hops % 2], false);
	EXPECT_STREQ(ref, checksum_of(out));
	proc_cleanup(&procs[hops % 2]);
	/* 8 sites, 50 vendor switches: 400 traps and rewrites, and no more. */
	EXPECT_EQ(hops, stat_of(stats, "migrations"));
	EXPECT_EQ(hops, stat_of(stats, "vendor_switches"));
	EXPECT_EQ(8 * hops, stat_of(stats, "ud_traps"));
	EXPECT_EQ(8 * hops, stat_of(stats, "rewrites"));
	free(out);
	free(ref);
	unlink(stats);
	free(stats);
	unlink(image);
	free(image);
}

/* A migration to a host of the same vendor rewrites nothing. */
TEST(same_vendor_migration_rewrites_nothing)
{
	char *image = write_payload(FLAVOUR_64), *stats = test_tmpfile("stats");
	static const char *const trigger[] = { "--migrate-on-port", NULL };
	struct hop_result r;
	static const char *const hosts[] = { "intel", "amd" };

	for (int h = 0; h < 2; h++) {
		one_hop(image, hosts[h], hosts[h], "test=pingpong rounds=2", trigger, stats, &r);
		EXPECT_EQ(PVHC_STATUS_MIGRATED, r.src_status) TH_LOG("%s", r.src_err);
		EXPECT_EQ(PASS_STATUS, r.dst_status) TH_LOG("%s", r.dst_err);
		EXPECT_EQ(1, stat_of(stats, "migrations"));
		EXPECT_EQ(0, stat_of(stats, "vendor_switches"));
		/* On AMD the sites trapped once before the migration, and never after. */
		EXPECT_EQ(h ? 8 : 0, stat_of(stats, "ud_traps"));
		hop_free(&r);
	}
	unlink(stats);
	free(stats);
	unlink(image);
	free(image);
}

/*
 * Migrations at many instruction counts (both flavours: long mode and 32-bit
 * protected mode, some inside the CPL 3 loops), right after a #UD trap, and
 * from CPL 3 by the test port: the output is the unmigrated one every time.
 */
static void at_points(struct __test_metadata *_metadata, enum flavour f)
{
	static const unsigned long fixed[] = { 1, 2, 3, 50, 500, 5000, 20000 };
	char *image = write_payload(f), *ref;
	const char *work = "test=workload iters=300";
	unsigned int i, seed = 12345u + (unsigned int)f;
	char n[32], argbuf[64];
	struct hop_result r;

	ASSERT_NE(NULL, image);
	ref = reference(_metadata, image, "intel", work);
	ASSERT_NE(0, strlen(ref));
	for (i = 0; i < 7 + 10; i++) {
		unsigned long at = i < 7 ? fixed[i] : (unsigned long)(rand_r(&seed) % 60000);
		const char *trigger[] = { "--migrate-at-insn", n, NULL };

		snprintf(n, sizeof(n), "%lu", at);
		one_hop(image, "intel", "amd", work, trigger, NULL, &r);
		if (r.src_status == PASS_STATUS) {
			/* The guest finished before instruction N: nothing to compare. */
			hop_free(&r);
			continue;
		}
		EXPECT_EQ(PVHC_STATUS_MIGRATED, r.src_status) TH_LOG("insn %lu: %s", at, r.src_err);
		EXPECT_EQ(PASS_STATUS, r.dst_status) TH_LOG("insn %lu: %s", at, r.dst_err);
		EXPECT_STREQ(ref, checksum_of(r.dst_out)) TH_LOG("at instruction %lu", at);
		hop_free(&r);
	}
	/* Between a rewrite and its re-execution: the other host rewrites it back. */
	for (i = 1; i <= 3; i++) {
		const char *trigger[] = { "--migrate-after-ud", n, NULL };

		snprintf(n, sizeof(n), "%u", i);
		one_hop(image, "amd", "intel", work, trigger, NULL, &r);
		EXPECT_EQ(PVHC_STATUS_MIGRATED, r.src_status) TH_LOG("ud %u: %s", i, r.src_err);
		EXPECT_EQ(PASS_STATUS, r.dst_status) TH_LOG("ud %u: %s", i, r.dst_err);
		EXPECT_STREQ(ref, checksum_of(r.dst_out)) TH_LOG("after #UD %u", i);
		hop_free(&r);
	}
	/* From CPL 3, by the test port, in the middle of the user loop. */
	{
		const char *trigger[] = { "--migrate-on-port", NULL };

		snprintf(argbuf, sizeof(argbuf), "%s user-port=17", work);
		one_hop(image, "amd", "intel", argbuf, trigger, NULL, &r);
		EXPECT_EQ(PVHC_STATUS_MIGRATED, r.src_status) TH_LOG("%s", r.src_err);
		EXPECT_EQ(PASS_STATUS, r.dst_status) TH_LOG("%s", r.dst_err);
		EXPECT_STREQ(ref, checksum_of(r.dst_out)) TH_LOG("from CPL 3");
		hop_free(&r);
	}
	free(ref);
	unlink(image);
	free(image);
}

TEST(arbitrary_points_64bit)
{
	at_points(_metadata, FLAVOUR_64);
}

TEST(arbitrary_points_32bit)
{
	at_points(_metadata, FLAVOUR_32);
}

TEST_HARNESS_MAIN
#endif
