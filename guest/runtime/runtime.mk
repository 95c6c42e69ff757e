# SPDX-License-Identifier: GPL-2.0-only
#
# The freestanding payload runtime (guest/runtime/) and the payload images
# built with it. Included by the top Makefile (O = output directory,
# top = repository root).
#
# Building a payload, from any fragment included after this one:
#
#   $(eval $(call pvhc_payload,NAME,SOURCES[,EXTRA_CFLAGS[,FLAVOURS]]))
#
#   NAME          image name
#   SOURCES       .c and .S files, relative to the repository root
#                 (e.g. selftests/hypercall_test.c)
#   EXTRA_CFLAGS  extra compiler flags for this payload's sources only
#   FLAVOURS      "64 32" (the default), or just "64" or "32"
#
# produces $(O)/guest/NAME.64.elf and $(O)/guest/NAME.32.elf: ELF32
# multiboot images loaded at 1 MiB, for `pvhc run` and `qemu-system-x86_64
# -kernel` alike (the 64-bit one is linked as ELF64, kept as NAME.64.elf64
# for gdb/objdump, and converted with objcopy -O elf32-i386). Sources are
# compiled with $(PVHC_GUEST_CFLAGS) (freestanding, no SSE, -DPVHC_GUEST,
# -I include/uapi -I guest/include, so <pvhc/runtime.h> and
# <pvhc/kvm_hypercall.h> work) and linked with the whole runtime and
# guest/runtime/payload.ld. The payload defines guest_main().
#
# Each call adds NAME to PVHC_PAYLOADS and the images to
# PVHC_PAYLOAD_IMAGES and to the `payloads` target (phony, builds them all).

.PHONY: payloads runtime-selftest

# One line per step; V=1 shows the commands.
ifeq ($(V),1)
pvhc_say :=
else
pvhc_say = @printf '  %-8s %s\n' '$(1)' '$(patsubst $(top)/%,%,$(2))';
endif

PVHC_GUEST_CC := $(CC)
PVHC_GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow \
	-Wmissing-prototypes -Wstrict-prototypes -Wno-unused-parameter \
	-ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -mno-red-zone -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fno-unwind-tables -fcf-protection=none \
	-fno-tree-loop-distribute-patterns -fno-omit-frame-pointer \
	-fmacro-prefix-map=$(top)/= \
	-DPVHC_GUEST -I$(top)/include/uapi -I$(top)/guest/include -MMD -MP
PVHC_GUEST_CFLAGS_64 := -m64
PVHC_GUEST_CFLAGS_32 := -m32 -march=i686
PVHC_GUEST_LDFLAGS = -m$(1) -nostdlib -static -no-pie -Wl,-T,$(top)/guest/runtime/payload.ld \
	-Wl,-z,max-page-size=0x1000 -Wl,--build-id=none -Wl,-z,noexecstack

RT_SRCS := boot.S ex_stubs.S user_switch.S compat.S realmode_switch.S smp_trampoline.S \
	start.c console.c string.c exit.c gdt.c idt.c paging.c alloc.c \
	multiboot.c user.c realmode.c smp.c
RT_OBJS_64 := $(addprefix $(O)/guest/runtime/64/,$(addsuffix .o,$(basename $(RT_SRCS))))
RT_OBJS_32 := $(addprefix $(O)/guest/runtime/32/,$(addsuffix .o,$(basename $(RT_SRCS))))
RT_LIB_64 := $(O)/guest/libruntime64.a
RT_LIB_32 := $(O)/guest/libruntime32.a

# $(1) = flavour: the runtime's objects and archive.
define pvhc_runtime_rules
$(O)/guest/runtime/$(1)/%.o: $(top)/guest/runtime/%.c
	@mkdir -p $$(@D)
	$$(call pvhc_say,CC$(1),$$@)$$(PVHC_GUEST_CC) $$(PVHC_GUEST_CFLAGS) \
		$$(PVHC_GUEST_CFLAGS_$(1)) -c -o $$@ $$<

$(O)/guest/runtime/$(1)/%.o: $(top)/guest/runtime/%.S
	@mkdir -p $$(@D)
	$$(call pvhc_say,CC$(1),$$@)$$(PVHC_GUEST_CC) $$(PVHC_GUEST_CFLAGS) \
		$$(PVHC_GUEST_CFLAGS_$(1)) -c -o $$@ $$<

$$(RT_LIB_$(1)): $$(RT_OBJS_$(1))
	@rm -f $$@
	$$(call pvhc_say,AR,$$@)ar rcs $$@ $$^
endef
$(eval $(call pvhc_runtime_rules,64))
$(eval $(call pvhc_runtime_rules,32))
-include $(RT_OBJS_64:.o=.d) $(RT_OBJS_32:.o=.d)

# $(1) = name, $(2) = flavour, $(3) = sources, $(4) = extra CFLAGS. The
# blank line before endef matters: foreach joins the flavours' rules.
define pvhc_payload_flavour
$(O)/guest/obj/$(1)/$(2)/%.o: $(top)/%.c
	@mkdir -p $$(@D)
	$$(call pvhc_say,CC$(2),$$@)$$(PVHC_GUEST_CC) $$(PVHC_GUEST_CFLAGS) \
		$$(PVHC_GUEST_CFLAGS_$(2)) $(4) -c -o $$@ $$<

$(O)/guest/obj/$(1)/$(2)/%.o: $(top)/%.S
	@mkdir -p $$(@D)
	$$(call pvhc_say,CC$(2),$$@)$$(PVHC_GUEST_CC) $$(PVHC_GUEST_CFLAGS) \
		$$(PVHC_GUEST_CFLAGS_$(2)) $(4) -c -o $$@ $$<

$(1)_OBJS_$(2) := $$(addprefix $(O)/guest/obj/$(1)/$(2)/,$$(addsuffix .o,$$(basename \
	$$(patsubst $(top)/%,%,$(3)))))
-include $$($(1)_OBJS_$(2):.o=.d)

$(O)/guest/$(1).$(2).elf$(if $(filter 64,$(2)),64): $$($(1)_OBJS_$(2)) $$(RT_LIB_$(2)) \
		$(top)/guest/runtime/payload.ld
	$$(call pvhc_say,LD$(2),$$@)$$(PVHC_GUEST_CC) $$(call PVHC_GUEST_LDFLAGS,$(2)) -o $$@ \
		$$($(1)_OBJS_$(2)) \
		-Wl,--whole-archive $$(RT_LIB_$(2)) -Wl,--no-whole-archive -lgcc

PVHC_PAYLOAD_IMAGES += $(O)/guest/$(1).$(2).elf
payloads: $(O)/guest/$(1).$(2).elf

endef

define pvhc_payload
PVHC_PAYLOADS += $(1)
$(foreach f,$(or $(strip $(4)),64 32),$(call pvhc_payload_flavour,$(1),$(f),$(2),$(3)))
endef

# Only the long-mode image needs converting: QEMU refuses ELF64 multiboot images.
$(O)/guest/%.64.elf: $(O)/guest/%.64.elf64
	$(call pvhc_say,OBJCOPY,$@)objcopy -O elf32-i386 $< $@

# The runtime's own test payload (scripts/test-qemu-kernel.sh boots it).
$(eval $(call pvhc_payload,runtime-selftest,guest/runtime/selftest.c))
runtime-selftest: $(O)/guest/runtime-selftest.64.elf $(O)/guest/runtime-selftest.32.elf

CHECK_TESTS += $(top)/scripts/test-qemu-kernel.sh
