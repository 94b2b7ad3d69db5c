/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NVIDIA vGPU hosts end to end through gpupart-fake: the VFs' shape once sriov-manage has
 * enabled them (planned after the rescan from what they show), mdev type directories named
 * after each parent's driver, mdevs gpupart did not create, set-count 0 giving the VFs back,
 * and the checks made before VFs are enabled. Expected trees are derived by hand from the
 * kernel's and the driver's rules (cited where used).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wrun.h"

TestSuite(write_vgpu, .init = wsetup, .fini = wteardown, .timeout = 120);

struct mdev {
	char uuid[40], parent[16], type[64];
};

/* Every mdev on the bus: its UUID, parent (the directory it sits in) and type link. */
static int mdevs(const char *root, struct mdev *out, int max)
{
	char *p;
	DIR *d;
	struct dirent *de;
	int n = 0;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/mdev/devices", root), 0);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		char tgt[512], *lp, *s, *t;
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		cr_assert_lt(n, max);
		snprintf(out[n].uuid, sizeof(out[n].uuid), "%s", de->d_name);
		/* .../PARENT/UUID: mdev_device_register() puts the mdev below its parent */
		cr_assert_geq(asprintf(&lp, "%s/%s", p, de->d_name), 0);
		k = readlink(lp, tgt, sizeof(tgt) - 1);
		cr_assert_gt(k, 0);
		tgt[k] = 0;
		free(lp);
		*strrchr(tgt, '/') = 0;
		s = strrchr(tgt, '/');
		snprintf(out[n].parent, sizeof(out[n].parent), "%s", s ? s + 1 : tgt);
		t = lnk(root, "sys/bus/mdev/devices/%s/mdev_type", de->d_name);
		cr_assert_not_null(t);
		snprintf(out[n].type, sizeof(out[n].type), "%s", t);
		free(t);
		n++;
	}
	if (d)
		closedir(d);
	free(p);
	return n;
}

/* The mdev on @parent, or NULL. */
static const struct mdev *mdev_on(const struct mdev *m, int n, const char *parent)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].parent, parent))
			return &m[i];
	return NULL;
}

static void set_count_ok(const char *root, const char *addr, const char *count,
			 const char *series)
{
	struct run r;

	fklog_reset(root);
	if (series)
		gpf(&r, root, "--series", series, "set-count", addr, count, NULL);
	else
		gpf(&r, root, "set-count", addr, count, NULL);
	cr_assert_eq(r.status, 0, "set-count %s %s: exit %d\n%s", addr, count, r.status, r.err);
	run_free(&r);
}

/* The type directory name of @parent's mdev type whose name ends in @suffix ("-12Q"). */
static char *type_dir(const char *root, const char *parent, const char *suffix)
{
	char *p, *found = NULL;
	DIR *d;
	struct dirent *de;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/devices/%s/mdev_supported_types", root,
			       parent), 0);
	d = opendir(p);
	cr_assert_not_null(d, "%s", p);
	while ((de = readdir(d)) && !found) {
		char *name;

		if (de->d_name[0] == '.')
			continue;
		name = rd(root, "sys/bus/pci/devices/%s/mdev_supported_types/%s/name", parent,
			  de->d_name);
		if (name && strlen(name) > strlen(suffix) &&
		    !strcmp(name + strlen(name) - strlen(suffix), suffix))
			found = strdup(de->d_name);
		free(name);
	}
	closedir(d);
	free(p);
	return found;
}

/* ---- the shape the VFs get, and the plan made after the rescan ---- */

/*
 * An L40S whose VFs come up mdev-shaped (an NVIDIA driver built for a kernel that still has
 * mdev_set_iommu_device, before 5.16: NV_USE_VFIO_PCI_CORE unset, nv-vgpu-vfio-interface.h).
 * Before sriov-manage -e nothing says so, so the plan starts as vendor-VFIO's; after the
 * rescan the rest must be read and planned as mdev: 48 GiB / 4 = 12Q, one mdev on each of the
 * first four VFs.
 */
Test(write_vgpu, refine_plans_the_shape_the_vfs_show)
{
	char *root = wtree("sriov-off"), vf[16];
	struct mdev m[8];
	int n;

	with_sriov_manage(root);
	mkdirs(root, ".fakekernel");
	put(root, ".fakekernel/vgpu-shape", "mdev\n");
	set_count_ok(root, L40S, "4", "Q");
	n = mdevs(root, m, 8);
	cr_assert_eq(n, 4, "%d mdevs", n);
	for (int i = 0; i < 4; i++) {
		const struct mdev *x;
		char *name;

		vf_addr(root, L40S, i, vf);
		x = mdev_on(m, n, vf);
		cr_assert_not_null(x, "no mdev on VF %d (%s)", i, vf);
		name = rd(root, "sys/bus/pci/devices/%s/mdev_supported_types/%s/name", vf, x->type);
		cr_assert(name && strstr(name, "-12Q"), "%s is a %s", x->uuid, name ? name : "?");
		free(name);
	}

	/* and back to 0: the mdevs go, read as this GPU's whatever the backend recorded */
	set_count_ok(root, L40S, "0", NULL);
	cr_assert_eq(mdevs(root, m, 8), 0);
}

/*
 * The fake kernel gives the VFs the shape of the host's driver build, not one guessed from
 * sys/class/mdev_bus: since Linux 6.5 (commit ff598081e5b9, mdev_init()) that class exists
 * whenever mdev.ko is loaded, with or without parents. The mdev-bus-empty L40S runs 6.8,
 * where NVIDIA's driver uses vfio-pci-core on VFs: sriov-manage -e gives them nvidia/.
 */
Test(write_vgpu, vfs_on_linux_6_8_are_vendor_vfio_with_an_empty_mdev_bus)
{
	char *root = wtree("mdev-bus-empty"), vf[16], *t;
	int set = 0, total;

	with_sriov_manage(root);
	t = rd(root, "sys/bus/pci/devices/" L40S "/sriov_totalvfs");
	total = atoi(t);
	free(t);
	set_count_ok(root, L40S, "4", "Q");
	for (int i = 0; i < total; i++) {
		vf_addr(root, L40S, i, vf);
		cr_assert(ex(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf),
			  "%s has no nvidia/", vf);
		cr_assert_not(ex(root, "sys/bus/pci/devices/%s/mdev_supported_types", vf),
			      "%s is an mdev parent", vf);
		t = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
		set += atoi(t) != 0;
		free(t);
	}
	cr_assert_eq(set, 4);
}

/*
 * The same plan failing at its second mdev (writes: sriov-manage -e, VF 0's create, VF 1's):
 * the journal recorded the GPU as vendor-VFIO with no VFs, yet the undo must find VF 0's mdev
 * and remove it before sriov-manage -d (kinds/gpu-plan.c removes mdevs on either NVIDIA
 * backend). The host ends as it began.
 */
Test(write_vgpu, undo_removes_the_mdevs_of_vfs_the_journal_did_not_know)
{
	char *root = wtree("sriov-off"), *before, *after, *log, line[256];
	static const char *const env[] = { "GP_FAKE_FAIL_WRITE=3", NULL };
	struct mdev m[8];
	struct run r;

	with_sriov_manage(root);
	mkdirs(root, ".fakekernel");
	put(root, ".fakekernel/vgpu-shape", "mdev\n");
	/* mdev.ko is loaded on such a host: its bus and class are there before and after */
	mkdirs(root, "sys/bus/mdev/devices");
	mkdirs(root, "sys/bus/mdev/drivers/vfio_mdev");
	mkdirs(root, "sys/class/mdev_bus");
	before = manifest(root, M_STATE);
	gpf_env(&r, env, root, "--series", "Q", "set-count", L40S, "4", NULL);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	run_free(&r);
	cr_assert_eq(mdevs(root, m, 8), 0);
	log = fklog(root);
	cr_assert(strstr(log, "/remove 1 = 0\n"), "no mdev removed:\n%s", log);
	snprintf(line, sizeof(line), "exec /usr/lib/nvidia/sriov-manage -d %s = 0\n", L40S);
	cr_assert(strstr(log, line), "%s", log);
	free(log);
	after = manifest(root, M_STATE);
	assert_manifest_eq(after, before, "after the undo");
	free(before);
	free(after);
}
