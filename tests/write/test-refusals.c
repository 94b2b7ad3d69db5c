/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every refusal happens before the first write: the exit status, one clear line on stderr, not
 * one write in the fake kernel's log, and the whole tree byte for byte as it was (the lock file
 * is created beforehand by a `repair`, so that even it is compared).
 */
#include <criterion/criterion.h>
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
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia0");
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
