# SPDX-License-Identifier: GPL-2.0-only
# The host shim: libpvhc.a (the VMM library) and the pvhc command.

HOST_SRCS := $(addprefix host/, x86.c guest-mem.c guest-pt.c vendor.c cpuid.c hypercall.c \
	ud-fixup.c exception.c io.c stats.c loader.c vm.c tcg-state.c cpu-tcg.c \
	crc32.c stream.c vmstate.c migrate.c migrate-channel.c migrate-job.c dirty-log.c \
	monitor.c \
	dev/serial.c dev/debug-exit.c dev/shutdown.c dev/test-port.c dev/devices.c)
HOST_OBJS := $(HOST_SRCS:%.c=$(O)/%.o)
LIBPVHC := $(O)/libpvhc.a
PVHC := $(O)/pvhc

.PHONY: host
host: $(PVHC)

$(O)/host/%.o: host/%.c $(UNICORN_LIB) | deps
	@mkdir -p $(dir $@)
	$(CC) $(HOST_CFLAGS) -MMD -MP -c $< -o $@

$(LIBPVHC): $(HOST_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(PVHC): $(O)/host/main.o $(LIBPVHC)
	$(CC) $(HOST_LDFLAGS) -o $@ $^ $(HOST_LDLIBS)

$(UNICORN_LIB):
	@$(top)/scripts/install-deps.sh

-include $(HOST_OBJS:.o=.d) $(O)/host/main.d
