# SPDX-License-Identifier: GPL-2.0-only
# Build-level tests of the guest ABI, run by `make check`: the uapi headers
# and the guest hypercall API compiled every way guests compile them.
# Both write only under $(O)/abi.
CHECK_TESTS += $(top)/scripts/test-uapi-headers.sh $(top)/scripts/test-guest-api.sh
