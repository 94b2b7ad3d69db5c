/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dda-record kind (kinds/dda-record.h). The file's format is conf/dismounted.c's; here it
 * is only text to put back, as the catalogue kind keeps its files.
 */
#include <errno.h>
#include <stdio.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "kinds/dda-record.h"

#define MAX_BYTES (1 << 20) /* a record of every function a host can have, many times over */

struct dda_record_state {
	char *text; /* NULL: no file */
	size_t len;
};

static char path[96];

static const char *file_path(void)
{
	if (!path[0] && gp_hostfs_path(GP_HP_CONFIG_FILE, GP_DISMOUNTED_FILE, path, sizeof(path)) < 0)
		path[0] = 0;
	return path;
}

static void state_free(void *state)
{
	struct dda_record_state *s = state;

	if (s)
		free(s->text);
	free(s);
}

static int state_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	struct dda_record_state *s = calloc(1, sizeof(*s));
	ssize_t n;

	(void)like;
	*cur = NULL;
	if (!s)
		return -ENOMEM;
	n = gp_hostfs_read_bounded(ctx, GP_HP_CONFIG_FILE, GP_DISMOUNTED_FILE, MAX_BYTES, &s->text);
	if (n < 0 && n != -ENOENT) {
		ERR(ctx, "/%s: %s", file_path(), strerror((int)-n));
		state_free(s);
		return (int)n;
	}
	s->len = n < 0 ? 0 : (size_t)n;
	*cur = s;
	return 0;
}

static bool state_equal(const void *cur, const void *want)
{
	const struct dda_record_state *a = cur, *b = want;

	return gp_rec_file_equal(a->text, a->len, b->text, b->len);
}

/* One file step: the text, or "" to remove the file (txn/step.c). */
static int state_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	const struct dda_record_state *w = want;

	if (state_equal(cur, want))
		return 0;
	if (w->text && strlen(w->text) != w->len)
		return -EINVAL; /* a NUL in it: a step's value cannot hold that */
	if (!file_path()[0])
		return -ENAMETOOLONG;
	return gp_plan_add(plan, GP_STEP_FILE, GP_DISMOUNTED_FILE, file_path(),
			   w->text ? w->text : "") ? 0 : -ENOMEM;
}

static const char *state_name(const void *state)
{
	(void)state;
	return file_path();
}

static int encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct dda_record_state *s = c->orig;

	gp_rec_printf(out, "ddarecord%s", s->text ? "" : " -");
	if (s->text && s->len)
		gp_rec_put_hex(out, s->text, s->len);
	return out->err;
}

static const char *decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			  struct gp_change *c, size_t *bad)
{
	struct dda_record_state *s;
	bool absent = recs[0].n == 2 && !strcmp(recs[0].tok[1], "-");
	size_t i;

	*bad = 0;
	if (recs[0].n != 1 && !absent)
		return "a ddarecord record with fields";
	for (i = 0; i < before->n; i++)
		if (before->v[i]->kind == &gp_kind_dda_record)
			return "the dismounted record journaled twice";
	c->orig = s = calloc(1, sizeof(*s));
	if (!s)
		return "out of memory";
	return gp_rec_file_decode(recs, n, absent, MAX_BYTES, &s->text, &s->len, bad);
}


const struct gp_kind gp_kind_dda_record = {
	.tag = "ddarecord",
	.flags = GP_KIND_QUIET,
	.read = state_read,
	.equal = state_equal,
	.diff = state_diff,
	.encode = encode,
	.decode = decode,
	/* the path is the kind's own, never the journal's: what the file held comes back as it
	 * was (mount and apply validate it when they read it) */
	.check = gp_kind_check_nothing,
	.name = state_name,
	.free_state = state_free,
};

int gp_dda_record_change_new(struct gp_ctx *ctx, const struct gp_dda_record *want,
			     struct gp_change **out)
{
	struct gp_change *c = gp_change_new(&gp_kind_dda_record);
	struct dda_record_state *w;
	int r;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->want = w = calloc(1, sizeof(*w));
	if (w && want->n) {
		w->text = gp_dda_record_format(want);
		w->len = w->text ? strlen(w->text) : 0;
	}
	r = !w || (want->n && !w->text) ? -ENOMEM : state_read(ctx, NULL, &c->orig);
	if (r == 0)
		r = state_diff(c->orig, c->want, &c->plan);
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	*out = c;
	return 0;
}
