/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Migration: the VM state as stream sections (migrate.c, format in
 * host/migration.md), the transports and the acknowledgement
 * (migrate-channel.c), and the job that moves a running VM
 * (migrate-job.c).
 */
#ifndef PVHC_MIGRATE_H
#define PVHC_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stream.h"

struct vm;
struct vm_config;

enum mig_section {
	SEC_CONFIG = 1,		/* required, first */
	SEC_RAM = 2,		/* required (possibly empty), repeated */
	SEC_CPU = 3,		/* required, one per vCPU */
	SEC_TCG_CPU = 4,	/* optional: exact Unicorn CPU state */
	SEC_DEVICES = 5,	/* required */
	SEC_SHIM = 6,		/* optional: the shim's counters and per-site records */
	SEC_LAPIC = 7,		/* optional: local APIC state, one per vCPU */
	SEC_PDPTRS = 8,		/* optional: a vCPU's PDPTE registers, before its CPU */
	SEC_END = 0xffffffffu,
};

#define RAM_CHUNK_PAGES 1024	/* pages per RAM section at most */
#define RAM_DESC_ZERO	1ull	/* the page is all zeros: no data follows */

/* ---- the format (migrate.c) ---- */

/* Write the CONFIG section. */
int mig_put_config(struct vm *vm, struct stream *s);
/*
 * Queue a page for sending; RAM sections are written as chunks fill.
 * zero_known: the page is zero and the receiver may hold old data for it.
 */
struct ram_writer {
	struct stream *s;
	uint64_t desc[RAM_CHUNK_PAGES];
	/*
	 * Page contents are copied here when queued: while a live migration
	 * runs, the guest may write a page at any moment, and a section must
	 * carry exactly the bytes its CRC covers (a torn page is sent again,
	 * the dirty log saw the write).
	 */
	uint8_t *data;
	unsigned int nr, nr_data;
	uint64_t pages_sent, zero_pages, bytes;
};
int ram_writer_init(struct ram_writer *w, struct stream *s);
void ram_writer_destroy(struct ram_writer *w);
/* Send page gpa; a zero page is skipped unless send_zero (the receiver may have old data). */
int ram_writer_page(struct ram_writer *w, struct vm *vm, uint64_t gpa, bool send_zero);
int ram_writer_flush(struct ram_writer *w);
/* Everything but RAM: vCPUs, devices, the shim; then END. The vCPUs must be stopped. */
int mig_put_state(struct vm *vm, struct stream *s);

/*
 * Receive a whole stream into a new VM. base supplies the destination's own
 * settings (host personality, backend, output); the stream supplies memory
 * size, vCPUs and CPUID. mem_limit bounds the RAM a stream may claim.
 * Returns NULL with one line in err if the stream is refused at any point;
 * the partly built VM is destroyed, never run. errno is then EINVAL when
 * the stream, or what it asks of this host, is refused, and another value
 * when this host failed to build a VM at all.
 */
struct vm *mig_load(const struct vm_config *base, struct stream *s, uint64_t mem_limit,
		    char *err, size_t errlen);

/* ---- transports (migrate-channel.c) ---- */

enum mig_uri_kind { URI_TCP, URI_FD, URI_FILE, URI_UNIX };

struct mig_uri {
	enum mig_uri_kind kind;
	char host[256];
	char port[16];
	int fd;
	char path[4096];
};

int mig_parse_uri(const char *text, struct mig_uri *u, char *err, size_t errlen);
/* Source side: connect (TCP retries for up to timeout_ms), create the file, or use the fd. */
int mig_open_out(const struct mig_uri *u, int timeout_ms, char *err, size_t errlen);
/* Destination side: listen and accept one connection, open the file, or use the fd. */
int mig_open_in(const struct mig_uri *u, char *err, size_t errlen);
/* Whether the fd can carry the destination's acknowledgement back. */
bool mig_fd_is_bidirectional(int fd);
/* The destination's verdict: "PVHC-ACK OK" or "PVHC-ACK ERR <reason>". */
int mig_send_ack(struct stream *s, const char *error);
int mig_wait_ack(struct stream *s, char *err, size_t errlen);

/* ---- the job (migrate-job.c) ---- */

struct mig_params {
	bool live;
	unsigned int max_rounds;	/* pre-copy rounds before stopping anyway */
	uint64_t stop_pages;		/* stop and copy once a round dirtied at most this many */
	int timeout_ms;			/* per transfer step and for the acknowledgement */
	bool progress;			/* a progress line on stderr (when it is a terminal) */
};

enum mig_state { MIG_NONE, MIG_ACTIVE, MIG_COMPLETED, MIG_FAILED };

struct mig_status {
	enum mig_state state;
	char uri[300];
	uint64_t bytes, pages, zero_pages, rounds, dirty_last;
	uint64_t ram_total;
	double total_ms, downtime_ms;
	char error[256];
};

struct mig_params mig_default_params(void);
/* Start migrating vm to uri in the background; -EBUSY if one is active. */
int mig_start(struct vm *vm, const char *uri, const struct mig_params *p, char *err,
	      size_t errlen);
void mig_get_status(struct vm *vm, struct mig_status *st);
/* Wait for the background job (if any) to finish; free it with the VM. */
void mig_join(struct vm *vm);
void mig_free(struct vm *vm);

#endif /* PVHC_MIGRATE_H */
