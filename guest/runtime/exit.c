// SPDX-License-Identifier: GPL-2.0-only
/*
 * How a payload ends: isa-debug-exit with QEMU's semantics (status
 * value << 1 | 1), the same under `pvhc run`. Failure paths print exactly
 * one line first so a log always says why.
 */
#include "internal.h"

_Noreturn void guest_exit(int value)
{
	static const char shutdown[] = "Shutdown";

	outl(PVHC_PORT_DEBUG_EXIT, (uint32_t)value);
	/* Still here: no isa-debug-exit. Try the Bochs/QEMU shutdown port. */
	for (const char *p = shutdown; *p; p++)
		outb(PVHC_PORT_SHUTDOWN, (uint8_t)*p);
	/* cli/hlt would #GP at CPL 3; spinning is all user mode can do. */
	if (read_cs() & 3)
		for (;;)
			__asm__ __volatile__("pause");
	for (;;)
		__asm__ __volatile__("cli; hlt");
}

_Noreturn void guest_panic(const char *fmt, ...)
{
	va_list ap;

	printf("pvhc runtime: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	guest_exit(PVHC_EXIT_FAIL);
}

_Noreturn void __guest_exit_msg(int value, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", value == PVHC_EXIT_SKIP ? "SKIP" : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	guest_exit(value);
}

_Noreturn void __guest_assert_fail(const char *file, int line, const char *expr)
{
	printf("GUEST_ASSERT failed at %s:%d: %s\n", file, line, expr);
	guest_exit(PVHC_EXIT_FAIL);
}

_Noreturn void __guest_assert_eq_fail(const char *file, int line, const char *expr,
				      uint64_t a, uint64_t b)
{
	printf("GUEST_ASSERT failed at %s:%d: %s (0x%llx != 0x%llx)\n", file, line, expr,
	       (unsigned long long)a, (unsigned long long)b);
	guest_exit(PVHC_EXIT_FAIL);
}
