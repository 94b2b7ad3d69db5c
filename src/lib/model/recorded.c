/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recorded vGPU catalogue (model/recorded.h): format, strict reading, and when set-count
 * records one. The types' names hold blanks, so a type line is a tag, a canonical decimal id,
 * one space and the name to the end of the line (a free-text record, as the journal's
 * "command"); the header is an ordinary line record.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "model/recorded.h"
#include "model/scan.h"
#include "shared/record.h"

#define FORMAT "1"
#define MAX_TYPES 4096
#define MAX_NAME 128

int gp_recorded_key(const struct gp_device *pf, char *buf, size_t len)
{
	if (pf->vendor < 0 || pf->device < 0 || pf->subsystem_vendor < 0 ||
	    pf->subsystem_device < 0 || len < 20)
		return -EINVAL;
	snprintf(buf, len, "%04x:%04x:%04x:%04x", (unsigned)pf->vendor, (unsigned)pf->device,
		 (unsigned)pf->subsystem_vendor, (unsigned)pf->subsystem_device);
	return 0;
}

/* A value that reads back as one field of a record: not empty, printable, no blank. */
static bool token_ok(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s > 0x7e || *s == '=')
			return false;
	return true;
}

int gp_nvidia_version(struct gp_ctx *ctx, char *buf, size_t len)
{
	int fd = gp_hostfs_open_dir(ctx, GP_HP_MODULE, "nvidia"), r;

	if (fd < 0)
		return fd;
	r = gp_hostfs_read_at(fd, "version", buf, len);
	close(fd);
	if (r < 0)
		return r;
	return token_ok(buf) ? 0 : -EINVAL;
}

/* A type name as the driver prints it: printable ASCII, no blank at either end. */
static bool name_ok(const char *s)
{
	size_t i, n = strlen(s);

	if (!n || n >= MAX_NAME || s[0] == ' ' || s[n - 1] == ' ')
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

char *gp_recorded_format(const char *key, const char *driver, const struct gp_vgpu_type *t,
			 size_t n)
{
	struct gp_record_out o;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);
	bool ok = f != NULL;

	if (!f)
		return NULL;
	gp_record_begin(&o, "catalogue");
	gp_record_add(&o, FORMAT);
	gp_record_kv(&o, "board", key);
	gp_record_kv(&o, "driver", driver);
	gp_record_kvf(&o, "types", "%zu", n);
	ok = gp_record_end(&o, f) == 0 && n <= MAX_TYPES;
	for (i = 0; ok && i < n; i++) {
		ok = t[i].type_id > 0 && t[i].name && name_ok(t[i].name);
		if (ok)
			fprintf(f, "type %d %s\n", t[i].type_id, t[i].name);
	}
	if (fclose(f) != 0 || !ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* The header: this format, this board, this driver, and how many types follow. */
static int parse_header(struct gp_record_in *rec, const char *key, const char *driver,
			int *n_types, char *why, size_t why_len)
{
	static const char *const keys[] = { "board", "driver", "types", NULL };
	const char *board, *drv, *types;
	int r;

	if (strcmp(rec->tag, "catalogue"))
		return gp_record_fail(rec, why, why_len, "not a recorded catalogue");
	r = gp_record_fields(rec, why, why_len);
	if (r == 0)
		r = gp_record_known(rec, keys, why, why_len);
	if (r < 0)
		return r;
	board = gp_record_get(rec, "board");
	drv = gp_record_get(rec, "driver");
	types = gp_record_get(rec, "types");
	if (gp_record_n_bare(rec) != 1 || rec->f[0].key || !board || !drv || !types)
		return gp_record_fail(rec, why, why_len, "a catalogue line needs its format, board=, "
				      "driver= and types=");
	if (strcmp(rec->f[0].val, FORMAT)) {
		snprintf(why, why_len, "format %s, not %s", rec->f[0].val, FORMAT);
		return -ESTALE;
	}
	if (strcmp(board, key))
		return gp_record_fail(rec, why, why_len, "the record of board %s", board);
	if (strcmp(drv, driver)) {
		snprintf(why, why_len, "recorded with NVIDIA driver %s, this is %s", drv, driver);
		return -ESTALE;
	}
	if (gp_parse_dec_int(types, MAX_TYPES, GP_DEC_CANONICAL, n_types) < 0 || *n_types == 0)
		return gp_record_fail(rec, why, why_len, "types=%s is not a count of types", types);
	return 0;
}

/* "type ID NAME": the id canonical, the name as the driver prints it, an id once. */
static int parse_type(const struct gp_record_in *rec, struct gp_vgpu_type *v, size_t n,
		      char *why, size_t why_len)
{
	const char *sp = strchr(rec->rest, ' ');
	_cleanup_(freep) char *id_s = NULL;
	struct gp_vgpu_type *t = &v[n];
	size_t i;
	int id;

	if (strcmp(rec->tag, "type"))
		return gp_record_fail(rec, why, why_len, "not a type line");
	if (!sp || !(id_s = strndup(rec->rest, (size_t)(sp - rec->rest))))
		return sp ? -ENOMEM : gp_record_fail(rec, why, why_len, "a type without a name");
	if (gp_parse_dec_int(id_s, 0x7fffffff, GP_DEC_CANONICAL, &id) < 0 || id == 0)
		return gp_record_fail(rec, why, why_len, "'%s' is not a vGPU type id", id_s);
	if (!name_ok(sp + 1))
		return gp_record_fail(rec, why, why_len, "type %d: a name that is not one", id);
	for (i = 0; i < n; i++)
		if (v[i].type_id == id)
			return gp_record_fail(rec, why, why_len, "type %d recorded twice", id);
	t->type_id = id;
	t->max_instances = GP_UNKNOWN;
	t->available = GP_UNKNOWN;
	t->name = strdup(sp + 1);
	if (!t->name || asprintf(&t->key, "%d", id) < 0) {
		t->key = NULL;
		return -ENOMEM;
	}
	gp_vgpu_type_parse_name(t->name, &t->series, &t->mig, &t->fb_bytes);
	return 0;
}

int gp_recorded_parse(const char *text, size_t len, const char *key, const char *driver,
		      struct gp_vgpu_type **out, size_t *n, char *why, size_t why_len)
{
	struct gp_record_reader rd;
	struct gp_record_in rec;
	struct gp_vgpu_type *v = NULL;
	size_t got = 0;
	int r, want = 0;

	*out = NULL;
	*n = 0;
	gp_record_reader_init(&rd, text, len, GP_RECORD_NEWLINE);
	r = gp_record_next(&rd, &rec, why, why_len);
	if (r == 0) {
		snprintf(why, why_len, "empty");
		r = -EINVAL;
	}
	if (r > 0)
		r = parse_header(&rec, key, driver, &want, why, why_len);
	if (r == 0 && !(v = calloc((size_t)want, sizeof(*v))))
		r = -ENOMEM;
	while (r == 0 && (r = gp_record_next(&rd, &rec, why, why_len)) > 0) {
		if ((int)got == want) {
			r = gp_record_fail(&rec, why, why_len, "more than types=%d types", want);
			break;
		}
		r = parse_type(&rec, v, got, why, why_len);
		got += r == 0 || v[got].name || v[got].key;
	}
	if (r == 0 && (int)got != want) {
		snprintf(why, why_len, "%zu types of types=%d: cut short", got, want);
		r = -EINVAL;
	}
	gp_record_reader_free(&rd);
	if (r < 0) {
		gp_vgpu_types_free(v, got);
		return r;
	}
	*out = v;
	*n = got;
	return 0;
}

/* The record on disk, its text (NULL when absent); logs nothing. */
static ssize_t record_text(struct gp_ctx *ctx, const char *key, char **text)
{
	return gp_hostfs_read_bounded(ctx, GP_HP_CATALOGUE_FILE, key, GP_RECORDED_MAX_BYTES, text);
}

int gp_recorded_read(struct gp_ctx *ctx, struct gp_device *pf)
{
	char key[32], driver[96], path[512], why[160];
	_cleanup_(freep) char *text = NULL;
	ssize_t len;
	int r;

	if (gp_recorded_key(pf, key, sizeof(key)) < 0 ||
	    gp_nvidia_version(ctx, driver, sizeof(driver)) < 0)
		return 0;
	len = record_text(ctx, key, &text);
	if (len == -ENOENT)
		return 0;
	gp_hostfs_abspath(ctx, GP_HP_CATALOGUE_FILE, key, path, sizeof(path));
	if (len < 0) {
		if (len == -ENOMEM)
			return -ENOMEM;
		WARN(ctx, "%s: %s: not used", path, len == -EFBIG ? "too large" :
			  strerror((int)-len));
		return 0;
	}
	r = gp_recorded_parse(text, (size_t)len, key, driver, &pf->catalogue, &pf->n_catalogue,
			      why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		WARN(ctx, "%s: %s: not used (set-count records it again when it enables the VFs)",
		     path, why);
		return 0;
	}
	pf->catalogue_source = GP_CATALOGUE_RECORDED;
	return 0;
}

/* Every VF on nvidia's vendor-specific VFIO, none with a type, every list non-empty: the
 * lists are the driver's whole catalogue (nothing consumes any capacity). */
static bool lists_complete(const struct gp_device *pf)
{
	size_t i;

	if (!pf->n_vfs || (pf->sriov_num_vfs >= 0 && (size_t)pf->sriov_num_vfs != pf->n_vfs))
		return false;
	for (i = 0; i < pf->n_vfs; i++) {
		const struct gp_device *vf = pf->vfs[i];

		if (!vf->has_nvidia_dir || vf->current_vgpu_type != 0 || !vf->n_creatable)
			return false;
	}
	return true;
}

int gp_recorded_wanted(struct gp_ctx *ctx, const struct gp_device *pf, char *path, size_t len,
		       char **text)
{
	struct gp_vgpu_type *u = NULL;
	_cleanup_(freep) char *now = NULL;
	char key[32], driver[96];
	size_t n = 0;
	int r;

	*text = NULL;
	/* a better source knows the board: nothing to keep */
	if (pf->vendor != 0x10de || (pf->catalogue_source != GP_CATALOGUE_SYSFS &&
				     pf->catalogue_source != GP_CATALOGUE_RECORDED))
		return 0;
	if (!lists_complete(pf) || gp_recorded_key(pf, key, sizeof(key)) < 0 ||
	    gp_nvidia_version(ctx, driver, sizeof(driver)) < 0 ||
	    gp_hostfs_path(GP_HP_CATALOGUE_FILE, key, path, len) < 0)
		return 0;
	r = gp_catalogue_union(pf, &u, &n);
	if (r < 0)
		return r;
	*text = gp_recorded_format(key, driver, u, n);
	gp_vgpu_types_free(u, n);
	if (!*text)
		return 0; /* a name that would not read back: record nothing rather than that */
	if (record_text(ctx, key, &now) >= 0 && !strcmp(now, *text)) {
		free(*text);
		*text = NULL;
		return 0;
	}
	return 1;
}
