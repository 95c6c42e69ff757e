// SPDX-License-Identifier: GPL-2.0-only
/*
 * Exceptions the emulated hosts deliver through the guest's IDT (Unicorn
 * never does), and what happens when nothing can take them.
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#include "guest_util.h"

extern const char pf_insn[], pf_resume[];
static volatile unsigned long seen_vector, seen_error, seen_rip, seen_cr2, seen_count;

static void record_and_resume(struct ex_regs *regs)
{
	seen_count++;
	seen_vector = regs->vector;
	seen_error = regs->error_code;
	seen_rip = regs->rip;
	seen_cr2 = read_cr2();
	if (regs->vector == PF_VECTOR)
		regs->rip = (uintptr_t)pf_resume;
}

static void test_page_fault(void)
{
	uint64_t va = 0x40300000ull;	/* never mapped */

	unmap_page(va);
	install_exception_handler(PF_VECTOR, record_and_resume);
	__asm__ __volatile__(".globl pf_insn, pf_resume\n"
			     "pf_insn: movb $1, (%0)\n"
			     "pf_resume:" : : "r"((uintptr_t)va) : "memory");
	OBS("pf", "%lu vector=%lu err=%lx rip=insn%+ld cr2=va%+ld", seen_count, seen_vector,
	    seen_error, (long)(seen_rip - (uintptr_t)pf_insn), (long)(seen_cr2 - va));
	GUEST_ASSERT_EQ(seen_count, 1);
	GUEST_ASSERT_EQ(seen_vector, PF_VECTOR);
	GUEST_ASSERT_EQ(seen_rip, (uintptr_t)pf_insn);
	GUEST_ASSERT_EQ(seen_cr2, va);
	GUEST_ASSERT_EQ(seen_error & 3, 2);	/* not present, write */
	install_exception_handler(PF_VECTOR, NULL);
	printf("pf: cr2 0x%lx error 0x%lx\n", seen_cr2, seen_error);
}

static void test_int3(void)
{
	extern const char after_int3[];

	install_exception_handler(BP_VECTOR, record_and_resume);
	__asm__ __volatile__(".globl after_int3\nint3\nafter_int3:" : : : "memory");
	OBS("int3", "%lu vector=%lu rip=after%+ld", seen_count, seen_vector,
	    (long)(seen_rip - (uintptr_t)after_int3));
	GUEST_ASSERT_EQ(seen_count, 1);
	GUEST_ASSERT_EQ(seen_vector, BP_VECTOR);
	GUEST_ASSERT_EQ(seen_rip, (uintptr_t)after_int3);	/* a trap: RIP is past it */
	install_exception_handler(BP_VECTOR, NULL);
	printf("int3: delivered\n");
}

/* No IDT at all: #UD cannot be delivered, nor can #DF: a triple fault. */
static void test_triple_fault(void)
{
	struct {
		uint16_t limit;
		unsigned long base;
	} __attribute__((packed)) empty = { 0, 0 };

	printf("triple: loading an empty IDT\n");
	__asm__ __volatile__("lidt %0\n\tud2" : : "m"(empty) : "memory");
	GUEST_FAIL("survived a triple fault");
}

/* ---- faults raised while delivering an event (SDM vol. 3, 6.12.1 and 6.15) ---- */

struct idtr {
	uint16_t limit;
	unsigned long base;
} __attribute__((packed));

#ifdef __x86_64__
#define GATE_SIZE 16
#else
#define GATE_SIZE 8
#endif

static uint8_t *gate_of(unsigned int vector)
{
	struct idtr idtr;

	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	return (uint8_t *)idtr.base + vector * GATE_SIZE;
}

/* The present bit of a gate (bit 47), returning the old value. */
static bool gate_present(unsigned int vector, bool present)
{
	uint8_t *attr = gate_of(vector) + 5;
	bool old = *attr & 0x80;

	*attr = (uint8_t)(present ? *attr | 0x80 : *attr & ~0x80);
	return old;
}

static volatile uintptr_t resume_at;

static void record_and_resume_at(struct ex_regs *regs)
{
	seen_count++;
	seen_vector = regs->vector;
	seen_error = regs->error_code;
	seen_rip = regs->rip;
	regs->rip = resume_at;
}

/*
 * The error code names the IDT entry as vector * 8 + 2 (+ EXT), in every
 * mode (SDM vol. 3, 6.13). (QEMU's TCG writes vector * 16 + 2 in long mode
 * and never sets EXT; the host side skips this test on the kvm backend.)
 */
static void expect_seen(const char *what, unsigned long vector, unsigned long error,
			const char *at)
{
	OBS(what, "vector=%lu error=%lx rip=insn%+ld", seen_vector, seen_error,
	    (long)(seen_rip - (uintptr_t)at));
	GUEST_ASSERT_EQ(seen_count, 1);
	GUEST_ASSERT_EQ(seen_vector, vector);
	GUEST_ASSERT_EQ(seen_error, error);
	GUEST_ASSERT_EQ(seen_rip, (uintptr_t)at);	/* a fault: at the instruction */
	seen_count = 0;
}

static void df_then_done(struct ex_regs *regs)
{
	OBS("delivery.gp_through_absent_gate", "vector=%lu error=%lx", regs->vector,
	    regs->error_code);
	GUEST_ASSERT_EQ(regs->vector, DF_VECTOR);
	GUEST_ASSERT_EQ(regs->error_code, 0);
	printf("delivery: #UD -> #NP, INT -> #NP and #GP, #GP -> #NP = #DF\n");
	GUEST_DONE();
}

#ifdef __x86_64__
#define RO_STACK_VA 0x40500000ul
unsigned long saved_rsp;

static void pf_back_to_saved_stack(struct ex_regs *regs)
{
	record_and_resume_at(regs);
	seen_cr2 = read_cr2();
	regs->rsp = saved_rsp;
}

/*
 * INT n with RSP on a read-only page: pushing the frame is a #PF (P|W, CR2
 * the first slot written, RIP the INT), delivered on an IST stack.
 */
static void test_pf_on_handler_stack(void)
{
	extern const char ro_int_at[], ro_int_resume[];
	uint8_t *pf_gate = gate_of(PF_VECTOR) + 4, old_ist = *pf_gate;

	map_page(RO_STACK_VA, (uintptr_t)alloc_page(), 0);
	install_exception_handler(PF_VECTOR, pf_back_to_saved_stack);
	*pf_gate = (uint8_t)((old_ist & ~7) | 1);	/* the #DF stack: no nesting here */
	resume_at = (uintptr_t)ro_int_resume;
	__asm__ __volatile__("mov %%rsp, saved_rsp(%%rip)\n\t"
			     "mov %0, %%rsp\n"
			     ".globl ro_int_at, ro_int_resume\n"
			     "ro_int_at: int $0x41\n"
			     "ro_int_resume:\n\t"
			     "mov saved_rsp(%%rip), %%rsp"
			     : : "r"(RO_STACK_VA + 0x1000) : "memory");
	*pf_gate = old_ist;
	install_exception_handler(PF_VECTOR, NULL);
	OBS("delivery.pf_on_stack", "cr2=top%+ld", (long)(seen_cr2 - (RO_STACK_VA + 0x1000)));
	GUEST_ASSERT_EQ(seen_cr2, RO_STACK_VA + 0x1000 - 8);
	expect_seen("delivery.pf_on_stack_event", PF_VECTOR, 3, ro_int_at);
}
#endif

static void test_delivery_faults(void)
{
	extern const char ud_at[], ud_resume[], int_at[], int_resume[], int_far_at[],
		int_far_resume[];
	struct idtr idtr, small;

	install_exception_handler(NP_VECTOR, record_and_resume_at);
	install_exception_handler(GP_VECTOR, record_and_resume_at);

	/* #UD through an absent gate: #NP naming the IDT entry, EXT set (a CPU event). */
	gate_present(UD_VECTOR, false);
	resume_at = (uintptr_t)ud_resume;
	__asm__ __volatile__(".globl ud_at, ud_resume\nud_at: ud2\nud_resume:" ::: "memory");
	gate_present(UD_VECTOR, true);
	expect_seen("delivery.ud_absent_gate", NP_VECTOR, UD_VECTOR * 8 + 2 + 1, ud_at);

	/* INT n through an absent gate: the same #NP, EXT clear (the program asked). */
	gate_present(0x40, false);
	resume_at = (uintptr_t)int_resume;
	__asm__ __volatile__(".globl int_at, int_resume\nint_at: int $0x40\nint_resume:"
			     ::: "memory");
	gate_present(0x40, true);
	expect_seen("delivery.int_absent_gate", NP_VECTOR, 0x40 * 8 + 2, int_at);

	/* INT n beyond the IDT limit: #GP naming the entry. */
	__asm__ __volatile__("sidt %0" : "=m"(idtr));
	small = idtr;
	small.limit = 0x40 * GATE_SIZE - 1;
	resume_at = (uintptr_t)int_far_resume;
	__asm__ __volatile__("lidt %0\n"
			     ".globl int_far_at, int_far_resume\n"
			     "int_far_at: int $0x50\nint_far_resume:\n"
			     "lidt %1" : : "m"(small), "m"(idtr) : "memory");
	expect_seen("delivery.int_beyond_limit", GP_VECTOR, 0x50 * 8 + 2, int_far_at);

#ifdef __x86_64__
	test_pf_on_handler_stack();
#endif
	/*
	 * #GP (contributory) through an absent gate raises #NP (contributory):
	 * #DF. Only in 64-bit: the 32-bit runtime takes #DF through a task gate,
	 * which the emulated hosts do not model (README, Limits).
	 */
#ifndef __x86_64__
	printf("delivery: #UD -> #NP, INT -> #NP and #GP\n");
	GUEST_DONE();
#endif
	install_exception_handler(DF_VECTOR, df_then_done);
	gate_present(GP_VECTOR, false);
	__asm__ __volatile__(".globl gp_at\ngp_at: mov %0, %%cr4" : : "r"(~0ul) : "memory");
	GUEST_FAIL("#GP with an absent gate returned");
}

/* Nothing ends this but the host: --timeout must (a kick out of KVM_RUN on kvm). */
static void test_spin(void)
{
	printf("spin: forever\n");
	for (;;)
		__asm__ __volatile__("pause");
}

/* HLT with interrupts off and no interrupt controller: nothing can wake it. */
static void test_halt(void)
{
	printf("halt: forever\n");
	__asm__ __volatile__("cli; hlt");
	GUEST_FAIL("woke up from cli; hlt");
}

void guest_main(void)
{
	if (test_selected("spin"))
		test_spin();
	else if (test_selected("halt"))
		test_halt();
	else if (test_selected("pf"))
		test_page_fault();
	else if (test_selected("int3"))
		test_int3();
	else if (test_selected("triple"))
		test_triple_fault();
	else if (test_selected("delivery"))
		test_delivery_faults();
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <string.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(ex) {
	struct guest_run run;
};

FIXTURE_VARIANT(ex) {
	const char *host;
	enum flavour flavour;
};

FIXTURE_VARIANT_ADD(ex, intel_64) { .host = "intel", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(ex, intel_32) { .host = "intel", .flavour = FLAVOUR_32 };
FIXTURE_VARIANT_ADD(ex, amd_64) { .host = "amd", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(ex, amd_32) { .host = "amd", .flavour = FLAVOUR_32 };

FIXTURE_SETUP(ex)
{
	memset(&self->run, 0, sizeof(self->run));
}

FIXTURE_TEARDOWN(ex)
{
	guest_run_free(&self->run);
}

/* timeout: seconds, 0 for run_guest()'s default. */
static void run_expect_timeout(struct __test_metadata *_metadata, FIXTURE_DATA(ex) *self,
			       const FIXTURE_VARIANT(ex) *variant, const char *args, int status,
			       double timeout)
{
	struct guest_opts o = { .host = variant->host, .args = args, .trace = true,
				.timeout = timeout };
	const char *why = variant_unavailable(variant->host);

	if (why)
		SKIP_TEST("%s", why);
	ASSERT_EQ(0, run_guest(variant->flavour, &o, &self->run));
	ASSERT_EQ(status, self->run.status) {
		TH_LOG("%s guest on %s: status %d (%s)", FLAVOUR_NAME(variant->flavour),
		       variant->host, self->run.status, self->run.vm->exit_reason);
	}
}

static void run_expect(struct __test_metadata *_metadata, FIXTURE_DATA(ex) *self,
		       const FIXTURE_VARIANT(ex) *variant, const char *args, int status)
{
	run_expect_timeout(_metadata, self, variant, args, status, 0);
}

TEST_F(ex, page_fault_with_cr2)
{
	run_expect(_metadata, self, variant, "test=pf", GUEST_STATUS(PVHC_EXIT_PASS));
	if (on_emulated_host())
		EXPECT_EQ(1, self->run.vm->stats.exceptions[14]);
}

TEST_F(ex, int3_is_a_trap)
{
	run_expect(_metadata, self, variant, "test=int3", GUEST_STATUS(PVHC_EXIT_PASS));
	if (on_emulated_host())
		EXPECT_EQ(1, self->run.vm->stats.exceptions[3]);
}

TEST_F(ex, triple_fault_ends_the_run)
{
	run_expect(_metadata, self, variant, "test=triple", PVHC_STATUS_CRASH);
	EXPECT_EQ(VM_CRASHED, self->run.vm->state);
	/* Only the emulated hosts know which exception could not be delivered. */
	EXPECT_NE(NULL, strstr(self->run.vm->exit_reason, on_emulated_host() ?
			       "triple fault: vector 6" : "triple fault"))
		TH_LOG("reason: %s", self->run.vm->exit_reason);
}

/* A fault while delivering an event is delivered itself, or becomes #DF. */
TEST_F(ex, faults_during_delivery)
{
	if (!on_emulated_host())
		SKIP(return, "the test bed's kvm_amd runs on QEMU's TCG CPU, whose faults during "
		     "delivery differ from the SDM (error codes, INT beyond the IDT limit)");
	run_expect(_metadata, self, variant, "test=delivery", GUEST_STATUS(PVHC_EXIT_PASS));
	if (on_emulated_host()) {
		EXPECT_EQ(2, self->run.vm->stats.exceptions[11]);	/* #NP */
		EXPECT_EQ(variant->flavour == FLAVOUR_64, self->run.vm->stats.exceptions[8]);	/* #DF */
	}
}

TEST_F(ex, runaway_guest_times_out)
{
	run_expect_timeout(_metadata, self, variant, "test=spin", PVHC_STATUS_TIMEOUT, 0.5);
	EXPECT_EQ(VM_TIMED_OUT, self->run.vm->state);
	EXPECT_NE(NULL, strstr(self->run.vm->exit_reason, "timeout after 0.5 s"))
		TH_LOG("reason: %s", self->run.vm->exit_reason);
}

TEST_F(ex, halt_forever_is_a_crash)
{
	run_expect(_metadata, self, variant, "test=halt", PVHC_STATUS_CRASH);
	EXPECT_NE(NULL, strstr(self->run.vm->exit_reason, "halted at RIP"))
		TH_LOG("reason: %s", self->run.vm->exit_reason);
}

TEST_HARNESS_MAIN
#endif
