// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest moving between pvhc's backends through the one stream format:
 * saved on the emulated hosts (tcg) and restored on a real KVM, and the
 * other way round. A kvm destination has no use for the emulated CPU's
 * exact state (the optional TCG_CPU section), and a kvm source has none to
 * give: everything must travel in the architectural sections. The guest is
 * migrate_test's workload, whose checksum depends on every hypercall result,
 * on x87/SSE registers, on MSRs and on work at CPL 3; this test embeds
 * migrate_test's payloads and has no guest code of its own.
 *
 * On either backend it saves the workload at several points and restores
 * every stream on this backend from the architectural sections alone (tcg:
 * with TCG_CPU left out, on both personalities). Between the backends the
 * streams travel as files; scripts/test-selftests-kvm-amd.sh carries them
 * into and out of the QEMU AMD host:
 *
 *   PVHC_XMIG_OUT=DIR  also keep every stream saved here in DIR, listed in
 *                      DIR/manifest ("FILE FLAVOUR CHECKSUM" lines) with the
 *                      checksum an unmigrated run of the guest ends with;
 *   PVHC_XMIG_IN=DIR   restore every stream DIR/manifest lists on every host
 *                      of this backend: the guest must end with that
 *                      checksum and with every site holding this host's
 *                      native opcode (on kvm_amd: rewritten to VMMCALL by the
 *                      real KVM, which answered its hypercalls from there on).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "migrate_util.h"
#include "test_util.h"

#define PASS_STATUS GUEST_STATUS(PVHC_EXIT_PASS)
#define WORKLOAD "test=workload iters=300"
#define NR_SITES 8

/* Where SS's attribute byte sits in a CPU section (host/migration.md): DPL is the CPL. */
#define CPU_SEGMENTS_AT (8 + 16 * 8 + 16)
#define SEGMENT_SIZE 20
#define SS_ATTRIBUTES_AT (CPU_SEGMENTS_AT + SEG_SS * SEGMENT_SIZE + 15)
#define TR_TYPE_AT (CPU_SEGMENTS_AT + SEG_COUNT * SEGMENT_SIZE + 14)
#define PDPTRS_SECTION_LEN 40

/* What the workload printed at its end, and how the run ended. */
struct workload {
	int status;
	char checksum[64];
	char sites[2 * NR_SITES + 1];	/* each site's third opcode byte, in hex */
	long kvm_answers;		/* its hypercalls a real KVM answered */
	char err[512];			/* pvhc's own lines */
};

/* A point where the source stops the workload and saves it. */
struct save_point {
	const char *name;
	const char *host;		/* tcg: the source's personality; kvm: NULL */
	const char *args;		/* added to the guest's command line */
	const char *trigger[3];
	bool at_cpl3;
};

static const struct save_point tcg_points[] = {
	/*
	 * By instruction count: in the boot code before paging, in the
	 * runtime with paging on, and twice in the hypercall loop (the
	 * guest ends after about 217000 instructions in 64-bit mode and
	 * 234000 in 32-bit, a little more or less with the length of the
	 * command line it parses).
	 */
	{ .name = "insn3", .host = "intel", .args = "",
	  .trigger = { "--migrate-at-insn", "3" } },
	{ .name = "insn100000", .host = "intel", .args = "",
	  .trigger = { "--migrate-at-insn", "100000" } },
	{ .name = "insn180000", .host = "intel", .args = "",
	  .trigger = { "--migrate-at-insn", "180000" } },
	{ .name = "insn200000", .host = "intel", .args = "",
	  .trigger = { "--migrate-at-insn", "200000" } },
	{ .name = "port", .host = "intel", .args = " port=100",
	  .trigger = { "--migrate-on-port" } },
	{ .name = "cpl3", .host = "intel", .args = " user-port=17",
	  .trigger = { "--migrate-on-port" }, .at_cpl3 = true },
	/* Between the rewrite to VMMCALL and its re-execution. */
	{ .name = "after-ud", .host = "amd", .args = "",
	  .trigger = { "--migrate-after-ud", "3" } },
};

/* KVM shows pvhc neither single instructions nor #UD traps: the port and the start. */
static const struct save_point kvm_points[] = {
	{ .name = "start", .host = NULL, .args = "",
	  .trigger = { "--migrate-at-insn", "0" } },
	{ .name = "port", .host = NULL, .args = " port=100",
	  .trigger = { "--migrate-on-port" } },
	{ .name = "cpl3", .host = NULL, .args = " user-port=17",
	  .trigger = { "--migrate-on-port" }, .at_cpl3 = true },
};

static bool on_tcg(void)
{
	return on_emulated_host();
}

/* The hosts a guest can be restored on here: both personalities, or the real CPU. */
static const char *const *backend_hosts(void)
{
	static const char *const tcg[] = { "intel", "amd", NULL };
	static const char *const kvm[] = { "", NULL };

	return on_tcg() ? tcg : kvm;
}

/* The personality a run gets with --host host ("": this backend's default). */
static const char *host_name(const char *host)
{
	struct vm_config cfg = vm_default_config();
	const struct vendor *v = NULL;
	char err[256];

	if (host && *host)
		return host;
	cfg.backend = test_backend();
	return cfg.backend->probe(&cfg, &v, err, sizeof(err)) ? "?" : v->name;
}

/* What every site holds once the guest has run on host: its native opcode. */
static const char *native_sites(const char *host)
{
	static char buf[2 * NR_SITES + 1];

	for (int i = 0; i < NR_SITES; i++)
		memcpy(buf + 2 * i, strcmp(host_name(host), "amd") ? "c1" : "d9", 2);
	buf[2 * NR_SITES] = '\0';
	return buf;
}

/* "run --accel ACCEL [--host HOST] --timeout 60" into a; returns the count. */
static int base_args(const char **a, const char *host)
{
	int n = 0;

	a[n++] = "run";
	a[n++] = "--accel";
	a[n++] = test_accel_name();
	if (host && *host) {
		a[n++] = "--host";
		a[n++] = host;
	}
	a[n++] = "--timeout";
	a[n++] = "60";
	return n;
}

static void parse_workload(const struct cmd_result *r, struct workload *w)
{
	const char *p;

	memset(w, 0, sizeof(*w));
	w->status = r->status;
	snprintf(w->checksum, sizeof(w->checksum), "%s", checksum_of(r->out));
	p = strstr(r->out, "sites=");
	if (p)
		snprintf(w->sites, sizeof(w->sites), "%.*s", (int)strcspn(p + 6, "\n"), p + 6);
	p = strstr(r->out, "kvm_answers=");
	w->kvm_answers = p ? strtol(p + 12, NULL, 10) : -1;
	snprintf(w->err, sizeof(w->err), "%s", r->err);
}

/* Run pvhc with a and parse what the workload printed. */
static int run_workload(const char **a, struct workload *w)
{
	struct cmd_result r;

	if (run_pvhc(a, &r))
		return -1;
	parse_workload(&r, w);
	cmd_result_free(&r);
	return 0;
}

/* The unmigrated run on this backend's default host. */
static int reference(enum flavour f, const char *image, struct workload *w)
{
	const char *a[16];
	int n = base_args(a, NULL);

	a[n++] = "--append";
	a[n++] = WORKLOAD;
	a[n++] = image;
	a[n] = NULL;
	return run_workload(a, w);
}

/* Save the workload at point p into path; returns the source's exit status. */
static int save_at(const char *image, const struct save_point *p, const char *path,
		   char *err, size_t errlen)
{
	char uri[300], args[128];
	const char *a[20];
	struct cmd_result r;
	int n = base_args(a, p->host), i, st;

	snprintf(uri, sizeof(uri), "file:%s", path);
	snprintf(args, sizeof(args), "%s%s", WORKLOAD, p->args);
	a[n++] = "--migrate-to";
	a[n++] = uri;
	for (i = 0; p->trigger[i]; i++)
		a[n++] = p->trigger[i];
	a[n++] = "--append";
	a[n++] = args;
	a[n++] = image;
	a[n] = NULL;
	if (run_pvhc(a, &r))
		return -1;
	snprintf(err, errlen, "%s", r.err);
	st = r.status;
	cmd_result_free(&r);
	return st;
}

static int restore_on(const char *host, const char *path, struct workload *w)
{
	char uri[300];
	const char *a[16];
	int n = base_args(a, host);

	snprintf(uri, sizeof(uri), "file:%s", path);
	a[n++] = "--incoming";
	a[n++] = uri;
	a[n] = NULL;
	return run_workload(a, w);
}

/* Restore path on host and check the end: the reference checksum, native sites. */
static void check_restore(struct __test_metadata *_metadata, const char *host, const char *path,
			  const char *checksum, const char *what, struct workload *w)
{
	ASSERT_EQ(0, restore_on(host, path, w));
	EXPECT_EQ(PASS_STATUS, w->status) TH_LOG("%s on %s: status %d: %s", what,
						 host_name(host), w->status, w->err);
	EXPECT_STREQ(checksum, w->checksum) TH_LOG("%s on %s", what, host_name(host));
	EXPECT_STREQ(native_sites(host), w->sites) TH_LOG("%s on %s: site opcodes", what,
							  host_name(host));
}

static int copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = -1, ret = -1;
	ssize_t n;

	if (in >= 0)
		out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	while (out >= 0 && (n = read(in, buf, sizeof(buf))) >= 0) {
		if (n == 0) {
			ret = 0;
			break;
		}
		if (write(out, buf, (size_t)n) != n)
			break;
	}
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		ret = -1;
	return ret;
}

/* PVHC_XMIG_OUT: keep a copy of the stream for the other backend, with what it must end with. */
static void keep_for_other_backend(struct __test_metadata *_metadata, enum flavour f,
				   const char *path, const char *name, const char *checksum)
{
	const char *dir = getenv("PVHC_XMIG_OUT");
	char dest[512], manifest[512];
	FILE *m;

	if (!dir || !*dir)
		return;
	snprintf(dest, sizeof(dest), "%s/%s-%s-%s.mig", dir, test_accel_name(),
		 f == FLAVOUR_64 ? "64" : "32", name);
	snprintf(manifest, sizeof(manifest), "%s/manifest", dir);
	ASSERT_EQ(0, copy_file(path, dest)) TH_LOG("cannot copy the stream to %s", dest);
	m = fopen(manifest, "a");
	ASSERT_NE(NULL, m) TH_LOG("cannot append to %s", manifest);
	fprintf(m, "%s %s %s\n", strrchr(dest, '/') + 1, f == FLAVOUR_64 ? "64" : "32", checksum);
	fclose(m);
}

/*
 * Save at every point, then restore each stream here from the architectural
 * sections alone: what a destination of the other backend gets.
 */
static void save_and_restore_here(struct __test_metadata *_metadata, enum flavour f,
				  const char *image, const char *checksum)
{
	const struct save_point *pts = on_tcg() ? tcg_points : kvm_points;
	unsigned int np = on_tcg() ? ARRAY_SIZE(tcg_points) : ARRAY_SIZE(kvm_points), i;
	char *path = test_tmpfile("xmig"), *arch = test_tmpfile("xmig-arch"), err[512];

	for (i = 0; i < np; i++) {
		const struct save_point *p = &pts[i];
		struct saved_stream ss;
		struct workload w;
		int st = save_at(image, p, path, err, sizeof(err)), tcg_cpu;

		ASSERT_EQ(PVHC_STATUS_MIGRATED, st) TH_LOG("saving at %s: %s", p->name, err);
		ASSERT_EQ(0, read_stream(path, &ss)) TH_LOG("%s: unreadable stream", p->name);
		if (p->at_cpl3) {
			const struct saved_section *cpu = find_section(&ss, SEC_CPU);

			ASSERT_NE(NULL, cpu);
			EXPECT_EQ(3, (cpu->data[SS_ATTRIBUTES_AT] >> 1) & 3)
				TH_LOG("%s: the stream was not saved at CPL 3", p->name);
		}
		/* The emulated hosts add their CPU's exact state; here it must not count. */
		tcg_cpu = section_index(&ss, SEC_TCG_CPU);
		EXPECT_EQ(on_tcg(), tcg_cpu >= 0) TH_LOG("%s: TCG_CPU section", p->name);
		/* KVM keeps a 32-bit PAE guest's PDPTEs; they travel with it (host/migration.md). */
		if (!on_tcg() && f == FLAVOUR_32 && strcmp(p->name, "start"))
			EXPECT_LE(0, section_index(&ss, SEC_PDPTRS)) TH_LOG("%s: no PDPTEs", p->name);
		ASSERT_EQ(0, write_stream(arch, &ss, tcg_cpu, NULL, -1));
		free_stream(&ss);
		for (const char *const *h = backend_hosts(); *h; h++)
			check_restore(_metadata, *h, arch, checksum, p->name, &w);
		keep_for_other_backend(_metadata, f, path, p->name, checksum);
	}
	tmpfile_remove(path);
	tmpfile_remove(arch);
}

/* Where the CPU section holds MSR index's value, or NULL. */
static uint8_t *cpu_msr(struct saved_section *cpu, uint32_t index)
{
	/* After the segments: GDT/IDT, 7 control registers, the x87/SSE area. */
	size_t at = CPU_SEGMENTS_AT + 8 * SEGMENT_SIZE + 32 + 56 + 24 + 128 + 8 + 256;
	uint32_t n, i, idx;

	memcpy(&n, cpu->data + at, 4);
	for (i = 0; i < n; i++) {
		uint8_t *e = cpu->data + at + 4 + 16 * i;

		memcpy(&idx, e, 4);
		if (idx == index)
			return e + 8;
	}
	return NULL;
}

/* The stream file's bytes up to, and not including, section i (host/migration.md framing). */
static size_t offset_of_section(const struct saved_stream *ss, unsigned int i)
{
	size_t at = 16;

	for (unsigned int k = 0; k < i; k++)
		at += 16 + ss->s[k].h.len + 4;
	return at;
}

/*
 * The parts of a CPU section a host decides itself, cleared for comparing:
 * TR's busy bit (host/cpu-kvm.c), the TSC, which runs on, and the
 * attributes of unusable segments but their DPL (SS's is the CPL), which
 * no access uses (the emulated hosts keep nothing else of them).
 */
static void clear_host_choices(struct saved_section *cpu)
{
	uint8_t *tsc = cpu_msr(cpu, MSR_IA32_TSC);

	for (int i = 0; i < SEG_COUNT + 2; i++) {
		uint8_t *seg = cpu->data + CPU_SEGMENTS_AT + i * SEGMENT_SIZE;

		if (seg[16]) {		/* unusable */
			seg[14] = 0;	/* type */
			seg[15] &= 3 << 1;	/* attributes: DPL alone */
		}
	}
	cpu->data[TR_TYPE_AT] &= ~2;
	if (tsc)
		memset(tsc, 0, 8);
}

/*
 * Restored here and saved again before its first instruction, a stream from
 * the other backend must come out as it went in: CONFIG but for the sending
 * host's name, RAM, and the CPU state but for what a host decides itself.
 */
static void check_round_trip(struct __test_metadata *_metadata, const char *path,
			     const char *what)
{
	char *again = test_tmpfile("xmig-again"), uri[820], to[300];
	const char *a[16];
	struct saved_stream x, y;
	struct saved_section *cx, *cy;
	struct cmd_result r;
	uint64_t mem;
	uint8_t *rx, *ry;
	int n = base_args(a, NULL);

	snprintf(uri, sizeof(uri), "file:%s", path);
	snprintf(to, sizeof(to), "file:%s", again);
	a[n++] = "--incoming";
	a[n++] = uri;
	a[n++] = "--migrate-to";
	a[n++] = to;
	a[n++] = "--migrate-at-insn";
	a[n++] = "0";
	a[n] = NULL;
	ASSERT_EQ(0, run_pvhc(a, &r));
	EXPECT_EQ(PVHC_STATUS_MIGRATED, r.status) TH_LOG("%s saved again: %s", what, r.err);
	cmd_result_free(&r);
	ASSERT_EQ(0, read_stream(path, &x));
	ASSERT_EQ(0, read_stream(again, &y));
	cx = find_section(&x, SEC_CONFIG);
	cy = find_section(&y, SEC_CONFIG);
	ASSERT_NE(NULL, cx);
	ASSERT_NE(NULL, cy);
	ASSERT_EQ(cx->h.len, cy->h.len);
	EXPECT_EQ(0, memcmp(cx->data, cy->data, 16)) TH_LOG("%s: CONFIG", what);
	EXPECT_EQ(0, memcmp(cx->data + 32, cy->data + 32, cx->h.len - 32))
		TH_LOG("%s: the guest's CPUID changed", what);
	memcpy(&mem, cx->data, 8);
	rx = ram_image(&x, mem);
	ry = ram_image(&y, mem);
	ASSERT_NE(NULL, rx);
	ASSERT_NE(NULL, ry);
	EXPECT_EQ(0, memcmp(rx, ry, mem)) TH_LOG("%s: RAM", what);
	free(rx);
	free(ry);
	/* PDPTE registers that came in go out again (the emulated hosts keep them). */
	cx = find_section(&x, SEC_PDPTRS);
	cy = find_section(&y, SEC_PDPTRS);
	if (cx) {
		EXPECT_NE(NULL, cy) TH_LOG("%s: the PDPTEs were lost", what);
		if (cy)
			EXPECT_EQ(0, memcmp(cx->data, cy->data, PDPTRS_SECTION_LEN))
				TH_LOG("%s: the PDPTEs changed", what);
	}
	cx = find_section(&x, SEC_CPU);
	cy = find_section(&y, SEC_CPU);
	ASSERT_NE(NULL, cx);
	ASSERT_NE(NULL, cy);
	ASSERT_EQ(cx->h.len, cy->h.len) TH_LOG("%s: CPU section length", what);
	clear_host_choices(cx);
	clear_host_choices(cy);
	for (uint64_t i = 0; i < cx->h.len; i++) {
		if (cx->data[i] != cy->data[i]) {
			EXPECT_EQ(cx->data[i], cy->data[i])
				TH_LOG("%s: CPU state differs at byte %lu of its section", what,
				       (unsigned long)i);
			break;
		}
	}
	free_stream(&x);
	free_stream(&y);
	tmpfile_remove(again);
}

/* PVHC_XMIG_IN: every stream the other backend saved, restored on every host here. */
static void restore_carried(struct __test_metadata *_metadata, enum flavour f,
			    const char *checksum)
{
	const char *dir = getenv("PVHC_XMIG_IN");
	char manifest[512], file[256], flav[8], sum[64], path[800];
	unsigned int n = 0;
	FILE *m;

	if (!dir || !*dir)
		return;
	snprintf(manifest, sizeof(manifest), "%s/manifest", dir);
	m = fopen(manifest, "r");
	ASSERT_NE(NULL, m) TH_LOG("PVHC_XMIG_IN: cannot read %s", manifest);
	while (fscanf(m, "%255s %7s %63s", file, flav, sum) == 3) {
		if (strcmp(flav, f == FLAVOUR_64 ? "64" : "32"))
			continue;
		n++;
		/* The workload ends alike on every host: the other backend's reference is ours. */
		EXPECT_STREQ(checksum, sum) TH_LOG("%s: reference checksums differ", file);
		snprintf(path, sizeof(path), "%s/%s", dir, file);
		for (const char *const *h = backend_hosts(); *h; h++) {
			struct workload w;

			check_restore(_metadata, *h, path, sum, file, &w);
			/* Arrived on a real KVM, the guest went on there: KVM answered. */
			if (!on_tcg())
				EXPECT_LT(0, w.kvm_answers) TH_LOG("%s: no hypercall reached KVM",
								   file);
			TH_LOG("%s on %s: %ld hypercalls answered by a real KVM, sites %s", file,
			       host_name(*h), w.kvm_answers, w.sites);
		}
		check_round_trip(_metadata, path, file);
	}
	fclose(m);
	EXPECT_LT(0, n) TH_LOG("PVHC_XMIG_IN: no %s streams in %s", FLAVOUR_NAME(f), manifest);
}

static void between_backends(struct __test_metadata *_metadata, enum flavour f)
{
	const char *why = variant_unavailable(NULL);
	char *image;
	struct workload ref;

	if (why)
		SKIP(return, "%s", why);
	image = write_payload(f);
	ASSERT_NE(NULL, image);
	ASSERT_EQ(0, reference(f, image, &ref));
	ASSERT_EQ(PASS_STATUS, ref.status) TH_LOG("unmigrated run: %s", ref.err);
	ASSERT_NE(0, strlen(ref.checksum));
	EXPECT_STREQ(native_sites(NULL), ref.sites);
	/* pvhc's own ECHO is answered by pvhc's hosts only: never on tcg, always on kvm. */
	EXPECT_EQ(on_tcg() ? 0 : 300 + NR_SITES, ref.kvm_answers);
	save_and_restore_here(_metadata, f, image, ref.checksum);
	restore_carried(_metadata, f, ref.checksum);
	tmpfile_remove(image);
}

TEST(between_backends_64bit)
{
	between_backends(_metadata, FLAVOUR_64);
}

TEST(between_backends_32bit)
{
	between_backends(_metadata, FLAVOUR_32);
}

/* ---- what a host cannot give: one line, status 2, nothing run ---- */

static void expect_refused(struct __test_metadata *_metadata, const char *path,
			   const char *needle, const char *what)
{
	char uri[300];
	const char *a[16];
	struct cmd_result r;
	int n = base_args(a, NULL);

	snprintf(uri, sizeof(uri), "file:%s", path);
	a[n++] = "--incoming";
	a[n++] = uri;
	a[n] = NULL;
	ASSERT_EQ(0, run_pvhc(a, &r));
	EXPECT_EQ(2, r.status) TH_LOG("%s: status %d: %s", what, r.status, r.err);
	EXPECT_EQ(1, r.err_lines) TH_LOG("%s: %s", what, r.err);
	EXPECT_NE(NULL, strstr(r.err, needle)) TH_LOG("%s: expected '%s' in: %s", what, needle,
						      r.err);
	cmd_result_free(&r);
}

/* The CONFIG section's CPUID entry for function fn (host/migration.md), or NULL. */
static uint8_t *cpuid_entry(struct saved_section *config, uint32_t fn)
{
	uint32_t n, i, f;

	memcpy(&n, config->data + 32, 4);
	for (i = 0; i < n; i++) {
		uint8_t *e = config->data + 36 + 28 * i;

		memcpy(&f, e, 4);
		if (f == fn)
			return e;
	}
	return NULL;
}

/*
 * A guest whose CPUID promises what this host does not have, or whose state
 * this backend cannot hold, is refused before it runs, in one line; so is a
 * stream cut or damaged after this backend has begun to build the VM.
 */
TEST(carried_state_this_host_cannot_give)
{
	const char *why = variant_unavailable(NULL);
	static const struct save_point at_port = {
		.name = "port", .args = " port=100", .trigger = { "--migrate-on-port" },
	};
	char *image, *good = test_tmpfile("good.mig"), *bad = test_tmpfile("bad.mig"), err[512];
	struct saved_stream ss;
	struct saved_section *config, *cpu;
	struct workload w;
	uint8_t *e;
	uint32_t old, v;

	if (why)
		SKIP(return, "%s", why);
	image = write_payload(FLAVOUR_64);
	ASSERT_NE(NULL, image);
	ASSERT_EQ(PVHC_STATUS_MIGRATED, save_at(image, &at_port, good, err, sizeof(err)))
		TH_LOG("%s", err);
	/* As saved, the stream runs to the end here. */
	ASSERT_EQ(0, restore_on(NULL, good, &w));
	EXPECT_EQ(PASS_STATUS, w.status) TH_LOG("%s", w.err);
	ASSERT_EQ(0, read_stream(good, &ss));
	config = find_section(&ss, SEC_CONFIG);
	cpu = find_section(&ss, SEC_CPU);
	ASSERT_NE(NULL, config);
	ASSERT_NE(NULL, cpu);

	/* CPUID.1:EDX bit 10 is reserved: no host, emulated or real, has it. */
	e = cpuid_entry(config, 1);
	ASSERT_NE(NULL, e);
	memcpy(&old, e + 20, 4);
	v = old | 1u << 10;
	memcpy(e + 20, &v, 4);
	write_stream(bad, &ss, -1, NULL, -1);
	memcpy(e + 20, &old, 4);
	expect_refused(_metadata, bad, "leaf 0x1 EDX bit 10", "reserved CPUID feature");

	/* 52-bit physical addresses: more than this host's (at most 48 here). */
	e = cpuid_entry(config, 0x80000008);
	ASSERT_NE(NULL, e);
	memcpy(&old, e + 8, 4);
	v = (old & ~0xffu) | 52;
	memcpy(e + 8, &v, 4);
	write_stream(bad, &ss, -1, NULL, -1);
	memcpy(e + 8, &old, 4);
	expect_refused(_metadata, bad, "52-bit physical addresses", "physical address width");

	/*
	 * A PAT with the reserved memory type 2 in every entry: KVM refuses
	 * it (KVM_SET_MSRS), as a CPU's WRMSR would. Unicorn's CPU keeps any
	 * value, so the emulated hosts take it (a limit in the README).
	 */
	if (!on_tcg()) {
		uint64_t pat = 0x0202020202020202ull, old_pat;

		e = cpu_msr(cpu, MSR_IA32_CR_PAT);
		ASSERT_NE(NULL, e);
		memcpy(&old_pat, e, 8);
		memcpy(e, &pat, 8);
		write_stream(bad, &ss, -1, NULL, -1);
		memcpy(e, &old_pat, 8);
		expect_refused(_metadata, bad, "refuses MSR 0x277", "PAT");
	}

	/* Two vCPUs with one CPU section: kvm runs one vCPU, tcg misses the second. */
	memcpy(&old, config->data + 8, 4);
	v = 2;
	memcpy(config->data + 8, &v, 4);
	write_stream(bad, &ss, -1, NULL, -1);
	memcpy(config->data + 8, &old, 4);
	expect_refused(_metadata, bad, on_tcg() ? "no CPU section for vCPU 1" : "one vCPU only",
		       "two vCPUs");

	/* Cut inside the CPU section, and one bit flipped there: the VM exists by then. */
	{
		int i = section_index(&ss, SEC_CPU);
		size_t at = offset_of_section(&ss, (unsigned int)i) + 16 + 100;

		ASSERT_EQ(0, write_stream(bad, &ss, -1, NULL, -1));
		ASSERT_EQ(0, truncate(bad, (off_t)at));
		expect_refused(_metadata, bad, "truncated", "cut in the CPU section");
		/* In the file, behind write_stream(), which would compute a matching CRC. */
		ASSERT_EQ(0, write_stream(bad, &ss, -1, NULL, -1));
		{
			FILE *fp = fopen(bad, "r+");
			int c;

			ASSERT_NE(NULL, fp);
			fseek(fp, (long)at, SEEK_SET);
			c = fgetc(fp);
			fseek(fp, (long)at, SEEK_SET);
			fputc(c ^ 0x10, fp);
			fclose(fp);
		}
		expect_refused(_metadata, bad, "CRC", "bit flip in the CPU section");
	}
	free_stream(&ss);
	tmpfile_remove(good);
	tmpfile_remove(bad);
	tmpfile_remove(image);
}

TEST_HARNESS_MAIN
