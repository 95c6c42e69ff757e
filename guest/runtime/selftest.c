// SPDX-License-Identifier: GPL-2.0-only
/*
 * The runtime's own test payload, booted in both flavours by
 * scripts/test-qemu-kernel.sh. Each part prints one "selftest: ... ok" line
 * that the script looks for; the last step is a hypercall, which under QEMU
 * TCG (no KVM) raises #UD and so ends with the "no KVM hypervisor" line and
 * PVHC_EXIT_SKIP. Under a hypervisor the hypercall returns and the payload
 * passes, so the checks below accept both.
 *
 * "fail=assert|pf|ud|stack" on the command line makes it fail on purpose,
 * so the failure paths are tested too.
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#ifdef __x86_64__
#define ALIAS_VA	0x7ffffffff000ull	/* the top of the lower canonical half */
#define ALIAS2_VA	0xffff800000200000ull	/* the upper canonical half */
#else
#define ALIAS_VA	0xc0000000ull		/* below the identity-mapped top 32 MiB */
#define ALIAS2_VA	0x80000000ull
#endif
#define RO_VA		0x40200000ull
#define EXEC_VA		0x40400000ull
#define SPLIT_VA	0x20000000ull		/* inside the identity map's 2 MiB pages */

/*
 * Leaf functions for probing accesses: a #PF handler "returns" from them by
 * doing the ret they did not reach (the return address is on top of the
 * stack, as at their entry).
 */
unsigned long probe_write(volatile void *p, unsigned long v);
unsigned long probe_read(const volatile void *p);
#ifdef __x86_64__
__asm__(".pushsection .text\n"
	".globl probe_write, probe_read\n"
	"probe_write:\n"
	"	movq %rsi, (%rdi)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"probe_read:\n"
	"	movq (%rdi), %rax\n"
	"	ret\n"
	".popsection");
#else
__asm__(".pushsection .text\n"
	".globl probe_write, probe_read\n"
	"probe_write:\n"
	"	movl 4(%esp), %ecx\n"
	"	movl 8(%esp), %eax\n"
	"	movl %eax, (%ecx)\n"
	"	xorl %eax, %eax\n"
	"	ret\n"
	"probe_read:\n"
	"	movl 4(%esp), %ecx\n"
	"	movl (%ecx), %eax\n"
	"	ret\n"
	".popsection");
#endif

static volatile unsigned long pf_count, pf_error, pf_cr2;

static void pf_return(struct ex_regs *r)
{
	pf_count++;
	pf_error = r->error_code;
	pf_cr2 = read_cr2();
	r->rip = *(unsigned long *)r->rsp;
	r->rsp += sizeof(unsigned long);
	r->rax = 0xfa17;
}

#define PRINTF_FMT "%d %u %x %lx %llx %s %c %p|%5d|%-5d|%05x|%X|%+d|%.3s|%lld|%%"
#define PRINTF_ARGS -42, 42u, 0xbeefu, 0xdeadbeeful, 0x123456789abcdefull, "str", 'c',	\
		    (void *)0x1000, 7, 7, 0x2a, 0xabcu, 5, "abcdef", -9000000000ll
#define PRINTF_WANT "-42 42 beef deadbeef 123456789abcdef str c 0x1000|" \
		    "    7|7    |0002a|ABC|+5|abc|-9000000000|%"

static void test_printf(void)
{
	char buf[160], small[4];
	int n;

	n = snprintf(buf, sizeof(buf), PRINTF_FMT, PRINTF_ARGS);
	if (strcmp(buf, PRINTF_WANT))
		GUEST_FAIL("snprintf gave \"%s\", want \"%s\"", buf, PRINTF_WANT);
	GUEST_ASSERT_EQ(n, strlen(PRINTF_WANT));
	GUEST_ASSERT_EQ(snprintf(small, sizeof(small), "%s", "12345"), 5);
	GUEST_ASSERT(!strcmp(small, "123"));
	/* The same through the UART; the boot test compares it with PRINTF_WANT. */
	printf("selftest: printf: " PRINTF_FMT "\n", PRINTF_ARGS);
}

static volatile unsigned long ud_count, ud_rbx;

static void ud_resume(struct ex_regs *r)
{
	ud_count++;
	ud_rbx = r->rbx;
	r->rip += 2;		/* ud2 */
	r->rax = 0x1234;
}

static void test_exceptions(void)
{
	unsigned long a = 0, b = 0xb0b, c = 0xc0c, d = 0xd0d, si = 0x5151, di = 0xd1d1;

	install_exception_handler(UD_VECTOR, ud_resume);
	__asm__ __volatile__("ud2" : "+a"(a), "+b"(b), "+c"(c), "+d"(d), "+S"(si), "+D"(di)
			     : : "memory");
	install_exception_handler(UD_VECTOR, NULL);
	GUEST_ASSERT_EQ(ud_count, 1);
	GUEST_ASSERT_EQ(ud_rbx, 0xb0b);
	GUEST_ASSERT_EQ(a, 0x1234);
	GUEST_ASSERT(b == 0xb0b && c == 0xc0c && d == 0xd0d && si == 0x5151 && di == 0xd1d1);
	printf("selftest: exceptions ok: ud2 caught, resumed with rax 0x%lx\n", a);
}

static void test_paging(void)
{
	volatile uint32_t *page = alloc_page();
	volatile uint32_t *alias = (volatile uint32_t *)(uintptr_t)ALIAS_VA;
	volatile uint32_t *alias2 = (volatile uint32_t *)(uintptr_t)ALIAS2_VA;
	volatile uint32_t *split = (volatile uint32_t *)(uintptr_t)SPLIT_VA;
	uint64_t pa = (uintptr_t)page;
	uint8_t *code;

	/* Two aliases of one page and the identity map all see the same data. */
	map_page(ALIAS_VA, pa, PTE_W);
	map_page(ALIAS2_VA, pa, PTE_W);
	alias[5] = 0xa11a5;
	GUEST_ASSERT_EQ(page[5], 0xa11a5);
	GUEST_ASSERT_EQ(alias2[5], 0xa11a5);
	page[6] = 0x1d;
	GUEST_ASSERT_EQ(alias[6], 0x1d);
	GUEST_ASSERT_EQ(virt_to_phys(ALIAS_VA + 24), pa + 24);

	/* A 4 KiB remap inside a 2 MiB identity page splits it; neighbours stay. */
	map_page(SPLIT_VA, pa, PTE_W);
	GUEST_ASSERT_EQ(split[5], 0xa11a5);
	GUEST_ASSERT_EQ(virt_to_phys(SPLIT_VA + PAGE_SIZE), SPLIT_VA + PAGE_SIZE);
	GUEST_ASSERT_EQ(virt_to_phys(SPLIT_VA - PAGE_SIZE), SPLIT_VA - PAGE_SIZE);
	map_page(SPLIT_VA, SPLIT_VA, PTE_W | PTE_U);
	GUEST_ASSERT_EQ(virt_to_phys(SPLIT_VA), SPLIT_VA);

	install_exception_handler(PF_VECTOR, pf_return);

	/* Read-only: reads work, a write faults with P|W in the error code. */
	map_page(RO_VA, pa, 0);
	GUEST_ASSERT_EQ(probe_read((void *)(uintptr_t)(RO_VA + 20)) & 0xffffffff, 0xa11a5);
	GUEST_ASSERT_EQ(pf_count, 0);
	probe_write((void *)(uintptr_t)(RO_VA + 20), 1);
	GUEST_ASSERT_EQ(pf_count, 1);
	GUEST_ASSERT_EQ(pf_error & 3, 3);
	GUEST_ASSERT_EQ(pf_cr2, (unsigned long)(RO_VA + 20));
	GUEST_ASSERT_EQ(page[5], 0xa11a5);

	/* Unmapped: not-present fault at the alias. */
	unmap_page(ALIAS_VA);
	GUEST_ASSERT_EQ(virt_to_phys(ALIAS_VA), (uint64_t)-1);
	probe_read(alias);
	GUEST_ASSERT_EQ(pf_count, 2);
	GUEST_ASSERT_EQ(pf_error & 1, 0);
	GUEST_ASSERT_EQ(pf_cr2, (unsigned long)ALIAS_VA);

	/* Executable, then NX: the call faults with I/D set. */
	code = alloc_page();
	code[0] = 0xb8;			/* mov $0x600d, %eax */
	code[1] = 0x0d;
	code[2] = 0x60;
	code[3] = 0;
	code[4] = 0;
	code[5] = 0xc3;			/* ret */
	map_page(EXEC_VA, (uintptr_t)code, 0);
	GUEST_ASSERT_EQ(((long (*)(void))(uintptr_t)EXEC_VA)(), 0x600d);
	if (cpu_has_nx()) {
		map_page(EXEC_VA, (uintptr_t)code, PTE_NX);
		GUEST_ASSERT_EQ(((long (*)(void))(uintptr_t)EXEC_VA)(), 0xfa17);
		GUEST_ASSERT_EQ(pf_count, 3);
		GUEST_ASSERT_EQ(pf_error & 0x11, 0x11);
	}
	install_exception_handler(PF_VECTOR, NULL);
	unmap_page(ALIAS2_VA);
	unmap_page(RO_VA);
	unmap_page(EXEC_VA);
	printf("selftest: paging ok: aliases at 0x%llx and 0x%llx, split, read-only, NX %s\n",
	       ALIAS_VA, ALIAS2_VA, cpu_has_nx() ? "faults" : "unsupported");
}

static volatile unsigned long gp_count, gp_cs;
static volatile long user_seen;

static void gp_skip(struct ex_regs *r)
{
	gp_count++;
	gp_cs = r->cs;
	r->rip += 1;		/* cli */
}

static long user_fn(void *arg)
{
	user_seen = (long)arg;
	__asm__ __volatile__("cli");	/* privileged at CPL 3: #GP */
	printf("selftest: hello from CPL %u\n", read_cs() & 3);
	return read_cs();
}

static void test_user_mode(void)
{
	long cs;

	install_exception_handler(GP_VECTOR, gp_skip);
	cs = run_in_user_mode(user_fn, (void *)0x5eed);
	GUEST_ASSERT_EQ(cs, USER_CS);
	GUEST_ASSERT_EQ(user_seen, 0x5eed);
	GUEST_ASSERT_EQ(gp_count, 1);
	GUEST_ASSERT_EQ(gp_cs, USER_CS);
	GUEST_ASSERT_EQ(read_cs(), KERNEL_CS);
	/* Twice, to show the round trip leaves everything as it found it. */
	GUEST_ASSERT_EQ(run_in_user_mode(user_fn, (void *)7), USER_CS);
	GUEST_ASSERT_EQ(user_seen, 7);
	GUEST_ASSERT_EQ(gp_count, 2);
	install_exception_handler(GP_VECTOR, NULL);
	printf("selftest: user mode ok: ran at CS 0x%lx, #GP on cli, back at CS 0x%x\n", cs,
	       read_cs());
}

#ifdef __x86_64__
static volatile unsigned long cm_ud_count, cm_ud_cs, cm_ud_rip, cm_ud_rbx;

static void compat_ud(struct ex_regs *r)
{
	cm_ud_count++;
	cm_ud_cs = r->cs;
	cm_ud_rip = r->rip;
	cm_ud_rbx = r->rbx;
	r->rip += PVHC_HYPERCALL_LEN;
}

static void test_compat_mode(void)
{
	const struct hc_regs in = {
		.rax = 0xdead000000000000ull | PVHC_HC_ECHO,
		.rbx = 0x1111111100000001ull,
		.rcx = 0x2222222200000002ull,
		.rdx = 0x3333333300000003ull,
		.rsi = 0x4444444400000004ull,
	};
	struct hc_regs r = in;

	install_exception_handler(UD_VECTOR, compat_ud);
	compat_mode_vmcall(&r);
	install_exception_handler(UD_VECTOR, NULL);
	GUEST_ASSERT(r.rbx == in.rbx && r.rcx == in.rcx && r.rdx == in.rdx && r.rsi == in.rsi);
	if (cm_ud_count) {
		/* No hypervisor: the #UD came from compatibility mode at the VMCALL. */
		GUEST_ASSERT_EQ(cm_ud_count, 1);
		GUEST_ASSERT_EQ(cm_ud_cs, KERNEL_CS32);
		GUEST_ASSERT_EQ(cm_ud_rip, (uintptr_t)compat_vmcall_insn);
		GUEST_ASSERT_EQ(cm_ud_rbx, in.rbx);
		GUEST_ASSERT_EQ(r.rax, in.rax);
		printf("selftest: compat mode ok: VMCALL raised #UD at CS 0x%lx, %s\n",
		       cm_ud_cs, "registers intact");
	} else {
		/* A hypervisor answered: a 32-bit result. */
		GUEST_ASSERT_EQ(r.rax >> 32, 0);
		printf("selftest: compat mode ok: VMCALL returned 0x%" PRIx64 "\n", r.rax);
	}
}
#else
static void test_real_mode(void)
{
	/* inc %ebx; mov %cs, %cx; smsw %ax */
	static const uint8_t probe[] = { 0x66, 0x43, 0x8c, 0xc9, 0x0f, 0x01, 0xe0 };
	struct hc_regs r = { .rax = 0xffffffff, .rbx = 41, .rcx = 0xabcd1234, .rsi = 0x51 };
	struct hc_regs h = { .rax = PVHC_HC_ECHO, .rbx = 1, .rcx = 2, .rdx = 3, .rsi = 4 };
	int ud;

	GUEST_ASSERT_EQ(real_mode_call(probe, sizeof(probe), &r), 0);
	GUEST_ASSERT_EQ(r.rax & 1, 0);			/* CR0.PE clear: real mode */
	GUEST_ASSERT_EQ(r.rax >> 16, 0xffff);		/* smsw wrote only AX */
	GUEST_ASSERT_EQ(r.rbx, 42);
	GUEST_ASSERT_EQ(r.rcx, 0xabcd0000);		/* CS was 0 */
	GUEST_ASSERT_EQ(r.rsi, 0x51);
	/* Back in protected mode with paging and our IDT. */
	GUEST_ASSERT(read_cr0() & (1ul << 31));
	GUEST_ASSERT_EQ(read_cs(), KERNEL_CS32);
	install_exception_handler(UD_VECTOR, ud_resume);
	ud_count = 0;
	__asm__ __volatile__("ud2" : : : "eax", "memory");
	install_exception_handler(UD_VECTOR, NULL);
	GUEST_ASSERT_EQ(ud_count, 1);

	ud = real_mode_vmcall(&h);
	GUEST_ASSERT(h.rbx == 1 && h.rcx == 2 && h.rdx == 3 && h.rsi == 4);
	if (ud) {
		GUEST_ASSERT_EQ(ud, 1);
		GUEST_ASSERT_EQ(h.rax, PVHC_HC_ECHO);
		printf("selftest: real mode ok: smsw 0x%x, VMCALL raised #UD in real mode\n",
		       (unsigned int)(r.rax & 0xffff));
	} else {
		printf("selftest: real mode ok: smsw 0x%x, VMCALL returned 0x%" PRIx64 "\n",
		       (unsigned int)(r.rax & 0xffff), h.rax);
	}
}
#endif

static volatile int recurse_limit;

static int recurse(int n)
{
	volatile char buf[256];

	buf[0] = (char)n;
	if (recurse_limit && n > recurse_limit)
		return 0;
	return recurse(n + 1) + buf[0];
}

static void fail_on_purpose(const char *how)
{
	volatile uint32_t *volatile null_ish = (volatile uint32_t *)0x10;

	printf("selftest: failing on purpose: %s\n", how);
	if (!strcmp(how, "assert"))
		GUEST_ASSERT_EQ(1 + 1, 3);
	else if (!strcmp(how, "pf"))
		*null_ish = 1;
	else if (!strcmp(how, "ud"))
		__asm__ __volatile__("ud2");
	else if (!strcmp(how, "stack"))
		recurse(0);
	GUEST_FAIL("unknown fail= mode \"%s\"", how);
}

void guest_main(void)
{
	const char *fail = cmdline_get("fail");

	if (fail)
		fail_on_purpose(fail);
	test_printf();
	test_exceptions();
	test_paging();
	test_user_mode();
#ifdef __x86_64__
	test_compat_mode();
#else
	test_real_mode();
#endif
	printf("selftest: hypercall %s\n", kvm_para_available() ? "(KVM signature present)" :
	       "(no KVM signature)");
	printf("selftest: kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ) = %ld\n",
	       kvm_hypercall0(KVM_HC_VAPIC_POLL_IRQ));
}
#endif /* PVHC_GUEST */
