// SPDX-License-Identifier: GPL-2.0-only
/*
 * The baseline of `make bench`: the round trip of one port-I/O exit on this
 * machine's /dev/kvm. A 16-bit real-mode guest loops on "out %al, $0x80";
 * every KVM_RUN returns with KVM_EXIT_IO. This is the cheapest exit a
 * hypervisor that leaves the guest for each hypercall pays. Prints
 * "BASELINE ns_per_exit X" or "BASELINE n/a <reason>" (exit 0 either way).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static int na(const char *why)
{
	printf("BASELINE n/a %s\n", why);
	return 0;
}

static void on_alarm(int sig)
{
	static const char msg[] = "BASELINE n/a KVM_RUN did not return within 10 s\n";

	(void)sig;
	if (write(1, msg, sizeof(msg) - 1) < 0)
		_exit(0);
	_exit(0);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	static const uint8_t code[] = { 0xe6, 0x80, 0xeb, 0xfc };	/* out %al,$0x80; jmp . - 2 */
	long iters = argc > 1 ? atol(argv[1]) : 200000;
	struct kvm_userspace_memory_region region;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	struct kvm_run *run;
	int kvm, vm, vcpu, size;
	double t0, t1;
	uint8_t *mem;
	long i;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return na("no /dev/kvm");
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		return na("KVM_CREATE_VM failed");
	mem = mmap(NULL, 0x1000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		return na("mmap failed");
	memcpy(mem, code, sizeof(code));
	region = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = 0x1000,
		.userspace_addr = (uintptr_t)mem,
	};
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		return na("KVM_SET_USER_MEMORY_REGION failed");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vcpu < 0 || size <= 0)
		return na("KVM_CREATE_VCPU failed");
	run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return na("cannot map kvm_run");
	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		return na("KVM_GET_SREGS failed");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs))
		return na("KVM_SET_SREGS failed");
	memset(&regs, 0, sizeof(regs));
	regs.rip = 0;
	regs.rflags = 2;
	if (ioctl(vcpu, KVM_SET_REGS, &regs))
		return na("KVM_SET_REGS failed");

	signal(SIGALRM, on_alarm);
	alarm(10);
	for (i = 0; i < 1000; i++)	/* warm up */
		if (ioctl(vcpu, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_IO)
			return na("the guest did not exit with KVM_EXIT_IO");
	t0 = now();
	for (i = 0; i < iters; i++)
		if (ioctl(vcpu, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_IO)
			return na("KVM_RUN failed while measuring");
	t1 = now();
	alarm(0);
	printf("BASELINE ns_per_exit %.1f\n", (t1 - t0) * 1e9 / (double)iters);
	return 0;
}
