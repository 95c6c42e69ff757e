/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * I/O ports and exit statuses that pvhc payloads use. They are QEMU's own
 * conventions, so one image behaves the same under `pvhc run` and under
 * `qemu-system-x86_64 -kernel IMAGE -device isa-debug-exit,iobase=0xf4,iosize=4`.
 */
#ifndef _UAPI_PVHC_PORTS_H
#define _UAPI_PVHC_PORTS_H

/* 16550 UART, COM1. */
#define PVHC_PORT_COM1		0x3f8
#define PVHC_UART_THR		0	/* transmit holding register (write) */
#define PVHC_UART_LSR		5	/* line status register (read) */
#define PVHC_UART_LSR_THRE	0x20	/* transmit holding register empty */
#define PVHC_UART_LSR_TEMT	0x40	/* transmitter empty */

/*
 * isa-debug-exit: a write of V ends the VM with process exit status
 * (V << 1) | 1, exactly as QEMU does. Payloads use the values below.
 */
#define PVHC_PORT_DEBUG_EXIT	0xf4
#define PVHC_EXIT_PASS		0	/* process exit status 1 */
#define PVHC_EXIT_FAIL		1	/* process exit status 3 */
#define PVHC_EXIT_SKIP		2	/* process exit status 5 */
#define PVHC_EXIT_STATUS(v)	(((v) << 1) | 1)

/*
 * pvhc's host-only test port: a 32-bit write is a request to the host
 * (see PVHC_TEST_*). QEMU has no device here; writes are ignored.
 */
#define PVHC_PORT_TEST		0xf0
#define PVHC_TEST_MIGRATE	1	/* migrate now, if the host was told to */

/* QEMU's "Shutdown" port (a write of the string "Shutdown" ends the VM). */
#define PVHC_PORT_SHUTDOWN	0x8900

#endif /* _UAPI_PVHC_PORTS_H */
