// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "dev/devices.h"
#include "vm.h"

int devices_init(struct vm *vm, FILE *serial_out)
{
	struct pc_devices *devs = calloc(1, sizeof(*devs));
	int ret;

	if (!devs)
		return -ENOMEM;
	vm->devices = devs;
	ret = serial_init(vm, serial_out);
	if (!ret)
		ret = debug_exit_init(vm);
	if (!ret)
		ret = shutdown_port_init(vm);
	if (!ret)
		ret = test_port_init(vm);
	if (!ret)
		ret = fw_cfg_init(vm, devs);
	return ret;
}

void devices_destroy(struct vm *vm)
{
	unsigned int i;

	for (i = 0; i < vm->io.nr; i++)
		free(vm->io.h[i].opaque);
	vm->io.nr = 0;
	free(vm->devices);
	vm->devices = NULL;
}
