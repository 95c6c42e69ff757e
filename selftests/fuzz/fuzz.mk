# SPDX-License-Identifier: GPL-2.0-only
# libFuzzer targets. The host library is compiled again with clang, coverage
# instrumentation and ASan + UBSan (whatever SANITIZE says), into $(O)/fuzz.

FUZZ_O := $(O)/fuzz
FUZZ_CC := clang
FUZZ_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=%,$(HOST_CFLAGS)) \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer -Wno-unused-command-line-argument
FUZZ_HOST_OBJS := $(HOST_SRCS:%.c=$(FUZZ_O)/%.o)
FUZZ_TARGETS := $(FUZZ_O)/guest_code_fuzz $(FUZZ_O)/stream_fuzz

.PHONY: fuzz
fuzz: $(FUZZ_TARGETS)
selftests: fuzz

$(FUZZ_O)/host/%.o: host/%.c $(UNICORN_LIB) | deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_O)/%_fuzz: selftests/fuzz/%_fuzz.c $(FUZZ_HOST_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(HOST_LDLIBS)

# Make must not delete these as intermediates: relinking should not recompile.
.SECONDARY: $(FUZZ_HOST_OBJS)

-include $(FUZZ_HOST_OBJS:.o=.d)

CHECK_TESTS += $(top)/scripts/test-fuzz.sh
