// SPDX-License-Identifier: GPL-2.0-only
/*
 * From boot.S to guest_main(): the set-up order matters. The console comes
 * first so that anything later can report; then GDT/TSS and IDT so that a
 * fault is a printed line instead of a silent triple fault; the multiboot
 * copy before the page pool exists (the pool may overlap the loader's data);
 * paging last, as it allocates tables.
 */
#include "internal.h"

#ifdef __x86_64__
#define FLAVOUR	"64-bit long mode, 4-level paging"
#else
#define FLAVOUR	"32-bit protected mode, PAE paging"
#endif

void runtime_main(unsigned long magic, unsigned long mbi)
{
	uint64_t start, end;

	console_init();
	gdt_init();
	idt_init();
	if (magic != MULTIBOOT_BOOTLOADER_MAGIC)
		guest_panic("not started by a multiboot loader (EAX 0x%lx, expected 0x%x)", magic,
			    MULTIBOOT_BOOTLOADER_MAGIC);
	multiboot_init((uint32_t)mbi);
	multiboot_free_range(&start, &end);
	page_alloc_init(start, end);
	paging_init();
	cmdline_init();
	printf("pvhc runtime: %s, NX %s, %lu KiB page pool\n", FLAVOUR,
	       cpu_has_nx() ? "on" : "off", page_pool_free_pages() * (PAGE_SIZE / 1024));

	guest_main();
	GUEST_DONE();
}
