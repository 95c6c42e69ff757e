// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark guest for `make bench`. Times hypercalls in host nanoseconds
 * (PVHC_HC_HOST_NS) and prints one "BENCH key value" line per figure:
 *   loop_ns       an empty call loop (the overhead every figure includes)
 *   steady0_ns    kvm_hypercall0(VAPIC_POLL_IRQ) at a warm site
 *   steady4_ns    kvm_hypercall4(PVHC_ECHO, ...) at a warm site
 *   first_ns      the first call at each of many fresh sites (#UD + rewrite
 *                 on a foreign host, learning the site on a native one)
 *   second_ns     the second call at those sites
 *   steady0_many_ns  steady0 again, now that all those sites are known
 *   rdmsr_ns      RDMSR of IA32_APIC_BASE, which the host emulates (an emulator
 *                 stop and restart on the emulated hosts); iters / 100 of them
 * Command line: iters=N (default 2000000), sites=K (default 2000).
 */
#include <pvhc/runtime.h>

/*
 * Host ns in the guest's register width: in 32-bit guests the clock wraps
 * every 4.3 s, so intervals are computed in unsigned long (mod 2^32).
 */
static __attribute__((noinline)) unsigned long host_ns(void)
{
	return (unsigned long)kvm_hypercall0(PVHC_HC_HOST_NS);
}

static __attribute__((noinline)) long empty(unsigned long i)
{
	__asm__ __volatile__("" : : : "memory");
	return 0;
}

static __attribute__((noinline)) long call0(unsigned long i)
{
	return kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ);
}

static __attribute__((noinline)) long call4(unsigned long i)
{
	return kvm_hypercall4(PVHC_HC_ECHO, i, 1, 2, 3);
}

static __attribute__((noinline)) long read_apic_base(unsigned long i)
{
	return (long)rdmsr(0x1b);
}

static uint64_t time_loop(long (*fn)(unsigned long), unsigned long iters)
{
	unsigned long t0, t1;
	unsigned long i;

	fn(0);	/* warm: the site is learned (and rewritten) before timing */
	t0 = host_ns();
	for (i = 0; i < iters; i++)
		fn(i);
	t1 = host_ns();
	return t1 - t0;
}

/* Call each of n fresh "VMCALL; RET" sites once; returns host ns for all. */
static uint64_t time_sites(uint8_t *code, unsigned long n)
{
	unsigned long t0, t1;
	unsigned long i;

	t0 = host_ns();
	for (i = 0; i < n; i++) {
		long ret;

		__asm__ __volatile__("call *%1"
				     : "=a"(ret)
				     : "r"(code + 16 * i), "a"((unsigned long)KVM_HC_VAPIC_POLL_IRQ)
				     : "memory", "ebx", "ecx", "edx", "esi");
		GUEST_ASSERT_EQ(ret, 0);
	}
	t1 = host_ns();
	return t1 - t0;
}

static void report(const char *key, uint64_t total_ns, unsigned long n)
{
	/* Hundredths of a ns, without floating point. */
	uint64_t centi = total_ns * 100 / n;

	printf("BENCH %s %lu.%02lu\n", key, (unsigned long)(centi / 100),
	       (unsigned long)(centi % 100));
}

void guest_main(void)
{
	unsigned long iters = cmdline_ulong("iters", 2000000), nsites = cmdline_ulong("sites", 2000);
	unsigned long pages = (16 * nsites + PAGE_SIZE - 1) / PAGE_SIZE, i;
	uint8_t *code;

	if (kvm_hypercall0(PVHC_HC_HOST_VENDOR) < 0)
		GUEST_SKIP("needs pvhc's PVHC_HC_HOST_NS clock");
	host_ns();
	report("loop_ns", time_loop(empty, iters), iters);
	report("steady0_ns", time_loop(call0, iters), iters);
	report("steady4_ns", time_loop(call4, iters), iters);

	code = alloc_pages((unsigned int)pages);
	for (i = 0; i < nsites; i++) {
		uint8_t *s = code + 16 * i;

		s[0] = PVHC_VMCALL_B0;
		s[1] = PVHC_VMCALL_B1;
		s[2] = PVHC_VMCALL_B2;
		s[3] = 0xc3;	/* ret */
	}
	report("first_ns", time_sites(code, nsites), nsites);
	report("second_ns", time_sites(code, nsites), nsites);
	report("steady0_many_ns", time_loop(call0, iters), iters);
	report("rdmsr_ns", time_loop(read_apic_base, iters / 100), iters / 100);
	GUEST_DONE();
}
