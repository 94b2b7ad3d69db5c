/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The runner: journal, apply, verify, and unwind on failure. Every step either proves itself
 * (waits and verifies read the kernel's answer back) or the whole change is undone by planning
 * from the state the host is in now back to the journaled one.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <gpupart/layout.h>
#include <gpupart/plan.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "txn/journal.h"

#define VERIFY_MS 500 /* how long a binding may take to show (Incus waits 10 x 50 ms) */
#define POLL_MS 10

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Entries of dir matching the last component of path (a glob). */
static int count_matches(struct gp_ctx *ctx, const char *path)
{
	char dir[192], *slash;
	struct dirent *de;
	const char *pat;
	int dfd, n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	pat = slash + 1;
	dfd = gp_hostfs_open_dir_at(gp_hostfs_root_fd(ctx), dir);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	d = gp_hostfs_opendir_at(dfd, NULL);
	while (d && (de = readdir(d)))
		if (fnmatch(pat, de->d_name, 0) == 0)
			n++;
	if (d)
		closedir(d);
	close(dfd);
	return n;
}

static int wait_count(struct gp_ctx *ctx, const struct gp_step *s)
{
	int want = atoi(s->value), waited = 0, n;

	for (;;) {
		n = count_matches(ctx, s->path);
		if (n == want)
			return 0;
		if (waited >= ctx->write_timeout_ms) {
			ERR(ctx, "waited %d ms for /%s to number %d, found %d", waited, s->path,
			    want, n);
			return -EIO; /* not -ETIMEDOUT: nothing is stuck, the kernel said no */
		}
		pause_ms(POLL_MS);
		waited += POLL_MS;
	}
}

/* What path says now: a link's last component, an attribute's text, "" when absent. */
static int read_back(struct gp_ctx *ctx, const char *path, char *buf, size_t len)
{
	int rootfd = gp_hostfs_root_fd(ctx), r;

	r = gp_hostfs_link_base_at(rootfd, path, buf, len);
	if (r >= 0)
		return 0;
	if (r == -ENOENT) {
		buf[0] = 0;
		return 0;
	}
	r = gp_hostfs_read_at(rootfd, path, buf, len);
	return r < 0 ? r : 0;
}

static int verify(struct gp_ctx *ctx, const struct gp_step *s)
{
	char got[128] = "";
	int waited = 0, r;

	for (;;) {
		r = read_back(ctx, s->path, got, sizeof(got));
		if (r == 0 && strcmp(got, s->value) == 0)
			return 0;
		if (waited >= VERIFY_MS)
			break;
		pause_ms(POLL_MS);
		waited += POLL_MS;
	}
	ERR(ctx, "/%s reads '%s' after the change, not '%s'", s->path, r < 0 ? strerror(-r) : got,
	    s->value);
	return -EIO;
}

static int exec_step(struct gp_ctx *ctx, const struct gp_step *s, int *stuck)
{
	char prog[200], args[96], *argv[8], *save = NULL, *t;
	int dfd, r, n = 0;

	dfd = gp_hostfs_root_fd(ctx);
	if (gp_hostfs_exists_at(dfd, s->path) != 1) {
		ERR(ctx, "/%s is not installed, and the nvidia driver cannot enable VFs through "
			 "sriov_numvfs (it has no sriov_configure): install NVIDIA's vGPU host driver "
			 "package, which ships it",
		    s->path);
		return -ENOENT;
	}
	snprintf(prog, sizeof(prog), "/%s", s->path);
	snprintf(args, sizeof(args), "%s", s->value);
	argv[n++] = prog;
	for (t = strtok_r(args, " ", &save); t && n < 7; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	r = gp_kernel_exec(ctx, argv, stuck);
	if (r > 0) {
		ERR(ctx, "%s %s exited with status %d", prog, s->value, r);
		return -EIO;
	}
	if (r < 0 && r != -ETIMEDOUT)
		ERR(ctx, "cannot run %s: %s", prog, strerror(-r));
	return r;
}

static int run_step(struct gp_ctx *ctx, const struct gp_step *s, int *stuck)
{
	int r;

	*stuck = 0;
	switch (s->op) {
	case GP_STEP_WRITE:
		r = gp_kernel_write(ctx, s->path, s->value, stuck);
		if (r == -ETIMEDOUT)
			ERR(ctx, "writing '%s' to /%s did not return in %d ms: %s is stuck in the "
				 "kernel (pid %d still waits); nothing else will be changed",
			    s->value, s->path, ctx->write_timeout_ms, s->device, *stuck);
		else if (r < 0)
			ERR(ctx, "writing '%s' to /%s failed: %s", strcmp(s->value, "\n") ? s->value :
				 "\\n", s->path, strerror(-r));
		return r;
	case GP_STEP_EXEC:
		return exec_step(ctx, s, stuck);
	case GP_STEP_WAIT:
		return wait_count(ctx, s);
	case GP_STEP_VERIFY:
		return verify(ctx, s);
	case GP_STEP_RESCAN:
		return 0;
	}
	return -EINVAL;
}

struct run {
	struct gp_ctx *ctx;
	struct gp_journal *j;
	char stuck_path[192]; /* a copy: the plan it came from is gone by the time it is kept */
	int stuck;
};

static int replan(struct gp_ctx *ctx, struct gp_change *c, struct gp_plan *plan);

/* Runs a plan; a rescan step (NVIDIA VFs just enabled) plans the rest for @c. */
static int run_plan(struct run *run, const struct gp_plan *plan, struct gp_change *c)
{
	size_t i;
	int r = 0;

	for (i = 0; i < plan->n && r == 0; i++) {
		const struct gp_step *s = &plan->steps[i];

		r = run_step(run->ctx, s, &run->stuck);
		if (r == -ETIMEDOUT && run->stuck) {
			snprintf(run->stuck_path, sizeof(run->stuck_path), "%s", s->path);
			return GP_APPLY_STUCK;
		}
		if (r == 0 && s->op == GP_STEP_RESCAN && c) {
			struct gp_plan rest = { 0 };

			r = replan(run->ctx, c, &rest);
			if (r == 0)
				r = run_plan(run, &rest, NULL);
			gp_plan_clear(&rest);
		}
	}
	return r;
}

static int replan(struct gp_ctx *ctx, struct gp_change *c, struct gp_plan *plan)
{
	struct gp_gpu_state cur = { 0 }, want = { 0 };
	struct gp_pci_addr a;
	struct gp_gpu_view view = { 0 };
	struct gp_host *host = NULL;
	struct gp_device *dev;
	int r;

	r = gp_pci_addr_parse(c->orig.address, &a);
	if (r == 0)
		r = gp_host_scan(ctx, 0, &a, 1, &host);
	if (r < 0)
		return r;
	dev = gp_host_find(host, &a);
	r = dev ? gp_gpu_view_build(host, dev, c->series, &view) : -ENODEV;
	if (r == 0)
		r = gp_gpu_state_read(ctx, c->orig.address, c->want.backend, &cur);
	if (r == 0) {
		r = gp_gpu_state_target(host, &view, &cur, c->count, &want);
		if (r == -ERANGE)
			ERR(ctx, "%s: with its VFs enabled, the driver offers no %c-series type for "
				 "%d partitions",
			    c->orig.address, view.series ? view.series : '?', c->count);
		else if (r == -EAGAIN)
			r = -EIO;
	}
	if (r == 0)
		r = gp_plan_diff(&cur, &want, plan);
	if (r == 0) {
		gp_gpu_state_clear(&c->want);
		c->want = want;
		memset(&want, 0, sizeof(want));
	}
	gp_gpu_state_clear(&want);
	gp_gpu_state_clear(&cur);
	gp_gpu_view_clear(&view);
	gp_host_free(host);
	return r;
}

/* Takes one GPU from whatever state it is in now to @want, then checks it got there. */
static int converge(struct run *run, const struct gp_gpu_state *want, struct gp_change *c)
{
	struct gp_gpu_state cur = { 0 };
	struct gp_plan plan = { 0 };
	int r;

	r = gp_gpu_state_read(run->ctx, want->address, want->backend, &cur);
	if (r == 0 && gp_gpu_state_equal(&cur, want)) {
		gp_gpu_state_clear(&cur);
		return 0;
	}
	if (r == 0)
		r = gp_plan_diff(&cur, want, &plan);
	gp_gpu_state_clear(&cur);
	if (r == 0)
		r = run_plan(run, &plan, c);
	gp_plan_clear(&plan);
	if (r < 0)
		return r;
	want = c ? &c->want : want; /* a rescan may have refined the target */
	r = gp_gpu_state_read(run->ctx, want->address, want->backend, &cur);
	if (r == 0 && !gp_gpu_state_equal(&cur, want)) {
		ERR(run->ctx, "%s did not reach the state planned for it", want->address);
		r = -EIO;
	}
	gp_gpu_state_clear(&cur);
	return r;
}

/* Back to the journaled states, last GPU first; every GPU is tried. */
static int unwind(struct run *run)
{
	size_t i;
	int r, first = 0;

	for (i = run->j->n_gpus; i-- > 0;) {
		r = converge(run, &run->j->gpus[i], NULL);
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

/* partitions.conf with @set applied (record) or the journaled entries put back (undo);
 * written only when that changes it. */
static int layout_update(struct gp_ctx *ctx, const struct gp_journal *j,
			 const struct gp_layout_entry *set, size_t n_set)
{
	struct gp_layout l = { 0 };
	char *before = NULL, *after = NULL;
	size_t i;
	int r;

	r = gp_layout_read(ctx, &l);
	if (r < 0)
		return r;
	before = gp_layout_format(&l);
	for (i = 0; r == 0 && i < n_set; i++)
		r = gp_layout_set(&l, &set[i]);
	for (i = 0; r == 0 && j && i < j->layout_had.n; i++)
		r = gp_layout_set(&l, &j->layout_had.v[i]);
	for (i = 0; r == 0 && j && i < j->n_layout_absent; i++)
		gp_layout_unset(&l, j->layout_absent[i]);
	if (r == 0)
		after = gp_layout_format(&l);
	if (r == 0 && (!before || !after))
		r = -ENOMEM;
	if (r == 0 && strcmp(before, after) != 0)
		r = gp_layout_write(ctx, &l);
	free(before);
	free(after);
	gp_layout_clear(&l);
	return r;
}

/* The entries @record replaces, as they are before the change: what an undo puts back. */
static int journal_layout(struct gp_ctx *ctx, struct gp_journal *j,
			  const struct gp_layout_entry *record, size_t n_record)
{
	struct gp_layout now = { 0 };
	size_t i, k;
	int r;

	r = gp_layout_read(ctx, &now);
	if (r < 0)
		return r;
	j->layout = true;
	for (i = 0; r == 0 && i < n_record; i++) {
		char **slot;

		for (k = 0; k < now.n; k++)
			if (strcmp(now.v[k].path, record[i].path) == 0)
				break;
		if (k < now.n) {
			r = gp_layout_set(&j->layout_had, &now.v[k]);
			continue;
		}
		slot = GP_PUSH(j->layout_absent, j->n_layout_absent);
		if (!slot || !(*slot = strdup(record[i].path)))
			r = -ENOMEM;
	}
	gp_layout_clear(&now);
	return r;
}

/* The journal's own allocations (its GPU states belong to the changes). */
static void journal_release(struct gp_journal *j)
{
	size_t i;

	free(j->gpus);
	free(j->idents);
	gp_layout_clear(&j->layout_had);
	for (i = 0; i < j->n_layout_absent; i++)
		free(j->layout_absent[i]);
	free(j->layout_absent);
}

int gp_changes_apply(struct gp_ctx *ctx, struct gp_change *changes, size_t n, const char *cmd,
		     const struct gp_layout_entry *record, size_t n_record)
{
	struct gp_journal j = { .pid = getpid(), .command = (char *)cmd };
	struct run run = { .ctx = ctx, .j = &j };
	size_t i;
	int r = 0, u;

	j.start = gp_proc_start_time(j.pid);
	j.gpus = calloc(n ? n : 1, sizeof(*j.gpus));
	j.idents = calloc(n ? n : 1, sizeof(*j.idents));
	if (!j.gpus || !j.idents) {
		journal_release(&j);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++) {
		j.gpus[i] = changes[i].orig; /* shallow: the changes own them */
		j.idents[i] = changes[i].ident;
	}
	j.n_gpus = n;
	if (n_record && (r = journal_layout(ctx, &j, record, n_record)) < 0) {
		ERR(ctx, "cannot read the layout before the change: %s; nothing changed",
		    strerror(-r));
		goto out;
	}
	r = gp_journal_write(ctx, &j);
	if (r > 0)
		r = 0;
	if (r < 0) {
		ERR(ctx, "cannot write the journal under run/gpupart: %s; nothing changed",
		    strerror(-r));
		goto out;
	}
	for (i = 0; i < n && r == 0; i++)
		r = converge(&run, &changes[i].want, &changes[i]);
	if (r == GP_APPLY_STUCK) {
		keep_stuck(&run);
		goto out;
	}
	/* the layout is recorded while the journal still stands: a kill between the two is
	 * undone by repair, host and layout together, never a host whose count is lost */
	if (r == 0 && n_record && (r = layout_update(ctx, NULL, record, n_record)) < 0)
		ERR(ctx, "recording the layout in etc/gpupart/partitions.conf failed: %s",
		    strerror(-r));
	if (r < 0) {
		WARN(ctx, "undoing the change: putting every device back as it was");
		u = unwind(&run);
		if (u == 0 && j.layout)
			u = layout_update(ctx, &j, NULL, 0);
		if (u == GP_APPLY_STUCK) {
			r = keep_stuck(&run);
			goto out;
		}
		if (u < 0) {
			ERR(ctx, "could not undo everything; the journal stays for `gpupart repair`");
			goto out;
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
out:
	journal_release(&j);
	return r;
}

/*
 * The journal, once nothing can still be writing behind it: GP_APPLY_STUCK while a write child
 * (of this or of a dead gpupart) is in the kernel, 0 when there is no journal, 1 and *j when
 * there is a sound one, -errno (damaged, unreadable: logged).
 */
static int journal_open(struct gp_ctx *ctx, struct gp_journal *j)
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
	r = gp_journal_read(ctx, j);
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

int gp_journal_recover(struct gp_ctx *ctx)
{
	struct gp_journal j;
	struct run run = { .ctx = ctx, .j = &j };
	int r;

	r = journal_open(ctx, &j);
	if (r <= 0)
		return r;
	WARN(ctx, "found the journal of an unfinished change (pid %d): undoing it", j.pid);
	j.stuck_pid = 0;
	r = unwind(&run);
	if (r == 0 && j.layout && (r = layout_update(ctx, &j, NULL, 0)) < 0)
		ERR(ctx, "cannot put etc/gpupart/partitions.conf back: %s", strerror(-r));
	if (r == GP_APPLY_STUCK)
		keep_stuck(&run);
	else if (r == 0)
		r = gp_journal_remove(ctx) < 0 ? -EIO : 1;
	else
		ERR(ctx, "could not undo the unfinished change; the journal stays");
	gp_journal_clear(&j);
	return r;
}

/* Whether putting the journaled entries back would change partitions.conf. */
static int layout_differs(struct gp_ctx *ctx, const struct gp_journal *j)
{
	struct gp_layout l = { 0 };
	size_t i, k;
	int r = gp_layout_read(ctx, &l), differs = 0;

	if (r < 0)
		return r;
	for (i = 0; !differs && i < j->layout_had.n; i++) {
		const struct gp_layout_entry *e = &j->layout_had.v[i];

		for (k = 0; k < l.n && strcmp(l.v[k].path, e->path) != 0; k++)
			;
		differs = k == l.n || l.v[k].count != e->count || l.v[k].series != e->series ||
			  l.v[k].vendor != e->vendor || l.v[k].device != e->device ||
			  l.v[k].subsystem_vendor != e->subsystem_vendor ||
			  l.v[k].subsystem_device != e->subsystem_device;
	}
	for (i = 0; !differs && i < j->n_layout_absent; i++)
		for (k = 0; k < l.n; k++)
			if (strcmp(l.v[k].path, j->layout_absent[i]) == 0)
				differs = 1;
	gp_layout_clear(&l);
	return differs;
}

int gp_journal_plan(struct gp_ctx *ctx, struct gp_plan *plan, bool *layout)
{
	struct gp_journal j;
	size_t i;
	int r;

	*layout = false;
	r = journal_open(ctx, &j);
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
	/* the order unwind() takes: last GPU first */
	for (i = j.n_gpus; r >= 0 && i-- > 0;) {
		struct gp_gpu_state cur = { 0 };

		r = gp_gpu_state_read(ctx, j.gpus[i].address, j.gpus[i].backend, &cur);
		if (r == 0 && !gp_gpu_state_equal(&cur, &j.gpus[i]))
			r = gp_plan_diff(&cur, &j.gpus[i], plan);
		gp_gpu_state_clear(&cur);
	}
	if (r < 0)
		ERR(ctx, "cannot plan the undo: %s", strerror(-r));
	if (r >= 0 && j.layout) {
		r = layout_differs(ctx, &j);
		*layout = r > 0;
		if (r < 0)
			ERR(ctx, "cannot read etc/gpupart/partitions.conf: %s", strerror(-r));
	}
	gp_journal_clear(&j);
	return r < 0 ? r : 1;
}
