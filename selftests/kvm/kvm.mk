# SPDX-License-Identifier: GPL-2.0-only
#
# selftests/kvm: programs that run against a real /dev/kvm. Included by the
# top Makefile, which defines $(top) and $(O).
#
# kvm_amd_probe is static: it runs inside the initramfs of the QEMU-emulated
# AMD host (scripts/kvm-amd-host.sh), which has no libc. It is built without
# the sanitizers even with SANITIZE=1, which cannot link statically.

O ?= $(top)/build/out
KVM_SELFTESTS_O := $(O)/selftests/kvm
KVM_STATIC_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter \
	-I$(top)/include/uapi

.PHONY: kvm-selftests
selftests: kvm-selftests
kvm-selftests: $(KVM_SELFTESTS_O)/kvm_amd_probe

$(KVM_SELFTESTS_O)/kvm_amd_probe: $(top)/selftests/kvm/kvm_amd_probe.c \
		$(top)/include/uapi/pvhc/hypercall.h $(top)/selftests/kvm/kvm.mk
	@mkdir -p $(@D)
	$(CC) $(KVM_STATIC_CFLAGS) -static -o $@ $<

# kvm_amd_probe and the whole selftest suite on the AMD host with the kvm
# backend (one boot), and the differential check of the emulated AMD host
# against it. scripts/test-kvm-amd-host.sh runs the probe alone.
CHECK_TESTS += $(top)/scripts/test-selftests-kvm-amd.sh
