// SPDX-License-Identifier: GPL-2.0-only
/*
 * The peer of upstream KVM's selftest x86/fix_hypercall_test: a call slot in
 * the guest's own text holds the other vendor's hypercall. With
 * KVM_X86_QUIRK_FIX_HYPERCALL_INSN on, the host rewrites it to its native
 * opcode and the call returns; with the quirk off (--no-fix-hypercall), the
 * guest takes #UD at the slot and the bytes stay as they were. The native
 * opcode in the slot works either way and is never touched.
 *
 * Every observation is also an "OBS" line, so that the emulated AMD host and
 * a real kvm_amd can be compared (scripts/obs-diff.awk).
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#include "guest_util.h"

/*
 * The slot: three bytes of hypercall, then "ret". It lives in .text, which
 * the runtime maps writable, as a kernel's text is before it is sealed.
 */
extern uint8_t hc_slot[];
__asm__(".pushsection .text\n"
	".globl hc_slot\n"
	"hc_slot: .byte 0xcc, 0xcc, 0xcc\n"
	"\tret\n"
	".popsection");

static long call_slot(unsigned long nr, unsigned long a0)
{
	long ret;

	__asm__ __volatile__("call hc_slot"
			     : "=a"(ret), "+b"(a0)
			     : "a"(nr)
			     : "memory", "ecx", "edx", "esi");
	return ret;
}

static void fill_slot(uint8_t third)
{
	hc_slot[0] = PVHC_VMCALL_B0;
	hc_slot[1] = PVHC_VMCALL_B1;
	hc_slot[2] = third;
}

/* KVM_HC_SCHED_YIELD towards APIC ID 0 (ourselves), as upstream's test does. */
static void test_slot(const char *what, uint8_t third, bool expect_patch, bool quirk_off)
{
	bool amd = cpuid_host_kind() == HOST_AMD;
	uint8_t native = amd ? PVHC_VMMCALL_B2 : PVHC_VMCALL_B2;
	bool foreign = third != native;
	char key[48];
	long ret;

	fill_slot(third);
	catch_faults(true);
	ret = call_slot(KVM_HC_SCHED_YIELD, 0);
	catch_faults(false);

	snprintf(key, sizeof(key), "%s.rax", what);
	OBS(key, "%lx", ret);
	snprintf(key, sizeof(key), "%s.faults", what);
	OBS_FAULTS(key, hc_slot);
	snprintf(key, sizeof(key), "%s.slot", what);
	OBS(key, "%06lx", site_bytes(hc_slot));

	if (foreign && quirk_off) {
		GUEST_ASSERT_EQ(ret, FAULT_MARK);
		GUEST_ASSERT_EQ(faults.count, 1);
		GUEST_ASSERT_EQ(faults.vector, UD_VECTOR);
		GUEST_ASSERT_EQ(faults.rip, (uintptr_t)hc_slot);
		GUEST_ASSERT_EQ(hc_slot[2], third);
	} else {
		GUEST_ASSERT_EQ(ret, 0);
		GUEST_ASSERT_EQ(faults.count, 0);
		GUEST_ASSERT_EQ(hc_slot[2], expect_patch ? native : third);
	}
	printf("%s: slot %02x -> %02x, rax %lx\n", what, third, hc_slot[2], ret);
}

void guest_main(void)
{
	bool amd = cpuid_host_kind() == HOST_AMD;
	const char *quirk = cmdline_get("quirk");
	bool off = quirk && !strcmp(quirk, "off");
	uint8_t native = amd ? PVHC_VMMCALL_B2 : PVHC_VMCALL_B2;
	uint8_t foreign = amd ? PVHC_VMCALL_B2 : PVHC_VMMCALL_B2;

	if (test_selected("foreign"))
		test_slot("foreign", foreign, !off, off);
	else if (test_selected("native"))
		test_slot("native", native, false, off);
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <string.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(fix) {
	struct guest_run run;
};

FIXTURE_VARIANT(fix) {
	const char *host;
	enum flavour flavour;
	bool quirk_off;
};

FIXTURE_VARIANT_ADD(fix, intel_64) { .host = "intel", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(fix, intel_32) { .host = "intel", .flavour = FLAVOUR_32 };
FIXTURE_VARIANT_ADD(fix, amd_64) { .host = "amd", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(fix, amd_32) { .host = "amd", .flavour = FLAVOUR_32 };
FIXTURE_VARIANT_ADD(fix, intel_64_quirk_off) {
	.host = "intel", .flavour = FLAVOUR_64, .quirk_off = true };
FIXTURE_VARIANT_ADD(fix, intel_32_quirk_off) {
	.host = "intel", .flavour = FLAVOUR_32, .quirk_off = true };
FIXTURE_VARIANT_ADD(fix, amd_64_quirk_off) {
	.host = "amd", .flavour = FLAVOUR_64, .quirk_off = true };
FIXTURE_VARIANT_ADD(fix, amd_32_quirk_off) {
	.host = "amd", .flavour = FLAVOUR_32, .quirk_off = true };

FIXTURE_SETUP(fix)
{
	memset(&self->run, 0, sizeof(self->run));
}

FIXTURE_TEARDOWN(fix)
{
	guest_run_free(&self->run);
}

static void run_case(struct __test_metadata *_metadata, FIXTURE_DATA(fix) *self,
		     const FIXTURE_VARIANT(fix) *variant, const char *test)
{
	char args[64];
	struct guest_opts o = { .host = variant->host, .args = args,
				.no_fix = variant->quirk_off };
	const char *why = variant_unavailable(variant->host);

	if (why)
		SKIP_TEST("%s", why);
	snprintf(args, sizeof(args), "test=%s quirk=%s", test, variant->quirk_off ? "off" : "on");
	ASSERT_EQ(0, run_guest(variant->flavour, &o, &self->run));
	ASSERT_EQ(GUEST_STATUS(PVHC_EXIT_PASS), self->run.status) {
		TH_LOG("%s guest on %s, quirk %s: status %d", FLAVOUR_NAME(variant->flavour),
		       variant->host, variant->quirk_off ? "off" : "on", self->run.status);
	}
}

TEST_F(fix, foreign_opcode_in_slot)
{
	const struct vm_stats *st;

	run_case(_metadata, self, variant, "foreign");
	if (!on_emulated_host())
		return;
	st = &self->run.vm->stats;
	/* The shim saw the one trap; it rewrote only with the quirk on. */
	EXPECT_EQ(1, st->ud_traps);
	EXPECT_EQ(variant->quirk_off ? 0 : 1, st->rewrites);
	EXPECT_EQ(variant->quirk_off ? 1 : 0, st->exceptions[6]);
}

TEST_F(fix, native_opcode_in_slot)
{
	run_case(_metadata, self, variant, "native");
	if (!on_emulated_host())
		return;
	EXPECT_EQ(0, self->run.vm->stats.ud_traps);
	EXPECT_EQ(0, self->run.vm->stats.rewrites);
	EXPECT_EQ(1, self->run.vm->stats.hypercalls);
}

TEST_HARNESS_MAIN
#endif
