/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Counts that match the NVIDIA driver, end to end through gpupart-fake: the count in force is
 * a no-op (no write, no journal), a count between two others keeps the partitions of the
 * target's size and series and never passes through 0 (no sriov-manage), the series of a
 * partitioned GPU is its partitions', and a GPU in mixed-size mode is refused any count but 0.
 * Expectations come from each scenario's description (tests/fixture/fx-scenarios.c) and the
 * driver's rules (real-hosts/06, 11), derived by hand.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "wrun.h"

TestSuite(write_counts, .init = wsetup, .fini = wteardown, .timeout = 120);

/* current_vgpu_type of each of the PF's @n first VFs. */
static void vf_types(const char *root, const char *pf, int n, int *types)
{
	char vf[16];

	for (int i = 0; i < n; i++) {
		char *t;

		vf_addr(root, pf, i, vf);
		t = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
		cr_assert_not_null(t, "%s has no current_vgpu_type", vf);
		types[i] = atoi(t);
		free(t);
	}
}

/* set-count COUNT on @addr, exit @status; the run's output for the caller (run_free). */
static void count(struct run *r, const char *root, const char *addr, const char *n, int status,
		  const char *extra)
{
	fklog_reset(root);
	if (extra)
		gpf(r, root, "set-count", addr, n, extra, NULL);
	else
		gpf(r, root, "set-count", addr, n, NULL);
	cr_assert_eq(r->status, status, "set-count %s %s: exit %d, want %d\n%s%s", addr, n,
		     r->status, status, r->out, r->err);
}

/* set-count refused with exit @status and a message holding @a and @b; the host untouched. */
static void count_refused(const char *root, const char *addr, const char *n, int status,
		    const char *a, const char *b)
{
	char *before = manifest(root, M_STATE), *after;
	struct run r;

	count(&r, root, addr, n, status, "--runtime");
	cr_assert(strstr(r.err, a) && strstr(r.err, b), "%s", r.err);
	run_free(&r);
	after = manifest(root, M_STATE);
	assert_manifest_eq(after, before, "a refused count");
	free(after);
	free(before);
}

/* One L40S-8A in force (VF 0): the count in force changes nothing; 6 (48 GiB / 8) keeps it
 * and sets five more 8A, never 8Q (the default series, another licence class). */
Test(write_counts, l40s_8a_stays_in_its_series)
{
	char *root = wtree("l40s-8a"), *before, *after, *conf, *log;
	int types[32];
	struct run r;

	/* the count in force, not recorded: no write to the host, no journal left */
	before = manifest(root, M_STATE);
	count(&r, root, L40S, "1", 0, "--runtime");
	cr_assert(strstr(r.out, "1 partition already; nothing to do"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "%s", fklog(root));
	cr_assert_not(journal_present(root));
	after = manifest(root, M_STATE);
	assert_manifest_eq(after, before, "set-count of the count in force");
	free(after);
	free(before);

	/* 1 -> 6: five writes of 1175 (L40S-8A) on VFs 1..5, VF 0 untouched */
	count(&r, root, L40S, "6", 0, NULL);
	run_free(&r);
	log = fklog(root);
	cr_assert_eq(fklog_ops(root), 5, "%s", log);
	cr_assert_null(strstr(log, "sriov-manage"), "%s", log);
	cr_assert_null(strstr(log, "0000:01:00.4/"), "VF 0 was touched:\n%s", log);
	free(log);
	vf_types(root, L40S, 32, types);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(types[i], i < 6 ? 1175 : 0, "VF %d: %d", i, types[i]);
	/* the layout keeps the series, so that apply after a reboot makes 8A again */
	conf = conf_of(root);
	cr_assert(strstr(conf, " count=6") && strstr(conf, " series=A"), "%s", conf);
	free(conf);

	/* the GPU is full now (six 8 GiB in 48): the count in force is still a no-op */
	count(&r, root, L40S, "6", 0, NULL);
	cr_assert(strstr(r.out, "6 partitions already; nothing to do"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0);
	cr_assert_not(journal_present(root));
}

/* After a reboot (the same L40S, at the same PCI path, VFs off), apply makes the recorded six
 * partitions in the recorded series: 8A again, not the default Q's 8Q. */
Test(write_counts, apply_keeps_the_series_after_a_reboot)
{
	char *root = wtree("l40s-8a"), *reboot = wtree("sriov-off"), *p;
	int types[32];
	struct run r;

	count(&r, root, L40S, "6", 0, NULL);
	run_free(&r);
	with_sriov_manage(reboot);
	mkdirs(reboot, "etc/gpupart");
	cr_assert_geq(asprintf(&p, "cp %s/etc/gpupart/partitions.conf %s/etc/gpupart/", root,
			       reboot), 0);
	cr_assert_eq(system(p), 0);
	free(p);
	cr_assert_eq(gpf(&r, reboot, "apply", NULL), 0, "%s%s", r.out, r.err);
	run_free(&r);
	vf_types(reboot, L40S, 32, types);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(types[i], i < 6 ? 1175 : 0, "VF %d: %d", i, types[i]);
}

/* An A16 GPU (16 GiB) with four 2Q in force and vgpuConfig.xml: 4 is the count in force; 2 is
 * 8Q (16 / 8), so the four 2Q are cleared and two 8Q (685) set, in one change, through no zero
 * count: no sriov-manage, the VFs stay enabled. */
Test(write_counts, a16_count_to_count)
{
	char *root = wtree("a16-vfio"), *log;
	const char *gpu = "0000:03:00.0";
	int types[16];
	struct run r;

	count(&r, root, gpu, "4", 0, "--runtime");
	cr_assert(strstr(r.out, "4 partitions already; nothing to do"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0);

	count(&r, root, gpu, "2", 0, "--runtime");
	run_free(&r);
	log = fklog(root);
	cr_assert_eq(fklog_ops(root), 6, "%s", log);
	cr_assert_null(strstr(log, "sriov"), "%s", log);
	cr_assert_null(strstr(log, "= -"), "a write failed:\n%s", log);
	/* the four clears come before the two sets (equal size: 8Q fits only once 2Q is gone) */
	cr_assert_lt(strstr(log, "0000:03:00.7/nvidia/current_vgpu_type 0"),
		     strstr(log, "current_vgpu_type 685"), "%s", log);
	free(log);
	vf_types(root, gpu, 16, types);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(types[i], i < 2 ? 685 : 0, "VF %d: %d", i, types[i]);
	log = rd(root, "sys/bus/pci/devices/%s/sriov_numvfs", gpu);
	cr_assert_str_eq(log, "16");
	free(log);
}

/* The same GPU with only the sysfs lists (no vgpuConfig.xml): they name the 2 GiB types (2B,
 * 2Q, 2A) only, so 8 (16 GiB / 2) is the one count they tell, 4 is the count in force, and 2
 * cannot be planned from them. */
Test(write_counts, a16_sysfs_lists_do_what_they_can)
{
	struct fx_tree *t = fx_scenario_build("a16-vfio");
	const char *gpu = "0000:03:00.0";
	int types[16];
	struct run r;
	char *root;

	cr_assert_not_null(t);
	t->host.no_vgpu_config = true;
	root = wtree_of(t, "a16-sysfs");
	fx_tree_free(t);
	count(&r, root, gpu, "4", 0, "--runtime");
	cr_assert(strstr(r.out, "4 partitions already; nothing to do"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0);

	count_refused(root, gpu, "2", 2, "valid counts: 8, 0", "set 0 first");

	/* 4 -> 8: four more 2Q (683) on VFs 4..7, the four in force stay */
	count(&r, root, gpu, "8", 0, "--runtime");
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 4, "%s", fklog(root));
	vf_types(root, gpu, 16, types);
	for (int i = 0; i < 16; i++)
		cr_assert_eq(types[i], i < 8 ? 683 : 0, "VF %d: %d", i, types[i]);
}

/* Mixed-size mode (an 8Q and a 16Q in force): no count but 0; 0 removes both, and writes 0
 * only where a vGPU is (an idle VF refuses it: -EPERM). */
Test(write_counts, mixed_size_refuses_counts)
{
	char *root = wtree("mixed-size"), *log;
	int types[4];
	struct run r;

	count_refused(root, L40S, "2", 1, "mixed-size vGPU mode", "-shm 0");
	gpf(&r, root, "--json", "set-count", L40S, "4", "--dry-run", NULL);
	cr_assert_eq(r.status, 1);
	cr_assert(strstr(r.out, "\"code\": \"mixed-size-mode\""), "%s", r.out);
	run_free(&r);

	vf_types(root, L40S, 4, types);
	cr_assert(types[0] > 0 && types[1] > 0 && types[2] == 0, "%d %d %d", types[0], types[1],
		  types[2]);
	/* two clears, then sriov-manage -d: with no partition left the VFs go (set-count 0) */
	with_sriov_manage(root);
	count(&r, root, L40S, "0", 0, "--runtime");
	run_free(&r);
	log = fklog(root);
	cr_assert_eq(fklog_ops(root), 3, "%s", log);
	cr_assert_null(strstr(log, "= -1"), "%s", log);
	cr_assert(strstr(log, "sriov-manage -d " L40S " = 0"), "%s", log);
	free(log);
	log = rd(root, "sys/bus/pci/devices/" L40S "/sriov_numvfs");
	cr_assert_str_eq(log, "0");
	free(log);
}

/* Between two counts the GPU is still refused while any of its partitions is given to a VM
 * (here by a reservation record), even one the change would keep; the count in force is not
 * a change, so it is not refused. */
Test(write_counts, count_to_count_refused_while_assigned)
{
	char *root = wtree("l40s-8a");
	struct run r;

	mkdirs(root, "run/gpupart/reservations");
	put(root, "run/gpupart/reservations/0000:01:00.4", "vm-a\n");
	count_refused(root, L40S, "6", 1, "0000:01:00.4", "vm-a");
	count(&r, root, L40S, "1", 0, "--runtime");
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0);
}
