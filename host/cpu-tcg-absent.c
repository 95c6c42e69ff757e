// SPDX-License-Identifier: GPL-2.0-only
/*
 * The tcg backend's place in builds without Unicorn: the static, kvm-only
 * pvhc and selftests that run inside scripts/kvm-amd-host.sh (Unicorn would
 * make each of them 17 MB instead of 1). Choosing tcg there is refused in one
 * line before anything else happens; no other operation can be reached.
 */
#include <errno.h>
#include <stdio.h>

#include "cpu.h"

static int absent_probe(const struct vm_config *cfg, const struct vendor **vendor, char *err,
			size_t errlen)
{
	snprintf(err, errlen,
		 "this pvhc is a kvm-only build without the tcg backend (Unicorn); use --accel kvm");
	return -ENOTSUP;
}

const struct cpu_ops cpu_tcg_ops = {
	.name = "tcg",
	.probe = absent_probe,
};
