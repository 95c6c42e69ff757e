// SPDX-License-Identifier: GPL-2.0-only
/*
 * Starting the application processors and giving them work (runtime.h,
 * "SMP"). INIT-SIPI-SIPI is sent as a broadcast to all other CPUs, so the
 * BSP needs no table of CPUs: the APs count themselves as they arrive.
 */
#include "internal.h"

#define AP_STACK_PAGES	4

/* Read by smp_trampoline.S. */
uint32_t ap_cr0, ap_cr3, ap_cr4, ap_efer;
volatile uint32_t ap_next_cpu = 1;
unsigned long ap_stacks[SMP_MAX_CPUS];
extern const char ap_trampoline[], ap_trampoline_end[], ap_tramp_gdt[];

struct cpu_slot {
	uint32_t apic_id;
	void (*volatile fn)(void *);
	void *volatile arg;
};

static struct cpu_slot cpus[SMP_MAX_CPUS];
static volatile uint32_t cpus_up = 1;
static uint8_t cpu_of_apic[256];	/* APIC ID -> CPU number */
static bool smp_started;

/* Console output of several CPUs: one printf at a time, nesting allowed. */
static struct spinlock console_spin;
static volatile int console_owner = -1;

void ap_main(unsigned long n);

void apic_send_ipi(uint32_t dest, uint32_t icr_lo)
{
	apic_write(APIC_ICR_HI, dest << 24);
	apic_write(APIC_ICR_LO, icr_lo);
	while (apic_read(APIC_ICR_LO) & APIC_ICR_BUSY)
		cpu_relax();
}

unsigned int smp_cpus(void)
{
	return cpus_up;
}

unsigned int smp_id(void)
{
	return smp_started ? cpu_of_apic[apic_id() & 0xff] : 0;
}

uint32_t smp_apic_id_of(unsigned int cpu)
{
	return cpus[cpu].apic_id;
}

int console_lock(void)
{
	int me;

	if (!smp_started)
		return 0;
	me = (int)smp_id();
	if (console_owner == me)
		return 0;	/* nested: a fault while printing */
	spin_lock(&console_spin);
	console_owner = me;
	return 1;
}

void console_unlock(int locked)
{
	if (!locked)
		return;
	console_owner = -1;
	spin_unlock(&console_spin);
}

static void wake_handler(struct ex_regs *regs)
{
	apic_eoi();
}

/* Software-enable the local APIC (spurious vector 0xff). */
static void apic_enable(void)
{
	apic_write(APIC_SVR, 0x1ff);
}

static void delay_cycles(uint64_t n)
{
	uint64_t t0 = rdtsc();

	while (rdtsc() - t0 < n)
		cpu_relax();
}

void ap_main(unsigned long n)
{
	struct cpu_slot *c = &cpus[n];
	uint32_t id;

	idt_load();
	apic_enable();
	id = apic_id();
	c->apic_id = id;
	cpu_of_apic[id & 0xff] = (uint8_t)n;
	smp_mb();
	atomic_inc(&cpus_up);
	for (;;) {
		void (*fn)(void *);

		/*
		 * Wait for work with interrupts off except in the STI shadow
		 * before HLT, so that the wake-up IPI cannot slip in between
		 * the check and the halt.
		 */
		cli();
		while (!c->fn)
			__asm__ __volatile__("sti; hlt; cli" : : : "memory");
		sti();
		fn = c->fn;
		fn(c->arg);
		smp_mb();
		c->fn = NULL;
	}
}

unsigned int smp_start_aps(unsigned int expected)
{
	uint8_t *tramp = (uint8_t *)SMP_TRAMPOLINE;
	uint64_t t0;
	unsigned int i;

	if (smp_started)
		guest_panic("smp_start_aps() called twice");
	if (expected > SMP_MAX_CPUS)
		expected = SMP_MAX_CPUS;
	install_exception_handler(SMP_WAKE_VECTOR, wake_handler);
	apic_enable();
	cpus[0].apic_id = apic_id();
	cpu_of_apic[cpus[0].apic_id & 0xff] = 0;
	for (i = 1; i < SMP_MAX_CPUS; i++)
		ap_stacks[i] = (unsigned long)alloc_pages(AP_STACK_PAGES) + AP_STACK_PAGES * PAGE_SIZE;
	memcpy(tramp, ap_trampoline, (size_t)(ap_trampoline_end - ap_trampoline));
	__asm__ __volatile__("sgdt %0" : "=m"(*(tramp + (ap_tramp_gdt - ap_trampoline))));
	ap_cr0 = (uint32_t)read_cr0();
	ap_cr3 = (uint32_t)read_cr3();
	ap_cr4 = (uint32_t)read_cr4();
	ap_efer = cpu_has_nx() ? EFER_NXE : 0;
#ifdef __x86_64__
	ap_efer |= EFER_LME;
#endif
	smp_started = true;
	smp_mb();

	/* SDM vol. 3, 9.4.4.1: INIT, 10 ms, SIPI, 200 us, SIPI. */
	apic_send_ipi(0, APIC_DEST_OTHERS | APIC_DM_INIT | APIC_LEVEL_ASSERT);
	delay_cycles(10 * 1000 * 1000);
	apic_send_ipi(0, APIC_DEST_OTHERS | APIC_DM_STARTUP | (SMP_TRAMPOLINE >> 12));
	delay_cycles(200 * 1000);
	apic_send_ipi(0, APIC_DEST_OTHERS | APIC_DM_STARTUP | (SMP_TRAMPOLINE >> 12));

	t0 = rdtsc();
	while (cpus_up < expected && rdtsc() - t0 < 30000ull * 1000 * 1000)
		cpu_relax();
	return cpus_up;
}

void on_cpu_async(unsigned int cpu, void (*fn)(void *), void *arg)
{
	struct cpu_slot *c = &cpus[cpu];

	if (cpu == 0 || cpu >= cpus_up)
		guest_panic("on_cpu_async: no AP %u", cpu);
	while (c->fn)
		cpu_relax();
	c->arg = arg;
	smp_mb();
	c->fn = fn;
	smp_mb();
	apic_send_ipi(c->apic_id, APIC_DM_FIXED | SMP_WAKE_VECTOR);
}

void on_cpu_wait(unsigned int cpu)
{
	while (cpus[cpu].fn)
		cpu_relax();
}

void on_all_cpus(void (*fn)(void *), void *arg)
{
	unsigned int i;

	for (i = 1; i < cpus_up; i++)
		on_cpu_async(i, fn, arg);
	fn(arg);
	for (i = 1; i < cpus_up; i++)
		on_cpu_wait(i);
}

void smp_barrier(void)
{
	static volatile uint32_t arrived, generation;
	uint32_t gen = generation;

	if (atomic_add_return(&arrived, 1) == cpus_up) {
		arrived = 0;
		smp_mb();
		generation = gen + 1;
		return;
	}
	while (generation == gen)
		cpu_relax();
}
