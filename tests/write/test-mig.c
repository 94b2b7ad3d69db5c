/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MIG-backed vGPU through the fake kernel: an H200 SXM in MIG mode (tests/fixture, h200-*)
 * whose GPU instances each take H200X-1-18C (type 1414); the fake keeps MIG mode in
 * .fakekernel/mig/ADDR (the driver's persistent state, which no file shows) and, like the
 * driver, lists on an idle VF the MIG-backed types of its free instances only, and destroys
 * the instances when sriov-manage rebinds the GPU. Expected states are worked out by hand from
 * the scenario and gpupart(8), MIG-backed vGPU.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wrun.h"

#define H200 "0000:41:00.0"
/* the fixture's minor for bus 0x41 (its information file says 1) */
#define GI_DIR "proc/driver/nvidia/capabilities/gpu1/mig"

TestSuite(write_mig, .init = wsetup, .fini = wteardown, .timeout = 120);

static char *mig_tree(const char *scenario)
{
	char *root = wtree(scenario);

	mkdirs(root, ".fakekernel/mig");
	put(root, ".fakekernel/mig/" H200, "1414\n");
	with_sriov_manage(root);
	return root;
}

/* VF i's current type, and whether it lists 1414 */
static void vf_is(const char *root, int i, int type, bool lists)
{
	char vf[16], *cur, *cre;

	vf_addr(root, H200, i, vf);
	cur = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
	cr_assert_eq(atoi(cur), type, "VF %d (%s) holds %s, want %d", i, vf, cur, type);
	cr_assert_geq(asprintf(&cre, "%s/sys/bus/pci/devices/%s/nvidia/creatable_vgpu_types", root,
			       vf), 0);
	{
		char *text = slurp(cre);

		cr_assert_not_null(text);
		cr_assert_eq(strstr(text, "1414  : NVIDIA H200X-1-18C") != NULL, lists,
			     "VF %d lists:\n%s", i, text);
		cr_assert_null(strstr(text, "H200X-4C"), "a time-sliced type in MIG mode");
		free(text);
	}
	free(cre);
	free(cur);
}

static void set_count(const char *root, const char *count, int status, const char *needle)
{
	struct run r;

	gpf(&r, root, "set-count", "--no-libvirt", H200, count, NULL);
	cr_assert_eq(r.status, status, "set-count %s: exit %d\n%s", count, r.status, r.err);
	if (needle)
		cr_assert(strstr(r.out, needle) || strstr(r.err, needle), "no '%s' in:\n%s%s",
			  needle, r.out, r.err);
	run_free(&r);
}

/* 7 instances, 2 vGPUs: up to 7, back down, and the same count again is nothing to do. */
Test(write_mig, counts_on_the_instances)
{
	char *root = mig_tree("h200-mig");
	int i;

	set_count(root, "3", 0, "3 partitions (was 2)");
	for (i = 0; i < 3; i++)
		vf_is(root, i, 1414, false); /* a VF holding a vGPU lists nothing */
	vf_is(root, 3, 0, true);          /* 4 instances free */
	fklog_reset(root);
	set_count(root, "3", 0, "3 partitions already; nothing to do");
	cr_assert_eq(fklog_ops(root), 0, "the count in force wrote:\n%s", fklog(root));
	/* every instance taken: no VF lists anything, the count in force still stands */
	set_count(root, "7", 0, "7 partitions (was 3)");
	vf_is(root, 6, 1414, false);
	vf_is(root, 7, 0, false);
	set_count(root, "8", 2, "valid counts: 7, 6, 5, 4, 3, 2, 1, 0");
	set_count(root, "2", 0, "2 partitions (was 7)");
	vf_is(root, 0, 1414, false);
	vf_is(root, 1, 1414, false);
	vf_is(root, 2, 0, true);
	cr_assert(ex(root, GI_DIR "/gi7"), "the instances are the admin's: never touched");
	cr_assert(!journal_present(root));
}

/* --force over 3 instances with the VFs off: sriov-manage -e destroys them, as said; with none
 * left nothing MIG-backed can be created, so the change is undone (the VFs go again). */
Test(write_mig, forced_enable_loses_the_instances)
{
	char *root = mig_tree("h200-mig-novfs"), *numvfs;
	struct run r;

	cr_assert(ex(root, GI_DIR "/gi9"));
	gpf(&r, root, "set-count", "--no-libvirt", "--force", H200, "3", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "they will be lost"), "%s", r.err);
	cr_assert(strstr(r.err, "MIG mode with no GPU instance"), "%s", r.err);
	cr_assert(strstr(r.err, "every device is back as it was"), "%s", r.err);
	run_free(&r);
	cr_assert(!ex(root, GI_DIR "/gi7") && !ex(root, GI_DIR "/gi9"), "instances survived");
	numvfs = rd(root, "sys/bus/pci/devices/" H200 "/sriov_numvfs");
	cr_assert_str_eq(numvfs, "0");
	free(numvfs);
	cr_assert(!journal_present(root));
}
