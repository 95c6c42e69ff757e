/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Declarative, versioned state descriptions in the spirit of QEMU's vmstate:
 * a device lists its migratable fields once; saving and loading walk the
 * list. On the wire every field carries its name and size, so a reader
 * fills the fields it knows, keeps defaults for fields the writer did not
 * have, and skips fields it does not know: adding a field needs no new
 * format, only a version bump for the record.
 */
#ifndef PVHC_VMSTATE_H
#define PVHC_VMSTATE_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

struct vmstate_field {
	const char *name;
	size_t offset;
	size_t size;		/* 1, 2, 4 or 8: an integer, little-endian on the wire */
};

struct vmstate {
	const char *name;	/* record name in the stream, at most 15 bytes */
	uint16_t version;
	const struct vmstate_field *fields;	/* terminated by a NULL name */
};

#define VMSTATE_FIELD(type, member) \
	{ #member, offsetof(type, member), sizeof(((type *)0)->member) }
#define VMSTATE_END { NULL, 0, 0 }

/* Append one record: name, version, then (name, size, value) per field. */
void vmstate_save(struct sbuf *b, const struct vmstate *vms, const void *obj);
/*
 * Read the record at r into obj if its name matches vms; returns 0, 1 if the
 * record belongs to another description (r unchanged), or -EINVAL with the
 * reason in err for a malformed record or a field of the wrong size.
 */
int vmstate_load(struct rbuf *r, const struct vmstate *vms, void *obj, char *err, size_t errlen);
/* The name of the record at r, without consuming it ("" if malformed). */
void vmstate_peek_name(const struct rbuf *r, char name[16]);
/* Skip the record at r. */
int vmstate_skip(struct rbuf *r);

#endif /* PVHC_VMSTATE_H */
