// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: arbitrary bytes run as guest code on the emulated hosts.
 * Whatever the guest does, the host must not crash, hang or trip a
 * sanitizer; the guest may crash itself (triple fault, bad access, ...).
 *
 * Input: byte 0 selects the setup, the rest (up to 4 KiB) is code placed at
 * 0x10000 and entered at CPL 0 (or CPL 3 with bit 4):
 *   bit 0  host: 0 intel, 1 amd
 *   bit 1  mode: 0 64-bit long mode (identity-mapped first 1 GiB), 1 32-bit
 *          protected mode without paging
 *   bit 2  FIX_HYPERCALL_INSN quirk off
 *   bit 3  no IDT (every exception is a triple fault)
 *   bit 4  start at CPL 3 (64-bit: user pages)
 * Each IDT vector v leads to "out v, isa-debug-exit". A 20 ms budget ends
 * runaway code.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "vm.h"

#define CODE_GPA	0x10000
#define STACK_TOP	0x9000
#define PML4_GPA	0x1000
#define GDT_GPA		0x5000
#define IDT_GPA		0x6000
#define HANDLERS_GPA	0x7000	/* 256 x 16 bytes */
#define TSS_GPA		0x4000

static void put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static uint64_t code_desc(int dpl, bool l, bool db)
{
	return 0x0000ffffull | (0xfull << 48) | (0xbull << 40) | (1ull << 44) |
	       ((uint64_t)dpl << 45) | (1ull << 47) | ((uint64_t)l << 53) | ((uint64_t)db << 54) |
	       (1ull << 55);
}

static uint64_t data_desc(int dpl)
{
	return 0x0000ffffull | (0xfull << 48) | (0x3ull << 40) | (1ull << 44) |
	       ((uint64_t)dpl << 45) | (1ull << 47) | (1ull << 54) | (1ull << 55);
}

static void build_tables(uint8_t *ram, bool long_mode)
{
	int v;

	/* Identity map 1 GiB with 2 MiB pages, user-accessible. */
	put64(ram + PML4_GPA, 0x2000 | 7);
	put64(ram + 0x2000, 0x3000 | 7);
	for (v = 0; v < 512; v++)
		put64(ram + 0x3000 + 8 * v, ((uint64_t)v << 21) | 0x87);
	/* GDT: null, code64, data, code32, user data, user code64, user code32, TSS. */
	put64(ram + GDT_GPA + 0x08, code_desc(0, true, false));
	put64(ram + GDT_GPA + 0x10, data_desc(0));
	put64(ram + GDT_GPA + 0x18, code_desc(0, false, true));
	put64(ram + GDT_GPA + 0x20, data_desc(3));
	put64(ram + GDT_GPA + 0x28, code_desc(3, true, false));
	put64(ram + GDT_GPA + 0x30, code_desc(3, false, true));
	put64(ram + GDT_GPA + 0x38, 0x67 | ((uint64_t)TSS_GPA << 16) | (0x89ull << 40));
	/* TSS: RSP0 / ESP0 + SS0 */
	put64(ram + TSS_GPA + 4, STACK_TOP - 0x800);
	ram[TSS_GPA + 8] = 0x10;
	for (v = 0; v < 256; v++) {
		uint64_t h = HANDLERS_GPA + 16 * v;
		uint8_t *p = ram + h;

		/* mov $v, %eax; out %eax, $0xf4; hlt */
		p[0] = 0xb8;
		memcpy(p + 1, &(uint32_t){ (uint32_t)v }, 4);
		p[5] = 0xe7;
		p[6] = 0xf4;
		p[7] = 0xf4;
		if (long_mode) {
			put64(ram + IDT_GPA + 16 * v, (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) |
							      ((h >> 16) << 48));
			put64(ram + IDT_GPA + 16 * v + 8, h >> 32);
		} else {
			put64(ram + IDT_GPA + 8 * v, (h & 0xffff) | (0x18ull << 16) | (0x8eull << 40) |
							     ((h >> 16) << 48));
		}
	}
}

static struct x86_segment seg_of(uint16_t sel, uint64_t desc)
{
	struct x86_segment s;

	x86_segment_from_desc(&s, sel, desc, 0);
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vm_config cfg = vm_default_config();
	uint8_t flags = size ? data[0] : 0;
	bool long_mode = !(flags & 2), user = flags & 16;
	struct x86_sregs s = { 0 };
	struct x86_regs r = { 0 };
	FILE *null;
	struct vm *vm;
	char err[256];
	int i;

	if (size < 2 || size > 4097)
		return 0;
	null = fopen("/dev/null", "w");
	cfg.vendor = (flags & 1) ? &vendor_amd : &vendor_intel;
	cfg.fix_hypercall = !(flags & 4);
	cfg.mem_size = 8ull << 20;
	cfg.timeout = 0.02;
	cfg.serial_out = null;
	vm = vm_create(&cfg, err, sizeof(err));
	if (!vm) {
		fprintf(stderr, "vm_create: %s\n", err);
		__builtin_trap();
	}
	build_tables(vm->mem.host, long_mode);
	memcpy(vm->mem.host + CODE_GPA, data + 1, size - 1);

	s.gdt = (struct x86_dtable){ GDT_GPA, 0x3f };
	s.idt = (struct x86_dtable){ IDT_GPA, (flags & 8) ? 0 : (long_mode ? 0xfff : 0x7ff) };
	s.tr = seg_of(0x38, 0x67 | ((uint64_t)TSS_GPA << 16) | (0x8bull << 40));
	s.ldt = (struct x86_segment){ .type = 2, .unusable = 1 };
	for (i = 0; i < SEG_COUNT; i++)
		s.seg[i] = seg_of(user ? 0x23 : 0x10, data_desc(user ? 3 : 0));
	if (long_mode) {
		s.seg[SEG_CS] = user ? seg_of(0x2b, code_desc(3, true, false))
				     : seg_of(0x08, code_desc(0, true, false));
		s.cr0 = X86_CR0_PE | X86_CR0_PG | X86_CR0_ET;
		s.cr3 = PML4_GPA;
		s.cr4 = X86_CR4_PAE;
		s.efer = X86_EFER_LME | X86_EFER_LMA;
	} else {
		s.seg[SEG_CS] = user ? seg_of(0x33, code_desc(3, false, true))
				     : seg_of(0x18, code_desc(0, false, true));
		s.cr0 = X86_CR0_PE | X86_CR0_ET;
	}
	if (cfg.backend->set_sregs(vm->vcpus[0], &s))
		__builtin_trap();	/* the set-up above is always valid */
	r.rip = CODE_GPA;
	r.rflags = X86_RFLAGS_FIXED;
	r.gpr[GPR_RSP] = STACK_TOP;
	cfg.backend->set_regs(vm->vcpus[0], &r);
	vm_run(vm);
	vm_destroy(vm);
	fclose(null);
	return 0;
}
