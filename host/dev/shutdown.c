// SPDX-License-Identifier: GPL-2.0-only
/*
 * The "Shutdown" port at 0x8900 of the old Bochs BIOS, which kvm-unit-tests
 * writes when it has no isa-debug-exit. QEMU 7.2 has no device there and the
 * guest then halts forever; pvhc powers off instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pvhc/ports.h>

#include "dev/devices.h"
#include "vm.h"
#include "vmstate.h"

static const char shutdown_word[] = "Shutdown";

struct shutdown_port {
	uint64_t matched;	/* bytes of "Shutdown" seen so far */
};

static const struct vmstate_field shutdown_fields[] = {
	VMSTATE_FIELD(struct shutdown_port, matched),
	VMSTATE_END,
};

static const struct vmstate shutdown_vmstate = { "shutdown-port", 1, shutdown_fields };

static void shutdown_out(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size,
			 uint32_t value)
{
	struct shutdown_port *sp = opaque;
	char c = (char)value;

	if (sp->matched >= strlen(shutdown_word))
		sp->matched = 0;	/* a bad value from a stream must not index past the word */
	if (c == shutdown_word[sp->matched])
		sp->matched++;
	else
		sp->matched = (c == shutdown_word[0]);
	if (sp->matched == strlen(shutdown_word))
		vm_request_exit(vcpu->vm, VM_POWEROFF, 0, "guest wrote \"Shutdown\" to port 0x8900");
}

int shutdown_port_init(struct vm *vm)
{
	struct shutdown_port *sp = calloc(1, sizeof(*sp));
	int ret;

	if (!sp)
		return -ENOMEM;
	ret = io_register(&vm->io, &(struct io_handler){
		.base = PVHC_PORT_SHUTDOWN, .len = 1, .name = "shutdown",
		.out = shutdown_out, .opaque = sp, .vmstate = &shutdown_vmstate,
	});
	if (ret)
		free(sp);
	return ret;
}
