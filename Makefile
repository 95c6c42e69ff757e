# SPDX-License-Identifier: GPL-2.0-only
#
# pvhc: one entry point for everything.
#   make demo      install what is missing, build, run the demo guest
#   make check     the same, then every test; ends with "N passed, N failed, N skipped"
#   make bench     benchmarks (table + JSON in build/bench/)
#   make modules   the guest kernel module (KDIR= to use another kernel tree)
#   make SANITIZE=1 check   everything host-side built with ASan + UBSan
#
# Outputs go to build/out (build/out-san with SANITIZE=1); downloaded
# dependencies to build/unicorn and build/kernel.

top := $(CURDIR)
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
O := $(top)/build/out-san
else
O := $(top)/build/out
endif
export O SANITIZE
# Unicorn's own leak at uc_close (see the file) must not fail ASan runs.
export LSAN_OPTIONS := suppressions=$(top)/scripts/lsan.supp:print_suppressions=0

UNICORN := $(top)/build/unicorn/usr
UNICORN_LIB := $(UNICORN)/lib/x86_64-linux-gnu/libunicorn.a

CC := gcc
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter \
	-I$(top)/include/uapi -I$(top)/guest/include -I$(top)/host -I$(UNICORN)/include
HOST_LDLIBS := $(UNICORN_LIB) -lpthread -lm -lrt
ifeq ($(SANITIZE),1)
HOST_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
HOST_LDFLAGS += -fsanitize=address,undefined
endif

.PHONY: all deps demo check bench modules clean
all: deps host payloads selftests

# Idempotent: skips installed packages and an already unpacked Unicorn.
deps:
	@$(top)/scripts/install-deps.sh

include host/host.mk
include guest/runtime/runtime.mk
include guest/payloads.mk
include selftests/selftests.mk
-include guest/module.mk

demo: all
	@$(top)/scripts/demo.sh

check: all
	@$(top)/scripts/run-tests.sh $(CHECK_TESTS)

bench: all $(KVM_PIO_BASELINE) $(O)/guest/migbench.64.elf $(O)/guest/smpbench.64.elf
	@$(top)/scripts/bench.sh

clean:
	rm -rf build/out build/out-san
