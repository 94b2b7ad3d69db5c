/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transaction is kind-agnostic: a toy kind whose state is a few small files under a
 * scratch root, written through WRITE steps (so through gp_kernel_ops, faked here), goes
 * through the same engine as the GPUs. A fault at every write ends in the original state; a
 * kill at every write ends there after recover; nothing is written when no plan has a step;
 * the unwind runs last change first; and two kinds share one journal and come back from it.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpupart/kernel.h>
#include <gpupart/layout.h>

#include "kinds/layout.h"
#include "txn/journal.h"

/* ---- the toy kind: files toy/NAME holding short values ---- */

#define TOY_MAX 4

struct toy {
	char *root;                /* where read() looks (a copy of the context's root) */
	size_t n;
	char name[TOY_MAX][16];
	char val[TOY_MAX][32];
};

static struct toy *toy_new(const char *root, const char *const *names, const char *const *vals,
			   size_t n)
{
	struct toy *t = calloc(1, sizeof(*t));
	size_t i;

	cr_assert_not_null(t);
	t->root = root ? strdup(root) : NULL;
	t->n = n;
	for (i = 0; i < n; i++) {
		snprintf(t->name[i], sizeof(t->name[i]), "%s", names[i]);
		snprintf(t->val[i], sizeof(t->val[i]), "%s", vals[i]);
	}
	return t;
}

static void toy_free(void *state)
{
	struct toy *t = state;

	if (t)
		free(t->root);
	free(t);
}

static int toy_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	const struct toy *l = like;
	struct toy *t = calloc(1, sizeof(*t));
	char path[600];
	size_t i;

	if (!t)
		return -ENOMEM;
	t->root = strdup(gp_ctx_root(ctx));
	t->n = l->n;
	for (i = 0; i < l->n; i++) {
		FILE *f;

		strcpy(t->name[i], l->name[i]);
		snprintf(path, sizeof(path), "%s/toy/%s", t->root, l->name[i]);
		f = fopen(path, "r");
		if (!f)
			continue; /* absent: "" */
		if (!fgets(t->val[i], sizeof(t->val[i]), f))
			t->val[i][0] = 0;
		fclose(f);
	}
	*cur = t;
	return 0;
}

static bool toy_equal(const void *cur, const void *want)
{
	const struct toy *c = cur, *w = want;
	size_t i;

	for (i = 0; i < w->n; i++)
		if (strcmp(c->val[i], w->val[i]) != 0)
			return false;
	return true;
}

static int toy_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	const struct toy *c = cur, *w = want;
	char path[64];
	size_t i;

	for (i = 0; i < w->n; i++) {
		if (strcmp(c->val[i], w->val[i]) == 0)
			continue;
		snprintf(path, sizeof(path), "toy/%s", w->name[i]);
		if (!gp_plan_add(plan, GP_STEP_WRITE, w->name[i], path, w->val[i]) ||
		    !gp_plan_add(plan, GP_STEP_VERIFY, w->name[i], path, w->val[i]))
			return -ENOMEM;
	}
	return 0;
}

static int toy_encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct toy *t = c->orig;
	size_t i;

	gp_rec_printf(out, "toy %zu", t->n);
	for (i = 0; i < t->n; i++)
		gp_rec_printf(out, "file %s %s", t->name[i], t->val[i]);
	return out->err;
}

static const char *toy_decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			      struct gp_change *c, size_t *bad)
{
	struct toy *t = calloc(1, sizeof(*t));
	int count;
	size_t i;

	(void)before;
	c->orig = t;
	*bad = 0;
	if (!t)
		return "out of memory";
	if (recs[0].n != 2 || gp_rec_int(recs[0].tok[1], TOY_MAX, &count) < 0)
		return "a toy record has a count";
	if ((size_t)count != n - 1)
		return "a toy record with another number of files";
	for (i = 1; i < n; i++) {
		*bad = i;
		if (recs[i].n != 3 || strcmp(recs[i].tok[0], "file") ||
		    strlen(recs[i].tok[1]) >= sizeof(t->name[0]) ||
		    strlen(recs[i].tok[2]) >= sizeof(t->val[0]) || strchr(recs[i].tok[1], '/'))
			return "a bad file record";
		strcpy(t->name[t->n], recs[i].tok[1]);
		strcpy(t->val[t->n], recs[i].tok[2]);
		t->n++;
	}
	return NULL;
}

static const char *toy_name(const void *state)
{
	return ((const struct toy *)state)->name[0];
}

static const struct gp_kind toy_kind = {
	.tag = "toy",
	.read = toy_read,
	.equal = toy_equal,
	.diff = toy_diff,
	.encode = toy_encode,
	.decode = toy_decode,
	.name = toy_name,
	.free_state = toy_free,
};

static const struct gp_kind *const toy_kinds[] = { &toy_kind, &gp_kind_layout, NULL };

/* ---- the fake kernel: writes the file, or fails, or kills its caller, at write k ---- */

enum fault { F_NONE, F_FAIL, F_KILL, F_HANG };

struct fake {
	enum fault mode;
	int at; /* the write (1-based, counted in ROOT/count) the fault hits */
};

static struct fake fake;

static char *at(const char *root, const char *rel)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	return p;
}

/* The op runs in the library's write child, which keeps no memory between writes: the count
 * lives in a file. */
static int next_write(const char *root)
{
	char *p = at(root, "count");
	FILE *f = fopen(p, "r");
	int n = 0;

	if (f) {
		if (fscanf(f, "%d", &n) != 1)
			n = 0;
		fclose(f);
	}
	f = fopen(p, "w");
	if (f) {
		fprintf(f, "%d\n", ++n);
		fclose(f);
	}
	free(p);
	return n;
}

static void log_write(const char *root, const char *path, const char *value, const char *how)
{
	char *p = at(root, "log");
	FILE *f = fopen(p, "a");

	if (f) {
		fprintf(f, "%s=%s%s\n", path, value, how);
		fclose(f);
	}
	free(p);
}

static int fake_write(void *data, struct gp_ctx *ctx, const char *path, const char *value,
		      size_t len)
{
	const struct fake *fk = data;
	const char *root = gp_ctx_root(ctx);
	int n = next_write(root), fd;
	char *p;

	if (fk->mode == F_FAIL && n == fk->at) {
		log_write(root, path, value, " EIO");
		return -EIO;
	}
	if (fk->mode == F_HANG && n == fk->at) {
		struct timespec ts = { 0, 300 * 1000000L };

		nanosleep(&ts, NULL); /* past the context's write timeout: stuck */
	}
	p = at(root, path);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	free(p);
	if (fd < 0)
		return -errno;
	if (write(fd, value, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	close(fd);
	log_write(root, path, value, "");
	if (fk->mode == F_KILL && n == fk->at)
		kill(getppid(), SIGKILL); /* the tool dies; its write has landed */
	return 0;
}

static int fake_exec(void *data, struct gp_ctx *ctx, char *const argv[])
{
	(void)data;
	(void)ctx;
	(void)argv;
	return -ENOENT;
}

static const struct gp_kernel_ops fake_ops = { .write = fake_write, .exec = fake_exec };

/* ---- the scratch root ---- */

static char root[512];

static void scratch(void)
{
	char *p;

	/* the suite's scratch directory (TMPDIR, set by meson), not /tmp */
	snprintf(root, sizeof(root), "%s/gp-txn-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert(mkdtemp(root));
	p = at(root, "toy");
	cr_assert_eq(mkdir(p, 0755), 0);
	free(p);
}

static void scratch_end(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	cr_expect_eq(system(cmd), 0);
}

static void put(const char *name, const char *value)
{
	char *p, rel[64];
	FILE *f;

	snprintf(rel, sizeof(rel), "toy/%s", name);
	p = at(root, rel);
	f = fopen(p, "w");
	cr_assert_not_null(f);
	fputs(value, f);
	fclose(f);
	free(p);
}

static char *slurp_rel(const char *rel)
{
	char *p = at(root, rel), *buf = NULL;
	size_t len = 0;
	FILE *f = fopen(p, "r"), *m;
	int ch;

	free(p);
	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((ch = fgetc(f)) != EOF)
		fputc(ch, m);
	fclose(m);
	fclose(f);
	return buf;
}

static bool exists(const char *rel)
{
	char *p = at(root, rel);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

static void quiet(void *data, enum gp_log_level level, const char *fmt, va_list ap)
{
	(void)data;
	(void)level;
	(void)fmt;
	(void)ap;
}

static struct gp_ctx *new_ctx(void)
{
	struct gp_ctx *ctx;

	cr_assert_eq(gp_ctx_new(root, &ctx), 0);
	gp_ctx_set_log(ctx, quiet, NULL);
	gp_ctx_set_kernel_ops(ctx, &fake_ops, &fake);
	return ctx;
}

static const char *const names_a[] = { "a", "b" }, *const names_c[] = { "c", "d" };
static const char *const old_a[] = { "a0", "b0" }, *const new_a[] = { "a1", "b1" };
static const char *const old_c[] = { "c0", "d0" }, *const new_c[] = { "c1", "d1" };

static void put_orig(void)
{
	put("a", "a0");
	put("b", "b0");
	put("c", "c0");
	put("d", "d0");
}

/* A toy change from what the files hold now to @want. */
static struct gp_change *toy_change(struct gp_ctx *ctx, const char *const *names,
				    const char *const *want)
{
	struct gp_change *c = gp_change_new(&toy_kind);

	cr_assert_not_null(c);
	c->want = toy_new(root, names, want, 2);
	cr_assert_eq(toy_read(ctx, c->want, &c->orig), 0);
	cr_assert_eq(toy_diff(c->orig, c->want, &c->plan), 0);
	return c;
}

static void build(struct gp_ctx *ctx, struct gp_txn *txn)
{
	cr_assert_eq(gp_txn_add(txn, toy_change(ctx, names_a, new_a)), 0);
	cr_assert_eq(gp_txn_add(txn, toy_change(ctx, names_c, new_c)), 0);
}

static void expect_files(const char *a, const char *b, const char *c, const char *d,
			 const char *what)
{
	const char *want[] = { a, b, c, d }, *names[] = { "toy/a", "toy/b", "toy/c", "toy/d" };
	size_t i;

	for (i = 0; i < 4; i++) {
		char *got = slurp_rel(names[i]);

		cr_expect_str_eq(got ? got : "(absent)", want[i], "%s: %s", what, names[i]);
		free(got);
	}
}

static void reset_counts(void)
{
	char *p = at(root, "count");

	unlink(p);
	free(p);
	p = at(root, "log");
	unlink(p);
	free(p);
}

#define N_WRITES 4 /* a, b, c, d forward */

TestSuite(txn, .timeout = 120);

Test(txn, a_fault_at_every_write_ends_in_the_original_state)
{
	int k;

	scratch();
	for (k = 1; k <= N_WRITES + 1; k++) {
		struct gp_ctx *ctx;
		struct gp_txn txn = { 0 };
		int r;

		put_orig();
		reset_counts();
		fake = (struct fake){ F_FAIL, k };
		ctx = new_ctx();
		build(ctx, &txn);
		r = gp_txn_run(ctx, &txn, "toy");
		if (k <= N_WRITES) {
			cr_expect_lt(r, 0, "fault at write %d: %d", k, r);
			expect_files("a0", "b0", "c0", "d0", "after a fault");
		} else {
			cr_expect_eq(r, 0, "no fault: %d", r);
			expect_files("a1", "b1", "c1", "d1", "no fault");
		}
		cr_expect_not(exists("run/gpupart/journal"), "write %d: the journal stays", k);
		gp_txn_clear(&txn);
		gp_ctx_free(ctx);
	}
	scratch_end();
}

Test(txn, a_kill_at_every_write_ends_in_the_original_state_after_recover)
{
	int k;

	scratch();
	for (k = 1; k <= N_WRITES + 1; k++) {
		struct gp_ctx *ctx;
		int status, r, tries;
		pid_t pid;

		put_orig();
		reset_counts();
		fake = (struct fake){ F_KILL, k };
		fflush(NULL);
		pid = fork();
		cr_assert_geq(pid, 0);
		if (pid == 0) {
			struct gp_txn txn = { 0 };

			ctx = new_ctx();
			build(ctx, &txn);
			r = gp_txn_run(ctx, &txn, "toy");
			_exit(r == 0 ? 0 : 1);
		}
		cr_assert_eq(waitpid(pid, &status, 0), pid);
		if (k > N_WRITES) {
			cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0);
			expect_files("a1", "b1", "c1", "d1", "no kill");
			cr_expect_not(exists("run/gpupart/journal"));
			continue;
		}
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
			  "write %d: status %d", k, status);
		cr_assert(exists("run/gpupart/journal"), "write %d: killed, the journal stays", k);
		fake = (struct fake){ F_NONE, 0 };
		ctx = new_ctx();
		/* the write child may still be finishing (it holds the in-flight lock) */
		for (tries = 0; (r = gp_txn_recover(ctx, toy_kinds)) == GP_APPLY_STUCK &&
				tries < 500; tries++)
			usleep(10000);
		cr_expect_eq(r, 1, "write %d: recover %d", k, r);
		expect_files("a0", "b0", "c0", "d0", "after a kill and recover");
		cr_expect_not(exists("run/gpupart/journal"));
		gp_ctx_free(ctx);
	}
	scratch_end();
}

Test(txn, nothing_is_written_when_every_plan_is_empty)
{
	static const char *const now_a[] = { "a0", "b0" };
	struct gp_txn txn = { 0 };
	struct gp_ctx *ctx;

	scratch();
	put_orig();
	fake = (struct fake){ F_NONE, 0 };
	ctx = new_ctx();
	cr_assert_eq(gp_txn_add(&txn, toy_change(ctx, names_a, now_a)), 0);
	cr_expect(gp_txn_empty(&txn));
	cr_expect_eq(gp_txn_run(ctx, &txn, "toy"), 0);
	cr_expect_not(exists("run"), "an idempotent change wrote under run/");
	cr_expect_not(exists("count"), "an idempotent change made a write");
	gp_txn_clear(&txn);
	gp_ctx_free(ctx);
	scratch_end();
}

/* Two changes, the second fails after one of its writes: the second is undone before the
 * first. */
Test(txn, the_unwind_runs_last_change_first)
{
	struct gp_txn txn = { 0 };
	struct gp_ctx *ctx;
	char *log, *c_back, *a_back;

	scratch();
	put_orig();
	fake = (struct fake){ F_FAIL, 4 }; /* a, b, c land; d fails */
	ctx = new_ctx();
	build(ctx, &txn);
	cr_expect_lt(gp_txn_run(ctx, &txn, "toy"), 0);
	expect_files("a0", "b0", "c0", "d0", "after the unwind");
	log = slurp_rel("log");
	cr_assert_not_null(log);
	c_back = strstr(log, "toy/c=c0\n");
	a_back = strstr(log, "toy/a=a0\n");
	cr_assert(c_back && a_back, "%s", log);
	cr_expect_lt(c_back, a_back, "the first change was undone before the second:\n%s", log);
	cr_expect(strstr(log, "toy/a=a1\ntoy/b=b1\ntoy/c=c1\ntoy/d=d1 EIO\n"), "%s", log);
	free(log);
	gp_txn_clear(&txn);
	gp_ctx_free(ctx);
	scratch_end();
}

/* A write that never returns: the journal keeps the child; once it is gone, recover undoes. */
Test(txn, a_stuck_write_keeps_the_journal_until_recover)
{
	struct gp_txn txn = { 0 };
	struct gp_ctx *ctx;
	char *text;
	int r, tries;

	scratch();
	put_orig();
	fake = (struct fake){ F_HANG, 2 };
	ctx = new_ctx();
	gp_ctx_set_write_timeout(ctx, 50);
	build(ctx, &txn);
	cr_expect_eq(gp_txn_run(ctx, &txn, "toy"), GP_APPLY_STUCK);
	text = slurp_rel("run/gpupart/journal");
	cr_assert_not_null(text);
	cr_expect(strstr(text, "\nstuck "), "%s", text);
	cr_expect(strstr(text, " toy/b\nend\n"), "%s", text);
	{
		/* the abandoned child is ours: reaped, it stops being "still blocked" (a zombie
		 * keeps its /proc entry and start time) */
		int pid = 0;

		cr_assert_eq(sscanf(strstr(text, "\nstuck ") + 7, "%d", &pid), 1);
		cr_assert_eq(waitpid(pid, NULL, 0), pid);
	}
	free(text);
	gp_txn_clear(&txn);
	fake = (struct fake){ F_NONE, 0 };
	for (tries = 0; (r = gp_txn_recover(ctx, toy_kinds)) == GP_APPLY_STUCK && tries < 500;
	     tries++)
		usleep(10000);
	cr_expect_eq(r, 1, "recover %d", r);
	expect_files("a0", "b0", "c0", "d0", "after the stuck write and recover");
	gp_ctx_free(ctx);
	scratch_end();
}

/* Two kinds in one journal: encoded, read back as text, decoded by their kinds, equal. */
Test(txn, two_kinds_round_trip_through_one_journal)
{
	struct gp_journal j = { .pid = 31, .start = 41, .command = "toy and layout" }, back;
	struct gp_layout_entry had = { .path = "pci0000:3a/00.0/00.0", .vendor = 0x10de,
				       .device = 0x1eb8, .subsystem_vendor = 0x10de,
				       .subsystem_device = 0x12a2, .count = 4, .series = 'Q',
				       .address = "0000:3b:00.0" };
	struct gp_layout_state *ls;
	struct gp_change *c;
	struct gp_ctx *ctx;
	char why[256] = "", *text;

	scratch();
	put_orig();
	ctx = new_ctx();
	c = gp_change_new(&toy_kind);
	c->orig = toy_new(root, names_a, old_a, 2);
	cr_assert_eq(gp_txn_add(&j.txn, c), 0);
	c = gp_change_new(&toy_kind);
	c->orig = toy_new(root, names_c, old_c, 2);
	cr_assert_eq(gp_txn_add(&j.txn, c), 0);
	c = gp_change_new(&gp_kind_layout);
	c->orig = ls = calloc(1, sizeof(*ls));
	cr_assert_eq(gp_layout_set(&ls->had, &had), 0);
	ls->absent = calloc(1, sizeof(char *));
	ls->absent[0] = strdup("pci0000:00/03.0/00.0");
	ls->n_absent = 1;
	cr_assert_eq(gp_txn_add(&j.txn, c), 0);
	cr_assert_eq(gp_journal_write(ctx, &j), 0);
	text = slurp_rel("run/gpupart/journal");
	cr_assert_not_null(text);
	cr_expect(strstr(text, "\njournal 3\npid 31 41\ncommand toy and layout\ntoy 2\n"
			       "file a a0\nfile b b0\ntoy 2\nfile c c0\nfile d d0\nlayout\nentry "),
		  "%s", text);
	cr_assert_eq(gp_journal_parse(text, strlen(text), toy_kinds, &back, why, sizeof(why)), 0,
		     "%s\n%s", why, text);
	cr_assert_eq(back.txn.n, 3);
	cr_expect_eq(back.txn.v[0]->kind, &toy_kind);
	cr_expect_eq(back.txn.v[2]->kind, &gp_kind_layout);
	cr_expect(toy_equal(back.txn.v[0]->orig, j.txn.v[0]->orig));
	cr_expect(toy_equal(back.txn.v[1]->orig, j.txn.v[1]->orig));
	cr_expect(!toy_equal(back.txn.v[0]->orig, j.txn.v[1]->orig) ||
		  strcmp(old_a[0], old_c[0]) == 0);
	cr_expect(gp_kind_layout.equal(back.txn.v[2]->orig, ls));
	cr_expect(gp_kind_layout.equal(ls, back.txn.v[2]->orig));
	gp_journal_clear(&back);
	/* a kind this reader does not know is damage, never skipped */
	{
		static const struct gp_kind *const only_layout[] = { &gp_kind_layout, NULL };

		cr_expect_eq(gp_journal_parse(text, strlen(text), only_layout, &back, why,
					      sizeof(why)), -EUCLEAN);
		cr_expect(strstr(why, "unknown record"), "%s", why);
	}
	free(text);
	gp_txn_clear(&j.txn);
	gp_ctx_free(ctx);
	scratch_end();
}

/* Steps own their data: a value of any length (hostdev XML, a whole record file), a device
 * copied, both intact after the plan they came from is moved and the source is gone. */
Test(txn, steps_own_values_of_any_length)
{
	struct gp_plan a = { 0 }, b = { 0 };
	char big[4096], dev[64];
	struct gp_step *s;

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	strcpy(dev, "0000:03:00.1");
	s = gp_plan_add(&a, GP_STEP_FILE, dev, "etc/gpupart/partitions.conf", big);
	cr_assert_not_null(s);
	memset(big, 'y', 10);
	strcpy(dev, "gone");
	cr_assert_not_null(gp_plan_add(&b, GP_STEP_WRITE, "x", "sys/x", "1"));
	cr_assert_eq(gp_plan_move(&b, &a), 0);
	cr_expect_eq(a.n, 0);
	cr_assert_eq(b.n, 2);
	cr_expect_eq(strlen(b.steps[1].value), sizeof(big) - 1);
	cr_expect_eq(b.steps[1].value[0], 'x');
	cr_expect_str_eq(b.steps[1].device, "0000:03:00.1");
	cr_expect_str_eq(gp_step_op_str(b.steps[1].op), "file");
	{
		char path[300];

		memset(path, 'p', sizeof(path) - 1);
		path[sizeof(path) - 1] = 0;
		cr_expect_null(gp_plan_add(&b, GP_STEP_WRITE, "x", path, "1"),
			       "a path that does not fit is refused, never cut");
	}
	gp_plan_clear(&a);
	gp_plan_clear(&b);
}

/* The journal's records are shared/record.h's, read strictly: a line that is not in the form
 * gpupart writes is refused with the reader's reason and its line, and a line that would be
 * refused so is never written. */
Test(txn, records_are_read_and_written_in_the_one_record_form)
{
	static const struct {
		const char *text;
		const char *why;
	} bad[] = {
		{ "journal 3\npid 1 1\ntoy 1\nfile  a a0\nend\n", "line 4: an empty field" },
		{ "journal 3\npid 1 1\ntoy 1\nfile a a0 \nend\n", "line 4: a space at the end" },
		{ "journal 3\npid 1 1\ntoy 1\nfile a\ta0\nend\n", "line 4: a control character" },
		{ "journal 3\npid 1 1\n toy 1\nend\n", "line 3: a line that starts with a space" },
		{ "journal 3\npid 1 1\ntoy 1\nfile k=1 k=2\nend\n", "line 4: duplicate key 'k'" },
		{ "journal 3\npid 1 1\ntoy 1\nfile a b c d e f g h i j k l m n o p\nend\n",
		  "line 4: too many fields" },
		{ "journal 3\npid 01 1\ntoy 1\nfile a a0\nend\n", "line 2: bad pid record" },
	};
	struct gp_journal j;
	char why[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = 0;
		cr_expect_eq(gp_journal_parse(bad[i].text, strlen(bad[i].text), toy_kinds, &j, why,
					      sizeof(why)), -EUCLEAN, "#%zu accepted", i);
		cr_expect(strstr(why, bad[i].why), "#%zu: reason '%s' lacks '%s'", i, why,
			  bad[i].why);
	}
	{
		static const char good[] = "journal 3\npid 1 1\ntoy 1\nfile a a0\nend\n";

		cr_assert_eq(gp_journal_parse(good, strlen(good), toy_kinds, &j, why, sizeof(why)),
			     0, "%s", why);
		gp_journal_clear(&j);
	}
	{
		/* a tab: the line would be refused on reading, so it is refused on writing */
		static const char *const names[] = { "a" }, *const vals[] = { "a\tb" };
		struct gp_journal w = { .pid = 1, .start = 1, .command = "x" };
		struct gp_change *c;
		struct gp_ctx *ctx;

		scratch();
		ctx = new_ctx();
		c = gp_change_new(&toy_kind);
		c->orig = toy_new(root, names, vals, 1);
		cr_assert_eq(gp_txn_add(&w.txn, c), 0);
		cr_expect_eq(gp_journal_write(ctx, &w), -EINVAL);
		cr_expect_null(slurp_rel("run/gpupart/journal"), "nothing written");
		gp_txn_clear(&w.txn);
		gp_ctx_free(ctx);
		scratch_end();
	}
}
