/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The MMIO bus: devices claim guest-physical ranges outside RAM; backends
 * forward the accesses there (tcg: Unicorn's MMIO regions, mapped when a vCPU
 * is created; kvm: KVM_EXIT_MMIO). The twin of io.c for memory-mapped devices.
 */
#ifndef PVHC_MMIO_H
#define PVHC_MMIO_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

struct mmio_handler {
	uint64_t base, len;	/* page-aligned */
	const char *name;
	/* offset is from base; size is 1, 2, 4 or 8 */
	uint64_t (*read)(struct vcpu *vcpu, void *opaque, uint64_t offset, unsigned int size);
	void (*write)(struct vcpu *vcpu, void *opaque, uint64_t offset, unsigned int size,
		      uint64_t value);
	void *opaque;
};

#define MMIO_MAX_HANDLERS 4

struct mmio_bus {
	unsigned int nr;
	struct mmio_handler h[MMIO_MAX_HANDLERS];
};

int mmio_register(struct mmio_bus *bus, const struct mmio_handler *h);
/* Is [gpa, gpa + size) a device's? Then read or write it and return true. */
bool mmio_read(struct mmio_bus *bus, struct vcpu *vcpu, uint64_t gpa, unsigned int size,
	       uint64_t *value);
bool mmio_write(struct mmio_bus *bus, struct vcpu *vcpu, uint64_t gpa, unsigned int size,
		uint64_t value);

#endif /* PVHC_MMIO_H */
