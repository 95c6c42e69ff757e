# SPDX-License-Identifier: GPL-2.0-only
# The host shim: libpvhc.a (the VMM library) and the pvhc command.

HOST_SRCS := $(addprefix host/, x86.c guest-mem.c guest-pt.c vendor.c cpuid.c hypercall.c \
	ud-fixup.c exception.c io.c msr.c stats.c loader.c vm.c cpu.c cpu-kvm.c tcg-state.c \
	tcg-exits.c cpu-tcg.c \
	crc32.c stream.c vmstate.c migrate.c migrate-channel.c migrate-job.c dirty-log.c \
	monitor.c smp.c \
	dev/serial.c dev/debug-exit.c dev/shutdown.c dev/test-port.c dev/fw-cfg.c dev/lapic.c \
	dev/devices.c)
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

# The static, kvm-only pvhc and library that run inside the QEMU AMD host
# (scripts/kvm-amd-host.sh, whose initramfs has no libc). Without Unicorn
# (host/cpu-tcg-absent.c takes the tcg backend's place) each binary is about
# 1 MB instead of 17. The sanitizers cannot link statically, so with
# SANITIZE=1 these objects are compiled again without them, under $(O)/static.
STATIC_HOST_SRCS := $(filter-out host/cpu-tcg.c host/tcg-state.c host/tcg-exits.c,$(HOST_SRCS)) \
	host/cpu-tcg-absent.c
STATIC_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(HOST_CFLAGS))
STATIC_LDFLAGS := -static -Wl,--strip-debug
STATIC_LDLIBS := -lpthread -lm -lrt
ifeq ($(SANITIZE),1)
STATIC_OBJ := $(O)/static
$(STATIC_OBJ)/host/%.o: host/%.c | deps
	@mkdir -p $(dir $@)
	$(CC) $(STATIC_CFLAGS) -MMD -MP -c $< -o $@
else
STATIC_OBJ := $(O)
endif
STATIC_HOST_OBJS := $(STATIC_HOST_SRCS:%.c=$(STATIC_OBJ)/%.o)
LIBPVHC_KVM := $(O)/static/libpvhc-kvm.a
PVHC_STATIC := $(O)/selftests-static/pvhc

.PHONY: host-static
host-static: $(PVHC_STATIC)

$(LIBPVHC_KVM): $(STATIC_HOST_OBJS)
	@mkdir -p $(dir $@)
	@rm -f $@
	ar rcs $@ $^

$(PVHC_STATIC): $(STATIC_OBJ)/host/main.o $(LIBPVHC_KVM)
	@mkdir -p $(dir $@)
	$(CC) $(STATIC_LDFLAGS) -o $@ $^ $(STATIC_LDLIBS)

-include $(STATIC_HOST_OBJS:.o=.d)
