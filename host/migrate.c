// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM state as migration stream sections, both directions. The layout of
 * every section is in host/migration.md; the loader checks every count,
 * address and size before it uses it, refuses missing, duplicated or
 * out-of-order sections, and builds the VM aside until END: a destination
 * never runs a partly loaded guest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate.h"
#include "stats.h"
#include "vm.h"
#include "vmstate.h"

#define SEC_VERSION	1

/* Largest payload accepted per section (bounded memory for any stream). */
#define CONFIG_MAX	(64u << 10)
#define RAM_MAX		(8 + RAM_CHUNK_PAGES * (8 + 4096ull))
#define CPU_MAX		(64u << 10)
#define TCG_CPU_MAX	(64u << 10)
#define DEVICES_MAX	(64u << 10)
#define SHIM_MAX	(16u << 20)
#define LAPIC_MAX	(4u << 10)
#define PDPTRS_LEN	40
#define OPTIONAL_MAX	(16u << 20)	/* unknown optional sections, skipped */
#define SHIM_MAX_SITES	(SHIM_MAX / 48)

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static int put_section(struct stream *s, uint32_t id, uint16_t flags, const struct sbuf *b)
{
	struct iovec iov = { b->p, b->len };

	if (b->oom)
		return -ENOMEM;
	return stream_write_section(s, id, SEC_VERSION, flags, &iov, 1);
}

/* ---- CONFIG ---- */

int mig_put_config(struct vm *vm, struct stream *s)
{
	struct sbuf b = { 0 };
	char host[16] = { 0 };
	uint32_t i;
	int ret;

	strncpy(host, vm->vendor->name, sizeof(host) - 1);
	sbuf_u64(&b, vm->mem.size);
	sbuf_u32(&b, vm->nr_vcpus);
	sbuf_u8(&b, vm->cfg.fix_hypercall);
	sbuf_put(&b, "\0\0\0", 3);
	sbuf_put(&b, host, sizeof(host));
	sbuf_u32(&b, vm->cpuid.nr);
	for (i = 0; i < vm->cpuid.nr; i++) {
		const struct cpuid_entry *e = &vm->cpuid.e[i];

		sbuf_u32(&b, e->function);
		sbuf_u32(&b, e->index);
		sbuf_u32(&b, e->eax);
		sbuf_u32(&b, e->ebx);
		sbuf_u32(&b, e->ecx);
		sbuf_u32(&b, e->edx);
		sbuf_u32(&b, e->flags);
	}
	ret = put_section(s, SEC_CONFIG, 0, &b);
	sbuf_free(&b);
	return ret;
}

/* ---- RAM ---- */

int ram_writer_init(struct ram_writer *w, struct stream *s)
{
	memset(w, 0, sizeof(*w));
	w->s = s;
	w->data = malloc(RAM_CHUNK_PAGES * 4096ull);
	return w->data ? 0 : -ENOMEM;
}

void ram_writer_destroy(struct ram_writer *w)
{
	free(w->data);
	w->data = NULL;
}

int ram_writer_flush(struct ram_writer *w)
{
	uint32_t hdr[2] = { w->nr, 0 };
	struct iovec iov[3] = {
		{ hdr, sizeof(hdr) },
		{ w->desc, w->nr * sizeof(w->desc[0]) },
		{ w->data, w->nr_data * 4096ull },
	};
	int ret;

	if (!w->nr)
		return 0;
	ret = stream_write_section(w->s, SEC_RAM, SEC_VERSION, 0, iov, 3);
	w->bytes += sizeof(hdr) + w->nr * 8 + w->nr_data * 4096ull;
	w->nr = w->nr_data = 0;
	return ret;
}

static bool page_is_zero(const uint8_t *p)
{
	const uint64_t *q = (const uint64_t *)(const void *)p;
	unsigned int i;

	for (i = 0; i < 4096 / 8; i += 4)
		if (q[i] | q[i + 1] | q[i + 2] | q[i + 3])
			return false;
	return true;
}

int ram_writer_page(struct ram_writer *w, struct vm *vm, uint64_t gpa, bool send_zero)
{
	const uint8_t *p = vm->mem.host + gpa;

	if (page_is_zero(p)) {
		w->zero_pages++;
		if (!send_zero)
			return 0;
		w->desc[w->nr++] = gpa | RAM_DESC_ZERO;
	} else {
		w->desc[w->nr++] = gpa;
		memcpy(w->data + 4096ull * w->nr_data++, p, 4096);
	}
	w->pages_sent++;
	return w->nr == RAM_CHUNK_PAGES ? ram_writer_flush(w) : 0;
}

static int load_ram(struct vm *vm, struct rbuf *r, char *err, size_t errlen)
{
	uint32_t n = rbuf_u32(r), i, data = 0;
	const uint8_t *desc, *pages;

	rbuf_u32(r);
	if (n > RAM_CHUNK_PAGES)
		return fail(err, errlen, -EINVAL, "RAM section with %u pages (at most %u)", n,
			    RAM_CHUNK_PAGES);
	desc = rbuf_get(r, (size_t)n * 8);
	if (!desc)
		return fail(err, errlen, -EINVAL, "RAM section shorter than its page list");
	for (i = 0; i < n; i++) {
		uint64_t d;

		memcpy(&d, desc + 8 * i, 8);
		if ((d & 0xffe) || (d & ~0xfffull) >= vm->mem.size)
			return fail(err, errlen, -EINVAL,
				    "RAM page descriptor 0x%" PRIx64 " is outside guest RAM or malformed", d);
		if (!(d & RAM_DESC_ZERO))
			data++;
	}
	pages = rbuf_get(r, (size_t)data * 4096);
	if (!pages || rbuf_left(r))
		return fail(err, errlen, -EINVAL, "RAM section length does not match its %u pages", n);
	for (i = 0, data = 0; i < n; i++) {
		uint64_t d;

		memcpy(&d, desc + 8 * i, 8);
		if (d & RAM_DESC_ZERO)
			memset(vm->mem.host + (d & ~0xfffull), 0, 4096);
		else
			memcpy(vm->mem.host + d, pages + 4096ull * data++, 4096);
	}
	return 0;
}

/* ---- CPU ---- */

static void put_seg(struct sbuf *b, const struct x86_segment *g)
{
	sbuf_u64(b, g->base);
	sbuf_u32(b, g->limit);
	sbuf_u16(b, g->selector);
	sbuf_u8(b, g->type);
	sbuf_u8(b, (uint8_t)(g->s | g->dpl << 1 | g->present << 3 | g->avl << 4 | g->l << 5 |
			     g->db << 6 | g->g << 7));
	sbuf_u8(b, g->unusable);
	sbuf_put(b, "\0\0\0", 3);
}

static void get_seg(struct rbuf *r, struct x86_segment *g)
{
	uint8_t a;

	g->base = rbuf_u64(r);
	g->limit = rbuf_u32(r);
	g->selector = rbuf_u16(r);
	g->type = rbuf_u8(r) & 0xf;
	a = rbuf_u8(r);
	g->s = a & 1;
	g->dpl = (a >> 1) & 3;
	g->present = (a >> 3) & 1;
	g->avl = (a >> 4) & 1;
	g->l = (a >> 5) & 1;
	g->db = (a >> 6) & 1;
	g->g = (a >> 7) & 1;
	g->unusable = rbuf_u8(r) & 1;
	rbuf_get(r, 3);
}

/*
 * The CPU section's run state: bit 0 halted (HLT), bit 1 waiting for a SIPI,
 * bit 2 a KICK_CPU arrived that the next HLT will consume.
 */
#define RUN_HALTED	(1u << 0)
#define RUN_WAIT_SIPI	(1u << 1)
#define RUN_KICKED	(1u << 2)

static uint32_t run_state_bits(const struct vcpu *v)
{
	return (v->state == VCPU_HALTED ? RUN_HALTED : 0) |
	       (v->state == VCPU_WAIT_SIPI ? RUN_WAIT_SIPI : 0) | (v->kicked ? RUN_KICKED : 0);
}

static void run_state_from_bits(struct vcpu *v, uint32_t bits)
{
	v->state = (bits & RUN_WAIT_SIPI) ? VCPU_WAIT_SIPI :
		   (bits & RUN_HALTED) ? VCPU_HALTED : VCPU_RUNNABLE;
	v->kicked = (bits & RUN_KICKED) != 0;
}

static int put_cpu(struct vm *vm, struct vcpu *v, struct stream *s)
{
	const struct cpu_ops *ops = vm->cfg.backend;
	struct x86_regs regs;
	struct x86_sregs sr;
	struct x86_fpu fpu;
	struct x86_msrs msrs;
	struct sbuf b = { 0 };
	uint32_t i;
	int ret;

	if (ops->get_regs(v, &regs) || ops->get_sregs(v, &sr) || ops->get_fpu(v, &fpu) ||
	    ops->get_msrs(v, &msrs))
		return -EIO;
	/* Before the CPU section, so that the reader loads them together. */
	if (sr.pdptrs_valid) {
		sbuf_u32(&b, v->id);
		sbuf_u32(&b, 0);
		for (i = 0; i < 4; i++)
			sbuf_u64(&b, sr.pdptrs[i]);
		ret = put_section(s, SEC_PDPTRS, SECTION_F_OPTIONAL, &b);
		if (ret) {
			sbuf_free(&b);
			return ret;
		}
		sbuf_reset(&b);
	}
	sbuf_u32(&b, v->id);
	sbuf_u32(&b, run_state_bits(v));
	for (i = 0; i < GPR_COUNT; i++)
		sbuf_u64(&b, regs.gpr[i]);
	sbuf_u64(&b, regs.rip);
	sbuf_u64(&b, regs.rflags);
	for (i = 0; i < SEG_COUNT; i++)
		put_seg(&b, &sr.seg[i]);
	put_seg(&b, &sr.tr);
	put_seg(&b, &sr.ldt);
	sbuf_u64(&b, sr.gdt.base);
	sbuf_u64(&b, sr.gdt.limit);
	sbuf_u64(&b, sr.idt.base);
	sbuf_u64(&b, sr.idt.limit);
	sbuf_u64(&b, sr.cr0);
	sbuf_u64(&b, sr.cr2);
	sbuf_u64(&b, sr.cr3);
	sbuf_u64(&b, sr.cr4);
	sbuf_u64(&b, sr.cr8);
	sbuf_u64(&b, sr.efer);
	sbuf_u64(&b, sr.apic_base);
	sbuf_u16(&b, fpu.fcw);
	sbuf_u16(&b, fpu.fsw);
	sbuf_u16(&b, fpu.ftw);
	sbuf_u16(&b, fpu.fop);
	sbuf_u64(&b, fpu.fip);
	sbuf_u64(&b, fpu.fdp);
	sbuf_put(&b, fpu.st, sizeof(fpu.st));
	sbuf_u32(&b, fpu.mxcsr);
	sbuf_u32(&b, 0);
	sbuf_put(&b, fpu.xmm, sizeof(fpu.xmm));
	sbuf_u32(&b, msrs.nr);
	for (i = 0; i < msrs.nr; i++) {
		sbuf_u32(&b, msrs.e[i].index);
		sbuf_u32(&b, 0);
		sbuf_u64(&b, msrs.e[i].value);
	}
	ret = put_section(s, SEC_CPU, 0, &b);

	/* The backend's exact state, for a destination with the same backend and build. */
	if (!ret && ops->get_blob) {
		uint8_t blob[TCG_CPU_MAX - 16];
		size_t n = ops->get_blob(v, blob, sizeof(blob));

		if (n) {
			sbuf_reset(&b);
			sbuf_u32(&b, v->id);
			sbuf_u32(&b, ops->blob_id);
			sbuf_u64(&b, n);
			sbuf_put(&b, blob, n);
			ret = put_section(s, SEC_TCG_CPU, SECTION_F_OPTIONAL, &b);
		}
	}
	sbuf_free(&b);
	return ret;
}

/* The backend refused a set of MSRs: name the first one it refuses alone. */
static int refused_msr(struct vcpu *v, const struct x86_msrs *msrs, char *err, size_t errlen)
{
	const struct cpu_ops *ops = v->vm->cfg.backend;
	uint32_t i;

	for (i = 0; i < msrs->nr; i++) {
		struct x86_msrs one = { .nr = 1, .e[0] = msrs->e[i] };

		if (ops->set_msrs(v, &one))
			return fail(err, errlen, -EINVAL, "vCPU %u: this host refuses MSR 0x%x = 0x%"
				    PRIx64, v->id, one.e[0].index, one.e[0].value);
	}
	return fail(err, errlen, -EINVAL, "vCPU %u: this host refuses the MSRs together", v->id);
}

/* PDPTEs per vCPU, kept until its CPU section arrives. */
struct pdptrs_in {
	bool seen[VM_MAX_VCPUS];
	uint64_t e[VM_MAX_VCPUS][4];
};

static int load_pdptrs(struct vm *vm, struct rbuf *r, const bool *seen_cpu,
		       struct pdptrs_in *p, char *err, size_t errlen)
{
	uint32_t id = rbuf_u32(r), i;

	rbuf_u32(r);
	if (r->overrun || id >= vm->nr_vcpus || rbuf_left(r) != 32)
		return fail(err, errlen, -EINVAL, "malformed PDPTE section");
	if (seen_cpu[id] || p->seen[id])
		return fail(err, errlen, -EINVAL, "PDPTEs of vCPU %u after its CPU section or twice",
			    id);
	p->seen[id] = true;
	for (i = 0; i < 4; i++)
		p->e[id][i] = rbuf_u64(r);
	return 0;
}

static int load_cpu(struct vm *vm, struct rbuf *r, bool *seen, const struct pdptrs_in *pdptrs,
		    char *err, size_t errlen)
{
	const struct cpu_ops *ops = vm->cfg.backend;
	uint32_t id = rbuf_u32(r), halted = rbuf_u32(r), i;
	struct x86_regs regs;
	struct x86_sregs sr;
	struct x86_fpu fpu;
	struct x86_msrs msrs;
	const uint8_t *p;
	struct vcpu *v;

	if (r->overrun || id >= vm->nr_vcpus)
		return fail(err, errlen, -EINVAL, "CPU section for vCPU %u of %u", id, vm->nr_vcpus);
	if (seen[id])
		return fail(err, errlen, -EINVAL, "duplicate CPU section for vCPU %u", id);
	seen[id] = true;
	v = vm->vcpus[id];
	for (i = 0; i < GPR_COUNT; i++)
		regs.gpr[i] = rbuf_u64(r);
	regs.rip = rbuf_u64(r);
	regs.rflags = rbuf_u64(r);
	memset(&sr, 0, sizeof(sr));
	for (i = 0; i < SEG_COUNT; i++)
		get_seg(r, &sr.seg[i]);
	get_seg(r, &sr.tr);
	get_seg(r, &sr.ldt);
	sr.gdt.base = rbuf_u64(r);
	sr.gdt.limit = (uint16_t)rbuf_u64(r);
	sr.idt.base = rbuf_u64(r);
	sr.idt.limit = (uint16_t)rbuf_u64(r);
	sr.cr0 = rbuf_u64(r);
	sr.cr2 = rbuf_u64(r);
	sr.cr3 = rbuf_u64(r);
	sr.cr4 = rbuf_u64(r);
	sr.cr8 = rbuf_u64(r);
	sr.efer = rbuf_u64(r);
	sr.apic_base = rbuf_u64(r);
	fpu.fcw = rbuf_u16(r);
	fpu.fsw = rbuf_u16(r);
	fpu.ftw = rbuf_u16(r);
	fpu.fop = rbuf_u16(r);
	fpu.fip = rbuf_u64(r);
	fpu.fdp = rbuf_u64(r);
	p = rbuf_get(r, sizeof(fpu.st));
	if (p)
		memcpy(fpu.st, p, sizeof(fpu.st));
	fpu.mxcsr = rbuf_u32(r);
	rbuf_u32(r);
	p = rbuf_get(r, sizeof(fpu.xmm));
	if (p)
		memcpy(fpu.xmm, p, sizeof(fpu.xmm));
	msrs.nr = rbuf_u32(r);
	if (msrs.nr > X86_MAX_MSRS)
		return fail(err, errlen, -EINVAL, "CPU section lists %u MSRs (at most %u)", msrs.nr,
			    X86_MAX_MSRS);
	for (i = 0; i < msrs.nr; i++) {
		msrs.e[i].index = rbuf_u32(r);
		rbuf_u32(r);
		msrs.e[i].value = rbuf_u64(r);
	}
	if (r->overrun || rbuf_left(r))
		return fail(err, errlen, -EINVAL, "CPU section of vCPU %u has the wrong length", id);
	/* The state must be one an x86 CPU can be in, whatever the stream says. */
	if (!(sr.cr0 & X86_CR0_PE) && (sr.cr0 & X86_CR0_PG))
		return fail(err, errlen, -EINVAL, "vCPU %u: paging without protected mode", id);
	if (pdptrs->seen[id]) {
		if (!(sr.cr0 & X86_CR0_PG) || !(sr.cr4 & X86_CR4_PAE) || (sr.efer & X86_EFER_LMA))
			return fail(err, errlen, -EINVAL, "vCPU %u: PDPTEs without PAE paging", id);
		sr.pdptrs_valid = true;
		memcpy(sr.pdptrs, pdptrs->e[id], sizeof(sr.pdptrs));
	}
	for (i = 0; i < msrs.nr; i++) {
		unsigned int k;
		bool known = false;

		for (k = 0; k < x86_nr_saved_msrs; k++)
			known |= msrs.e[i].index == x86_saved_msrs[k];
		if (!known)
			return fail(err, errlen, -EINVAL, "vCPU %u: unexpected MSR 0x%x", id,
				    msrs.e[i].index);
	}
	if (ops->set_sregs(v, &sr))
		return fail(err, errlen, -EINVAL, "vCPU %u: this host refuses the control and "
			    "segment registers (CR0 0x%" PRIx64 ", CR4 0x%" PRIx64 ", EFER 0x%" PRIx64
			    ")", id, sr.cr0, sr.cr4, sr.efer);
	if (ops->set_regs(v, &regs))
		return fail(err, errlen, -EINVAL, "vCPU %u: this host refuses the general registers "
			    "(RFLAGS 0x%" PRIx64 ")", id, regs.rflags);
	if (ops->set_fpu(v, &fpu))
		return fail(err, errlen, -EINVAL, "vCPU %u: this host refuses the x87/SSE state "
			    "(MXCSR 0x%x)", id, fpu.mxcsr);
	if (ops->set_msrs(v, &msrs))
		return refused_msr(v, &msrs, err, errlen);
	run_state_from_bits(v, halted);
	return 0;
}

/* ---- LAPIC: one per vCPU, a vmstate record ---- */

static int put_lapic(struct vcpu *v, struct stream *s)
{
	struct sbuf b = { 0 };
	int ret;

	sbuf_u32(&b, v->id);
	vmstate_save(&b, &lapic_vmstate, &v->lapic);
	ret = put_section(s, SEC_LAPIC, SECTION_F_OPTIONAL, &b);
	sbuf_free(&b);
	return ret;
}

static int load_lapic(struct vm *vm, struct rbuf *r, bool *seen, char *err, size_t errlen)
{
	uint32_t id = rbuf_u32(r);
	struct lapic l;
	int ret;

	if (r->overrun || id >= vm->nr_vcpus)
		return fail(err, errlen, -EINVAL, "LAPIC section for vCPU %u of %u", id,
			    vm->nr_vcpus);
	if (seen[id])
		return fail(err, errlen, -EINVAL, "duplicate LAPIC section for vCPU %u", id);
	seen[id] = true;
	l = vm->vcpus[id]->lapic;
	ret = vmstate_load(r, &lapic_vmstate, &l, err, errlen);
	if (ret > 0)
		return fail(err, errlen, -EINVAL, "LAPIC section without a lapic record");
	if (ret < 0)
		return ret;
	if (r->overrun || rbuf_left(r))
		return fail(err, errlen, -EINVAL, "LAPIC section of vCPU %u has the wrong length", id);
	/* The APIC ID is the destination's vCPU numbering, whatever the stream says. */
	l.id = vm->vcpus[id]->apic_id;
	l.sipi_vector &= 0xff;
	vm->vcpus[id]->lapic = l;
	return 0;
}

/* Applied after the architectural state it must agree with (it replaces it). */
static int load_tcg_cpu(struct vm *vm, struct rbuf *r, bool *seen_cpu, bool *seen, char *err,
			size_t errlen)
{
	const struct cpu_ops *ops = vm->cfg.backend;
	uint32_t id = rbuf_u32(r), blob_id = rbuf_u32(r);
	uint64_t len = rbuf_u64(r);
	const uint8_t *blob = rbuf_get(r, len);

	if (!blob || rbuf_left(r) || id >= vm->nr_vcpus)
		return fail(err, errlen, -EINVAL, "malformed exact-CPU-state section");
	if (!seen_cpu[id])
		return fail(err, errlen, -EINVAL, "exact CPU state of vCPU %u before its CPU section", id);
	if (seen[id])
		return fail(err, errlen, -EINVAL, "duplicate exact CPU state for vCPU %u", id);
	seen[id] = true;
	/* Another backend or Unicorn build: the architectural state stands. */
	if (!ops->set_blob || blob_id != ops->blob_id)
		return 0;
	if (ops->set_blob(vm->vcpus[id], blob, len))
		return fail(err, errlen, -EINVAL, "exact CPU state of vCPU %u has the wrong size", id);
	return 0;
}

/* ---- DEVICES ---- */

static int put_devices(struct vm *vm, struct stream *s)
{
	struct sbuf b = { 0 };
	uint32_t n = 0;
	unsigned int i;
	int ret;

	for (i = 0; i < vm->io.nr; i++)
		n += vm->io.h[i].vmstate != NULL;
	sbuf_u32(&b, n);
	for (i = 0; i < vm->io.nr; i++)
		if (vm->io.h[i].vmstate)
			vmstate_save(&b, vm->io.h[i].vmstate, vm->io.h[i].opaque);
	ret = put_section(s, SEC_DEVICES, 0, &b);
	sbuf_free(&b);
	return ret;
}

static int load_devices(struct vm *vm, struct rbuf *r, char *err, size_t errlen)
{
	uint32_t n = rbuf_u32(r), k;
	unsigned int i;

	if (n > 64)
		return fail(err, errlen, -EINVAL, "DEVICES section with %u records", n);
	for (k = 0; k < n; k++) {
		bool found = false;
		char name[16];

		vmstate_peek_name(r, name);
		for (i = 0; i < vm->io.nr && !found; i++) {
			const struct io_handler *h = &vm->io.h[i];
			int ret;

			if (!h->vmstate)
				continue;
			ret = vmstate_load(r, h->vmstate, h->opaque, err, errlen);
			if (ret < 0)
				return ret;
			found = ret == 0;
		}
		/* A device this destination does not have: its state is not needed here. */
		if (!found && vmstate_skip(r))
			return fail(err, errlen, -EINVAL, "malformed device record '%.15s'", name);
	}
	if (r->overrun || rbuf_left(r))
		return fail(err, errlen, -EINVAL, "DEVICES section has the wrong length");
	return 0;
}

/* ---- SHIM: cumulative counters and per-site records ---- */

static int put_shim(struct vm *vm, struct stream *s)
{
	const struct vm_stats *st = &vm->stats;
	struct sbuf b = { 0 };
	size_t i;
	int ret;

	sbuf_u64(&b, st->hypercalls);
	sbuf_u64(&b, st->ud_traps);
	sbuf_u64(&b, st->rewrites);
	sbuf_u64(&b, st->sites_learned);
	sbuf_u64(&b, st->slow_hypercalls);
	for (i = 0; i < 32; i++)
		sbuf_u64(&b, st->exceptions[i]);
	sbuf_u64(&b, st->exceptions_other);
	sbuf_u32(&b, st->migrations);
	sbuf_u32(&b, st->vendor_switches);
	sbuf_u32(&b, (uint32_t)st->nr_sites);
	for (i = 0; i < st->nr_sites; i++) {
		const struct site_stats *x = st->sites[i];

		sbuf_u64(&b, x->gva);
		sbuf_u8(&b, x->first_opcode);
		sbuf_u8(&b, x->opcode);
		sbuf_put(&b, "\0\0\0\0\0\0", 6);
		sbuf_u64(&b, x->ud_traps);
		sbuf_u64(&b, x->rewrites);
		sbuf_u64(&b, x->hypercalls);
	}
	ret = put_section(s, SEC_SHIM, SECTION_F_OPTIONAL, &b);
	sbuf_free(&b);
	return ret;
}

static int load_shim(struct vm *vm, struct rbuf *r, char *err, size_t errlen)
{
	struct vm_stats *st = &vm->stats;
	uint32_t n, i;

	st->hypercalls = rbuf_u64(r);
	st->ud_traps = rbuf_u64(r);
	st->rewrites = rbuf_u64(r);
	st->sites_learned = rbuf_u64(r);
	st->slow_hypercalls = rbuf_u64(r);
	for (i = 0; i < 32; i++)
		st->exceptions[i] = rbuf_u64(r);
	st->exceptions_other = rbuf_u64(r);
	st->migrations = rbuf_u32(r);
	st->vendor_switches = rbuf_u32(r);
	n = rbuf_u32(r);
	if (r->overrun || n > SHIM_MAX_SITES || rbuf_left(r) != (size_t)n * 40)
		return fail(err, errlen, -EINVAL, "malformed shim section");
	for (i = 0; i < n; i++) {
		uint64_t gva = rbuf_u64(r);
		uint8_t first = rbuf_u8(r), now = rbuf_u8(r);
		struct site_stats *x;

		rbuf_get(r, 6);
		x = stats_site(st, gva, first);
		if (!x)
			return fail(err, errlen, -ENOMEM, "out of memory for site records");
		x->opcode = now;
		x->ud_traps = rbuf_u64(r);
		x->rewrites = rbuf_u64(r);
		x->hypercalls = rbuf_u64(r);
	}
	return 0;
}

int mig_put_state(struct vm *vm, struct stream *s)
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < vm->nr_vcpus && !ret; i++)
		ret = put_cpu(vm, vm->vcpus[i], s);
	for (i = 0; i < vm->nr_vcpus && !ret; i++)
		ret = put_lapic(vm->vcpus[i], s);
	if (!ret)
		ret = put_devices(vm, s);
	if (!ret)
		ret = put_shim(vm, s);
	if (!ret)
		ret = stream_write_section(s, SEC_END, SEC_VERSION, 0, NULL, 0);
	if (!ret)
		ret = stream_flush(s);
	return ret;
}

/* ---- loading ---- */

static uint64_t section_limit(uint32_t id, uint16_t flags)
{
	switch (id) {
	case SEC_CONFIG:
		return CONFIG_MAX;
	case SEC_RAM:
		return RAM_MAX;
	case SEC_CPU:
		return CPU_MAX;
	case SEC_TCG_CPU:
		return TCG_CPU_MAX;
	case SEC_DEVICES:
		return DEVICES_MAX;
	case SEC_SHIM:
		return SHIM_MAX;
	case SEC_LAPIC:
		return LAPIC_MAX;
	case SEC_PDPTRS:
		return PDPTRS_LEN;
	case SEC_END:
		return 0;
	}
	return (flags & SECTION_F_OPTIONAL) ? OPTIONAL_MAX : 0;
}

static struct vm *load_config(const struct vm_config *base, struct rbuf *r, uint64_t mem_limit,
			      char *src_host, char *err, size_t errlen)
{
	struct vm_config cfg = *base;
	struct cpuid_table cpuid = { 0 };
	const uint8_t *name;
	uint32_t i, n;

	cfg.mem_size = rbuf_u64(r);
	cfg.nr_vcpus = rbuf_u32(r);
	cfg.fix_hypercall = rbuf_u8(r) & 1;
	rbuf_get(r, 3);
	name = rbuf_get(r, 16);
	if (name) {
		memcpy(src_host, name, 15);
		src_host[15] = '\0';
	}
	n = rbuf_u32(r);
	if (r->overrun || n > CPUID_MAX_ENTRIES || rbuf_left(r) != (size_t)n * 28) {
		fail(err, errlen, -EINVAL, "malformed CONFIG section");
		return NULL;
	}
	if (cfg.mem_size > mem_limit) {
		fail(err, errlen, -E2BIG, "the stream's guest has %" PRIu64 " MiB of RAM, above this "
		     "host's limit of %" PRIu64 " MiB (--mem)", cfg.mem_size >> 20, mem_limit >> 20);
		return NULL;
	}
	if (cfg.nr_vcpus < 1 || cfg.nr_vcpus > VM_MAX_VCPUS) {
		fail(err, errlen, -EINVAL, "the stream's guest has %u vCPUs; pvhc runs 1..%d",
		     cfg.nr_vcpus, VM_MAX_VCPUS);
		return NULL;
	}
	cpuid.nr = n;
	for (i = 0; i < n; i++) {
		struct cpuid_entry *e = &cpuid.e[i];

		e->function = rbuf_u32(r);
		e->index = rbuf_u32(r);
		e->eax = rbuf_u32(r);
		e->ebx = rbuf_u32(r);
		e->ecx = rbuf_u32(r);
		e->edx = rbuf_u32(r);
		e->flags = rbuf_u32(r);
	}
	if (vm_config_check(&cfg, err, errlen))
		return NULL;
	/* The guest's CPUID travels with it; the host personality stays this host's. */
	cfg.cpuid = &cpuid;
	return vm_create(&cfg, err, errlen);
}

struct vm *mig_load(const struct vm_config *base, struct stream *s, uint64_t mem_limit,
		    char *err, size_t errlen)
{
	bool seen_cpu[VM_MAX_VCPUS] = { false }, seen_tcg[VM_MAX_VCPUS] = { false };
	bool seen_lapic[VM_MAX_VCPUS] = { false };
	struct pdptrs_in pdptrs = { 0 };
	bool seen_dev = false, seen_shim = false, end = false;
	char src_host[16] = "";
	struct vm *vm = NULL;
	uint8_t *buf = NULL;
	size_t cap = 0;
	unsigned int i;
	int ret = 0;

	if (stream_read_header(s)) {
		snprintf(err, errlen, "%s", s->err);
		errno = EINVAL;
		return NULL;
	}
	while (!end && !ret) {
		struct section sec;
		struct rbuf r;

		if (stream_read_section(s, &sec, &buf, &cap, section_limit)) {
			snprintf(err, errlen, "%s", s->err);
			ret = -EIO;
			break;
		}
		rbuf_init(&r, buf, sec.len);
		if (!vm && sec.id != SEC_CONFIG) {
			ret = fail(err, errlen, -EINVAL, "section 0x%x before CONFIG", sec.id);
			break;
		}
		if (sec.version != SEC_VERSION && sec.id != SEC_END &&
		    !(sec.flags & SECTION_F_OPTIONAL)) {
			ret = fail(err, errlen, -EINVAL, "section 0x%x has layout version %u; this "
				   "pvhc reads %u", sec.id, sec.version, SEC_VERSION);
			break;
		}
		switch (sec.id) {
		case SEC_CONFIG:
			if (vm) {
				ret = fail(err, errlen, -EINVAL, "duplicate CONFIG section");
				break;
			}
			errno = EINVAL;
			vm = load_config(base, &r, mem_limit, src_host, err, errlen);
			if (!vm)
				ret = errno == EINVAL ? -EINVAL : -EHOSTDOWN;
			break;
		case SEC_RAM:
			ret = load_ram(vm, &r, err, errlen);
			break;
		case SEC_CPU:
			ret = load_cpu(vm, &r, seen_cpu, &pdptrs, err, errlen);
			break;
		case SEC_PDPTRS:
			if (sec.version == SEC_VERSION)
				ret = load_pdptrs(vm, &r, seen_cpu, &pdptrs, err, errlen);
			break;
		case SEC_TCG_CPU:
			if (sec.version == SEC_VERSION)
				ret = load_tcg_cpu(vm, &r, seen_cpu, seen_tcg, err, errlen);
			break;
		case SEC_DEVICES:
			if (seen_dev)
				ret = fail(err, errlen, -EINVAL, "duplicate DEVICES section");
			else
				ret = load_devices(vm, &r, err, errlen);
			seen_dev = true;
			break;
		case SEC_SHIM:
			if (seen_shim)
				ret = fail(err, errlen, -EINVAL, "duplicate shim section");
			else if (sec.version == SEC_VERSION)
				ret = load_shim(vm, &r, err, errlen);
			seen_shim = true;
			break;
		case SEC_LAPIC:
			if (sec.version == SEC_VERSION)
				ret = load_lapic(vm, &r, seen_lapic, err, errlen);
			break;
		case SEC_END:
			end = true;
			break;
		default:
			if (!(sec.flags & SECTION_F_OPTIONAL))
				ret = fail(err, errlen, -EINVAL, "unknown required section 0x%x",
					   sec.id);
			break;	/* unknown optional: skipped */
		}
	}
	free(buf);
	for (i = 0; !ret && vm && i < vm->nr_vcpus; i++)
		if (!seen_cpu[i])
			ret = fail(err, errlen, -EINVAL, "no CPU section for vCPU %u", i);
	if (!ret && !seen_dev)
		ret = fail(err, errlen, -EINVAL, "no DEVICES section");
	if (ret) {
		vm_destroy(vm);
		errno = ret == -EHOSTDOWN ? EIO : EINVAL;
		return NULL;
	}
	vm->stats.migrations++;
	if (src_host[0] && strcmp(src_host, vm->vendor->name))
		vm->stats.vendor_switches++;
	return vm;
}
