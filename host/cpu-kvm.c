// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "kvm" backend: a real /dev/kvm with VMX or SVM. Here the kernel's KVM
 * is the hypervisor: it executes native hypercalls itself and, with
 * KVM_X86_QUIRK_FIX_HYPERCALL_INSN on (its default), rewrites the foreign
 * opcode on #UD. pvhc provides guest RAM, the devices behind port I/O and the
 * run loop, nothing on the hypercall path, so the shim's counters (hypercalls,
 * #UD traps, rewrites, exceptions) stay 0 and --trace stays empty here.
 *
 * The host personality is the real CPU's: a VMCALL is native on Intel and a
 * VMMCALL on AMD whatever pvhc is told, so a --host that contradicts the CPU
 * is refused rather than silently ignored.
 *
 * A /dev/kvm without kvm_intel or kvm_amd behind it (such as PVM) runs no
 * stock guest and never returns from a guest's VMCALL; it is refused before
 * any guest runs, in one line.
 *
 * The vCPU state converts to and from the migration stream's architectural
 * sections (host/migration.md), so a guest moves between this backend and
 * the emulated hosts: README, "Between the emulated hosts and a real KVM".
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/kvm.h>

#include <pvhc/cpuid.h>

#include "cpu.h"
#include "vm.h"

/* Debian 12's linux-libc-dev (6.1) predates the name; the value is ABI. */
#ifndef KVM_X86_QUIRK_FIX_HYPERCALL_INSN
#define KVM_X86_QUIRK_FIX_HYPERCALL_INSN (1 << 5)
#endif

/*
 * Kicks interrupt KVM_RUN with this signal. Its handler does nothing: the
 * point is that KVM_RUN returns -EINTR. SA_RESTART keeps every other system
 * call of the vCPU thread (console writes) from failing with EINTR.
 */
#define KVM_KICK_SIGNAL SIGRTMIN

/* Leaves whose feature bits are hardware capabilities the host must have. */
#define CPUID_EXT_FEATURES 0x80000001u
#define CPUID_ADDR_SIZES 0x80000008u

struct kvm_vm {
	int sys_fd;			/* /dev/kvm */
	int fd;				/* the VM */
	int run_size;			/* size of each vCPU's struct kvm_run mapping */
	struct kvm_cpuid2 *supported;	/* KVM_GET_SUPPORTED_CPUID */
	bool has_sregs2;		/* KVM_GET/SET_SREGS2 (Linux 5.14): PDPTEs too */
};

struct kvm_vcpu {
	int fd;
	struct kvm_run *run;
	pthread_t thread;		/* the thread inside run(), for kicks */
	int thread_known;		/* atomic: thread is valid */
	/*
	 * The last exit was port I/O, which KVM finishes (result into RAX,
	 * RIP past the instruction) only when KVM_RUN is entered again.
	 */
	bool io_pending;
};

static struct kvm_vm *kvm_of(struct vm *vm)
{
	return vm->backend;
}

static struct kvm_vcpu *kv(struct vcpu *vcpu)
{
	return vcpu->backend;
}

/* ioctl() that retries when a kick's signal interrupted it. */
static int kvm_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

/* The loaded kvm_* modules, for saying what this /dev/kvm is: " kvm_pvm", or " none". */
static void kvm_modules(char *buf, size_t len)
{
	struct dirent *e;
	size_t used = 0;
	DIR *d;

	buf[0] = '\0';
	d = opendir("/sys/module");
	while (d && (e = readdir(d))) {
		int n;

		if (strncmp(e->d_name, "kvm_", 4))
			continue;
		n = snprintf(buf + used, len - used, " %s", e->d_name);
		if (n < 0 || (size_t)n >= len - used)
			break;
		used += (size_t)n;
	}
	if (d)
		closedir(d);
	if (!buf[0])
		snprintf(buf, len, " none");
}

/*
 * The real CPU's vendor decides the native hypercall. Hygon's CPUs are AMD's
 * design (SVM, VMMCALL); everything else with VMX executes VMCALL natively.
 */
static const struct vendor *host_cpu_vendor(char name[13])
{
	uint32_t a = 0, b, c = 0, d;

	/* Inline: host/cpuid.h (the VM's CPUID) shadows the compiler's <cpuid.h>. */
	__asm__ __volatile__("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
	memcpy(name, &b, 4);
	memcpy(name + 4, &d, 4);
	memcpy(name + 8, &c, 4);
	name[12] = '\0';
	if (!strcmp(name, "AuthenticAMD") || !strcmp(name, "HygonGenuine"))
		return &vendor_amd;
	return &vendor_intel;
}

static void kick_handler(int sig)
{
}

static int install_kick_handler(void)
{
	static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	static bool done;
	struct sigaction sa = { .sa_handler = kick_handler, .sa_flags = SA_RESTART };
	int ret = 0;

	pthread_mutex_lock(&lock);
	if (!done) {
		sigemptyset(&sa.sa_mask);
		if (sigaction(KVM_KICK_SIGNAL, &sa, NULL))
			ret = -errno;
		else
			done = true;
	}
	pthread_mutex_unlock(&lock);
	return ret;
}

/* KVM_GET_SUPPORTED_CPUID, grown until it fits; NULL with err set on failure. */
static struct kvm_cpuid2 *get_supported_cpuid(int sys_fd, char *err, size_t errlen)
{
	unsigned int n = 64;

	for (;;) {
		struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
		int ret;

		if (!c) {
			snprintf(err, errlen, "out of memory");
			return NULL;
		}
		c->nent = n;
		ret = kvm_ioctl(sys_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (!ret)
			return c;
		free(c);
		if (ret != -E2BIG || n >= 4096) {
			snprintf(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(-ret));
			return NULL;
		}
		n *= 2;
	}
}

static const struct kvm_cpuid_entry2 *cpuid2_leaf(const struct kvm_cpuid2 *c, uint32_t fn,
						  uint32_t index)
{
	uint32_t i;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn && c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

static const struct kvm_cpuid_entry2 *supported_leaf(const struct kvm_vm *k, uint32_t fn)
{
	return cpuid2_leaf(k->supported, fn, 0);
}

static void cpuid2_lookup(const void *table, uint32_t fn, uint32_t index, uint32_t out[4])
{
	const struct kvm_cpuid_entry2 *e = cpuid2_leaf(table, fn, index);

	out[0] = e ? e->eax : 0;
	out[1] = e ? e->ebx : 0;
	out[2] = e ? e->ecx : 0;
	out[3] = e ? e->edx : 0;
}

/*
 * A guest that arrives by migration keeps the CPUID it has already read
 * (README, "Between the emulated hosts and a real KVM"): nothing in it is adjusted
 * here, and a feature it promises that this KVM cannot give refuses the
 * guest, before any of it is loaded.
 */
static int check_carried_cpuid(int sys_fd, const struct cpuid_table *carried, char *err,
			       size_t errlen)
{
	struct cpuid_features want, have;
	struct kvm_cpuid2 *supported = get_supported_cpuid(sys_fd, err, errlen);
	int ret;

	if (!supported)
		return -EIO;
	cpuid_table_features(&want, carried);
	cpuid_features_of(&have, cpuid2_lookup, supported);
	free(supported);
	ret = cpuid_features_missing(&want, &have, err, errlen);
	if (ret) {
		size_t n = strlen(err);

		snprintf(err + n, errlen - n, " (KVM_GET_SUPPORTED_CPUID)");
	}
	return ret;
}

static int kvm_probe(const struct vm_config *cfg, const struct vendor **vendor, char *err,
		     size_t errlen)
{
	const struct vendor *host;
	char cpu[13], mods[128];
	int fd;

	/* One vCPU thread, no in-kernel or userspace interrupt controller yet. */
	if (cfg->nr_vcpus > 1) {
		snprintf(err, errlen, "kvm backend: one vCPU only (--vcpus %u needs --accel tcg)",
			 cfg->nr_vcpus);
		return -EINVAL;
	}
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;

		snprintf(err, errlen, "kvm backend: cannot open /dev/kvm: %s", strerror(e));
		return -e;
	}
	close(fd);
	if (!path_exists("/sys/module/kvm_intel") && !path_exists("/sys/module/kvm_amd")) {
		kvm_modules(mods, sizeof(mods));
		snprintf(err, errlen,
			 "kvm backend: /dev/kvm is not backed by kvm_intel or kvm_amd "
			 "(kvm modules loaded:%s), so a guest's hypercall would never return; "
			 "use --accel tcg", mods);
		return -ENODEV;
	}
	host = host_cpu_vendor(cpu);
	if (cfg->vendor && cfg->vendor != host) {
		snprintf(err, errlen,
			 "host '%s' contradicts this machine's CPU (%s): on the kvm backend the "
			 "host is the real CPU, use --host %s or leave it out",
			 cfg->vendor->name, cpu, host->name);
		return -EINVAL;
	}
	/* Only the emulated hosts see single instructions and #UD traps. */
	if (cfg->migrate_to && (cfg->migrate_after_ud ||
				(cfg->migrate_at_insn_set && cfg->migrate_at_insn))) {
		snprintf(err, errlen,
			 "--migrate-at-insn N (N > 0) and --migrate-after-ud need the emulated "
			 "hosts (tcg); on kvm use --migrate-on-port, --migrate-at-insn 0 or the monitor");
		return -EINVAL;
	}
	*vendor = host;
	if (cfg->cpuid) {
		int ret;

		fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			int e = errno;

			snprintf(err, errlen, "kvm backend: cannot open /dev/kvm: %s", strerror(e));
			return -e;
		}
		ret = check_carried_cpuid(fd, cfg->cpuid, err, errlen);
		close(fd);
		return ret;
	}
	return 0;
}

static struct cpuid_entry *vm_leaf(struct cpuid_table *t, uint32_t fn)
{
	uint32_t i;

	for (i = 0; i < t->nr; i++)
		if (t->e[i].function == fn)
			return &t->e[i];
	return NULL;
}

/*
 * The VM's CPUID, made true on this CPU. The table keeps its vendor, its
 * hypervisor leaves and its choice of features, but a feature the host cannot
 * provide is dropped (the guest would fault using it), the family, model,
 * stepping and brand become the real CPU's (they name the CPU the guest runs
 * on, and model-specific code must not be misled) and the physical address
 * width is at most the host's. vm->cpuid is updated in place, so it stays
 * exactly what the guest sees and what a migration would carry.
 */
static void merge_cpuid(struct vm *vm)
{
	const struct kvm_vm *k = kvm_of(vm);
	static const uint32_t brand_leaves[] = { 0x80000002, 0x80000003, 0x80000004 };
	const struct kvm_cpuid_entry2 *h;
	struct cpuid_entry *e;
	unsigned int i;

	e = vm_leaf(&vm->cpuid, 1);
	h = supported_leaf(k, 1);
	if (e && h) {
		e->eax = h->eax;
		e->ecx &= h->ecx | PVHC_CPUID_1_ECX_HYPERVISOR;
		e->edx &= h->edx;
	}
	e = vm_leaf(&vm->cpuid, CPUID_EXT_FEATURES);
	h = supported_leaf(k, CPUID_EXT_FEATURES);
	if (e && h) {
		if (vm->vendor == &vendor_amd)
			e->eax = h->eax;
		e->ecx &= h->ecx;
		e->edx &= h->edx;
	}
	e = vm_leaf(&vm->cpuid, CPUID_ADDR_SIZES);
	h = supported_leaf(k, CPUID_ADDR_SIZES);
	if (e && h && (h->eax & 0xff) < (e->eax & 0xff))
		e->eax = (e->eax & ~0xffu) | (h->eax & 0xff);
	for (i = 0; i < 3; i++) {
		e = vm_leaf(&vm->cpuid, brand_leaves[i]);
		h = supported_leaf(k, brand_leaves[i]);
		if (e && h && (h->eax | h->ebx | h->ecx | h->edx)) {
			e->eax = h->eax;
			e->ebx = h->ebx;
			e->ecx = h->ecx;
			e->edx = h->edx;
		}
	}
}

static int kvm_vm_init(struct vm *vm, char *err, size_t errlen)
{
	struct kvm_userspace_memory_region region = {
		.slot = 0,
		.guest_phys_addr = 0,
		.memory_size = vm->mem.size,
		.userspace_addr = (uintptr_t)vm->mem.host,
	};
	struct kvm_vm *k;
	int ret;

	ret = install_kick_handler();
	if (ret) {
		snprintf(err, errlen, "kvm backend: cannot install the kick signal: %s",
			 strerror(-ret));
		return ret;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	k->sys_fd = -1;
	k->fd = -1;
	vm->backend = k;

	k->sys_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (k->sys_fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "kvm backend: cannot open /dev/kvm: %s", strerror(-ret));
		return ret;
	}
	ret = kvm_ioctl(k->sys_fd, KVM_GET_API_VERSION, NULL);
	if (ret != KVM_API_VERSION) {
		snprintf(err, errlen, "kvm backend: /dev/kvm speaks API %d, pvhc needs %d", ret,
			 KVM_API_VERSION);
		return -ENOTSUP;
	}
	/* pvhc's kick relies on immediate_exit (Linux 4.11). */
	if (kvm_ioctl(k->sys_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_IMMEDIATE_EXIT) <= 0) {
		snprintf(err, errlen, "kvm backend: this KVM lacks KVM_CAP_IMMEDIATE_EXIT");
		return -ENOTSUP;
	}
	k->run_size = kvm_ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, NULL);
	if (k->run_size < (int)sizeof(struct kvm_run)) {
		snprintf(err, errlen, "kvm backend: KVM_GET_VCPU_MMAP_SIZE: %s",
			 k->run_size < 0 ? strerror(-k->run_size) : "too small");
		return -ENOTSUP;
	}
	k->has_sregs2 = kvm_ioctl(k->sys_fd, KVM_CHECK_EXTENSION, (void *)(long)KVM_CAP_SREGS2) > 0;
	k->supported = get_supported_cpuid(k->sys_fd, err, errlen);
	if (!k->supported)
		return -EIO;
	k->fd = kvm_ioctl(k->sys_fd, KVM_CREATE_VM, NULL);
	if (k->fd < 0) {
		ret = k->fd;
		k->fd = -1;
		snprintf(err, errlen, "kvm backend: KVM_CREATE_VM: %s", strerror(-ret));
		return ret;
	}
	if (!vm->cfg.fix_hypercall) {
		struct kvm_enable_cap cap = {
			.cap = KVM_CAP_DISABLE_QUIRKS2,
			.args[0] = KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
		};
		int quirks = kvm_ioctl(k->sys_fd, KVM_CHECK_EXTENSION,
				       (void *)(long)KVM_CAP_DISABLE_QUIRKS2);

		/* No fallback: running with the rewrite on would test the wrong thing. */
		if (quirks <= 0 || !(quirks & KVM_X86_QUIRK_FIX_HYPERCALL_INSN)) {
			snprintf(err, errlen,
				 "kvm backend: this KVM cannot disable KVM_X86_QUIRK_FIX_HYPERCALL_INSN "
				 "(needs KVM_CAP_DISABLE_QUIRKS2, Linux 5.19 or later), so "
				 "--no-fix-hypercall is not available");
			return -ENOTSUP;
		}
		ret = kvm_ioctl(k->fd, KVM_ENABLE_CAP, &cap);
		if (ret) {
			snprintf(err, errlen, "kvm backend: KVM_ENABLE_CAP(DISABLE_QUIRKS2): %s",
				 strerror(-ret));
			return ret;
		}
	}
	ret = kvm_ioctl(k->fd, KVM_SET_USER_MEMORY_REGION, &region);
	if (ret) {
		snprintf(err, errlen, "kvm backend: cannot map %" PRIu64 " MiB of RAM: %s",
			 vm->mem.size >> 20, strerror(-ret));
		return ret;
	}
	if (!vm->cpuid_carried)
		merge_cpuid(vm);
	/* --migrate-at-insn 0 (the only count probe() lets through): before the first. */
	if (vm->cfg.migrate_to && vm->cfg.migrate_at_insn_set)
		vm->mig_trigger = true;
	return 0;
}

static void kvm_vm_destroy(struct vm *vm)
{
	struct kvm_vm *k = kvm_of(vm);

	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	if (k->sys_fd >= 0)
		close(k->sys_fd);
	free(k->supported);
	free(k);
	vm->backend = NULL;
}

/* The VM's CPUID as this vCPU sees it: its APIC ID in leaf 1. */
static int set_cpuid(struct vcpu *vcpu, char *err, size_t errlen)
{
	const struct cpuid_table *t = &vcpu->vm->cpuid;
	struct kvm_cpuid2 *c;
	uint32_t i;
	int ret;

	c = calloc(1, sizeof(*c) + t->nr * sizeof(c->entries[0]));
	if (!c) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	c->nent = t->nr;
	for (i = 0; i < t->nr; i++) {
		const struct cpuid_entry *e = &t->e[i];
		uint32_t out[4];

		/* cpuid_lookup() applies what is per vCPU (the APIC ID). */
		cpuid_lookup(t, e->function, e->index, vcpu->apic_id, out);
		c->entries[i] = (struct kvm_cpuid_entry2){
			.function = e->function,
			.index = e->index,
			.flags = (e->flags & CPUID_F_INDEXED) ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
			.eax = out[0], .ebx = out[1], .ecx = out[2], .edx = out[3],
		};
	}
	ret = kvm_ioctl(kv(vcpu)->fd, KVM_SET_CPUID2, c);
	free(c);
	if (ret)
		snprintf(err, errlen, "kvm backend: KVM_SET_CPUID2: %s", strerror(-ret));
	return ret;
}

static int kvm_vcpu_init(struct vcpu *vcpu, char *err, size_t errlen)
{
	struct kvm_vm *k = kvm_of(vcpu->vm);
	struct kvm_vcpu *v;
	void *run;
	int ret;

	v = calloc(1, sizeof(*v));
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	v->fd = -1;
	vcpu->backend = v;
	v->fd = kvm_ioctl(k->fd, KVM_CREATE_VCPU, (void *)(long)vcpu->id);
	if (v->fd < 0) {
		ret = v->fd;
		v->fd = -1;
		snprintf(err, errlen, "kvm backend: KVM_CREATE_VCPU %u: %s", vcpu->id,
			 strerror(-ret));
		return ret;
	}
	run = mmap(NULL, (size_t)k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (run == MAP_FAILED) {
		ret = -errno;
		snprintf(err, errlen, "kvm backend: cannot map vCPU %u's kvm_run: %s", vcpu->id,
			 strerror(-ret));
		return ret;
	}
	v->run = run;
	return set_cpuid(vcpu, err, errlen);
}

static void kvm_vcpu_destroy(struct vcpu *vcpu)
{
	struct kvm_vcpu *v = kv(vcpu);

	if (!v)
		return;
	if (v->run)
		munmap(v->run, (size_t)kvm_of(vcpu->vm)->run_size);
	if (v->fd >= 0)
		close(v->fd);
	free(v);
	vcpu->backend = NULL;
}

/* ---- Register state: struct x86_regs/x86_sregs <-> kvm_regs/kvm_sregs ---- */

static int kvm_get_regs(struct vcpu *vcpu, struct x86_regs *r)
{
	struct kvm_regs k;
	int ret = kvm_ioctl(kv(vcpu)->fd, KVM_GET_REGS, &k);

	if (ret)
		return ret;
	r->gpr[GPR_RAX] = k.rax;
	r->gpr[GPR_RCX] = k.rcx;
	r->gpr[GPR_RDX] = k.rdx;
	r->gpr[GPR_RBX] = k.rbx;
	r->gpr[GPR_RSP] = k.rsp;
	r->gpr[GPR_RBP] = k.rbp;
	r->gpr[GPR_RSI] = k.rsi;
	r->gpr[GPR_RDI] = k.rdi;
	r->gpr[GPR_R8] = k.r8;
	r->gpr[GPR_R9] = k.r9;
	r->gpr[GPR_R10] = k.r10;
	r->gpr[GPR_R11] = k.r11;
	r->gpr[GPR_R12] = k.r12;
	r->gpr[GPR_R13] = k.r13;
	r->gpr[GPR_R14] = k.r14;
	r->gpr[GPR_R15] = k.r15;
	r->rip = k.rip;
	r->rflags = k.rflags;
	return 0;
}

static int kvm_set_regs(struct vcpu *vcpu, const struct x86_regs *r)
{
	struct kvm_regs k = {
		.rax = r->gpr[GPR_RAX], .rbx = r->gpr[GPR_RBX],
		.rcx = r->gpr[GPR_RCX], .rdx = r->gpr[GPR_RDX],
		.rsi = r->gpr[GPR_RSI], .rdi = r->gpr[GPR_RDI],
		.rsp = r->gpr[GPR_RSP], .rbp = r->gpr[GPR_RBP],
		.r8 = r->gpr[GPR_R8], .r9 = r->gpr[GPR_R9],
		.r10 = r->gpr[GPR_R10], .r11 = r->gpr[GPR_R11],
		.r12 = r->gpr[GPR_R12], .r13 = r->gpr[GPR_R13],
		.r14 = r->gpr[GPR_R14], .r15 = r->gpr[GPR_R15],
		.rip = r->rip, .rflags = r->rflags,
	};

	return kvm_ioctl(kv(vcpu)->fd, KVM_SET_REGS, &k);
}

static void seg_from_kvm(struct x86_segment *s, const struct kvm_segment *k)
{
	*s = (struct x86_segment){
		.base = k->base, .limit = k->limit, .selector = k->selector,
		.type = k->type, .s = k->s, .dpl = k->dpl, .present = k->present,
		.avl = k->avl, .l = k->l, .db = k->db, .g = k->g,
		.unusable = k->unusable,
	};
}

static void seg_to_kvm(struct kvm_segment *k, const struct x86_segment *s)
{
	*k = (struct kvm_segment){
		.base = s->base, .limit = s->limit, .selector = s->selector,
		.type = s->type, .s = s->s, .dpl = s->dpl, .present = s->present,
		.avl = s->avl, .l = s->l, .db = s->db, .g = s->g,
		.unusable = s->unusable,
	};
}

/*
 * kvm_sregs and kvm_sregs2 share everything up to the interrupt bitmap (of
 * which kvm_sregs2 has none: it holds the PDPTEs instead), so one
 * conversion serves both.
 */
_Static_assert(offsetof(struct kvm_sregs, interrupt_bitmap) ==
	       offsetof(struct kvm_sregs2, flags), "kvm_sregs and kvm_sregs2 share their start");
#define SREGS_COMMON offsetof(struct kvm_sregs, interrupt_bitmap)

static int kvm_get_sregs(struct vcpu *vcpu, struct x86_sregs *s)
{
	struct kvm_sregs2 k;
	int ret, i;

	memset(&k, 0, sizeof(k));
	if (kvm_of(vcpu->vm)->has_sregs2) {
		ret = kvm_ioctl(kv(vcpu)->fd, KVM_GET_SREGS2, &k);
	} else {
		struct kvm_sregs old;

		ret = kvm_ioctl(kv(vcpu)->fd, KVM_GET_SREGS, &old);
		memcpy(&k, &old, SREGS_COMMON);
	}
	if (ret)
		return ret;
	seg_from_kvm(&s->seg[SEG_ES], &k.es);
	seg_from_kvm(&s->seg[SEG_CS], &k.cs);
	seg_from_kvm(&s->seg[SEG_SS], &k.ss);
	seg_from_kvm(&s->seg[SEG_DS], &k.ds);
	seg_from_kvm(&s->seg[SEG_FS], &k.fs);
	seg_from_kvm(&s->seg[SEG_GS], &k.gs);
	seg_from_kvm(&s->tr, &k.tr);
	seg_from_kvm(&s->ldt, &k.ldt);
	s->gdt = (struct x86_dtable){ .base = k.gdt.base, .limit = k.gdt.limit };
	s->idt = (struct x86_dtable){ .base = k.idt.base, .limit = k.idt.limit };
	s->cr0 = k.cr0;
	s->cr2 = k.cr2;
	s->cr3 = k.cr3;
	s->cr4 = k.cr4;
	s->cr8 = k.cr8;
	s->efer = k.efer;
	s->apic_base = k.apic_base;
	s->pdptrs_valid = k.flags & KVM_SREGS2_FLAGS_PDPTRS_VALID;
	for (i = 0; i < 4; i++)
		s->pdptrs[i] = s->pdptrs_valid ? k.pdptrs[i] : 0;
	return 0;
}

/*
 * No interrupt is ever pending here (no in-kernel interrupt controller), so
 * there is no interrupt bitmap to restore.
 *
 * The busy bit of TR's TSS type is the host's to choose: the loaded TR is a
 * TSS in use, whatever the state carried says (QEMU's TCG, and so the
 * emulated hosts, load TR with the descriptor's "available" type; KVM on
 * SVM reports "busy" whatever it holds). VMX requires the busy type at VM
 * entry. AMD CPUs ignore it, but QEMU's TCG, which emulates the AMD host in
 * make check, insists on the available type: with a busy one it aborts on
 * the next exception from CPL 3 of a 32-bit guest ("invalid tss type") and
 * raises #GP on any port I/O at CPL 3 through the TSS's I/O bitmap
 * (measured: README). So TR is written busy on Intel, available on AMD.
 *
 * PDPTEs carried with the state (pdptrs_valid) are loaded as they are, with
 * KVM_SET_SREGS2: reading them again from guest memory can fail, and KVM's
 * KVM_SET_SREGS then keeps none without saying so (QEMU's TCG sets the
 * accessed bit, reserved in a PDPTE, behind a guest on the AMD host).
 */
static int kvm_set_sregs(struct vcpu *vcpu, const struct x86_sregs *s)
{
	struct kvm_sregs2 k;
	int ret, i;

	memset(&k, 0, sizeof(k));
	seg_to_kvm(&k.es, &s->seg[SEG_ES]);
	seg_to_kvm(&k.cs, &s->seg[SEG_CS]);
	seg_to_kvm(&k.ss, &s->seg[SEG_SS]);
	seg_to_kvm(&k.ds, &s->seg[SEG_DS]);
	seg_to_kvm(&k.fs, &s->seg[SEG_FS]);
	seg_to_kvm(&k.gs, &s->seg[SEG_GS]);
	seg_to_kvm(&k.tr, &s->tr);
	if (!k.tr.s && (k.tr.type & 0x5) == 0x1) {	/* a TSS, 16- or 32/64-bit */
		if (vcpu->vm->vendor == &vendor_amd)
			k.tr.type &= (uint8_t)~0x2;	/* available */
		else
			k.tr.type |= 0x2;		/* busy */
	}
	seg_to_kvm(&k.ldt, &s->ldt);
	k.gdt.base = s->gdt.base;
	k.gdt.limit = s->gdt.limit;
	k.idt.base = s->idt.base;
	k.idt.limit = s->idt.limit;
	k.cr0 = s->cr0;
	k.cr2 = s->cr2;
	k.cr3 = s->cr3;
	k.cr4 = s->cr4;
	k.cr8 = s->cr8;
	k.efer = s->efer;
	k.apic_base = s->apic_base;
	if (kvm_of(vcpu->vm)->has_sregs2) {
		if (s->pdptrs_valid) {
			k.flags = KVM_SREGS2_FLAGS_PDPTRS_VALID;
			for (i = 0; i < 4; i++)
				k.pdptrs[i] = s->pdptrs[i];
		}
		ret = kvm_ioctl(kv(vcpu)->fd, KVM_SET_SREGS2, &k);
	} else {
		struct kvm_sregs old;

		memset(&old, 0, sizeof(old));
		memcpy(&old, &k, SREGS_COMMON);
		ret = kvm_ioctl(kv(vcpu)->fd, KVM_SET_SREGS, &old);
	}
	/*
	 * Without an in-kernel local APIC, KVM_RUN loads CR8 from kvm_run
	 * (userspace's TPR) on every entry: keep that copy in step.
	 */
	if (!ret)
		kv(vcpu)->run->cr8 = s->cr8;
	return ret;
}

/* ---- x87/SSE state: struct x86_fpu <-> the legacy area of KVM's XSAVE image ---- */

/*
 * The FXSAVE layout at the start of struct kvm_xsave, then the XSAVE header
 * (XSTATE_BV) at byte 512. KVM_GET/SET_XSAVE rather than KVM_GET/SET_FPU:
 * KVM_SET_FPU writes the legacy area but not XSTATE_BV, and a vCPU that has
 * never run has XSTATE_BV = 0, so its XRSTOR would load the x87 and SSE init
 * state instead. Both ioctls work on hosts without XSAVE too.
 */
#define FX_FCW		0
#define FX_FSW		2
#define FX_FTW		4	/* abridged, one byte */
#define FX_FOP		6
#define FX_FIP		8
#define FX_FDP		16
#define FX_MXCSR	24
#define FX_ST		32
#define FX_XMM		160
#define XSAVE_XSTATE_BV	512
#define XFEATURE_FP_SSE	3ull

static int kvm_get_fpu(struct vcpu *vcpu, struct x86_fpu *f)
{
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	const uint8_t *fx = (const uint8_t *)xs;
	int ret, i;

	if (!xs)
		return -ENOMEM;
	ret = kvm_ioctl(kv(vcpu)->fd, KVM_GET_XSAVE, xs);
	if (!ret) {
		memset(f, 0, sizeof(*f));
		memcpy(&f->fcw, fx + FX_FCW, 2);
		memcpy(&f->fsw, fx + FX_FSW, 2);
		memcpy(&f->fop, fx + FX_FOP, 2);
		memcpy(&f->fip, fx + FX_FIP, 8);
		memcpy(&f->fdp, fx + FX_FDP, 8);
		memcpy(&f->mxcsr, fx + FX_MXCSR, 4);
		for (i = 0; i < 8; i++)
			memcpy(f->st[i], fx + FX_ST + 16 * i, 10);
		memcpy(f->xmm, fx + FX_XMM, sizeof(f->xmm));
		f->ftw = x86_fpu_full_tag(f, fx[FX_FTW]);
	}
	free(xs);
	return ret;
}

static int kvm_set_fpu(struct vcpu *vcpu, const struct x86_fpu *f)
{
	struct kvm_xsave *xs = calloc(1, sizeof(*xs));
	uint8_t *fx = (uint8_t *)xs;
	uint64_t bv;
	int ret, i;

	if (!xs)
		return -ENOMEM;
	/* Read, modify, write: whatever else the image holds stays as KVM has it. */
	ret = kvm_ioctl(kv(vcpu)->fd, KVM_GET_XSAVE, xs);
	if (!ret) {
		memcpy(fx + FX_FCW, &f->fcw, 2);
		memcpy(fx + FX_FSW, &f->fsw, 2);
		fx[FX_FTW] = x86_fpu_abridged_tag(f->ftw);
		memcpy(fx + FX_FOP, &f->fop, 2);
		memcpy(fx + FX_FIP, &f->fip, 8);
		memcpy(fx + FX_FDP, &f->fdp, 8);
		memcpy(fx + FX_MXCSR, &f->mxcsr, 4);
		for (i = 0; i < 8; i++) {
			memset(fx + FX_ST + 16 * i, 0, 16);
			memcpy(fx + FX_ST + 16 * i, f->st[i], 10);
		}
		memcpy(fx + FX_XMM, f->xmm, sizeof(f->xmm));
		memcpy(&bv, fx + XSAVE_XSTATE_BV, 8);
		bv |= XFEATURE_FP_SSE;
		memcpy(fx + XSAVE_XSTATE_BV, &bv, 8);
		ret = kvm_ioctl(kv(vcpu)->fd, KVM_SET_XSAVE, xs);
	}
	free(xs);
	return ret;
}

/* ---- MSRs ---- */

static struct kvm_msrs *msr_buf(void)
{
	return calloc(1, sizeof(struct kvm_msrs) + X86_MAX_MSRS * sizeof(struct kvm_msr_entry));
}

/* Every MSR of x86_saved_msrs[] this KVM has; one it does not have is not carried. */
static int kvm_get_msrs(struct vcpu *vcpu, struct x86_msrs *m)
{
	struct kvm_msrs *b = msr_buf();
	unsigned int i, n = 0;
	int ret;

	if (!b)
		return -ENOMEM;
	for (i = 0; i < x86_nr_saved_msrs && i < X86_MAX_MSRS; i++)
		b->entries[n++].index = x86_saved_msrs[i];
	for (;;) {
		b->nmsrs = n;
		ret = kvm_ioctl(kv(vcpu)->fd, KVM_GET_MSRS, b);
		if (ret < 0 || (unsigned int)ret == n)
			break;
		/* KVM stops at the first MSR it does not know: drop it, ask again. */
		memmove(&b->entries[ret], &b->entries[ret + 1],
			(n - (unsigned int)ret - 1) * sizeof(b->entries[0]));
		n--;
	}
	if (ret >= 0) {
		m->nr = n;
		for (i = 0; i < n; i++) {
			m->e[i].index = b->entries[i].index;
			m->e[i].value = b->entries[i].data;
		}
		ret = 0;
	}
	free(b);
	return ret;
}

static int kvm_set_msrs(struct vcpu *vcpu, const struct x86_msrs *m)
{
	struct kvm_msrs *b;
	uint32_t i;
	int ret;

	if (m->nr > X86_MAX_MSRS)
		return -EINVAL;
	b = msr_buf();
	if (!b)
		return -ENOMEM;
	b->nmsrs = m->nr;
	for (i = 0; i < m->nr; i++) {
		b->entries[i].index = m->e[i].index;
		b->entries[i].data = m->e[i].value;
	}
	ret = kvm_ioctl(kv(vcpu)->fd, KVM_SET_MSRS, b);
	free(b);
	if (ret < 0)
		return ret;
	return (uint32_t)ret == m->nr ? 0 : -EINVAL;
}

/* ---- Running ------------------------------------------------------------- */

/*
 * immediate_exit makes a KVM_RUN that has not started yet return at once;
 * the signal interrupts one that has. Together no kick is lost.
 */
static void kvm_kick(struct vcpu *vcpu)
{
	struct kvm_vcpu *v = kv(vcpu);

	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&v->thread_known, __ATOMIC_ACQUIRE))
		pthread_kill(__atomic_load_n(&v->thread, __ATOMIC_ACQUIRE), KVM_KICK_SIGNAL);
}

static uint64_t current_rip(struct vcpu *vcpu)
{
	struct x86_regs r;

	return kvm_get_regs(vcpu, &r) ? ~0ull : r.rip;
}

static enum vcpu_exit crash(struct vcpu *vcpu, const char *what)
{
	vm_request_exit(vcpu->vm, VM_CRASHED, 0, "%s (RIP 0x%" PRIx64 ")", what,
			current_rip(vcpu));
	return VCPU_EXIT_STOP;
}

/* Port I/O goes to the VM's bus; string instructions bring several items at once. */
static void handle_io(struct vcpu *vcpu, struct kvm_run *run)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	unsigned int size = run->io.size;
	uint32_t i, value;

	for (i = 0; i < run->io.count; i++, data += size) {
		if (run->io.direction == KVM_EXIT_IO_OUT) {
			value = 0;
			memcpy(&value, data, size);
			io_out(&vcpu->vm->io, vcpu, run->io.port, size, value);
		} else {
			value = io_in(&vcpu->vm->io, vcpu, run->io.port, size);
			memcpy(data, &value, size);
		}
	}
}

/* The local APIC page (no in-kernel APIC); false for any other address. */
static bool handle_mmio(struct vcpu *vcpu, struct kvm_run *run)
{
	uint64_t offset = run->mmio.phys_addr - LAPIC_BASE, value = 0;
	unsigned int len = run->mmio.len;

	if (run->mmio.phys_addr < LAPIC_BASE || offset + len > LAPIC_SIZE || len > sizeof(value))
		return false;
	if (run->mmio.is_write) {
		memcpy(&value, run->mmio.data, len);
		lapic_mmio_write(vcpu, offset, len, value);
	} else {
		value = lapic_mmio_read(vcpu, offset, len);
		memcpy(run->mmio.data, &value, len);
	}
	return true;
}

/*
 * A triple fault. VMX leaves the vCPU as it was; SVM's shutdown intercept
 * resets it (KVM re-initializes the VMCB), so there RIP is the reset
 * vector's and says nothing about the guest: say so instead of printing it.
 */
static enum vcpu_exit triple_fault(struct vcpu *vcpu)
{
	struct x86_sregs s;
	uint64_t rip = current_rip(vcpu);

	if (!kvm_get_sregs(vcpu, &s) && rip == 0xfff0 && s.seg[SEG_CS].base == 0xffff0000ull) {
		vm_request_exit(vcpu->vm, VM_CRASHED, 0,
				"triple fault (KVM_EXIT_SHUTDOWN; the CPU was reset, "
				"so the faulting RIP is not known)");
	} else {
		vm_request_exit(vcpu->vm, VM_CRASHED, 0,
				"triple fault (KVM_EXIT_SHUTDOWN) at RIP 0x%" PRIx64, rip);
	}
	return VCPU_EXIT_STOP;
}

static enum vcpu_exit internal_error(struct vcpu *vcpu, const struct kvm_run *run)
{
	static const char *const names[] = {
		[KVM_INTERNAL_ERROR_EMULATION] = "instruction emulation failed",
		[KVM_INTERNAL_ERROR_SIMUL_EX] = "exception during exception delivery",
		[KVM_INTERNAL_ERROR_DELIVERY_EV] = "event delivery failed",
		[KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON] = "unexpected hardware exit",
	};
	uint32_t sub = run->internal.suberror;
	char what[160];

	snprintf(what, sizeof(what), "KVM internal error %u: %s", sub,
		 sub < sizeof(names) / sizeof(names[0]) && names[sub] ? names[sub] : "unknown");
	return crash(vcpu, what);
}

static enum vcpu_exit handle_exit(struct vcpu *vcpu, struct kvm_run *run)
{
	char what[160];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(vcpu, run);
		return VCPU_EXIT_AGAIN;
	case KVM_EXIT_HLT:
		return VCPU_EXIT_HLT;
	case KVM_EXIT_INTR:
		return VCPU_EXIT_AGAIN;
	case KVM_EXIT_SHUTDOWN:
		return triple_fault(vcpu);
	case KVM_EXIT_MMIO:
		if (handle_mmio(vcpu, run))
			return VCPU_EXIT_AGAIN;
		/* Neither RAM nor the APIC: the same words as the tcg backend's. */
		snprintf(what, sizeof(what), "%s unbacked memory at 0x%llx",
			 run->mmio.is_write ? "write to" : "read from",
			 (unsigned long long)run->mmio.phys_addr);
		return crash(vcpu, what);
	case KVM_EXIT_FAIL_ENTRY:
		snprintf(what, sizeof(what),
			 "KVM could not enter the guest (hardware reason 0x%llx)",
			 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		return crash(vcpu, what);
	case KVM_EXIT_INTERNAL_ERROR:
		return internal_error(vcpu, run);
	default:
		snprintf(what, sizeof(what), "unexpected KVM exit %u", run->exit_reason);
		return crash(vcpu, what);
	}
}

/*
 * KVM_RUN with immediate_exit set completes a pending port I/O and returns
 * -EINTR without entering the guest (KVM's API documentation: how userspace
 * gets a consistent state after KVM_EXIT_IO). A string instruction may need
 * more I/O: each further exit is served the same way.
 */
static int kvm_quiesce(struct vcpu *vcpu)
{
	struct kvm_vcpu *v = kv(vcpu);
	int ret, err;

	while (v->io_pending) {
		v->io_pending = false;
		__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
		ret = ioctl(v->fd, KVM_RUN, 0);
		err = errno;
		__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
		if (ret < 0 && err != EINTR)
			return -err;
		if (ret == 0) {
			if (v->run->exit_reason != KVM_EXIT_IO)
				return -EIO;
			handle_io(vcpu, v->run);
			v->io_pending = true;
		}
	}
	return 0;
}

static enum vcpu_exit kvm_run(struct vcpu *vcpu)
{
	struct kvm_vcpu *v = kv(vcpu);
	struct vm *vm = vcpu->vm;
	enum vcpu_exit exit;
	int ret, err;

	/* Whichever thread runs the vCPU now is the one a kick must interrupt. */
	__atomic_store_n(&v->thread, pthread_self(), __ATOMIC_RELEASE);
	__atomic_store_n(&v->thread_known, 1, __ATOMIC_RELEASE);
	ret = ioctl(v->fd, KVM_RUN, 0);
	err = errno;
	/* Any entry finished an I/O left pending; a new one is marked below. */
	v->io_pending = false;
	/*
	 * A kick sets the VM state before immediate_exit: clear immediate_exit
	 * first and read the state after a full barrier, so that either this
	 * read sees the new state or the kick's store comes after the clear.
	 */
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (vm->state != VM_RUNNING)
		return VCPU_EXIT_STOP;
	if (ret < 0) {
		if (err == EINTR || err == EAGAIN)
			return VCPU_EXIT_AGAIN;
		vm_request_exit(vm, VM_FAILED, 0, "kvm backend: KVM_RUN: %s", strerror(err));
		return VCPU_EXIT_STOP;
	}
	exit = handle_exit(vcpu, v->run);
	v->io_pending = v->run->exit_reason == KVM_EXIT_IO;
	return vm->state != VM_RUNNING ? VCPU_EXIT_STOP : exit;
}

const struct cpu_ops cpu_kvm_ops = {
	.name = "kvm",
	.probe = kvm_probe,
	.vm_init = kvm_vm_init,
	.vm_destroy = kvm_vm_destroy,
	.vcpu_init = kvm_vcpu_init,
	.vcpu_destroy = kvm_vcpu_destroy,
	.run = kvm_run,
	.kick = kvm_kick,
	.quiesce = kvm_quiesce,
	.get_regs = kvm_get_regs,
	.set_regs = kvm_set_regs,
	.get_sregs = kvm_get_sregs,
	.set_sregs = kvm_set_sregs,
	.get_fpu = kvm_get_fpu,
	.set_fpu = kvm_set_fpu,
	.get_msrs = kvm_get_msrs,
	.set_msrs = kvm_set_msrs,
};
