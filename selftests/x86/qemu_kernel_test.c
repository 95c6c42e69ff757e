// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a kernel written for `qemu-system-x86_64 -kernel` finds at boot, and
 * what kvm-unit-tests' x86 runtime relies on (issue 7), each reproduced with
 * pvhc's own guest:
 *  - the multiboot information: memory sizes, boot device, command line,
 *    memory map, loader name, and a module (QEMU's -initrd);
 *  - fw_cfg at 0x510/0x511: signature, interface ID, CPU count, RAM size,
 *    the multiboot items; unknown items and odd-sized accesses read 0;
 *  - the local APIC page: ID, version, reset values, registers that read back,
 *    ICR delivery status reading clear after INIT/SIPI, a self-IPI pending;
 *  - the MSR rules: EFER, GS_BASE, APIC_BASE, the PMU counters without a vPMU
 *    (also through RDPMC),
 *    unknown MSRs -> #GP(0) at exactly the RDMSR/WRMSR, also at CPL 3, with
 *    prefixes, and in the first block an engine runs;
 *  - "Shutdown" to 0x8900 followed by CLI; HLT ends the run (status 0), and a
 *    HLT right before a RDMSR still halts;
 *  - a fetch at the first non-canonical address is #GP(0) with that RIP.
 *
 * Observations the real KVM makes too are "OBS" lines (scripts/obs-diff.awk).
 */
#ifdef PVHC_GUEST
#include <pvhc/runtime.h>

#include "guest_util.h"

#define MSR_APIC_BASE		0x1b
#define MSR_EFER		0xc0000080
#define MSR_GS_BASE		0xc0000101
#define MSR_K7_EVNTSEL0		0xc0010000
#define MSR_K7_PERFCTR0		0xc0010004
#define MSR_IA32_CR_PAT		0x277
#define MSR_MC0_CTL		0x400
#define MSR_UNKNOWN		0x12345678
#define MSR_UNKNOWN_AMD		0xc001ffff	/* no such MSR in AMD's range either */
#define EFER_RESERVED_BIT	(1ull << 2)
#define APIC_BASE_EXTD		(1ull << 10)
#define APIC_BASE_EN		(1ull << 11)
#define NONCANONICAL		0x8000000000000000ull

#define APIC_REG(off)		(*(volatile uint32_t *)(uintptr_t)(PVHC_LAPIC_BASE + (off)))
#define APIC_LVR		0x30
#define APIC_TASKPRI		0x80
#define APIC_LDR		0xd0
#define APIC_DFR		0xe0
#define APIC_SPIV		0xf0
#define APIC_IRR		0x200
#define APIC_ESR		0x280
#define APIC_LVTT		0x320
#define APIC_TMICT		0x380
#define APIC_TMCCT		0x390
#define APIC_TDCR		0x3e0
#define APIC_LVTERR		0x370
#define ICR_INIT_ALLBUT		0xc4500u	/* all but self, INIT, assert */
#define ICR_SIPI_ALLBUT		0xc4600u	/* all but self, STARTUP */
#define ICR_SELF_FIXED		0x40000u	/* self, fixed */
#define SELF_VECTOR		0x41

/* ---- RDMSR/WRMSR that may fault: the #GP is recorded and the instruction skipped ---- */

static volatile unsigned long gp_count, gp_error, gp_rip, gp_rflags, skip_len;

static void gp_skip(struct ex_regs *regs)
{
	gp_count++;
	gp_error = regs->error_code;
	gp_rip = regs->rip;
	gp_rflags = regs->rflags;
	regs->rip += skip_len;
}

extern const char rdmsr_at[], rdpmc_at[], wrmsr_at[], rdmsr_rex_at[], mov_cr4_at[];

/* 0, or the #GP taken (error code and RIP checked: 0 and exactly the instruction). */
static int check_gp(const char *insn)
{
	if (!gp_count)
		return 0;
	GUEST_ASSERT_EQ(gp_count, 1);
	GUEST_ASSERT_EQ(gp_error, 0);
	GUEST_ASSERT_EQ(gp_rip, (uintptr_t)insn);
	return GP_VECTOR;
}

/* RDMSR or RDPMC of index: ECX in, EDX:EAX out. */
static __attribute__((noinline)) int read_safe(bool pmc, uint32_t index, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;

	gp_count = 0;
	skip_len = 2;
	if (pmc)
		__asm__ __volatile__(".globl rdpmc_at\nrdpmc_at:\n\trdpmc"
				     : "+a"(lo), "+d"(hi) : "c"(index) : "memory");
	else
		__asm__ __volatile__(".globl rdmsr_at\nrdmsr_at:\n\trdmsr"
				     : "+a"(lo), "+d"(hi) : "c"(index) : "memory");
	*value = (uint64_t)hi << 32 | lo;
	return check_gp(pmc ? rdpmc_at : rdmsr_at);
}

#define rdmsr_safe(msr, value)		read_safe(false, msr, value)
#define rdpmc_safe(counter, value)	read_safe(true, counter, value)

static __attribute__((noinline)) int wrmsr_safe(uint32_t msr, uint64_t value)
{
	gp_count = 0;
	skip_len = 2;
	__asm__ __volatile__(".globl wrmsr_at\nwrmsr_at:\n\twrmsr"
			     : : "c"(msr), "a"((uint32_t)value), "d"((uint32_t)(value >> 32))
			     : "memory");
	return check_gp(wrmsr_at);
}

/* RDMSR behind prefixes (REX.W and an operand-size prefix, or two of the latter). */
static __attribute__((noinline)) int rdmsr_prefixed(uint32_t msr, uint64_t *value)
{
	uint32_t lo = 0, hi = 0;

	gp_count = 0;
	skip_len = 4;
#ifdef __x86_64__
	__asm__ __volatile__(".globl rdmsr_rex_at\nrdmsr_rex_at:\n\t.byte 0x66, 0x48, 0x0f, 0x32"
			     : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
#else
	__asm__ __volatile__(".globl rdmsr_rex_at\nrdmsr_rex_at:\n\t.byte 0x66, 0x66, 0x0f, 0x32"
			     : "+a"(lo), "+d"(hi) : "c"(msr) : "memory");
#endif
	*value = (uint64_t)hi << 32 | lo;
	return check_gp(rdmsr_rex_at);
}

static uint64_t rdmsr_ok(uint32_t msr)
{
	uint64_t v;

	GUEST_ASSERT_EQ(rdmsr_safe(msr, &v), 0);
	return v;
}

/* ---- multiboot information and module ---- */

extern uint32_t boot_mbi;

static unsigned long parse_dec(const char *s)
{
	unsigned long v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (unsigned long)(*s++ - '0');
	return v;
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);

	return n >= m && !strcmp(s + n - m, tail);
}

static void test_mbinfo(void)
{
	const struct multiboot_info *mbi = boot_info;
	const uint32_t need = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV |
			      MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
			      MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME;
	const uint8_t *p = (const uint8_t *)(uintptr_t)mbi->mmap_addr;
	const uint8_t *end = p + mbi->mmap_length;
	uint64_t above_1m = 0;
	const char *mem = cmdline_get("mem");

	OBS("mbi.flags", "%x", mbi->flags & need);
	GUEST_ASSERT_EQ(mbi->flags & need, need);
	printf("mem_lower %u KiB, mem_upper %u KiB, boot device %x, loader \"%s\"\n",
	       mbi->mem_lower, mbi->mem_upper, mbi->boot_device,
	       (const char *)(uintptr_t)mbi->boot_loader_name);
	GUEST_ASSERT_EQ(mbi->mem_lower, 639);
	GUEST_ASSERT_EQ(mbi->boot_device, 0x8000ffffu);
	GUEST_ASSERT(mem);
	/*
	 * mem_upper: KiB from 1 MiB up to the end of RAM, all of it on pvhc
	 * ("exact"); QEMU's BIOS keeps the last 128 KiB for itself.
	 */
	if (cmdline_get("exact"))
		GUEST_ASSERT_EQ(mbi->mem_upper, (uint32_t)(parse_dec(mem) * 1024 - 1024));
	GUEST_ASSERT(mbi->mem_upper + 1024 <= parse_dec(mem) * 1024);
	GUEST_ASSERT(mbi->mem_upper + 1024 + 128 >= parse_dec(mem) * 1024);
	for (; p < end; p += ((const struct multiboot_mmap_entry *)p)->size + 4) {
		const struct multiboot_mmap_entry *e = (const void *)p;

		printf("mmap %08llx-%08llx type %u\n", (unsigned long long)e->addr,
		       (unsigned long long)(e->addr + e->len), e->type);
		if (e->type == MULTIBOOT_MEMORY_AVAILABLE && e->addr >= 0x100000)
			above_1m += e->len;
	}
	GUEST_ASSERT_EQ(above_1m, (uint64_t)mbi->mem_upper * 1024);
	/* The command line is "IMAGE ARGS": the image's name first, then ours. */
	GUEST_ASSERT(boot_argc >= 3);
	GUEST_ASSERT(!strcmp(boot_argv[1], "test=mbinfo"));
	GUEST_ASSERT(((const char *)(uintptr_t)mbi->boot_loader_name)[0]);
	printf("mbinfo: as QEMU's -kernel gives it\n");
}

static void test_module(void)
{
	const struct multiboot_mod *m = (const void *)(uintptr_t)boot_info->mods_addr;
	const char *want = cmdline_get("module");
	const char *s;
	uint32_t i;

	GUEST_ASSERT(want);
	OBS("module.count", "%u", boot_info->mods_count);
	GUEST_ASSERT_EQ(boot_info->mods_count, 1);
	s = (const char *)(uintptr_t)m->string;
	printf("module %x-%x \"%s\"\n", m->mod_start, m->mod_end, s);
	/* Page aligned, and its string is "FILE ARGS" as given to --initrd. */
	GUEST_ASSERT_EQ(m->mod_start & 0xfff, 0);
	GUEST_ASSERT(ends_with(s, " arg1 arg2"));
	/* The content: the word the host wrote there, length included. */
	GUEST_ASSERT_EQ(m->mod_end - m->mod_start, strlen(want));
	for (i = 0; i < m->mod_end - m->mod_start; i++)
		GUEST_ASSERT_EQ(((const char *)(uintptr_t)m->mod_start)[i], want[i]);
	printf("module: %u bytes as written\n", m->mod_end - m->mod_start);
}

/* ---- fw_cfg ---- */

static void fw_cfg_select(uint16_t key)
{
	outw(PVHC_PORT_FW_CFG_SEL, key);
}

static uint64_t fw_cfg_read(uint16_t key, unsigned int bytes)
{
	uint64_t v = 0;
	unsigned int i;

	fw_cfg_select(key);
	for (i = 0; i < bytes; i++)
		v |= (uint64_t)inb(PVHC_PORT_FW_CFG_DATA) << (8 * i);
	return v;
}

extern char _start[];

static void test_fw_cfg(void)
{
	char sig[5] = { 0 };
	uint64_t mb_magic;
	unsigned int i;

	fw_cfg_select(PVHC_FW_CFG_SIGNATURE);
	for (i = 0; i < 4; i++)
		sig[i] = (char)inb(i & 1 ? PVHC_PORT_FW_CFG_DATA : PVHC_PORT_FW_CFG_SEL);
	OBS("fw_cfg.signature", "%s", sig);
	GUEST_ASSERT(!strcmp(sig, "QEMU"));
	/* Past the end of an item, and items that do not exist: 0. */
	GUEST_ASSERT_EQ(inb(PVHC_PORT_FW_CFG_DATA), 0);
	GUEST_ASSERT_EQ(fw_cfg_read(0x7fff, 4), 0);
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_ID, 4) & 1, 1);
	OBS("fw_cfg.nb_cpus", "%u", (unsigned int)fw_cfg_read(PVHC_FW_CFG_NB_CPUS, 2));
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_NB_CPUS, 2), 1);
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_MAX_CPUS, 2), 1);
	GUEST_ASSERT(cmdline_get("mem"));
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_RAM_SIZE, 8),
			(uint64_t)parse_dec(cmdline_get("mem")) << 20);
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_IRQ0_OVERRIDE, 4), 1);
	/* The multiboot items: where the image is, its entry, its first bytes, the information. */
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_KERNEL_ADDR, 4), 0x100000);
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_KERNEL_ENTRY, 4), (uintptr_t)_start);
	mb_magic = fw_cfg_read(PVHC_FW_CFG_KERNEL_DATA, 4);
	GUEST_ASSERT_EQ(mb_magic, 0x1badb002);
	GUEST_ASSERT(fw_cfg_read(PVHC_FW_CFG_KERNEL_SIZE, 4) >= 0x1000);
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_INITRD_ADDR, 4), boot_mbi);
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_INITRD_SIZE, 4), 88);
	/* The information's first word is its flags (QEMU's copy has the same ones). */
	GUEST_ASSERT_EQ(fw_cfg_read(PVHC_FW_CFG_INITRD_DATA, 4), 0x24f);
	/* The selector takes 16-bit writes only; wider or narrower reads give 0. */
	fw_cfg_select(PVHC_FW_CFG_SIGNATURE);
	GUEST_ASSERT_EQ(inl(PVHC_PORT_FW_CFG_SEL), 0);
	outb(PVHC_PORT_FW_CFG_SEL, PVHC_FW_CFG_NB_CPUS);
	GUEST_ASSERT_EQ(inb(PVHC_PORT_FW_CFG_DATA), 'Q');
	printf("fw_cfg: \"%s\", %u CPU, multiboot items\n", sig,
	       (unsigned int)fw_cfg_read(PVHC_FW_CFG_NB_CPUS, 2));
}

/* ---- local APIC ---- */

static void test_apic(void)
{
	unsigned int a, b, c, d;
	uint64_t base = rdmsr_ok(MSR_APIC_BASE);

	pvhc_cpuid(1, &a, &b, &c, &d);
	OBS("apic.base", "%llx", (unsigned long long)base);
	GUEST_ASSERT_EQ(base, 0xfee00900);
	/* Without x2APIC in CPUID, EXTD is reserved (so the bit reads back what was written). */
	install_exception_handler(GP_VECTOR, gp_skip);
	OBS("apic.base_extd", "%d", wrmsr_safe(MSR_APIC_BASE, base | APIC_BASE_EXTD));
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base | APIC_BASE_EXTD), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr_ok(MSR_APIC_BASE), base);
	install_exception_handler(GP_VECTOR, NULL);
	/* Its ID is the one CPUID reports, below the CPU count. */
	OBS("apic.id", "%x", APIC_REG(APIC_ID));
	GUEST_ASSERT_EQ(APIC_REG(APIC_ID) >> 24, b >> 24);
	GUEST_ASSERT_EQ(APIC_REG(APIC_ID) >> 24, 0);
	OBS("apic.version", "%x", APIC_REG(APIC_LVR) & 0xff00ff);
	GUEST_ASSERT_EQ(APIC_REG(APIC_LVR) & 0xff, 0x14);
	GUEST_ASSERT_EQ(APIC_REG(APIC_LVTT), 0x10000);	/* masked after reset */
	GUEST_ASSERT_EQ(APIC_REG(APIC_SPIV), 0xff);
	GUEST_ASSERT_EQ(APIC_REG(APIC_DFR), 0xffffffff);
	/* Registers read back what was written (within their bits). */
	APIC_REG(APIC_SPIV) = 0x1ff;
	APIC_REG(APIC_TASKPRI) = 0x20;
	APIC_REG(APIC_LDR) = 0x01000000;
	APIC_REG(APIC_LVTERR) = 0x000000fe;
	OBS("apic.readback", "svr=%x tpr=%x ldr=%x lvterr=%x", APIC_REG(APIC_SPIV),
	    APIC_REG(APIC_TASKPRI), APIC_REG(APIC_LDR), APIC_REG(APIC_LVTERR));
	GUEST_ASSERT_EQ(APIC_REG(APIC_SPIV), 0x1ff);
	GUEST_ASSERT_EQ(APIC_REG(APIC_TASKPRI), 0x20);
	GUEST_ASSERT_EQ(APIC_REG(APIC_LDR), 0x01000000);
	GUEST_ASSERT_EQ(APIC_REG(APIC_LVTERR), 0xfe);
	APIC_REG(APIC_TASKPRI) = 0;
	APIC_REG(APIC_ESR) = 0;
	GUEST_ASSERT_EQ(APIC_REG(APIC_ESR), 0);
	/* kvm-unit-tests' AP bring-up: INIT, STARTUP to all but self; then it polls bit 12. */
	APIC_REG(APIC_ICR_HI) = 0;
	APIC_REG(APIC_ICR_LO) = ICR_INIT_ALLBUT;
	OBS("apic.icr_init", "%x", APIC_REG(APIC_ICR_LO));
	GUEST_ASSERT_EQ(APIC_REG(APIC_ICR_LO) & APIC_ICR_BUSY, 0);
	GUEST_ASSERT_EQ(APIC_REG(APIC_ICR_LO), ICR_INIT_ALLBUT);
	APIC_REG(APIC_ICR_LO) = ICR_SIPI_ALLBUT | 0x9a;
	OBS("apic.icr_sipi", "%x", APIC_REG(APIC_ICR_LO));
	GUEST_ASSERT_EQ(APIC_REG(APIC_ICR_LO) & APIC_ICR_BUSY, 0);
	/* A fixed self-IPI with interrupts off is left pending in IRR. */
	APIC_REG(APIC_ICR_LO) = ICR_SELF_FIXED | SELF_VECTOR;
	OBS("apic.irr_self", "%x", APIC_REG(APIC_IRR + 0x10 * (SELF_VECTOR / 32)));
	GUEST_ASSERT_EQ(APIC_REG(APIC_IRR + 0x10 * (SELF_VECTOR / 32)),
			1u << (SELF_VECTOR % 32));
	GUEST_ASSERT_EQ(APIC_REG(APIC_ICR_LO) & APIC_ICR_BUSY, 0);
	printf("apic: ID %u, version %x, ICR idle after INIT/SIPI\n", APIC_REG(APIC_ID) >> 24,
	       APIC_REG(APIC_LVR));
}

static volatile unsigned int self_ipis;

static void self_ipi_handler(struct ex_regs *regs)
{
	self_ipis++;
	apic_eoi();
}

/*
 * A self-IPI with interrupts on is taken right after the ICR write, as on
 * hardware, even on a lone vCPU whose code has no exit in sight: the loop
 * below has none, and it ends with interrupts off again.
 */
static void test_self_ipi(void)
{
	unsigned int i, seen_at = ~0u;

	install_exception_handler(SELF_VECTOR, self_ipi_handler);
	APIC_REG(APIC_SPIV) = 0x1ff;
	__asm__ __volatile__("sti" ::: "memory");
	APIC_REG(APIC_ICR_LO) = ICR_SELF_FIXED | SELF_VECTOR;
	for (i = 0; i < 100000 && seen_at == ~0u; i++)
		if (self_ipis)
			seen_at = i;
	__asm__ __volatile__("cli" ::: "memory");
	OBS("self_ipi", "%u taken, %s", self_ipis, seen_at == ~0u ? "late" : "in the loop");
	GUEST_ASSERT_EQ(self_ipis, 1);
	GUEST_ASSERT(seen_at != ~0u);
	/* Sent with interrupts off, it waits for them: `sti; nop; cli` is window enough. */
	APIC_REG(APIC_ICR_LO) = ICR_SELF_FIXED | SELF_VECTOR;
	for (i = 0; i < 1000; i++)
		__asm__ __volatile__("pause" ::: "memory");
	GUEST_ASSERT_EQ(self_ipis, 1);
	__asm__ __volatile__("sti; nop; cli" ::: "memory");
	OBS("self_ipi.sti_nop_cli", "%u taken", self_ipis);
	GUEST_ASSERT_EQ(self_ipis, 2);
	printf("self_ipi: taken after %u loop iterations\n", seen_at);
}

#define ICR_SELF_NMI		0x40400u	/* self, NMI */
static volatile unsigned int nmis, nmis_seen_in_handler;

static void nmi_handler(struct ex_regs *regs)
{
	unsigned int i;

	if (++nmis > 1)
		return;
	/* A second NMI while this one is handled waits for the IRET. */
	APIC_REG(APIC_ICR_LO) = ICR_SELF_NMI;
	for (i = 0; i < 1000; i++)
		__asm__ __volatile__("pause" ::: "memory");
	nmis_seen_in_handler = nmis;
}

/* NMIs by self-IPI: taken with interrupts off, never nested, the next one after IRET. */
static void test_nmi(void)
{
	unsigned int i;

	install_exception_handler(NMI_VECTOR, nmi_handler);
	APIC_REG(APIC_ICR_LO) = ICR_SELF_NMI;	/* interrupts are off */
	for (i = 0; i < 1000 && nmis < 2; i++)
		__asm__ __volatile__("pause" ::: "memory");
	OBS("nmi", "%u taken, %u seen inside the first", nmis, nmis_seen_in_handler);
	GUEST_ASSERT_EQ(nmis_seen_in_handler, 1);
	GUEST_ASSERT_EQ(nmis, 2);
	printf("nmi: two self-NMIs, the second after the first's IRET\n");
}

#define TIMER_VECTOR		0x42
#define LVT_TIMER_PERIODIC	(1u << 17)
#define LVT_MASKED		(1u << 16)
static volatile unsigned int timer_irqs;

static void timer_handler(struct ex_regs *regs)
{
	timer_irqs++;
	apic_eoi();
}

/* Wait with interrupts on until n timer interrupts came, or give up after spins PAUSEs. */
static void wait_timer_irqs(unsigned int n, unsigned long spins)
{
	unsigned long i;

	__asm__ __volatile__("sti" ::: "memory");
	for (i = 0; i < spins && timer_irqs < n; i++)
		__asm__ __volatile__("pause" ::: "memory");
	__asm__ __volatile__("cli" ::: "memory");
}

/*
 * The local APIC timer at 1 GHz / divisor: one-shot counts down and fires
 * once, wakes a HLT, periodic fires again and again, masked fires nothing.
 */
static void test_apic_timer(void)
{
	uint32_t cur;

	install_exception_handler(TIMER_VECTOR, timer_handler);
	APIC_REG(APIC_SPIV) = 0x1ff;
	APIC_REG(APIC_TDCR) = 0xb;			/* divide by 1 */
	APIC_REG(APIC_LVTT) = TIMER_VECTOR;		/* one-shot */
	APIC_REG(APIC_TMICT) = 2000000;			/* 2 ms */
	cur = APIC_REG(APIC_TMCCT);
	GUEST_ASSERT(cur > 0 && cur <= 2000000);
	wait_timer_irqs(1, 200000000ul);
	OBS("apic_timer.one_shot", "%u irqs, current %u", timer_irqs, APIC_REG(APIC_TMCCT));
	GUEST_ASSERT_EQ(timer_irqs, 1);
	GUEST_ASSERT_EQ(APIC_REG(APIC_TMCCT), 0);

	/* A HLT with interrupts on waits for it. */
	APIC_REG(APIC_TMICT) = 1000000;
	__asm__ __volatile__("sti; hlt; cli" ::: "memory");
	GUEST_ASSERT_EQ(timer_irqs, 2);

	/* Periodic: again and again until stopped by a zero count. */
	APIC_REG(APIC_LVTT) = TIMER_VECTOR | LVT_TIMER_PERIODIC;
	APIC_REG(APIC_TMICT) = 500000;
	wait_timer_irqs(7, 200000000ul);
	APIC_REG(APIC_TMICT) = 0;
	GUEST_ASSERT_EQ(timer_irqs, 7);

	/* Masked: it counts down and fires nothing. */
	APIC_REG(APIC_LVTT) = TIMER_VECTOR | LVT_MASKED;
	APIC_REG(APIC_TMICT) = 100000;
	while (APIC_REG(APIC_TMCCT))
		__asm__ __volatile__("pause" ::: "memory");
	wait_timer_irqs(8, 100000);	/* an interrupt would come within 64 blocks */
	GUEST_ASSERT_EQ(timer_irqs, 7);
	printf("apic_timer: one-shot, HLT wake-up, periodic, masked\n");
}

/* IA32_APIC_BASE as a register: disabling resets the APIC (emulated hosts only). */
static unsigned int cpuid_edx_apic(void)
{
	unsigned int a, b, c, d;

	pvhc_cpuid(1, &a, &b, &c, &d);
	return (d >> 9) & 1;
}

static void test_apic_base(void)
{
	uint64_t base = rdmsr_ok(MSR_APIC_BASE);

	install_exception_handler(GP_VECTOR, gp_skip);
	/* Disable, then enable: a reset APIC (kvm-unit-tests' reset_apic()). */
	APIC_REG(APIC_SPIV) = 0x1ff;
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base & ~APIC_BASE_EN), 0);
	GUEST_ASSERT_EQ(rdmsr_ok(MSR_APIC_BASE), base & ~APIC_BASE_EN);
	GUEST_ASSERT_EQ(APIC_REG(APIC_ID), 0xffffffff);	/* a disabled APIC's page */
	/* CPUID.1:EDX.APIC follows the enable bit. */
	GUEST_ASSERT_EQ(cpuid_edx_apic(), 0);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base), 0);
	GUEST_ASSERT_EQ(rdmsr_ok(MSR_APIC_BASE), base);
	GUEST_ASSERT_EQ(cpuid_edx_apic(), 1);
	GUEST_ASSERT_EQ(APIC_REG(APIC_SPIV), 0xff);
	/* Reserved bits. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_APIC_BASE, base | 1), GP_VECTOR);
	install_exception_handler(GP_VECTOR, NULL);
	printf("apic_base: read back, disable resets, reserved bits fault\n");
}

/* ---- MSRs ---- */

static void test_msr(void)
{
	uint64_t efer = rdmsr_ok(MSR_EFER), v;
	unsigned int i;
	int ret;

	install_exception_handler(GP_VECTOR, gp_skip);
	/* Unknown MSRs: #GP(0) at the instruction, for reads and writes. */
	OBS("msr.unknown", "rd=%d wr=%d rd_amd=%d", rdmsr_safe(MSR_UNKNOWN, &v),
	    wrmsr_safe(MSR_UNKNOWN, 0), rdmsr_safe(MSR_UNKNOWN_AMD, &v));
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_UNKNOWN, &v), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_UNKNOWN, 0), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr_safe(MSR_UNKNOWN_AMD, &v), GP_VECTOR);
	/* pvhc has no MCE banks; KVM gives 32 unless the VMM sets them up (pvhc does not). */
	if (!on_real_kvm())
		GUEST_ASSERT_EQ(rdmsr_safe(MSR_MC0_CTL, &v), GP_VECTOR);
	/* The same through prefixes: still RDMSR, still trapped. */
	GUEST_ASSERT_EQ(rdmsr_prefixed(MSR_UNKNOWN, &v), GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr_prefixed(MSR_EFER, &v), 0);
	GUEST_ASSERT_EQ(v, efer);

	/* EFER: what the guest runs with; a reserved bit faults; rewriting it is fine. */
	OBS("msr.efer", "lma=%d reserved=%d same=%d", !!(efer & (1ull << 10)),
	    wrmsr_safe(MSR_EFER, efer | EFER_RESERVED_BIT), wrmsr_safe(MSR_EFER, efer));
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, efer | EFER_RESERVED_BIT), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_EFER, efer), 0);
	GUEST_ASSERT_EQ(rdmsr_ok(MSR_EFER), efer);

	/* GS_BASE: a register (kvm-unit-tests keeps its per-CPU area there). */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_GS_BASE, 0x12345000), 0);
	v = rdmsr_ok(MSR_GS_BASE);
	OBS("msr.gs_base", "%llx", (unsigned long long)v);
	GUEST_ASSERT_EQ(v, 0x12345000);
	/*
	 * A non-canonical base: #GP on hardware and on pvhc. (The kvm_amd of
	 * the test bed passes the MSR through to QEMU's TCG, which takes it.)
	 */
	ret = wrmsr_safe(MSR_GS_BASE, NONCANONICAL);
	OBS("msr.gs_noncanonical", "%d", ret);
	if (!on_real_kvm())
		GUEST_ASSERT_EQ(ret, GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_GS_BASE, 0), 0);

	/* PAT: only valid memory types. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_CR_PAT, 0x0007040600070406ull), 0);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_IA32_CR_PAT, 0x0007040600070402ull), GP_VECTOR);

	/* The legacy PMU counters with no vPMU: writing 0 works, they read 0. */
	for (i = 0; i < 4; i++) {
		GUEST_ASSERT_EQ(wrmsr_safe(MSR_K7_EVNTSEL0 + i, 0), 0);
		GUEST_ASSERT_EQ(wrmsr_safe(MSR_K7_PERFCTR0 + i, 0), 0);
		GUEST_ASSERT_EQ(rdmsr_ok(MSR_K7_PERFCTR0 + i), 0);
	}
	OBS("msr.k7_pmu", "evntsel3=%llx perfctr3=%llx",
	    (unsigned long long)rdmsr_ok(MSR_K7_EVNTSEL0 + 3),
	    (unsigned long long)rdmsr_ok(MSR_K7_PERFCTR0 + 3));
	/* RDPMC reads the same counters: four on AMD (reading 0), none on Intel. */
	ret = rdpmc_safe(0, &v);
	OBS("rdpmc.0", "%d %llx", ret, (unsigned long long)v);
	GUEST_ASSERT_EQ(ret, cpuid_host_kind() == HOST_AMD ? 0 : GP_VECTOR);
	GUEST_ASSERT_EQ(v, 0);
	OBS("rdpmc.4", "%d", rdpmc_safe(4, &v));
	GUEST_ASSERT_EQ(rdpmc_safe(4, &v), GP_VECTOR);
	install_exception_handler(GP_VECTOR, NULL);
	printf("msr: unknown -> #GP(0) at the instruction; EFER, GS_BASE, PAT, PMU as KVM\n");
}

static long user_rdmsr(void *arg)
{
	uint64_t v;

	return rdmsr_safe(MSR_EFER, &v);
}

static void test_msr_cpl3(void)
{
	install_exception_handler(GP_VECTOR, gp_skip);
	OBS("msr.cpl3", "%ld", run_in_user_mode(user_rdmsr, NULL));
	GUEST_ASSERT_EQ(run_in_user_mode(user_rdmsr, NULL), GP_VECTOR);
	install_exception_handler(GP_VECTOR, NULL);
	printf("msr: RDMSR at CPL 3 -> #GP(0)\n");
}

/*
 * CR2 changes only by a page fault or a MOV to CR2. The emulated hosts stop
 * at each RDMSR (and, in long mode, watch the canonical edge), and Unicorn's
 * clean-up after each stop looks up addresses the guest never touched: a
 * failed look-up must not show in CR2.
 */
static void write_cr2(unsigned long v)
{
	__asm__ __volatile__("mov %0, %%cr2" : : "r"(v) : "memory");
}

static void test_cr2(void)
{
	static const unsigned long values[] = { 0, 0x1234000 };
	unsigned int i, j;

	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		write_cr2(values[i]);
		for (j = 0; j < 64; j++)
			(void)rdmsr_ok(MSR_EFER);
		OBS("cr2", "%lx after 64 RDMSR", read_cr2());
		GUEST_ASSERT_EQ(read_cr2(), values[i]);
	}
	printf("cr2: kept across 128 RDMSR stops\n");
}

/* ---- CR4 ---- */

/* MOV to CR4 from RAX (3 bytes in every mode): 0 or the #GP(0) at exactly it. */
static __attribute__((noinline)) int write_cr4_safe(unsigned long v)
{
	gp_count = 0;
	skip_len = 3;
	__asm__ __volatile__(".globl mov_cr4_at\nmov_cr4_at:\n\tmov %0, %%cr4" : : "a"(v) : "memory");
	return check_gp(mov_cr4_at);
}

/*
 * Unicorn's CPU takes any CR4 value; a CPU raises #GP(0) for reserved bits
 * (here: bit 15, and the features CPUID does not report) and for leaving
 * PAE in long mode, and CR4 keeps its value. A fault's saved RFLAGS has RF.
 */
static void test_cr4(void)
{
	unsigned long cr4 = read_cr4();
	unsigned int a, b, c, d;
	int ret;

	pvhc_cpuid(1, &a, &b, &c, &d);
	install_exception_handler(GP_VECTOR, gp_skip);
	ret = write_cr4_safe(cr4 | (1ul << 15));
	OBS("cr4.bit15", "%d rf=%lu", ret, (gp_rflags >> 16) & 1);
	GUEST_ASSERT_EQ(ret, GP_VECTOR);
	GUEST_ASSERT_EQ(read_cr4(), cr4);
	GUEST_ASSERT(gp_rflags & (1ul << 16));
	ret = write_cr4_safe(cr4 | (1ul << 18));
	GUEST_ASSERT_EQ(ret, (c & (1u << 26)) ? 0 : GP_VECTOR);
	GUEST_ASSERT_EQ(write_cr4_safe(cr4), 0);
#ifdef __x86_64__
	/* Bits 63:32 are reserved too (the test bed's kvm_amd lets them through, see obs-diff.awk). */
	ret = write_cr4_safe(cr4 | (1ul << 32));
	OBS("cr4.bit32", "%d", ret);
	if (!on_real_kvm())
		GUEST_ASSERT_EQ(ret, GP_VECTOR);
	GUEST_ASSERT_EQ(write_cr4_safe(cr4), 0);
	ret = write_cr4_safe(cr4 & ~(1ul << 5));
	OBS("cr4.clear_pae_in_long_mode", "%d", ret);
	GUEST_ASSERT_EQ(ret, GP_VECTOR);
#endif
	/* A bit every CPU has: set, read back, cleared. */
	GUEST_ASSERT_EQ(write_cr4_safe(cr4 ^ (1ul << 10)), 0);
	OBS("cr4.osxmmexcpt", "%lx", (read_cr4() ^ cr4) >> 10);
	GUEST_ASSERT_EQ(read_cr4(), cr4 ^ (1ul << 10));
	GUEST_ASSERT_EQ(write_cr4_safe(cr4), 0);
	GUEST_ASSERT_EQ(read_cr4(), cr4);
	install_exception_handler(GP_VECTOR, NULL);
	printf("cr4: reserved bits -> #GP(0) with RF in the saved RFLAGS, CR4 kept\n");
}

/* ---- ending the run ---- */

static void test_shutdown(void)
{
	static const char word[] = "Shutdown";
	unsigned int i;

	printf("shutdown: writing \"%s\" to 0x8900, then cli; hlt\n", word);
	for (i = 0; word[i]; i++)
		outb(PVHC_PORT_SHUTDOWN, (uint8_t)word[i]);
	__asm__ __volatile__("cli; hlt");
	GUEST_FAIL("still running after \"Shutdown\" and HLT");
}

/* A HLT directly before a RDMSR: it halts (the run ends, nothing can wake it). */
static void test_hlt_before_rdmsr(void)
{
	printf("hlt_msr: cli; hlt; rdmsr\n");
	__asm__ __volatile__("cli; hlt; rdmsr" : : "c"(MSR_EFER) : "eax", "edx", "memory");
	GUEST_FAIL("HLT returned");
}

#ifdef __x86_64__
#define EDGE_PAGE 0x7ffffffff000ul

static volatile unsigned long nc_count, nc_rip, nc_error;

static void noncanonical_gp(struct ex_regs *regs)
{
	nc_count++;
	nc_rip = regs->rip;
	nc_error = regs->error_code;
	regs->rip = *(unsigned long *)regs->rsp;	/* back to the caller: the RET is not there */
	regs->rsp += 8;
}

/* A NOP in the last byte below the hole: the next fetch, at 2^47, is #GP(0) with that RIP. */
static void test_noncanonical(void)
{
	uint8_t *page = alloc_page();

	memset(page, 0xcc, PAGE_SIZE);
	page[0xfff] = 0x90;
	map_page(EDGE_PAGE, (uintptr_t)page, PTE_W);
	install_exception_handler(GP_VECTOR, noncanonical_gp);
	__asm__ __volatile__("call *%0" : : "r"(EDGE_PAGE + 0xfff) : "memory");
	install_exception_handler(GP_VECTOR, NULL);
	OBS("noncanonical", "%lu err=%lx rip=%lx", nc_count, nc_error, nc_rip);
	GUEST_ASSERT_EQ(nc_count, 1);
	GUEST_ASSERT_EQ(nc_rip, 1ul << 47);
	GUEST_ASSERT_EQ(nc_error, 0);
	printf("noncanonical: #GP(0) at 0x%lx\n", nc_rip);
}
#endif

void guest_main(void)
{
	if (test_selected("mbinfo"))
		test_mbinfo();
	else if (test_selected("module"))
		test_module();
	else if (test_selected("fw_cfg"))
		test_fw_cfg();
	else if (test_selected("apic"))
		test_apic();
	else if (test_selected("apic_base"))
		test_apic_base();
	else if (test_selected("msr"))
		test_msr();
	else if (test_selected("msr_cpl3"))
		test_msr_cpl3();
	else if (test_selected("shutdown"))
		test_shutdown();
	else if (test_selected("hlt_msr"))
		test_hlt_before_rdmsr();
	else if (test_selected("cr2"))
		test_cr2();
	else if (test_selected("cr4"))
		test_cr4();
	else if (test_selected("self_ipi"))
		test_self_ipi();
	else if (test_selected("nmi"))
		test_nmi();
	else if (test_selected("apic_timer"))
		test_apic_timer();
#ifdef __x86_64__
	else if (test_selected("noncanonical"))
		test_noncanonical();
#endif
	else
		GUEST_FAIL("unknown test '%s'", cmdline_get("test") ? cmdline_get("test") : "");
	GUEST_DONE();
}

#else /* host */
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

FIXTURE(qk) {
	struct guest_run run;
};

FIXTURE_VARIANT(qk) {
	const char *host;
	enum flavour flavour;
};

FIXTURE_VARIANT_ADD(qk, intel_64) { .host = "intel", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(qk, intel_32) { .host = "intel", .flavour = FLAVOUR_32 };
FIXTURE_VARIANT_ADD(qk, amd_64) { .host = "amd", .flavour = FLAVOUR_64 };
FIXTURE_VARIANT_ADD(qk, amd_32) { .host = "amd", .flavour = FLAVOUR_32 };

FIXTURE_SETUP(qk)
{
	memset(&self->run, 0, sizeof(self->run));
}

FIXTURE_TEARDOWN(qk)
{
	guest_run_free(&self->run);
}

static void run_case(struct __test_metadata *_metadata, FIXTURE_DATA(qk) *self,
		     const FIXTURE_VARIANT(qk) *variant, const char *args, const char *modules,
		     int status)
{
	struct guest_opts o = { .host = variant->host, .args = args, .modules = modules };
	const char *why = variant_unavailable(variant->host);

	if (why)
		SKIP_TEST("%s", why);
	ASSERT_EQ(0, run_guest(variant->flavour, &o, &self->run));
	ASSERT_EQ(status, self->run.status) {
		TH_LOG("%s guest on %s: status %d, %s", FLAVOUR_NAME(variant->flavour),
		       variant->host, self->run.status, self->run.vm->exit_reason);
	}
}

#define PASS GUEST_STATUS(PVHC_EXIT_PASS)

TEST_F(qk, mbinfo)
{
	run_case(_metadata, self, variant, "test=mbinfo mem=64 exact", NULL, PASS);
}

TEST_F(qk, module)
{
	char *path = test_tmpfile("module"), mods[600], args[128];
	const char *word = "pvhc-module-0123456789";
	FILE *f = fopen(path, "w");

	ASSERT_NE(NULL, f);
	fputs(word, f);
	fclose(f);
	snprintf(mods, sizeof(mods), "%s arg1 arg2", path);
	snprintf(args, sizeof(args), "test=module module=%s", word);
	run_case(_metadata, self, variant, args, mods, PASS);
	unlink(path);
	free(path);
}

TEST_F(qk, fw_cfg)
{
	run_case(_metadata, self, variant, "test=fw_cfg mem=64", NULL, PASS);
}

TEST_F(qk, apic)
{
	run_case(_metadata, self, variant, "test=apic", NULL, PASS);
}

/* On the kvm backend IA32_APIC_BASE is KVM's, and pvhc's APIC page never sees it change. */
TEST_F(qk, apic_base)
{
	if (!on_emulated_host())
		SKIP(return, "IA32_APIC_BASE is the real KVM's on the kvm backend");
	run_case(_metadata, self, variant, "test=apic_base", NULL, PASS);
}

TEST_F(qk, msr_rules)
{
	run_case(_metadata, self, variant, "test=msr", NULL, PASS);
}

TEST_F(qk, msr_cpl3)
{
	run_case(_metadata, self, variant, "test=msr_cpl3", NULL, PASS);
}

/* Interrupts, NMIs and the APIC timer: the kvm backend injects none. */
#define SKIP_WITHOUT_INTERRUPTS()						\
	do {									\
		if (!on_emulated_host())					\
			SKIP(return, "kvm backend: pvhc injects no interrupts there (one vCPU, no IPIs)"); \
	} while (0)

TEST_F(qk, self_ipi_on_a_lone_vcpu)
{
	SKIP_WITHOUT_INTERRUPTS();
	run_case(_metadata, self, variant, "test=self_ipi", NULL, PASS);
}

TEST_F(qk, nmi_by_self_ipi)
{
	SKIP_WITHOUT_INTERRUPTS();
	run_case(_metadata, self, variant, "test=nmi", NULL, PASS);
}

TEST_F(qk, apic_timer)
{
	SKIP_WITHOUT_INTERRUPTS();
	run_case(_metadata, self, variant, "test=apic_timer", NULL, PASS);
}

TEST_F(qk, cr4_reserved_bits)
{
	run_case(_metadata, self, variant, "test=cr4", NULL, PASS);
}

TEST_F(qk, cr2_kept_across_msr_stops)
{
	run_case(_metadata, self, variant, "test=cr2", NULL, PASS);
}

TEST_F(qk, shutdown_then_hlt_ends_the_run)
{
	run_case(_metadata, self, variant, "test=shutdown", NULL, PVHC_STATUS_POWEROFF);
}

TEST_F(qk, hlt_before_rdmsr_halts)
{
	run_case(_metadata, self, variant, "test=hlt_msr", NULL, PVHC_STATUS_CRASH);
	EXPECT_NE(NULL, strstr(self->run.vm->exit_reason, "halted"));
}

TEST_F(qk, noncanonical_fetch)
{
	if (variant->flavour != FLAVOUR_64)
		SKIP(return, "the non-canonical hole exists in 64-bit mode only");
	run_case(_metadata, self, variant, "test=noncanonical", NULL, PASS);
}

/*
 * A RDMSR in the very first block a vCPU runs: Unicorn reports every new
 * block except that one. A hand-made image whose entry reads an unknown
 * MSR with no IDT: the #GP escalates to a triple fault at that RIP. If the
 * RDMSR were not trapped, Unicorn would read 0 and the image would report
 * through isa-debug-exit instead.
 */
TEST(first_block_rdmsr_faults)
{
	/* a.out-kludge multiboot header at 1 MiB, code right after it */
	static const uint8_t code[] = {
		0xb9, 0x78, 0x56, 0x34, 0x12,	/* mov $0x12345678, %ecx */
		0x0f, 0x32,			/* rdmsr */
		0x66, 0xba, 0xf4, 0x00,		/* mov $0xf4, %dx */
		0xef,				/* out %eax, %dx */
		0xf4,				/* hlt */
	};
	uint32_t hdr[8] = { 0x1badb002, 1u << 16, 0, 0x100000, 0x100000, 0, 0, 0x100020 };
	uint8_t image[0x20 + sizeof(code)];
	char *path = test_tmpfile("first-block.img");
	const char *args[] = { "run", "--accel", test_accel_name(), "--timeout", "10", path, NULL };
	struct cmd_result r;
	FILE *f;

	if (variant_unavailable(NULL))
		SKIP(return, "%s", variant_unavailable(NULL));
	hdr[2] = -(hdr[0] + hdr[1]);
	memcpy(image, hdr, sizeof(hdr));
	memcpy(image + 0x20, code, sizeof(code));
	f = fopen(path, "wb");
	ASSERT_NE(NULL, f);
	ASSERT_EQ(1, fwrite(image, sizeof(image), 1, f));
	fclose(f);
	ASSERT_EQ(0, run_pvhc(args, &r));
	EXPECT_EQ(PVHC_STATUS_CRASH, r.status) {
		TH_LOG("stderr: %s", r.err);
	}
	EXPECT_NE(NULL, strstr(r.err, "triple fault")) {
		TH_LOG("stderr: %s", r.err);
	}
	if (on_emulated_host())
		EXPECT_NE(NULL, strstr(r.err, "at RIP 0x100025"));
	cmd_result_free(&r);
	unlink(path);
	free(path);
}

TEST_HARNESS_MAIN
#endif
