/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A VM: guest RAM, vCPUs, devices, the hypercall table, a CPU backend and a
 * host personality; and the run loop. This is also the C API for programs
 * that embed the host library:
 *
 *	struct vm_config cfg = vm_default_config();
 *	struct vm *vm = vm_create(&cfg, err, sizeof(err));
 *	vm_register_hypercall(vm, 0x1234, "MY_CALL", 2, my_fn, my_data);
 *	vm_load_multiboot(vm, "guest.elf", NULL, NULL, err, sizeof(err));
 *	int status = vm_run(vm);	// the process exit status `pvhc run` uses
 *	vm_destroy(vm);
 */
#ifndef PVHC_VM_H
#define PVHC_VM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu.h"
#include "cpuid.h"
#include "dev/lapic.h"
#include "guest-mem.h"
#include "hypercall.h"
#include "io.h"
#include "smp.h"
#include "stats.h"
#include "vendor.h"

#define VM_MAX_VCPUS 64
#define VM_MIN_MEM (2ull << 20)
#define VM_MAX_MEM (64ull << 30)

/* Process exit statuses of `pvhc run` besides the guest's isa-debug-exit value. */
enum pvhc_status {
	PVHC_STATUS_POWEROFF = 0,	/* the guest shut down ("Shutdown" at 0x8900) */
	PVHC_STATUS_USAGE = 2,		/* bad command line or bad input (image, stream) */
	PVHC_STATUS_CRASH = 4,		/* guest crash: triple fault, hang in HLT, bad access */
	PVHC_STATUS_TIMEOUT = 6,	/* --timeout expired */
	PVHC_STATUS_HOST_ERROR = 8,	/* pvhc itself failed (out of memory, backend error) */
	PVHC_STATUS_MIGRATED = 10,	/* the guest now runs on the migration destination */
	/* odd statuses 1..255: isa-debug-exit value V as (V << 1) | 1, QEMU's mapping */
};

struct vm_config {
	/*
	 * Host personality; NULL: the backend's default (tcg: intel; kvm: the
	 * real CPU's vendor, the only one it accepts).
	 */
	const struct vendor *vendor;
	const struct cpu_ops *backend;	/* cpu_tcg_ops (default) or cpu_kvm_ops */
	uint64_t mem_size;
	unsigned int nr_vcpus;
	bool fix_hypercall;		/* KVM_X86_QUIRK_FIX_HYPERCALL_INSN */
	/*
	 * The guest's CPUID when it already has one (an incoming migration):
	 * used as it is, never rebuilt or adjusted to this host, which refuses
	 * the guest in probe() if it lacks a feature the table promises. NULL:
	 * a new guest gets the host personality's. vm_create() copies it into
	 * vm->cpuid and does not keep the pointer.
	 */
	const struct cpuid_table *cpuid;
	double timeout;			/* seconds; 0 = none */
	FILE *serial_out;		/* COM1 output; NULL = stdout */
	/*
	 * The VM may be paused and resumed (monitor, migration): stops must
	 * land on instruction boundaries, which costs the emulated hosts a
	 * check per translated block.
	 */
	bool resumable_stops;
	/* Test triggers for migration (pvhc run --migrate-*), all need migrate_to. */
	const char *migrate_to;		/* destination URI */
	bool migrate_live;
	bool migrate_on_port;		/* when the guest writes PVHC_TEST_MIGRATE to the test port */
	bool migrate_at_insn_set;
	uint64_t migrate_at_insn;	/* before the instruction after this many (tcg) */
	uint64_t migrate_after_ud;	/* right after the Nth foreign-opcode #UD, before re-execution */
};

enum vm_state {
	VM_RUNNING,
	VM_EXITED,	/* isa-debug-exit */
	VM_POWEROFF,
	VM_CRASHED,
	VM_TIMED_OUT,
	VM_FAILED,	/* host-side error */
	VM_MIGRATED,	/* handed over to a migration destination */
};

struct mig_job;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	uint32_t apic_id;
	void *backend;		/* backend-private state */
	enum vcpu_run_state state;
	struct lapic lapic;
	bool kicked;		/* a wake-up arrived (KICK_CPU) */
	bool kick_for_irq;	/* a lone vCPU: kick() takes it out at a block start */
	bool irq_window_wanted;	/* a pending interrupt waits for IF or the STI shadow */
	bool yield_requested;	/* leave the backend: SCHED_YIELD */
	bool yield_to_valid;	/* ... in favour of the vCPU with APIC ID yield_to */
	uint32_t yield_to;
};

struct vm {
	struct vm_config cfg;
	const struct vendor *vendor;	/* current host personality */
	struct cpuid_table cpuid;	/* the guest's, fixed at creation */
	bool cpuid_carried;		/* it came with the guest (cfg.cpuid) */
	struct guest_mem mem;
	unsigned int nr_vcpus;
	struct vcpu *vcpus[VM_MAX_VCPUS];
	struct vcpu *running;		/* the vCPU inside cpu_ops.run(), or NULL */
	struct io_bus io;
	struct hc_table hc;
	struct vm_stats stats;
	FILE *trace;			/* --trace: one JSON object per line */
	void *backend;			/* backend-private per-VM state */
	void *devices;			/* device models (host/dev) */

	volatile enum vm_state state;
	int exit_value;			/* isa-debug-exit value */
	char exit_reason[256];
	pthread_mutex_t lock;		/* guards state, pause and running */
	pthread_cond_t cond;		/* pause handshake */
	bool pause_req, parked;
	volatile bool mig_trigger;	/* a test trigger fired on the vCPU thread */
	struct mig_job *mig;		/* the migration job, once one started */
	void *monitor;			/* --monitor's server, if any */
};

struct vm_config vm_default_config(void);
/* 0, or -EINVAL with the reason in err (a usage error, not a host failure). */
int vm_config_check(const struct vm_config *cfg, char *err, size_t errlen);
/*
 * NULL on failure, with the reason in err and errno set: EINVAL when cfg
 * contradicts what the backend can do on this machine (a usage error, e.g. a
 * --host that is not the real CPU on kvm), anything else for a host failure.
 */
struct vm *vm_create(const struct vm_config *cfg, char *err, size_t errlen);
void vm_destroy(struct vm *vm);
int vm_register_hypercall(struct vm *vm, uint64_t nr, const char *name, unsigned int nargs,
			  hc_fn fn, void *opaque);
/* Load a multiboot v1 image and set up vCPU 0 for its entry (loader.c). */
int vm_load_multiboot(struct vm *vm, const char *path, const char *cmdline,
		      const char *modules, char *err, size_t errlen);
/* The same from an image in memory; path names it in messages and the command line. */
int vm_load_multiboot_image(struct vm *vm, const char *path, const void *data, size_t size,
			    const char *cmdline, const char *modules, char *err, size_t errlen);
/* Run until the guest exits, crashes or times out; returns the exit status. */
int vm_run(struct vm *vm);
int vm_exit_status(const struct vm *vm);

/* Called by devices and backends to end the run (first caller wins). */
void vm_request_exit(struct vm *vm, enum vm_state state, int value, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/*
 * Stop the vCPUs at an instruction boundary and keep them parked (monitor
 * "stop", migration). Returns 0 once parked, -ESHUTDOWN if the VM ended.
 * vm_request_pause() only asks (for use on the vCPU thread itself).
 */
int vm_pause(struct vm *vm);
void vm_request_pause(struct vm *vm);
void vm_resume(struct vm *vm);
/* Something for the run loop to act on: the backend should return from run(). */
static inline bool vm_needs_attention(const struct vm *vm)
{
	return vm->state != VM_RUNNING || vm->mig_trigger || vm->pause_req;
}

#endif /* PVHC_VM_H */
