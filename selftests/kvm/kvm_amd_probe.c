// SPDX-License-Identifier: GPL-2.0-only
/*
 * kvm_amd_probe - measure what a real kvm_amd does with a guest's VMCALL.
 *
 * pvhc's emulated AMD host must behave exactly like KVM on AMD hardware, so
 * this probe records the truth on the real thing: it creates tiny guests on
 * /dev/kvm (flat 32-bit protected mode, and 64-bit long mode with 4-level
 * paging), puts one hypercall instruction in each, and reports what KVM did
 * to the guest's registers, to the instruction bytes and which exception
 * the guest took. Every observed value is printed as a KTAP diagnostic line
 * so that a log of one run is a complete record.
 *
 * It needs a /dev/kvm backed by kvm_amd; scripts/kvm-amd-host.sh provides
 * one (Debian's kernel under QEMU TCG -cpu EPYC). Anything else is a skip
 * (exit 4): notably a PVM /dev/kvm without SVM or VMX, where KVM_RUN of a
 * guest VMCALL never returns, and kvm_intel, where VMCALL is native.
 *
 * Guest layout (one 2 MiB memory slot at GPA 0, identity mapped):
 *   0x1000 GDT, 0x2000 IDT, 0x3000 TSS, 0x4000 exception stubs,
 *   0x5000.. page tables, 0x10000.. code, 0x1e000 user stack top,
 *   0x1f000 kernel stack top, 0x20000 the page mapped at 0x7ffffffff000.
 * The code after a hypercall is "out %al, $0x81", which ends the run; the
 * stub of exception vector v is "out %al, $(0xa0 + v)", so the exit's port
 * names the vector and RAX still holds what the hypercall left in it. RFLAGS
 * has IOPL 3 so that both work at CPL 3 too.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cpuid.h>
#include <dirent.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <linux/kvm.h>

#include <pvhc/hypercall.h>

#ifndef KVM_CAP_DISABLE_QUIRKS2
#define KVM_CAP_DISABLE_QUIRKS2		213
#endif
#ifndef KVM_X86_QUIRK_FIX_HYPERCALL_INSN
#define KVM_X86_QUIRK_FIX_HYPERCALL_INSN	(1 << 5)
#endif

#define KSFT_SKIP	4

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define __printf(a, b)	__attribute__((format(printf, a, b)))
#define __noreturn	__attribute__((noreturn))

/* One KVM_RUN may take this long before the probe calls it hung. */
#ifndef RUN_TIMEOUT_S
#define RUN_TIMEOUT_S	30
#endif

#define MEM_SIZE	0x200000ul
#define GDT_GPA		0x1000ul
#define IDT_GPA		0x2000ul
#define TSS_GPA		0x3000ul
#define STUB_GPA	0x4000ul
#define PML4_GPA	0x5000ul
#define PDPT_GPA	0x6000ul
#define PD_GPA		0x7000ul
#define PT_GPA		0x8000ul
#define PDPT_HI_GPA	0x9000ul
#define PD_HI_GPA	0xa000ul
#define PT_HI_GPA	0xb000ul
#define CODE_GPA	0x10000ul
#define USTACK_TOP	0x1e000ul
#define KSTACK_TOP	0x1f000ul
#define EDGE_GPA	0x20000ul
/* The last canonical page of the lower half. */
#define EDGE_GVA	0x7ffffffff000ull

#define SEL_CODE32	0x08
#define SEL_DATA	0x10
#define SEL_UCODE32	0x1b
#define SEL_UDATA	0x23
#define SEL_CODE64	0x28
#define SEL_UCODE64	0x33
#define SEL_TSS		0x38
#define GDT_LIMIT	(0x48 - 1)

#define PORT_DONE	0x81
#define PORT_VEC0	0xa0
#define NVEC		32

#define RFLAGS_INIT	0x3002ul	/* IOPL 3, reserved bit 1, IF clear */

#define PTE_P		0x1ull
#define PTE_RW		0x2ull
#define PTE_US		0x4ull

#define UD_VECTOR	6
#define GP_VECTOR	13
#define PF_VECTOR	14

enum outcome {
	OUT_RETURNED,	/* reached the "out" after the hypercall */
	OUT_EXCEPTION,	/* reached an exception stub */
	OUT_OTHER,	/* any other exit: described in obs.what */
};

struct tcase {
	const char *name;
	const char *tag;	/* which of the brief's questions, or "" */
	bool lm;		/* long mode (paging on), else flat 32-bit */
	bool compat;		/* long mode with a 32-bit code segment */
	bool user;		/* run at CPL 3 */
	bool quirk_off;		/* KVM_X86_QUIRK_FIX_HYPERCALL_INSN disabled */
	uint8_t op;		/* third opcode byte: 0xc1 VMCALL, 0xd9 VMMCALL */
	uint64_t gva;		/* where the instruction is */
	uint64_t odd_page;	/* long mode: a page whose PTE lacks... */
	uint64_t odd_clear;	/* ...these bits (PTE_RW or PTE_P) */
	uint64_t nr;		/* RAX */

	/* What upstream KVM's source says must happen. */
	enum outcome want;
	uint64_t want_rax;	/* RAX afterwards (also checked on a fault) */
	int want_vec;
	uint32_t want_err;
	uint64_t want_rip;	/* RIP in the exception frame */
	uint64_t want_cr2;	/* checked for #PF */
	uint8_t want_b2;	/* third byte afterwards */
};

struct obs {
	enum outcome how;
	char what[160];
	int vec;
	bool has_err;
	uint64_t err;
	uint64_t rip;		/* frame RIP, or RIP after the "out" */
	uint64_t cs;
	uint64_t rax;
	uint64_t cr2;
	uint8_t bytes[PVHC_HYPERCALL_LEN];
	bool regs_kept;		/* every GPR but RAX as the probe set it */
	char regs_diff[160];
};

struct vm {
	int fd;
	int vcpu;
	struct kvm_run *run;
	size_t run_size;
	uint8_t *mem;
};

static int kvm_fd = -1;
static struct kvm_cpuid2 *supported_cpuid;
static volatile sig_atomic_t run_timed_out;
static int test_num;
static int n_fail;

static void on_alarm(int sig)
{
	/* Only interrupts KVM_RUN (no SA_RESTART): it returns EINTR. */
	run_timed_out = 1;
}

static __printf(1, 2) __noreturn void skip_all(const char *fmt, ...)
{
	va_list ap;

	printf("1..0 # SKIP ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(KSFT_SKIP);
}

static __printf(1, 2) __noreturn void bail_out(const char *fmt, ...)
{
	va_list ap;

	printf("Bail out! ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	exit(1);
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The kvm_* modules loaded besides kvm itself, e.g. " kvm_pvm", or " none". */
static const char *kvm_vendor_modules(void)
{
	static char found[256];
	struct dirent *e;
	DIR *d;

	found[0] = 0;
	d = opendir("/sys/module");
	while (d && (e = readdir(d))) {
		size_t len = strlen(found);

		if (strncmp(e->d_name, "kvm_", 4) != 0 ||
		    len + 1 + strlen(e->d_name) >= sizeof(found))
			continue;
		found[len] = ' ';
		strcpy(found + len + 1, e->d_name);
	}
	if (d)
		closedir(d);
	return found[0] ? found : " none";
}

/*
 * kvm.ko alone provides /dev/kvm but cannot run a guest: a vendor module
 * must be loaded. This machine's own /dev/kvm is PVM (kvm_pvm), which runs
 * no stock guest and never returns from a guest's VMCALL: name what was
 * found so the skip line explains itself.
 */
static void check_host(void)
{
	unsigned int a, b, c, d;
	char vendor[13];
	int fd;

	if (!path_exists("/sys/module/kvm_amd")) {
		if (path_exists("/sys/module/kvm_intel"))
			skip_all("kvm_intel host: VMCALL is native there; %s",
				 "this probe measures kvm_amd (run it under scripts/kvm-amd-host.sh)");
		skip_all("/dev/kvm is not backed by kvm_amd (vendor module:%s): %s",
			 kvm_vendor_modules(),
			 "a guest VMCALL would never return; run this probe under scripts/kvm-amd-host.sh");
	}

	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		skip_all("cannot open /dev/kvm: %s", strerror(errno));
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION)
		skip_all("/dev/kvm speaks API %d, not %d",
			 ioctl(fd, KVM_GET_API_VERSION, 0), KVM_API_VERSION);
	kvm_fd = fd;

	__cpuid(0, a, b, c, d);
	memcpy(vendor, &b, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	vendor[12] = 0;
	printf("# host CPU vendor %s, kvm_amd loaded\n", vendor);
}

static void load_supported_cpuid(void)
{
	int n = 64;

	for (;;) {
		struct kvm_cpuid2 *c;

		c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		if (!c)
			bail_out("out of memory");
		c->nent = n;
		if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) {
			supported_cpuid = c;
			return;
		}
		free(c);
		if (errno != E2BIG || n > 4096)
			bail_out("KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
		n *= 2;
	}
}

static void put64(uint8_t *mem, uint64_t gpa, uint64_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

static void put32(uint8_t *mem, uint64_t gpa, uint32_t v)
{
	memcpy(mem + gpa, &v, sizeof(v));
}

static uint64_t get64(const uint8_t *mem, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, mem + gpa, sizeof(v));
	return v;
}

static uint32_t get32(const uint8_t *mem, uint64_t gpa)
{
	uint32_t v;

	memcpy(&v, mem + gpa, sizeof(v));
	return v;
}

/* Where the guest's linear address lives in guest memory (our mappings). */
static uint64_t gva_to_gpa(uint64_t gva)
{
	if (gva >= EDGE_GVA)
		return EDGE_GPA + (gva - EDGE_GVA);
	return gva;
}

/*
 * Descriptor tables, TSS, exception stubs and (long mode) page tables:
 * everything a CPL 3 guest needs to take an exception into a ring 0 handler.
 * The CPU reads gates and the handler's code segment from memory on delivery,
 * so they must be real even though KVM_SET_SREGS loads the rest directly.
 */
static void build_tables(uint8_t *mem, const struct tcase *t)
{
	uint64_t tss_lo;

	put64(mem, GDT_GPA + SEL_CODE32, 0x00cf9b000000ffffull);
	put64(mem, GDT_GPA + SEL_DATA, 0x00cf93000000ffffull);
	put64(mem, GDT_GPA + (SEL_UCODE32 & ~3), 0x00cffb000000ffffull);
	put64(mem, GDT_GPA + (SEL_UDATA & ~3), 0x00cff3000000ffffull);
	put64(mem, GDT_GPA + SEL_CODE64, 0x00af9b000000ffffull);
	put64(mem, GDT_GPA + (SEL_UCODE64 & ~3), 0x00affb000000ffffull);
	/* Busy TSS, base TSS_GPA, limit 0x67; the upper half (base 63:32) is 0. */
	tss_lo = 0x67 | (TSS_GPA & 0xffffff) << 16 | 0x8bull << 40 |
		 (TSS_GPA >> 24 & 0xff) << 56;
	put64(mem, GDT_GPA + SEL_TSS, tss_lo);

	for (int v = 0; v < NVEC; v++) {
		uint64_t h = STUB_GPA + v * 8;

		/* out %al, $(PORT_VEC0 + v); hlt */
		mem[h] = 0xe6;
		mem[h + 1] = PORT_VEC0 + v;
		mem[h + 2] = 0xf4;
		if (t->lm) {
			/* 64-bit interrupt gate, DPL 0, present. */
			put64(mem, IDT_GPA + v * 16,
			      (h & 0xffff) | (uint64_t)SEL_CODE64 << 16 |
			      0x8e00ull << 32 | (h >> 16 & 0xffff) << 48);
			put64(mem, IDT_GPA + v * 16 + 8, h >> 32);
		} else {
			/* 32-bit interrupt gate, DPL 0, present. */
			put32(mem, IDT_GPA + v * 8, (h & 0xffff) | SEL_CODE32 << 16);
			put32(mem, IDT_GPA + v * 8 + 4, (h & 0xffff0000) | 0x8e00);
		}
	}

	if (t->lm) {
		put64(mem, TSS_GPA + 4, KSTACK_TOP);	/* RSP0 */
	} else {
		put32(mem, TSS_GPA + 4, KSTACK_TOP);	/* ESP0 */
		put32(mem, TSS_GPA + 8, SEL_DATA);	/* SS0 */
	}
	/* I/O map base beyond the limit: no bitmap (IOPL 3 allows all). */
	mem[TSS_GPA + 102] = 0x68;

	if (!t->lm)
		return;

	/* Identity map 0..2 MiB with 4 KiB pages, user accessible. */
	put64(mem, PML4_GPA, PDPT_GPA | PTE_P | PTE_RW | PTE_US);
	put64(mem, PDPT_GPA, PD_GPA | PTE_P | PTE_RW | PTE_US);
	put64(mem, PD_GPA, PT_GPA | PTE_P | PTE_RW | PTE_US);
	for (uint64_t i = 0; i < 512; i++) {
		uint64_t pte = i << 12 | PTE_P | PTE_RW | PTE_US;

		if (t->odd_page && i == t->odd_page >> 12)
			pte &= ~t->odd_clear;
		put64(mem, PT_GPA + i * 8, pte);
	}
	/* EDGE_GVA -> EDGE_GPA: PML4[255], PDPT[511], PD[511], PT[511]. */
	put64(mem, PML4_GPA + 255 * 8, PDPT_HI_GPA | PTE_P | PTE_RW | PTE_US);
	put64(mem, PDPT_HI_GPA + 511 * 8, PD_HI_GPA | PTE_P | PTE_RW | PTE_US);
	put64(mem, PD_HI_GPA + 511 * 8, PT_HI_GPA | PTE_P | PTE_RW | PTE_US);
	put64(mem, PT_HI_GPA + 511 * 8, EDGE_GPA | PTE_P | PTE_RW | PTE_US);
}

static void set_seg(struct kvm_segment *s, uint16_t sel, uint8_t type, bool l)
{
	memset(s, 0, sizeof(*s));
	s->base = 0;
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->dpl = sel & 3;
	s->db = !l;
	s->s = 1;
	s->l = l;
	s->g = 1;
}

static int vm_create(struct vm *vm, const struct tcase *t, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region = { 0 };
	int r;

	memset(vm, 0, sizeof(*vm));
	vm->fd = -1;
	vm->vcpu = -1;
	vm->fd = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		snprintf(err, errlen, "KVM_CREATE_VM: %s", strerror(errno));
		return -errno;
	}
	if (t->quirk_off) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_DISABLE_QUIRKS2,
			.args[0] = KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
		};

		if (ioctl(vm->fd, KVM_ENABLE_CAP, &cap) < 0) {
			snprintf(err, errlen, "KVM_ENABLE_CAP(DISABLE_QUIRKS2): %s",
				 strerror(errno));
			return -errno;
		}
	}
	vm->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED) {
		vm->mem = NULL;
		snprintf(err, errlen, "mmap guest memory: %s", strerror(errno));
		return -errno;
	}
	region.slot = 0;
	region.guest_phys_addr = 0;
	region.memory_size = MEM_SIZE;
	region.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &region) < 0) {
		snprintf(err, errlen, "KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
		return -errno;
	}
	vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0) {
		snprintf(err, errlen, "KVM_CREATE_VCPU: %s", strerror(errno));
		return -errno;
	}
	r = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (r < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %d", r);
		return -EINVAL;
	}
	vm->run_size = r;
	vm->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       vm->vcpu, 0);
	if (vm->run == MAP_FAILED) {
		vm->run = NULL;
		snprintf(err, errlen, "mmap kvm_run: %s", strerror(errno));
		return -errno;
	}
	/* The guest sees the CPU KVM offers, long mode included. */
	if (ioctl(vm->vcpu, KVM_SET_CPUID2, supported_cpuid) < 0) {
		snprintf(err, errlen, "KVM_SET_CPUID2: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

static void vm_destroy(struct vm *vm)
{
	if (vm->run)
		munmap(vm->run, vm->run_size);
	if (vm->mem)
		munmap(vm->mem, MEM_SIZE);
	if (vm->vcpu >= 0)
		close(vm->vcpu);
	if (vm->fd >= 0)
		close(vm->fd);
}

/* Every GPR but RAX gets a distinct value, to see that nothing else moves. */
static void initial_regs(struct kvm_regs *r, const struct tcase *t)
{
	uint64_t fill = t->lm ? 0x0101010101010101ull : 0x01010101ull;

	memset(r, 0, sizeof(*r));
	r->rax = t->nr;
	r->rbx = 0x11 * fill;
	r->rcx = 0x22 * fill;
	r->rdx = 0x33 * fill;
	r->rsi = 0x44 * fill;
	r->rdi = 0x55 * fill;
	r->rbp = 0x66 * fill;
	if (t->lm) {
		r->r8 = 0x88 * fill;
		r->r9 = 0x99 * fill;
		r->r10 = 0xaa * fill;
		r->r11 = 0xbb * fill;
		r->r12 = 0xcc * fill;
		r->r13 = 0xdd * fill;
		r->r14 = 0xee * fill;
		r->r15 = 0x77 * fill;
	}
	r->rsp = t->user ? USTACK_TOP : KSTACK_TOP;
	r->rip = t->gva;
	r->rflags = RFLAGS_INIT;
}

static void compare_regs(struct obs *o, const struct kvm_regs *a,
			 const struct kvm_regs *b)
{
	static const char *const names[] = {
		"rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9",
		"r10", "r11", "r12", "r13", "r14", "r15",
	};
	const uint64_t va[] = {
		a->rbx, a->rcx, a->rdx, a->rsi, a->rdi, a->rbp, a->r8, a->r9,
		a->r10, a->r11, a->r12, a->r13, a->r14, a->r15,
	};
	const uint64_t vb[] = {
		b->rbx, b->rcx, b->rdx, b->rsi, b->rdi, b->rbp, b->r8, b->r9,
		b->r10, b->r11, b->r12, b->r13, b->r14, b->r15,
	};

	o->regs_kept = true;
	o->regs_diff[0] = 0;
	for (size_t i = 0; i < ARRAY_SIZE(va); i++) {
		size_t len = strlen(o->regs_diff);

		if (va[i] == vb[i])
			continue;
		o->regs_kept = false;
		snprintf(o->regs_diff + len, sizeof(o->regs_diff) - len,
			 " %s=%#llx", names[i], (unsigned long long)vb[i]);
	}
}

static bool vector_has_error_code(int v)
{
	return v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 ||
	       v == 29 || v == 30;
}

/* Read the exception frame the CPU pushed for the stub at RSP. */
static void read_frame(struct obs *o, const struct vm *vm,
		       const struct tcase *t, uint64_t rsp)
{
	unsigned int w = t->lm ? 8 : 4;
	uint64_t p = gva_to_gpa(t->lm ? rsp : (uint32_t)rsp);

	if (p + 6 * w > MEM_SIZE) {
		o->how = OUT_OTHER;
		snprintf(o->what, sizeof(o->what),
			 "exception %d with RSP %#llx outside guest memory",
			 o->vec, (unsigned long long)rsp);
		return;
	}
	o->has_err = vector_has_error_code(o->vec);
	if (o->has_err) {
		o->err = t->lm ? get64(vm->mem, p) : get32(vm->mem, p);
		p += w;
	}
	o->rip = t->lm ? get64(vm->mem, p) : get32(vm->mem, p);
	o->cs = t->lm ? get64(vm->mem, p + w) : get32(vm->mem, p + w);
}

static const char *exit_name(uint32_t reason)
{
	switch (reason) {
	case KVM_EXIT_UNKNOWN: return "UNKNOWN";
	case KVM_EXIT_EXCEPTION: return "EXCEPTION";
	case KVM_EXIT_IO: return "IO";
	case KVM_EXIT_HYPERCALL: return "HYPERCALL";
	case KVM_EXIT_DEBUG: return "DEBUG";
	case KVM_EXIT_HLT: return "HLT";
	case KVM_EXIT_MMIO: return "MMIO";
	case KVM_EXIT_SHUTDOWN: return "SHUTDOWN (triple fault)";
	case KVM_EXIT_FAIL_ENTRY: return "FAIL_ENTRY";
	case KVM_EXIT_INTR: return "INTR";
	case KVM_EXIT_INTERNAL_ERROR: return "INTERNAL_ERROR";
	case KVM_EXIT_SYSTEM_EVENT: return "SYSTEM_EVENT";
	default: return "other";
	}
}

/*
 * Build the guest for one case, run it until it reaches the "out" after the
 * hypercall or an exception stub, and record what happened. Returns 0, or
 * -errno when the VM itself could not be set up (err says why).
 */
static int run_case(const struct tcase *t, struct obs *o, char *err, size_t errlen)
{
	struct kvm_regs regs0, regs;
	struct kvm_sregs sregs;
	struct vm vm;
	uint64_t gpa = gva_to_gpa(t->gva);
	int r;

	memset(o, 0, sizeof(*o));
	r = vm_create(&vm, t, err, errlen);
	if (r)
		goto out;

	build_tables(vm.mem, t);
	vm.mem[gpa] = PVHC_VMCALL_B0;
	vm.mem[gpa + 1] = PVHC_VMCALL_B1;
	vm.mem[gpa + 2] = t->op;
	/* out %al, $PORT_DONE, unless the hypercall ends the lower half. */
	if (t->gva + PVHC_HYPERCALL_LEN != 1ull << 47) {
		vm.mem[gpa + 3] = 0xe6;
		vm.mem[gpa + 4] = PORT_DONE;
	}

	if (ioctl(vm.vcpu, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(err, errlen, "KVM_GET_SREGS: %s", strerror(errno));
		r = -errno;
		goto out;
	}
	if (t->lm) {
		if (t->compat)
			set_seg(&sregs.cs, SEL_CODE32, 0xb, false);
		else
			set_seg(&sregs.cs, t->user ? SEL_UCODE64 : SEL_CODE64, 0xb, true);
		sregs.cr0 = 0x80010031;		/* PG WP NE ET PE */
		sregs.cr3 = PML4_GPA;
		sregs.cr4 = 0x20;		/* PAE */
		sregs.efer = 0x500;		/* LMA LME */
	} else {
		set_seg(&sregs.cs, t->user ? SEL_UCODE32 : SEL_CODE32, 0xb, false);
		sregs.cr0 = 0x31;		/* NE ET PE */
		sregs.cr3 = 0;
		sregs.cr4 = 0;
		sregs.efer = 0;
	}
	set_seg(&sregs.ss, t->user ? SEL_UDATA : SEL_DATA, 0x3, false);
	set_seg(&sregs.ds, t->user ? SEL_UDATA : SEL_DATA, 0x3, false);
	sregs.es = sregs.ds;
	sregs.fs = sregs.ds;
	sregs.gs = sregs.ds;
	memset(&sregs.tr, 0, sizeof(sregs.tr));
	sregs.tr.base = TSS_GPA;
	sregs.tr.limit = 0x67;
	sregs.tr.selector = SEL_TSS;
	/*
	 * A busy TSS, as LTR leaves it, in long mode. QEMU's TCG, which plays
	 * the AMD CPU under scripts/kvm-amd-host.sh, aborts the whole emulator
	 * ("invalid tss type") when a 32-bit guest takes an exception from
	 * CPL 3 with a busy TSS in TR: it only accepts the type its own LTR
	 * caches, "available". SVM itself checks neither.
	 */
	sregs.tr.type = t->lm ? 0xb : 0x9;
	sregs.tr.present = 1;
	memset(&sregs.ldt, 0, sizeof(sregs.ldt));
	sregs.ldt.type = 2;
	sregs.ldt.present = 1;
	sregs.ldt.limit = 0xffff;
	sregs.gdt.base = GDT_GPA;
	sregs.gdt.limit = GDT_LIMIT;
	sregs.idt.base = IDT_GPA;
	sregs.idt.limit = t->lm ? NVEC * 16 - 1 : NVEC * 8 - 1;
	if (ioctl(vm.vcpu, KVM_SET_SREGS, &sregs) < 0) {
		snprintf(err, errlen, "KVM_SET_SREGS: %s", strerror(errno));
		r = -errno;
		goto out;
	}
	initial_regs(&regs0, t);
	if (ioctl(vm.vcpu, KVM_SET_REGS, &regs0) < 0) {
		snprintf(err, errlen, "KVM_SET_REGS: %s", strerror(errno));
		r = -errno;
		goto out;
	}

	run_timed_out = 0;
	alarm(RUN_TIMEOUT_S);
	r = ioctl(vm.vcpu, KVM_RUN, 0);
	alarm(0);
	if (r < 0) {
		if (errno == EINTR && run_timed_out)
			snprintf(err, errlen, "KVM_RUN did not return within %d s",
				 RUN_TIMEOUT_S);
		else
			snprintf(err, errlen, "KVM_RUN: %s", strerror(errno));
		r = -errno;
		goto out;
	}
	if (ioctl(vm.vcpu, KVM_GET_REGS, &regs) < 0 ||
	    ioctl(vm.vcpu, KVM_GET_SREGS, &sregs) < 0) {
		snprintf(err, errlen, "KVM_GET_(S)REGS: %s", strerror(errno));
		r = -errno;
		goto out;
	}
	o->rax = regs.rax;
	o->cr2 = sregs.cr2;
	memcpy(o->bytes, vm.mem + gpa, sizeof(o->bytes));
	compare_regs(o, &regs0, &regs);

	/* KVM exits for OUT with RIP still at the OUT: the next instruction. */
	if (vm.run->exit_reason == KVM_EXIT_IO &&
	    vm.run->io.direction == KVM_EXIT_IO_OUT &&
	    vm.run->io.port == PORT_DONE) {
		o->how = OUT_RETURNED;
		o->rip = regs.rip;
	} else if (vm.run->exit_reason == KVM_EXIT_IO &&
		   vm.run->io.direction == KVM_EXIT_IO_OUT &&
		   vm.run->io.port >= PORT_VEC0 &&
		   vm.run->io.port < PORT_VEC0 + NVEC) {
		o->how = OUT_EXCEPTION;
		o->vec = vm.run->io.port - PORT_VEC0;
		read_frame(o, &vm, t, regs.rsp);
	} else {
		o->how = OUT_OTHER;
		if (vm.run->exit_reason == KVM_EXIT_IO)
			snprintf(o->what, sizeof(o->what), "exit IO port %#x",
				 vm.run->io.port);
		else if (vm.run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			snprintf(o->what, sizeof(o->what),
				 "exit INTERNAL_ERROR suberror %u",
				 vm.run->internal.suberror);
		else if (vm.run->exit_reason == KVM_EXIT_FAIL_ENTRY)
			snprintf(o->what, sizeof(o->what), "exit FAIL_ENTRY reason %#llx",
				 (unsigned long long)
				 vm.run->fail_entry.hardware_entry_failure_reason);
		else
			snprintf(o->what, sizeof(o->what), "exit %s (%u)",
				 exit_name(vm.run->exit_reason), vm.run->exit_reason);
		o->rip = regs.rip;
	}
	r = 0;
out:
	vm_destroy(&vm);
	return r;
}

static const char *vec_name(int v)
{
	switch (v) {
	case UD_VECTOR: return "#UD";
	case GP_VECTOR: return "#GP";
	case PF_VECTOR: return "#PF";
	case 8: return "#DF";
	default: return "#?";
	}
}

static void describe(const struct tcase *t, const struct obs *o)
{
	printf("#   observed: ");
	switch (o->how) {
	case OUT_RETURNED:
		printf("returned, RAX=%#llx, next RIP=%#llx",
		       (unsigned long long)o->rax, (unsigned long long)o->rip);
		break;
	case OUT_EXCEPTION:
		printf("%s (vector %d)", vec_name(o->vec), o->vec);
		if (o->has_err)
			printf(" error code %#llx", (unsigned long long)o->err);
		printf(" at RIP=%#llx CS=%#llx, RAX=%#llx",
		       (unsigned long long)o->rip, (unsigned long long)o->cs,
		       (unsigned long long)o->rax);
		if (o->vec == PF_VECTOR)
			printf(", CR2=%#llx", (unsigned long long)o->cr2);
		break;
	case OUT_OTHER:
		printf("%s, RIP=%#llx, RAX=%#llx", o->what,
		       (unsigned long long)o->rip, (unsigned long long)o->rax);
		break;
	}
	printf(", bytes at %#llx now %02x %02x %02x", (unsigned long long)t->gva,
	       o->bytes[0], o->bytes[1], o->bytes[2]);
	if (o->how == OUT_RETURNED)
		printf(", other GPRs %s%s", o->regs_kept ? "kept" : "changed:",
		       o->regs_diff);
	printf("\n");
}

/* Compare with the expectation; on a mismatch say what differs. */
static bool judge(const struct tcase *t, const struct obs *o, char *why, size_t len)
{
	why[0] = 0;
	if (o->how != t->want) {
		snprintf(why, len, "expected %s",
			 t->want == OUT_RETURNED ? "the hypercall to return" :
			 "an exception");
		return false;
	}
	if (o->bytes[0] != PVHC_VMCALL_B0 || o->bytes[1] != PVHC_VMCALL_B1 ||
	    o->bytes[2] != t->want_b2) {
		snprintf(why, len, "expected bytes 0f 01 %02x", t->want_b2);
		return false;
	}
	if (o->rax != t->want_rax) {
		snprintf(why, len, "expected RAX=%#llx",
			 (unsigned long long)t->want_rax);
		return false;
	}
	if (t->want == OUT_RETURNED) {
		if (o->rip != t->gva + PVHC_HYPERCALL_LEN) {
			snprintf(why, len, "expected to continue at %#llx",
				 (unsigned long long)t->gva + PVHC_HYPERCALL_LEN);
			return false;
		}
		if (!o->regs_kept) {
			snprintf(why, len, "expected other GPRs unchanged");
			return false;
		}
		return true;
	}
	if (o->vec != t->want_vec || (o->has_err && o->err != t->want_err) ||
	    o->rip != t->want_rip) {
		snprintf(why, len, "expected %s (vector %d) error %#x at RIP=%#llx",
			 vec_name(t->want_vec), t->want_vec, t->want_err,
			 (unsigned long long)t->want_rip);
		return false;
	}
	if (o->vec == PF_VECTOR && o->cr2 != t->want_cr2) {
		snprintf(why, len, "expected CR2=%#llx", (unsigned long long)t->want_cr2);
		return false;
	}
	return true;
}

/* -n as the guest's RAX holds it: truncated to 32 bits outside long mode. */
#define NEG(lm, n)	((lm) ? (uint64_t)-(int64_t)(n) : (uint64_t)(uint32_t)-(n))

#define NR_UNKNOWN	PVHC_HC_NOP	/* pvhc's own number: KVM lacks it */
#define NR_HI		(1ull << 32 | KVM_HC_VAPIC_POLL_IRQ)
#define VMCALL		PVHC_VMCALL_B2
#define VMMCALL		PVHC_VMMCALL_B2
#define SITE		(CODE_GPA + 0x100)
#define PAGE_END	(CODE_GPA + 0x1000)	/* 0x11000 */

#define RETURNS(_rax, _b2) \
	.want = OUT_RETURNED, .want_rax = (_rax), .want_b2 = (_b2)
#define FAULTS(_vec, _err, _rip, _rax, _b2) \
	.want = OUT_EXCEPTION, .want_vec = (_vec), .want_err = (_err), \
	.want_rip = (_rip), .want_rax = (_rax), .want_b2 = (_b2)

/* The same questions in flat 32-bit protected mode and in long mode. */
#define MODE_CASES(_p, _lm) \
	{ _p " vmmcall (native), unknown nr: returns -KVM_ENOSYS, bytes kept", "", \
	  .lm = _lm, .op = VMMCALL, .gva = SITE, .nr = NR_UNKNOWN, \
	  RETURNS(NEG(_lm, KVM_ENOSYS), VMMCALL) }, \
	{ _p " vmcall, unknown nr, quirk on: patched to vmmcall, -KVM_ENOSYS", "a", \
	  .lm = _lm, .op = VMCALL, .gva = SITE, .nr = NR_UNKNOWN, \
	  RETURNS(NEG(_lm, KVM_ENOSYS), VMMCALL) }, \
	{ _p " vmcall, KVM_HC_VAPIC_POLL_IRQ, quirk on: patched, returns 0", "a", \
	  .lm = _lm, .op = VMCALL, .gva = SITE, .nr = KVM_HC_VAPIC_POLL_IRQ, \
	  RETURNS(0, VMMCALL) }, \
	{ _p " vmcall, quirk off: #UD, bytes kept", "b", \
	  .lm = _lm, .quirk_off = true, .op = VMCALL, .gva = SITE, .nr = NR_UNKNOWN, \
	  FAULTS(UD_VECTOR, 0, SITE, NR_UNKNOWN, VMCALL) }, \
	{ _p " vmcall at CPL 3: #GP(0), bytes kept", "c", \
	  .lm = _lm, .user = true, .op = VMCALL, .gva = SITE, .nr = NR_UNKNOWN, \
	  FAULTS(GP_VECTOR, 0, SITE, NR_UNKNOWN, VMCALL) }, \
	{ _p " vmmcall at CPL 3: returns -KVM_EPERM", "", \
	  .lm = _lm, .user = true, .op = VMMCALL, .gva = SITE, .nr = NR_UNKNOWN, \
	  RETURNS(NEG(_lm, KVM_EPERM), VMMCALL) }, \
	{ _p " vmcall straddling two pages (2+1 bytes): patched, returns", "d", \
	  .lm = _lm, .op = VMCALL, .gva = PAGE_END - 2, .nr = NR_UNKNOWN, \
	  RETURNS(NEG(_lm, KVM_ENOSYS), VMMCALL) }, \
	{ _p " vmcall straddling two pages (1+2 bytes): patched, returns", "d", \
	  .lm = _lm, .op = VMCALL, .gva = PAGE_END - 1, .nr = NR_UNKNOWN, \
	  RETURNS(NEG(_lm, KVM_ENOSYS), VMMCALL) }

static const struct tcase cases[] = {
	MODE_CASES("pm32:", false),
	MODE_CASES("lm64:", true),
	{ "lm64: vmcall at 0x7ffffffffffd: returns, then #GP(0) at 0x800000000000", "e",
	  .lm = true, .op = VMCALL, .gva = EDGE_GVA + 0xffd, .nr = NR_UNKNOWN,
	  FAULTS(GP_VECTOR, 0, 0x800000000000ull, NEG(true, KVM_ENOSYS), VMMCALL) },
	/*
	 * Upstream writes the patch through the guest's page tables with a
	 * write access check: read-only guest text (CR0.WP=1) gets a #PF
	 * with error code P|W, and the guest never gets its hypercall.
	 */
	{ "lm64: vmcall in a read-only page (CR0.WP=1): #PF(P|W), not patched", "",
	  .lm = true, .op = VMCALL, .gva = 0x13100,
	  .odd_page = 0x13000, .odd_clear = PTE_RW,
	  .nr = NR_UNKNOWN, .want_cr2 = 0x13100,
	  FAULTS(PF_VECTOR, 0x3, 0x13100, NR_UNKNOWN, VMCALL) },
	/* The first piece is written, then the second page faults. */
	{ "lm64: vmcall straddling into a read-only page: #PF at the second page", "",
	  .lm = true, .op = VMCALL, .gva = 0x12ffe,
	  .odd_page = 0x13000, .odd_clear = PTE_RW,
	  .nr = NR_UNKNOWN, .want_cr2 = 0x13000,
	  FAULTS(PF_VECTOR, 0x3, 0x12ffe, NR_UNKNOWN, VMCALL) },
	/*
	 * The CPU, not KVM: fetching the 3 bytes faults before any #UD. The
	 * error code has no I/D bit because EFER.NXE is clear.
	 */
	{ "lm64: vmcall straddling into a not-present page: #PF(0) on the fetch", "",
	  .lm = true, .op = VMCALL, .gva = 0x12ffe,
	  .odd_page = 0x13000, .odd_clear = PTE_P,
	  .nr = NR_UNKNOWN, .want_cr2 = 0x13000,
	  FAULTS(PF_VECTOR, 0, 0x12ffe, NR_UNKNOWN, VMCALL) },
	/*
	 * Outside 64-bit mode KVM uses the low 32 bits of nr and the
	 * arguments, and truncates the result; compatibility mode counts as
	 * outside. NR_HI has KVM_HC_VAPIC_POLL_IRQ in its low half.
	 */
	{ "pm32: vmmcall, nr 0x100000001: masked to KVM_HC_VAPIC_POLL_IRQ, returns 0", "",
	  .op = VMMCALL, .gva = SITE, .nr = NR_HI, RETURNS(0, VMMCALL) },
	{ "compat: vmmcall, nr 0x100000001: masked to KVM_HC_VAPIC_POLL_IRQ, returns 0", "",
	  .lm = true, .compat = true, .op = VMMCALL, .gva = SITE, .nr = NR_HI,
	  RETURNS(0, VMMCALL) },
	{ "compat: vmcall, unknown nr, quirk on: patched, -KVM_ENOSYS in 32 bits", "",
	  .lm = true, .compat = true, .op = VMCALL, .gva = SITE, .nr = NR_UNKNOWN,
	  RETURNS(NEG(false, KVM_ENOSYS), VMMCALL) },
	{ "lm64: vmmcall, nr 0x100000001: not masked, -KVM_ENOSYS", "",
	  .lm = true, .op = VMMCALL, .gva = SITE, .nr = NR_HI,
	  RETURNS(NEG(true, KVM_ENOSYS), VMMCALL) },
};

static void report(bool ok, const char *name, const char *skip)
{
	test_num++;
	if (skip)
		printf("ok %d %s # SKIP %s\n", test_num, name, skip);
	else
		printf("%sok %d %s\n", ok ? "" : "not ", test_num, name);
	if (!ok && !skip)
		n_fail++;
	fflush(stdout);
}

int main(void)
{
	const size_t n = ARRAY_SIZE(cases);
	struct sigaction sa = { .sa_handler = on_alarm };
	struct utsname u;
	int quirks;

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("TAP version 13\n");
	check_host();
	if (uname(&u) == 0)
		printf("# kernel %s %s\n", u.release, u.version);

	/* No SA_RESTART: a hung KVM_RUN returns EINTR instead of hanging. */
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		bail_out("sigaction: %s", strerror(errno));
	load_supported_cpuid();
	quirks = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_DISABLE_QUIRKS2);
	printf("# KVM_CAP_DISABLE_QUIRKS2 = %#x\n", quirks < 0 ? 0 : quirks);

	printf("1..%zu\n", n);
	for (size_t i = 0; i < n; i++) {
		const struct tcase *t = &cases[i];
		char err[200], why[200];
		struct obs o;

		if (t->quirk_off && !(quirks > 0 &&
				      (quirks & KVM_X86_QUIRK_FIX_HYPERCALL_INSN))) {
			report(true, t->name,
			       "KVM cannot disable KVM_X86_QUIRK_FIX_HYPERCALL_INSN");
			continue;
		}
		err[0] = 0;
		if (run_case(t, &o, err, sizeof(err)) < 0) {
			printf("#   %s\n", err);
			report(false, t->name, NULL);
			/* A hung guest means this KVM cannot run any of them. */
			if (run_timed_out)
				bail_out("KVM_RUN hangs on this host");
			continue;
		}
		if (t->tag[0])
			printf("# (%s) %s\n", t->tag, t->name);
		else
			printf("# %s\n", t->name);
		describe(t, &o);
		if (!judge(t, &o, why, sizeof(why)))
			printf("#   mismatch: %s\n", why);
		report(why[0] == 0, t->name, NULL);
	}
	printf("# %d failed of %zu\n", n_fail, n);
	return n_fail ? 1 : 0;
}
