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

/*
 * QEMU's fw_cfg, traditional interface: a 16-bit write of a key to the
 * selector port, then 8-bit reads of the item's bytes (from either port).
 * Keys as QEMU numbers them; integers are little-endian.
 */
#define PVHC_PORT_FW_CFG_SEL	0x510
#define PVHC_PORT_FW_CFG_DATA	0x511
#define PVHC_FW_CFG_SIGNATURE	0x00	/* "QEMU" */
#define PVHC_FW_CFG_ID		0x01	/* u32 interface features: bit 0 traditional */
#define PVHC_FW_CFG_RAM_SIZE	0x03	/* u64 bytes */
#define PVHC_FW_CFG_NB_CPUS	0x05	/* u16 vCPUs */
#define PVHC_FW_CFG_KERNEL_ADDR	0x07	/* u32 multiboot image load address */
#define PVHC_FW_CFG_KERNEL_SIZE	0x08	/* u32 */
#define PVHC_FW_CFG_INITRD_ADDR	0x0a	/* u32 multiboot information address */
#define PVHC_FW_CFG_INITRD_SIZE	0x0b	/* u32 */
#define PVHC_FW_CFG_MAX_CPUS	0x0f	/* u16 */
#define PVHC_FW_CFG_KERNEL_ENTRY 0x10	/* u32 */
#define PVHC_FW_CFG_KERNEL_DATA	0x11	/* the image's bytes */
#define PVHC_FW_CFG_INITRD_DATA	0x12	/* the multiboot information's bytes */
#define PVHC_FW_CFG_IRQ0_OVERRIDE 0x8002 /* u32 */

/* The local APIC's register page (xAPIC), guest-physical. */
#define PVHC_LAPIC_BASE		0xfee00000

#endif /* _UAPI_PVHC_PORTS_H */
