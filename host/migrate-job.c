// SPDX-License-Identifier: GPL-2.0-only
/*
 * The migration job: moves a running VM to a destination on its own thread.
 *
 *   stop-and-copy:  pause the vCPU at an instruction boundary, send RAM (only
 *                   pages that exist and are not zero), vCPU, devices, shim;
 *   live (pre-copy): send RAM while the guest runs, then in rounds send what
 *                   it wrote meanwhile (userfaultfd dirty log), until a round
 *                   is small; then pause and send the rest as above.
 *
 * Then the destination's acknowledgement. Only after "OK" does the source
 * end (state VM_MIGRATED); any failure on the way - refused stream, dropped
 * connection, timeout - resumes the guest where it stopped and says why.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dirty-log.h"
#include "migrate.h"
#include "vm.h"

struct mig_job {
	struct vm *vm;
	pthread_t thread;
	struct mig_uri uri;
	struct mig_params params;
	pthread_mutex_t lock;		/* guards status */
	struct mig_status status;
	struct stream stream;
	struct ram_writer ram;
	double t_start, t_last_progress;
	bool progress_shown;
};

struct mig_params mig_default_params(void)
{
	return (struct mig_params){
		.live = false,
		.max_rounds = 30,
		.stop_pages = 256,		/* 1 MiB left: a few ms of downtime */
		.timeout_ms = 30000,
		.progress = true,
	};
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void update_status(struct mig_job *j)
{
	pthread_mutex_lock(&j->lock);
	j->status.bytes = j->stream.bytes;
	j->status.pages = j->ram.pages_sent;
	j->status.zero_pages = j->ram.zero_pages;
	pthread_mutex_unlock(&j->lock);
}

/* "bytes sent of total, rate, round" on a terminal, at most ten times a second. */
static void show_progress(struct mig_job *j, bool final)
{
	double t = now_ms(), secs = (t - j->t_start) / 1e3;

	if (!j->params.progress || !isatty(STDERR_FILENO))
		return;
	if (!final && t - j->t_last_progress < 100)
		return;
	j->t_last_progress = t;
	j->progress_shown = true;
	fprintf(stderr, "\rpvhc: migrating: %" PRIu64 " of ~%" PRIu64 " MiB sent, %.0f MB/s, round %" PRIu64 "   %s",
		j->stream.bytes >> 20, j->status.ram_total >> 20,
		secs > 0 ? (double)j->stream.bytes / 1e6 / secs : 0.0, j->status.rounds,
		final ? "\n" : "");
}

struct page_ctx {
	struct mig_job *job;
	bool send_zero;
	int err;
};

/* For each run of pages from present_pages() or the dirty log. */
static void send_run(void *opaque, uint64_t off, uint64_t len)
{
	struct page_ctx *c = opaque;
	struct mig_job *j = c->job;
	uint64_t end = off + len;

	for (; off < end && !c->err; off += 4096) {
		if (off >= j->vm->mem.size)
			break;
		c->err = ram_writer_page(&j->ram, j->vm, off, c->send_zero);
		if ((j->ram.pages_sent & 255) == 0) {
			update_status(j);
			show_progress(j, false);
		}
	}
}

static void count_run(void *opaque, uint64_t off, uint64_t len)
{
	*(uint64_t *)opaque += len;
}

static int send_present(struct mig_job *j)
{
	struct page_ctx c = { j, false, 0 };
	int ret = present_pages(j->vm->mem.host, j->vm->mem.size, send_run, &c);

	return ret ? ret : c.err;
}

static long send_dirty(struct mig_job *j, struct dirty_log *d)
{
	struct page_ctx c = { j, true, 0 };
	long n = dirty_log_collect(d, send_run, &c);

	if (n < 0)
		return n;
	return c.err ? c.err : n;
}

static int run_job(struct mig_job *j, char *err, size_t errlen)
{
	struct vm *vm = j->vm;
	struct dirty_log dl = { .uffd = -1, .pagemap = -1 };
	bool live = j->params.live, paused = false;
	double t_stop = 0;
	int fd, ret;
	uint64_t present = 0;

	fd = mig_open_out(&j->uri, j->params.timeout_ms, err, errlen);
	if (fd < 0)
		return -EIO;
	stream_init(&j->stream, fd, j->params.timeout_ms);
	if (ram_writer_init(&j->ram, &j->stream)) {
		snprintf(err, errlen, "out of memory");
		if (j->uri.kind != URI_FD)
			close(fd);
		return -ENOMEM;
	}
	present_pages(vm->mem.host, vm->mem.size, count_run, &present);
	j->status.ram_total = present;

	ret = stream_write_header(&j->stream);
	if (!ret)
		ret = mig_put_config(vm, &j->stream);
	if (!ret && live) {
		ret = dirty_log_start(&dl, vm->mem.host, vm->mem.size, err, errlen);
		if (ret)
			goto out;
		/* Round 0 while the guest runs: everything that exists. */
		ret = send_present(j);
		while (!ret) {
			long n;

			ret = ram_writer_flush(&j->ram);
			if (ret)
				break;
			n = send_dirty(j, &dl);
			if (n < 0) {
				ret = (int)n;
				break;
			}
			j->status.rounds++;
			/*
			 * Stop copying in rounds once few pages are left, or once
			 * rounds stop shrinking the dirty set (the guest writes as
			 * fast as we send: more rounds only add time).
			 */
			if ((uint64_t)n <= j->params.stop_pages || j->status.rounds >= j->params.max_rounds ||
			    (j->status.rounds >= 3 && (uint64_t)n * 10 > j->status.dirty_last * 9)) {
				j->status.dirty_last = (uint64_t)n;
				break;
			}
			j->status.dirty_last = (uint64_t)n;
		}
	}
	if (ret)
		goto out;

	/* Stop the guest at an instruction boundary; from here on it is downtime. */
	if (vm_pause(vm)) {
		snprintf(err, errlen, "the guest ended during the migration");
		ret = -ESHUTDOWN;
		goto out;
	}
	paused = true;
	t_stop = now_ms();
	if (live)
		ret = (int)send_dirty(j, &dl);
	else
		ret = send_present(j);
	if (ret > 0)
		ret = 0;
	if (!ret)
		ret = ram_writer_flush(&j->ram);
	if (!ret)
		ret = mig_put_state(vm, &j->stream);
	if (ret) {
		snprintf(err, errlen, "sending failed: %.200s", j->stream.err[0] ? j->stream.err :
			 strerror(-ret));
		goto out;
	}
	if (j->uri.kind == URI_FILE) {
		char part[sizeof(j->uri.path) + 8];

		snprintf(part, sizeof(part), "%s.part", j->uri.path);
		if (fsync(fd) || rename(part, j->uri.path)) {
			snprintf(err, errlen, "%.200s: %s", j->uri.path, strerror(errno));
			ret = -EIO;
		}
	} else if (mig_fd_is_bidirectional(fd)) {
		ret = mig_wait_ack(&j->stream, err, errlen);
	}
out:
	if (ret && !err[0])
		snprintf(err, errlen, "%s", j->stream.err[0] ? j->stream.err : strerror(-ret));
	if (live)
		dirty_log_stop(&dl);
	update_status(j);
	pthread_mutex_lock(&j->lock);
	j->status.total_ms = now_ms() - j->t_start;
	j->status.downtime_ms = paused ? now_ms() - t_stop : 0;
	pthread_mutex_unlock(&j->lock);
	if (j->progress_shown)
		show_progress(j, true);
	stream_destroy(&j->stream);
	ram_writer_destroy(&j->ram);
	if (j->uri.kind != URI_FD)
		close(fd);
	return ret;
}

static void *job_main(void *arg)
{
	struct mig_job *j = arg;
	struct vm *vm = j->vm;
	char err[256] = "";
	int ret;

	ret = run_job(j, err, sizeof(err));
	pthread_mutex_lock(&j->lock);
	j->status.state = ret ? MIG_FAILED : MIG_COMPLETED;
	if (ret)
		snprintf(j->status.error, sizeof(j->status.error), "%s", err);
	pthread_mutex_unlock(&j->lock);
	if (ret) {
		fprintf(stderr, "pvhc: migration to %s failed: %s; the guest continues here\n",
			j->status.uri, err);
	} else {
		vm_request_exit(vm, VM_MIGRATED, 0,
				"migrated to %s: %" PRIu64 " bytes, %" PRIu64 " pages, %" PRIu64
				" rounds, total %.1f ms, downtime %.1f ms", j->status.uri,
				j->status.bytes, j->status.pages, j->status.rounds,
				j->status.total_ms, j->status.downtime_ms);
	}
	vm_resume(vm);
	return NULL;
}

int mig_start(struct vm *vm, const char *uri, const struct mig_params *p, char *err,
	      size_t errlen)
{
	struct mig_job *j = vm->mig;

	if (j && j->status.state == MIG_ACTIVE) {
		snprintf(err, errlen, "a migration is already running");
		return -EBUSY;
	}
	if (!j) {
		j = calloc(1, sizeof(*j));
		if (!j) {
			snprintf(err, errlen, "out of memory");
			return -ENOMEM;
		}
		pthread_mutex_init(&j->lock, NULL);
		vm->mig = j;
	} else if (j->vm) {
		pthread_join(j->thread, NULL);	/* the previous job, finished */
		j->vm = NULL;
	}
	if (mig_parse_uri(uri, &j->uri, err, errlen))
		return -EINVAL;
	j->vm = vm;
	j->params = *p;
	memset(&j->status, 0, sizeof(j->status));
	snprintf(j->status.uri, sizeof(j->status.uri), "%s", uri);
	j->status.state = MIG_ACTIVE;
	j->t_start = now_ms();
	j->progress_shown = false;
	if (pthread_create(&j->thread, NULL, job_main, j)) {
		j->status.state = MIG_FAILED;
		snprintf(err, errlen, "cannot start the migration thread");
		return -EAGAIN;
	}
	return 0;
}

void mig_get_status(struct vm *vm, struct mig_status *st)
{
	struct mig_job *j = vm->mig;

	memset(st, 0, sizeof(*st));
	if (!j)
		return;
	pthread_mutex_lock(&j->lock);
	*st = j->status;
	if (st->state == MIG_ACTIVE)
		st->total_ms = now_ms() - j->t_start;
	pthread_mutex_unlock(&j->lock);
}

void mig_join(struct vm *vm)
{
	struct mig_job *j = vm->mig;

	if (j && j->vm) {
		pthread_join(j->thread, NULL);
		j->vm = NULL;	/* joined */
	}
}

void mig_free(struct vm *vm)
{
	if (vm->mig) {
		pthread_mutex_destroy(&vm->mig->lock);
		free(vm->mig);
		vm->mig = NULL;
	}
}
