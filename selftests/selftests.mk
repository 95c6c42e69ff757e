# SPDX-License-Identifier: GPL-2.0-only
#
# Build rules for the selftests, included by the top Makefile (which defines
# top, O, CC, HOST_CFLAGS, HOST_LDLIBS and the pvhc_payload function). The
# kselftest-style entry points live in selftests/Makefile.

include $(top)/selftests/tests.mk

SELFTESTS_O := $(O)/selftests
KSELFTEST_DIR := $(top)/build/kselftest
SELFTEST_CFLAGS := $(HOST_CFLAGS) -I$(KSELFTEST_DIR) -I$(top)/selftests/lib \
	-Wno-missing-prototypes -Wno-sign-compare -Wno-misleading-indentation
SELFTEST_BINS := $(addprefix $(SELFTESTS_O)/, $(TEST_GEN_PROGS))

# Static, kvm-only copies (no Unicorn, no sanitizers: see STATIC_* in
# host/host.mk) with pvhc beside them, for the QEMU AMD host, whose initramfs
# has no libc: scripts/test-selftests-kvm-amd.sh runs them there.
SELFTESTS_STATIC_O := $(O)/selftests-static
SELFTEST_STATIC_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(SELFTEST_CFLAGS))
SELFTEST_STATIC_BINS := $(addprefix $(SELFTESTS_STATIC_O)/, $(TEST_GEN_PROGS))

.PHONY: selftests selftests-static
selftests: $(SELFTEST_BINS) selftests-static
selftests-static: $(SELFTEST_STATIC_BINS) $(PVHC_STATIC)

$(KSELFTEST_DIR)/kselftest_harness.h:
	@$(top)/scripts/extract-kselftest.sh

$(SELFTESTS_O)/lib/test_util.o: $(top)/selftests/lib/test_util.c $(top)/selftests/lib/test_util.h \
		$(KSELFTEST_DIR)/kselftest_harness.h | deps
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -MMD -MP -c $< -o $@

-include $(SELFTESTS_O)/lib/test_util.d

$(O)/static/selftests/lib/test_util.o: $(top)/selftests/lib/test_util.c \
		$(top)/selftests/lib/test_util.h $(KSELFTEST_DIR)/kselftest_harness.h | deps
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_STATIC_CFLAGS) -c $< -o $@

# Guest part: payload images from the same source, via the runtime's function.
$(foreach t,$(PVHC_GUEST_TESTS),$(eval $(call pvhc_payload,selftest-$(t),selftests/x86/$(t).c,-I$(top)/selftests/lib)))

# A host-only test embeds empty payloads.
$(SELFTESTS_O)/empty.bin:
	@mkdir -p $(@D)
	: > $@

# embed.o per test: the two payloads (or none) as data in the host binary.
define selftest_rules
$(SELFTESTS_O)/$(1).embed.o: $(top)/selftests/lib/embed.S $(or $(2),$(SELFTESTS_O)/empty.bin) \
		$(or $(3),$(SELFTESTS_O)/empty.bin)
	@mkdir -p $$(@D)
	$(CC) -c -DPAYLOAD64='"$(or $(2),$(SELFTESTS_O)/empty.bin)"' \
		-DPAYLOAD32='"$(or $(3),$(SELFTESTS_O)/empty.bin)"' $$< -o $$@

$(SELFTESTS_O)/$(1).o: $(4) $(top)/selftests/lib/test_util.h $(KSELFTEST_DIR)/kselftest_harness.h | deps
	@mkdir -p $$(@D)
	$(CC) $(SELFTEST_CFLAGS) -MMD -MP -c $$< -o $$@

$(SELFTESTS_O)/$(1): $(SELFTESTS_O)/$(1).o $(SELFTESTS_O)/$(1).embed.o \
		$(SELFTESTS_O)/lib/test_util.o $(LIBPVHC)
	$(CC) $(HOST_LDFLAGS) -o $$@ $$^ $(HOST_LDLIBS)

$(O)/static/selftests/$(1).o: $(4) $(top)/selftests/lib/test_util.h \
		$(KSELFTEST_DIR)/kselftest_harness.h | deps
	@mkdir -p $$(@D)
	$(CC) $(SELFTEST_STATIC_CFLAGS) -MMD -MP -c $$< -o $$@

$(SELFTESTS_STATIC_O)/$(1): $(O)/static/selftests/$(1).o $(SELFTESTS_O)/$(1).embed.o \
		$(O)/static/selftests/lib/test_util.o $(LIBPVHC_KVM)
	@mkdir -p $$(@D)
	$(CC) $(STATIC_LDFLAGS) -o $$@ $$^ $(STATIC_LDLIBS)

-include $(SELFTESTS_O)/$(1).d $(O)/static/selftests/$(1).d
endef

$(foreach t,$(PVHC_GUEST_TESTS),$(eval $(call selftest_rules,$(t),$(O)/guest/selftest-$(t).64.elf,$(O)/guest/selftest-$(t).32.elf,$(top)/selftests/x86/$(t).c)))
$(foreach t,$(PVHC_HOST_TESTS),$(eval $(call selftest_rules,$(t),,,$(top)/selftests/host/$(t).c)))

CHECK_TESTS += $(SELFTEST_BINS)

-include $(top)/selftests/abi/abi.mk
-include $(top)/selftests/kvm/kvm.mk
-include $(top)/selftests/fuzz/fuzz.mk
