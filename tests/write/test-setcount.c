/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every backend end to end through gpupart-fake: the tree is read back after each step and
 * compared with what Linux would show, derived by hand from the kernel's rules (VF addresses
 * from the SR-IOV offset and stride, one IOMMU group per VF behind an ACS port, the vGPU type
 * whose framebuffer is the GPU's divided by the count), and the fake kernel's log says which
 * writes were made.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "wrun.h"

TestSuite(write_setcount, .init = wsetup, .fini = wteardown, .timeout = 120);

static int dir_entries(const char *root, const char *rel)
{
	char *p;
	DIR *d;
	struct dirent *de;
	int n = 0;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	d = opendir(p);
	free(p);
	if (!d)
		return -1;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void expect_str(char *got, const char *want, const char *what)
{
	cr_assert(got && !strcmp(got, want), "%s: '%s', expected '%s'", what, got ? got : "(absent)",
		  want);
	free(got);
}

/* An SR-IOV PF with exactly @n VFs on vfio-pci (through driver_override), each in an IOMMU
 * group of its own with its /dev/vfio node, and autoprobe back at @autoprobe. */
static void check_sriov(const char *root, const char *pf, int n, const char *autoprobe)
{
	char num[16], vf[16], *pfgroup = lnk(root, "sys/bus/pci/devices/%s/iommu_group", pf);
	int groups[64];

	snprintf(num, sizeof(num), "%d", n);
	expect_str(rd(root, "sys/bus/pci/devices/%s/sriov_numvfs", pf), num, "sriov_numvfs");
	expect_str(rd(root, "sys/bus/pci/devices/%s/sriov_drivers_autoprobe", pf), autoprobe,
		   "sriov_drivers_autoprobe");
	for (int i = 0; i < n; i++) {
		char *g;

		vf_addr(root, pf, i, vf);
		expect_str(lnk(root, "sys/bus/pci/devices/%s/virtfn%d", pf, i), vf, "virtfn link");
		expect_str(lnk(root, "sys/bus/pci/devices/%s/physfn", vf), pf, "physfn link");
		expect_str(lnk(root, "sys/bus/pci/devices/%s/driver", vf), "vfio-pci", vf);
		expect_str(rd(root, "sys/bus/pci/devices/%s/driver_override", vf), "vfio-pci",
			   "driver_override");
		g = lnk(root, "sys/bus/pci/devices/%s/iommu_group", vf);
		cr_assert_not_null(g, "%s has no IOMMU group", vf);
		cr_assert(strcmp(g, pfgroup), "%s shares group %s with its PF", vf, g);
		groups[i] = atoi(g);
		for (int k = 0; k < i; k++)
			cr_assert_neq(groups[k], groups[i], "VFs %d and %d share group %d", k, i,
				      groups[i]);
		cr_assert(ex(root, "sys/kernel/iommu_groups/%s/devices/%s", g, vf));
		{
			char rel[128];

			snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%s/devices", g);
			cr_assert_eq(dir_entries(root, rel), 1, "group %s holds more than %s", g, vf);
		}
		cr_assert(ex(root, "dev/vfio/%s", g), "no /dev/vfio/%s for %s", g, vf);
		free(g);
	}
	cr_assert_not(ex(root, "sys/bus/pci/devices/%s/virtfn%d", pf, n), "virtfn%d is left", n);
	vf_addr(root, pf, n, vf);
	cr_assert_not(ex(root, "sys/bus/pci/devices/%s", vf), "%s still exists", vf);
	free(pfgroup);
}

/* The fake kernel's log, exactly: the lines are built by hand from the kernel's protocol
 * (autoprobe off before enabling, the override before the probe, autoprobe restored). */
static void expect_log(const char *root, const char *want)
{
	char *log = fklog(root);

	cr_assert_str_eq(log, want, "fake kernel log:\n%s\nexpected:\n%s", log, want);
	free(log);
}

static char *sriov_log(const char *root, const char *pf, int from, int to, int autoprobe)
{
	char *s = NULL, vf[16];
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);

	if (from > 0)
		fprintf(m, "write sys/bus/pci/devices/%s/sriov_numvfs 0 = 0\n", pf);
	if (to > 0 && autoprobe)
		fprintf(m, "write sys/bus/pci/devices/%s/sriov_drivers_autoprobe 0 = 0\n", pf);
	if (to > 0)
		fprintf(m, "write sys/bus/pci/devices/%s/sriov_numvfs %d = 0\n", pf, to);
	for (int i = 0; i < to; i++) {
		vf_addr(root, pf, i, vf);
		fprintf(m, "write sys/bus/pci/devices/%s/driver_override vfio-pci = 0\n", vf);
		fprintf(m, "write sys/bus/pci/drivers_probe %s = 0\n", vf);
	}
	if (to > 0 && autoprobe)
		fprintf(m, "write sys/bus/pci/devices/%s/sriov_drivers_autoprobe 1 = 0\n", pf);
	fclose(m);
	return s;
}

static void set_count(const char *root, const char *addr, const char *count, const char *extra)
{
	struct run r;

	fklog_reset(root);
	if (extra)
		gpf(&r, root, "set-count", addr, count, extra, NULL);
	else
		gpf(&r, root, "set-count", addr, count, NULL);
	cr_assert_eq(r.status, 0, "set-count %s %s: exit %d\n%s", addr, count, r.status, r.err);
	run_free(&r);
}

Test(write_setcount, nvme_sriov_0_4_4_2_0)
{
	char *root = wtree("sriov-off"), *want, *conf, *dev;
	struct run r;

	dev = rd(root, "sys/bus/pci/devices/" NVME "/sriov_drivers_autoprobe");
	cr_assert_str_eq(dev, "1");
	free(dev);
	set_count(root, NVME, "4", NULL);
	check_sriov(root, NVME, 4, "1");
	want = sriov_log(root, NVME, 0, 4, 1);
	expect_log(root, want);
	free(want);
	/* the layout records the count against the device's IDs */
	{
		char *p;

		cr_assert_geq(asprintf(&p, "%s/etc/gpupart/partitions.conf", root), 0);
		conf = slurp(p);
		free(p);
	}
	cr_assert_not_null(conf, "no partitions.conf");
	dev = rd(root, "sys/bus/pci/devices/" NVME "/device");
	cr_assert(strstr(conf, "id=144d:") && strstr(conf, dev + 2) && strstr(conf, " count=4"),
		  "%s", conf);
	free(conf);
	free(dev);

	/* the same count again: nothing to do, not one write */
	fklog_reset(root);
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "4", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to do"), "%s", r.out);
	cr_assert_eq(fklog_ops(root), 0, "writes on a no-op: %s", fklog(root));
	run_free(&r);

	/* 4 -> 2: the kernel changes a VF count only through 0 */
	set_count(root, NVME, "2", NULL);
	check_sriov(root, NVME, 2, "1");
	want = sriov_log(root, NVME, 4, 2, 1);
	expect_log(root, want);
	free(want);

	/* 2 -> 0: one write, the VFs and their groups go */
	set_count(root, NVME, "0", NULL);
	check_sriov(root, NVME, 0, "1");
	expect_log(root, "write sys/bus/pci/devices/" NVME "/sriov_numvfs 0 = 0\n");
}

/* A PF whose autoprobe is already off: no autoprobe write at all, and it stays off. */
Test(write_setcount, nvme_autoprobe_off_stays_off)
{
	char *root = wtree("sriov-off"), *want;

	put(root, "sys/bus/pci/devices/" NVME "/sriov_drivers_autoprobe", "0\n");
	set_count(root, NVME, "3", "--runtime");
	check_sriov(root, NVME, 3, "0");
	want = sriov_log(root, NVME, 0, 3, 0);
	expect_log(root, want);
	free(want);
	cr_assert_not(ex(root, "etc/gpupart/partitions.conf"), "--runtime recorded the layout");
}

static int nv_types(const char *root, const char *pf, int total, int *types)
{
	char vf[16];
	int n = 0;

	for (int i = 0; i < total; i++) {
		char *t;

		vf_addr(root, pf, i, vf);
		expect_str(lnk(root, "sys/bus/pci/devices/%s/driver", vf), "nvidia", vf);
		expect_str(rd(root, "sys/bus/pci/devices/%s/driver_override", vf), "(null)", vf);
		t = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
		cr_assert_not_null(t, "%s has no current_vgpu_type", vf);
		types[i] = atoi(t);
		n += types[i] != 0;
		free(t);
	}
	return n;
}

Test(write_setcount, l40s_nvidia_vfio_0_4_0)
{
	char *root = wtree("sriov-off"), *log, *total_s, vf[16], line[256];
	int types[64], total, type, n;
	struct run r;

	with_sriov_manage(root);
	total_s = rd(root, "sys/bus/pci/devices/" L40S "/sriov_totalvfs");
	total = atoi(total_s);
	cr_assert(total > 4 && total <= 64);
	set_count(root, L40S, "4", NULL);
	/* sriov-manage -e enables every VF; the first four (lowest index) get one type */
	expect_str(rd(root, "sys/bus/pci/devices/" L40S "/sriov_numvfs"), total_s, "numvfs");
	n = nv_types(root, L40S, total, types);
	cr_assert_eq(n, 4, "%d VFs carry a type", n);
	type = types[0];
	for (int i = 0; i < 4; i++)
		cr_assert_eq(types[i], type, "VF %d: type %d, VF 0: %d", i, types[i], type);
	log = fklog(root);
	cr_assert(!strncmp(log, "exec /usr/lib/nvidia/sriov-manage -e " L40S " = 0\n",
			   strlen("exec /usr/lib/nvidia/sriov-manage -e " L40S " = 0\n")),
		  "%s", log);
	cr_assert_eq(fklog_ops(root), 5, "%s", log);
	for (int i = 0; i < 4; i++) {
		vf_addr(root, L40S, i, vf);
		snprintf(line, sizeof(line),
			 "write sys/bus/pci/devices/%s/nvidia/current_vgpu_type %d = 0\n", vf, type);
		cr_assert(strstr(log, line), "no '%s' in\n%s", line, log);
	}
	free(log);

	/* the same count again: nothing to do (a fully consumed GPU lists no types) */
	fklog_reset(root);
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", NULL), 0, "exit %d: %s", r.status,
		     r.err);
	cr_assert(strstr(r.out, "nothing to do"), "%s", r.out);
	cr_assert_eq(fklog_ops(root), 0);
	run_free(&r);

	/* the type set was the 12 GiB Q type (48 GiB / 4), by its id in the fixture's L40S
	 * table (the GPU is full: no VF lists a type any more) */
	{
		int want = -1;

		for (size_t k = 0; k < fx_catalog_l40s.n; k++) {
			const char *nm = fx_catalog_l40s.types[k].name;

			if (strlen(nm) > 4 && !strcmp(nm + strlen(nm) - 4, "-12Q"))
				want = fx_catalog_l40s.types[k].id;
		}
		cr_assert_eq(type, want, "type %d is not the -12Q type (%d)", type, want);
	}

	/* 4 -> 0: every type cleared, then the VFs disabled (sriov-manage -d, as -e enabled
	 * them), so that the GPU can be handed whole to a VM */
	set_count(root, L40S, "0", NULL);
	log = fklog(root);
	cr_assert_eq(fklog_ops(root), 5, "%s", log);
	for (int i = 0; i < 4; i++) {
		vf_addr(root, L40S, i, vf);
		snprintf(line, sizeof(line),
			 "write sys/bus/pci/devices/%s/nvidia/current_vgpu_type 0 = 0\n", vf);
		cr_assert(strstr(log, line), "no '%s' in\n%s", line, log);
	}
	cr_assert(strstr(log, "exec /usr/lib/nvidia/sriov-manage -d " L40S " = 0\n"), "%s", log);
	cr_assert(strstr(log, "sriov-manage -d") > strstr(log, "current_vgpu_type 0"), "%s", log);
	free(log);
	expect_str(rd(root, "sys/bus/pci/devices/" L40S "/sriov_numvfs"), "0", "numvfs");
	vf_addr(root, L40S, 0, vf);
	cr_assert_not(ex(root, "sys/bus/pci/devices/%s", vf), "%s is left", vf);

	/* and 0 -> 4 again: sriov-manage -e, then four writes */
	set_count(root, L40S, "4", NULL);
	cr_assert_eq(fklog_ops(root), 5);
	cr_assert_eq(nv_types(root, L40S, total, types), 4);
	free(total_s);
}

/* ---- mdev ---- */

static bool v8_uuid(const char *u)
{
	return strlen(u) == 36 && u[8] == '-' && u[13] == '-' && u[14] == '8' && u[18] == '-' &&
	       strchr("89ab", u[19]) && u[23] == '-';
}

static void check_mdevs(const char *root, struct mdev *m, int n, const char *name_suffix)
{
	for (int i = 0; i < n; i++) {
		char *name = rd(root, "sys/bus/pci/devices/%s/mdev_supported_types/%s/name",
				m[i].parent, m[i].type);

		cr_assert(v8_uuid(m[i].uuid), "%s is not a version-8 UUID", m[i].uuid);
		cr_assert(name && strlen(name) > strlen(name_suffix) &&
				  !strcmp(name + strlen(name) - strlen(name_suffix), name_suffix),
			  "mdev %s is a %s, not a *%s", m[i].uuid, name ? name : "?", name_suffix);
		for (int k = 0; k < i; k++)
			cr_assert(strcmp(m[k].uuid, m[i].uuid), "UUID twice");
		free(name);
	}
}

static bool has_uuid(const struct mdev *m, int n, const char *u)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].uuid, u))
			return true;
	return false;
}

Test(write_setcount, t4_mdev_on_pf)
{
	static const char hand[] = "c0ffee00-0000-4000-8000-000000000001";
	char *root = wtree("t4-mdev-pf"), *log;
	struct mdev first[8], m[8], ours[8];
	struct run r;
	int n;

	n = mdevs(root, m, 8);
	cr_assert_eq(n, 1);
	cr_assert_str_eq(m[0].uuid, hand);

	/* 1 -> 4: T4 16 GiB / 4 = the 4Q type, on the PF; the hand-made mdev is a 4Q already
	 * (232, GRID T4-4Q): set-count never clears a partition of the target's size and
	 * series, so it stays and three come */
	set_count(root, T4, "4", NULL);
	n = mdevs(root, first, 8);
	cr_assert_eq(n, 4);
	cr_assert(has_uuid(first, n, hand), "the hand-made 4Q was removed");
	log = fklog(root);
	cr_assert_null(strstr(log, "/remove"), "%s", log);
	cr_assert_eq(fklog_ops(root), 3, "%s", log);
	free(log);
	for (int i = 0, k = 0; i < n; i++) {
		cr_assert_str_eq(first[i].parent, T4);
		if (strcmp(first[i].uuid, hand))
			ours[k++] = first[i];
	}
	check_mdevs(root, ours, 3, "-4Q");

	/* 4 -> 2 is 8Q, another size: the hand-made 4Q would have to go, and it is not one of
	 * gpupart's UUIDs: refused with nothing written, until the admin removes it */
	fklog_reset(root);
	cr_assert_eq(gpf(&r, root, "set-count", T4, "2", NULL), 1, "%s", r.err);
	cr_assert(strstr(r.err, "c0ffee00-0000-4000-8000-000000000001 on " T4
			       " was not created by gpupart"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0);
	cr_assert_eq(mdevs(root, m, 8), 4);
	admin_remove_mdev(root, hand);

	/* 3 -> 2: 16 / 2 = 8Q, a different size: gpupart's three go, two come, with partition
	 * ids 0 and 1's UUIDs (two of the three) */
	set_count(root, T4, "2", NULL);
	n = mdevs(root, m, 8);
	cr_assert_eq(n, 2);
	check_mdevs(root, m, n, "-8Q");
	for (int i = 0; i < n; i++)
		cr_assert(has_uuid(ours, 3, m[i].uuid), "%s is new", m[i].uuid);
	cr_assert_eq(fklog_ops(root), 5);

	set_count(root, T4, "0", NULL);
	cr_assert_eq(mdevs(root, m, 8), 0);
	cr_assert_eq(fklog_ops(root), 2);

	/* the same UUIDs again after 0: a VM's mdev comes back as itself (ids 0..2 as the
	 * first time, id 3 where the hand-made one stood) */
	set_count(root, T4, "4", NULL);
	n = mdevs(root, m, 8);
	cr_assert_eq(n, 4);
	check_mdevs(root, m, n, "-4Q");
	for (int k = 0; k < 3; k++)
		cr_assert(has_uuid(m, n, ours[k].uuid), "%s did not come back", ours[k].uuid);
	cr_assert_not(has_uuid(m, n, hand));
	cr_assert_eq(fklog_ops(root), 4);

	set_count(root, T4, "4", NULL);
	cr_assert_eq(fklog_ops(root), 0);
}

Test(write_setcount, a40_mdev_on_vfs)
{
	char *root = wtree("a40-mdev-vf");
	struct mdev first[8], m[8];
	char vf[16], *s;
	int n;

	with_sriov_manage(root);
	cr_assert_eq(mdevs(root, m, 8), 2);
	/* the fixture's two 8Q mdevs were made by hand (not gpupart's UUIDs): the admin removes
	 * them first, gpupart never would (mdev-not-gpupart) */
	for (int k = 0; k < 2; k++)
		admin_remove_mdev(root, m[k].uuid);
	/* 48 GiB / 4 = 12Q, one mdev on each of the first four VFs */
	set_count(root, A40, "4", NULL);
	n = mdevs(root, first, 8);
	cr_assert_eq(n, 4);
	check_mdevs(root, first, n, "-12Q");
	for (int i = 0; i < 4; i++) {
		bool found = false;

		vf_addr(root, A40, i, vf);
		for (int k = 0; k < n; k++)
			found |= !strcmp(first[k].parent, vf);
		cr_assert(found, "no mdev on VF %d (%s)", i, vf);
	}
	for (int k = 0; k < 2; k++)
		cr_assert_not(has_uuid(first, n, m[k].uuid), "the old 8Q mdev %s is back", m[k].uuid);
	cr_assert_eq(fklog_ops(root), 4);

	/* 0: the mdevs go, then the VFs (sriov-manage -d), so the A40 can be handed whole to a
	 * VM; 4 again enables them (-e) and makes the same mdevs on the same VFs */
	set_count(root, A40, "0", NULL);
	cr_assert_eq(mdevs(root, m, 8), 0);
	s = rd(root, "sys/bus/pci/devices/" A40 "/sriov_numvfs");
	cr_assert_str_eq(s, "0");
	free(s);
	set_count(root, A40, "4", NULL);
	n = mdevs(root, m, 8);
	cr_assert_eq(n, 4);
	for (int i = 0; i < n; i++) {
		bool same = false;

		for (int k = 0; k < 4; k++)
			same |= !strcmp(first[k].uuid, m[i].uuid) &&
				!strcmp(first[k].parent, m[i].parent);
		cr_assert(same, "%s on %s is not as the first time", m[i].uuid, m[i].parent);
	}
}

/* ---- homogeneous sets (Admin Center's rule) ---- */

static int sixteen(const char *root, char addrs[][16])
{
	struct run r;
	int n = 0;
	char *p;

	cr_assert_eq(gpf(&r, root, "list", NULL), 0, "%s", r.err);
	for (p = r.out; (p = strstr(p, "Address               : ")); p++) {
		p += strlen("Address               : ");
		if (strncmp(p, "0000:c1", 7)) /* the BMC's VGA */
			snprintf(addrs[n++], 16, "%.12s", p);
	}
	run_free(&r);
	return n;
}

static int typed_vfs(const char *root, const char *pf)
{
	int types[64], total;
	char *t = rd(root, "sys/bus/pci/devices/%s/sriov_numvfs", pf);

	total = atoi(t);
	free(t);
	return nv_types(root, pf, total, types);
}

Test(write_setcount, homogeneous_partial_warns_all_sets_all)
{
	char *root = wtree("sixteen-sriov");
	char addrs[20][16];
	struct run r;
	int n = sixteen(root, addrs);

	cr_assert_eq(n, 16);
	cr_assert_eq(gpf(&r, root, "set-count", addrs[0], "4", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "warning: 15 more GPUs of the same configuration"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(typed_vfs(root, addrs[0]), 4);
	for (int i = 1; i < n; i++)
		cr_assert_eq(typed_vfs(root, addrs[i]), 0, "%s changed", addrs[i]);

	fklog_reset(root);
	cr_assert_eq(gpf(&r, root, "set-count", addrs[1], "4", "--all-homogeneous", NULL), 0,
		     "%s", r.err);
	cr_assert_null(strstr(r.err, "more GPU"), "%s", r.err);
	run_free(&r);
	for (int i = 0; i < n; i++)
		cr_assert_eq(typed_vfs(root, addrs[i]), 4, "%s", addrs[i]);
	/* 15 GPUs x 4 types; the first was already done */
	cr_assert_eq(fklog_ops(root), 60);
}
