/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * CPU backends behind one interface: "tcg" (Unicorn, where pvhc itself is the
 * hypervisor and does the #UD rewrite) and "kvm" (a real /dev/kvm, where the
 * kernel does). The run loop in vm.c sees only these operations.
 */
#ifndef PVHC_CPU_H
#define PVHC_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "x86.h"

struct vcpu;
struct vm;
struct vm_config;
struct vendor;

/* Why cpu_ops.run() returned. */
enum vcpu_exit {
	VCPU_EXIT_HLT,		/* the guest executed HLT */
	VCPU_EXIT_STOP,		/* the VM asked to stop (device exit, crash, timeout, ...) */
	VCPU_EXIT_YIELD,	/* the guest asked to yield (SCHED_YIELD) */
	VCPU_EXIT_PREEMPT,	/* its time slice is over (several vCPUs) */
	VCPU_EXIT_AGAIN,	/* the backend needed a restart; nothing for the VM to do */
};

struct cpu_ops {
	const char *name;
	/*
	 * Before anything is allocated: can this backend run cfg on this
	 * machine, and with which host personality (*vendor; cfg->vendor NULL
	 * asks for the backend's default). -EINVAL: cfg contradicts the
	 * machine (a usage error); any other error: the backend cannot run
	 * here. err says why in one line.
	 */
	int (*probe)(const struct vm_config *cfg, const struct vendor **vendor, char *err,
		     size_t errlen);
	/* Per-VM setup after RAM exists (maps it into the backend). */
	int (*vm_init)(struct vm *vm, char *err, size_t errlen);
	void (*vm_destroy)(struct vm *vm);
	int (*vcpu_init)(struct vcpu *vcpu, char *err, size_t errlen);
	void (*vcpu_destroy)(struct vcpu *vcpu);
	/* Run until an exit; a crash or error is recorded in the VM and returns STOP. */
	enum vcpu_exit (*run)(struct vcpu *vcpu);
	/* Make a running run() return soon; callable from any thread. */
	void (*kick)(struct vcpu *vcpu);
	/*
	 * Optional, on the vCPU's own thread before it parks (pause,
	 * migration): finish what the backend left half done, so that the
	 * state getters see an instruction boundary. KVM completes a port
	 * I/O only on the next KVM_RUN (RIP stays on the IN/OUT until then).
	 */
	int (*quiesce)(struct vcpu *vcpu);
	int (*get_regs)(struct vcpu *vcpu, struct x86_regs *r);
	int (*set_regs)(struct vcpu *vcpu, const struct x86_regs *r);
	int (*get_sregs)(struct vcpu *vcpu, struct x86_sregs *s);
	int (*set_sregs)(struct vcpu *vcpu, const struct x86_sregs *s);
	int (*get_fpu)(struct vcpu *vcpu, struct x86_fpu *f);
	int (*set_fpu)(struct vcpu *vcpu, const struct x86_fpu *f);
	/*
	 * The MSRs of x86_saved_msrs[]: get fills all this backend has (kvm:
	 * those KVM_GET_MSRS accepts), set writes those given.
	 */
	int (*get_msrs)(struct vcpu *vcpu, struct x86_msrs *m);
	int (*set_msrs)(struct vcpu *vcpu, const struct x86_msrs *m);
	/*
	 * Optional, needed for interrupts (IPIs): deliver an external
	 * interrupt through the guest's IDT now, between runs; and whether the
	 * one-instruction shadow after STI or MOV SS blocks one at this point.
	 */
	void (*inject_interrupt)(struct vcpu *vcpu, uint8_t vector);
	bool (*interrupt_shadow)(struct vcpu *vcpu);
	/*
	 * Optional: one MSR whose state the CPU model keeps (EFER, segment
	 * bases, ...), for the guest's RDMSR/WRMSR once host/msr.c allowed it.
	 * Backends that run those instructions in hardware leave them NULL.
	 */
	int (*read_msr)(struct vcpu *vcpu, uint32_t index, uint64_t *value);
	int (*write_msr)(struct vcpu *vcpu, uint32_t index, uint64_t value);
	/*
	 * Optional: the backend's complete private CPU state, for an exact
	 * restore by the same backend and build (blob_id names both). get
	 * returns its size (0: none), set fails unless id and size match.
	 */
	uint32_t blob_id;
	size_t (*get_blob)(struct vcpu *vcpu, void *buf, size_t cap);
	int (*set_blob)(struct vcpu *vcpu, const void *buf, size_t len);
};

extern const struct cpu_ops cpu_tcg_ops;
extern const struct cpu_ops cpu_kvm_ops;

/* The backend named name ("tcg" or "kvm"), or NULL. */
const struct cpu_ops *cpu_ops_by_name(const char *name);

#endif /* PVHC_CPU_H */
