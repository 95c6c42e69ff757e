/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exception delivery through the guest's IDT, done by the host. Unicorn never
 * delivers exceptions itself, so the emulated hosts build the frame the CPU
 * would push and load the gate's CS:RIP (and SS:RSP on a privilege change).
 */
#ifndef PVHC_EXCEPTION_H
#define PVHC_EXCEPTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest-mem.h"
#include "x86.h"

struct x86_event {
	uint8_t vector;
	bool has_error;
	uint32_t error;
	bool soft;	/* INT n / INT3 / INTO: gate DPL is checked, RIP is already past it */
};

/*
 * Deliver ev: on success updates r and s to the handler's entry state and
 * returns 0. If delivery itself faults (no usable gate, code segment or
 * stack), returns -EFAULT with a reason in why, r and s partly changed; the
 * caller restores them and escalates to #DF and, if that fails too, to a
 * triple fault.
 */
int x86_deliver_event(const struct guest_mem *mem, struct x86_regs *r,
		      struct x86_sregs *s, const struct x86_event *ev,
		      char *why, size_t whylen);

#endif /* PVHC_EXCEPTION_H */
