/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A write that never returns (vfio's remove() waiting for a user that does not let go): the
 * tool gives up after --write-timeout with exit 4 and keeps the journal with a stuck record;
 * nothing touches the host while the blocked write lives (repair and set-count both exit 4);
 * once the kernel finishes the write behind the tool's back, repair undoes the change.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "wrun.h"

TestSuite(write_stuck, .init = wsetup, .fini = wteardown, .timeout = 60);

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static bool alive(pid_t pid)
{
	int st;

	/* our own orphan (we are its subreaper): reap it when it is done */
	if (waitpid(pid, &st, WNOHANG) == pid)
		return false;
	return kill(pid, 0) == 0;
}

Test(write_stuck, blocked_vf_removal)
{
	char *root = wtree("sriov-off"), *copy, *orig, *target, *before, *now, *journal, *p;
	struct run r;
	pid_t stuck;
	double t0, took;
	char vf[16];

	cr_assert_eq(gpf(&r, root, "set-count", NVME, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	orig = manifest(root, M_STATE);
	copy = wcopy(root);
	cr_assert_eq(gpf(&r, copy, "set-count", NVME, "2", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	target = manifest(copy, M_STATE);

	/* VF 3 cannot be removed: sriov_numvfs=0 blocks in the kernel */
	vf_addr(root, NVME, 3, vf);
	mkdirs(root, ".fakekernel/block");
	cr_assert_geq(asprintf(&p, ".fakekernel/block/%s", vf), 0);
	put(root, p, "");
	free(p);
	t0 = now_s();
	{
		static const char *const args[] = { "set-count", NVME, "2", "--runtime",
						    "--write-timeout", "1", NULL };
		int eof_ms;

		gpf_detached(&r, root, args, &eof_ms);
		/* the writer left behind in the kernel must not hold the caller's output open:
		 * out=$(gpupart set-count ...) would hang as long as the write does */
		cr_expect_geq(eof_ms, 0, "stdout stayed open after the tool exited (held by the "
					 "blocked writer)");
	}
	took = now_s() - t0;
	cr_assert_eq(r.status, 4, "exit %d: %s", r.status, r.err);
	cr_assert_lt(took, 8.0, "took %.1f s with a 1 s write timeout", took);
	cr_assert(strstr(r.err, "stuck") && strstr(r.err, NVME) &&
			  strstr(r.err, "sriov_numvfs"),
		  "%s", r.err);
	run_free(&r);
	cr_assert(journal_present(root), "a stuck write must keep the journal");
	journal = rd(root, "run/gpupart/journal");
	free(journal);
	{
		char *jp, *all, *s;

		cr_assert_geq(asprintf(&jp, "%s/run/gpupart/journal", root), 0);
		all = slurp(jp);
		free(jp);
		s = strstr(all, "\nstuck ");
		cr_assert_not_null(s, "no stuck record:\n%s", all);
		stuck = (pid_t)atoi(s + 7);
		cr_assert(strstr(s, "sriov_numvfs"), "%s", s);
		free(all);
	}
	cr_assert_gt(stuck, 0);
	cr_assert(alive(stuck), "the blocked writer %d is gone already", (int)stuck);

	/* while it lives, nothing is touched, by repair or by another change */
	before = manifest(root, M_STATE);
	{
		static const char *const repair[] = { "repair", NULL };
		static const char *const again[] = { "set-count", NVME, "4", "--runtime", NULL };

		cr_assert_eq(gpf_detached(&r, root, repair, NULL), 4, "exit %d: %s", r.status,
			     r.err);
		cr_assert(strstr(r.err, "still blocked"), "%s", r.err);
		run_free(&r);
		cr_assert_eq(gpf_detached(&r, root, again, NULL), 4, "exit %d: %s", r.status,
			     r.err);
		run_free(&r);
	}
	now = manifest(root, M_STATE);
	assert_manifest_eq(now, before, "repair while a write is blocked");
	free(now);
	cr_assert(journal_present(root));

	/* the user lets go: the kernel finishes the write, the writer exits */
	cr_assert_geq(asprintf(&p, "%s/.fakekernel/block/%s", root, vf), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	t0 = now_s();
	while (alive(stuck) && now_s() - t0 < 10)
		usleep(20000);
	cr_assert_not(alive(stuck), "the writer did not finish");

	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "exit %d: %s", r.status, r.err);
	run_free(&r);
	cr_assert_not(journal_present(root));
	now = manifest(root, M_STATE);
	cr_assert(manifest_eq(now, orig) || manifest_eq(now, target),
		  "after the stuck write and repair: neither the original nor the target");
	free(now);
	free(orig);
	free(target);
	free(before);
}

/* Waits until every child handed to us (the subreaper) has exited; false after @sec. */
static bool orphans_gone(double sec)
{
	double t0 = now_s();
	int st;

	for (;;) {
		pid_t p = waitpid(-1, &st, WNOHANG);

		if (p < 0 && errno == ECHILD)
			return true;
		if (p == 0 && now_s() - t0 > sec)
			return false;
		if (p == 0)
			usleep(20000);
	}
}

/*
 * The tool dies (kill -9, Ctrl-C, systemd stopping the unit) while its write child is blocked
 * in the kernel, before the write timeout fired: no stuck record reached the journal. The
 * orphan still holds the in-flight lock, so repair (and every mutating command) must see it
 * and touch nothing; once the write lands, repair puts the host back.
 */
Test(write_stuck, orphaned_writer_after_kill)
{
	char *root = wtree("intel-sriov"), *orig, *before, *now, *p;
	static const char *const zero[] = { "set-count", "0000:4e:00.0", "0", "--runtime", NULL };
	static const char *const repair[] = { "repair", NULL };
	static const char *const again[] = { "set-count", "0000:4e:00.0", "2", "--runtime", NULL };
	struct run r;
	pid_t tool;
	int st;

	orig = manifest(root, M_STATE);
	mkdirs(root, ".fakekernel/block");
	put(root, ".fakekernel/block/0000:4e:00.4", "");
	tool = gpf_spawn(root, zero);
	usleep(1000 * 1000);
	cr_assert_eq(waitpid(tool, &st, WNOHANG), 0, "the tool ended before the kill");
	kill(tool, SIGKILL);
	cr_assert_eq(waitpid(tool, &st, 0), tool);
	cr_assert(journal_present(root), "the journal was written before the first write");

	/* Linux removes VF 0 first (sriov_del_vfs): three VFs are gone, the fourth blocks */
	cr_assert_not(ex(root, "sys/bus/pci/devices/0000:4e:00.1"), "VF 0 should be gone");
	cr_assert(ex(root, "sys/bus/pci/devices/0000:4e:00.4"));

	before = manifest(root, M_STATE);
	cr_assert_eq(gpf_detached(&r, root, repair, NULL), 4, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "in flight") || strstr(r.err, "still blocked"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(gpf_detached(&r, root, again, NULL), 4, "exit %d: %s", r.status, r.err);
	run_free(&r);
	now = manifest(root, M_STATE);
	assert_manifest_eq(now, before, "repair while the orphaned write is blocked");
	free(now);
	cr_assert(journal_present(root), "the journal must stay while a write is in flight");

	/* the VM lets go: the write lands behind everyone's back */
	cr_assert_geq(asprintf(&p, "%s/.fakekernel/block/0000:4e:00.4", root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	cr_assert(orphans_gone(10), "the orphaned writer did not finish");
	{
		char *n = rd(root, "sys/bus/pci/devices/0000:4e:00.0/sriov_numvfs");

		cr_assert(n && n[0] == '0', "sriov_numvfs %s", n ? n : "(none)");
		free(n);
	}

	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "exit %d: %s", r.status, r.err);
	run_free(&r);
	cr_assert_not(journal_present(root));
	now = manifest(root, M_STATE);
	assert_manifest_eq(now, orig, "after the orphaned write landed and repair");
	free(now);
	free(orig);
	free(before);
}

/*
 * A stuck mdev remove: the message names the mdev, read from the plan's own step after the
 * states the plan was made from are gone (steps once borrowed the UUID from a freed state: a
 * heap use-after-free that AddressSanitizer reported on this path).
 */
Test(write_stuck, blocked_mdev_remove_names_it)
{
	char *root = wtree("t4-mdev-pf");
	static const char *const args[] = { "set-count", T4, "2", "--runtime", "--write-timeout",
					    "1", NULL };
	char uuid[37];
	struct run r;
	char *p;

	/* four mdevs gpupart made (the hand-made one is not its to remove: the admin did);
	 * 4 -> 2 is another type, so all four go, and the first remove blocks */
	admin_remove_mdev(root, "c0ffee00-0000-4000-8000-000000000001");
	cr_assert_eq(gpf(&r, root, "set-count", T4, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert(first_mdev(root, uuid));

	mkdirs(root, ".fakekernel/block");
	cr_assert_geq(asprintf(&p, ".fakekernel/block/%s", uuid), 0);
	put(root, p, "");
	free(p);
	cr_assert_eq(gpf_detached(&r, root, args, NULL), 4, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "stuck") && strstr(r.err, uuid), "%s", r.err);
	run_free(&r);
	cr_assert_geq(asprintf(&p, "%s/.fakekernel/block/%s", root, uuid), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	cr_assert(orphans_gone(10), "the blocked remove did not finish");
	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
}
