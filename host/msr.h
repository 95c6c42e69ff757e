/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * RDMSR, WRMSR (and RDPMC) on the emulated hosts: which MSRs exist and what
 * each access does, decided in one place. The backend traps the instruction
 * (host/tcg-exits.c), asks here, and either completes it or delivers the
 * #GP(0) a real CPU raises for an MSR it does not have.
 */
#ifndef PVHC_MSR_H
#define PVHC_MSR_H

#include <stdint.h>

#include "x86.h"

struct vcpu;

/*
 * RDMSR of index by vcpu, whose control state is s: 0 with the value, or
 * -EINVAL when the CPU raises #GP(0) instead.
 */
int msr_rdmsr(struct vcpu *vcpu, const struct x86_sregs *s, uint32_t index, uint64_t *value);
/* WRMSR: 0 once written (or deliberately ignored), -EINVAL for #GP(0). */
int msr_wrmsr(struct vcpu *vcpu, const struct x86_sregs *s, uint32_t index, uint64_t value);
/*
 * RDPMC of counter index at CPL cpl: 0 with the value, -EINVAL for #GP(0).
 * The counters are those of the PMU MSRs above: none on Intel, the four K7
 * ones on AMD, which read 0 (Unicorn's CPU model raises #UD for RDPMC).
 */
int msr_rdpmc(struct vcpu *vcpu, const struct x86_sregs *s, unsigned int cpl, uint32_t index,
	      uint64_t *value);

#endif /* PVHC_MSR_H */
