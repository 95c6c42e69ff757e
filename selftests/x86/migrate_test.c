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

/*
 * Ping-pong: each round calls every site once, then asks to migrate. The
 * host checks that each site trapped exactly once per vendor switch.
 */
static void test_pingpong(void)
{
	unsigned long rounds = cmdline_ulong("rounds", 51), r, i, sum = 0;

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

static unsigned long kvm_answers;

/*
 * Site i's answer to ECHO2(i, x), as the checksum counts it. pvhc's hosts
 * echo; a real KVM, which does not know pvhc's numbers, answers exactly
 * -KVM_ENOSYS (the ABI), and that answer counts as the echo, so that a
 * guest migrated between pvhc and a real KVM ends with the same checksum
 * as one that never moved. Anything else is counted as it is and shows.
 */
static unsigned long call_site(unsigned long i, unsigned long x)
{
	long v = sites[i](x);

	if (v == -KVM_ENOSYS) {
		kvm_answers++;
		return echo_expect(PVHC_HC_ECHO2, i, x, 0, 0);
	}
	return (unsigned long)v;
}

static void test_workload(void)
{
	unsigned long iters = cmdline_ulong("iters", 300), i, sum = 0;
	user_port_at = cmdline_ulong("user-port", ~0ul);
	/* VMCALL at CPL 3 is #GP on AMD, -KVM_EPERM on Intel: make both look alike. */
	install_exception_handler(GP_VECTOR, user_gp_as_eperm);
	enable_sse();
	wrmsr(0xc0000081, 0x0023001000000000ull);	/* STAR */
	wrmsr(0xc0000102, 0x123456789ull);	/* KERNEL_GS_BASE */
	for (i = 0; i < iters; i++) {
		sum = sum * 31 + call_site(i % NR_SITES, i);
		fpu_step(i);
		if (i % 50 == 25)
			sum += (unsigned long)run_in_user_mode(user_work, (void *)40ul);
		if (i == cmdline_ulong("port", ~0ul))
			migrate_here();
	}
	/* Every site once more, so each has run on the last host (its bytes say which). */
	for (i = 0; i < NR_SITES; i++)
		sum = sum * 31 + call_site(i, iters);
	sum ^= fpu_result();
	sum ^= (unsigned long)rdmsr(0xc0000081) ^ (unsigned long)rdmsr(0xc0000102);
	printf("checksum=%lx\n", sum);
	/* The host checks these: which opcode each site holds now, who answered. */
	printf("sites=");
	for (i = 0; i < NR_SITES; i++)
		printf("%02x", find_hypercall((const void *)sites[i], 64)[2]);
	printf("\nkvm_answers=%lu\n", kvm_answers);
}

/* Keeps writing a buffer while (live) migration copies it. */
static void test_dirty(void)
{
	unsigned long pages = cmdline_ulong("pages", 512), iters = cmdline_ulong("iters", 400);
	unsigned long at = cmdline_ulong("port", ~0ul), it, p, sum = 0;
	uint32_t *buf = alloc_pages((unsigned int)pages);

	for (it = 0; it < iters; it++) {
		for (p = it % 7; p < pages; p += 7)
			buf[p * 1024 + (it % 1024)] += (uint32_t)(it + p);
		if (it == at)
			migrate_here();
	}
	for (p = 0; p < pages * 1024; p++)
		sum = sum * 31 + buf[p];
	printf("checksum=%lx\n", sum);
}

void guest_main(void)
{
	if (test_selected("dirty"))
		test_dirty();
	else if (test_selected("pingpong"))
		test_pingpong();
	else if (test_selected("workload"))
		test_workload();
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "migrate.h"
#include "migrate_util.h"
#include "test_util.h"

#define PASS_STATUS GUEST_STATUS(PVHC_EXIT_PASS)

/*
 * Every test here moves a guest between the emulated Intel and AMD hosts
 * (--host), which only the tcg backend provides; on kvm the host is the
 * real CPU.
 */
#define REQUIRE_EMULATED_HOSTS()						\
	do {									\
		if (!on_emulated_host())					\
			SKIP(return, "%s backend: migration tests need the emulated hosts (tcg)", \
			     test_accel_name());				\
	} while (0)


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

	REQUIRE_EMULATED_HOSTS();

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

	REQUIRE_EMULATED_HOSTS();

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
	REQUIRE_EMULATED_HOSTS();
	at_points(_metadata, FLAVOUR_64);
}

/*
 * The destination dies at a random byte of the stream: a proxy between the
 * two forwards that many bytes, then SIGKILLs the destination and drops the
 * connection. The source must resume and finish with the right result.
 */
struct proxy {
	int lfd;
	int port;
	long cut;		/* bytes source -> destination before the kill; -1: never */
	pid_t dest;
	long forwarded;
};

static int listen_on(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 1)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int connect_to(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int i;

	for (i = 0; i < 500; i++) {
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	return -1;
}

/* Forward both ways; after p->cut bytes towards the destination, kill it. */
static void *proxy_main(void *arg)
{
	struct proxy *p = arg;
	int s = accept(p->lfd, NULL, NULL), d = s >= 0 ? connect_to(p->port + 1) : -1;
	char buf[4096];

	while (s >= 0 && d >= 0) {
		struct pollfd pf[2] = { { s, POLLIN, 0 }, { d, POLLIN, 0 } };
		ssize_t n;

		if (poll(pf, 2, 20000) <= 0)
			break;
		if (pf[0].revents) {
			size_t want = sizeof(buf);

			if (p->cut >= 0 && (long)want > p->cut - p->forwarded)
				want = (size_t)(p->cut - p->forwarded);
			n = want ? read(s, buf, want) : 0;
			if (n <= 0 || write(d, buf, (size_t)n) != n)
				break;
			p->forwarded += n;
			if (p->cut >= 0 && p->forwarded >= p->cut)
				break;
		}
		if (pf[1].revents) {
			n = read(d, buf, sizeof(buf));
			if (n <= 0 || write(s, buf, (size_t)n) != n)
				break;
		}
	}
	if (p->cut >= 0)
		kill(p->dest, SIGKILL);
	if (s >= 0)
		close(s);
	if (d >= 0)
		close(d);
	return NULL;
}

/* One attempt through the proxy; returns the source's status, *dst_status too. */
static int proxied_hop(const char *image, int port, long cut, long *bytes, char **src_out,
		       int *dst_status)
{
	char src_uri[64], dst_uri[64];
	const char *dargs[] = { "run", "--incoming", dst_uri, "--host", "amd", "--timeout", "30",
				NULL };
	const char *sargs[] = { "run", "--host", "intel", "--migrate-to", src_uri,
				"--migrate-on-port", "--append", "test=pingpong rounds=2",
				"--timeout", "30", image, NULL };
	struct proxy px = { .port = port, .cut = cut };
	struct proc src, dst;
	pthread_t th;
	int st;

	snprintf(src_uri, sizeof(src_uri), "tcp:127.0.0.1:%d", port);
	snprintf(dst_uri, sizeof(dst_uri), "tcp:127.0.0.1:%d", port + 1);
	px.lfd = listen_on(port);
	if (px.lfd < 0 || proc_spawn(&dst, dargs))
		return -1;
	px.dest = dst.pid;
	pthread_create(&th, NULL, proxy_main, &px);
	proc_spawn(&src, sargs);
	st = proc_wait(&src, 60000);
	*dst_status = proc_wait(&dst, st == PVHC_STATUS_MIGRATED ? 60000 : 2000);
	shutdown(px.lfd, SHUT_RDWR);
	pthread_join(th, NULL);
	close(px.lfd);
	*bytes = px.forwarded;
	*src_out = proc_read(&src, false);
	proc_cleanup(&src);
	proc_cleanup(&dst);
	return st;
}

TEST(destination_dies_at_random_points)
{
	char *image = write_payload(FLAVOUR_64), *ref, *out;
	int port = test_port_base() + 80, dst, i;
	unsigned int seed = 4242;
	long total;

	REQUIRE_EMULATED_HOSTS();

	ASSERT_NE(NULL, image);
	/* Two rounds: one migration attempt; after a failed one the guest finishes here. */
	ref = reference(_metadata, image, "intel", "test=pingpong rounds=2");
	/* Uncut: learn the stream's length (and that the proxy itself works). */
	ASSERT_EQ(PVHC_STATUS_MIGRATED, proxied_hop(image, port, -1, &total, &out, &dst));
	free(out);
	ASSERT_LT(1000, total);
	for (i = 0; i < 20; i++) {
		long cut = i == 0 ? 0 : i == 1 ? total - 1 : (long)(rand_r(&seed) % total), got;
		int st = proxied_hop(image, port, cut, &got, &out, &dst);

		/* Resumed here and finished: same result as never migrating. */
		EXPECT_EQ(PASS_STATUS, st) TH_LOG("cut at byte %ld of %ld", cut, total);
		EXPECT_STREQ(ref, checksum_of(out)) TH_LOG("cut at byte %ld", cut);
		EXPECT_EQ(128 + SIGKILL, dst) TH_LOG("cut at byte %ld: destination %d", cut, dst);
		free(out);
	}
	free(ref);
	unlink(image);
	free(image);
}

/* ---- the stream itself: save, restore, save again; and bad streams ---- */

/* Save on Intel, restore on AMD and save at once: the VM state is the same. */
TEST(save_restore_save_compares_equal)
{
	char *image = write_payload(FLAVOUR_64), *a = test_tmpfile("a.mig"), *b = test_tmpfile("b.mig");
	char ua[300], ub[300], *ref;
	struct saved_stream sa, sb;
	uint64_t mem;
	struct proc p;
	char *out;

	REQUIRE_EMULATED_HOSTS();

	snprintf(ua, sizeof(ua), "file:%s", a);
	snprintf(ub, sizeof(ub), "file:%s", b);
	ref = reference(_metadata, image, "intel", "test=pingpong rounds=3");
	{
		const char *args[] = { "run", "--host", "intel", "--migrate-to", ua, "--migrate-on-port",
				       "--append", "test=pingpong rounds=3", image, NULL };
		ASSERT_EQ(0, proc_spawn(&p, args));
		ASSERT_EQ(PVHC_STATUS_MIGRATED, proc_wait(&p, 30000));
		proc_cleanup(&p);
	}
	{
		const char *args[] = { "run", "--incoming", ua, "--host", "amd", "--migrate-to", ub,
				       "--migrate-at-insn", "0", NULL };
		ASSERT_EQ(0, proc_spawn(&p, args));
		ASSERT_EQ(PVHC_STATUS_MIGRATED, proc_wait(&p, 30000));
		proc_cleanup(&p);
	}
	ASSERT_EQ(0, read_stream(a, &sa));
	ASSERT_EQ(0, read_stream(b, &sb));
	/*
	 * Host-side fields, which differ by design: CONFIG bytes 16..31 (the
	 * sending host's personality) and the shim's migration counters.
	 */
	{
		const struct saved_section *ca = find_section(&sa, SEC_CONFIG);
		const struct saved_section *cb = find_section(&sb, SEC_CONFIG);

		ASSERT_NE(NULL, ca);
		ASSERT_NE(NULL, cb);
		ASSERT_EQ(ca->h.len, cb->h.len);
		EXPECT_EQ(0, memcmp(ca->data, cb->data, 16));
		EXPECT_EQ(0, memcmp(ca->data + 32, cb->data + 32, ca->h.len - 32));
		memcpy(&mem, ca->data, 8);
	}
	for (uint32_t id = SEC_CPU; id <= SEC_DEVICES; id++) {
		const struct saved_section *x = find_section(&sa, id), *y = find_section(&sb, id);

		ASSERT_NE(NULL, x);
		ASSERT_NE(NULL, y);
		EXPECT_EQ(x->h.len, y->h.len) TH_LOG("section %u", id);
		if (x->h.len == y->h.len)
			EXPECT_EQ(0, memcmp(x->data, y->data, x->h.len)) TH_LOG("section %u differs", id);
	}
	{
		uint8_t *ra = ram_image(&sa, mem), *rb = ram_image(&sb, mem);

		ASSERT_NE(NULL, ra);
		ASSERT_NE(NULL, rb);
		EXPECT_EQ(0, memcmp(ra, rb, mem));
		free(ra);
		free(rb);
	}
	/* And B still runs to the right end, on Intel again. */
	{
		const char *args[] = { "run", "--incoming", ub, "--host", "intel", NULL };

		ASSERT_EQ(0, proc_spawn(&p, args));
		EXPECT_EQ(PASS_STATUS, proc_wait(&p, 30000));
		out = proc_read(&p, false);
		EXPECT_STREQ(ref, checksum_of(out));
		free(out);
		proc_cleanup(&p);
	}
	free_stream(&sa);
	free_stream(&sb);
	unlink(a);
	unlink(b);
	free(a);
	free(b);
	free(ref);
	unlink(image);
	free(image);
}

/* Every bad stream: status 2, one line, no crash (ASan builds catch the rest). */
static void expect_refused(struct __test_metadata *_metadata, const char *path, const char *mem,
			   const char *needle, const char *what)
{
	char uri[300];
	const char *args[] = { "run", "--incoming", uri, "--mem", mem, "--timeout", "20", NULL };
	struct cmd_result r;

	snprintf(uri, sizeof(uri), "file:%s", path);
	ASSERT_EQ(0, run_pvhc(args, &r));
	EXPECT_EQ(2, r.status) TH_LOG("%s: status %d: %s", what, r.status, r.err);
	EXPECT_EQ(1, r.err_lines) TH_LOG("%s: %s", what, r.err);
	if (needle)
		EXPECT_NE(NULL, strstr(r.err, needle)) TH_LOG("%s: expected '%s' in: %s", what,
							     needle, r.err);
	cmd_result_free(&r);
}

static char *make_good_stream(struct __test_metadata *_metadata, const char *image)
{
	char *path = test_tmpfile("good.mig"), uri[300];
	const char *args[] = { "run", "--host", "intel", "--migrate-to", uri, "--migrate-on-port",
			       "--mem", "16M", "--append", "test=pingpong rounds=3", image, NULL };
	struct proc p;

	snprintf(uri, sizeof(uri), "file:%s", path);
	proc_spawn(&p, args);
	EXPECT_EQ(PVHC_STATUS_MIGRATED, proc_wait(&p, 30000));
	proc_cleanup(&p);
	return path;
}

TEST(bad_streams_are_refused)
{
	char *image = write_payload(FLAVOUR_64), *good, *bad = test_tmpfile("bad.mig");
	struct saved_stream ss;
	struct saved_section extra;
	unsigned int seed = 99, i;
	uint8_t *bytes;
	size_t size;
	FILE *f;

	REQUIRE_EMULATED_HOSTS();

	good = make_good_stream(_metadata, image);
	ASSERT_EQ(0, read_stream(good, &ss));
	f = fopen(good, "r");
	ASSERT_NE(NULL, f);
	fseek(f, 0, SEEK_END);
	size = (size_t)ftell(f);
	rewind(f);
	bytes = malloc(size);
	ASSERT_EQ(size, fread(bytes, 1, size, f));
	fclose(f);

	/* Truncated at any byte: every byte of the header, then a spread. */
	for (size_t cut = 0; cut < size; cut += cut < 48 ? 1 : 1499) {
		f = fopen(bad, "w");
		fwrite(bytes, 1, cut, f);
		fclose(f);
		expect_refused(_metadata, bad, "64M", NULL, "truncated");
	}
	/* Bit flips anywhere. */
	for (i = 0; i < 24; i++) {
		size_t at = (size_t)rand_r(&seed) % size;

		uint8_t bit = (uint8_t)(1u << (rand_r(&seed) % 8));

		bytes[at] ^= bit;
		f = fopen(bad, "w");
		fwrite(bytes, 1, size, f);
		fclose(f);
		bytes[at] ^= bit;
		expect_refused(_metadata, bad, "64M", NULL, "bit flip");
	}
	/* Wrong magic, version and endianness mark. */
	{
		static const struct { size_t at; uint8_t val; const char *needle; } hdr[] = {
			{ 0, 'X', "bad magic" }, { 8, 2, "format version" }, { 12, 0x01, "endianness" },
		};

		for (i = 0; i < 3; i++) {
			uint8_t old = bytes[hdr[i].at];

			bytes[hdr[i].at] = hdr[i].val;
			f = fopen(bad, "w");
			fwrite(bytes, 1, size, f);
			fclose(f);
			bytes[hdr[i].at] = old;
			expect_refused(_metadata, bad, "64M", hdr[i].needle, "header");
		}
	}
	/* RAM above the destination's --mem. */
	expect_refused(_metadata, good, "8M", "above this host's limit", "--mem");
	/* Too many vCPUs, claimed in CONFIG. */
	{
		struct saved_section *c = &ss.s[0];
		uint32_t old;

		memcpy(&old, c->data + 8, 4);
		memcpy(c->data + 8, &(uint32_t){ 65 }, 4);
		write_stream(bad, &ss, -1, NULL, -1);
		memcpy(c->data + 8, &old, 4);
		expect_refused(_metadata, bad, "64M", "vCPUs", "vcpus");
	}
	/* An oversized section: refused from its header, nothing allocated. */
	{
		uint8_t h[16 + 16];
		uint32_t id = SEC_RAM;
		uint16_t v = 1, fl = 0;
		uint64_t len = 1ull << 40;

		memcpy(h, bytes, 16);	/* the stream header */
		memcpy(h + 16, &id, 4);
		memcpy(h + 20, &v, 2);
		memcpy(h + 22, &fl, 2);
		memcpy(h + 24, &len, 8);
		/* After CONFIG, so the size check is what refuses it. */
		f = fopen(bad, "w");
		fwrite(bytes, 1, 16 + 16 + ss.s[0].h.len + 4, f);
		fwrite(h + 16, 1, 16, f);
		fclose(f);
		expect_refused(_metadata, bad, "64M", "above its limit", "oversized");
	}
	/* Missing and duplicated sections, and an unknown required one. */
	for (i = 0; i < ss.n; i++) {
		if (ss.s[i].h.id == SEC_CPU || ss.s[i].h.id == SEC_DEVICES || ss.s[i].h.id == SEC_CONFIG) {
			write_stream(bad, &ss, (int)i, NULL, -1);
			expect_refused(_metadata, bad, "64M", NULL, "missing section");
			write_stream(bad, &ss, -1, &ss.s[i], (int)i);
			expect_refused(_metadata, bad, "64M", "duplicate", "duplicate section");
		}
	}
	extra = (struct saved_section){ .h = { .id = 0x7777, .version = 1, .flags = 0, .len = 0 },
					.data = NULL };
	write_stream(bad, &ss, -1, &extra, 1);
	expect_refused(_metadata, bad, "64M", "unknown required section", "unknown");
	/* An unknown optional section is skipped: the stream still loads and runs. */
	extra.h.flags = SECTION_F_OPTIONAL;
	write_stream(bad, &ss, -1, &extra, 1);
	{
		char uri[300];
		const char *args[] = { "run", "--incoming", uri, "--timeout", "20", NULL };
		struct cmd_result r;

		snprintf(uri, sizeof(uri), "file:%s", bad);
		ASSERT_EQ(0, run_pvhc(args, &r));
		EXPECT_EQ(PASS_STATUS, r.status) TH_LOG("%s", r.err);
		cmd_result_free(&r);
	}
	free_stream(&ss);
	free(bytes);
	unlink(good);
	unlink(bad);
	free(good);
	free(bad);
	unlink(image);
	free(image);
}

TEST(arbitrary_points_32bit)
{
	REQUIRE_EMULATED_HOSTS();
	at_points(_metadata, FLAVOUR_32);
}

/* Live: pre-copy while the guest keeps dirtying memory, then stop and copy. */
TEST(live_migration_while_dirtying)
{
	char *image = write_payload(FLAVOUR_64), *ref;
	const char *work = "test=dirty pages=2048 iters=12000 port=5";
	static const char *const trigger[] = { "--migrate-on-port", "--migrate-live", NULL };
	static const char *const hosts[][2] = { { "intel", "amd" }, { "amd", "intel" } };
	struct hop_result r;

	REQUIRE_EMULATED_HOSTS();

	ref = reference(_metadata, image, "intel", work);
	ASSERT_NE(0, strlen(ref));
	for (int h = 0; h < 2; h++) {
		const char *rounds;

		one_hop(image, hosts[h][0], hosts[h][1], work, trigger, NULL, &r);
		EXPECT_EQ(PVHC_STATUS_MIGRATED, r.src_status) TH_LOG("%s", r.src_err);
		EXPECT_EQ(PASS_STATUS, r.dst_status) TH_LOG("%s", r.dst_err);
		EXPECT_STREQ(ref, checksum_of(r.dst_out));
		/* "migrated to ...: N bytes, N pages, N rounds, total X ms, downtime Y ms" */
		rounds = strstr(r.src_err, " rounds");
		EXPECT_NE(NULL, rounds) TH_LOG("%s", r.src_err);
		EXPECT_NE(NULL, strstr(r.src_err, "downtime"));
		hop_free(&r);
	}
	free(ref);
	unlink(image);
	free(image);
}

/* An inherited descriptor (here one end of a socketpair each) carries the stream and the ack. */
TEST(inherited_fd_transport)
{
	char *image = write_payload(FLAVOUR_64), *ref, *out, din[16], dout[16];
	const char *dargs[] = { "run", "--incoming", din, "--host", "amd", "--timeout", "30", NULL };
	const char *sargs[] = { "run", "--host", "intel", "--migrate-to", dout, "--migrate-on-port",
				"--append", "test=pingpong rounds=3", "--timeout", "30", image, NULL };
	struct proc src, dst;
	int sv[2];

	REQUIRE_EMULATED_HOSTS();

	ref = reference(_metadata, image, "intel", "test=pingpong rounds=3");
	ASSERT_EQ(0, socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
	snprintf(din, sizeof(din), "fd:%d", sv[0]);
	snprintf(dout, sizeof(dout), "fd:%d", sv[1]);
	ASSERT_EQ(0, proc_spawn_closing(&dst, dargs, sv[1]));
	ASSERT_EQ(0, proc_spawn_closing(&src, sargs, sv[0]));
	close(sv[0]);
	close(sv[1]);
	EXPECT_EQ(PVHC_STATUS_MIGRATED, proc_wait(&src, 30000));
	EXPECT_EQ(PASS_STATUS, proc_wait(&dst, 30000));
	out = proc_read(&dst, false);
	EXPECT_STREQ(ref, checksum_of(out));
	free(out);
	proc_cleanup(&src);
	proc_cleanup(&dst);
	free(ref);
	unlink(image);
	free(image);
}

/* ---- the monitor ---- */

static int monitor_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int i;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	for (i = 0; i < 500; i++) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd >= 0 && !connect(fd, (struct sockaddr *)&sa, sizeof(sa)))
			return fd;
		if (fd >= 0)
			close(fd);
		usleep(10000);
	}
	return -1;
}

/* Send a line, return the reply line (static buffer). */
static const char *monitor_cmd(int fd, const char *line)
{
	static char reply[8192];
	size_t n = 0;

	if (line && (write(fd, line, strlen(line)) < 0 || write(fd, "\n", 1) != 1))
		return "";
	while (n < sizeof(reply) - 1) {
		if (read(fd, reply + n, 1) != 1)
			break;
		if (reply[n++] == '\n')
			break;
	}
	reply[n] = '\0';
	return reply;
}

TEST(monitor_commands_and_migrate)
{
	char *image = write_payload(FLAVOUR_64), *sock = test_tmpfile("mon.sock"), *ref, *out;
	const char *work = "test=dirty pages=1024 iters=100000";
	char uri[64], cmd[200];
	const char *dargs[] = { "run", "--incoming", uri, "--host", "amd", "--timeout", "20", NULL };
	char monitor[300];
	const char *sargs[] = { "run", "--host", "intel", "--monitor", monitor, "--append", work,
				"--timeout", "20", image, NULL };
	struct proc src, dst;
	int fd, i;

	REQUIRE_EMULATED_HOSTS();

	signal(SIGPIPE, SIG_IGN);	/* a vanished pvhc is a failed check, not a dead test */
	snprintf(monitor, sizeof(monitor), "unix:%s", sock);
	snprintf(uri, sizeof(uri), "tcp:127.0.0.1:%d", test_port_base() + 90);
	ref = reference(_metadata, image, "intel", work);
	ASSERT_EQ(0, proc_spawn(&dst, dargs));
	ASSERT_EQ(0, proc_spawn(&src, sargs));
	fd = monitor_connect(sock);
	ASSERT_LE(0, fd);
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, NULL), "\"PVHC\""));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"qmp_capabilities\"}"), "\"return\""));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"stats\"}"), "\"hypercalls\""));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"query-migrate\"}"), "\"none\""));
	/* Bad input: an error reply each, and the connection stays usable. */
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": "), "\"error\""));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "[1, 2]"), "\"error\""));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"frobnicate\"}"), "unknown command"));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"migrate\"}"), "uri"));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"stop\"}"), "\"return\""));
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"cont\"}"), "\"return\""));
	/* Migrate a stopped guest (so it cannot finish first); cont is refused meanwhile. */
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, "{\"execute\": \"stop\"}"), "\"return\""));
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\": \"migrate\", \"arguments\": {\"uri\": \"%s\", \"live\": true}}", uri);
	EXPECT_NE(NULL, strstr(monitor_cmd(fd, cmd), "\"return\""));
	for (i = 0; i < 500; i++) {
		const char *st = monitor_cmd(fd, "{\"execute\": \"query-migrate\"}");

		if (!strstr(st, "\"active\"")) {
			/* Once migrated the source exits, and its monitor with it. */
			if (st[0])
				EXPECT_NE(NULL, strstr(st, "\"completed\"")) TH_LOG("%s", st);
			break;
		}
		usleep(10000);
	}
	close(fd);
	EXPECT_EQ(PVHC_STATUS_MIGRATED, proc_wait(&src, 60000));
	EXPECT_EQ(PASS_STATUS, proc_wait(&dst, 60000));
	out = proc_read(&dst, false);
	EXPECT_STREQ(ref, checksum_of(out));
	free(out);
	proc_cleanup(&src);
	proc_cleanup(&dst);
	free(ref);
	unlink(sock);
	free(sock);
	unlink(image);
	free(image);
}

TEST_HARNESS_MAIN
#endif
