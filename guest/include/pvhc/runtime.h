/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pvhc payload runtime: what a freestanding test guest links against.
 *
 * A payload is a multiboot (v1) image loaded at 1 MiB, bootable by
 * `pvhc run` and by `qemu-system-x86_64 -kernel` alike. It comes in two
 * flavours built from the same sources: 64-bit (long mode) and 32-bit
 * (protected mode with PAE paging). The runtime sets up the GDT/TSS, an IDT
 * whose 256 vectors all reach C, page tables, the COM1 console and a page
 * allocator, then calls the payload's guest_main(). Returning from
 * guest_main() ends the VM with PVHC_EXIT_PASS.
 *
 * Memory map (physical == virtual unless a test maps otherwise):
 *   0x00000000-0x00000fff  not mapped (catches NULL); real_mode_call() puts
 *                          its IVT here with paging off
 *   0x00007000-0x00008fff  real_mode_call() stack and trampoline (32-bit)
 *   0x00100000-_end        the image: code, data, stacks, GDT, IDT, tables
 *   after image/modules    page pool for alloc_page(), up to RAM or 1 GiB
 * Virtual: 0-1 GiB and 0xfe000000-0xffffffff (local APIC, I/O APIC, UC)
 * are identity-mapped with U=1 and W=1; everything else is free for
 * map_page(). The runtime runs on the boot CPU with interrupts disabled
 * until a test starts the others (smp_start_aps(), "SMP" below; their
 * trampoline is at SMP_TRAMPOLINE, 0x6000).
 *
 * Everything here is usable from the 32-bit flavour too, except where marked;
 * register-sized values (struct ex_regs, unsigned long) are 32 bits there.
 */
#ifndef _PVHC_RUNTIME_H
#define _PVHC_RUNTIME_H

#include <pvhc/hypercall.h>	/* numbers only: also for assembly */
#include <pvhc/ports.h>

/* GDT selectors, identical in both flavours (assembly uses them too). */
#define KERNEL_CS64	0x08	/* 64-bit code, DPL 0 */
#define KERNEL_DS	0x10	/* flat data, DPL 0 */
#define KERNEL_CS32	0x18	/* flat 32-bit code, DPL 0 (compatibility mode in 64) */
#define USER_CS32	0x23	/* flat 32-bit code, DPL 3, RPL 3 */
#define USER_DS		0x2b	/* flat data, DPL 3, RPL 3 */
#define USER_CS64	0x33	/* 64-bit code, DPL 3, RPL 3 */
#define KERNEL_CS16	0x38	/* 16-bit code, base 0, limit 64 KiB: leaving for real mode */
#define KERNEL_DS16	0x40	/* 16-bit data, base 0, limit 64 KiB */
#define TSS_SEL		0x48	/* the TSS (two slots in 64-bit mode) */
#define DF_TSS_SEL	0x58	/* 32-bit only: the #DF task */

#ifdef __x86_64__
#define KERNEL_CS	KERNEL_CS64
#define USER_CS		USER_CS64
#else
#define KERNEL_CS	KERNEL_CS32
#define USER_CS		USER_CS32
#endif

/* Exception vectors. */
#define DE_VECTOR	0
#define DB_VECTOR	1
#define NMI_VECTOR	2
#define BP_VECTOR	3
#define UD_VECTOR	6
#define NM_VECTOR	7
#define DF_VECTOR	8
#define TS_VECTOR	10
#define NP_VECTOR	11
#define SS_VECTOR	12
#define GP_VECTOR	13
#define PF_VECTOR	14
#define MF_VECTOR	16
#define AC_VECTOR	17
#define MC_VECTOR	18
/*
 * A DPL-3 gate that run_in_user_mode() uses to come back to CPL 0; it is
 * not an exception vector, and install_exception_handler() refuses it.
 */
#define USER_RETURN_VECTOR	0x7f

#define PAGE_SHIFT	12
#define PAGE_SIZE	4096

#ifdef __ASSEMBLER__
#define __PVHC_U(x)	x
#else
#define __PVHC_U(x)	x##u
#endif

/*
 * map_page() flags. The low ones are the hardware PTE bits themselves;
 * PTE_NX stands for the execute-disable bit 63 (PTE_NX_BIT in a raw entry),
 * so that flags fit the unsigned int of map_page().
 */
#define PTE_P		(__PVHC_U(1) << 0)
#define PTE_W		(__PVHC_U(1) << 1)
#define PTE_U		(__PVHC_U(1) << 2)
#define PTE_PWT		(__PVHC_U(1) << 3)
#define PTE_PCD		(__PVHC_U(1) << 4)
#define PTE_A		(__PVHC_U(1) << 5)
#define PTE_D		(__PVHC_U(1) << 6)
#define PTE_PS		(__PVHC_U(1) << 7)
#define PTE_G		(__PVHC_U(1) << 8)
#define PTE_NX		(__PVHC_U(1) << 31)

#ifndef __ASSEMBLER__

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pvhc/kvm_hypercall.h>

/* printf length modifiers for uint64_t: long in one flavour, long long in the other. */
#ifdef __x86_64__
#define PRIx64 "lx"
#define PRIu64 "lu"
#define PRId64 "ld"
#else
#define PRIx64 "llx"
#define PRIu64 "llu"
#define PRId64 "lld"
#endif

#define __pvhc_printf(a, b)	__attribute__((__format__(__printf__, a, b)))

/* ---- Entry and exit -------------------------------------------------- */

/* Written by the payload: called once the runtime is up. */
void guest_main(void);

/*
 * End the VM: a 32-bit write of value to isa-debug-exit (process status
 * value << 1 | 1, see PVHC_EXIT_*). Without that device, "Shutdown" to
 * port 0x8900, then halt forever.
 */
_Noreturn void guest_exit(int value);

/* Print "pvhc runtime: <message>" and exit with PVHC_EXIT_FAIL. */
_Noreturn void guest_panic(const char *fmt, ...) __pvhc_printf(1, 2);

_Noreturn void __guest_assert_fail(const char *file, int line, const char *expr);
_Noreturn void __guest_assert_eq_fail(const char *file, int line, const char *expr,
				      uint64_t a, uint64_t b);
_Noreturn void __guest_exit_msg(int value, const char *fmt, ...) __pvhc_printf(2, 3);

/* On failure: "GUEST_ASSERT failed at FILE:LINE: EXPR", exit FAIL. */
#define GUEST_ASSERT(cond)							\
	do {									\
		if (!(cond))							\
			__guest_assert_fail(__FILE__, __LINE__, #cond);		\
	} while (0)

/*
 * Integers of up to 64 bits, each evaluated once and compared as uint64_t
 * (so a pointer needs a (uintptr_t) cast). On failure also prints both
 * values in hex.
 */
#define GUEST_ASSERT_EQ(a, b)							\
	do {									\
		uint64_t __ga_a = (uint64_t)(a), __ga_b = (uint64_t)(b);	\
										\
		if (__ga_a != __ga_b)						\
			__guest_assert_eq_fail(__FILE__, __LINE__, #a " == " #b,	\
					       __ga_a, __ga_b);			\
	} while (0)

#define GUEST_DONE()	guest_exit(PVHC_EXIT_PASS)
/* Print "SKIP: <reason>" (or "FAIL: <reason>") and exit with that status. */
#define GUEST_SKIP(...)	__guest_exit_msg(PVHC_EXIT_SKIP, __VA_ARGS__)
#define GUEST_FAIL(...)	__guest_exit_msg(PVHC_EXIT_FAIL, __VA_ARGS__)

/* ---- Console (COM1, polled) ------------------------------------------ */

int printf(const char *fmt, ...) __pvhc_printf(1, 2);
int vprintf(const char *fmt, va_list ap) __pvhc_printf(1, 0);
int snprintf(char *buf, size_t size, const char *fmt, ...) __pvhc_printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) __pvhc_printf(3, 0);
int puts(const char *s);	/* appends "\n", like libc */
int putchar(int c);

/* ---- Strings (the compiler may emit calls to these, too) -------------- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);

/* ---- Exceptions ------------------------------------------------------- */

/*
 * The interrupted context as the exception stubs saved it. A handler may
 * change any field; the stub returns with the changed values (rip to resume
 * elsewhere, rax for a result, ...). vector and error_code are inputs only;
 * the error code is 0 for vectors where the CPU pushes none.
 *
 * 32-bit flavour: a handler returning to CPL 0 may move rsp up (e.g. to
 * emulate a ret) but not down, and ss is ignored there; when returning to
 * CPL 3 all fields are used.
 */
struct ex_regs {
	unsigned long rax, rbx, rcx, rdx, rsi, rdi, rbp;
#ifdef __x86_64__
	unsigned long r8, r9, r10, r11, r12, r13, r14, r15;
#endif
	unsigned long vector;
	unsigned long error_code;
	unsigned long rip;
	unsigned long cs;
	unsigned long rflags;
	unsigned long rsp;
	unsigned long ss;
};

typedef void (*ex_handler_t)(struct ex_regs *regs);

/*
 * Route a vector to fn (NULL: back to the default). Default: print
 * "Unhandled exception: vector N (#XX) at RIP 0x... error 0x..." and exit
 * FAIL; for #UD on a hypercall instruction print "no KVM hypervisor:
 * hypercall at RIP 0x... raised #UD" and exit SKIP instead.
 */
void install_exception_handler(int vector, ex_handler_t fn);

/* The mnemonic of an exception vector ("#UD"), or "INT" above 31. */
const char *exception_name(unsigned int vector);

/* ---- Paging ----------------------------------------------------------- */

/* Raw page-table entries (get_pte()): bit 63 and the address field. */
#define PTE_NX_BIT	(1ull << 63)
#define PTE_ADDR_MASK	0x000ffffffffff000ull

/*
 * Map the 4 KiB page at va to pa with flags (PTE_W, PTE_U, PTE_NX, PTE_PCD,
 * ...; present is implied). Missing tables are allocated, a large page
 * covering va is split into 4 KiB pages first, and the TLB is flushed.
 * 64-bit: any canonical va; 32-bit: va below 4 GiB. A bad va, or PTE_NX on
 * a CPU without NX, ends the test (guest_panic).
 */
void map_page(uint64_t va, uint64_t pa, unsigned int flags);
/* Make va not present (splitting a large page if needed). */
void unmap_page(uint64_t va);
/*
 * The 4 KiB-level entry for va after splitting any large page over it, or
 * NULL if no table reaches va. Call flush_tlb_page(va) after changing it.
 */
uint64_t *get_pte(uint64_t va);
/* The physical address va maps to, or (uint64_t)-1 if not mapped. */
uint64_t virt_to_phys(uint64_t va);
/* Whether the CPU supports NX (and the runtime enabled EFER.NXE). */
bool cpu_has_nx(void);

/* Zeroed, page-aligned, identity-mapped (so also its physical address). */
void *alloc_page(void);
/* n contiguous pages, zeroed. */
void *alloc_pages(unsigned int n);
void free_page(void *page);

/* ---- Privilege and modes ---------------------------------------------- */

/*
 * Run fn(arg) at CPL 3 on a fresh user stack and return its result at CPL 0.
 * The user code may use COM1 and the exit ports (TSS I/O bitmap) but not
 * cli/sti/hlt. Exceptions at CPL 3 reach the installed handlers.
 */
long run_in_user_mode(long (*fn)(void *), void *arg);

/* Registers for a hypercall executed in another mode; stored back afterwards. */
struct hc_regs {
	uint64_t rax, rbx, rcx, rdx, rsi;
};

#ifdef __x86_64__
/*
 * Load all five full 64-bit registers in 64-bit mode, far-jump to a 32-bit
 * CPL 0 code segment (compatibility mode) without touching them, execute
 * VMCALL there, come back to 64-bit mode and store the five registers back.
 * A #UD at the VMCALL reaches the installed handler with cs == KERNEL_CS32.
 */
void compat_mode_vmcall(struct hc_regs *r);
/* Address of that VMCALL (for handlers and checks). */
extern const char compat_vmcall_insn[];
#else
/* Longest blob real_mode_call() accepts. */
#define REAL_MODE_CODE_MAX	1024

/*
 * Drop to real mode (CS=DS=ES=SS=0, IF=0), load EAX, EBX, ECX, EDX, ESI
 * from r (low 32 bits), near-call a copy of code16 (a ret is appended),
 * store the five registers back into r (zero-extended) and return to
 * protected mode with paging and the IDT restored. In real mode, a #UD is
 * recorded and skips PVHC_HYPERCALL_LEN bytes (so only a hypercall should
 * raise it); any other exception ends the test. Returns the number of #UD
 * taken.
 */
int real_mode_call(const void *code16, unsigned int len, struct hc_regs *r);
/* real_mode_call() on the three VMCALL bytes. */
int real_mode_vmcall(struct hc_regs *r);
#endif

/* ---- Boot information --------------------------------------------------- */

#define MULTIBOOT_INFO_MEMORY		(1u << 0)
#define MULTIBOOT_INFO_BOOTDEV		(1u << 1)
#define MULTIBOOT_INFO_CMDLINE		(1u << 2)
#define MULTIBOOT_INFO_MODS		(1u << 3)
#define MULTIBOOT_INFO_AOUT_SYMS	(1u << 4)
#define MULTIBOOT_INFO_ELF_SHDR		(1u << 5)
#define MULTIBOOT_INFO_MEM_MAP		(1u << 6)
#define MULTIBOOT_INFO_DRIVE_INFO	(1u << 7)
#define MULTIBOOT_INFO_CONFIG_TABLE	(1u << 8)
#define MULTIBOOT_INFO_BOOT_LOADER_NAME	(1u << 9)
#define MULTIBOOT_INFO_APM_TABLE	(1u << 10)
#define MULTIBOOT_INFO_VBE_INFO		(1u << 11)
#define MULTIBOOT_INFO_FRAMEBUFFER	(1u << 12)

#define MULTIBOOT_MEMORY_AVAILABLE	1

/* Multiboot v1 information; addresses are physical (= identity-mapped). */
struct multiboot_info {
	uint32_t flags;
	uint32_t mem_lower;		/* KiB below 1 MiB */
	uint32_t mem_upper;		/* KiB from 1 MiB up to the first hole */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count;
	uint32_t mods_addr;		/* struct multiboot_mod[mods_count] */
	uint32_t syms[4];
	uint32_t mmap_length;
	uint32_t mmap_addr;		/* struct multiboot_mmap_entry, variable size */
	uint32_t drives_length;
	uint32_t drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info;
	uint32_t vbe_mode_info;
	uint16_t vbe_mode;
	uint16_t vbe_interface_seg;
	uint16_t vbe_interface_off;
	uint16_t vbe_interface_len;
	uint64_t framebuffer_addr;
	uint32_t framebuffer_pitch;
	uint32_t framebuffer_width;
	uint32_t framebuffer_height;
	uint8_t framebuffer_bpp;
	uint8_t framebuffer_type;
	uint8_t color_info[6];
} __attribute__((__packed__));

struct multiboot_mod {
	uint32_t mod_start;
	uint32_t mod_end;		/* exclusive */
	uint32_t string;
	uint32_t reserved;
} __attribute__((__packed__));

/* size counts the bytes after itself; the next entry is at addr + size + 4. */
struct multiboot_mmap_entry {
	uint32_t size;
	uint64_t addr;
	uint64_t len;
	uint32_t type;
} __attribute__((__packed__));

/*
 * The loader's information, copied at boot into the runtime's own memory
 * (so the loader's copy may be reused). Present: memory, boot device,
 * command line, modules, memory map and loader name, as the flags say.
 */
extern const struct multiboot_info *boot_info;

/* The command line ("" without one) and its space-separated words. */
extern const char *boot_cmdline;
extern int boot_argc;
extern const char *const *boot_argv;
/*
 * The value of the word "key=value", "" for a bare "key", NULL if absent
 * (the last occurrence wins).
 */
const char *cmdline_get(const char *key);
/* The decimal number in "key=N", or def if key is absent or not a number. */
unsigned long cmdline_ulong(const char *key, unsigned long def);

/* ---- CPU helpers ---------------------------------------------------------- */

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ __volatile__("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ __volatile__("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ __volatile__("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ __volatile__("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ __volatile__("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline unsigned long read_cr0(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%cr0, %0" : "=r"(v));
	return v;
}

static inline unsigned long read_cr2(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%cr2, %0" : "=r"(v));
	return v;
}

static inline unsigned long read_cr3(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%cr3, %0" : "=r"(v));
	return v;
}

static inline void write_cr3(unsigned long v)
{
	__asm__ __volatile__("mov %0, %%cr3" : : "r"(v) : "memory");
}

static inline unsigned long read_cr4(void)
{
	unsigned long v;

	__asm__ __volatile__("mov %%cr4, %0" : "=r"(v));
	return v;
}

static inline uint64_t rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return ((uint64_t)hi << 32) | lo;
}

static inline void wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ __volatile__("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))
			     : "memory");
}

static inline uint16_t read_cs(void)
{
	uint16_t v;

	__asm__ __volatile__("mov %%cs, %0" : "=r"(v));
	return v;
}

static inline void flush_tlb_page(uint64_t va)
{
	__asm__ __volatile__("invlpg (%0)" : : "r"((unsigned long)va) : "memory");
}

static inline void cli(void)
{
	__asm__ __volatile__("cli" : : : "memory");
}

static inline void sti(void)
{
	__asm__ __volatile__("sti" : : : "memory");
}

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

/* ---- SMP ------------------------------------------------------------------ */

/*
 * Application processors are started the way hardware starts them: the boot
 * CPU (BSP) writes a real-mode trampoline at SMP_TRAMPOLINE, then sends
 * INIT and two SIPIs to all other CPUs through its local APIC's ICR. Each AP
 * comes up on the BSP's GDT, IDT and page tables with its own stack, and
 * waits (halted, interrupts on) for work from on_cpu(). The same image
 * brings up its CPUs under `pvhc run --vcpus N` and `qemu -smp N`.
 *
 * APs have no TSS: no run_in_user_mode(), real_mode_call() or #DF handling
 * (a #DF there is a triple fault). CPU numbers are dense: 0 is the BSP, APs
 * are numbered in the order they arrive.
 */
#define SMP_MAX_CPUS		64
#define SMP_TRAMPOLINE		0x6000	/* SIPI vector 0x06 */
#define SMP_WAKE_VECTOR		0xf1	/* the IPI that wakes an idle AP */

#define APIC_DEFAULT_BASE	0xfee00000ul
#define APIC_ID			0x020
#define APIC_EOI		0x0b0
#define APIC_SVR		0x0f0
#define APIC_ICR_LO		0x300
#define APIC_ICR_HI		0x310
#define APIC_ICR_BUSY		(1u << 12)
#define APIC_DM_FIXED		0x000
#define APIC_DM_INIT		0x500
#define APIC_DM_STARTUP		0x600
#define APIC_LEVEL_ASSERT	0x4000
#define APIC_DEST_SELF		0x40000
#define APIC_DEST_ALL		0x80000
#define APIC_DEST_OTHERS	0xc0000

static inline uint32_t apic_read(uint32_t reg)
{
	return *(volatile uint32_t *)(APIC_DEFAULT_BASE + reg);
}

static inline void apic_write(uint32_t reg, uint32_t v)
{
	*(volatile uint32_t *)(APIC_DEFAULT_BASE + reg) = v;
}

static inline uint32_t apic_id(void)
{
	return apic_read(APIC_ID) >> 24;
}

/* Send an IPI: icr_lo (mode, vector, shorthand) to the APIC ID dest; waits until sent. */
void apic_send_ipi(uint32_t dest, uint32_t icr_lo);
static inline void apic_eoi(void)
{
	apic_write(APIC_EOI, 0);
}

/*
 * Start the APs and wait until `expected` CPUs in all (BSP included) are up,
 * or 3e10 TSC ticks (about 10 s) passed: 64 vCPUs of an emulator built with
 * sanitizers need seconds. Returns how many are up. Call once.
 */
unsigned int smp_start_aps(unsigned int expected);
/* CPUs up (1 before smp_start_aps()). */
unsigned int smp_cpus(void);
/* This CPU's number, 0..smp_cpus()-1. */
unsigned int smp_id(void);
/* The APIC ID of CPU cpu. */
uint32_t smp_apic_id_of(unsigned int cpu);
/* Run fn(arg) on AP cpu (asynchronously); it must be idle. */
void on_cpu_async(unsigned int cpu, void (*fn)(void *), void *arg);
/* Wait until AP cpu has finished what on_cpu_async() gave it. */
void on_cpu_wait(unsigned int cpu);
/* fn(arg) on every CPU, the BSP included, and wait for all. */
void on_all_cpus(void (*fn)(void *), void *arg);

static inline void smp_mb(void)
{
	__asm__ __volatile__("mfence" : : : "memory");
}

static inline void cpu_relax(void)
{
	__asm__ __volatile__("pause" : : : "memory");
}

static inline uint32_t atomic_add_return(volatile uint32_t *p, uint32_t v)
{
	uint32_t old = v;

	__asm__ __volatile__("lock xaddl %0, %1" : "+r"(old), "+m"(*p) : : "memory");
	return old + v;
}

static inline void atomic_inc(volatile uint32_t *p)
{
	__asm__ __volatile__("lock incl %0" : "+m"(*p) : : "memory");
}

struct spinlock {
	volatile uint32_t locked;
};

static inline void spin_lock(struct spinlock *l)
{
	uint32_t one = 1;

	for (;;) {
		__asm__ __volatile__("xchgl %0, %1" : "+r"(one), "+m"(l->locked) : : "memory");
		if (!one)
			return;
		one = 1;
		while (l->locked)
			cpu_relax();
	}
}

static inline void spin_unlock(struct spinlock *l)
{
	__asm__ __volatile__("" : : : "memory");
	l->locked = 0;
}

/* All smp_cpus() CPUs wait here until the last one arrives (reusable). */
void smp_barrier(void);

#endif /* !__ASSEMBLER__ */
#endif /* _PVHC_RUNTIME_H */
