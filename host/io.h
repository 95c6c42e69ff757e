/* SPDX-License-Identifier: GPL-2.0-only */
/* The port-I/O bus: devices claim port ranges; backends forward IN/OUT here. */
#ifndef PVHC_IO_H
#define PVHC_IO_H

#include <stdint.h>

struct vcpu;
struct vmstate;

struct io_handler {
	uint16_t base, len;
	const char *name;
	/* size is 1, 2 or 4; reads return the value, writes get it */
	uint32_t (*in)(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size);
	void (*out)(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size,
		    uint32_t value);
	void *opaque;
	const struct vmstate *vmstate;	/* the device's migratable state in opaque, or NULL */
};

#define IO_MAX_HANDLERS 16

struct io_bus {
	unsigned int nr;
	struct io_handler h[IO_MAX_HANDLERS];
};

int io_register(struct io_bus *bus, const struct io_handler *h);
/* Unclaimed ports read as all ones and ignore writes, as on a PC. */
uint32_t io_in(struct io_bus *bus, struct vcpu *vcpu, uint16_t port, unsigned int size);
void io_out(struct io_bus *bus, struct vcpu *vcpu, uint16_t port, unsigned int size,
	    uint32_t value);

#endif /* PVHC_IO_H */
