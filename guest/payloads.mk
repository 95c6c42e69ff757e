# SPDX-License-Identifier: GPL-2.0-only
# pvhc's own payloads besides the selftests: the demo and the benchmark guest.
$(eval $(call pvhc_payload,demo,guest/demo/demo.c,,64))
$(eval $(call pvhc_payload,hcbench,guest/bench/hcbench.c))

KVM_PIO_BASELINE := $(O)/kvm_pio_baseline
$(KVM_PIO_BASELINE): scripts/bench/kvm_pio_baseline.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -o $@ $<
$(eval $(call pvhc_payload,migbench,guest/bench/migbench.c,,64))
$(eval $(call pvhc_payload,smpbench,guest/bench/smpbench.c,,64))
