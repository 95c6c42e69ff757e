// SPDX-License-Identifier: GPL-2.0-only
/* The backends by name, for the command line and the tests' PVHC_ACCEL. */
#include <string.h>

#include "cpu.h"

const struct cpu_ops *cpu_ops_by_name(const char *name)
{
	if (!strcmp(name, "tcg"))
		return &cpu_tcg_ops;
	if (!strcmp(name, "kvm"))
		return &cpu_kvm_ops;
	return NULL;
}
