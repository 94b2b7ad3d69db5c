/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The options of the verbs that write, over the fake kernel. `gpupart -n repair` used to
 * repair for real (every verb took every option and ignored those it did not use): a dry
 * run of repair on a tree with a pending journal changes nothing, the journal included, and
 * only the real repair then undoes the change.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wrun.h"

TestSuite(write_options, .init = wsetup, .fini = wteardown, .timeout = 60);

Test(write_options, dry_run_repair_changes_nothing)
{
	static const char *const dry_runs[][4] = {
		{ "-n", "repair", NULL },
		{ "repair", "--dry-run", NULL },
		{ "--json", "repair", "-n", NULL },
		{ "repair", "-n", "--write-timeout", "2" },
	};
	const char *env[] = { "GP_FAKE_KILL_AFTER=2", NULL };
	char *root = wtree("sriov-off"), *before, *after;
	struct run r;

	/* killed after its second write: the journal stays, the host half changed */
	gpf_env(&r, env, root, "set-count", NVME, "2", "--runtime", "--no-libvirt", NULL);
	cr_assert_eq(r.status, 128 + 9, "exit %d: %s", r.status, r.err);
	run_free(&r);
	cr_assert(journal_present(root));
	before = manifest(root, M_STATE);
	for (size_t i = 0; i < sizeof(dry_runs) / sizeof(dry_runs[0]); i++) {
		const char *args[5] = { 0 };

		memcpy(args, dry_runs[i], sizeof(dry_runs[i]));
		fklog_reset(root);
		gpf_v(&r, NULL, root, args);
		cr_assert_neq(r.status, 2, "%s %s: the option is repair's: %s", args[0], args[1],
			      r.err);
		cr_assert_eq(fklog_ops(root), 0, "%s %s wrote:\n%s", args[0], args[1],
			     fklog(root));
		cr_assert(journal_present(root), "%s %s removed the journal", args[0], args[1]);
		after = manifest(root, M_STATE);
		assert_manifest_eq(after, before, "after a dry-run repair");
		free(after);
		run_free(&r);
	}
	/* the journal was a real one: repair undoes it */
	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	cr_assert_not(journal_present(root));
	run_free(&r);
	free(before);
}
