/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fault and a kill at every domain step of assign and unassign (gpupart-fake's hooks:
 * GP_FAKE_FAIL_DOMAIN=k fails the k-th libvirt domain step with EIO, GP_FAKE_KILL_DOMAIN=k
 * SIGKILLs gpupart at the k-th domain step, before it runs). The reservation records are file
 * steps before the domain steps, so a kill at domain step 1 is a kill after them. What must
 * hold, with the definitions, the records and the whole tree compared:
 *   - a failed step: exit 1, everything as it was, no journal;
 *   - a kill: a journal, and after `gpupart repair` everything as it was or as the command
 *     would have left it, never a mix (a record without its hostdev, or one domain of two).
 * assign takes two domains in one call, so that the second domain's failure must undo the
 * first's edit too.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "alib.h"

TestSuite(assign_faults, .init = a_init, .fini = a_fini, .timeout = 240);

struct snap {
	char *doms; /* every definition (a_all_xml) */
	char *tree; /* the tree's state with the records (M_STATE) */
};

static struct snap snap_of(const char *root)
{
	struct snap s = { a_all_xml(), a_own(manifest(root, M_STATE)) };

	return s;
}

static bool snap_eq(struct snap a, struct snap b)
{
	return !strcmp(a.doms, b.doms) && !strcmp(a.tree, b.tree);
}

/* puts every domain of @names back to @xml[i] (a define of libvirt's own XML is a fixed point) */
static void redefine(const char *const *names, char *const *xml)
{
	for (int i = 0; names[i]; i++) {
		virDomainPtr d = virDomainDefineXML(conn, xml[i]);

		cr_assert_not_null(d, "%s: %s", names[i], virGetLastErrorMessage());
		virDomainFree(d);
	}
}

static void repair(const char *root, const char *what)
{
	struct run r;

	/* the URI is the journal's: repair takes no --connect */
	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s: repair exit %d\n%s%s", what, r.status,
		     r.out, r.err);
	run_free(&r);
	cr_assert_not(journal_present(root), "%s: the journal stayed after repair", what);
}

/*
 * The matrix for @args run on @base with @names defined as @xml: every k until the hook
 * finds no k-th step (the command then succeeds: that k is past the last step).
 */
static void matrix(const char *base, const char *const *names, char *const *xml,
		   const char *const *args)
{
	struct snap orig, target, now;
	char *copy = wcopy(base), env_s[48];
	const char *env[] = { env_s, NULL };
	struct run r;
	int k;

	redefine(names, xml);
	orig = snap_of(copy);
	cr_assert_eq(a_gp_v(&r, NULL, copy, args), 0, "%s: exit %d\n%s", args[0], r.status, r.err);
	run_free(&r);
	target = snap_of(copy);
	cr_assert_not(snap_eq(orig, target), "%s changed nothing", args[0]);

	for (k = 1; k <= 16; k++) {
		char what[64];

		snprintf(env_s, sizeof(env_s), "GP_FAKE_FAIL_DOMAIN=%d", k);
		copy = wcopy(base);
		redefine(names, xml);
		a_gp_v(&r, env, copy, args);
		if (r.status == 0) {
			cr_assert_gt(k, 1, "GP_FAKE_FAIL_DOMAIN=1 failed nothing: no hook in "
					   "gpupart-fake?\n%s", r.err);
			cr_expect(snap_eq(snap_of(copy), target), "%s: past the last step, not the "
								  "target", env_s);
			run_free(&r);
			break;
		}
		cr_expect_eq(r.status, 1, "%s: exit %d\n%s", env_s, r.status, r.err);
		run_free(&r);
		cr_expect_not(journal_present(copy), "%s: the journal stayed", env_s);
		now = snap_of(copy);
		cr_expect_str_eq(now.doms, orig.doms, "%s: a domain changed", env_s);
		assert_manifest_eq(now.tree, orig.tree, env_s);

		snprintf(env_s, sizeof(env_s), "GP_FAKE_KILL_DOMAIN=%d", k);
		snprintf(what, sizeof(what), "%s", env_s);
		copy = wcopy(base);
		redefine(names, xml);
		cr_expect_eq(a_gp_v(&r, env, copy, args), 128 + 9, "%s: exit %d\n%s", what,
			     r.status, r.err);
		run_free(&r);
		cr_expect(journal_present(copy), "%s: killed mid-change, no journal", what);
		repair(copy, what);
		now = snap_of(copy);
		cr_expect(snap_eq(now, orig) || snap_eq(now, target),
			  "%s then repair: neither the original nor the target\n%s\n%s", what,
			  now.doms, now.tree);
	}
	cr_expect_lt(k, 16, "the hook never ran out of steps");
}

Test(assign_faults, assign_two_domains_fault_and_kill_at_every_step)
{
	char *base = a_tree("a16-vfio");
	const char *names[] = { "fa", "fb", NULL };
	char *xml[] = { a_define("fa", NULL), a_define("fb", NULL) };

	matrix(base, names, xml, (const char *const[]){ "assign", "fa", "fb", NULL });
}

Test(assign_faults, assign_mdev_fault_and_kill_at_every_step)
{
	char *base = a_tree("a40-mdev-vf");
	const char *names[] = { "fm", NULL };
	char *xml[] = { a_define("fm", NULL) };

	matrix(base, names, xml, (const char *const[]){ "assign", "fm", NULL });
}

/* unassign --all of a domain holding two (the matrix's base is the tree after assign) */
Test(assign_faults, unassign_fault_and_kill_at_every_step)
{
	char *base = a_tree("a16-vfio");
	const char *names[] = { "fu", NULL };
	char *xml[1];
	struct run r;

	a_define("fu", NULL);
	cr_assert_eq(a_gp(&r, NULL, base, "assign", "fu", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(a_gp(&r, NULL, base, "assign", "fu", "--allow-multiple", NULL), 0, "%s",
		     r.err);
	run_free(&r);
	xml[0] = a_xml("fu");
	matrix(base, names, xml, (const char *const[]){ "unassign", "fu", "--all", NULL });
}
