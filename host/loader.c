// SPDX-License-Identifier: GPL-2.0-only
/*
 * Multiboot v1 loading as QEMU's -kernel does it: an ELF32 image (or the
 * a.out kludge), loaded at its physical addresses; modules (QEMU's -initrd,
 * comma separated "file args") page aligned after it; then the multiboot
 * info, command line ("IMAGE APPEND", as QEMU builds it), memory map and
 * boot loader name; vCPU 0 enters in flat 32-bit protected mode with
 * EAX = 0x2BADB002 and EBX -> info. Every size and offset read from the
 * image is checked before use: a bad image is one line of error, never a
 * crash or a write outside guest RAM.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dev/devices.h"
#include "vm.h"

#define MB_MAGIC		0x1badb002u
#define MB_BOOT_MAGIC		0x2badb002u
#define MB_SEARCH		8192
#define MB_AOUT_KLUDGE		(1u << 16)
#define MB_INFO_MEM		(1u << 0)
#define MB_INFO_BOOTDEV		(1u << 1)
#define MB_INFO_CMDLINE		(1u << 2)
#define MB_INFO_MODS		(1u << 3)
#define MB_INFO_MMAP		(1u << 6)
#define MB_INFO_LOADER_NAME	(1u << 9)
#define MB_INFO_SIZE		88
#define MB_MAX_MODULES		16
#define IMAGE_MAX		(1ull << 30)
#define PAGE_ALIGN(x)		(((x) + 0xfffull) & ~0xfffull)

struct image {
	uint8_t *data;
	uint64_t size;
	const char *path;
};

static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return ret;
}

static int read_file(const char *path, uint64_t limit, struct image *img, char *err,
		     size_t errlen)
{
	struct stat st;
	uint64_t done = 0;
	int fd;

	img->path = path;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(err, errlen, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		close(fd);
		return fail(err, errlen, -EINVAL, "%s: not a regular file", path);
	}
	if ((uint64_t)st.st_size > limit) {
		close(fd);
		return fail(err, errlen, -EFBIG, "%s: %lld bytes is larger than %llu", path,
			    (long long)st.st_size, (unsigned long long)limit);
	}
	img->size = (uint64_t)st.st_size;
	img->data = malloc(img->size ? img->size : 1);
	if (!img->data) {
		close(fd);
		return fail(err, errlen, -ENOMEM, "%s: out of memory", path);
	}
	while (done < img->size) {
		ssize_t n = read(fd, img->data + done, img->size - done);

		if (n <= 0) {
			close(fd);
			free(img->data);
			return fail(err, errlen, -EIO, "%s: short read", path);
		}
		done += (uint64_t)n;
	}
	close(fd);
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

/* Copy [src, src + filesz) to gpa and zero up to memsz, after checking RAM bounds. */
static int place(struct vm *vm, uint64_t gpa, const uint8_t *src, uint64_t filesz,
		 uint64_t memsz, uint64_t *end, char *err, size_t errlen, const char *what)
{
	uint8_t *dst = gpa_ptr(&vm->mem, gpa, memsz);

	if (!dst)
		return fail(err, errlen, -ERANGE,
			    "%s at 0x%llx..0x%llx lies outside guest RAM (--mem %llu MiB)", what,
			    (unsigned long long)gpa, (unsigned long long)(gpa + memsz),
			    (unsigned long long)(vm->mem.size >> 20));
	memcpy(dst, src, filesz);
	memset(dst + filesz, 0, memsz - filesz);
	if (gpa + memsz > *end)
		*end = gpa + memsz;
	return 0;
}

static int load_elf32(struct vm *vm, const struct image *img, uint32_t *entry, uint64_t *low,
		      uint64_t *end, char *err, size_t errlen)
{
	const Elf32_Ehdr *eh = (const void *)img->data;
	unsigned int i, loaded = 0;
	uint64_t phend;

	if (img->size < sizeof(Elf32_Ehdr) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return fail(err, errlen, -ENOEXEC,
			    "%s: not an ELF image and no a.out kludge in its multiboot header",
			    img->path);
	if (eh->e_ident[EI_CLASS] == ELFCLASS64)
		return fail(err, errlen, -ENOEXEC,
			    "%s: ELF64 images are not multiboot-loadable (QEMU refuses them too); "
			    "convert with objcopy -O elf32-i386", img->path);
	if (eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_386)
		return fail(err, errlen, -ENOEXEC, "%s: not a little-endian i386 ELF32 image",
			    img->path);
	if (eh->e_phentsize != sizeof(Elf32_Phdr) || eh->e_phnum == 0 || eh->e_phnum > 64)
		return fail(err, errlen, -ENOEXEC, "%s: bad program header table (%u x %u bytes)",
			    img->path, eh->e_phnum, eh->e_phentsize);
	phend = (uint64_t)eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf32_Phdr);
	if (phend > img->size)
		return fail(err, errlen, -ENOEXEC, "%s: truncated (program headers end at %llu, "
			    "file has %llu bytes)", img->path, (unsigned long long)phend,
			    (unsigned long long)img->size);
	for (i = 0; i < eh->e_phnum; i++) {
		Elf32_Phdr ph;
		char what[64];
		int ret;

		memcpy(&ph, img->data + eh->e_phoff + i * sizeof(ph), sizeof(ph));
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (ph.p_filesz > ph.p_memsz)
			return fail(err, errlen, -ENOEXEC,
				    "%s: segment %u has file size above memory size", img->path, i);
		if ((uint64_t)ph.p_offset + ph.p_filesz > img->size)
			return fail(err, errlen, -ENOEXEC,
				    "%s: truncated (segment %u needs bytes up to %llu, file has %llu)",
				    img->path, i, (unsigned long long)ph.p_offset + ph.p_filesz,
				    (unsigned long long)img->size);
		snprintf(what, sizeof(what), "segment %u", i);
		ret = place(vm, ph.p_paddr, img->data + ph.p_offset, ph.p_filesz, ph.p_memsz, end,
			    err, errlen, what);
		if (ret)
			return ret;
		if (!loaded || ph.p_paddr < *low)
			*low = ph.p_paddr;
		loaded++;
	}
	if (!loaded)
		return fail(err, errlen, -ENOEXEC, "%s: no loadable segment", img->path);
	*entry = eh->e_entry;
	return 0;
}

/* Flag 16: the header gives load addresses itself (used for non-ELF images). */
static int load_aout(struct vm *vm, const struct image *img, uint64_t hdr_off, uint32_t *entry,
		     uint64_t *low, uint64_t *end, char *err, size_t errlen)
{
	const uint8_t *h = img->data + hdr_off;
	uint32_t header_addr = rd32(h + 12), load_addr = rd32(h + 16);
	uint32_t load_end = rd32(h + 20), bss_end = rd32(h + 24);
	uint64_t file_off, filesz, memsz;

	if (hdr_off + 32 > img->size || header_addr < load_addr ||
	    header_addr - load_addr > hdr_off)
		return fail(err, errlen, -ENOEXEC, "%s: inconsistent a.out kludge addresses",
			    img->path);
	file_off = hdr_off - (header_addr - load_addr);
	filesz = load_end ? (uint64_t)load_end - load_addr : img->size - file_off;
	if (load_end && load_end < load_addr)
		return fail(err, errlen, -ENOEXEC, "%s: load_end_addr below load_addr", img->path);
	if (file_off + filesz > img->size)
		return fail(err, errlen, -ENOEXEC, "%s: truncated (needs %llu bytes, has %llu)",
			    img->path, (unsigned long long)(file_off + filesz),
			    (unsigned long long)img->size);
	memsz = bss_end > load_addr + filesz ? bss_end - load_addr : filesz;
	*entry = rd32(h + 28);
	*low = load_addr;
	return place(vm, load_addr, img->data + file_off, filesz, memsz, end, err, errlen,
		     "a.out image");
}

/* Append a NUL-terminated string to guest memory at *cur; returns its address. */
static int put_string(struct vm *vm, uint64_t *cur, const char *s, uint32_t *addr, char *err,
		      size_t errlen)
{
	size_t len = strlen(s) + 1;
	uint8_t *dst = gpa_ptr(&vm->mem, *cur, len);

	if (!dst || *cur + len > 0xffffffffull)
		return fail(err, errlen, -ERANGE, "multiboot information does not fit in --mem");
	memcpy(dst, s, len);
	*addr = (uint32_t)*cur;
	*cur += len;
	return 0;
}

static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

static int load_modules(struct vm *vm, const char *modules, uint64_t *cur,
			uint32_t mods[][4], unsigned int *nr, char *err, size_t errlen)
{
	char *list, *save = NULL, *tok;
	int ret = 0;

	*nr = 0;
	if (!modules || !*modules)
		return 0;
	list = strdup(modules);
	if (!list)
		return fail(err, errlen, -ENOMEM, "out of memory");
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char path[4096];
		struct image m;
		uint64_t end = 0;

		if (*nr == MB_MAX_MODULES) {
			ret = fail(err, errlen, -E2BIG, "more than %d modules", MB_MAX_MODULES);
			break;
		}
		snprintf(path, sizeof(path), "%s", tok);
		path[strcspn(path, " ")] = '\0';	/* "file args": the file is the first word */
		ret = read_file(path, vm->mem.size, &m, err, errlen);
		if (ret)
			break;
		*cur = PAGE_ALIGN(*cur);
		ret = place(vm, *cur, m.data, m.size, m.size, &end, err, errlen, path);
		free(m.data);
		if (ret)
			break;
		mods[*nr][0] = (uint32_t)*cur;
		mods[*nr][1] = (uint32_t)(*cur + m.size);
		*cur += m.size;
		mods[*nr][2] = 0;	/* string address, filled in by the caller */
		mods[*nr][3] = (uint32_t)(tok - list);	/* offset of its "file args" in list */
		(*nr)++;
	}
	if (!ret) {
		/* Module strings go after all module data. */
		for (unsigned int i = 0; i < *nr && !ret; i++)
			ret = put_string(vm, cur, list + mods[i][3], &mods[i][2], err, errlen);
	}
	free(list);
	return ret;
}

static void set_entry_state(struct vm *vm, uint32_t entry, uint32_t info)
{
	struct x86_sregs s = { 0 };
	struct x86_regs r = { 0 };
	struct x86_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb,
		.s = 1, .present = 1, .db = 1, .g = 1,
	};
	struct x86_segment data = code;
	struct vcpu *v = vm->vcpus[0];
	int i;

	data.selector = 0x10;
	data.type = 0x3;
	for (i = 0; i < SEG_COUNT; i++)
		s.seg[i] = i == SEG_CS ? code : data;
	s.tr = (struct x86_segment){ .limit = 0xffff, .type = 0xb, .present = 1 };
	s.ldt = (struct x86_segment){ .type = 0x2, .unusable = 1 };
	s.gdt.limit = 0xffff;
	s.idt.limit = 0x3ff;
	s.cr0 = X86_CR0_PE | X86_CR0_ET;
	s.apic_base = X86_APIC_DEFAULT_BASE | X86_APIC_BASE_EN | X86_APIC_BASE_BSP;
	vm->cfg.backend->set_sregs(v, &s);

	r.gpr[GPR_RAX] = MB_BOOT_MAGIC;
	r.gpr[GPR_RBX] = info;
	r.rip = entry;
	r.rflags = X86_RFLAGS_FIXED;
	vm->cfg.backend->set_regs(v, &r);
}

int vm_load_multiboot_image(struct vm *vm, const char *path, const void *data, size_t size,
			    const char *cmdline, const char *modules, char *err, size_t errlen)
{
	struct image img = { .data = (uint8_t *)data, .size = size, .path = path };
	uint32_t mods[MB_MAX_MODULES][4], entry = 0, info, str;
	uint64_t hdr_off, low = 0, end = 0, cur, low_kib, high_kib;
	unsigned int nr_mods = 0, i;
	uint8_t *mbi;
	char *full_cmdline;
	uint32_t flags;
	int ret;

	if (size > vm->mem.size)
		return fail(err, errlen, -EFBIG, "%s: %zu bytes do not fit in --mem", path, size);
	for (hdr_off = 0; hdr_off + 12 <= img.size && hdr_off < MB_SEARCH; hdr_off += 4)
		if (rd32(img.data + hdr_off) == MB_MAGIC &&
		    rd32(img.data + hdr_off) + rd32(img.data + hdr_off + 4) +
		    rd32(img.data + hdr_off + 8) == 0)
			break;
	if (hdr_off + 12 > img.size || hdr_off >= MB_SEARCH) {
		ret = fail(err, errlen, -ENOEXEC,
			   "%s: no multiboot header in the first 8 KiB (not a multiboot image)",
			   path);
		goto out;
	}
	flags = rd32(img.data + hdr_off + 4);
	if (flags & MB_AOUT_KLUDGE)
		ret = load_aout(vm, &img, hdr_off, &entry, &low, &end, err, errlen);
	else
		ret = load_elf32(vm, &img, &entry, &low, &end, err, errlen);
	if (ret)
		goto out;
	if (entry >= vm->mem.size) {
		ret = fail(err, errlen, -ERANGE, "%s: entry point 0x%x outside guest RAM", path,
			   entry);
		goto out;
	}

	cur = PAGE_ALIGN(end);
	ret = load_modules(vm, modules, &cur, mods, &nr_mods, err, errlen);
	if (ret)
		goto out;

	/* The info block, then its module list, strings and memory map. */
	cur = PAGE_ALIGN(cur);
	info = (uint32_t)cur;
	mbi = gpa_ptr(&vm->mem, cur, MB_INFO_SIZE + 16 * MB_MAX_MODULES + 5 * 24);
	if (!mbi || cur > 0xffff0000ull) {
		ret = fail(err, errlen, -ERANGE,
			   "image and modules leave no room for the multiboot information in --mem");
		goto out;
	}
	memset(mbi, 0, MB_INFO_SIZE);
	cur += MB_INFO_SIZE;

	low_kib = 0x9fc00 >> 10;	/* up to the EBDA, as the memory map says (QEMU: 639) */
	high_kib = vm->mem.size > (1ull << 20) ? (vm->mem.size - (1ull << 20)) >> 10 : 0;
	if (high_kib > 0xffffffffull)
		high_kib = 0xffffffffull;
	put32(mbi + 0, MB_INFO_MEM | MB_INFO_BOOTDEV | MB_INFO_CMDLINE | MB_INFO_MODS |
		       MB_INFO_MMAP | MB_INFO_LOADER_NAME);
	put32(mbi + 4, (uint32_t)low_kib);
	put32(mbi + 8, (uint32_t)high_kib);
	put32(mbi + 12, 0x8000ffffu);	/* boot device: first hard disk, as QEMU */

	put32(mbi + 20, nr_mods);
	put32(mbi + 24, (uint32_t)cur);
	for (i = 0; i < nr_mods; i++) {
		uint8_t *m = gpa_ptr(&vm->mem, cur, 16);

		put32(m + 0, mods[i][0]);
		put32(m + 4, mods[i][1]);
		put32(m + 8, mods[i][2]);
		put32(m + 12, 0);
		cur += 16;
	}

	{
		/* e820-style map: low RAM, EBDA, BIOS area, RAM from 1 MiB. */
		static const uint32_t types[4] = { 1, 2, 2, 1 };
		uint64_t ranges[4][2] = {
			{ 0, 0x9fc00 }, { 0x9fc00, 0x400 }, { 0xf0000, 0x10000 },
			{ 0x100000, vm->mem.size > 0x100000 ? vm->mem.size - 0x100000 : 0 },
		};
		uint32_t map = (uint32_t)cur;

		for (i = 0; i < 4; i++) {
			uint8_t *e = gpa_ptr(&vm->mem, cur, 24);

			put32(e, 20);	/* size of the rest of the entry */
			memcpy(e + 4, &ranges[i][0], 8);
			memcpy(e + 12, &ranges[i][1], 8);
			put32(e + 20, types[i]);
			cur += 24;
		}
		put32(mbi + 44, (uint32_t)(cur - map));
		put32(mbi + 48, map);
	}

	if (asprintf(&full_cmdline, "%s%s%s", path, cmdline && *cmdline ? " " : "",
		     cmdline ? cmdline : "") < 0) {
		ret = fail(err, errlen, -ENOMEM, "out of memory");
		goto out;
	}
	ret = put_string(vm, &cur, full_cmdline, &str, err, errlen);
	free(full_cmdline);
	if (ret)
		goto out;
	put32(mbi + 16, str);
	ret = put_string(vm, &cur, "pvhc", &str, err, errlen);
	if (ret)
		goto out;
	put32(mbi + 64, str);

	/* What QEMU hands its option ROM through fw_cfg, for guests that look. */
	fw_cfg_add_multiboot(vm, (uint32_t)low, (uint32_t)(PAGE_ALIGN(cur) - low), entry, info);
	set_entry_state(vm, entry, info);
out:
	return ret;
}

int vm_load_multiboot(struct vm *vm, const char *path, const char *cmdline,
		      const char *modules, char *err, size_t errlen)
{
	struct image img;
	int ret;

	ret = read_file(path, IMAGE_MAX < vm->mem.size ? IMAGE_MAX : vm->mem.size, &img, err,
			errlen);
	if (ret)
		return ret;
	ret = vm_load_multiboot_image(vm, path, img.data, img.size, cmdline, modules, err,
				      errlen);
	free(img.data);
	return ret;
}
