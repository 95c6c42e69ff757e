// SPDX-License-Identifier: GPL-2.0-only
/* Statistics and traces; see stats.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "stats.h"
#include "vm.h"

int stats_add_rewrite(struct vm_stats *st, const struct rewrite_record *r)
{
	if (st->nr_rw == st->cap_rw) {
		size_t cap = st->cap_rw ? 2 * st->cap_rw : 16;
		struct rewrite_record *n = realloc(st->rw, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		st->rw = n;
		st->cap_rw = cap;
	}
	st->rw[st->nr_rw++] = *r;
	return 0;
}

struct site_stats *stats_site(struct vm_stats *st, uint64_t gva, uint8_t opcode)
{
	struct site_stats *s;
	size_t i;

	for (i = 0; i < st->nr_sites; i++)
		if (st->sites[i]->gva == gva)
			return st->sites[i];
	if (st->nr_sites == st->cap_sites) {
		size_t cap = st->cap_sites ? 2 * st->cap_sites : 16;
		struct site_stats **n = realloc(st->sites, cap * sizeof(*n));

		if (!n)
			return NULL;
		st->sites = n;
		st->cap_sites = cap;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->gva = gva;
	s->first_opcode = s->opcode = opcode;
	st->sites[st->nr_sites++] = s;
	return s;
}

void stats_free(struct vm_stats *st)
{
	size_t i;

	for (i = 0; i < st->nr_sites; i++)
		free(st->sites[i]);
	free(st->sites);
	free(st->rw);
	st->rw = NULL;
	st->sites = NULL;
	st->nr_rw = st->cap_rw = st->nr_sites = st->cap_sites = 0;
}

static const char *const vector_names[32] = {
	"DE", "DB", "NMI", "BP", "OF", "BR", "UD", "NM", "DF", "9", "TS", "NP",
	"SS", "GP", "PF", "15", "MF", "AC", "MC", "XM", "VE", "CP", "22", "23",
	"24", "25", "26", "27", "HV", "VC", "SX", "31",
};

int stats_write_json(const struct vm *vm, FILE *f)
{
	const struct vm_stats *st = &vm->stats;
	const struct hc_table *t = &vm->hc;
	unsigned int i;
	bool first = true;

	fprintf(f, "{\n  \"host\": \"%s\",\n  \"backend\": \"%s\",\n", vm->vendor->name,
		vm->cfg.backend->name);
	fprintf(f, "  \"hypercalls\": %" PRIu64 ",\n", st->hypercalls);
	fprintf(f, "  \"hypercalls_by_nr\": {");
	for (i = 0; i < t->nr; i++) {
		if (!t->e[i].calls)
			continue;
		fprintf(f, "%s\n    \"%" PRIu64 "\": {\"name\": \"%s\", \"calls\": %" PRIu64 "}",
			first ? "" : ",", t->e[i].nr, t->e[i].name, t->e[i].calls);
		first = false;
	}
	fprintf(f, "%s},\n", first ? "" : "\n  ");
	fprintf(f, "  \"unknown_nr\": %" PRIu64 ",\n  \"refused_cpl\": %" PRIu64 ",\n",
		t->unknown_calls, t->eperm_calls);
	fprintf(f, "  \"ud_traps\": %" PRIu64 ",\n  \"rewrites\": %" PRIu64 ",\n", st->ud_traps,
		st->rewrites);
	fprintf(f, "  \"sites_learned\": %" PRIu64 ",\n  \"slow_hypercalls\": %" PRIu64 ",\n",
		st->sites_learned, st->slow_hypercalls);
	fprintf(f, "  \"migrations\": %u,\n  \"vendor_switches\": %u,\n", st->migrations,
		st->vendor_switches);
	fprintf(f, "  \"exceptions_injected\": {");
	first = true;
	for (i = 0; i < 32; i++) {
		if (!st->exceptions[i])
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, first ? "" : ", ", vector_names[i],
			st->exceptions[i]);
		first = false;
	}
	if (st->exceptions_other)
		fprintf(f, "%s\"other\": %" PRIu64, first ? "" : ", ", st->exceptions_other);
	fprintf(f, "},\n  \"sites\": [");
	for (i = 0; i < st->nr_sites; i++) {
		const struct site_stats *s = st->sites[i];

		fprintf(f, "%s\n    {\"gva\": \"0x%" PRIx64 "\", \"first\": \"%s\", \"now\": \"%s\", "
			"\"ud_traps\": %" PRIu64 ", \"rewrites\": %" PRIu64 ", \"hypercalls\": %" PRIu64 "}",
			i ? "," : "", s->gva, opcode_name(s->first_opcode), opcode_name(s->opcode),
			s->ud_traps, s->rewrites, s->hypercalls);
	}
	fprintf(f, "%s],\n  \"rewrite_log\": [", st->nr_sites ? "\n  " : "");
	for (i = 0; i < st->nr_rw; i++) {
		const struct rewrite_record *r = &st->rw[i];

		fprintf(f, "%s\n    {\"gva\": \"0x%" PRIx64 "\", \"gpa\": \"0x%" PRIx64
			"\", \"gpa_last\": \"0x%" PRIx64 "\", \"old\": \"%s\", \"new\": \"%s\", "
			"\"vcpu\": %u, \"host\": \"%s\"}",
			i ? "," : "", r->gva, r->gpa[0], r->gpa[1], opcode_name(r->old_opcode),
			opcode_name(r->new_opcode), r->vcpu, r->host);
	}
	fprintf(f, "%s]\n}\n", st->nr_rw ? "\n  " : "");
	return ferror(f) ? -EIO : 0;
}

void trace_hypercall(struct vm *vm, unsigned int vcpu, uint64_t rip, const char *mode,
		     const struct hc_call *c, uint64_t ret, bool fast)
{
	if (!vm->trace)
		return;
	fprintf(vm->trace,
		"{\"ev\":\"hypercall\",\"vcpu\":%u,\"nr\":%" PRIu64 ",\"name\":\"%s\","
		"\"args\":[%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "],"
		"\"ret\":%" PRId64 ",\"rip\":\"0x%" PRIx64 "\",\"cpl\":%u,\"mode\":\"%s\","
		"\"path\":\"%s\"}\n",
		vcpu, c->nr, hc_name(&vm->hc, c->nr), c->a[0], c->a[1], c->a[2], c->a[3],
		(int64_t)ret, rip, c->cpl, mode, fast ? "fast" : "slow");
}

void trace_ud(struct vm *vm, unsigned int vcpu, uint64_t rip, unsigned int cpl,
	      const char *mode, const uint8_t b[3], const char *action)
{
	if (!vm->trace)
		return;
	fprintf(vm->trace,
		"{\"ev\":\"ud\",\"vcpu\":%u,\"rip\":\"0x%" PRIx64 "\",\"cpl\":%u,\"mode\":\"%s\","
		"\"bytes\":\"%02x %02x %02x\",\"host\":\"%s\",\"action\":\"%s\"}\n",
		vcpu, rip, cpl, mode, b[0], b[1], b[2], vm->vendor->name, action);
}

void trace_exception(struct vm *vm, unsigned int vcpu, uint64_t rip, unsigned int vector,
		     uint32_t error, bool has_error)
{
	if (!vm->trace)
		return;
	fprintf(vm->trace,
		"{\"ev\":\"exception\",\"vcpu\":%u,\"vector\":%u,\"rip\":\"0x%" PRIx64 "\"",
		vcpu, vector, rip);
	if (has_error)
		fprintf(vm->trace, ",\"error\":%u", error);
	fprintf(vm->trace, "}\n");
}
