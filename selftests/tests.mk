# SPDX-License-Identifier: GPL-2.0-only
# The selftest programs. Each x86/NAME.c holds a guest part (#ifdef
# PVHC_GUEST, built as a 64-bit and a 32-bit multiboot payload) and the host
# checks (kselftest harness), linked with the payloads embedded.
PVHC_GUEST_TESTS := hypercall_test rewrite_test exception_test migrate_test smp_test \
	fix_hypercall_test kut_hypercall_test qemu_kernel_test
# Tests with host checks only.
PVHC_HOST_TESTS := bad_image_test
# Host checks (x86/NAME.c) for another test's guest: NAME:GUEST, GUEST's payloads embedded.
PVHC_SHARED_GUEST_TESTS := cross_backend_test:migrate_test
TEST_GEN_PROGS := $(PVHC_GUEST_TESTS) $(PVHC_HOST_TESTS) \
	$(foreach t,$(PVHC_SHARED_GUEST_TESTS),$(firstword $(subst :, ,$(t))))
