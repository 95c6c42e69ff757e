// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stddef.h>

#include "mmio.h"

int mmio_register(struct mmio_bus *bus, const struct mmio_handler *h)
{
	if (bus->nr == MMIO_MAX_HANDLERS)
		return -ENOSPC;
	if ((h->base | h->len) & 0xfff || !h->len)
		return -EINVAL;
	bus->h[bus->nr++] = *h;
	return 0;
}

static struct mmio_handler *mmio_find(struct mmio_bus *bus, uint64_t gpa, unsigned int size)
{
	unsigned int i;

	for (i = 0; i < bus->nr; i++)
		if (gpa >= bus->h[i].base && gpa - bus->h[i].base + size <= bus->h[i].len)
			return &bus->h[i];
	return NULL;
}

bool mmio_read(struct mmio_bus *bus, struct vcpu *vcpu, uint64_t gpa, unsigned int size,
	       uint64_t *value)
{
	struct mmio_handler *h = mmio_find(bus, gpa, size);

	if (!h)
		return false;
	*value = h->read ? h->read(vcpu, h->opaque, gpa - h->base, size) : 0;
	return true;
}

bool mmio_write(struct mmio_bus *bus, struct vcpu *vcpu, uint64_t gpa, unsigned int size,
		uint64_t value)
{
	struct mmio_handler *h = mmio_find(bus, gpa, size);

	if (!h)
		return false;
	if (h->write)
		h->write(vcpu, h->opaque, gpa - h->base, size, value);
	return true;
}
