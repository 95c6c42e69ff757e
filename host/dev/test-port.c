// SPDX-License-Identifier: GPL-2.0-only
/*
 * pvhc's test port (PVHC_PORT_TEST, 0xf0): a guest asks its host to do
 * something at an exact point of its execution. PVHC_TEST_MIGRATE starts the
 * migration given with --migrate-to when --migrate-on-port is set. QEMU has
 * nothing at this port, so the same image ignores it there.
 */
#include <pvhc/ports.h>

#include "dev/devices.h"
#include "vm.h"

static void test_port_out(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size,
			  uint32_t value)
{
	struct vm *vm = vcpu->vm;

	if (value == PVHC_TEST_MIGRATE && vm->cfg.migrate_to && vm->cfg.migrate_on_port)
		vm->mig_trigger = true;
}

int test_port_init(struct vm *vm)
{
	return io_register(&vm->io, &(struct io_handler){
		.base = PVHC_PORT_TEST, .len = 4, .name = "pvhc-test",
		.out = test_port_out,
	});
}
