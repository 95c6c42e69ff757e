// SPDX-License-Identifier: GPL-2.0-only
/*
 * A VM and its run loop. The loop is short and linear, like kvmtool's: run a
 * vCPU until it exits, act on the exit, repeat until the VM has a final
 * state. Everything a hypercall needs happens inside the backend's run().
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dev/devices.h"
#include "migrate.h"
#include "vm.h"

struct vm_config vm_default_config(void)
{
	return (struct vm_config){
		.vendor = NULL,		/* the backend's default */
		.backend = &cpu_tcg_ops,
		.mem_size = 128ull << 20,	/* QEMU's default */
		.nr_vcpus = 1,
		.fix_hypercall = true,
		.timeout = 0,
		.serial_out = NULL,
	};
}

int vm_config_check(const struct vm_config *cfg, char *err, size_t errlen)
{
	if (cfg->mem_size < VM_MIN_MEM || cfg->mem_size > VM_MAX_MEM || (cfg->mem_size & 0xfff)) {
		snprintf(err, errlen, "memory size must be 2 MiB..64 GiB in whole pages");
		return -EINVAL;
	}
	if (cfg->nr_vcpus < 1 || cfg->nr_vcpus > VM_MAX_VCPUS) {
		snprintf(err, errlen, "vCPU count must be 1..%d", VM_MAX_VCPUS);
		return -EINVAL;
	}
	return 0;
}

struct vm *vm_create(const struct vm_config *cfg, char *err, size_t errlen)
{
	const struct vendor *vendor = NULL;
	struct vm *vm;
	unsigned int i;
	int ret, saved;

	ret = vm_config_check(cfg, err, errlen);
	if (!ret)
		ret = cfg->backend->probe(cfg, &vendor, err, errlen);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		return NULL;
	}
	vm->cfg = *cfg;
	vm->cfg.vendor = vendor;
	vm->vendor = vendor;
	vm->state = VM_RUNNING;
	pthread_mutex_init(&vm->lock, NULL);
	pthread_cond_init(&vm->cond, NULL);
	if (cfg->cpuid)
		vm->cpuid = *cfg->cpuid;
	else
		cpuid_table_build(&vm->cpuid, vendor, cfg->nr_vcpus);
	vm->cpuid_carried = cfg->cpuid != NULL;
	vm->cfg.cpuid = NULL;	/* copied: the caller's table need not outlive this call */
	hc_table_init(&vm->hc);
	ret = guest_mem_alloc(&vm->mem, cfg->mem_size);
	if (ret) {
		snprintf(err, errlen, "cannot allocate %" PRIu64 " MiB of guest RAM: %s",
			 cfg->mem_size >> 20, strerror(-ret));
		goto fail;
	}
	ret = devices_init(vm, cfg->serial_out ? cfg->serial_out : stdout);
	if (ret) {
		snprintf(err, errlen, "cannot create devices: %s", strerror(-ret));
		goto fail;
	}
	ret = cfg->backend->vm_init(vm, err, errlen);
	if (ret)
		goto fail;
	for (i = 0; i < cfg->nr_vcpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));

		if (!v) {
			snprintf(err, errlen, "out of memory");
			ret = -ENOMEM;
			goto fail;
		}
		v->vm = vm;
		v->id = i;
		v->apic_id = i;
		vm->vcpus[vm->nr_vcpus++] = v;
		ret = cfg->backend->vcpu_init(v, err, errlen);
		if (ret)
			goto fail;
	}
	smp_power_on(vm);
	return vm;
fail:
	/* A failure after the probe is the host's, never a usage error. */
	saved = ret == -EINVAL || !ret ? EIO : -ret;
	vm_destroy(vm);
	errno = saved;
	return NULL;
}

void vm_destroy(struct vm *vm)
{
	unsigned int i;

	if (!vm)
		return;
	mig_join(vm);
	for (i = 0; i < vm->nr_vcpus; i++) {
		vm->cfg.backend->vcpu_destroy(vm->vcpus[i]);
		free(vm->vcpus[i]);
	}
	vm->cfg.backend->vm_destroy(vm);
	devices_destroy(vm);
	guest_mem_free(&vm->mem);
	stats_free(&vm->stats);
	mig_free(vm);
	pthread_cond_destroy(&vm->cond);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

int vm_register_hypercall(struct vm *vm, uint64_t nr, const char *name, unsigned int nargs,
			  hc_fn fn, void *opaque)
{
	return hc_table_register(&vm->hc, nr, name, nargs, fn, opaque);
}

void vm_request_exit(struct vm *vm, enum vm_state state, int value, const char *fmt, ...)
{
	struct vcpu *running;
	va_list ap;

	pthread_mutex_lock(&vm->lock);
	if (vm->state != VM_RUNNING) {
		pthread_mutex_unlock(&vm->lock);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(vm->exit_reason, sizeof(vm->exit_reason), fmt, ap);
	va_end(ap);
	vm->exit_value = value;
	vm->state = state;
	running = vm->running;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
	if (running)
		vm->cfg.backend->kick(running);
}

void vm_request_pause(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = true;
	pthread_mutex_unlock(&vm->lock);
}

/*
 * Kick the running vCPU until the run loop has noticed: a kick that lands
 * just before the backend enters its emulator can be lost, so repeat it.
 */
static void kick_until(struct vm *vm, bool (*done)(struct vm *vm))
{
	struct timespec ts;

	while (!done(vm)) {
		if (vm->running)
			vm->cfg.backend->kick(vm->running);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 10 * 1000 * 1000;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&vm->cond, &vm->lock, &ts);
	}
}

static bool parked_or_ended(struct vm *vm)
{
	return vm->parked || vm->state != VM_RUNNING;
}

int vm_pause(struct vm *vm)
{
	int ret = 0;

	pthread_mutex_lock(&vm->lock);
	vm->pause_req = true;
	kick_until(vm, parked_or_ended);
	if (!vm->parked)
		ret = -ESHUTDOWN;
	pthread_mutex_unlock(&vm->lock);
	return ret;
}

void vm_resume(struct vm *vm)
{
	pthread_mutex_lock(&vm->lock);
	vm->pause_req = false;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

/* On the vCPU thread, between runs: stay here while the VM is paused. */
static void park_while_paused(struct vm *vm)
{
	const struct cpu_ops *ops = vm->cfg.backend;
	unsigned int i;
	bool pausing;
	int ret;

	pthread_mutex_lock(&vm->lock);
	pausing = vm->pause_req && vm->state == VM_RUNNING;
	pthread_mutex_unlock(&vm->lock);
	/* Runs no guest code: harmless if the pause is withdrawn meanwhile. */
	for (i = 0; pausing && ops->quiesce && i < vm->nr_vcpus; i++) {
		ret = ops->quiesce(vm->vcpus[i]);
		if (ret)
			vm_request_exit(vm, VM_FAILED, 0, "cannot stop vCPU %u at an instruction "
					"boundary: %s", i, strerror(-ret));
	}
	pthread_mutex_lock(&vm->lock);
	while (vm->pause_req && vm->state == VM_RUNNING) {
		vm->parked = true;
		pthread_cond_broadcast(&vm->cond);
		pthread_cond_wait(&vm->cond, &vm->lock);
	}
	vm->parked = false;
	pthread_mutex_unlock(&vm->lock);
}

/* A test trigger fired in the guest: stop it where it is and migrate. */
static void start_triggered_migration(struct vm *vm)
{
	struct mig_params p = mig_default_params();
	char err[256];

	vm->mig_trigger = false;
	p.live = vm->cfg.migrate_live;
	if (!p.live)
		vm_request_pause(vm);	/* stop-and-copy from exactly this point */
	if (mig_start(vm, vm->cfg.migrate_to, &p, err, sizeof(err))) {
		fprintf(stderr, "pvhc: migration not started: %s\n", err);
		vm_resume(vm);
	}
}

int vm_exit_status(const struct vm *vm)
{
	switch (vm->state) {
	case VM_EXITED:
		return (((unsigned int)vm->exit_value << 1) | 1) & 0xff;
	case VM_POWEROFF:
		return PVHC_STATUS_POWEROFF;
	case VM_CRASHED:
		return PVHC_STATUS_CRASH;
	case VM_TIMED_OUT:
		return PVHC_STATUS_TIMEOUT;
	case VM_MIGRATED:
		return PVHC_STATUS_MIGRATED;
	case VM_RUNNING:
	case VM_FAILED:
		break;
	}
	return PVHC_STATUS_HOST_ERROR;
}

static bool not_running(struct vm *vm)
{
	return vm->running == NULL;
}

/* --timeout: a thread that ends the run when the deadline passes. */
struct watchdog {
	struct vm *vm;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	struct timespec deadline;
};

static void *watchdog_main(void *arg)
{
	struct watchdog *w = arg;
	int ret = 0;

	pthread_mutex_lock(&w->lock);
	while (!w->done && ret != ETIMEDOUT)
		ret = pthread_cond_timedwait(&w->cond, &w->lock, &w->deadline);
	pthread_mutex_unlock(&w->lock);
	if (ret == ETIMEDOUT) {
		vm_request_exit(w->vm, VM_TIMED_OUT, 0, "timeout after %g s", w->vm->cfg.timeout);
		pthread_mutex_lock(&w->vm->lock);
		kick_until(w->vm, not_running);
		pthread_mutex_unlock(&w->vm->lock);
	}
	return NULL;
}

static int watchdog_start(struct watchdog *w, struct vm *vm)
{
	pthread_condattr_t attr;
	double whole;

	memset(w, 0, sizeof(*w));
	w->vm = vm;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &attr);
	pthread_condattr_destroy(&attr);
	clock_gettime(CLOCK_MONOTONIC, &w->deadline);
	whole = (double)(long long)vm->cfg.timeout;
	w->deadline.tv_sec += (time_t)whole;
	w->deadline.tv_nsec += (long)((vm->cfg.timeout - whole) * 1e9);
	if (w->deadline.tv_nsec >= 1000000000L) {
		w->deadline.tv_sec++;
		w->deadline.tv_nsec -= 1000000000L;
	}
	return pthread_create(&w->thread, NULL, watchdog_main, w);
}

static void watchdog_stop(struct watchdog *w)
{
	pthread_mutex_lock(&w->lock);
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
}

static void set_running(struct vm *vm, struct vcpu *v)
{
	pthread_mutex_lock(&vm->lock);
	vm->running = v;
	pthread_cond_broadcast(&vm->cond);
	pthread_mutex_unlock(&vm->lock);
}

int vm_run(struct vm *vm)
{
	struct watchdog wd;
	bool have_wd = false;
	struct vcpu *v = NULL;

	if (vm->cfg.timeout > 0)
		have_wd = watchdog_start(&wd, vm) == 0;
	while (vm->state == VM_RUNNING) {
		enum vcpu_exit exit;
		char why[256];

		if (vm->mig_trigger)
			start_triggered_migration(vm);
		park_while_paused(vm);
		v = smp_pick(vm, v);
		if (!v && smp_wait_for_timer(vm))
			continue;	/* halted, waiting for its timer */
		if (!v) {
			smp_describe_deadlock(vm, why, sizeof(why));
			vm_request_exit(vm, VM_CRASHED, 0, "%s", why);
			break;
		}
		set_running(vm, v);
		if (vm_needs_attention(vm)) {
			set_running(vm, NULL);	/* a kick may have come before we were running */
			continue;
		}
		smp_enter(v);
		exit = vm->cfg.backend->run(v);
		set_running(vm, NULL);
		smp_exit(v, exit);
		v->yield_requested = false;
	}
	if (have_wd)
		watchdog_stop(&wd);
	mig_join(vm);
	if (vm->cfg.serial_out)
		fflush(vm->cfg.serial_out);
	fflush(stdout);
	return vm_exit_status(vm);
}
