// SPDX-License-Identifier: GPL-2.0-only
/*
 * Trapping RDMSR, WRMSR and MOV to CR4 on the emulated hosts; see tcg-exits.h.
 *
 * Why exits and not code hooks: Unicorn 2.1.1 walks every code hook's
 * address bounds for each hooked instruction it executes, so each MSR site
 * hooked that way would slow every hypercall on the fast path by 1.5-2 ns
 * (measured: 8 extra hooks took a hooked instruction from 6.6 to 18 ns).
 * Exits cost nothing until the guest reaches one; then the access costs an
 * emulator stop and restart, like a VM exit to a userspace VMM.
 *
 * Finding the instructions needs no decoder: at any address where an
 * instruction starts with (prefixes and) 0f 30 or 0f 32, that instruction
 * is WRMSR or RDMSR; with 0f 22 and CR4 in ModRM.reg, MOV to CR4. So every such byte pattern in a new block, and every
 * start of a run of prefix bytes right before it, is armed; an armed address
 * where no instruction starts is never reached and costs nothing but a slot.
 *
 * Why the HLT before one: when Unicorn stops at an exit it leaves the CPU
 * exactly as a HLT that ends at that address would, so the two could not be
 * told apart. A HLT (with its prefixes) ending where an exit starts is
 * armed too, and the run loop emulates it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "guest-pt.h"
#include "tcg-exits.h"

#define INSN_MAX 15
#define OP_HLT 0xf4
#define OP_0F 0x0f
#define OP_WRMSR 0x30
#define OP_RDMSR 0x32
#define OP_MOV_TO_CR 0x22
#define PREFIX_LOCK 0xf0

void tcg_exits_init(struct tcg_exits *ex, uc_engine *uc)
{
	memset(ex, 0, sizeof(*ex));
	ex->uc = uc;
}

void tcg_exits_destroy(struct tcg_exits *ex)
{
	free(ex->armed);
	free(ex->found);
	free(ex->rejects);
	memset(ex, 0, sizeof(*ex));
}

static bool is_prefix(uint8_t b, bool long64)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
	case 0x66: case 0x67: case 0xf0: case 0xf2: case 0xf3:
		return true;
	default:
		return long64 && (b & 0xf0) == 0x40;	/* REX */
	}
}

/* MOV to CR4: 0f 22 with CR4 in ModRM.reg (the instruction ignores ModRM.mod). */
static bool is_mov_to_cr4(const uint8_t *op)
{
	return op[0] == OP_0F && op[1] == OP_MOV_TO_CR && ((op[2] >> 3) & 7) == 4;
}

enum tcg_exit_insn tcg_exit_decode(const uint8_t *b, size_t n, bool long64, unsigned int *len,
				   unsigned int *gpr)
{
	size_t i = 0;
	bool lock = false;
	uint8_t rex = 0;

	while (i < n && i < INSN_MAX - 1 && is_prefix(b[i], long64)) {
		lock |= b[i] == PREFIX_LOCK;
		/* A REX prefix counts only right before the opcode. */
		rex = long64 && (b[i] & 0xf0) == 0x40 ? b[i] : 0;
		i++;
	}
	/* LOCK on these is #UD (AMD's LOCK MOV CR0 is CR8): leave that to the CPU model. */
	if (lock || i >= n)
		return EXIT_INSN_OTHER;
	if (b[i] == OP_HLT) {
		*len = (unsigned int)i + 1;
		return EXIT_INSN_HLT;
	}
	if (i + 1 < n && b[i] == OP_0F && (b[i + 1] == OP_WRMSR || b[i + 1] == OP_RDMSR)) {
		*len = (unsigned int)i + 2;
		return b[i + 1] == OP_WRMSR ? EXIT_INSN_WRMSR : EXIT_INSN_RDMSR;
	}
	/* REX.R would make it CR12, a #UD the CPU model raises itself. */
	if (i + 2 < n && is_mov_to_cr4(b + i) && !(rex & 4)) {
		*len = (unsigned int)i + 3;
		*gpr = (b[i + 2] & 7) | ((rex & 1) << 3);
		return EXIT_INSN_MOV_CR4;
	}
	return EXIT_INSN_OTHER;
}

static size_t find_sorted(const uint64_t *a, size_t n, uint64_t la)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (a[mid] < la)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

bool tcg_exits_is_armed(const struct tcg_exits *ex, uint64_t la)
{
	size_t i = find_sorted(ex->armed, ex->nr_armed, la);

	return i < ex->nr_armed && ex->armed[i] == la;
}

bool tcg_exits_found(const struct tcg_exits *ex)
{
	return ex->nr_found != 0;
}

static bool is_rejected(const struct tcg_exits *ex, uint64_t la, const uint8_t *bytes, size_t n)
{
	size_t i;

	for (i = 0; i < ex->nr_rejects; i++) {
		const struct tcg_exit_reject *r = &ex->rejects[i];

		if (r->la == la && r->len <= n && !memcmp(r->bytes, bytes, r->len))
			return true;
	}
	return false;
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap ? *cap : 16;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	q = realloc(*p, n * elem);
	if (!q)
		return -ENOMEM;
	*p = q;
	*cap = n;
	return 0;
}

/* Note la, whose bytes are b[0..n), unless it is armed, noted or rejected already. */
static bool note(struct tcg_exits *ex, uint64_t la, const uint8_t *b, size_t n)
{
	size_t i;

	if (tcg_exits_is_armed(ex, la) || is_rejected(ex, la, b, n))
		return false;
	for (i = 0; i < ex->nr_found; i++)
		if (ex->found[i] == la)
			return false;
	if (grow((void **)&ex->found, &ex->cap_found, ex->nr_found + 1, sizeof(uint64_t)))
		return false;	/* out of memory: the instruction runs unchecked */
	ex->found[ex->nr_found++] = la;
	return true;
}

/*
 * Note every start of the instruction whose opcode bytes are buf[op..end):
 * the opcode itself and each run of prefixes before it (not before
 * buf[lo]). Then guard each start: a HLT ending right there would stop the
 * engine at the same place, so it is noted too (and guarded in turn, a few
 * levels deep). buf holds [base, base + n).
 */
static bool note_starts(struct tcg_exits *ex, const uint8_t *buf, size_t lo, size_t op,
			size_t end, size_t n, uint64_t base, bool long64, int depth)
{
	bool any = false;
	size_t p = op;

	for (;;) {
		any |= note(ex, base + p, buf + p, n - p);
		if (p > 0 && buf[p - 1] == OP_HLT && depth < 4)
			any |= note_starts(ex, buf, 0, p - 1, p, n, base, long64, depth + 1);
		if (p == lo || end - p >= INSN_MAX || !is_prefix(buf[p - 1], long64))
			break;
		p--;
	}
	return any;
}

/* buf holds [base, base + n); the block proper starts at buf[from]. */
static bool scan_bytes(struct tcg_exits *ex, const uint8_t *buf, size_t from, size_t n,
		       uint64_t base, bool long64)
{
	bool any = false;
	size_t i;

	for (i = from; i + 1 < n; i++) {
		if (buf[i] == OP_0F && (buf[i + 1] == OP_WRMSR || buf[i + 1] == OP_RDMSR))
			any |= note_starts(ex, buf, from, i, i + 2, n, base, long64, 0);
		else if (i + 2 < n && is_mov_to_cr4(buf + i))
			any |= note_starts(ex, buf, from, i, i + 3, n, base, long64, 0);
	}
	return any;
}

/* Read what is mapped of [la, la + len); unreadable bytes read as 0 (no opcode). */
static void read_code(const struct guest_mem *mem, const struct x86_sregs *s, uint64_t la,
		      uint8_t *buf, size_t len)
{
	size_t done = 0;

	memset(buf, 0, len);
	while (done < len) {
		size_t chunk = 0x1000 - ((la + done) & 0xfff);
		uint64_t fault_la;
		uint32_t pf;

		if (chunk > len - done)
			chunk = len - done;
		guest_pt_read(mem, s, la + done, buf + done, chunk, MMU_READ, &fault_la, &pf);
		done += chunk;
	}
}

static bool scan_range(struct tcg_exits *ex, const struct guest_mem *mem,
		       const struct x86_sregs *s, uint64_t la, size_t size)
{
	/* Also read the longest HLT-with-prefixes that could end right before la. */
	size_t behind = la >= INSN_MAX ? INSN_MAX : (size_t)la;
	bool long64 = (s->efer & X86_EFER_LMA) && s->seg[SEG_CS].l;
	uint8_t *buf = malloc(behind + size);
	bool any;

	if (!buf)
		return false;
	read_code(mem, s, la - behind, buf, behind + size);
	any = scan_bytes(ex, buf, behind, behind + size, la - behind, long64);
	free(buf);
	return any;
}

bool tcg_exits_scan(struct tcg_exits *ex, const struct guest_mem *mem,
		    const struct x86_sregs *s, uint64_t la, size_t size)
{
	ex->block_seen = true;
	return scan_range(ex, mem, s, la, size);
}

void tcg_exits_scan_entry(struct tcg_exits *ex, const struct guest_mem *mem,
			  const struct x86_sregs *s, uint64_t la)
{
	if (!ex->block_seen)
		scan_range(ex, mem, s, la, 0x2000 - (la & 0xfff));
}

static void load_exits(struct tcg_exits *ex)
{
	uc_ctl_set_exits(ex->uc, ex->armed, ex->nr_armed);
}

static void insert_armed(struct tcg_exits *ex, uint64_t la)
{
	size_t at = find_sorted(ex->armed, ex->nr_armed, la);

	memmove(ex->armed + at + 1, ex->armed + at, (ex->nr_armed - at) * sizeof(uint64_t));
	ex->armed[at] = la;
	ex->nr_armed++;
}

static void remove_armed(struct tcg_exits *ex, uint64_t la)
{
	size_t at = find_sorted(ex->armed, ex->nr_armed, la);

	if (at == ex->nr_armed || ex->armed[at] != la)
		return;
	memmove(ex->armed + at, ex->armed + at + 1, (ex->nr_armed - at - 1) * sizeof(uint64_t));
	ex->nr_armed--;
}

void tcg_exits_set_edge(struct tcg_exits *ex, bool armed)
{
	if (armed == tcg_exits_is_armed(ex, TCG_EXIT_CANONICAL_EDGE))
		return;
	if (!armed)
		remove_armed(ex, TCG_EXIT_CANONICAL_EDGE);
	else if (grow((void **)&ex->armed, &ex->cap_armed, ex->nr_armed + 1, sizeof(uint64_t)))
		return;
	else
		insert_armed(ex, TCG_EXIT_CANONICAL_EDGE);
	load_exits(ex);
	/* A block translated while the edge was not armed runs straight past it. */
	if (armed)
		uc_ctl_remove_cache(ex->uc, TCG_EXIT_CANONICAL_EDGE - 1, TCG_EXIT_CANONICAL_EDGE);
}

bool tcg_exits_edge_wanted(const struct tcg_exits *ex, uint64_t la, size_t size)
{
	const uint64_t page = TCG_EXIT_CANONICAL_EDGE - 0x1000;

	return la < TCG_EXIT_CANONICAL_EDGE && la + size > page &&
	       !tcg_exits_is_armed(ex, TCG_EXIT_CANONICAL_EDGE);
}

int tcg_exits_arm(struct tcg_exits *ex)
{
	size_t i;
	int ret = 0;

	if (!ex->nr_found)
		return 0;
	if (ex->nr_armed + ex->nr_found > TCG_EXITS_MAX) {
		ex->overflow = true;
		ex->nr_found = 0;
		return -ENOSPC;
	}
	if (grow((void **)&ex->armed, &ex->cap_armed, ex->nr_armed + ex->nr_found,
		 sizeof(uint64_t))) {
		ex->nr_found = 0;
		return -ENOMEM;
	}
	for (i = 0; i < ex->nr_found; i++)
		insert_armed(ex, ex->found[i]);
	load_exits(ex);
	/* Blocks translated before the exit existed run straight through it. */
	for (i = 0; i < ex->nr_found; i++)
		uc_ctl_remove_cache(ex->uc, ex->found[i], ex->found[i] + 1);
	ex->nr_found = 0;
	return ret;
}

void tcg_exits_reject(struct tcg_exits *ex, uint64_t la, const uint8_t *bytes, size_t len)
{
	struct tcg_exit_reject *r;

	remove_armed(ex, la);
	load_exits(ex);
	if (grow((void **)&ex->rejects, &ex->cap_rejects, ex->nr_rejects + 1, sizeof(*r)))
		return;
	r = &ex->rejects[ex->nr_rejects++];
	r->la = la;
	r->len = (uint8_t)(len < sizeof(r->bytes) ? len : sizeof(r->bytes));
	memcpy(r->bytes, bytes, r->len);
}
