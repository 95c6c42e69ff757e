// SPDX-License-Identifier: GPL-2.0-only
/*
 * The peer of kvm-unit-tests' x86/hypercall: a guest that names the
 * instruction itself. Both VMCALL and VMMCALL (each from its own site in
 * the text) must work on any host with an unknown number: -KVM_ENOSYS, the
 * foreign one rewritten to the native one. And, in 64-bit mode, a
 * hypercall in the last three bytes below the non-canonical hole, first
 * VMCALL then VMMCALL: it completes, RAX holds its result, and the next
 * fetch, at 0x800000000000, is #GP(0) with exactly that RIP.
 *
 * Every observation is also an "OBS" line (scripts/obs-diff.awk).
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#include "guest_util.h"

/* The number kvm-unit-tests uses: unknown to every host. */
#define NR_UNKNOWN (-1u)

extern const uint8_t vmcall_site[], vmmcall_site[];

static long hypercall0_vmcall(unsigned int nr)
{
	long ret;

	__asm__ __volatile__(".globl vmcall_site\nvmcall_site:\n\t" PVHC_VMCALL_ASM
			     : "=a"(ret) : "a"((unsigned long)nr) : "memory");
	return ret;
}

static long hypercall0_vmmcall(unsigned int nr)
{
	long ret;

	__asm__ __volatile__(".globl vmmcall_site\nvmmcall_site:\n\t" PVHC_VMMCALL_ASM
			     : "=a"(ret) : "a"((unsigned long)nr) : "memory");
	return ret;
}

static void test_both_opcodes(void)
{
	uint8_t native = cpuid_host_kind() == HOST_AMD ? PVHC_VMMCALL_B2 : PVHC_VMCALL_B2;
	long ret;

	ret = hypercall0_vmcall(NR_UNKNOWN);
	OBS("vmcall.rax", "%lx", ret);
	OBS("vmcall.site", "%06lx", site_bytes(vmcall_site));
	GUEST_ASSERT_EQ(ret, -KVM_ENOSYS);
	GUEST_ASSERT_EQ(vmcall_site[2], native);

	ret = hypercall0_vmmcall(NR_UNKNOWN);
	OBS("vmmcall.rax", "%lx", ret);
	OBS("vmmcall.site", "%06lx", site_bytes(vmmcall_site));
	GUEST_ASSERT_EQ(ret, -KVM_ENOSYS);
	GUEST_ASSERT_EQ(vmmcall_site[2], native);
	printf("both opcodes: -KVM_ENOSYS, sites now %02x %02x\n", vmcall_site[2],
	       vmmcall_site[2]);
}

#ifdef __x86_64__
#define EDGE_PAGE 0x7ffffffff000ul
#define EDGE_SITE (EDGE_PAGE + 0xffd)

static volatile unsigned long gp_count, gp_rip, gp_error, gp_rax;

/* The #GP at the hole: note it and return to the caller (the RET is not there). */
static void edge_gp_handler(struct ex_regs *regs)
{
	gp_count++;
	gp_rip = regs->rip;
	gp_error = regs->error_code;
	gp_rax = regs->rax;
	regs->rip = *(unsigned long *)regs->rsp;
	regs->rsp += 8;
}

static void edge_once(uint8_t *page, uint8_t third, const char *name)
{
	uint8_t native = cpuid_host_kind() == HOST_AMD ? PVHC_VMMCALL_B2 : PVHC_VMCALL_B2;
	unsigned long rax = NR_UNKNOWN;
	char key[32];

	page[0xffd] = PVHC_VMCALL_B0;
	page[0xffe] = PVHC_VMCALL_B1;
	page[0xfff] = third;
	gp_count = 0;
	__asm__ __volatile__("call *%[site]"
			     : "+a"(rax)
			     : [site] "r"(EDGE_SITE)
			     : "memory", "rbx", "rcx", "rdx", "rsi", "rdi");
	snprintf(key, sizeof(key), "%s.gp", name);
	OBS(key, "%lu err=%lx rip=%lx rax=%lx", gp_count, gp_error, gp_rip, gp_rax);
	snprintf(key, sizeof(key), "%s.site", name);
	OBS(key, "%06lx", site_bytes(page + 0xffd));
	GUEST_ASSERT_EQ(gp_count, 1);
	GUEST_ASSERT_EQ(gp_rip, 1ul << 47);
	GUEST_ASSERT_EQ(gp_error, 0);
	GUEST_ASSERT_EQ(gp_rax, -KVM_ENOSYS);
	GUEST_ASSERT_EQ(page[0xfff], native);
}

static void test_canonical_edge(void)
{
	uint8_t *page = alloc_page();

	memset(page, 0xcc, PAGE_SIZE);
	map_page(EDGE_PAGE, (uintptr_t)page, PTE_W);
	install_exception_handler(GP_VECTOR, edge_gp_handler);
	edge_once(page, PVHC_VMCALL_B2, "edge_vmcall");
	edge_once(page, PVHC_VMMCALL_B2, "edge_vmmcall");
	install_exception_handler(GP_VECTOR, NULL);
	printf("edge: both opcodes return, then #GP(0) at 0x%lx\n", gp_rip);
}
#endif

void guest_main(void)
{
	if (test_selected("both"))
		test_both_opcodes();
#ifdef __x86_64__
	else if (test_selected("edge"))
		test_canonical_edge();
#endif
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <string.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(kut) {
	struct guest_run run;
};

FIXTURE_VARIANT(kut) {
	const char *host;
	enum flavour flavour;
};

FIXTURE_VARIANT_ADD(kut, intel_64) { .host = "intel", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(kut, intel_32) { .host = "intel", .flavour = FLAVOUR_32 };
FIXTURE_VARIANT_ADD(kut, amd_64) { .host = "amd", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(kut, amd_32) { .host = "amd", .flavour = FLAVOUR_32 };

FIXTURE_SETUP(kut)
{
	memset(&self->run, 0, sizeof(self->run));
}

FIXTURE_TEARDOWN(kut)
{
	guest_run_free(&self->run);
}

static void run_case(struct __test_metadata *_metadata, FIXTURE_DATA(kut) *self,
		     const FIXTURE_VARIANT(kut) *variant, const char *args)
{
	struct guest_opts o = { .host = variant->host, .args = args };
	const char *why = variant_unavailable(variant->host);

	if (why)
		SKIP_TEST("%s", why);
	ASSERT_EQ(0, run_guest(variant->flavour, &o, &self->run));
	ASSERT_EQ(GUEST_STATUS(PVHC_EXIT_PASS), self->run.status) {
		TH_LOG("%s guest on %s: status %d", FLAVOUR_NAME(variant->flavour),
		       variant->host, self->run.status);
	}
}

TEST_F(kut, both_opcodes)
{
	run_case(_metadata, self, variant, "test=both");
	if (!on_emulated_host())
		return;
	/* Exactly the foreign site trapped and was rewritten. */
	EXPECT_EQ(1, self->run.vm->stats.ud_traps);
	EXPECT_EQ(1, self->run.vm->stats.rewrites);
	EXPECT_EQ(2, self->run.vm->hc.unknown_calls);
}

TEST_F(kut, canonical_edge)
{
	if (variant->flavour != FLAVOUR_64)
		SKIP(return, "the canonical edge exists in 64-bit mode only");
	run_case(_metadata, self, variant, "test=edge");
	if (!on_emulated_host())
		return;
	EXPECT_EQ(2, self->run.vm->stats.exceptions[13]);
	EXPECT_EQ(2, self->run.vm->hc.unknown_calls);
}

TEST_HARNESS_MAIN
#endif
