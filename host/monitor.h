/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The control socket (--monitor unix:PATH): one JSON object per line each
 * way, in the spirit of QEMU's QMP. On connect the server greets with
 * {"PVHC": {...}}; then each {"execute": NAME, "arguments": {...}} gets
 * {"return": ...} or {"error": {"class": ..., "desc": ...}}. Commands:
 *   migrate {uri, live?}  start a migration (answers at once; poll query-migrate)
 *   query-migrate         status, bytes, pages, rounds, total-time, downtime, error
 *   stats                 what --stats writes
 *   stop / cont           pause / resume the guest
 *   quit                  end the VM (exit status 0)
 *   qmp_capabilities      accepted and ignored, for QMP clients
 */
#ifndef PVHC_MONITOR_H
#define PVHC_MONITOR_H

#include <stddef.h>

struct vm;

int monitor_start(struct vm *vm, const char *uri, char *err, size_t errlen);
void monitor_stop(struct vm *vm);

#endif /* PVHC_MONITOR_H */
