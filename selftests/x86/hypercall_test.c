// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_hypercall0..4 end to end on the emulated Intel and AMD hosts, in
 * 64-bit, 32-bit protected and compatibility mode, at CPL 0 and CPL 3.
 * The guest checks every result; the host checks what the shim did.
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#include "guest_util.h"

/* Values wider than 32 bits in the 64-bit flavour prove nothing is truncated. */
#ifdef __x86_64__
#define WIDE(x) (0x5a5a000000000000ul | (x))
#else
#define WIDE(x) (x)
#endif

static void test_arities(void)
{
	unsigned long a = WIDE(0x11111111ul), b = WIDE(0x2222ul), c = WIDE(0x333ul),
		      d = WIDE(0x44ul);
	const unsigned long nr = PVHC_HC_ECHO;
	bool kvm = on_real_kvm();
	long ret;

	GUEST_ASSERT(kvm_para_available());
	GUEST_ASSERT_EQ(kvm_hypercall0(PVHC_HC_ECHO0), expect_echo(kvm, PVHC_HC_ECHO0, 0, 0, 0, 0));
	GUEST_ASSERT_EQ(kvm_hypercall1(PVHC_HC_ECHO1, a), expect_echo(kvm, PVHC_HC_ECHO1, a, 0, 0, 0));
	GUEST_ASSERT_EQ(kvm_hypercall2(PVHC_HC_ECHO2, a, b),
			expect_echo(kvm, PVHC_HC_ECHO2, a, b, 0, 0));
	GUEST_ASSERT_EQ(kvm_hypercall3(PVHC_HC_ECHO3, a, b, c),
			expect_echo(kvm, PVHC_HC_ECHO3, a, b, c, 0));
	GUEST_ASSERT_EQ(kvm_hypercall4(nr, a, b, c, d), expect_echo(kvm, nr, a, b, c, d));
	/* Arguments in swapped order must give a different answer (real KVM has no echo). */
	ret = kvm_hypercall4(nr, d, c, b, a);
	if (!kvm)
		GUEST_ASSERT(ret != (long)echo_expect(nr, a, b, c, d));
	/* 32-bit wrap-around: the host truncates exactly like 32-bit arithmetic. */
	GUEST_ASSERT_EQ(kvm_hypercall4(nr, ~0ul, ~0ul, ~0ul, ~0ul),
			expect_echo(kvm, nr, ~0ul, ~0ul, ~0ul, ~0ul));

	/* KVM's own numbers: the same answers from every host. */
	ret = kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ);
	OBS("vapic_poll_irq.rax", "%lx", ret);
	GUEST_ASSERT_EQ(ret, 0);
	ret = kvm_hypercall1(KVM_HC_SCHED_YIELD, 0);
	OBS("sched_yield.rax", "%lx", ret);
	GUEST_ASSERT_EQ(ret, 0);
	ret = kvm_hypercall2(KVM_HC_KICK_CPU, 0, 0);
	OBS("kick_cpu.rax", "%lx", ret);
	GUEST_ASSERT_EQ(ret, 0);
	ret = kvm_hypercall0(0xdead);
	OBS("unknown.rax", "%lx", ret);
	GUEST_ASSERT_EQ(ret, -KVM_ENOSYS);
	ret = kvm_hypercall0(KVM_HC_MMU_OP);
	OBS("mmu_op.rax", "%lx", ret);
	GUEST_ASSERT_EQ(ret, -KVM_ENOSYS);
	GUEST_ASSERT_EQ(kvm_hypercall1(PVHC_HC_HOST_VENDOR, 0),
			kvm ? -KVM_ENOSYS : host_kind() == HOST_AMD ? PVHC_HOST_AMD : PVHC_HOST_INTEL);
	printf("arities: all results as expected%s\n", kvm ? " (real KVM: no echo)" : "");
}

#ifdef __x86_64__
/*
 * Compatibility mode: the upper halves set in 64-bit mode must be ignored
 * (nr and all four arguments masked) and RAX must come back zero-extended.
 */
static void test_compat_mode(void)
{
	bool kvm = on_real_kvm();
	struct hc_regs r = {
		.rax = 0xdead000000000000ul | PVHC_HC_ECHO,
		.rbx = 0xbeef000000000001ul, .rcx = 0xcafe000000000002ul,
		.rdx = 0xf00d000000000003ul, .rsi = 0xface0000fffffff4ul,
	};

	compat_mode_vmcall(&r);
	GUEST_ASSERT_EQ(r.rax, kvm ? (uint32_t)-KVM_ENOSYS :
			(uint32_t)(PVHC_HC_ECHO + 2 * 1 + 3 * 2 + 5 * 3 + 7 * 0xfffffff4u));
	/* The argument registers are not clobbered. */
	GUEST_ASSERT_EQ(r.rbx, 0xbeef000000000001ul);
	GUEST_ASSERT_EQ(r.rsi, 0xface0000fffffff4ul);

	/* KVM's number under garbage in the upper half: masked, so it is known. */
	r = (struct hc_regs){ .rax = 0xdead000000000000ul | KVM_HC_VAPIC_POLL_IRQ,
			      .rbx = 0xbeef000000000001ul };
	compat_mode_vmcall(&r);
	OBS("compat.masked_nr.rax", "%" PRIx64, r.rax);
	OBS("compat.masked_nr.rbx", "%" PRIx64, r.rbx);
	GUEST_ASSERT_EQ(r.rax, 0);
	GUEST_ASSERT_EQ(r.rbx, 0xbeef000000000001ul);

	r = (struct hc_regs){ .rax = 0xffffffff00000000ul | 0xdead };
	compat_mode_vmcall(&r);
	OBS("compat.unknown.rax", "%" PRIx64, r.rax);
	GUEST_ASSERT_EQ(r.rax, (uint32_t)-KVM_ENOSYS);
	OBS("compat.site", "%06lx", site_bytes(compat_vmcall_insn));
	printf("compat: masked and truncated\n");
}
#endif

/* CPL 3: VMCALL on Intel -> -KVM_EPERM; on AMD #GP(0) and the site is not patched. */
extern const char user_vmcall_site[], user_vmmcall_site[];
static volatile unsigned long gp_count, gp_error, gp_rip;

static long user_vmcall(void *arg)
{
	long ret;

	__asm__ __volatile__(".globl user_vmcall_site\nuser_vmcall_site:\n\t" PVHC_VMCALL_ASM
			     : "=a"(ret) : "a"((unsigned long)KVM_HC_VAPIC_POLL_IRQ) : "memory");
	return ret;
}

static long user_vmmcall(void *arg)
{
	long ret;

	__asm__ __volatile__(".globl user_vmmcall_site\nuser_vmmcall_site:\n\t" PVHC_VMMCALL_ASM
			     : "=a"(ret) : "a"((unsigned long)KVM_HC_VAPIC_POLL_IRQ) : "memory");
	return ret;
}

static void gp_skip_handler(struct ex_regs *regs)
{
	gp_count++;
	gp_error = regs->error_code;
	gp_rip = regs->rip;
	regs->rax = 0x6b6b;
	regs->rip += PVHC_HYPERCALL_LEN;
}

static void test_cpl3(void)
{
	const uint8_t *s = (const uint8_t *)user_vmcall_site;
	long ret;

	install_exception_handler(GP_VECTOR, gp_skip_handler);
	ret = run_in_user_mode(user_vmcall, NULL);
	OBS("cpl3.vmcall.rax", "%lx", ret);
	OBS("cpl3.vmcall.gp", "%lu err=%lx rip=site%+ld", gp_count, gp_error,
	    gp_count ? (long)(gp_rip - (uintptr_t)user_vmcall_site) : 0);
	OBS("cpl3.vmcall.site", "%06lx", site_bytes(user_vmcall_site));
	if (host_kind() == HOST_AMD) {
		GUEST_ASSERT_EQ(gp_count, 1);
		GUEST_ASSERT_EQ(gp_error, 0);
		GUEST_ASSERT_EQ(gp_rip, (uintptr_t)user_vmcall_site);
		GUEST_ASSERT_EQ(ret, 0x6b6b);
		GUEST_ASSERT_EQ(s[2], PVHC_VMCALL_B2);	/* never patched */
	} else {
		GUEST_ASSERT_EQ(gp_count, 0);
		GUEST_ASSERT_EQ(ret, -KVM_EPERM);
	}
	/* VMMCALL is not privileged in KVM's emulator: patched on Intel, then -EPERM. */
	ret = run_in_user_mode(user_vmmcall, NULL);
	OBS("cpl3.vmmcall.rax", "%lx", ret);
	OBS("cpl3.vmmcall.site", "%06lx", site_bytes(user_vmmcall_site));
	GUEST_ASSERT_EQ(ret, -KVM_EPERM);
	GUEST_ASSERT_EQ(((const uint8_t *)user_vmmcall_site)[2], native_opcode());
	install_exception_handler(GP_VECTOR, NULL);
	printf("cpl3: as upstream\n");
}

/* K distinct call sites, each called many times: one #UD per site on a foreign host. */
#define SITE(i)								\
	static __attribute__((noinline)) long site_##i(unsigned long x)	\
	{								\
		return kvm_hypercall2(PVHC_HC_ECHO2, i, x);		\
	}
SITE(0) SITE(1) SITE(2) SITE(3) SITE(4) SITE(5) SITE(6) SITE(7)
SITE(8) SITE(9) SITE(10) SITE(11) SITE(12) SITE(13) SITE(14) SITE(15)
SITE(16) SITE(17) SITE(18) SITE(19) SITE(20) SITE(21) SITE(22) SITE(23)
static long (*const sites[])(unsigned long) = {
	site_0, site_1, site_2, site_3, site_4, site_5, site_6, site_7,
	site_8, site_9, site_10, site_11, site_12, site_13, site_14, site_15,
	site_16, site_17, site_18, site_19, site_20, site_21, site_22, site_23,
};
/* Few enough to all get the emulated hosts' fast path (8 hooked sites). */
#define NR_SITES 4
#define NR_MANY_SITES (sizeof(sites) / sizeof(sites[0]))

/* Every site's bytes after its calls: the host's native opcode everywhere. */
static void check_sites_native(const char *key, unsigned long n)
{
	uint8_t native = native_opcode();
	char seen[NR_MANY_SITES + 1];
	unsigned long i;

	for (i = 0; i < n; i++) {
		const uint8_t *site = find_hypercall((const void *)sites[i], 64);

		GUEST_ASSERT(site);
		seen[i] = site[2] == PVHC_VMMCALL_B2 ? 'm' : site[2] == PVHC_VMCALL_B2 ? 'c' : '?';
		GUEST_ASSERT_EQ(site[2], native);
	}
	seen[n] = '\0';
	/* One letter per site: c = vmcall, m = vmmcall. */
	OBS(key, "%s", seen);
}

static void test_one_ud_per_site(void)
{
	unsigned long traps0, rewrites0, traps1, rewrites1, round, i;
	bool kvm = on_real_kvm();

	/* Warm up the counters' own call sites first: they trap once each, too. */
	ud_traps();
	rewrites();
	traps0 = ud_traps();
	rewrites0 = rewrites();
	for (round = 0; round < 100; round++)
		for (i = 0; i < NR_SITES; i++)
			GUEST_ASSERT_EQ(sites[i](round),
					expect_echo(kvm, PVHC_HC_ECHO2, i, round, 0, 0));
	traps1 = ud_traps();
	rewrites1 = rewrites();
	/* Real KVM has no counters for the guest to read (ABI): the bytes tell. */
	if (kvm) {
		GUEST_ASSERT_EQ(traps1, (unsigned long)-KVM_ENOSYS);
	} else if (host_kind() == HOST_AMD) {
		GUEST_ASSERT_EQ(traps1 - traps0, NR_SITES);
		GUEST_ASSERT_EQ(rewrites1 - rewrites0, NR_SITES);
	} else {
		GUEST_ASSERT_EQ(traps1 - traps0, 0);
		GUEST_ASSERT_EQ(rewrites1 - rewrites0, 0);
	}
	check_sites_native("sites.opcodes", NR_SITES);
	printf("sites: %lu sites x 100 calls, %lu #UD\n", (unsigned long)NR_SITES,
	       kvm ? 0 : traps1 - traps0);
}

/* More hot sites than the fast path holds: every result must still be right. */
static void test_many_sites(void)
{
	bool amd = host_kind() == HOST_AMD;
	bool kvm = on_real_kvm();
	unsigned long round, i, traps0;

	ud_traps();	/* its own site traps once first */
	traps0 = ud_traps();
	for (round = 0; round < 300; round++)
		for (i = 0; i < NR_MANY_SITES; i++)
			GUEST_ASSERT_EQ(sites[i](round),
					expect_echo(kvm, PVHC_HC_ECHO2, i, round, 0, 0));
	if (amd && !kvm)
		GUEST_ASSERT_EQ(ud_traps() - traps0, NR_MANY_SITES);
	check_sites_native("many_sites.opcodes", NR_MANY_SITES);
	printf("many sites: %lu sites x 300 calls\n", (unsigned long)NR_MANY_SITES);
}

void guest_main(void)
{
	if (test_selected("many-sites"))
		test_many_sites();
	else if (test_selected("arities"))
		test_arities();
#ifdef __x86_64__
	else if (test_selected("compat"))
		test_compat_mode();
#endif
	else if (test_selected("cpl3"))
		test_cpl3();
	else if (test_selected("sites"))
		test_one_ud_per_site();
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <string.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(hc) {
	struct guest_run run;
};

FIXTURE_VARIANT(hc) {
	const char *host;
	enum flavour flavour;
};

FIXTURE_VARIANT_ADD(hc, intel_64) { .host = "intel", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(hc, intel_32) { .host = "intel", .flavour = FLAVOUR_32 };
FIXTURE_VARIANT_ADD(hc, amd_64) { .host = "amd", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(hc, amd_32) { .host = "amd", .flavour = FLAVOUR_32 };

FIXTURE_SETUP(hc)
{
	memset(&self->run, 0, sizeof(self->run));
}

FIXTURE_TEARDOWN(hc)
{
	guest_run_free(&self->run);
}

static void run_case(struct __test_metadata *_metadata, FIXTURE_DATA(hc) *self,
		     const FIXTURE_VARIANT(hc) *variant, const char *args)
{
	struct guest_opts o = { .host = variant->host, .args = args, .trace = true };
	const char *why = variant_unavailable(variant->host);

	if (why)
		SKIP_TEST("%s", why);
	ASSERT_EQ(0, run_guest(variant->flavour, &o, &self->run));
	ASSERT_EQ(GUEST_STATUS(PVHC_EXIT_PASS), self->run.status) {
		TH_LOG("%s guest on %s: status %d", FLAVOUR_NAME(variant->flavour),
		       variant->host, self->run.status);
	}
}

static bool on_amd(const FIXTURE_VARIANT(hc) *variant)
{
	return !strcmp(variant->host, "amd");
}

TEST_F(hc, arities)
{
	run_case(_metadata, self, variant, "test=arities");
	if (!on_emulated_host())
		return;
	/* Every hypercall the guest made was emulated, the echo ones with all four arguments. */
	EXPECT_EQ(15, self->run.vm->stats.hypercalls);
	EXPECT_EQ(3, trace_count(&self->run, "\"name\":\"PVHC_ECHO\"", NULL));
	EXPECT_EQ(1, trace_count(&self->run, "\"name\":\"PVHC_ECHO3\"", NULL));
	EXPECT_EQ(0, self->run.vm->hc.eperm_calls);
	EXPECT_EQ(2, self->run.vm->hc.unknown_calls);
	/* On the foreign host every site trapped exactly once. */
	EXPECT_EQ(on_amd(variant) ? self->run.vm->stats.rewrites : 0,
		  self->run.vm->stats.ud_traps);
}

TEST_F(hc, compat_mode_masks)
{
	if (variant->flavour != FLAVOUR_64)
		SKIP(return, "compatibility mode needs the 64-bit flavour");
	run_case(_metadata, self, variant, "test=compat");
	if (!on_emulated_host())
		return;
	EXPECT_EQ(3, trace_count(&self->run, "\"mode\":\"compat\"", "\"ev\":\"hypercall\"", NULL));
	/* The host saw only the low halves. */
	EXPECT_EQ(1, trace_count(&self->run, "\"args\":[1,2,3,4294967284]", NULL));
}

TEST_F(hc, cpl3)
{
	run_case(_metadata, self, variant, "test=cpl3");
	if (!on_emulated_host())
		return;
	EXPECT_EQ(on_amd(variant) ? 1 : 2, self->run.vm->hc.eperm_calls);
	if (on_amd(variant)) {
		EXPECT_EQ(1, self->run.vm->stats.exceptions[13]);	/* the #GP(0) */
		EXPECT_EQ(1, trace_count(&self->run, "\"action\":\"vmcall-cpl>0\"", NULL));
	} else {
		EXPECT_EQ(1, trace_count(&self->run, "\"cpl\":3", "\"action\":\"rewrite\"", NULL));
	}
}

TEST_F(hc, one_ud_per_site)
{
	run_case(_metadata, self, variant, "test=sites");
	if (!on_emulated_host())
		return;
	if (on_amd(variant)) {
		/* Each trap is logged once, at a distinct address, and none is repeated. */
		EXPECT_EQ(self->run.vm->stats.rewrites, self->run.vm->stats.ud_traps);
		EXPECT_EQ(self->run.vm->stats.nr_rw, self->run.vm->stats.rewrites);
		for (size_t i = 0; i < self->run.vm->stats.nr_rw; i++)
			for (size_t j = i + 1; j < self->run.vm->stats.nr_rw; j++)
				EXPECT_NE(self->run.vm->stats.rw[i].gva, self->run.vm->stats.rw[j].gva);
	} else {
		EXPECT_EQ(0, self->run.vm->stats.ud_traps);
	}
	/* After the first call each site ran on the fast path. */
	EXPECT_GT(self->run.vm->stats.hypercalls, 8 * self->run.vm->stats.slow_hypercalls);
}

TEST_F(hc, many_sites)
{
	run_case(_metadata, self, variant, "test=many-sites");
	if (!on_emulated_host())
		return;
	/* Each site counted exactly its calls, whichever path served them. */
	for (size_t i = 0; i < self->run.vm->stats.nr_sites; i++) {
		const struct site_stats *st = self->run.vm->stats.sites[i];

		EXPECT_TRUE(st->hypercalls == 300 || st->hypercalls < 8)
			TH_LOG("site 0x%llx: %llu calls", (unsigned long long)st->gva,
			       (unsigned long long)st->hypercalls);
	}
	/* Hooked sites are kept, not thrashed: few sites are ever (re)hooked. */
	EXPECT_GE(16, self->run.vm->stats.sites_learned);
}

TEST_HARNESS_MAIN
#endif
