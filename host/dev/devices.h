/* SPDX-License-Identifier: GPL-2.0-only */
/* The PC devices pvhc models, at QEMU's ports, so one image behaves the same under both. */
#ifndef PVHC_DEVICES_H
#define PVHC_DEVICES_H

#include <stdint.h>
#include <stdio.h>

struct vm;

/* COM1 16550 UART at 0x3f8: transmit to out, LSR always reports the transmitter empty. */
int serial_init(struct vm *vm, FILE *out);
/* isa-debug-exit at 0xf4 (iosize 4): a write of V ends the run with status (V << 1) | 1. */
int debug_exit_init(struct vm *vm);
/* Port 0x8900: writing "Shutdown" powers the VM off (the old Bochs/QEMU BIOS port). */
int shutdown_port_init(struct vm *vm);
/* pvhc's test port at 0xf0: guest-timed requests to the host (migration). */
int test_port_init(struct vm *vm);
/*
 * Device models other parts of pvhc talk to directly (vm->devices): the
 * loader tells fw_cfg where it put the multiboot image.
 */
struct fw_cfg;
struct pc_devices {
	struct fw_cfg *fw_cfg;
};

/* QEMU's fw_cfg at 0x510/0x511 (host/dev/fw-cfg.c). */
int fw_cfg_init(struct vm *vm, struct pc_devices *devs);
/* The multiboot items: image at kernel_addr (kernel_size bytes), entry, information. */
void fw_cfg_add_multiboot(struct vm *vm, uint32_t kernel_addr, uint32_t kernel_size,
			  uint32_t entry, uint32_t info_addr);
/* Everything above, as `pvhc run` wires it (the local APICs live in struct vcpu). */
int devices_init(struct vm *vm, FILE *serial_out);
void devices_destroy(struct vm *vm);

#endif /* PVHC_DEVICES_H */
