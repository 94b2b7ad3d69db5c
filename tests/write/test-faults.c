/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fault injection at every write of a plan. For a plan of N writes (counted on a copy), for
 * each k in 1..N:
 *   the k-th write fails    exit 1, the host exactly as it was, no journal;
 *   a SIGKILL after write k the journal is there; `repair` (exit 0) puts the host back to
 *                           exactly the original or exactly the target, never a mix, and
 *                           removes the journal.
 * "Exactly" is the manifest of the whole tree (every file's bytes, every link's target)
 * without the fake kernel's own files and the lock file. Plus: a mutating set-count after a
 * kill first recovers, then does its own change.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "wrun.h"

TestSuite(write_faults, .init = wsetup, .fini = wteardown, .timeout = 300);

struct plan_case {
	const char *base;        /* a prepared tree */
	const char *const *args; /* the mutating command */
	int n_expected;          /* its writes and execs, counted by hand */
};

static int count_injected(const char *log)
{
	int n = 0;

	for (const char *p = log; (p = strstr(p, "(injected)")); p++)
		n++;
	return n;
}

static void matrix(const struct plan_case *c)
{
	char *orig = manifest(c->base, M_STATE), *target, *copy;
	struct run r;
	int n;

	/* the plan's length and the state it reaches */
	copy = wcopy(c->base);
	cr_assert_eq(gpf_v(&r, NULL, copy, c->args), 0, "%s", r.err);
	run_free(&r);
	n = fklog_ops(copy);
	cr_assert_eq(n, c->n_expected, "the plan has %d writes, %d expected:\n%s", n,
		     c->n_expected, fklog(copy));
	target = manifest(copy, M_STATE);
	cr_assert_not(manifest_eq(target, orig), "the command changed nothing");
	cr_assert_not(journal_present(copy));

	for (int k = 1; k <= n; k++) {
		char fail[32], kill_[32], *log, *now;
		const char *env_fail[] = { fail, NULL }, *env_kill[] = { kill_, NULL };

		snprintf(fail, sizeof(fail), "GP_FAKE_FAIL_WRITE=%d", k);
		snprintf(kill_, sizeof(kill_), "GP_FAKE_KILL_AFTER=%d", k);

		copy = wcopy(c->base);
		cr_assert_eq(gpf_v(&r, env_fail, copy, c->args), 1, "k=%d: exit %d\n%s", k,
			     r.status, r.err);
		cr_assert(strstr(r.err, "every device is back as it was"), "k=%d: %s", k, r.err);
		run_free(&r);
		log = fklog(copy);
		cr_assert_eq(count_injected(log), 1, "k=%d:\n%s", k, log);
		free(log);
		cr_assert_not(journal_present(copy), "k=%d: the journal stayed", k);
		now = manifest(copy, M_STATE);
		assert_manifest_eq(now, orig, fail);
		free(now);

		copy = wcopy(c->base);
		cr_assert_eq(gpf_v(&r, env_kill, copy, c->args), 128 + 9, "k=%d: exit %d\n%s", k,
			     r.status, r.err);
		run_free(&r);
		cr_assert(journal_present(copy), "k=%d: killed mid-change, no journal", k);
		cr_assert_eq(gpf(&r, copy, "repair", NULL), 0, "k=%d: repair exit %d\n%s", k,
			     r.status, r.err);
		cr_assert(strstr(r.out, "undid an interrupted change"), "k=%d: %s", k, r.out);
		run_free(&r);
		cr_assert_not(journal_present(copy), "k=%d: the journal stayed after repair", k);
		now = manifest(copy, M_STATE);
		cr_assert(manifest_eq(now, orig) || manifest_eq(now, target),
			  "%s then repair: neither the original nor the target", kill_);
		free(now);
		/* and a second repair has nothing to do */
		cr_assert_eq(gpf(&r, copy, "repair", NULL), 0);
		cr_assert(strstr(r.out, "nothing to repair"), "%s", r.out);
		run_free(&r);
	}

	/* killed half way, then the same command again: it recovers first, then changes */
	{
		char kill_[32];
		const char *env_kill[] = { kill_, NULL };
		char *now;

		snprintf(kill_, sizeof(kill_), "GP_FAKE_KILL_AFTER=%d", (n + 1) / 2);
		copy = wcopy(c->base);
		cr_assert_eq(gpf_v(&r, env_kill, copy, c->args), 128 + 9);
		run_free(&r);
		cr_assert_eq(gpf_v(&r, NULL, copy, c->args), 0, "%s", r.err);
		cr_assert(strstr(r.err, "found the journal of an unfinished change"), "%s", r.err);
		run_free(&r);
		cr_assert_not(journal_present(copy));
		now = manifest(copy, M_STATE);
		assert_manifest_eq(now, target, "kill, then the command again");
		free(now);
	}
	free(orig);
	free(target);
}

static char *nvme_at(int count)
{
	char *root = wtree("sriov-off"), num[8];
	struct run r;

	if (count) {
		snprintf(num, sizeof(num), "%d", count);
		cr_assert_eq(gpf(&r, root, "set-count", NVME, num, "--runtime", NULL), 0, "%s",
			     r.err);
		run_free(&r);
		fklog_reset(root);
	}
	return root;
}

/* numvfs 0, autoprobe 0, numvfs 4, 4 x (override, probe), autoprobe 1 */
Test(write_faults, nvme_2_to_4_recreates)
{
	static const char *const args[] = { "set-count", NVME, "4", "--runtime", NULL };
	struct plan_case c = { nvme_at(2), args, 12 };

	matrix(&c);
}

/* autoprobe 0, numvfs 3, 3 x (override, probe), autoprobe 1 */
Test(write_faults, nvme_0_to_3)
{
	static const char *const args[] = { "set-count", NVME, "3", "--runtime", NULL };
	struct plan_case c = { nvme_at(0), args, 9 };

	matrix(&c);
}

/* the same, recorded in partitions.conf: the layout is part of "original or target" (a kill
 * never leaves the host changed and the count unrecorded, or the reverse) */
Test(write_faults, nvme_0_to_3_recorded)
{
	static const char *const args[] = { "set-count", NVME, "3", NULL };
	struct plan_case c = { nvme_at(0), args, 9 };

	matrix(&c);
}

/* sriov-manage -e, 4 x current_vgpu_type */
Test(write_faults, l40s_0_to_4_sriov_manage)
{
	static const char *const args[] = { "set-count", L40S, "4", "--runtime", NULL };
	char *root = wtree("sriov-off");
	struct plan_case c = { root, args, 5 };

	with_sriov_manage(root);
	matrix(&c);
}

/* 4 x current_vgpu_type 0, sriov-manage -d */
Test(write_faults, l40s_4_to_0)
{
	static const char *const args[] = { "set-count", L40S, "0", "--runtime", NULL };
	char *root = wtree("sriov-off");
	struct plan_case c = { root, args, 5 };
	struct run r;

	with_sriov_manage(root);
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	matrix(&c);
}

/* the hand-made 4Q mdev stays, create 3 */
Test(write_faults, t4_mdev_1_to_4)
{
	static const char *const args[] = { "set-count", T4, "4", "--runtime", NULL };
	struct plan_case c = { wtree("t4-mdev-pf"), args, 3 };

	matrix(&c);
}

/* count to count, keeping the partition in force: one L40S-8A, 5 x current_vgpu_type 1175 */
Test(write_faults, l40s_8a_1_to_6_keeps_it)
{
	static const char *const args[] = { "set-count", L40S, "6", NULL };
	struct plan_case c = { wtree("l40s-8a"), args, 5 };

	matrix(&c);
}

/* count to count on vendor VFIO (vgpuConfig.xml): A16 GPU 0's four 2Q to two 8Q, 4 clears then
 * 2 sets, no sriov-manage (an exec would be a seventh) */
Test(write_faults, a16_vfio_4_to_2)
{
	static const char *const args[] = { "set-count", "0000:03:00.0", "2", "--runtime", NULL };
	struct plan_case c = { wtree("a16-vfio"), args, 6 };

	matrix(&c);
}

/* The a40-mdev-vf host without its two hand-made mdevs (gpupart removes no mdev it did not
 * make), at 2 partitions of gpupart's own: A40-24Q, one on each of VFs 0 and 1. */
static char *a40_at_2(void)
{
	struct fx_tree *t = fx_scenario_build("a40-mdev-vf");
	struct fx_dev *pf;
	struct run r;
	char *root;

	cr_assert_not_null(t);
	pf = fx_dev_find(t, A40);
	cr_assert_not_null(pf);
	for (int i = 0; i < pf->sriov_numvfs; i++)
		while (pf->vfs[i]->mdevs) {
			struct fx_mdev *m = pf->vfs[i]->mdevs;

			pf->vfs[i]->mdevs = m->next;
			free(m);
		}
	root = wtree_of(t, "a40-no-mdevs");
	fx_tree_free(t);
	cr_assert_eq(gpf(&r, root, "set-count", A40, "2", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	return root;
}

/* count to count through no zero count: 2 x A40-24Q to 1 x 48Q, the VFs staying: 2 removes,
 * 1 create, and nothing else (no sriov-manage: an exec would be a fourth) */
Test(write_faults, a40_mdev_2_to_1)
{
	static const char *const args[] = { "set-count", A40, "1", "--runtime", NULL };
	struct plan_case c = { a40_at_2(), args, 3 };

	matrix(&c);
}

/* remove gpupart's two 8Q mdevs, create four 4Q (the fixture's hand-made mdev is not
 * gpupart's to remove: the admin removes it first) */
Test(write_faults, t4_mdev_2_to_4)
{
	static const char *const args[] = { "set-count", T4, "4", "--runtime", NULL };
	char *root = wtree("t4-mdev-pf");
	struct plan_case c = { root, args, 6 };
	struct run r;

	admin_remove_mdev(root, "c0ffee00-0000-4000-8000-000000000001");
	cr_assert_eq(gpf(&r, root, "set-count", T4, "2", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	matrix(&c);
}
