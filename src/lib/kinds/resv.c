/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reservation kind (kinds/resv.h). Here the record is only text to put back, as the
 * dda-record kind keeps dismounted.conf; conf/resv.c says what the text means.
 */
#include <errno.h>
#include <stdio.h>

#include "base/internal.h"
#include "host/hostfs.h"
#include "kinds/resv.h"

#define MAX_BYTES 8192 /* one record line (GP_RECORD_LINE_MAX) and more */

struct resv_state {
	char device[40];
	char *text; /* NULL: no file */
	size_t len;
};

static void state_free(void *state)
{
	struct resv_state *s = state;

	if (s)
		free(s->text);
	free(s);
}

static int state_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	const struct resv_state *l = like;
	struct resv_state *s = calloc(1, sizeof(*s));
	ssize_t n;

	*cur = NULL;
	if (!s)
		return -ENOMEM;
	snprintf(s->device, sizeof(s->device), "%s", l->device);
	n = gp_hostfs_read_regular(ctx, GP_HP_RESERVATIONS, s->device, &s->text);
	if (n > MAX_BYTES)
		n = -EFBIG;
	if (n < 0 && n != -ENOENT) {
		ERR(ctx, "reservation record %s: %s", s->device, strerror((int)-n));
		state_free(s);
		return (int)n;
	}
	if (n < 0) {
		free(s->text);
		s->text = NULL;
	}
	s->len = n < 0 ? 0 : (size_t)n;
	*cur = s;
	return 0;
}

static bool state_equal(const void *cur, const void *want)
{
	const struct resv_state *a = cur, *b = want;

	return gp_rec_file_equal(a->text, a->len, b->text, b->len);
}

/* One file step: the text, or "" to remove the file (txn/step.c). */
static int state_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	const struct resv_state *w = want;
	char path[192];

	if (state_equal(cur, want))
		return 0;
	if ((w->text && strlen(w->text) != w->len) || (w->text && !w->len))
		return -EINVAL; /* a NUL, or an empty file: a step's value cannot say that */
	if (gp_hostfs_path(GP_HP_RESERVATIONS, NULL, path, sizeof(path)) < 0 ||
	    strlen(path) + 1 + strlen(w->device) >= sizeof(path))
		return -ENAMETOOLONG;
	strcat(path, "/");
	strcat(path, w->device);
	return gp_plan_add(plan, GP_STEP_FILE, w->device, path, w->text ? w->text : "") ?
		       0 : -ENOMEM;
}

static const char *state_name(const void *state)
{
	return ((const struct resv_state *)state)->device;
}

static int encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct resv_state *s = c->orig;

	gp_rec_printf(out, "resv %s%s", s->device, s->text ? "" : " -");
	if (s->text && s->len)
		gp_rec_put_hex(out, s->text, s->len);
	return out->err;
}

static const char *decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			  struct gp_change *c, size_t *bad)
{
	struct resv_state *s;
	bool absent = recs[0].n == 3 && !strcmp(recs[0].tok[2], "-");
	const char *why = NULL;
	size_t i;

	*bad = 0;
	if ((recs[0].n != 2 && !absent) || !gp_resv_device_ok(recs[0].tok[1]))
		return "a resv record without its device";
	for (i = 0; i < before->n; i++)
		if (before->v[i]->kind == &gp_kind_resv &&
		    !strcmp(state_name(before->v[i]->orig), recs[0].tok[1]))
			return "a reservation journaled twice";
	c->orig = s = calloc(1, sizeof(*s));
	if (!s)
		return "out of memory";
	snprintf(s->device, sizeof(s->device), "%s", recs[0].tok[1]);
	why = gp_rec_file_decode(recs, n, absent, MAX_BYTES, &s->text, &s->len, bad);
	if (!why && s->text && (!s->len || strlen(s->text) != s->len))
		why = "an empty reservation record, or one with a NUL";
	return why;
}


const struct gp_kind gp_kind_resv = {
	.tag = "resv",
	.read = state_read,
	.equal = state_equal,
	.diff = state_diff,
	.encode = encode,
	.decode = decode,
	/* decode checked the name (the only part that makes a path); what the file held comes
	 * back as it was, and is read strictly whenever it is read (conf/resv.c) */
	.check = gp_kind_check_nothing,
	.name = state_name,
	.free_state = state_free,
};

int gp_resv_change_new(struct gp_ctx *ctx, const char *device, const struct gp_resv *want,
		       struct gp_change **out)
{
	struct gp_change *c;
	struct resv_state *w;
	int r;

	*out = NULL;
	if (!gp_resv_device_ok(device))
		return -EINVAL;
	c = gp_change_new(&gp_kind_resv);
	if (!c)
		return -ENOMEM;
	c->want = w = calloc(1, sizeof(*w));
	r = w ? 0 : -ENOMEM;
	if (w) {
		snprintf(w->device, sizeof(w->device), "%s", device);
		if (want && !(w->text = gp_resv_format(want)))
			r = -EINVAL;
		w->len = w->text ? strlen(w->text) : 0;
	}
	if (r == 0)
		r = state_read(ctx, w, &c->orig);
	if (r == 0)
		r = state_diff(c->orig, c->want, &c->plan);
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	*out = c;
	return 0;
}
