/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The layout kind (layout.h): partitions.conf entries as a change. The file's format is
 * conf/layout.c's alone; here the entries a change governs are read, compared, journaled
 * and checked (a journal may only name the paths of GPUs it changed itself: it must not
 * rewrite the partitions of a GPU it did not touch).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "kinds/gpu.h"
#include "kinds/layout.h"

static void state_free(void *state)
{
	struct gp_layout_state *s = state;
	size_t i;

	if (!s)
		return;
	gp_layout_clear(&s->had);
	gp_layout_clear(&s->all);
	for (i = 0; i < s->n_absent; i++)
		free(s->absent[i]);
	free(s->absent);
	free(s);
}

static const struct gp_layout_entry *find(const struct gp_layout *l, const char *path)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].path && strcasecmp(l->v[i].path, path) == 0)
			return &l->v[i];
	return NULL;
}

static int add_absent(struct gp_layout_state *s, const char *path)
{
	char **slot = GP_PUSH(s->absent, s->n_absent);

	if (!slot || !(*slot = strdup(path)))
		return -ENOMEM;
	return 0;
}

/* The governed path @path as the file @all has it. */
static int take(struct gp_layout_state *s, const struct gp_layout *all, const char *path)
{
	const struct gp_layout_entry *e = find(all, path);

	return e ? gp_layout_set(&s->had, e) : add_absent(s, path);
}

static int state_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	const struct gp_layout_state *l = like;
	struct gp_layout_state *s = calloc(1, sizeof(*s));
	size_t i;
	int r;

	*cur = NULL;
	if (!s)
		return -ENOMEM;
	r = gp_layout_read(ctx, &s->all); /* logs what is wrong with the file */
	s->have_all = r == 0;
	for (i = 0; r == 0 && i < l->had.n; i++)
		r = take(s, &s->all, l->had.v[i].path);
	for (i = 0; r == 0 && i < l->n_absent; i++)
		r = take(s, &s->all, l->absent[i]);
	if (r < 0) {
		state_free(s);
		return r;
	}
	*cur = s;
	return 0;
}

static bool entry_same(const struct gp_layout_entry *a, const struct gp_layout_entry *b)
{
	return strcasecmp(a->path, b->path) == 0 && a->vendor == b->vendor &&
	       a->device == b->device && a->subsystem_vendor == b->subsystem_vendor &&
	       a->subsystem_device == b->subsystem_device && a->count == b->count &&
	       toupper((unsigned char)a->series) == toupper((unsigned char)b->series) &&
	       strcasecmp(a->address, b->address) == 0;
}

/* Every path @want governs is in @cur as @want has it. */
static bool state_equal(const void *cur, const void *want)
{
	const struct gp_layout_state *c = cur, *w = want;
	const struct gp_layout_entry *e;
	size_t i;

	for (i = 0; i < w->had.n; i++)
		if (!(e = find(&c->had, w->had.v[i].path)) || !entry_same(e, &w->had.v[i]))
			return false;
	for (i = 0; i < w->n_absent; i++)
		if (find(&c->had, w->absent[i]))
			return false;
	return true;
}

/* One step: the whole file as it is now with @want's paths as @want has them, when that
 * differs from the file. */
static int state_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	const struct gp_layout_state *c = cur, *w = want;
	struct gp_layout l = { 0 };
	char *before = NULL, *after = NULL, path[192];
	size_t i;
	int r = 0;

	if (!c->have_all)
		return -EINVAL; /* only a state read from the host holds the file */
	for (i = 0; r == 0 && i < c->all.n; i++)
		r = gp_layout_set(&l, &c->all.v[i]);
	for (i = 0; r == 0 && i < w->had.n; i++)
		r = gp_layout_set(&l, &w->had.v[i]);
	for (i = 0; r == 0 && i < w->n_absent; i++)
		gp_layout_unset(&l, w->absent[i]);
	if (r == 0) {
		before = gp_layout_format(&c->all);
		after = gp_layout_format(&l);
		if (!before || !after)
			r = -ENOMEM;
	}
	if (r == 0 && strcmp(before, after) != 0) {
		r = gp_hostfs_path(GP_HP_CONFIG_FILE, GP_LAYOUT_FILE, path, sizeof(path));
		if (r == 0 && !gp_plan_add(plan, GP_STEP_FILE, GP_LAYOUT_FILE, path, after))
			r = -ENOMEM;
	}
	free(before);
	free(after);
	gp_layout_clear(&l);
	return r;
}

static const char *state_name(const void *state)
{
	(void)state;
	return GP_LAYOUT_FILE;
}

/* ---- journal records ---- */

/* One partitions.conf entry as the layout writes it (its line, without the newline). */
static char *entry_line(const struct gp_layout_entry *e)
{
	struct gp_layout one = { .v = (struct gp_layout_entry *)e, .n = 1 };
	char *text = gp_layout_format(&one), *line = NULL, *p, *save = NULL;

	if (!text)
		return NULL;
	for (p = strtok_r(text, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		if (*p != '#') {
			line = strdup(p);
			break;
		}
	free(text);
	return line;
}

static int encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct gp_layout_state *s = c->orig;
	size_t i;

	gp_rec_printf(out, "layout");
	for (i = 0; i < s->had.n; i++) {
		char *line = entry_line(&s->had.v[i]);

		if (!line)
			return out->err = -ENOMEM;
		gp_rec_printf(out, "entry %s", line);
		free(line);
	}
	for (i = 0; i < s->n_absent; i++)
		gp_rec_printf(out, "entry %s -", s->absent[i]);
	return out->err;
}

static bool governed(const struct gp_layout_state *s, const char *path)
{
	size_t i;

	if (find(&s->had, path))
		return true;
	for (i = 0; i < s->n_absent; i++)
		if (strcasecmp(s->absent[i], path) == 0)
			return true;
	return false;
}

/* "PATH -" (no entry before the change) or "ENTRY" (partitions.conf's line). */
static const char *parse_entry(struct gp_layout_state *s, const char *rest)
{
	struct gp_layout one = { 0 };
	const char *sp = strchr(rest, ' ');
	char err[128], *text;
	const char *why = NULL;
	bool absent = sp && strcmp(sp, " -") == 0;
	int r;

	/* an absent path follows the layout's own rules: parse a dummy entry with it */
	if (absent)
		r = asprintf(&text, "%.*s id=0000:0000 subsystem=0000:0000 count=0\n",
			     (int)(sp - rest), rest);
	else
		r = asprintf(&text, "%s\n", rest);
	if (r < 0)
		return "out of memory";
	if (gp_layout_parse(text, &one, err, sizeof(err)) < 0 || one.n != 1)
		why = absent ? "bad layout path" :
			       "a layout record that is not a partitions.conf entry";
	free(text);
	if (!why && governed(s, one.v[0].path))
		why = "a layout path recorded twice";
	if (!why) {
		one.v[0].line = 0;
		if ((absent ? add_absent(s, one.v[0].path) : gp_layout_set(&s->had, &one.v[0])) < 0)
			why = "out of memory";
	}
	gp_layout_clear(&one);
	return why;
}

static const char *decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			  struct gp_change *c, size_t *bad)
{
	struct gp_layout_state *s = calloc(1, sizeof(*s));
	const char *why = NULL;
	size_t i;

	c->orig = s;
	*bad = 0;
	if (!s)
		return "out of memory";
	if (recs[0].n != 1)
		return "a layout record has no fields (its entries follow)";
	for (i = 0; i < before->n; i++)
		if (before->v[i]->kind == &gp_kind_layout)
			return "a second layout record";
	if (n == 1)
		return "a layout record without entries";
	for (i = 1; !why && i < n; i++) {
		*bad = i;
		if (strcmp(recs[i].tok[0], "entry") != 0 || recs[i].n < 2)
			why = "an unknown record";
		else
			why = parse_entry(s, recs[i].line + strlen("entry "));
	}
	return why;
}

/* Paths the journal's own GPU changes have (their check found them on the host). */
static bool path_of_ours(const struct gp_txn *txn, const char *path)
{
	size_t i;

	for (i = 0; i < txn->n; i++) {
		const struct gp_gpu_change_data *d;

		if (txn->v[i]->kind != &gp_kind_gpu)
			continue;
		d = gp_gpu_change_data(txn->v[i]);
		if (d && d->path_id[0] && strcasecmp(d->path_id, path) == 0)
			return true;
	}
	return false;
}

static int check(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c, char *why,
		 size_t why_len)
{
	const struct gp_layout_state *s = c->orig;
	size_t i;

	(void)ctx;
	for (i = 0; i < s->had.n; i++)
		if (!path_of_ours(txn, s->had.v[i].path)) {
			snprintf(why, why_len, "layout %s: not the path of a GPU the journal changed",
				 s->had.v[i].path);
			return -EUCLEAN;
		}
	for (i = 0; i < s->n_absent; i++)
		if (!path_of_ours(txn, s->absent[i])) {
			snprintf(why, why_len, "layout %s: not the path of a GPU the journal changed",
				 s->absent[i]);
			return -EUCLEAN;
		}
	return 0;
}

const struct gp_kind gp_kind_layout = {
	.tag = "layout",
	.flags = GP_KIND_QUIET,
	.read = state_read,
	.equal = state_equal,
	.diff = state_diff,
	.encode = encode,
	.decode = decode,
	.check = check,
	.name = state_name,
	.free_state = state_free,
};

int gp_layout_change_new(struct gp_ctx *ctx, const struct gp_layout_entry *e, size_t n,
			 struct gp_change **out)
{
	struct gp_change *c = gp_change_new(&gp_kind_layout);
	struct gp_layout_state *want;
	size_t i;
	int r = 0;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->want = want = calloc(1, sizeof(*want));
	if (!want)
		r = -ENOMEM;
	for (i = 0; r == 0 && i < n; i++)
		r = gp_layout_set(&want->had, &e[i]);
	if (r == 0)
		r = state_read(ctx, want, &c->orig);
	if (r == 0)
		r = state_diff(c->orig, want, &c->plan);
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	*out = c;
	return 0;
}
