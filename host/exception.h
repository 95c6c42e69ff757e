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
	uint64_t cr2;	/* a #PF raised by delivery itself: the address for CR2 */
};

/*
 * Deliver ev: on success updates r and s to the handler's entry state and
 * returns 0. If delivery itself faults (no usable gate, code segment or
 * stack), returns -EFAULT with a reason in why and r and s partly changed;
 * *fault is the exception the CPU raises then: #GP or #NP naming the IDT
 * entry or the selector, or #PF on the handler's stack, where pvhc models
 * the check, else #DF. The caller
 * restores r and s and applies the double-fault rules (x86_next_event()).
 */
int x86_deliver_event(const struct guest_mem *mem, struct x86_regs *r,
		      struct x86_sregs *s, const struct x86_event *ev, struct x86_event *fault,
		      char *why, size_t whylen);

/* SDM vol. 3, table 6-4: how a fault while delivering an event combines with it. */
enum x86_exception_class { EXC_BENIGN, EXC_CONTRIBUTORY, EXC_PAGE_FAULT, EXC_DOUBLE_FAULT };
enum x86_exception_class x86_exception_class(const struct x86_event *ev);

/*
 * The event to deliver after `fault` was raised while delivering `first`
 * (table 6-5): the fault itself, or #DF. Returns false for a triple fault
 * (a fault while delivering #DF).
 */
bool x86_next_event(const struct x86_event *first, const struct x86_event *fault,
		    struct x86_event *next);

#endif /* PVHC_EXCEPTION_H */
