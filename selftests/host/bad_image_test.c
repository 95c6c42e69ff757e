// SPDX-License-Identifier: GPL-2.0-only
/*
 * `pvhc run` on bad input: every case must end with exactly one line on
 * stderr, exit status 2 and no crash (under SANITIZE=1 the pvhc binary is
 * ASan/UBSan-built, so a memory error shows up here as a failure).
 */
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "test_util.h"

#define MB_MAGIC 0x1badb002u

struct image_spec {
	bool elf64;
	bool no_mb_header;
	bool not_elf;
	uint32_t paddr;
	uint32_t filesz, memsz;
	uint32_t entry;
	uint16_t phnum;
	uint32_t phoff;
	size_t truncate_to;	/* 0: whole image */
	uint32_t p_offset;
};

static struct image_spec good(void)
{
	return (struct image_spec){
		.paddr = 0x100000, .filesz = 0x100, .memsz = 0x200, .entry = 0x100000,
		.phnum = 1, .phoff = sizeof(Elf32_Ehdr), .p_offset = 0x1000,
	};
}

/* Build an ELF32 multiboot image (or a broken variant of one) in buf; returns its size. */
static size_t build_image(uint8_t *buf, size_t cap, const struct image_spec *sp)
{
	Elf32_Ehdr eh = { 0 };
	Elf32_Phdr ph = { 0 };
	uint32_t mb[3] = { MB_MAGIC, 0, -(MB_MAGIC) };
	size_t size = 0x1000 + 0x100;

	memset(buf, 0, cap);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = sp->elf64 ? ELFCLASS64 : ELFCLASS32;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = ET_EXEC;
	eh.e_machine = sp->elf64 ? EM_X86_64 : EM_386;
	eh.e_version = EV_CURRENT;
	eh.e_entry = sp->entry;
	eh.e_phoff = sp->phoff;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(ph);
	eh.e_phnum = sp->phnum;
	ph.p_type = PT_LOAD;
	ph.p_offset = sp->p_offset;
	ph.p_paddr = ph.p_vaddr = sp->paddr;
	ph.p_filesz = sp->filesz;
	ph.p_memsz = sp->memsz;
	if (!sp->not_elf) {
		memcpy(buf, &eh, sizeof(eh));
		if (sp->phoff + sizeof(ph) <= cap)
			memcpy(buf + sp->phoff, &ph, sizeof(ph));
	} else {
		memset(buf, 0x90, 0x100);
	}
	if (!sp->no_mb_header)
		memcpy(buf + 0x1000, mb, sizeof(mb));	/* inside the first 8 KiB */
	return sp->truncate_to ? sp->truncate_to : size;
}

static char *write_image(const struct image_spec *sp)
{
	static uint8_t buf[0x2000];
	char *path = test_tmpfile("image");
	size_t n = build_image(buf, sizeof(buf), sp);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd < 0 || write(fd, buf, n) != (ssize_t)n || close(fd))
		ksft_exit_fail_msg("cannot write %s\n", path);
	return path;
}

/* Run pvhc with args; expect status 2 and exactly one stderr line containing needle. */
static void expect_rejected(struct __test_metadata *_metadata, const char *const *args,
			    const char *needle)
{
	const char *why = variant_unavailable(NULL);
	struct cmd_result r;

	/* pvhc creates the VM before it reads the image. */
	if (why)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, run_pvhc(args, &r));
	EXPECT_EQ(2, r.status) {
		TH_LOG("status %d, stderr: %s", r.status, r.err);
	}
	EXPECT_EQ(1, r.err_lines) {
		TH_LOG("stderr had %d lines: %s", r.err_lines, r.err);
	}
	EXPECT_NE(NULL, strstr(r.err, needle)) {
		TH_LOG("expected '%s' in: %s", needle, r.err);
	}
	EXPECT_EQ(0, strncmp(r.err, "pvhc: ", 6));
	cmd_result_free(&r);
}

static void expect_image_rejected(struct __test_metadata *_metadata,
				  const struct image_spec *sp, const char *mem, const char *needle)
{
	char *path = write_image(sp);
	const char *args[] = { "run", "--accel", test_accel_name(), "--mem", mem, path, NULL };

	expect_rejected(_metadata, args, needle);
	unlink(path);
	free(path);
}

TEST(good_image_runs_and_crashes_cleanly)
{
	/* The reference image is valid but its code is zeros: it must load and run. */
	const char *why = variant_unavailable(NULL);
	const char *args[] = { "run", "--accel", test_accel_name(), "--timeout", "5", NULL, NULL };
	struct image_spec sp = good();
	struct cmd_result r;
	char *path;

	if (why)
		SKIP(return, "%s", why);
	path = write_image(&sp);
	args[5] = path;
	ASSERT_EQ(0, run_pvhc(args, &r));
	/* "add %al,(%eax)" forever walks off the end of RAM: a guest crash, not a host one. */
	EXPECT_TRUE(r.status == 4 || r.status == 6) TH_LOG("status %d: %s", r.status, r.err);
	cmd_result_free(&r);
	unlink(path);
	free(path);
}

TEST(not_an_image)
{
	struct image_spec sp = good();

	sp.not_elf = true;
	sp.no_mb_header = true;
	expect_image_rejected(_metadata, &sp, "16M", "no multiboot header");
}

TEST(multiboot_header_but_not_elf)
{
	struct image_spec sp = good();

	sp.not_elf = true;
	expect_image_rejected(_metadata, &sp, "16M", "not an ELF image");
}

TEST(elf64_refused_like_qemu)
{
	struct image_spec sp = good();

	sp.elf64 = true;
	expect_image_rejected(_metadata, &sp, "16M", "ELF64");
}

TEST(truncated_program_headers)
{
	struct image_spec sp = good();

	sp.phoff = 0x1ff0;	/* beyond the end of the file */
	expect_image_rejected(_metadata, &sp, "16M", "truncated");
}

TEST(truncated_segment_data)
{
	struct image_spec sp = good();

	sp.truncate_to = 0x1080;	/* the segment needs 0x1000..0x1100 */
	expect_image_rejected(_metadata, &sp, "16M", "truncated");
}

TEST(segment_outside_memory)
{
	struct image_spec sp = good();

	sp.paddr = 0x02000000;	/* 32 MiB with --mem 16M */
	expect_image_rejected(_metadata, &sp, "16M", "outside guest RAM");
}

TEST(absurd_memory_size)
{
	struct image_spec sp = good();

	sp.memsz = 0xffffffffu;
	expect_image_rejected(_metadata, &sp, "16M", "outside guest RAM");
}

TEST(file_size_above_memory_size)
{
	struct image_spec sp = good();

	sp.filesz = 0x300;
	sp.memsz = 0x100;
	expect_image_rejected(_metadata, &sp, "16M", "file size above memory size");
}

TEST(absurd_program_header_count)
{
	struct image_spec sp = good();

	sp.phnum = 65535;
	expect_image_rejected(_metadata, &sp, "16M", "program header");
}

TEST(segment_offset_overflows)
{
	struct image_spec sp = good();

	sp.p_offset = 0xffffff00u;
	expect_image_rejected(_metadata, &sp, "16M", "truncated");
}

TEST(entry_outside_memory)
{
	struct image_spec sp = good();

	sp.entry = 0xfff00000u;
	expect_image_rejected(_metadata, &sp, "16M", "entry point");
}

TEST(empty_file)
{
	struct image_spec sp = good();

	sp.truncate_to = 1;
	expect_image_rejected(_metadata, &sp, "16M", "no multiboot header");
}

TEST(missing_file)
{
	const char *args[] = { "run", "--accel", test_accel_name(), "/nonexistent/pvhc-image",
			       NULL };

	expect_rejected(_metadata, args, "No such file");
}

TEST(directory_instead_of_file)
{
	const char *args[] = { "run", "--accel", test_accel_name(), "/", NULL };

	expect_rejected(_metadata, args, "not a regular file");
}

TEST(bad_options)
{
	static const char *const cases[][6] = {
		{ "run", "--mem", "abc", "x", NULL },
		{ "run", "--mem", "1M", "x", NULL },
		{ "run", "--host", "via", "x", NULL },
		{ "run", "--timeout", "-1", "x", NULL },
		{ "run", "--frobnicate", "x", NULL },
		{ "run", NULL },
		{ "run", "--accel", "hvf", "x", NULL },
	};
	static const char *const needles[] = {
		"bad memory size", "memory size must be", "unknown host", "bad timeout",
		"unknown or incomplete option", "no IMAGE", "unknown accelerator",
	};
	unsigned int i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cmd_result r;

		ASSERT_EQ(0, run_pvhc(cases[i], &r));
		EXPECT_EQ(2, r.status) TH_LOG("case %u: status %d", i, r.status);
		EXPECT_EQ(1, r.err_lines) TH_LOG("case %u: %s", i, r.err);
		EXPECT_NE(NULL, strstr(r.err, needles[i])) TH_LOG("case %u: %s", i, r.err);
		cmd_result_free(&r);
	}
}

/*
 * --accel kvm where it cannot work is one line, never a hang: on a /dev/kvm
 * without kvm_intel/kvm_amd (a guest's VMCALL would never return there) a
 * host error; with a working KVM, a --host that is not the real CPU's
 * vendor is a usage error, and so are the migration triggers only the
 * emulated hosts can fire.
 */
TEST(kvm_backend_refusals)
{
	struct vm_config cfg = vm_default_config();
	const struct vendor *real = NULL;
	struct image_spec sp = good();
	char *path = write_image(&sp), err[512];
	struct cmd_result r;

	cfg.backend = &cpu_kvm_ops;
	if (cpu_kvm_ops.probe(&cfg, &real, err, sizeof(err))) {
		const char *args[] = { "run", "--accel", "kvm", "--timeout", "5", path, NULL };

		ASSERT_EQ(0, run_pvhc(args, &r));
		EXPECT_EQ(8, r.status) TH_LOG("status %d: %s", r.status, r.err);
		EXPECT_NE(NULL, strstr(r.err, "pvhc: kvm backend: ")) TH_LOG("%s", r.err);
	} else {
		const char *args[] = { "run", "--accel", "kvm", "--host",
				       real == &vendor_amd ? "intel" : "amd", path, NULL };

		const char *trigger[] = { "run", "--accel", "kvm", "--migrate-to", "file:/dev/null",
					  "--migrate-at-insn", "5", path, NULL };

		ASSERT_EQ(0, run_pvhc(args, &r));
		EXPECT_EQ(2, r.status) TH_LOG("status %d: %s", r.status, r.err);
		EXPECT_NE(NULL, strstr(r.err, "contradicts this machine's CPU")) TH_LOG("%s", r.err);
		EXPECT_EQ(1, r.err_lines) TH_LOG("%s", r.err);
		cmd_result_free(&r);
		ASSERT_EQ(0, run_pvhc(trigger, &r));
		EXPECT_EQ(2, r.status) TH_LOG("status %d: %s", r.status, r.err);
		EXPECT_NE(NULL, strstr(r.err, "need the emulated hosts")) TH_LOG("%s", r.err);
	}
	EXPECT_EQ(1, r.err_lines) TH_LOG("%s", r.err);
	cmd_result_free(&r);
	unlink(path);
	free(path);
}

TEST_HARNESS_MAIN
