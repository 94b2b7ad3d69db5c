/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The catalogue kind (kinds/catalogue.h): a board's recorded vGPU catalogue file as a change.
 * The file's format is model/recorded.c's; here it is only text to put back. The journal keeps
 * it in hex ("data HEX" records, txn/record.c): a damaged file, whatever bytes it holds, is put
 * back as it was, and a file gpupart cannot journal never blocks the change it rides along.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "kinds/catalogue.h"
#include "kinds/gpu.h"
#include "model/recorded.h"

struct gp_catalogue_state {
	char key[24];        /* "10de:26b9:10de:1851" */
	char path[96];       /* var/lib/gpupart/catalogue/KEY */
	bool decided;        /* a state to reach (every state but an undecided want) */
	char *text;          /* the file's bytes, NUL-terminated; NULL: no file */
	size_t len;
};

/* The board's key, as gp_recorded_key prints it for the scanned device. */
static void ident_key(const struct gp_pci_ident *id, char key[24])
{
	snprintf(key, 24, "%04x:%04x:%04x:%04x", (unsigned)id->vendor, (unsigned)id->device,
		 (unsigned)id->subsystem_vendor, (unsigned)id->subsystem_device);
}

static void state_free(void *state)
{
	struct gp_catalogue_state *s = state;

	if (s)
		free(s->text);
	free(s);
}

static struct gp_catalogue_state *state_new(const char *key)
{
	struct gp_catalogue_state *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	snprintf(s->key, sizeof(s->key), "%s", key);
	if (gp_hostfs_path(GP_HP_CATALOGUE_FILE, key, s->path, sizeof(s->path)) < 0) {
		free(s);
		return NULL;
	}
	return s;
}

static int state_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	const struct gp_catalogue_state *l = like;
	struct gp_catalogue_state *s = state_new(l->key);
	ssize_t n;

	*cur = NULL;
	if (!s)
		return -ENOMEM;
	n = gp_hostfs_read_bounded(ctx, GP_HP_CATALOGUE_FILE, l->key, GP_RECORDED_MAX_BYTES,
				   &s->text);
	if (n < 0 && n != -ENOENT) {
		ERR(ctx, "/%s: %s", s->path, strerror((int)-n));
		state_free(s);
		return (int)n;
	}
	s->decided = true;
	s->len = n < 0 ? 0 : (size_t)n;
	*cur = s;
	return 0;
}

static bool same(const struct gp_catalogue_state *a, const struct gp_catalogue_state *b)
{
	if (!a->text || !b->text)
		return !a->text && !b->text;
	return a->len == b->len && memcmp(a->text, b->text, a->len) == 0;
}

/* Undecided: nothing to reach. */
static bool state_equal(const void *cur, const void *want)
{
	const struct gp_catalogue_state *w = want;

	return !w->decided || same(cur, w);
}

/* One file step: the text, or "" to remove the file (txn/step.c). A file gpupart keeps is
 * never empty, and a journaled one that was (0 bytes) comes back removed. */
static int state_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	const struct gp_catalogue_state *w = want;

	if (state_equal(cur, want))
		return 0;
	if (w->text && strlen(w->text) != w->len)
		return -EINVAL; /* a NUL in it: a step's value cannot hold that */
	return gp_plan_add(plan, GP_STEP_FILE, w->key, w->path, w->text ? w->text : "") ? 0
											 : -ENOMEM;
}

static const char *state_name(const void *state)
{
	return ((const struct gp_catalogue_state *)state)->path;
}

/* ---- journal records ---- */

static int encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct gp_catalogue_state *s = c->orig;

	gp_rec_printf(out, "catalogue %s%s", s->key, s->text ? "" : " -");
	if (s->text)
		gp_rec_put_hex(out, s->text, s->len);
	return out->err;
}

/* "VVVV:DDDD:SVVV:SDDD", lowercase hex, as gp_recorded_key prints it. */
static bool key_ok(const char *s)
{
	size_t i;

	if (strlen(s) != 19)
		return false;
	for (i = 0; i < 19; i++)
		if (i % 5 == 4 ? s[i] != ':' : !isxdigit((unsigned char)s[i]) || isupper(s[i]))
			return false;
	return true;
}

static const char *decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			  struct gp_change *c, size_t *bad)
{
	struct gp_catalogue_state *s;
	bool absent = recs[0].n == 3 && !strcmp(recs[0].tok[2], "-");
	size_t i;

	*bad = 0;
	if ((recs[0].n != 2 && !absent) || !key_ok(recs[0].tok[1]))
		return "a catalogue record that names no board";
	for (i = 0; i < before->n; i++)
		if (before->v[i]->kind == &gp_kind_catalogue &&
		    !strcmp(((struct gp_catalogue_state *)before->v[i]->orig)->key, recs[0].tok[1]))
			return "a board's catalogue recorded twice";
	c->orig = s = state_new(recs[0].tok[1]);
	if (!s)
		return "out of memory";
	s->decided = true;
	return gp_rec_file_decode(recs, n, absent, GP_RECORDED_MAX_BYTES, &s->text, &s->len, bad);
}

/* Only the board of a GPU the journal changed itself (its check found it on the host). */
static int check(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c, char *why,
		 size_t why_len)
{
	const struct gp_catalogue_state *s = c->orig;
	size_t i;

	(void)ctx;
	for (i = 0; i < txn->n; i++) {
		const struct gp_gpu_change_data *d;
		char key[24];

		if (txn->v[i]->kind != &gp_kind_gpu || !(d = gp_gpu_change_data(txn->v[i])))
			continue;
		ident_key(&d->ident, key);
		if (!strcmp(key, s->key))
			return 0;
	}
	snprintf(why, why_len, "catalogue %s: not the board of a GPU the journal changed", s->key);
	return -EUCLEAN;
}

const struct gp_kind gp_kind_catalogue = {
	.tag = "catalogue",
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

int gp_catalogue_change_new(struct gp_ctx *ctx, struct gp_change *gpu, struct gp_change **out)
{
	const struct gp_gpu_state *from = gpu->orig, *to = gpu->want;
	struct gp_gpu_change_data *d = gpu->data;
	struct gp_change *c;
	char key[24];
	int r;

	*out = NULL;
	if (!to || to->backend != GP_BACKEND_NVIDIA_VFIO || from->numvfs != 0 || to->numvfs == 0)
		return 0;
	ident_key(&d->ident, key);
	c = gp_change_new(&gp_kind_catalogue);
	if (!c)
		return -ENOMEM;
	c->want = state_new(key);
	r = c->want ? state_read(ctx, c->want, &c->orig) : -ENOMEM;
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	d->record = c->want;
	*out = c;
	return 0;
}

int gp_catalogue_decide(struct gp_ctx *ctx, struct gp_catalogue_state *want,
			const struct gp_device *dev)
{
	char path[96], *text = NULL;
	int r = gp_recorded_wanted(ctx, dev, path, sizeof(path), &text);

	if (r <= 0)
		return r;
	if (strcmp(path, want->path)) { /* another board's: never */
		free(text);
		return 0;
	}
	free(want->text);
	want->text = text;
	want->len = strlen(text);
	want->decided = true;
	return 0;
}
