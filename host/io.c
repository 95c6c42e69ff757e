// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>

#include "io.h"

int io_register(struct io_bus *bus, const struct io_handler *h)
{
	if (bus->nr == IO_MAX_HANDLERS)
		return -ENOSPC;
	bus->h[bus->nr++] = *h;
	return 0;
}

static struct io_handler *io_find(struct io_bus *bus, uint16_t port)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++)
		if (port >= bus->h[i].base && port - bus->h[i].base < bus->h[i].len)
			return &bus->h[i];
	return NULL;
}

uint32_t io_in(struct io_bus *bus, struct vcpu *vcpu, uint16_t port, unsigned int size)
{
	struct io_handler *h = io_find(bus, port);
	uint32_t ones = size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;

	if (!h || !h->in)
		return ones;
	return h->in(vcpu, h->opaque, port, size) & ones;
}

void io_out(struct io_bus *bus, struct vcpu *vcpu, uint16_t port, unsigned int size,
	    uint32_t value)
{
	struct io_handler *h = io_find(bus, port);

	if (h && h->out)
		h->out(vcpu, h->opaque, port, size, value);
}
