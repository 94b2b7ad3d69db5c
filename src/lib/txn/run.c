/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The transaction: journal, converge every change to its want, verify, and on any failure
 * converge every change back to the journaled state (txn.h says why that is the one unwind).
 * Kind-agnostic: what a state is, how it is read, diffed and recorded is the kind's.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/kernel.h"
#include "host/procfd.h"
#include "txn/journal.h"

struct gp_change *gp_change_new(const struct gp_kind *kind)
{
	struct gp_change *c = calloc(1, sizeof(*c));

	if (c)
		c->kind = kind;
	return c;
}

void gp_change_free(struct gp_change *c)
{
	if (!c)
		return;
	if (c->orig)
		c->kind->free_state(c->orig);
	if (c->want)
		c->kind->free_state(c->want);
	if (c->data && c->kind->free_data)
		c->kind->free_data(c->data);
	gp_plan_clear(&c->plan);
	free(c);
}

const struct gp_plan *gp_change_plan(const struct gp_change *c)
{
	return &c->plan;
}

int gp_txn_add(struct gp_txn *txn, struct gp_change *c)
{
	struct gp_change **slot = GP_PUSH(txn->v, txn->n);

	if (!slot) {
		gp_change_free(c);
		return -ENOMEM;
	}
	*slot = c;
	return 0;
}

void gp_txn_clear(struct gp_txn *txn)
{
	size_t i;

	for (i = 0; i < txn->n; i++)
		gp_change_free(txn->v[i]);
	free(txn->v);
	memset(txn, 0, sizeof(*txn));
}

bool gp_txn_empty(const struct gp_txn *txn)
{
	size_t i;

	for (i = 0; i < txn->n; i++)
		if (txn->v[i]->plan.n)
			return false;
	return true;
}

struct run {
	struct gp_ctx *ctx;
	struct gp_journal *j;
	char stuck_path[192]; /* a copy: the plan it came from is gone by the time it is kept */
	int stuck;
};

/* Runs a plan; a rescan step (the host changed shape: NVIDIA VFs just enabled) asks @c's
 * kind for the rest. */
static int run_plan(struct run *run, const struct gp_plan *plan, struct gp_change *c)
{
	size_t i;
	int r = 0;

	for (i = 0; i < plan->n && r == 0; i++) {
		const struct gp_step *s = &plan->steps[i];

		r = gp_step_run(run->ctx, s, &run->stuck);
		if (r == -ETIMEDOUT && run->stuck) {
			snprintf(run->stuck_path, sizeof(run->stuck_path), "%s", s->path);
			return GP_APPLY_STUCK;
		}
		if (r == 0 && s->op == GP_STEP_RESCAN && c && c->kind->refine) {
			struct gp_plan rest = { 0 };

			r = c->kind->refine(run->ctx, c, &rest);
			if (r == 0)
				r = run_plan(run, &rest, NULL);
			gp_plan_clear(&rest);
		}
	}
	return r;
}

/*
 * Takes one change from whatever state the host is in now to its want (@forward) or to its
 * journaled state, then checks it got there with a fresh read.
 */
static int converge(struct run *run, struct gp_change *c, bool forward)
{
	const struct gp_kind *k = c->kind;
	const void *want = forward ? c->want : c->orig;
	struct gp_plan plan = { 0 };
	void *cur = NULL;
	int r;

	r = k->read(run->ctx, want, &cur);
	if (r == 0 && k->equal(cur, want)) {
		k->free_state(cur);
		return 0;
	}
	if (r == 0)
		r = k->diff(cur, want, &plan);
	if (cur)
		k->free_state(cur);
	cur = NULL;
	if (r == 0)
		r = run_plan(run, &plan, forward ? c : NULL);
	gp_plan_clear(&plan);
	if (r < 0)
		return r;
	want = forward ? c->want : c->orig; /* a rescan may have refined the target */
	r = k->read(run->ctx, want, &cur);
	if (r == 0 && !k->equal(cur, want)) {
		ERR(run->ctx, "%s did not reach the state planned for it", k->name(want));
		r = -EIO;
	}
	if (cur)
		k->free_state(cur);
	return r;
}

/* Back to the journaled states, last change first; every change is tried. */
static int unwind(struct run *run, size_t n)
{
	size_t i;
	int r, first = 0;

	for (i = n; i-- > 0;) {
		r = converge(run, run->j->txn.v[i], false);
		if (r == GP_APPLY_STUCK)
			return r;
		if (r < 0 && !first)
			first = r;
	}
	return first;
}

static int keep_stuck(struct run *run)
{
	run->j->stuck_pid = run->stuck;
	run->j->stuck_start = gp_proc_start_time(run->stuck);
	snprintf(run->j->stuck_path, sizeof(run->j->stuck_path), "%s",
		 *run->stuck_path ? run->stuck_path : "?");
	gp_journal_write(run->ctx, run->j);
	return GP_APPLY_STUCK;
}

int gp_txn_run(struct gp_ctx *ctx, struct gp_txn *txn, const char *cmd)
{
	/* the journal borrows the caller's changes: never cleared here */
	struct gp_journal j = { .pid = getpid(), .command = (char *)cmd, .txn = *txn };
	struct run run = { .ctx = ctx, .j = &j };
	size_t i;
	int r, u;

	/* an idempotent command writes nothing at all, not even a journal */
	if (gp_txn_empty(txn))
		return 0;
	j.start = gp_proc_start_time(j.pid);
	r = gp_journal_write(ctx, &j);
	if (r > 0)
		r = 0;
	if (r < 0) {
		ERR(ctx, "cannot write the journal under run/gpupart: %s; nothing changed",
		    strerror(-r));
		return r;
	}
	/* in order: a later change (the layout) is made only once the earlier ones are
	 * verified, while the journal still stands */
	for (i = 0; i < txn->n && r == 0; i++)
		r = converge(&run, txn->v[i], true);
	if (r == GP_APPLY_STUCK)
		return keep_stuck(&run);
	if (r < 0) {
		WARN(ctx, "undoing the change: putting every device back as it was");
		u = unwind(&run, txn->n);
		if (u == GP_APPLY_STUCK)
			return keep_stuck(&run);
		if (u < 0) {
			ERR(ctx, "could not undo everything; the journal stays for `gpupart repair`");
			return r;
		}
	}
	u = gp_journal_remove(ctx);
	if (u < 0) {
		/* left in place, the next mutating command would undo a finished change */
		ERR(ctx, "the change is done but its journal (run/gpupart/journal) cannot be "
			 "removed: %s; remove it by hand before the next gpupart command",
		    strerror(-u));
		if (r == 0)
			r = u;
	}
	return r;
}

/*
 * The journal, once nothing can still be writing behind it: GP_APPLY_STUCK while a write child
 * (of this or of a dead gpupart) is in the kernel, 0 when there is no journal, 1 and *j when
 * there is a sound one, -errno (damaged, unreadable: logged).
 */
static int journal_open(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
			struct gp_journal *j)
{
	char what[512];
	int r;

	/* first, whatever the journal says: a write child of a tool that died before its
	 * timeout left no stuck record, and its write lands when the device's user lets go */
	r = gp_kernel_inflight(ctx, what, sizeof(what));
	if (r == 1) {
		ERR(ctx, "a write is still blocked in the kernel (%s): not touching anything "
			 "until it returns; run `gpupart repair` again then",
		    what);
		return GP_APPLY_STUCK;
	}
	if (r < 0) {
		ERR(ctx, "cannot tell whether a kernel write is in flight (run/gpupart/writing: "
			 "%s): not touching anything",
		    strerror(-r));
		return r;
	}
	r = gp_journal_read(ctx, kinds, j);
	if (r <= 0)
		return r;
	/* the stuck record names the child by pid and start time: a reused pid is not it */
	if (j->stuck_pid > 0 && j->stuck_start &&
	    gp_proc_start_time(j->stuck_pid) == j->stuck_start) {
		ERR(ctx, "a write to /%s is still blocked in the kernel (pid %d): not touching "
			 "anything until it returns",
		    j->stuck_path, j->stuck_pid);
		gp_journal_clear(j);
		return GP_APPLY_STUCK;
	}
	return 1;
}

int gp_txn_recover(struct gp_ctx *ctx, const struct gp_kind *const *kinds)
{
	struct gp_journal j;
	struct run run = { .ctx = ctx, .j = &j };
	int r;

	r = journal_open(ctx, kinds, &j);
	if (r <= 0)
		return r;
	WARN(ctx, "found the journal of an unfinished change (pid %d): undoing it", j.pid);
	j.stuck_pid = 0;
	r = unwind(&run, j.txn.n);
	if (r == GP_APPLY_STUCK)
		keep_stuck(&run);
	else if (r == 0)
		r = gp_journal_remove(ctx) < 0 ? -EIO : 1;
	else
		ERR(ctx, "could not undo the unfinished change; the journal stays");
	gp_journal_clear(&j);
	return r;
}

int gp_txn_undo_plan(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
		     struct gp_txn *out)
{
	struct gp_journal j;
	size_t i;
	int r;

	memset(out, 0, sizeof(*out));
	r = journal_open(ctx, kinds, &j);
	if (r <= 0)
		return r;
	/* without the host lock (a dry run) the journal may be a change still running, not a
	 * dead one; under the lock its writer cannot be running */
	if (ctx->lock_fd < 0 && j.pid > 0 && j.start &&
	    gp_proc_start_time(j.pid) == j.start) {
		ERR(ctx, "the journal belongs to a change still in progress (pid %d): nothing to "
			 "repair yet",
		    j.pid);
		gp_journal_clear(&j);
		return GP_APPLY_STUCK;
	}
	/* the order unwind() takes: last change first */
	for (i = j.txn.n; r >= 0 && i-- > 0;) {
		struct gp_change *c = j.txn.v[i];
		void *cur = NULL;

		r = c->kind->read(ctx, c->orig, &cur);
		if (r == 0 && !c->kind->equal(cur, c->orig))
			r = c->kind->diff(cur, c->orig, &c->plan);
		if (cur)
			c->kind->free_state(cur);
	}
	if (r < 0) {
		ERR(ctx, "cannot plan the undo: %s", strerror(-r));
		gp_journal_clear(&j);
		return r;
	}
	*out = j.txn;
	memset(&j.txn, 0, sizeof(j.txn));
	gp_journal_clear(&j);
	return 1;
}
