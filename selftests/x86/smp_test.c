// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMP guests: APs started by INIT/SIPI through the local APIC, IPIs,
 * KICK_CPU and SCHED_YIELD, guest atomics and a spinlock, and the
 * hypercall rewrite under load - every vCPU hammering a shared site, a
 * site of its own and a site straddling two pages while the guest migrates
 * between the Intel and AMD hosts. Each site must be rewritten exactly once
 * per switch, and no vCPU may ever see a torn or stale instruction (it
 * would execute the foreign opcode again, or fault).
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#include "guest_util.h"

#define IPI_VECTOR	0x40
#define STRADDLE_VA	0x40400000ul

/* Bring up cpus=N CPUs or fail. */
static unsigned int start_cpus(void)
{
	unsigned int want = (unsigned int)cmdline_ulong("cpus", 1), up;

	up = smp_start_aps(want);
	printf("cpus up: %u of %u\n", up, want);
	GUEST_ASSERT_EQ(up, want);
	return up;
}

/* pvhc's own numbers answer only on pvhc; QEMU TCG has no hypercalls at all. */
static bool hypercalls_work(void)
{
	return kvm_para_available();
}

/* ---- boot: every CPU up, with its own APIC ID, and hypercalls from each ---- */

static volatile uint32_t seen_apic[SMP_MAX_CPUS];

static void report_in(void *arg)
{
	unsigned int me = smp_id();

	seen_apic[me] = apic_id() + 1;
	if (hypercalls_work()) {
		GUEST_ASSERT_EQ(kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ), 0);
		GUEST_ASSERT_EQ(kvm_hypercall1(KVM_HC_SCHED_YIELD, smp_apic_id_of(0)), 0);
	}
}

static void test_boot(void)
{
	unsigned int n = start_cpus(), i, j;

	on_all_cpus(report_in, NULL);
	for (i = 0; i < n; i++) {
		GUEST_ASSERT(seen_apic[i] != 0);
		GUEST_ASSERT_EQ(seen_apic[i] - 1, smp_apic_id_of(i));
		for (j = 0; j < i; j++)
			GUEST_ASSERT(seen_apic[i] != seen_apic[j]);
	}
	printf("boot: %u CPUs, distinct APIC IDs\n", n);
}

/* ---- atomic: LOCK INC and a spinlock-protected read-modify-write ---- */

static volatile uint32_t counter, plain, unlocked;
static struct spinlock lock;

/* A read-modify-write spread over several blocks, so preemption can land inside it. */
static uint32_t slow_increment(volatile uint32_t *p)
{
	uint32_t v = *p;
	volatile unsigned int spin;

	for (spin = 0; spin < 16; spin++)
		__asm__ __volatile__("" : : : "memory");
	*p = v + 1;
	return v;
}

static void atomic_work(void *arg)
{
	unsigned long m = (unsigned long)arg, i;

	for (i = 0; i < m; i++) {
		atomic_inc(&counter);
		spin_lock(&lock);
		slow_increment(&plain);
		spin_unlock(&lock);
	}
}

static void unlocked_work(void *arg)
{
	unsigned long m = (unsigned long)arg, i;

	for (i = 0; i < m; i++)
		slow_increment(&unlocked);
}

static void test_atomic(void)
{
	unsigned int n = start_cpus();
	unsigned long m = cmdline_ulong("m", 20000);
	uint32_t lost;

	on_all_cpus(atomic_work, (void *)m);
	printf("atomic: lock incl %u, spinlock %u, expected %lu\n", counter, plain, n * m);
	GUEST_ASSERT_EQ(counter, n * m);
	GUEST_ASSERT_EQ(plain, n * m);
	/* The same section without the lock loses updates: the test above can fail. */
	on_all_cpus(unlocked_work, (void *)m);
	lost = (uint32_t)(n * m) - unlocked;
	printf("atomic: without the lock %u of %lu updates were lost\n", lost, n * m);
	if (n > 1 && cmdline_ulong("expect_lost", 0))
		GUEST_ASSERT(lost > 0);
}

/* ---- ipi: fixed IPIs by the ICR (one, self, all others) and KVM_HC_SEND_IPI ---- */

static volatile uint32_t ipis[SMP_MAX_CPUS];

static void ipi_handler(struct ex_regs *regs)
{
	atomic_inc(&ipis[smp_id()]);
	apic_eoi();
}

static void wait_ipis(unsigned int cpu, uint32_t count)
{
	uint64_t t0 = rdtsc();

	while (ipis[cpu] < count && rdtsc() - t0 < 2000ull * 1000 * 1000)
		cpu_relax();
	GUEST_ASSERT_EQ(ipis[cpu], count);
}

static void test_ipi(void)
{
	unsigned int n = start_cpus(), i;
	unsigned long bitmap = 0;

	install_exception_handler(IPI_VECTOR, ipi_handler);
	for (i = 1; i < n; i++) {
		apic_send_ipi(smp_apic_id_of(i), APIC_DM_FIXED | IPI_VECTOR);
		wait_ipis(i, 1);
	}
	sti();
	apic_send_ipi(0, APIC_DEST_SELF | APIC_DM_FIXED | IPI_VECTOR);
	wait_ipis(0, 1);
	cli();
	apic_send_ipi(0, APIC_DEST_OTHERS | APIC_DM_FIXED | IPI_VECTOR);
	for (i = 1; i < n; i++)
		wait_ipis(i, 2);
	GUEST_ASSERT_EQ(ipis[0], 1);
	if (hypercalls_work()) {
		for (i = 1; i < n; i++)
			bitmap |= 1ul << smp_apic_id_of(i);
		GUEST_ASSERT_EQ(kvm_hypercall4(KVM_HC_SEND_IPI, bitmap, 0, 0, IPI_VECTOR), n - 1);
		for (i = 1; i < n; i++)
			wait_ipis(i, 3);
	}
	printf("ipi: %u CPUs got theirs, by APIC ID, shorthand%s\n", n,
	       hypercalls_work() ? " and KVM_HC_SEND_IPI" : "");
}

/* ---- kick: KVM_HC_KICK_CPU wakes exactly the vCPU it names ---- */

static volatile uint32_t parked[SMP_MAX_CPUS], woke[SMP_MAX_CPUS];

/* Halt with interrupts off: nothing but a kick can end it. */
static void park(void *arg)
{
	unsigned int me = smp_id();

	parked[me] = 1;
	__asm__ __volatile__("cli; hlt" : : : "memory");
	woke[me] = 1;
}

static void let_others_run(unsigned int n)
{
	unsigned int i;

	for (i = 0; i < 4 * n; i++)
		GUEST_ASSERT_EQ(kvm_hypercall1(KVM_HC_SCHED_YIELD, smp_apic_id_of(i % n)), 0);
}

static void test_kick(void)
{
	unsigned int n = start_cpus(), k, j;

	if (!hypercalls_work())
		GUEST_SKIP("no KVM hypercalls here");
	for (k = 1; k < n; k++)
		on_cpu_async(k, park, NULL);
	for (k = 1; k < n; k++)
		while (!parked[k])
			cpu_relax();
	let_others_run(n);
	for (k = 1; k < n; k++)
		GUEST_ASSERT_EQ(woke[k], 0);
	/* Wake them one by one, in reverse order; the others must stay asleep. */
	for (k = n - 1; k >= 1; k--) {
		GUEST_ASSERT_EQ(kvm_hypercall2(KVM_HC_KICK_CPU, 0, smp_apic_id_of(k)), 0);
		on_cpu_wait(k);
		GUEST_ASSERT_EQ(woke[k], 1);
		let_others_run(n);
		for (j = 1; j < k; j++)
			GUEST_ASSERT_EQ(woke[j], 0);
	}
	printf("kick: %u vCPUs woken one at a time, each alone\n", n - 1);
}

/* ---- hammer: all CPUs on shared, own and straddling sites across migrations ---- */

#define SITE(i)								\
	static __attribute__((noinline)) long own_site_##i(unsigned long x)	\
	{								\
		return kvm_hypercall2(PVHC_HC_ECHO2, i, x);		\
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
static long (*const own_sites[])(unsigned long) = {
	own_site_0, own_site_1, own_site_2, own_site_3,
	own_site_4, own_site_5, own_site_6, own_site_7,
};
#define NR_OWN_SITES (sizeof(own_sites) / sizeof(own_sites[0]))

static __attribute__((noinline)) long shared_site(unsigned long cpu, unsigned long x)
{
	return kvm_hypercall3(PVHC_HC_ECHO3, cpu, x, 77);
}

/* VMCALL across two pages with unrelated frames: 0f 01 | c1 c3. */
static void make_straddling_site(void)
{
	uint8_t *hi = alloc_page(), *lo = alloc_page();

	memset(hi, 0xcc, PAGE_SIZE);
	memset(lo, 0xcc, PAGE_SIZE);
	lo[0xffe] = PVHC_VMCALL_B0;
	lo[0xfff] = PVHC_VMCALL_B1;
	hi[0] = PVHC_VMCALL_B2;
	hi[1] = 0xc3;
	map_page(STRADDLE_VA, (uintptr_t)lo, PTE_W);
	map_page(STRADDLE_VA + PAGE_SIZE, (uintptr_t)hi, PTE_W);
}

static long straddling_site(unsigned long a0)
{
	long ret;

	__asm__ __volatile__("call *%[fn]"
			     : "=a"(ret), "+b"(a0)
			     : "a"((unsigned long)PVHC_HC_ECHO1), [fn] "r"(STRADDLE_VA + 0xffe)
			     : "memory", "ecx", "edx", "esi");
	return ret;
}

static volatile uint32_t iterations[SMP_MAX_CPUS];
static volatile uint32_t budget, stop_hammer;

static void hammer_once(unsigned int me, unsigned long x)
{
	GUEST_ASSERT_EQ(shared_site(me, x), echo_expect(PVHC_HC_ECHO3, me, x, 77, 0));
	GUEST_ASSERT_EQ(own_sites[me](x), echo_expect(PVHC_HC_ECHO2, me, x, 0, 0));
	GUEST_ASSERT_EQ(straddling_site(x + me), echo_expect(PVHC_HC_ECHO1, x + me, 0, 0, 0));
	iterations[me]++;
}

static void hammer(void *arg)
{
	unsigned int me = smp_id();
	unsigned long x = 0;

	while (!stop_hammer) {
		if (iterations[me] < budget)
			hammer_once(me, x++);
		else
			cpu_relax();
	}
}

/*
 * The APs hammer up to a budget the BSP raises by 6 iterations per period
 * (which keeps the trace small); the BSP migrates once every CPU has
 * finished 2 whole iterations since the last switch - so that each site ran
 * on each host and the rewrite count per switch is exact - while the APs
 * still have iterations to go: the guest moves in the middle of the hammer.
 */
static void test_hammer(void)
{
	unsigned int n = start_cpus(), i;
	unsigned long switches = cmdline_ulong("switches", 0), s, x = 0;
	uint32_t mark[SMP_MAX_CPUS];

	if (!hypercalls_work())
		GUEST_SKIP("no KVM hypercalls here");
	if (n > NR_OWN_SITES)
		GUEST_FAIL("at most %u CPUs for this test", (unsigned int)NR_OWN_SITES);
	make_straddling_site();
	for (i = 1; i < n; i++)
		on_cpu_async(i, hammer, NULL);
	for (s = 0; s <= switches; s++) {
		for (i = 0; i < n; i++)
			mark[i] = iterations[i];
		budget += 6;
		smp_mb();
		hammer_once(0, x++);
		hammer_once(0, x++);
		for (i = 1; i < n; i++)
			while (iterations[i] < mark[i] + 2)
				cpu_relax();
		if (s < switches)
			migrate_here();
	}
	stop_hammer = 1;
	for (i = 1; i < n; i++)
		on_cpu_wait(i);
	printf("hammer: %u CPUs, %lu switches, sites: 1 shared, %u own, 1 straddling\n", n,
	       switches, n);
	for (i = 0; i < n; i++)
		printf("hammer: cpu %u ran %u iterations\n", i, iterations[i]);
}

/* ---- halt: every CPU halted with nothing to wake it ---- */

static void test_halt(void)
{
	start_cpus();
	__asm__ __volatile__("cli; hlt" : : : "memory");
	GUEST_FAIL("woke up from HLT with interrupts off");
}

void guest_main(void)
{
	if (test_selected("halt"))
		test_halt();
	else if (test_selected("boot"))
		test_boot();
	else if (test_selected("atomic"))
		test_atomic();
	else if (test_selected("ipi"))
		test_ipi();
	else if (test_selected("kick"))
		test_kick();
	else if (test_selected("hammer"))
		test_hammer();
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define PASS_STATUS GUEST_STATUS(PVHC_EXIT_PASS)

FIXTURE(smp) {
	struct guest_run run;
};

FIXTURE_VARIANT(smp) {
	const char *host;
	enum flavour flavour;
};

FIXTURE_VARIANT_ADD(smp, intel_64) { .host = "intel", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(smp, intel_32) { .host = "intel", .flavour = FLAVOUR_32 };
FIXTURE_VARIANT_ADD(smp, amd_64) { .host = "amd", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(smp, amd_32) { .host = "amd", .flavour = FLAVOUR_32 };

FIXTURE_SETUP(smp)
{
	memset(&self->run, 0, sizeof(self->run));
}

FIXTURE_TEARDOWN(smp)
{
	guest_run_free(&self->run);
}

/* SMP needs the emulated hosts: the kvm backend runs one vCPU and has no APIC model. */
static void require_emulated(struct __test_metadata *_metadata, const char *host)
{
	const char *why = variant_unavailable(host);

	if (why)
		SKIP_TEST("%s", why);
	if (!on_emulated_host())
		SKIP_TEST("%s backend: one vCPU only", test_accel_name());
}

static void run_smp(struct __test_metadata *_metadata, FIXTURE_DATA(smp) *self,
		    const FIXTURE_VARIANT(smp) *variant, unsigned int vcpus, const char *args)
{
	struct guest_opts o = { .host = variant->host, .args = args, .vcpus = vcpus,
				.timeout = 60 };

	guest_run_free(&self->run);
	memset(&self->run, 0, sizeof(self->run));
	ASSERT_EQ(0, run_guest(variant->flavour, &o, &self->run));
	ASSERT_EQ(PASS_STATUS, self->run.status) {
		TH_LOG("%s guest on %s with %u vCPUs (%s): status %d", FLAVOUR_NAME(variant->flavour),
		       variant->host, vcpus, args, self->run.status);
	}
}

TEST_F(smp, boot_1_2_4_8_and_64)
{
	static const unsigned int counts[] = { 1, 2, 4, 8, 64 };
	char args[64];

	require_emulated(_metadata, variant->host);
	for (unsigned int i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		snprintf(args, sizeof(args), "test=boot cpus=%u", counts[i]);
		run_smp(_metadata, self, variant, counts[i], args);
		EXPECT_NE(NULL, strstr(self->run.serial, "distinct APIC IDs"));
	}
}

TEST_F(smp, lock_inc_and_spinlock_8)
{
	require_emulated(_metadata, variant->host);
	run_smp(_metadata, self, variant, 8, "test=atomic cpus=8 m=20000 expect_lost=1");
}

TEST_F(smp, ipis_4)
{
	require_emulated(_metadata, variant->host);
	run_smp(_metadata, self, variant, 4, "test=ipi cpus=4");
	/* 3 by APIC ID + 1 self + 3 shorthand + 3 by SEND_IPI */
	EXPECT_EQ(10, self->run.vm->stats.exceptions_other);
}

TEST_F(smp, kick_wakes_exactly_the_named_vcpu)
{
	require_emulated(_metadata, variant->host);
	run_smp(_metadata, self, variant, 4, "test=kick cpus=4");
}

/* A halted guest with every AP waiting is a crash, reported in one line. */
TEST_F(smp, all_halted_is_a_crash)
{
	struct guest_opts o = { .host = variant->host, .args = "test=halt cpus=2", .vcpus = 2 };

	require_emulated(_metadata, variant->host);
	ASSERT_EQ(0, run_guest(variant->flavour, &o, &self->run));
	EXPECT_EQ(PVHC_STATUS_CRASH, self->run.status);
	EXPECT_NE(NULL, strstr(self->run.vm->exit_reason, "all 2 vCPUs halted"));
}

/*
 * Hops through files: each hop restores the previous one's stream on the
 * other host and runs until the guest asks to migrate again. The final hop's
 * statistics are cumulative (they travel in the stream).
 */
static void hammer_migrations(struct __test_metadata *_metadata, const char *first_host,
			      enum flavour f, unsigned int vcpus, unsigned int switches)
{
	char *image = write_payload(f), *stats = test_tmpfile("smp-stats");
	char *file[2] = { test_tmpfile("smp-a.mig"), test_tmpfile("smp-b.mig") };
	char append[96], vc[8], to[300], in[300];
	unsigned int hop, sites = vcpus + 2, periods_on_foreign = switches;
	int status = -1;

	ASSERT_NE(NULL, image);
	/* VMCALL is native on Intel: starting on AMD traps there too. */
	if (strcmp(first_host, "intel"))
		periods_on_foreign++;
	snprintf(append, sizeof(append), "test=hammer cpus=%u switches=%u", vcpus, switches);
	snprintf(vc, sizeof(vc), "%u", vcpus);
	for (hop = 0; hop <= switches; hop++) {
		const char *host = (hop % 2 == 0) == !strcmp(first_host, "intel") ? "intel" : "amd";
		char *trace = test_tmpfile("smp-trace");
		struct cmd_result r;
		const char *args[24];
		int n = 0;

		snprintf(to, sizeof(to), "file:%s", file[hop % 2]);
		snprintf(in, sizeof(in), "file:%s", file[(hop + 1) % 2]);
		args[n++] = "run";
		args[n++] = "--host";
		args[n++] = host;
		args[n++] = "--timeout";
		args[n++] = "60";
		args[n++] = "--trace";
		args[n++] = trace;
		if (hop < switches) {
			args[n++] = "--migrate-to";
			args[n++] = to;
			args[n++] = "--migrate-on-port";
		} else {
			args[n++] = "--stats";
			args[n++] = stats;
		}
		if (hop == 0) {
			args[n++] = "--vcpus";
			args[n++] = vc;
			args[n++] = "--append";
			args[n++] = append;
			args[n++] = image;
		} else {
			args[n++] = "--incoming";
			args[n++] = in;
		}
		args[n] = NULL;
		ASSERT_EQ(0, run_pvhc(args, &r));
		status = r.status;
		EXPECT_EQ(hop < switches ? PVHC_STATUS_MIGRATED : PASS_STATUS, status) {
			TH_LOG("hop %u on %s: status %d: %s%s", hop, host, status, r.out, r.err);
		}
		cmd_result_free(&r);
		/*
		 * After the first hop, every site traps once on arrival and is
		 * rewritten: exactly `sites` #UD lines, each a rewrite of a
		 * distinct site, and no exception ever (a torn or stale
		 * instruction would fault or trap again).
		 */
		{
			FILE *t = fopen(trace, "r");
			char line[512], rips[16][24];
			unsigned int uds = 0, exc = 0, k, distinct = 0;

			ASSERT_NE(NULL, t);
			while (fgets(line, sizeof(line), t)) {
				char *rip = strstr(line, "\"rip\":\"");

				char *vec = strstr(line, "\"vector\":");

				/* Interrupts (the APs' wake-up IPIs) are vectors 32 and up. */
				if (strstr(line, "\"ev\":\"exception\"") && vec && atoi(vec + 9) < 32)
					exc++;
				if (!strstr(line, "\"ev\":\"ud\"") || !rip)
					continue;
				uds++;
				EXPECT_NE(NULL, strstr(line, "\"action\":\"rewrite\"")) {
					TH_LOG("hop %u: %s", hop, line);
				}
				rip += 7;
				rip[strcspn(rip, "\"")] = '\0';
				for (k = 0; k < distinct && strcmp(rips[k], rip); k++)
					;
				if (k == distinct && distinct < 16)
					snprintf(rips[distinct++], sizeof(rips[0]), "%s", rip);
			}
			fclose(t);
			EXPECT_EQ(0, exc);
			EXPECT_EQ(hop || strcmp(host, "intel") ? sites : 0, uds) {
				TH_LOG("hop %u on %s: %u #UD traps for %u sites", hop, host, uds, sites);
			}
			EXPECT_EQ(uds, distinct);
		}
		unlink(trace);
		free(trace);
		if (status != (hop < switches ? PVHC_STATUS_MIGRATED : PASS_STATUS))
			break;
	}
	{
		FILE *sf = fopen(stats, "r");
		char buf[1 << 16];
		size_t len = sf ? fread(buf, 1, sizeof(buf) - 1, sf) : 0;
		char want[64];

		buf[len] = '\0';
		if (sf)
			fclose(sf);
		snprintf(want, sizeof(want), "\"ud_traps\": %u,", sites * periods_on_foreign);
		EXPECT_NE(NULL, strstr(buf, want)) {
			TH_LOG("want %s in %s", want, buf);
		}
	}
	unlink(file[0]);
	unlink(file[1]);
	unlink(stats);
	unlink(image);
	free(file[0]);
	free(file[1]);
	free(stats);
	free(image);
}

TEST_F(smp, hammer_sites_across_migrations_1_2_4_8)
{
	static const unsigned int counts[] = { 1, 2, 4, 8 };

	require_emulated(_metadata, variant->host);
	for (unsigned int i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		hammer_migrations(_metadata, variant->host, variant->flavour, counts[i], 10);
}

TEST_HARNESS_MAIN
#endif
