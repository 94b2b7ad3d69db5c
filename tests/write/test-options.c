/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The options of the verbs that write, over the fake kernel. `gpupart -n repair` used to
 * repair for real (every verb took every option and ignored those it did not use): a dry
 * run of repair on a tree with a pending journal changes nothing, the journal included, and
 * only the real repair then undoes the change.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

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

/*
 * The dispatcher takes the host lock for a verb that mutates, after the verb's argument
 * check and never for --dry-run: with the lock held by someone else (this test) and a change
 * pending, a usage error is exit 2 at once and a dry run answers, neither waiting for the
 * lock (the suite's 60 s bound is far below the lock's 120 s wait) nor undoing the journal.
 */
Test(write_options, usage_errors_and_dry_runs_take_no_lock)
{
	static const char *const calls[][6] = {
		{ "set-count", NVME, "2x", NULL },
		{ "set-count", "0000:zz:00.0", "2", NULL },
		{ "set-count", "-n", NVME, "2", "--no-libvirt", NULL },
		{ "apply", "-n", "--no-libvirt", NULL },
		{ "repair", "-n", NULL },
	};
	static const int want[] = { 2, 2, -1, -1, -1 }; /* -1: anything but 2, and no wait */
	const char *env[] = { "GP_FAKE_KILL_AFTER=2", NULL };
	char *root = wtree("sriov-off"), *lock = NULL;
	struct run r;
	int fd;

	gpf_env(&r, env, root, "set-count", NVME, "2", "--runtime", "--no-libvirt", NULL);
	cr_assert_eq(r.status, 128 + 9, "exit %d: %s", r.status, r.err);
	run_free(&r);
	cr_assert(journal_present(root));
	cr_assert_geq(asprintf(&lock, "%s/run/gpupart/lock", root), 0);
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	cr_assert_geq(fd, 0, "%s: %s", lock, strerror(errno));
	cr_assert_eq(flock(fd, LOCK_EX | LOCK_NB), 0, "%s", strerror(errno));
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		fklog_reset(root);
		gpf_v(&r, NULL, root, calls[i]);
		if (want[i] >= 0)
			cr_expect_eq(r.status, want[i], "%s %s: exit %d: %s", calls[i][0],
				     calls[i][1], r.status, r.err);
		else
			cr_expect_neq(r.status, 2, "%s %s: %s", calls[i][0], calls[i][1], r.err);
		cr_expect_eq(fklog_ops(root), 0, "%s %s wrote:\n%s", calls[i][0], calls[i][1],
			     fklog(root));
		cr_expect(journal_present(root), "%s %s undid the journal", calls[i][0],
			  calls[i][1]);
		run_free(&r);
	}
	close(fd);
	/* with the lock free, the next change undoes the journal first */
	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	cr_assert_not(journal_present(root));
	run_free(&r);
	free(lock);
}
