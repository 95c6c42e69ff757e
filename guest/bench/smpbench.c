// SPDX-License-Identifier: GPL-2.0-only
/*
 * SMP benchmark guest for `make bench` (scripts/bench/smp.sh). With cpus=N
 * CPUs up it prints "BENCH key value" lines:
 *   rewrite_ns     median over sites=K fresh "VMCALL; RET" sites of the BSP's
 *                  first call there while every AP keeps calling a warm site
 *                  of its own: on a host where VMCALL is foreign that is the
 *                  #UD, the rewrite with every other vCPU stopped, dropping
 *                  every vCPU's translations of the site, and re-execution
 *   rewrite_p90_ns the 90th percentile of the same
 *   calls_per_s    hypercalls per second, all CPUs calling a warm site
 *                  iters=M times each (throughput against N)
 * Times are host ns (PVHC_HC_HOST_NS) minus the cost of reading the clock.
 */
#include <pvhc/runtime.h>

#define MAX_SITES 1000

static __attribute__((noinline)) unsigned long host_ns(void)
{
	return (unsigned long)kvm_hypercall0(PVHC_HC_HOST_NS);
}

static __attribute__((noinline)) long warm_call(void)
{
	return kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ);
}

static volatile uint32_t stop_spinning;
static unsigned long samples[MAX_SITES];

static void spin_on_warm_site(void *arg)
{
	while (!stop_spinning)
		GUEST_ASSERT_EQ(warm_call(), 0);
}

static void call_warm_site(void *arg)
{
	unsigned long n = (unsigned long)arg, i;

	for (i = 0; i < n; i++)
		warm_call();
}

static void sort(unsigned long *v, unsigned long n)
{
	unsigned long i, j, x;

	for (i = 1; i < n; i++) {
		x = v[i];
		for (j = i; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

/* The median cost of reading the host clock twice in a row. */
static unsigned long clock_overhead(void)
{
	unsigned long i, t0;

	for (i = 0; i < 101; i++) {
		t0 = host_ns();
		samples[i] = host_ns() - t0;
	}
	sort(samples, 101);
	return samples[50];
}

static void call_site(const uint8_t *site)
{
	long ret;

	__asm__ __volatile__("call *%1"
			     : "=a"(ret)
			     : "r"(site), "a"((unsigned long)KVM_HC_VAPIC_POLL_IRQ)
			     : "memory", "ebx", "ecx", "edx", "esi");
	GUEST_ASSERT_EQ(ret, 0);
}

void guest_main(void)
{
	unsigned long want = cmdline_ulong("cpus", 1), nsites = cmdline_ulong("sites", 200);
	unsigned long iters = cmdline_ulong("iters", 200000), overhead, i, t0, t1;
	unsigned int n;
	uint8_t *code;

	if (kvm_hypercall0(PVHC_HC_HOST_VENDOR) < 0)
		GUEST_SKIP("needs pvhc's PVHC_HC_HOST_NS clock");
	if (nsites > MAX_SITES)
		nsites = MAX_SITES;
	n = smp_start_aps((unsigned int)want);
	GUEST_ASSERT_EQ(n, want);
	host_ns();
	warm_call();
	overhead = clock_overhead();

	code = alloc_pages((unsigned int)((16 * nsites + PAGE_SIZE - 1) / PAGE_SIZE));
	for (i = 0; i < nsites; i++) {
		code[16 * i] = PVHC_VMCALL_B0;
		code[16 * i + 1] = PVHC_VMCALL_B1;
		code[16 * i + 2] = PVHC_VMCALL_B2;
		code[16 * i + 3] = 0xc3;	/* ret */
	}
	for (i = 1; i < n; i++)
		on_cpu_async((unsigned int)i, spin_on_warm_site, NULL);
	for (i = 0; i < nsites; i++) {
		t0 = host_ns();
		call_site(code + 16 * i);
		t1 = host_ns();
		samples[i] = t1 - t0 > overhead ? t1 - t0 - overhead : 0;
	}
	stop_spinning = 1;
	for (i = 1; i < n; i++)
		on_cpu_wait((unsigned int)i);
	sort(samples, nsites);
	printf("BENCH rewrite_ns %lu\n", samples[nsites / 2]);
	printf("BENCH rewrite_p90_ns %lu\n", samples[nsites * 9 / 10]);

	t0 = host_ns();
	on_all_cpus(call_warm_site, (void *)iters);
	t1 = host_ns();
	printf("BENCH calls_per_s %lu\n",
	       (unsigned long)((uint64_t)n * iters * 1000000000ull / (t1 - t0)));
	GUEST_DONE();
}
