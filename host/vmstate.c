// SPDX-License-Identifier: GPL-2.0-only
/*
 * Record layout: char name[16] (NUL-padded), u16 version, u16 nfields, then
 * per field: u8 name length, name bytes, u8 size, value (size bytes).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmstate.h"

#define VMSTATE_NAME_LEN 16

void vmstate_save(struct sbuf *b, const struct vmstate *vms, const void *obj)
{
	char name[VMSTATE_NAME_LEN] = { 0 };
	const struct vmstate_field *f;
	uint16_t n = 0;

	for (f = vms->fields; f->name; f++)
		n++;
	strncpy(name, vms->name, sizeof(name) - 1);
	sbuf_put(b, name, sizeof(name));
	sbuf_u16(b, vms->version);
	sbuf_u16(b, n);
	for (f = vms->fields; f->name; f++) {
		sbuf_u8(b, (uint8_t)strlen(f->name));
		sbuf_put(b, f->name, strlen(f->name));
		sbuf_u8(b, (uint8_t)f->size);
		sbuf_put(b, (const uint8_t *)obj + f->offset, f->size);
	}
}

void vmstate_peek_name(const struct rbuf *r, char name[16])
{
	memset(name, 0, VMSTATE_NAME_LEN);
	if (rbuf_left(r) >= VMSTATE_NAME_LEN) {
		memcpy(name, r->p + r->pos, VMSTATE_NAME_LEN - 1);
	}
}

static int walk(struct rbuf *r, const struct vmstate *vms, void *obj, char *err, size_t errlen)
{
	const uint8_t *name = rbuf_get(r, VMSTATE_NAME_LEN);
	uint16_t n, i;

	rbuf_u16(r);	/* version: fields are matched by name, so any version loads */
	n = rbuf_u16(r);
	if (!name || r->overrun)
		goto bad;
	for (i = 0; i < n; i++) {
		uint8_t nlen = rbuf_u8(r), size;
		const uint8_t *fname = rbuf_get(r, nlen);
		const uint8_t *val;
		const struct vmstate_field *f;

		size = rbuf_u8(r);
		val = rbuf_get(r, size);
		if (!fname || !val)
			goto bad;
		if (!vms)
			continue;
		for (f = vms->fields; f->name; f++) {
			if (strlen(f->name) != nlen || memcmp(f->name, fname, nlen))
				continue;
			if (f->size != size) {
				snprintf(err, errlen, "device %s field %s has %u bytes, expected %zu",
					 vms->name, f->name, size, f->size);
				return -EINVAL;
			}
			memcpy((uint8_t *)obj + f->offset, val, size);
		}
	}
	return 0;
bad:
	snprintf(err, errlen, "malformed device record");
	return -EINVAL;
}

int vmstate_load(struct rbuf *r, const struct vmstate *vms, void *obj, char *err, size_t errlen)
{
	char name[VMSTATE_NAME_LEN];

	vmstate_peek_name(r, name);
	if (strcmp(name, vms->name))
		return 1;
	return walk(r, vms, obj, err, errlen);
}

int vmstate_skip(struct rbuf *r)
{
	char err[8];

	return walk(r, NULL, NULL, err, sizeof(err));
}
