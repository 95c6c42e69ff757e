// SPDX-License-Identifier: GPL-2.0-only
/*
 * real_mode_call() (32-bit flavour): stage the trampoline and the caller's
 * code below 1 MiB, run them (realmode_switch.S), collect the results. The
 * trampoline is copied on every call, which also resets its counters.
 */
#include "internal.h"

#ifndef __x86_64__

struct rm_data {
	uint32_t regs[5];	/* EAX, EBX, ECX, EDX, ESI */
	uint16_t ud_count, ud_ip, ud_cs;
	uint16_t fault_vector, fault_ip, fault_cs;
} __attribute__((__packed__));

extern const char rm_tramp_start[], rm_tramp_end[], rm_data[];
void __rm_enter(void);

int real_mode_call(const void *code16, unsigned int len, struct hc_regs *r)
{
	size_t tramp_len = (size_t)(rm_tramp_end - rm_tramp_start);
	struct rm_data *d = (struct rm_data *)(RM_BASE + (rm_data - rm_tramp_start));
	uint8_t *code = (uint8_t *)RM_CODE;

	if (len > REAL_MODE_CODE_MAX)
		guest_panic("real_mode_call: %u bytes of code, at most %u", len,
			    REAL_MODE_CODE_MAX);
	if (tramp_len > RM_CODE - RM_BASE)
		guest_panic("real_mode_call: trampoline of %u bytes overlaps the code area",
			    (unsigned int)tramp_len);
	if (multiboot_overlaps(0, RM_END))
		guest_panic("real_mode_call: a multiboot module lies in 0x0-0x%x, %s", RM_END,
			    "which real mode needs");

	memcpy((void *)RM_BASE, rm_tramp_start, tramp_len);
	memcpy(code, code16, len);
	code[len] = 0xc3;	/* ret (near, 16-bit) back into the trampoline */
	d->regs[0] = (uint32_t)r->rax;
	d->regs[1] = (uint32_t)r->rbx;
	d->regs[2] = (uint32_t)r->rcx;
	d->regs[3] = (uint32_t)r->rdx;
	d->regs[4] = (uint32_t)r->rsi;

	__rm_enter();

	if (d->fault_vector != RM_NO_FAULT)
		guest_panic("real_mode_call: exception %u (%s) in real mode at %04x:%04x",
			    d->fault_vector, exception_name(d->fault_vector), d->fault_cs,
			    d->fault_ip);
	r->rax = d->regs[0];
	r->rbx = d->regs[1];
	r->rcx = d->regs[2];
	r->rdx = d->regs[3];
	r->rsi = d->regs[4];
	return d->ud_count;
}

int real_mode_vmcall(struct hc_regs *r)
{
	static const uint8_t vmcall[] = { PVHC_VMCALL_B0, PVHC_VMCALL_B1, PVHC_VMCALL_B2 };

	return real_mode_call(vmcall, sizeof(vmcall), r);
}

#endif /* !__x86_64__ */
