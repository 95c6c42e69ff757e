// SPDX-License-Identifier: GPL-2.0-only
/*
 * /sys/kernel/debug/pvhc/: a root-only window onto the module.
 *
 *   hypercall  write "nr [a0 [a1 [a2 [a3]]]]" to issue a hypercall with that
 *              many arguments; read gives the last result as a signed
 *              decimal (a negative value is a -KVM_E* code from the host).
 *   bench      write N (1..10000000) to time N KVM_HC_VAPIC_POLL_IRQ calls;
 *              read gives "N calls, X ns/call".
 *   sites      every hypercall instruction of this module: function+offset,
 *              address, its three bytes now, and which instruction that is.
 *   yield      write a CPU number to run the pv_yield sample towards it;
 *              read gives what happened.
 *
 * Numbers are decimal, 0x-hex or 0-octal; arguments may also be negative.
 * A command must come in one write at offset 0. Anything else, including
 * extra words, is -EINVAL; a hypercall without a KVM host is -ENODEV; a read
 * before any successful write is -ENODATA.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include "pvhc_guest.h"

#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/string.h>
#include <linux/uaccess.h>

/* Long enough for five 64-bit numbers in octal with blanks between them. */
#define PVHC_INPUT_MAX	128

static struct dentry *pvhc_dir;

/* Serialises the commands and guards what the reads report. */
static DEFINE_MUTEX(pvhc_lock);
static bool pvhc_have_result;
static long pvhc_result;
static unsigned long pvhc_bench_calls;	/* 0: no benchmark yet */
static u64 pvhc_bench_ns;
static bool pvhc_have_yield;
static struct pvhc_yield_result pvhc_yield;

/*
 * Copies a whole command and splits it at blanks into at most @max numbers.
 * Returns how many were found (at least one) or -EINVAL/-EFAULT. Only a
 * write at offset 0 is accepted, so that a command split over two writes
 * cannot be read as two different commands.
 */
static int pvhc_parse(const char __user *ubuf, size_t len, loff_t *ppos,
		      unsigned long *val, int max)
{
	char buf[PVHC_INPUT_MAX];
	char *tok, *s = buf;
	long sval;
	int n = 0;

	if (*ppos || !len || len >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';
	/* A NUL would silently cut the command short. */
	if (strlen(buf) != len)
		return -EINVAL;

	while ((tok = strsep(&s, " \t\n")) != NULL) {
		if (!*tok)
			continue;
		if (n == max)
			return -EINVAL;
		if (kstrtoul(tok, 0, &val[n])) {
			if (kstrtol(tok, 0, &sval))
				return -EINVAL;
			val[n] = sval;
		}
		n++;
	}
	return n ? n : -EINVAL;
}

static ssize_t pvhc_hypercall_write(struct file *file, const char __user *ubuf,
				    size_t len, loff_t *ppos)
{
	unsigned long val[1 + PVHC_GUEST_MAX_ARGS];
	long ret;
	int n, err;

	n = pvhc_parse(ubuf, len, ppos, val, ARRAY_SIZE(val));
	if (n < 0)
		return n;
	/* Hypercall numbers are 32-bit, so "-1" or 2^32 is a typo, not a nr. */
	if (val[0] > U32_MAX)
		return -EINVAL;

	mutex_lock(&pvhc_lock);
	err = pvhc_guest_call(val[0], &val[1], n - 1, &ret);
	if (!err) {
		pvhc_result = ret;
		pvhc_have_result = true;
	}
	mutex_unlock(&pvhc_lock);
	return err ? err : len;
}

static ssize_t pvhc_hypercall_read(struct file *file, char __user *ubuf,
				   size_t len, loff_t *ppos)
{
	char buf[24];
	int n;

	mutex_lock(&pvhc_lock);
	if (!pvhc_have_result) {
		mutex_unlock(&pvhc_lock);
		return -ENODATA;
	}
	n = scnprintf(buf, sizeof(buf), "%ld\n", pvhc_result);
	mutex_unlock(&pvhc_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations pvhc_hypercall_fops = {
	.owner	= THIS_MODULE,
	.read	= pvhc_hypercall_read,
	.write	= pvhc_hypercall_write,
	.llseek	= default_llseek,
};

static ssize_t pvhc_bench_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	unsigned long calls;
	u64 ns;
	int n, err;

	n = pvhc_parse(ubuf, len, ppos, &calls, 1);
	if (n < 0)
		return n;
	if (!calls || calls > PVHC_BENCH_MAX)
		return -EINVAL;

	/* Interruptible: a long run holds the lock. */
	if (mutex_lock_interruptible(&pvhc_lock))
		return -EINTR;
	err = pvhc_guest_bench(calls, &ns);
	if (!err) {
		pvhc_bench_calls = calls;
		pvhc_bench_ns = ns;
	}
	mutex_unlock(&pvhc_lock);
	return err ? err : len;
}

static ssize_t pvhc_bench_read(struct file *file, char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char buf[64];
	int n;

	if (mutex_lock_interruptible(&pvhc_lock))
		return -EINTR;
	if (!pvhc_bench_calls) {
		mutex_unlock(&pvhc_lock);
		return -ENODATA;
	}
	n = scnprintf(buf, sizeof(buf), "%lu calls, %llu ns/call\n",
		      pvhc_bench_calls,
		      div64_u64(pvhc_bench_ns + pvhc_bench_calls / 2,
				pvhc_bench_calls));
	mutex_unlock(&pvhc_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations pvhc_bench_fops = {
	.owner	= THIS_MODULE,
	.read	= pvhc_bench_read,
	.write	= pvhc_bench_write,
	.llseek	= default_llseek,
};

/*
 * One line per site, e.g.
 *   pvhc_guest_call+0x5c/0x110 ffffffffc0a0105c 0f 01 d9 vmmcall
 * The module name that %pS appends is dropped: every site is this
 * module's. The raw address is printed on purpose (this file is root-only):
 * it is what one compares with a host-side log of rewritten addresses.
 */
static int pvhc_sites_show(struct seq_file *m, void *unused)
{
	const struct pvhc_site *site;
	char sym[128];	/* our function names are short; longer is cut */
	unsigned long addr;
	const char *insn;
	u8 b[PVHC_HYPERCALL_LEN];
	char *space;

	seq_puts(m, "# function+offset/size address bytes instruction\n");
	for (site = __pvhc_sites_start; site < __pvhc_sites_end; site++) {
		addr = pvhc_site_addr(site);
		snprintf(sym, sizeof(sym), "%pS", (void *)addr);
		space = strchr(sym, ' ');
		if (space)
			*space = '\0';

		/*
		 * A site in __init code would point at freed memory by now;
		 * there are none, but never read outside the module's text.
		 */
		if (!within_module_core(addr, THIS_MODULE) ||
		    copy_from_kernel_nofault(b, (void *)addr, sizeof(b))) {
			seq_printf(m, "%s %016lx -- -- -- unreadable\n",
				   sym, addr);
			continue;
		}

		if (b[0] == PVHC_VMCALL_B0 && b[1] == PVHC_VMCALL_B1 &&
		    b[2] == PVHC_VMCALL_B2)
			insn = "vmcall";
		else if (b[0] == PVHC_VMCALL_B0 && b[1] == PVHC_VMCALL_B1 &&
			 b[2] == PVHC_VMMCALL_B2)
			insn = "vmmcall";
		else
			insn = "other";
		seq_printf(m, "%s %016lx %02x %02x %02x %s\n",
			   sym, addr, b[0], b[1], b[2], insn);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pvhc_sites);

static ssize_t pvhc_yield_write(struct file *file, const char __user *ubuf,
				size_t len, loff_t *ppos)
{
	struct pvhc_yield_result res;
	unsigned long cpu;
	int n, err;

	n = pvhc_parse(ubuf, len, ppos, &cpu, 1);
	if (n < 0)
		return n;
	if (cpu >= nr_cpu_ids)
		return -EINVAL;

	mutex_lock(&pvhc_lock);
	err = pvhc_yield_wait_for_cpu(cpu, &res);
	if (!err) {
		pvhc_yield = res;
		pvhc_have_yield = true;
	}
	mutex_unlock(&pvhc_lock);
	return err ? err : len;
}

static ssize_t pvhc_yield_read(struct file *file, char __user *ubuf,
			       size_t len, loff_t *ppos)
{
	char buf[96];
	int n;

	mutex_lock(&pvhc_lock);
	if (!pvhc_have_yield) {
		mutex_unlock(&pvhc_lock);
		return -ENODATA;
	}
	n = scnprintf(buf, sizeof(buf),
		      "cpu %u apic %u: %lu yields, last result %ld\n",
		      pvhc_yield.cpu, pvhc_yield.apicid, pvhc_yield.yields,
		      pvhc_yield.ret);
	mutex_unlock(&pvhc_lock);
	return simple_read_from_buffer(ubuf, len, ppos, buf, n);
}

static const struct file_operations pvhc_yield_fops = {
	.owner	= THIS_MODULE,
	.read	= pvhc_yield_read,
	.write	= pvhc_yield_write,
	.llseek	= default_llseek,
};

/*
 * debugfs failures are not checked, as debugfs intends: the module works
 * without its files and the calls cope with an error pointer as parent.
 */
void pvhc_debugfs_init(void)
{
	pvhc_dir = debugfs_create_dir("pvhc", NULL);
	debugfs_create_file("hypercall", 0600, pvhc_dir, NULL,
			    &pvhc_hypercall_fops);
	debugfs_create_file("bench", 0600, pvhc_dir, NULL, &pvhc_bench_fops);
	debugfs_create_file("sites", 0400, pvhc_dir, NULL, &pvhc_sites_fops);
	debugfs_create_file("yield", 0600, pvhc_dir, NULL, &pvhc_yield_fops);
}

void pvhc_debugfs_exit(void)
{
	debugfs_remove_recursive(pvhc_dir);
}
