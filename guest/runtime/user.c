// SPDX-License-Identifier: GPL-2.0-only
/*
 * run_in_user_mode(): see user_switch.S for the mode switch. The user stack is
 * allocated once and reused; all of the identity map is U=1, so the code,
 * data and stack fn needs are reachable from CPL 3 as they are. A guard page
 * below the stack turns an overflow into a #PF.
 */
#include "internal.h"

#define USER_STACK_PAGES	4

long run_in_user_mode(long (*fn)(void *), void *arg)
{
	static char *stack;

	if (!stack) {
		stack = alloc_pages(USER_STACK_PAGES + 1);
		unmap_page((uintptr_t)stack);
		stack += PAGE_SIZE;
	}
	return __user_enter(fn, arg, stack + USER_STACK_PAGES * PAGE_SIZE);
}
