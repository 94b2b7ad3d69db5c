/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every refusal happens before the first write: the exit status, one clear line on stderr, not
 * one write in the fake kernel's log, and the whole tree byte for byte as it was (the lock file
 * is created beforehand by a `repair`, so that even it is compared).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wrun.h"

TestSuite(write_refusals, .init = wsetup, .fini = wteardown, .timeout = 60);

static void refused(const char *root, int status, const char *const *needles,
		    const char *const *args)
{
	char *before, *after;
	struct run r;

	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	before = manifest(root, M_STRICT);
	gpf_v(&r, NULL, root, args);
	cr_assert_eq(r.status, status, "exit %d, expected %d\n%s", r.status, status, r.err);
	for (int i = 0; needles[i]; i++)
		cr_assert(strstr(r.err, needles[i]), "no '%s' in:\n%s", needles[i], r.err);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "a refusal wrote:\n%s", fklog(root));
	after = manifest(root, M_STRICT);
	assert_manifest_eq(after, before, "after a refusal");
	free(before);
	free(after);
}

static void nvme_to(const char *root, const char *count)
{
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", NVME, count, "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
}

Test(write_refusals, invalid_count_lists_valid_ones)
{
	static const char *const args[] = { "set-count", NVME, "33", NULL };
	/* sriov_totalvfs is 32: every count up to it, then 0 */
	static const char *const needles[] = {
		"33 is not a valid partition count for " NVME, "valid counts: 32, 31, 30",
		"3, 2, 1, 0", NULL
	};

	refused(wtree("sriov-off"), 2, needles, args);
}

Test(write_refusals, reservation_of_one_vf)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: partitions are assigned",
					       "0000:03:00.2", NULL };
	char *root = wtree("sriov-off");

	nvme_to(root, "4");
	mkdirs(root, "run/gpupart/reservations");
	put(root, "run/gpupart/reservations/0000:03:00.2", "vm-a\n");
	refused(root, 1, needles, args);
}

static void rebind_link(const char *root, const char *addr, const char *from, const char *to)
{
	char *p, *q, tgt[512], *s;
	ssize_t n;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/devices/%s/driver", root, addr), 0);
	n = readlink(p, tgt, sizeof(tgt) - 1);
	cr_assert_gt(n, 0);
	tgt[n] = 0;
	s = strstr(tgt, from);
	cr_assert_not_null(s, "%s", tgt);
	strcpy(s, to);
	cr_assert_eq(unlink(p), 0);
	if (*to)
		cr_assert_eq(symlink(tgt, p), 0);
	free(p);
	/* the driver's side of the binding */
	cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/drivers/%s/%s", root, from, addr), 0);
	unlink(p);
	free(p);
	if (*to) {
		cr_assert_geq(asprintf(&q, "sys/bus/pci/drivers/%s", to), 0);
		mkdirs(root, q);
		free(q);
	}
}

Test(write_refusals, dda_dismounted_gpu)
{
	static const char *const args[] = { "set-count", L40S, "4", NULL };
	static const char *const needles[] = { L40S " is dismounted for DDA", NULL };
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	rebind_link(root, L40S, "nvidia", "vfio-pci");
	refused(root, 1, needles, args);
}

Test(write_refusals, mixed_selection)
{
	static const char *const args[] = { "set-count", L40S, FLEX, "2", NULL };
	static const char *const needles[] = { "are GPUs of different configurations", NULL };
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	refused(root, 1, needles, args);
}

Test(write_refusals, vfio_group_held_open)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "4242", NULL };
	char *root = wtree("sriov-off"), *g, dev[64];

	nvme_to(root, "4");
	g = lnk(root, "sys/bus/pci/devices/0000:03:00.3/iommu_group");
	cr_assert_not_null(g);
	snprintf(dev, sizeof(dev), "/dev/vfio/%s", g);
	mkproc(root, "4242", "qemu-system-x86", "7", dev);
	mkproc(root, "77", "bash", "0", "/dev/pts/0");
	refused(root, 1, needles, args);
	free(g);
}

Test(write_refusals, nvidia_node_held_when_sriov_manage_would_run)
{
	static const char *const args[] = { "set-count", L40S, "4", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "4243", NULL };
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	/* the L40S's own node: minor 1 in its information file */
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia1");
	refused(root, 1, needles, args);
}

/* ...but the same holder does not block a change that runs no sriov-manage: 4 -> 0 */
Test(write_refusals, nvidia_node_held_type_change_goes_on)
{
	char *root = wtree("sriov-off");
	struct run r;

	with_sriov_manage(root);
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia0");
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "0", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
}

Test(write_refusals, pf_without_driver)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { NVME " has no driver", NULL };
	char *root = wtree("sriov-off");

	rebind_link(root, NVME, "nvme", "");
	refused(root, 1, needles, args);
}

Test(write_refusals, a_vf_is_not_a_target)
{
	static const char *const args[] = { "set-count", "0000:03:00.1", "2", NULL };
	static const char *const needles[] = { "is a virtual function of " NVME, NULL };
	char *root = wtree("sriov-off");

	nvme_to(root, "2");
	refused(root, 2, needles, args);
}

/* ---- reservation records that exist but cannot be read: refuse, never "none" ---- */

Test(write_refusals, reservations_is_a_file)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "run/gpupart/reservations: cannot read",
					       "refusing: cannot tell whether its partitions are "
					       "reserved",
					       NULL };
	char *root = wtree("sriov-off");

	nvme_to(root, "4");
	put(root, "run/gpupart/reservations", "0000:03:00.2 vm-a\n");
	refused(root, 1, needles, args);
}

Test(write_refusals, reservations_is_an_absolute_link)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "run/gpupart/reservations: cannot read",
					       "a link out of the root", NULL };
	char *root = wtree("sriov-off"), *p;

	nvme_to(root, "4");
	cr_assert_geq(asprintf(&p, "%s/run/gpupart/reservations", root), 0);
	/* RESOLVE_BENEATH refuses it: whatever it names is outside the tree */
	cr_assert_eq(symlink("/", p), 0);
	free(p);
	refused(root, 1, needles, args);
}

/* the records' own directory, beneath the root through a relative link, is read */
Test(write_refusals, reservations_through_a_relative_link)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: partitions are assigned",
					       "0000:03:00.2 is reserved (vm-a)", NULL };
	char *root = wtree("sriov-off"), *p;

	nvme_to(root, "4");
	mkdirs(root, "run/records");
	put(root, "run/records/0000:03:00.2", "vm-a\n");
	cr_assert_geq(asprintf(&p, "%s/run/gpupart/reservations", root), 0);
	cr_assert_eq(symlink("../records", p), 0);
	free(p);
	refused(root, 1, needles, args);
}

/* ---- iommufd: a VM holds the VF's cdev /dev/vfio/devices/vfioN, not its group ---- */

/* Renames the vfio-dev/ entry of @dev (a sysfs dir relative to root) to vfio@n: the kernel
 * numbers vfio devices on their own (an IDA), not by group. */
static void vfio_dev_as(const char *root, const char *dev, int n)
{
	char *from = NULL, *to, *dir;
	struct dirent *e;
	DIR *d;

	cr_assert_geq(asprintf(&dir, "%s/%s/vfio-dev", root, dev), 0);
	d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4))
			cr_assert_geq(asprintf(&from, "%s/%s", dir, e->d_name), 0);
	closedir(d);
	cr_assert_not_null(from, "nothing in %s", dir);
	cr_assert_geq(asprintf(&to, "%s/vfio%d", dir, n), 0);
	cr_assert_eq(rename(from, to), 0, "%s: %s", from, strerror(errno));
	free(from);
	free(to);
	free(dir);
}

Test(write_refusals, vfio_cdev_of_a_vf_held_open)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "pid 4244 (qemu-system-x86) holds "
					       "/dev/vfio/devices/vfio77",
					       NULL };
	char *root = wtree("sriov-off"), *drv;

	nvme_to(root, "4");
	drv = lnk(root, "sys/bus/pci/devices/0000:03:00.3/driver");
	cr_assert_str_eq(drv ? drv : "", "vfio-pci");
	free(drv);
	vfio_dev_as(root, "sys/bus/pci/devices/0000:03:00.3", 77);
	mkproc(root, "4244", "qemu-system-x86", "9", "/dev/vfio/devices/vfio77");
	/* another device's cdev is no reason */
	mkproc(root, "78", "qemu-system-x86", "9", "/dev/vfio/devices/vfio78");
	refused(root, 1, needles, args);
}

Test(write_refusals, vfio_cdev_of_an_mdev_held_open)
{
	static const char *const args[] = { "set-count", T4, "4", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "/dev/vfio/devices/vfio5", NULL };
	char *root = wtree("t4-mdev-pf");

	mkdirs(root, "sys/bus/mdev/devices/c0ffee00-0000-4000-8000-000000000001/vfio-dev/vfio5");
	mkproc(root, "4245", "qemu-system-x86", "11", "/dev/vfio/devices/vfio5");
	refused(root, 1, needles, args);
}

/* ---- before sriov-manage: only this GPU's /dev/nvidiaN refuses ---- */

/* L40S (bus 01) is minor 1 in the fixture's information file */
Test(write_refusals, nvidia_node_of_another_gpu_goes_on)
{
	char *root = wtree("sriov-off");
	struct run r;

	with_sriov_manage(root);
	cr_assert(ex(root, "proc/driver/nvidia/gpus/%s/information", L40S));
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia0");
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
}

Test(write_refusals, nvidia_control_node_warns_and_goes_on)
{
	char *root = wtree("sriov-off");
	struct run r;

	with_sriov_manage(root);
	mkproc(root, "4246", "dcgm-exporter", "3", "/dev/nvidiactl");
	mkproc(root, "4246", "dcgm-exporter", "4", "/dev/nvidia-uvm");
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", "--runtime", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "warning: pid 4246 (dcgm-exporter) holds /dev/nvidiactl: not "
				"refusing"),
		  "%s", r.err);
	/* one warning per process */
	cr_assert_null(strstr(r.err, "/dev/nvidia-uvm"), "%s", r.err);
	run_free(&r);
}

/* no minor to tell this GPU's node from another's: any /dev/nvidiaN refuses */
Test(write_refusals, nvidia_node_held_and_minor_unknown)
{
	static const char *const args[] = { "set-count", L40S, "4", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "holds /dev/nvidia0 (this GPU's minor is unknown",
					       NULL };
	char *root = wtree("sriov-off"), *p;

	with_sriov_manage(root);
	cr_assert_geq(asprintf(&p, "%s/proc/driver/nvidia/gpus/" L40S "/information", root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia0");
	refused(root, 1, needles, args);
}
