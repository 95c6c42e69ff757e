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

# Host-side helpers every selftest links (selftests/lib/*.c). They use the
# library's structures (struct vm_config, ...): every header is a
# prerequisite, so that an object built before its .d file existed is never
# kept with an old layout.
SELFTEST_LIBS := test_util migrate_util
SELFTEST_LIB_OBJS := $(SELFTEST_LIBS:%=$(SELFTESTS_O)/lib/%.o)
SELFTEST_STATIC_LIB_OBJS := $(SELFTEST_LIBS:%=$(O)/static/selftests/lib/%.o)
SELFTEST_LIB_HEADERS := $(wildcard $(top)/host/*.h $(top)/selftests/lib/*.h) \
	$(KSELFTEST_DIR)/kselftest_harness.h

$(SELFTESTS_O)/lib/%.o: $(top)/selftests/lib/%.c $(SELFTEST_LIB_HEADERS) | deps
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_CFLAGS) -MMD -MP -c $< -o $@

$(O)/static/selftests/lib/%.o: $(top)/selftests/lib/%.c $(SELFTEST_LIB_HEADERS) | deps
	@mkdir -p $(@D)
	$(CC) $(SELFTEST_STATIC_CFLAGS) -MMD -MP -c $< -o $@

-include $(SELFTEST_LIB_OBJS:.o=.d) $(SELFTEST_STATIC_LIB_OBJS:.o=.d)

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
		$(SELFTEST_LIB_OBJS) $(LIBPVHC)
	$(CC) $(HOST_LDFLAGS) -o $$@ $$^ $(HOST_LDLIBS)

$(O)/static/selftests/$(1).o: $(4) $(top)/selftests/lib/test_util.h \
		$(KSELFTEST_DIR)/kselftest_harness.h | deps
	@mkdir -p $$(@D)
	$(CC) $(SELFTEST_STATIC_CFLAGS) -MMD -MP -c $$< -o $$@

$(SELFTESTS_STATIC_O)/$(1): $(O)/static/selftests/$(1).o $(SELFTESTS_O)/$(1).embed.o \
		$(SELFTEST_STATIC_LIB_OBJS) $(LIBPVHC_KVM)
	@mkdir -p $$(@D)
	$(CC) $(STATIC_LDFLAGS) -o $$@ $$^ $(STATIC_LDLIBS)

-include $(SELFTESTS_O)/$(1).d $(O)/static/selftests/$(1).d
endef

$(foreach t,$(PVHC_GUEST_TESTS),$(eval $(call selftest_rules,$(t),$(O)/guest/selftest-$(t).64.elf,$(O)/guest/selftest-$(t).32.elf,$(top)/selftests/x86/$(t).c)))
$(foreach t,$(PVHC_HOST_TESTS),$(eval $(call selftest_rules,$(t),,,$(top)/selftests/host/$(t).c)))
shared_test = $(firstword $(subst :, ,$(1)))
shared_guest = $(O)/guest/selftest-$(lastword $(subst :, ,$(1)))
$(foreach t,$(PVHC_SHARED_GUEST_TESTS),$(eval $(call selftest_rules,$(call shared_test,$(t)),$(call shared_guest,$(t)).64.elf,$(call shared_guest,$(t)).32.elf,$(top)/selftests/x86/$(call shared_test,$(t)).c)))

CHECK_TESTS += $(SELFTEST_BINS)

-include $(top)/selftests/abi/abi.mk
-include $(top)/selftests/kvm/kvm.mk
-include $(top)/selftests/fuzz/fuzz.mk
