// SPDX-License-Identifier: GPL-2.0-only
/*
 * QEMU's firmware configuration device (fw_cfg) at its PC ports, the
 * traditional interface only: a 16-bit write to 0x510 selects an item, each
 * 8-bit read of 0x510 or 0x511 returns its next byte; items that do not
 * exist and bytes past an item's end read as 0, accesses of other widths
 * do nothing (reads 0), as in QEMU 7.2.
 *
 * Items, as QEMU serves them to a multiboot guest booted with -kernel:
 * the signature, the interface ID, RAM size, CPU counts, IRQ0 override, and
 * the multiboot items QEMU hands to its option ROM (kernel address, size,
 * entry and image; the multiboot information's address, size and bytes).
 * Those last ones describe where pvhc's loader put things; the information's
 * bytes are a copy taken at load time, as QEMU's, but the image's are read
 * from guest RAM as it is now (a copy would double the image's memory and
 * its migration stream). Not served: the DMA interface (so ID says 1, QEMU 3), the
 * file directory and the files, HPET and ACPI items.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <pvhc/ports.h>

#include "dev/devices.h"
#include "vm.h"
#include "vmstate.h"

#define FW_CFG_ID_TRADITIONAL	1
#define MB_INFO_SIZE		88

struct fw_cfg {
	uint64_t selector;	/* the item selected */
	uint64_t offset;	/* its next byte */
	/* Where the loader put the image and the multiboot information (0: no image yet). */
	uint64_t kernel_addr, kernel_size, kernel_entry, info_addr;
	/* The information as loaded: the guest may reuse its memory, QEMU's item stays. */
	uint64_t info[MB_INFO_SIZE / 8];
};

static const struct vmstate_field fw_cfg_fields[] = {
	VMSTATE_FIELD(struct fw_cfg, selector),
	VMSTATE_FIELD(struct fw_cfg, offset),
	VMSTATE_FIELD(struct fw_cfg, kernel_addr),
	VMSTATE_FIELD(struct fw_cfg, kernel_size),
	VMSTATE_FIELD(struct fw_cfg, kernel_entry),
	VMSTATE_FIELD(struct fw_cfg, info_addr),
	VMSTATE_FIELD(struct fw_cfg, info[0]), VMSTATE_FIELD(struct fw_cfg, info[1]),
	VMSTATE_FIELD(struct fw_cfg, info[2]), VMSTATE_FIELD(struct fw_cfg, info[3]),
	VMSTATE_FIELD(struct fw_cfg, info[4]), VMSTATE_FIELD(struct fw_cfg, info[5]),
	VMSTATE_FIELD(struct fw_cfg, info[6]), VMSTATE_FIELD(struct fw_cfg, info[7]),
	VMSTATE_FIELD(struct fw_cfg, info[8]), VMSTATE_FIELD(struct fw_cfg, info[9]),
	VMSTATE_FIELD(struct fw_cfg, info[10]),
	VMSTATE_END,
};

static const struct vmstate fw_cfg_vmstate = { "fw-cfg", 1, fw_cfg_fields };

/* Byte offset of item (a little-endian integer of width bytes holding value). */
static int le_byte(uint64_t value, unsigned int width, uint64_t offset)
{
	return offset < width ? (int)((value >> (8 * offset)) & 0xff) : 0;
}

/* Byte offset of [gpa, gpa + len) in guest RAM. */
static int ram_byte(const struct vm *vm, uint64_t gpa, uint64_t len, uint64_t offset)
{
	const uint8_t *p = offset < len ? gpa_ptr(&vm->mem, gpa + offset, 1) : NULL;

	return p ? *p : 0;
}

static int fw_cfg_byte(const struct fw_cfg *fc, const struct vm *vm, uint64_t off)
{
	static const char signature[4] = "QEMU";
	bool booted = fc->kernel_size != 0;

	switch (fc->selector) {
	case PVHC_FW_CFG_SIGNATURE:
		return off < sizeof(signature) ? signature[off] : 0;
	case PVHC_FW_CFG_ID:
		return le_byte(FW_CFG_ID_TRADITIONAL, 4, off);
	case PVHC_FW_CFG_RAM_SIZE:
		return le_byte(vm->mem.size, 8, off);
	case PVHC_FW_CFG_NB_CPUS:
	case PVHC_FW_CFG_MAX_CPUS:
		return le_byte(vm->nr_vcpus, 2, off);
	case PVHC_FW_CFG_IRQ0_OVERRIDE:
		return le_byte(1, 4, off);
	}
	if (!booted)
		return 0;
	switch (fc->selector) {
	case PVHC_FW_CFG_KERNEL_ADDR:
		return le_byte(fc->kernel_addr, 4, off);
	case PVHC_FW_CFG_KERNEL_SIZE:
		return le_byte(fc->kernel_size, 4, off);
	case PVHC_FW_CFG_KERNEL_ENTRY:
		return le_byte(fc->kernel_entry, 4, off);
	case PVHC_FW_CFG_KERNEL_DATA:
		return ram_byte(vm, fc->kernel_addr, fc->kernel_size, off);
	case PVHC_FW_CFG_INITRD_ADDR:
		return le_byte(fc->info_addr, 4, off);
	case PVHC_FW_CFG_INITRD_SIZE:
		return le_byte(MB_INFO_SIZE, 4, off);
	case PVHC_FW_CFG_INITRD_DATA:
		return off < MB_INFO_SIZE ? ((const uint8_t *)fc->info)[off] : 0;
	default:
		return 0;
	}
}

static uint32_t fw_cfg_in(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size)
{
	struct fw_cfg *fc = opaque;
	int b;

	if (size != 1)
		return 0;
	b = fw_cfg_byte(fc, vcpu->vm, fc->offset);
	/* Past an item's end every read is 0, so the offset need not grow further. */
	if (fc->offset < UINT32_MAX)
		fc->offset++;
	return (uint32_t)b;
}

static void fw_cfg_out(struct vcpu *vcpu, void *opaque, uint16_t port, unsigned int size,
		       uint32_t value)
{
	struct fw_cfg *fc = opaque;

	/* Selecting takes a 16-bit write to the first port; data writes are not supported. */
	if (port != PVHC_PORT_FW_CFG_SEL || size != 2)
		return;
	fc->selector = value & 0xffff;
	fc->offset = 0;
}

int fw_cfg_init(struct vm *vm, struct pc_devices *devs)
{
	struct fw_cfg *fc = calloc(1, sizeof(*fc));
	int ret;

	if (!fc)
		return -ENOMEM;
	ret = io_register(&vm->io, &(struct io_handler){
		.base = PVHC_PORT_FW_CFG_SEL, .len = 2, .name = "fw_cfg",
		.in = fw_cfg_in, .out = fw_cfg_out, .opaque = fc, .vmstate = &fw_cfg_vmstate,
	});
	if (ret) {
		free(fc);
		return ret;
	}
	devs->fw_cfg = fc;
	return 0;
}

void fw_cfg_add_multiboot(struct vm *vm, uint32_t kernel_addr, uint32_t kernel_size,
			  uint32_t entry, uint32_t info_addr)
{
	struct pc_devices *devs = vm->devices;
	struct fw_cfg *fc = devs ? devs->fw_cfg : NULL;
	const uint8_t *info;

	if (!fc)
		return;
	fc->kernel_addr = kernel_addr;
	fc->kernel_size = kernel_size;
	fc->kernel_entry = entry;
	fc->info_addr = info_addr;
	info = gpa_ptr(&vm->mem, info_addr, MB_INFO_SIZE);
	if (info)
		memcpy(fc->info, info, MB_INFO_SIZE);
}
