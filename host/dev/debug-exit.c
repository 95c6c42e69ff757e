// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's isa-debug-exit (iobase=0xf4, iosize=4): any write ends the VM and
 * the process exits with (value << 1) | 1, so a guest can report pass or fail
 * and never be mistaken for a clean exit 0. Reads return all ones.
 */
#include <pvhc/ports.h>

#include "dev/devices.h"
#include "vm.h"

static void debug_exit_out(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size,
			   uint32_t value)
{
	vm_request_exit(vcpu->vm, VM_EXITED, (int)value, "guest wrote 0x%x to isa-debug-exit",
			value);
}

int debug_exit_init(struct vm *vm)
{
	return io_register(&vm->io, &(struct io_handler){
		.base = PVHC_PORT_DEBUG_EXIT, .len = 4, .name = "isa-debug-exit",
		.out = debug_exit_out,
	});
}
