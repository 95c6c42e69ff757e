# SPDX-License-Identifier: GPL-2.0-only
#
# The guest kernel module pvhc_guest.ko: sources in guest/module/, kbuild
# files Kbuild and guest/Kbuild.
#
#   make modules                  build it against the headers of Debian's
#                                 default kernel (the linux-headers-amd64
#                                 dependency, never `uname -r`)
#   make modules KDIR=/some/tree  ... or against any configured kernel tree
#   make modules-check            W=1 -Werror, sparse and checkpatch --strict
#   make modules-nested           the module in a KVM guest of the real
#                                 kvm_amd (scripts/test-module-nested.sh,
#                                 about 30-40 s; also part of `make check`)
#   make modules-clean            remove module build output, including that
#                                 of an in-place `make -C KDIR M=$PWD`
#
# Builds go to $(O)/module/<kernel release>/, never into the sources:
# scripts/module-build.sh mirrors the module's files there as symlinks,
# since 6.1's kbuild has no MO=. `make -C KDIR M=$PWD modules` works too
# and builds in place; do not follow it with kbuild's `clean` there, which
# deletes every *.o, *.a and *.ko below the repository, build/ included.

.PHONY: modules modules-check modules-nested modules-clean

modules:
	@ko=$$($(top)/scripts/module-build.sh $(if $(KDIR),-k $(KDIR)) $(if $(V),V=$(V))) && \
		echo "pvhc_guest.ko: $$ko"

modules-check:
	@$(top)/scripts/test-module-style.sh $(if $(KDIR),-k $(KDIR))

modules-nested:
	@$(top)/scripts/test-module-nested.sh

# Exactly the files an in-place build writes.
modules-clean:
	rm -rf $(O)/module $(O)/module-style $(O)/module-tcg $(O)/module-nested
	cd $(top) && rm -f Module.symvers modules.order .Module.symvers.cmd \
		.modules.order.cmd guest/modules.order guest/.modules.order.cmd \
		guest/pvhc_guest.ko guest/pvhc_guest.mod guest/pvhc_guest.mod.c \
		guest/pvhc_guest.mod.o guest/pvhc_guest.o guest/.pvhc_guest.*.cmd \
		guest/module/*.o guest/module/.*.o.cmd

# test-module-nested.sh boots L1 (TCG) and two nested L2 guests: 25-40 s
# here, under the ~60 s that a `make check` test may take.
CHECK_TESTS += $(top)/scripts/test-module-style.sh $(top)/scripts/test-module-tcg.sh \
	$(top)/scripts/test-module-nested.sh
