/* SPDX-License-Identifier: GPL-2.0-only */
/* What the shim did, for --stats (JSON), --trace (JSON lines) and the tests. */
#ifndef PVHC_STATS_H
#define PVHC_STATS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct hc_table;
struct hc_call;
struct vm;

struct rewrite_record {
	uint64_t gva;		/* linear address of the site */
	uint64_t gpa[2];	/* physical address of byte 0 and of byte 2 (differs if straddling) */
	uint8_t old_opcode, new_opcode;	/* third byte: 0xc1 vmcall, 0xd9 vmmcall */
	unsigned int vcpu;
	const char *host;	/* personality that rewrote it */
};

/* One hypercall site (by linear address) as the shim has seen it. */
struct site_stats {
	uint64_t gva;
	uint8_t first_opcode;	/* third byte when first seen */
	uint8_t opcode;		/* third byte now */
	uint64_t ud_traps;	/* foreign-opcode traps at this site */
	uint64_t rewrites;
	uint64_t hypercalls;	/* emulated at this site (slow and fast path) */
};

struct vm_stats {
	uint64_t hypercalls;
	uint64_t ud_traps;		/* #UD on a hypercall opcode foreign to the host */
	uint64_t rewrites;
	uint64_t sites_learned;		/* native sites given the in-emulation fast path */
	uint64_t slow_hypercalls;	/* hypercalls that stopped emulation */
	uint64_t exceptions[32];	/* exceptions the host delivered, by vector */
	uint64_t exceptions_other;
	uint32_t migrations;		/* times this guest arrived by migration */
	uint32_t vendor_switches;	/* ... from a host of the other vendor */
	struct rewrite_record *rw;
	size_t nr_rw, cap_rw;
	struct site_stats **sites;	/* stable pointers: the fast path keeps one */
	size_t nr_sites, cap_sites;
};

/* The record for the site at gva, created on first use; NULL if out of memory. */
struct site_stats *stats_site(struct vm_stats *st, uint64_t gva, uint8_t opcode);

int stats_add_rewrite(struct vm_stats *st, const struct rewrite_record *r);
void stats_free(struct vm_stats *st);
int stats_write_json(const struct vm *vm, FILE *f);

/* Trace lines (no-ops when the VM has no trace file). */
void trace_hypercall(struct vm *vm, unsigned int vcpu, uint64_t rip, const char *mode,
		     const struct hc_call *call, uint64_t ret, bool fast);
void trace_ud(struct vm *vm, unsigned int vcpu, uint64_t rip, unsigned int cpl,
	      const char *mode, const uint8_t bytes[3], const char *action);
void trace_exception(struct vm *vm, unsigned int vcpu, uint64_t rip, unsigned int vector,
		     uint32_t error, bool has_error);

#endif /* PVHC_STATS_H */
