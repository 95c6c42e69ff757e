// SPDX-License-Identifier: GPL-2.0-only
/*
 * The `make demo` guest: five call sites of the pvhc API, with 0 to 4
 * arguments, each called many times. For every site it prints the
 * instruction bytes before the first call and after the last, how many #UD
 * traps the host took for it, and the host time per call. Run it on the
 * emulated AMD host to watch VMCALL become VMMCALL once per site.
 */
#include <pvhc/runtime.h>

#define CALLS 200000ul

static __attribute__((noinline)) long site0(unsigned long i)
{
	return kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ);
}

static __attribute__((noinline)) long site1(unsigned long i)
{
	return kvm_hypercall1(KVM_HC_SCHED_YIELD, 0);
}

static __attribute__((noinline)) long site2(unsigned long i)
{
	return kvm_hypercall2(KVM_HC_KICK_CPU, 0, 0);
}

static __attribute__((noinline)) long site3(unsigned long i)
{
	return kvm_hypercall3(PVHC_HC_ECHO3, i, 2, 3);
}

static __attribute__((noinline)) long site4(unsigned long i)
{
	return kvm_hypercall4(PVHC_HC_ECHO, i, 2, 3, 4);
}

struct site {
	const char *call;
	long (*fn)(unsigned long);
	long (*expect)(unsigned long);
};

static long zero(unsigned long i)
{
	return 0;
}

static long echo3(unsigned long i)
{
	return (long)(PVHC_HC_ECHO3 + 2 * i + 3 * 2 + 5 * 3);
}

static long echo4(unsigned long i)
{
	return (long)(PVHC_HC_ECHO + 2 * i + 3 * 2 + 5 * 3 + 7 * 4);
}

static const struct site sites[] = {
	{ "kvm_hypercall0(VAPIC_POLL_IRQ)", site0, zero },
	{ "kvm_hypercall1(SCHED_YIELD, 0)", site1, zero },
	{ "kvm_hypercall2(KICK_CPU, 0, 0)", site2, zero },
	{ "kvm_hypercall3(PVHC_ECHO3, ...)", site3, echo3 },
	{ "kvm_hypercall4(PVHC_ECHO, ...)", site4, echo4 },
};

/* One call site each, warmed up before measuring so their own #UD is not counted. */
static __attribute__((noinline)) long ud_traps(void)
{
	return kvm_hypercall0(PVHC_HC_UD_TRAPS);
}

static __attribute__((noinline)) unsigned long host_ns(void)
{
	return (unsigned long)kvm_hypercall0(PVHC_HC_HOST_NS);
}

/* The hypercall instruction inside fn: the first 0f 01 c1/d9 in its body. */
static const uint8_t *find_site(long (*fn)(unsigned long))
{
	const uint8_t *p = (const uint8_t *)(uintptr_t)fn;
	int i;

	for (i = 0; i < 128; i++)
		if (p[i] == 0x0f && p[i + 1] == 0x01 && (p[i + 2] == 0xc1 || p[i + 2] == 0xd9))
			return p + i;
	return NULL;
}

static const char *opname(uint8_t b)
{
	return b == PVHC_VMCALL_B2 ? "vmcall" : b == PVHC_VMMCALL_B2 ? "vmmcall" : "?";
}

void guest_main(void)
{
	long host;
	unsigned int n;

	if (!kvm_para_available())
		GUEST_SKIP("no KVM hypervisor signature in CPUID");
	host = kvm_hypercall0(PVHC_HC_HOST_VENDOR);
	ud_traps();
	host_ns();
	printf("pvhc demo on the %s host: %lu calls per site\n",
	       host == PVHC_HOST_AMD ? "AMD" : host == PVHC_HOST_INTEL ? "Intel" : "real KVM",
	       CALLS);
	printf("%-32s %-18s %-8s %-8s %4s %8s %8s\n", "site", "address", "before", "after",
	       "#UD", "calls", "ns/call");
	for (n = 0; n < sizeof(sites) / sizeof(sites[0]); n++) {
		const struct site *s = &sites[n];
		const uint8_t *insn = find_site(s->fn);
		uint8_t before;
		long traps0, traps1;
		unsigned long i;
		unsigned long t0, t1;

		GUEST_ASSERT(insn);
		before = insn[2];
		traps0 = ud_traps();
		t0 = host_ns();
		for (i = 0; i < CALLS; i++)
			GUEST_ASSERT_EQ(s->fn(i), s->expect(i));
		t1 = host_ns();
		traps1 = ud_traps();
		printf("%-32s 0x%016lx %-8s %-8s %4ld %8lu %8lu\n", s->call,
		       (unsigned long)(uintptr_t)insn, opname(before), opname(insn[2]),
		       traps1 - traps0, CALLS, (unsigned long)((t1 - t0) / CALLS));
	}
	GUEST_DONE();
}
