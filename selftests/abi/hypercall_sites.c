// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guest hypercall API as guest code uses it: scripts/test-guest-api.sh
 * compiles this with gcc and clang at several -O levels, -m32 and -m64,
 * and scripts/check-hypercall-asm.py checks every site's machine code.
 */
#include <pvhc/kvm_hypercall.h>

#include "sites.h"
