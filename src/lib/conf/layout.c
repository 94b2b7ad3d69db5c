/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desired partition layout (gpupart/layout.h): ROOT/etc/gpupart/partitions.conf.
 *
 *   # comment
 *   PCI-PATH  id=VVVV:DDDD subsystem=VVVV:DDDD count=N [series=Q|C|B|A] [address=dddd:bb:dd.f]
 *
 * One GPU per line; fields are separated by blanks, keys come in any order, a '#' at the start
 * of a field comments out the rest of the line. PCI-PATH is "pci" DOMAIN ':' ROOT-BUS followed
 * by "/DD.F" for every hop from the root bus down to the GPU (the root port, switch ports, the
 * GPU itself). Parsing and formatting are pure; only read/write touch the host (via hostfs).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <gpupart/layout.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "shared/record.h"

#define COUNT_MAX 4096
#define PATH_MAX_HOPS 64

/*
 * Checks a PCI path and writes its canonical (lowercase) form into buf (at least strlen+1
 * bytes). "pci" + 4..8 hex domain digits ':' 2 hex bus digits, then one or more
 * "/" 2-hex-device '.' 0-7 hops (device at most 1f).
 */
int gp_layout_path_canon(const char *s, char *buf)
{
	const char *p = s, *colon;
	unsigned v;
	size_t nd;
	int hops = 0;
	char *o = buf;

	if (strncasecmp(p, "pci", 3) != 0)
		return -EINVAL;
	p += 3;
	colon = strchr(p, ':');
	if (!colon)
		return -EINVAL;
	nd = (size_t)(colon - p);
	if (nd < 4 || nd > 8 || gp_parse_hexn(&p, nd, &v) < 0)
		return -EINVAL;
	p++; /* ':' */
	if (gp_parse_hexn(&p, 2, &v) < 0)
		return -EINVAL;
	while (*p == '/') {
		unsigned dev;

		p++;
		if (gp_parse_hexn(&p, 2, &dev) < 0 || dev > 0x1f || *p++ != '.' || *p < '0' || *p > '7')
			return -EINVAL;
		p++;
		if (++hops > PATH_MAX_HOPS)
			return -EINVAL;
	}
	if (*p || !hops)
		return -EINVAL;
	for (p = s; *p; p++)
		*o++ = (char)tolower((unsigned char)*p);
	*o = 0;
	return 0;
}

/* "VVVV:DDDD", exactly four hex digits each. */
static int parse_idpair(const char *s, int *a, int *b)
{
	unsigned x, y;

	if (strlen(s) != 9 || gp_parse_hexn(&s, 4, &x) < 0 || *s++ != ':' || gp_parse_hexn(&s, 4, &y) < 0)
		return -EINVAL;
	*a = (int)x;
	*b = (int)y;
	return 0;
}

static int parse_count(const char *s, int *out)
{
	return gp_parse_dec_int(s, COUNT_MAX, 0, out);
}

static bool series_ok(char c)
{
	return c == 'Q' || c == 'C' || c == 'B' || c == 'A';
}

static void entry_free(struct gp_layout_entry *e)
{
	free(e->path);
	e->path = NULL;
}

void gp_layout_clear(struct gp_layout *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		entry_free(&l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static struct gp_layout_entry *find_path(const struct gp_layout *l, const char *path)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->v[i].path && strcmp(l->v[i].path, path) == 0)
			return &l->v[i];
	return NULL;
}

int gp_layout_set(struct gp_layout *l, const struct gp_layout_entry *e)
{
	struct gp_layout_entry *slot;
	char *path;

	if (!e->path)
		return -EINVAL;
	path = strdup(e->path);
	if (!path)
		return -ENOMEM;
	slot = find_path(l, e->path);
	if (slot) {
		free(slot->path);
	} else {
		slot = GP_PUSH(l->v, l->n);
		if (!slot) {
			free(path);
			return -ENOMEM;
		}
	}
	*slot = *e;
	slot->path = path;
	return 0;
}

int gp_layout_unset(struct gp_layout *l, const char *path)
{
	struct gp_layout_entry *slot = find_path(l, path);

	if (!slot)
		return 0;
	free(slot->path);
	*slot = l->v[--l->n];
	return 1;
}

#define FAIL(...)                                          \
	do {                                               \
		gp_record_fail(rec, err, errlen, __VA_ARGS__); \
		entry_free(e);                             \
		return -EINVAL;                            \
	} while (0)

static const char *const layout_keys[] = { "id", "subsystem", "count", "series", "address",
					   NULL };

/* One record (a GPU) into e; the reader has split it and refused duplicate keys. */
static int parse_entry(struct gp_record_in *rec, struct gp_layout_entry *e, char *err,
		       size_t errlen)
{
	const char *v;
	size_t i;

	memset(e, 0, sizeof(*e));
	e->line = rec->line;
	if (strchr(rec->tag, '='))
		FAIL("expected a PCI path (pciDDDD:BB/DD.F...) first, got '%s'", rec->tag);
	e->path = malloc(strlen(rec->tag) + 1);
	if (!e->path)
		return -ENOMEM;
	if (gp_layout_path_canon(rec->tag, e->path) < 0)
		FAIL("bad PCI path '%s' (want pciDDDD:BB/DD.F...)", rec->tag);
	for (i = 0; i < rec->n; i++)
		if (!rec->f[i].key)
			FAIL("expected key=value, got '%s'", rec->f[i].val);
	if (gp_record_known(rec, layout_keys, err, errlen) < 0) {
		entry_free(e);
		return -EINVAL;
	}
	if ((v = gp_record_get(rec, "id")) &&
	    parse_idpair(v, &e->vendor, &e->device) < 0)
		FAIL("bad id '%s' (want VVVV:DDDD, hexadecimal)", v);
	if ((v = gp_record_get(rec, "subsystem")) &&
	    parse_idpair(v, &e->subsystem_vendor, &e->subsystem_device) < 0)
		FAIL("bad subsystem '%s' (want VVVV:DDDD, hexadecimal)", v);
	if ((v = gp_record_get(rec, "count")) && parse_count(v, &e->count) < 0)
		FAIL("bad count '%s' (want an integer from 0 to %d)", v, COUNT_MAX);
	if ((v = gp_record_get(rec, "series"))) {
		char c = (char)toupper((unsigned char)v[0]);

		if (!series_ok(c) || v[1])
			FAIL("bad series '%s' (want Q, C, B or A)", v);
		e->series = c;
	}
	if ((v = gp_record_get(rec, "address"))) {
		struct gp_pci_addr a;

		if (gp_pci_addr_parse(v, &a) < 0)
			FAIL("bad address '%s' (want dddd:bb:dd.f)", v);
		gp_pci_addr_format(&a, e->address);
	}
	if (!gp_record_get(rec, "id"))
		FAIL("%s: missing id=VVVV:DDDD", e->path);
	if (!gp_record_get(rec, "subsystem"))
		FAIL("%s: missing subsystem=VVVV:DDDD", e->path);
	if (!gp_record_get(rec, "count"))
		FAIL("%s: missing count=N", e->path);
	return 0;
}
#undef FAIL

/* Blank lines and '#' comments (whole lines, or from a field that starts with '#'), fields
 * separated by runs of blanks: a file people edit. */
#define LAYOUT_RECORDS (GP_RECORD_COMMENTS | GP_RECORD_BLANKS)

int gp_layout_parse(const char *text, struct gp_layout *out, char *err, size_t errlen)
{
	struct gp_layout l = { 0 };
	struct gp_record_reader rd;
	struct gp_record_in rec;
	char dummy[1];
	int r;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	out->v = NULL;
	out->n = 0;
	gp_record_reader_init(&rd, text, text ? strlen(text) : 0, LAYOUT_RECORDS);
	while ((r = gp_record_next(&rd, &rec, err, errlen)) > 0) {
		struct gp_layout_entry e, *dup, *slot;

		r = gp_record_fields(&rec, err, errlen);
		if (r == 0)
			r = parse_entry(&rec, &e, err, errlen);
		if (r < 0)
			break;
		dup = find_path(&l, e.path);
		if (dup) {
			snprintf(err, errlen, "line %d: duplicate entry for %s (first on line %d)",
				 rec.line, e.path, dup->line);
			entry_free(&e);
			r = -EINVAL;
			break;
		}
		slot = GP_PUSH(l.v, l.n);
		if (!slot) {
			entry_free(&e);
			r = -ENOMEM;
			break;
		}
		*slot = e;
	}
	gp_record_reader_free(&rd);
	if (r < 0) {
		gp_layout_clear(&l);
		return r;
	}
	*out = l;
	return 0;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct gp_layout_entry *const *x = a, *const *y = b;

	return strcmp((*x)->path ? (*x)->path : "", (*y)->path ? (*y)->path : "");
}

char *gp_layout_format(const struct gp_layout *l)
{
	const struct gp_layout_entry **sorted = NULL;
	char *buf = NULL;
	size_t len = 0, i;
	int r = 0;
	FILE *f;

	if (l->n) {
		sorted = calloc(l->n, sizeof(*sorted));
		if (!sorted)
			return NULL;
		for (i = 0; i < l->n; i++)
			sorted[i] = &l->v[i];
		qsort(sorted, l->n, sizeof(*sorted), entry_cmp);
	}
	f = open_memstream(&buf, &len);
	if (!f) {
		free(sorted);
		return NULL;
	}
	fputs("# gpupart partition layout (gpupart(8), FILES). One GPU per line:\n"
	      "#   PCI-PATH  id=VVVV:DDDD subsystem=VVVV:DDDD count=N [series=Q|C|B|A] "
	      "[address=dddd:bb:dd.f]\n",
	      f);
	for (i = 0; i < l->n && r == 0; i++) {
		const struct gp_layout_entry *e = sorted[i];
		struct gp_record_out o;
		char lower[512], *q;
		const char *p;

		if (!e->path || strlen(e->path) >= sizeof(lower))
			continue;
		for (p = e->path, q = lower; *p; p++)
			*q++ = (char)tolower((unsigned char)*p);
		*q = 0;
		gp_record_begin(&o, lower);
		gp_record_kvf(&o, "id", "%04x:%04x", (unsigned)e->vendor & 0xffff,
			      (unsigned)e->device & 0xffff);
		gp_record_kvf(&o, "subsystem", "%04x:%04x", (unsigned)e->subsystem_vendor & 0xffff,
			      (unsigned)e->subsystem_device & 0xffff);
		gp_record_kvf(&o, "count", "%d", e->count);
		if (e->series)
			gp_record_kvf(&o, "series", "%c", toupper((unsigned char)e->series));
		if (e->address[0]) {
			for (p = e->address, q = lower; *p && q < lower + sizeof(lower) - 1; p++)
				*q++ = (char)tolower((unsigned char)*p);
			*q = 0;
			gp_record_kv(&o, "address", lower);
		}
		r = gp_record_end(&o, f);
	}
	free(sorted);
	if (fclose(f) != 0 || r < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

int gp_layout_read(struct gp_ctx *ctx, struct gp_layout *out)
{
	char *text = NULL, err[256], where[512];
	ssize_t n;
	int r;

	out->v = NULL;
	out->n = 0;
	n = gp_hostfs_read_all(ctx, GP_HP_CONFIG_FILE, GP_LAYOUT_FILE, &text);
	if (n == -ENOENT)
		return 0;
	if (gp_hostfs_abspath(ctx, GP_HP_CONFIG_FILE, GP_LAYOUT_FILE, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "%s", GP_LAYOUT_FILE);
	if (n < 0) {
		ERR(ctx, "%s: %s", where, strerror((int)-n));
		return (int)n;
	}
	if (memchr(text, 0, (size_t)n)) {
		ERR(ctx, "%s: not a text file", where);
		free(text);
		return -EINVAL;
	}
	r = gp_layout_parse(text, out, err, sizeof(err));
	free(text);
	if (r == -EINVAL)
		ERR(ctx, "%s: %s", where, err);
	return r;
}

int gp_layout_write(struct gp_ctx *ctx, const struct gp_layout *l)
{
	char *text = gp_layout_format(l), where[512];
	int r;

	if (!text)
		return -ENOMEM;
	r = gp_hostfs_write_file(ctx, GP_HP_CONFIG_DIR, GP_LAYOUT_FILE, text, strlen(text), 0644,
				 0755);
	free(text);
	if (r < 0) {
		if (gp_hostfs_abspath(ctx, GP_HP_CONFIG_FILE, GP_LAYOUT_FILE, where,
				      sizeof(where)) < 0)
			snprintf(where, sizeof(where), "%s", GP_LAYOUT_FILE);
		ERR(ctx, "%s: %s", where, strerror(-r));
	}
	return r;
}

int gp_layout_entry_for(const struct gp_device *dev, int count, char series,
			struct gp_layout_entry *out)
{
	char path[3 + 9 + 3 + PATH_MAX_HOPS * 5 + 1];
	int r;

	memset(out, 0, sizeof(*out));
	if (count < 0 || count > COUNT_MAX || (series && !series_ok(series)))
		return -EINVAL;
	if (dev->vendor < 0 || dev->device < 0 || dev->subsystem_vendor < 0 ||
	    dev->subsystem_device < 0)
		return -EINVAL; /* no stable identity without the IDs */
	r = gp_device_path_id(dev, path, sizeof(path));
	if (r < 0)
		return r;
	out->path = strdup(path);
	if (!out->path)
		return -ENOMEM;
	snprintf(out->address, sizeof(out->address), "%s", dev->address);
	out->vendor = dev->vendor;
	out->device = dev->device;
	out->subsystem_vendor = dev->subsystem_vendor;
	out->subsystem_device = dev->subsystem_device;
	out->count = count;
	out->series = series;
	out->line = 0;
	return 0;
}

int gp_layout_find(const struct gp_host *host, const char *path, const int ids[4],
		   struct gp_device **out)
{
	char buf[3 + 9 + 3 + PATH_MAX_HOPS * 5 + 1];
	size_t i;

	*out = NULL;
	if (!path)
		return -EINVAL;
	for (i = 0; i < host->n_devs; i++) {
		struct gp_device *d = host->devs[i];

		if (gp_device_path_id(d, buf, sizeof(buf)) < 0 || strcasecmp(buf, path) != 0)
			continue;
		/* the device found is handed back either way, so that a refusal can name it */
		*out = d;
		if (d->vendor != ids[0] || d->device != ids[1] || d->subsystem_vendor != ids[2] ||
		    d->subsystem_device != ids[3])
			return -ESTALE;
		return 0;
	}
	return -ENODEV;
}

int gp_layout_match(const struct gp_host *host, const struct gp_layout_entry *e,
		    struct gp_device **out)
{
	const int ids[4] = { e->vendor, e->device, e->subsystem_vendor, e->subsystem_device };

	return gp_layout_find(host, e->path, ids, out);
}

int gp_layout_file_path(struct gp_ctx *ctx, char *buf, size_t len)
{
	return gp_hostfs_abspath(ctx, GP_HP_CONFIG_FILE, GP_LAYOUT_FILE, buf, len);
}
