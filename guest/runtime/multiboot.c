// SPDX-License-Identifier: GPL-2.0-only
/*
 * The multiboot information and the command line.
 *
 * The loader leaves its information wherever it likes: QEMU below 1 MiB,
 * `pvhc run` right after the image and modules, i.e. where the page pool
 * would go. Copy what we understand into the image before anything else is
 * allocated, so tests can read boot_info at any time and the pool may reuse
 * the loader's memory. Fields we do not copy have their flag cleared.
 */
#include "internal.h"

#define MAX_MODS	32
#define MMAP_BYTES	4096
#define STRING_BYTES	8192
#define MAX_ARGS	128

static struct multiboot_info info;
static struct multiboot_mod mods[MAX_MODS];
static uint8_t mmap_copy[MMAP_BYTES] __attribute__((__aligned__(8)));
static char strings[STRING_BYTES];
static size_t strings_used;

const struct multiboot_info *boot_info;
const char *boot_cmdline = "";
int boot_argc;
const char *const *boot_argv;

static char arg_buf[STRING_BYTES];
static const char *args[MAX_ARGS + 1];

/* A pointer to loader data, which must lie in the identity map. */
static const void *phys(uint64_t pa, uint64_t len, const char *what)
{
	if (pa + len > IDENTITY_LOW_END || pa + len < pa)
		guest_panic("multiboot: %s at 0x%llx..0x%llx is beyond the identity map", what,
			    (unsigned long long)pa, (unsigned long long)(pa + len));
	return (const void *)(uintptr_t)pa;
}

static uint32_t copy_string(uint32_t pa, const char *what)
{
	const char *s = phys(pa, 1, what);
	size_t n = 0;

	while (s[n]) {
		if (strings_used + n + 1 >= sizeof(strings))
			guest_panic("multiboot: strings exceed %u bytes (at the %s)",
				    (unsigned int)sizeof(strings), what);
		n++;
	}
	memcpy(strings + strings_used, s, n + 1);
	strings_used += n + 1;
	return (uint32_t)(uintptr_t)(strings + strings_used - n - 1);
}

void multiboot_init(uint32_t mbi_phys)
{
	const struct multiboot_info *src = phys(mbi_phys, sizeof(*src), "information");
	const uint32_t keep = MULTIBOOT_INFO_MEMORY | MULTIBOOT_INFO_BOOTDEV |
			      MULTIBOOT_INFO_CMDLINE | MULTIBOOT_INFO_MODS |
			      MULTIBOOT_INFO_MEM_MAP | MULTIBOOT_INFO_BOOT_LOADER_NAME;

	info.flags = src->flags & keep;
	info.mem_lower = src->mem_lower;
	info.mem_upper = src->mem_upper;
	info.boot_device = src->boot_device;
	if (info.flags & MULTIBOOT_INFO_CMDLINE) {
		info.cmdline = copy_string(src->cmdline, "command line");
		boot_cmdline = (const char *)(uintptr_t)info.cmdline;
	}
	if (info.flags & MULTIBOOT_INFO_BOOT_LOADER_NAME)
		info.boot_loader_name = copy_string(src->boot_loader_name, "loader name");
	if (info.flags & MULTIBOOT_INFO_MODS) {
		const struct multiboot_mod *m;

		if (src->mods_count > MAX_MODS)
			guest_panic("multiboot: %u modules, at most %u supported", src->mods_count,
				    MAX_MODS);
		m = phys(src->mods_addr, (uint64_t)src->mods_count * sizeof(*m), "module list");
		for (uint32_t i = 0; i < src->mods_count; i++) {
			mods[i] = m[i];
			if (m[i].string)
				mods[i].string = copy_string(m[i].string, "module string");
		}
		info.mods_count = src->mods_count;
		info.mods_addr = (uint32_t)(uintptr_t)mods;
	}
	if (info.flags & MULTIBOOT_INFO_MEM_MAP) {
		if (src->mmap_length > sizeof(mmap_copy))
			guest_panic("multiboot: memory map of %u bytes, at most %u supported",
				    src->mmap_length, (unsigned int)sizeof(mmap_copy));
		memcpy(mmap_copy, phys(src->mmap_addr, src->mmap_length, "memory map"),
		       src->mmap_length);
		info.mmap_length = src->mmap_length;
		info.mmap_addr = (uint32_t)(uintptr_t)mmap_copy;
	}
	boot_info = &info;
}

bool multiboot_overlaps(uint64_t start, uint64_t end)
{
	for (uint32_t i = 0; i < info.mods_count; i++)
		if (mods[i].mod_start < end && start < mods[i].mod_end)
			return true;
	return false;
}

/*
 * Where the page pool may go: from the end of the image and modules to the
 * end of the available RAM range that holds that address (memory map), or
 * to the end of upper memory (mem_upper).
 */
void multiboot_free_range(uint64_t *start, uint64_t *end)
{
	uint64_t s = (uintptr_t)_end;

	for (uint32_t i = 0; i < info.mods_count; i++)
		if (mods[i].mod_end > s)
			s = mods[i].mod_end;
	*start = s;

	if (info.flags & MULTIBOOT_INFO_MEM_MAP) {
		uint32_t off = 0;

		*end = 0;
		while (off + sizeof(struct multiboot_mmap_entry) <= info.mmap_length) {
			struct multiboot_mmap_entry e;

			memcpy(&e, mmap_copy + off, sizeof(e));
			if (e.type == MULTIBOOT_MEMORY_AVAILABLE && e.addr <= s &&
			    s < e.addr + e.len)
				*end = e.addr + e.len;
			off += e.size + 4;
		}
		if (*end)
			return;
	}
	if (info.flags & MULTIBOOT_INFO_MEMORY) {
		*end = 0x100000 + (uint64_t)info.mem_upper * 1024;
		return;
	}
	guest_panic("multiboot: the loader gave neither a memory map nor mem_upper");
}

void cmdline_init(void)
{
	size_t len = strlen(boot_cmdline);
	char *p = arg_buf;

	memcpy(arg_buf, boot_cmdline, len + 1);	/* fits: both are STRING_BYTES */
	boot_argc = 0;
	while (*p) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			break;
		if (boot_argc == MAX_ARGS)
			guest_panic("command line: more than %d words", MAX_ARGS);
		args[boot_argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
	args[boot_argc] = NULL;
	boot_argv = args;
}

const char *cmdline_get(const char *key)
{
	size_t n = strlen(key);

	for (int i = boot_argc - 1; i >= 0; i--) {
		if (strncmp(args[i], key, n))
			continue;
		if (args[i][n] == '=')
			return args[i] + n + 1;
		if (args[i][n] == '\0')
			return "";
	}
	return NULL;
}

unsigned long cmdline_ulong(const char *key, unsigned long def)
{
	const char *v = cmdline_get(key);
	unsigned long n = 0;

	if (!v || *v < '0' || *v > '9')
		return def;
	while (*v >= '0' && *v <= '9')
		n = n * 10 + (unsigned long)(*v++ - '0');
	return n;
}
