/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dismounted-devices record (gpupart/dismounted.h): ROOT/etc/gpupart/dismounted.conf.
 * The same line records as partitions.conf (shared/record.h: blanks between fields, '#'
 * comments), one PCI function per line. Parsing and formatting are pure; reading goes
 * through hostfs. The file is written only by the transaction's file step (atomic replace,
 * kinds/dda-record.c), never here.
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <gpupart/dismounted.h>
#include <gpupart/layout.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "shared/record.h"
#include "shared/str.h"

#define RECORDS (GP_RECORD_COMMENTS | GP_RECORD_BLANKS)

static const char *const keys[] = { "id", "subsystem", "gpu", "driver", "address", NULL };

void gp_dda_entry_clear(struct gp_dda_entry *e)
{
	free(e->path);
	free(e->gpu_path);
	free(e->driver);
	memset(e, 0, sizeof(*e));
}

void gp_dda_record_clear(struct gp_dda_record *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		gp_dda_entry_clear(&r->v[i]);
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

const struct gp_dda_entry *gp_dda_record_find(const struct gp_dda_record *r, const char *path)
{
	size_t i;

	for (i = 0; path && i < r->n; i++)
		if (strcasecmp(r->v[i].path, path) == 0)
			return &r->v[i];
	return NULL;
}

static int entry_copy(const struct gp_dda_entry *src, struct gp_dda_entry *dst)
{
	*dst = *src;
	dst->path = strdup(src->path);
	dst->gpu_path = strdup(src->gpu_path);
	dst->driver = src->driver ? strdup(src->driver) : NULL;
	if (!dst->path || !dst->gpu_path || (src->driver && !dst->driver)) {
		gp_dda_entry_clear(dst);
		return -ENOMEM;
	}
	return 0;
}

int gp_dda_record_set(struct gp_dda_record *r, const struct gp_dda_entry *e)
{
	struct gp_dda_entry copy, *slot = (struct gp_dda_entry *)gp_dda_record_find(r, e->path);

	if (!e->path || !e->gpu_path)
		return -EINVAL;
	if (entry_copy(e, &copy) < 0)
		return -ENOMEM;
	if (slot) {
		gp_dda_entry_clear(slot);
	} else if (!(slot = GP_PUSH(r->v, r->n))) {
		gp_dda_entry_clear(&copy);
		return -ENOMEM;
	}
	*slot = copy;
	return 0;
}

size_t gp_dda_record_unset_gpu(struct gp_dda_record *r, const char *gpu_path)
{
	size_t i = 0, n = 0;

	while (i < r->n) {
		if (strcasecmp(r->v[i].gpu_path, gpu_path) == 0) {
			gp_dda_entry_clear(&r->v[i]);
			r->v[i] = r->v[--r->n];
			n++;
		} else {
			i++;
		}
	}
	return n;
}

/* "VVVV:DDDD", four hex digits each. */
static int idpair(const char *s, int *a, int *b)
{
	unsigned x, y;

	if (strlen(s) != 9 || gp_parse_hexn(&s, 4, &x) < 0 || *s++ != ':' ||
	    gp_parse_hexn(&s, 4, &y) < 0)
		return -EINVAL;
	*a = (int)x;
	*b = (int)y;
	return 0;
}

static char *canon(const char *path)
{
	char *c = malloc(strlen(path) + 1);

	if (c && gp_layout_path_canon(path, c) < 0) {
		free(c);
		return NULL;
	}
	return c;
}

#define FAIL(...)                                               \
	do {                                                    \
		gp_record_fail(rec, err, errlen, __VA_ARGS__);  \
		gp_dda_entry_clear(e);                          \
		return -EINVAL;                                 \
	} while (0)

static int parse_line(struct gp_record_in *rec, struct gp_dda_entry *e, char *err,
		      size_t errlen)
{
	const char *v;
	size_t i;

	memset(e, 0, sizeof(*e));
	e->line = rec->line;
	if (strchr(rec->tag, '=') || !(e->path = canon(rec->tag)))
		FAIL("bad PCI path '%s' (want pciDDDD:BB/DD.F...)", rec->tag);
	for (i = 0; i < rec->n; i++)
		if (!rec->f[i].key)
			FAIL("expected key=value, got '%s'", rec->f[i].val);
	if (gp_record_known(rec, keys, err, errlen) < 0) {
		gp_dda_entry_clear(e);
		return -EINVAL;
	}
	if (!(v = gp_record_get(rec, "id")) || idpair(v, &e->vendor, &e->device) < 0)
		FAIL("%s: missing or bad id= (want VVVV:DDDD, hexadecimal)", e->path);
	if (!(v = gp_record_get(rec, "subsystem")) ||
	    idpair(v, &e->subsystem_vendor, &e->subsystem_device) < 0)
		FAIL("%s: missing or bad subsystem= (want VVVV:DDDD, hexadecimal)", e->path);
	if (!(v = gp_record_get(rec, "gpu")) || !(e->gpu_path = canon(v)))
		FAIL("%s: missing or bad gpu= (want the GPU's PCI path)", e->path);
	if (!(v = gp_record_get(rec, "driver")) || (strcmp(v, "-") && !gp_str_is_name(v)))
		FAIL("%s: missing or bad driver= (a driver name, or - for none)", e->path);
	if (strcmp(v, "-") && !(e->driver = strdup(v))) {
		gp_dda_entry_clear(e);
		return -ENOMEM;
	}
	if ((v = gp_record_get(rec, "address"))) {
		struct gp_pci_addr a;

		if (gp_pci_addr_parse(v, &a) < 0)
			FAIL("bad address '%s' (want dddd:bb:dd.f)", v);
		gp_pci_addr_format(&a, e->address);
	}
	return 0;
}
#undef FAIL

int gp_dda_record_parse(const char *text, struct gp_dda_record *out, char *err, size_t errlen)
{
	struct gp_dda_record rc = { 0 };
	struct gp_record_reader rd;
	struct gp_record_in rec;
	char dummy[1];
	size_t i;
	int r;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	out->v = NULL;
	out->n = 0;
	gp_record_reader_init(&rd, text, text ? strlen(text) : 0, RECORDS);
	while ((r = gp_record_next(&rd, &rec, err, errlen)) > 0) {
		struct gp_dda_entry e, *slot;
		const struct gp_dda_entry *dup;

		r = gp_record_fields(&rec, err, errlen);
		if (r == 0)
			r = parse_line(&rec, &e, err, errlen);
		if (r < 0)
			break;
		if ((dup = gp_dda_record_find(&rc, e.path))) {
			snprintf(err, errlen, "line %d: %s recorded twice (first on line %d)",
				 rec.line, e.path, dup->line);
			gp_dda_entry_clear(&e);
			r = -EINVAL;
			break;
		}
		if (!(slot = GP_PUSH(rc.v, rc.n))) {
			gp_dda_entry_clear(&e);
			r = -ENOMEM;
			break;
		}
		*slot = e;
	}
	gp_record_reader_free(&rd);
	/* every function goes with a GPU the file records: mount restores a GPU whole */
	for (i = 0; r == 0 && i < rc.n; i++)
		if (!gp_dda_record_find(&rc, rc.v[i].gpu_path)) {
			snprintf(err, errlen, "line %d: gpu=%s names no line of the file",
				 rc.v[i].line, rc.v[i].gpu_path);
			r = -EINVAL;
		}
	if (r < 0) {
		gp_dda_record_clear(&rc);
		return r;
	}
	*out = rc;
	return 0;
}

static int by_path(const void *a, const void *b)
{
	const struct gp_dda_entry *const *x = a, *const *y = b;

	return strcmp((*x)->path, (*y)->path);
}

char *gp_dda_record_format(const struct gp_dda_record *rc)
{
	const struct gp_dda_entry **sorted = calloc(rc->n ? rc->n : 1, sizeof(*sorted));
	char *buf = NULL;
	size_t len = 0, i;
	int r = 0;
	FILE *f;

	if (!sorted)
		return NULL;
	for (i = 0; i < rc->n; i++)
		sorted[i] = &rc->v[i];
	qsort(sorted, rc->n, sizeof(*sorted), by_path);
	f = open_memstream(&buf, &len);
	if (!f) {
		free(sorted);
		return NULL;
	}
	fputs("# gpupart dismounted devices (gpupart(8), FILES): the functions `gpupart dismount`\n"
	      "# gave to vfio-pci, and the driver each goes back to on `gpupart mount`. One per line:\n"
	      "#   PCI-PATH  id=VVVV:DDDD subsystem=VVVV:DDDD gpu=PCI-PATH driver=NAME|- "
	      "[address=dddd:bb:dd.f]\n",
	      f);
	for (i = 0; r == 0 && i < rc->n; i++) {
		const struct gp_dda_entry *e = sorted[i];
		struct gp_record_out o;

		gp_record_begin(&o, e->path);
		gp_record_kvf(&o, "id", "%04x:%04x", (unsigned)e->vendor & 0xffff,
			      (unsigned)e->device & 0xffff);
		gp_record_kvf(&o, "subsystem", "%04x:%04x", (unsigned)e->subsystem_vendor & 0xffff,
			      (unsigned)e->subsystem_device & 0xffff);
		gp_record_kv(&o, "gpu", e->gpu_path);
		gp_record_kv(&o, "driver", e->driver ? e->driver : "-");
		if (e->address[0])
			gp_record_kv(&o, "address", e->address);
		r = gp_record_end(&o, f);
	}
	free(sorted);
	if (fclose(f) != 0 || r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int gp_dda_record_file_path(struct gp_ctx *ctx, char *buf, size_t len)
{
	return gp_hostfs_abspath(ctx, GP_HP_CONFIG_FILE, GP_DISMOUNTED_FILE, buf, len);
}

int gp_dda_record_read(struct gp_ctx *ctx, struct gp_dda_record *out)
{
	char *text = NULL, err[256], where[512];
	ssize_t n;
	int r;

	out->v = NULL;
	out->n = 0;
	n = gp_hostfs_read_all(ctx, GP_HP_CONFIG_FILE, GP_DISMOUNTED_FILE, &text);
	if (n == -ENOENT)
		return 0;
	if (gp_dda_record_file_path(ctx, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "%s", GP_DISMOUNTED_FILE);
	if (n < 0) {
		ERR(ctx, "%s: %s", where, strerror((int)-n));
		return (int)n;
	}
	if (memchr(text, 0, (size_t)n)) {
		ERR(ctx, "%s: not a text file", where);
		free(text);
		return -EINVAL;
	}
	r = gp_dda_record_parse(text, out, err, sizeof(err));
	free(text);
	if (r == -EINVAL)
		ERR(ctx, "%s: %s", where, err);
	return r;
}

int gp_dda_entry_for(const struct gp_device *fn, const struct gp_device *gpu,
		     const char *driver, struct gp_dda_entry *out)
{
	char path[512], gpath[512];
	int r;

	memset(out, 0, sizeof(*out));
	if (fn->vendor < 0 || fn->device < 0 || fn->subsystem_vendor < 0 ||
	    fn->subsystem_device < 0)
		return -EINVAL; /* no stable identity without the IDs */
	r = gp_device_path_id(fn, path, sizeof(path));
	if (r == 0)
		r = gp_device_path_id(gpu, gpath, sizeof(gpath));
	if (r < 0)
		return r;
	out->path = strdup(path);
	out->gpu_path = strdup(gpath);
	out->driver = driver ? strdup(driver) : NULL;
	if (!out->path || !out->gpu_path || (driver && !out->driver)) {
		gp_dda_entry_clear(out);
		return -ENOMEM;
	}
	out->vendor = fn->vendor;
	out->device = fn->device;
	out->subsystem_vendor = fn->subsystem_vendor;
	out->subsystem_device = fn->subsystem_device;
	snprintf(out->address, sizeof(out->address), "%s", fn->address);
	return 0;
}

int gp_dda_entry_match(const struct gp_host *host, const struct gp_dda_entry *e,
		       struct gp_device **out)
{
	const int ids[4] = { e->vendor, e->device, e->subsystem_vendor, e->subsystem_device };

	return gp_layout_find(host, e->path, ids, out);
}
