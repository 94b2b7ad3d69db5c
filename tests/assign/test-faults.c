/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fault and a kill at every domain step of assign and unassign (gpupart-fake's hooks:
 * GP_FAKE_FAIL_DOMAIN=k fails the k-th libvirt domain step with EIO, GP_FAKE_KILL_DOMAIN=k
 * SIGKILLs gpupart at the k-th domain step, before it runs). The reservation records are file
 * steps before the domain steps, so a kill at domain step 1 is a kill after them. What must
 * hold, with the definitions, the records and the whole tree compared:
 *   - a failed step: exit 1, no journal, the failing domain as it was;
 *   - a kill: a journal, and after `gpupart repair` each domain as it was or as the command
 *     would have left it, never half (a record without its hostdev, or the reverse);
 *   - in either case exactly the records of the domains' states, the rest of the tree as it
 *     was.
 * Each domain of a call is its own transaction (gpupart/adapters.h): with two domains, a
 * failure at the second's step leaves the first assigned, and that is a whole state too.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "alib.h"

TestSuite(assign_faults, .init = a_init, .fini = a_fini, .timeout = 240);

/* One domain of the matrix: its definition before and after the command, the records the
 * command leaves for it (by its hostdevs' devices) */
struct dom {
	const char *name;
	char *orig, *target;
	char *dev[4], *resv[4];
	int n;
};

/* the tree without the records: what no step of assign or unassign may change */
static char *rest_of(const char *root)
{
	char *m = a_own(manifest(root, M_STATE)), *out = NULL, *l, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	for (l = strtok_r(m, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (strncmp(l, "run/gpupart/reservations", 24))
			fprintf(f, "%s\n", l);
	fclose(f);
	return a_own(out);
}

/* puts every domain back to its definition before (a define of libvirt's own XML is a fixed
 * point: alib.h) */
static void redefine(const struct dom *d, int n)
{
	for (int i = 0; i < n; i++) {
		virDomainPtr p = virDomainDefineXML(conn, d[i].orig);

		cr_assert_not_null(p, "%s: %s", d[i].name, virGetLastErrorMessage());
		virDomainFree(p);
	}
}

/* @root's records into (@to_saved) or back from @saved/reservations (the rest of the tree is
 * checked unchanged by rest_of): one tree for the whole matrix, not a copy per run */
static void records_copy(const char *root, const char *saved, bool to_saved)
{
	char *live, *keep, *from, *to;
	struct run r;

	cr_assert_geq(asprintf(&live, "%s/run/gpupart/reservations", root), 0);
	cr_assert_geq(asprintf(&keep, "%s/reservations", saved), 0);
	from = to_saved ? live : keep;
	to = to_saved ? keep : live;
	rm_tree(to);
	if (!to_saved)
		cr_assert_not(journal_present(root), "a journal stayed");
	if (access(from, F_OK) == 0) {
		char *argv[] = { "/bin/cp", "-a", from, to, NULL };

		cr_assert_eq(run_argv(&r, argv), 0, "cp: %s", r.err);
		run_free(&r);
	}
	free(live);
	free(keep);
}

/* The records of @x's hostdevs in @root into @d. */
static void records_of(struct dom *d, const char *x, const char *root)
{
	struct a_hostdev h[4];
	int n = a_hostdevs(x, h, 4);

	for (int i = 0; i < n && i < 4; i++) {
		char *r = a_resv(root, h[i].source);

		if (!r)
			continue;
		d->dev[d->n] = a_own(strdup(h[i].source));
		d->resv[d->n++] = r;
	}
}

/*
 * Each domain exactly as it was or exactly as the command leaves it, and exactly the records
 * of that state (assign's byte for byte where it is assigned, none where it is not), no other
 * record, the rest of the tree as it was. How many domains are as they were.
 */
static int check_end(const char *root, const struct dom *d, int n, const char *rest,
		     bool unassign, const char *what)
{
	int n_orig = 0, want_records = 0;

	cr_expect_str_eq(rest_of(root), rest, "%s: the tree changed beyond the records", what);
	for (int i = 0; i < n; i++) {
		char *x = a_xml(d[i].name);
		bool orig = !strcmp(x, d[i].orig), assigned = orig == unassign;

		cr_expect(orig || !strcmp(x, d[i].target),
			  "%s: %s is neither as it was nor as the command leaves it:\n%s", what,
			  d[i].name, x);
		n_orig += orig;
		for (int k = 0; k < d[i].n; k++) {
			char *got = a_resv(root, d[i].dev[k]);

			if (assigned)
				cr_expect_str_eq(got ? got : "(none)", d[i].resv[k], "%s: %s's record",
						 what, d[i].name);
			else
				cr_expect_null(got, "%s: %s is not assigned, its record stayed: %s",
					       what, d[i].name, got);
		}
		want_records += assigned ? d[i].n : 0;
	}
	cr_expect_eq(a_resv_count(root), want_records, "%s: records beyond the domains'", what);
	return n_orig;
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
 * The matrix for @args on @base with the domains d[0..n) defined as d[i].orig: every k until
 * the hook finds no k-th domain step (the command then succeeds: k is past the last step).
 * A failure leaves the failing domain as it was (each domain is its own transaction: one
 * before it may be done); a kill, after repair, each domain as it was or as it would be.
 */
static void matrix(const char *base, struct dom *d, int n, const char *const *args,
		   bool unassign)
{
	char env_s[48], *rest = rest_of(base), *saved = test_tmpdir("records");
	const char *env[] = { env_s, NULL }, *copy = base;
	struct run r;
	int k, cur;

	/* the definitions before, as libvirt writes them after a define of their own XML (an
	 * attach's XML is not yet a fixed point: alib.h) */
	redefine(d, n);
	for (int i = 0; i < n; i++) {
		d[i].orig = a_xml(d[i].name);
		/* unassign: the records it removes */
		if (unassign)
			records_of(&d[i], d[i].orig, base);
	}
	records_copy(base, saved, true);
	cr_assert_eq(a_gp_v(&r, NULL, base, args), 0, "%s: exit %d\n%s", args[0], r.status, r.err);
	run_free(&r);
	for (int i = 0; i < n; i++) {
		d[i].target = a_xml(d[i].name);
		cr_assert_str_neq(d[i].target, d[i].orig, "%s changed nothing", args[0]);
		/* assign: the records it wrote */
		if (!unassign)
			records_of(&d[i], d[i].target, base);
		cr_assert_gt(d[i].n, 0, "no record for %s", d[i].name);
	}
	cr_assert_eq(a_resv_count(base), unassign ? 0 : d[0].n + (n > 1 ? d[1].n : 0));
	for (k = 1; k <= 16; k++) {
		snprintf(env_s, sizeof(env_s), "GP_FAKE_FAIL_DOMAIN=%d", k);
		records_copy(base, saved, false);
		redefine(d, n);
		a_gp_v(&r, env, copy, args);
		if (r.status == 0) {
			cr_assert_gt(k, 1, "GP_FAKE_FAIL_DOMAIN=1 failed nothing: no hook?\n%s", r.err);
			run_free(&r);
			cr_expect_eq(check_end(copy, d, n, rest, unassign, env_s), 0, "%s: not done", env_s);
			break;
		}
		cr_expect_eq(r.status, 1, "%s: exit %d\n%s", env_s, r.status, r.err);
		run_free(&r);
		cr_expect_not(journal_present(copy), "%s: the journal stayed", env_s);
		cur = check_end(copy, d, n, rest, unassign, env_s);
		cr_expect_gt(cur, 0, "%s: failed, yet every domain changed", env_s);

		snprintf(env_s, sizeof(env_s), "GP_FAKE_KILL_DOMAIN=%d", k);
		records_copy(base, saved, false);
		redefine(d, n);
		cr_expect_eq(a_gp_v(&r, env, copy, args), 128 + 9, "%s: exit %d\n%s", env_s,
			     r.status, r.err);
		run_free(&r);
		cr_expect(journal_present(copy), "%s: killed mid-change, no journal", env_s);
		repair(copy, env_s);
		check_end(copy, d, n, rest, unassign, env_s);
	}
	cr_expect_lt(k, 16, "the hook never ran out of steps");
}

Test(assign_faults, assign_fault_and_kill_at_every_step)
{
	char *base = a_tree("a16-vfio");
	struct dom d[] = { { .name = "fa" } };

	d[0].orig = a_define("fa", NULL);
	matrix(base, d, 1, (const char *const[]){ "assign", "fa", NULL }, false);
}

/* two domains, one call: one transaction each, so the second's failure leaves the first done
 * (or, failing the first, neither) but never a domain half done */
Test(assign_faults, assign_two_domains_fault_and_kill_at_every_step)
{
	char *base = a_tree("a16-vfio");
	struct dom d[] = { { .name = "fb" }, { .name = "fc" } };

	d[0].orig = a_define("fb", NULL);
	d[1].orig = a_define("fc", NULL);
	matrix(base, d, 2, (const char *const[]){ "assign", "fb", "fc", NULL }, false);
}

Test(assign_faults, assign_mdev_fault_and_kill_at_every_step)
{
	char *base = a_tree("a40-mdev-vf");
	struct dom d[] = { { .name = "fm" } };

	d[0].orig = a_define("fm", NULL);
	matrix(base, d, 1, (const char *const[]){ "assign", "fm", NULL }, false);
}

/* unassign --all of a domain holding two: the matrix's "before" is the tree and domain after
 * two assigns */
Test(assign_faults, unassign_fault_and_kill_at_every_step)
{
	char *base = a_tree("a16-vfio");
	struct dom d[] = { { .name = "fu" } };
	struct run r;

	a_define("fu", NULL);
	cr_assert_eq(a_gp(&r, NULL, base, "assign", "fu", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(a_gp(&r, NULL, base, "assign", "fu", "--allow-multiple", NULL), 0, "%s",
		     r.err);
	run_free(&r);
	d[0].orig = a_xml("fu");
	matrix(base, d, 1, (const char *const[]){ "unassign", "fu", "--all", NULL }, true);
}
