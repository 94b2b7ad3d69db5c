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

#define COUNT_MAX 4096
#define PATH_MAX_HOPS 64

/*
 * Checks a PCI path and writes its canonical (lowercase) form into buf (at least strlen+1
 * bytes). "pci" + 4..8 hex domain digits ':' 2 hex bus digits, then one or more
 * "/" 2-hex-device '.' 0-7 hops (device at most 1f).
 */
static int path_canon(const char *s, char *buf)
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
	long v = 0;

	if (!*s)
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		v = v * 10 + (*s - '0');
		if (v > COUNT_MAX)
			return -ERANGE;
	}
	*out = (int)v;
	return 0;
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

#define FAIL(...)                                                                   \
	do {                                                                        \
		if (err) {                                                          \
			int o_ = snprintf(err, errlen, "line %d: ", lineno);        \
			if (o_ > 0 && (size_t)o_ < errlen)                          \
				snprintf(err + o_, errlen - (size_t)o_, __VA_ARGS__); \
		}                                                                   \
		entry_free(e);                                                      \
		return -EINVAL;                                                     \
	} while (0)

/* One non-blank, non-comment line (modified in place) into e. */
static int parse_line(char *line, int lineno, struct gp_layout_entry *e, char *err,
		      size_t errlen)
{
	char *tok, *save = NULL, *path;
	bool have_id = false, have_sub = false, have_count = false, have_series = false,
	     have_addr = false;

	if (errlen == 0)
		err = NULL;
	memset(e, 0, sizeof(*e));
	e->line = lineno;
	path = strtok_r(line, " \t\r\v\f", &save);
	if (strchr(path, '='))
		FAIL("expected a PCI path (pciDDDD:BB/DD.F...) first, got '%s'", path);
	e->path = malloc(strlen(path) + 1);
	if (!e->path)
		return -ENOMEM;
	if (path_canon(path, e->path) < 0)
		FAIL("bad PCI path '%s' (want pciDDDD:BB/DD.F...)", path);
	while ((tok = strtok_r(NULL, " \t\r\v\f", &save))) {
		char *val = strchr(tok, '=');
		const char *key = tok;

		if (tok[0] == '#')
			break;
		if (!val)
			FAIL("expected key=value, got '%s'", tok);
		*val++ = 0;
		if (strcmp(key, "id") == 0) {
			if (have_id)
				FAIL("duplicate key 'id'");
			if (parse_idpair(val, &e->vendor, &e->device) < 0)
				FAIL("bad id '%s' (want VVVV:DDDD, hexadecimal)", val);
			have_id = true;
		} else if (strcmp(key, "subsystem") == 0) {
			if (have_sub)
				FAIL("duplicate key 'subsystem'");
			if (parse_idpair(val, &e->subsystem_vendor, &e->subsystem_device) < 0)
				FAIL("bad subsystem '%s' (want VVVV:DDDD, hexadecimal)", val);
			have_sub = true;
		} else if (strcmp(key, "count") == 0) {
			if (have_count)
				FAIL("duplicate key 'count'");
			if (parse_count(val, &e->count) < 0)
				FAIL("bad count '%s' (want an integer from 0 to %d)", val,
				     COUNT_MAX);
			have_count = true;
		} else if (strcmp(key, "series") == 0) {
			char c = (char)toupper((unsigned char)val[0]);

			if (have_series)
				FAIL("duplicate key 'series'");
			if (!series_ok(c) || val[1])
				FAIL("bad series '%s' (want Q, C, B or A)", val);
			e->series = c;
			have_series = true;
		} else if (strcmp(key, "address") == 0) {
			struct gp_pci_addr a;

			if (have_addr)
				FAIL("duplicate key 'address'");
			if (gp_pci_addr_parse(val, &a) < 0)
				FAIL("bad address '%s' (want dddd:bb:dd.f)", val);
			gp_pci_addr_format(&a, e->address);
			have_addr = true;
		} else {
			FAIL("unknown key '%s'", key);
		}
	}
	if (!have_id)
		FAIL("%s: missing id=VVVV:DDDD", e->path);
	if (!have_sub)
		FAIL("%s: missing subsystem=VVVV:DDDD", e->path);
	if (!have_count)
		FAIL("%s: missing count=N", e->path);
	return 0;
}
#undef FAIL

int gp_layout_parse(const char *text, struct gp_layout *out, char *err, size_t errlen)
{
	struct gp_layout l = { 0 };
	const char *p = text ? text : "";
	int lineno = 0, r;

	if (err && errlen)
		err[0] = 0;
	out->v = NULL;
	out->n = 0;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		struct gp_layout_entry e, *dup, *slot;
		char *line, *s;

		lineno++;
		line = strndup(p, len);
		if (!line) {
			gp_layout_clear(&l);
			return -ENOMEM;
		}
		p += len + (nl ? 1 : 0);
		for (s = line; *s && isspace((unsigned char)*s); s++)
			;
		if (!*s || *s == '#') {
			free(line);
			continue;
		}
		r = parse_line(s, lineno, &e, err, errlen);
		free(line);
		if (r < 0) {
			gp_layout_clear(&l);
			return r;
		}
		dup = find_path(&l, e.path);
		if (dup) {
			if (err && errlen)
				snprintf(err, errlen, "line %d: duplicate entry for %s (first on line %d)",
					 lineno, e.path, dup->line);
			entry_free(&e);
			gp_layout_clear(&l);
			return -EINVAL;
		}
		slot = GP_PUSH(l.v, l.n);
		if (!slot) {
			entry_free(&e);
			gp_layout_clear(&l);
			return -ENOMEM;
		}
		*slot = e;
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
	for (i = 0; i < l->n; i++) {
		const struct gp_layout_entry *e = sorted[i];
		const char *p;

		if (!e->path)
			continue;
		for (p = e->path; *p; p++)
			fputc(tolower((unsigned char)*p), f);
		fprintf(f, " id=%04x:%04x subsystem=%04x:%04x count=%d",
			(unsigned)e->vendor & 0xffff, (unsigned)e->device & 0xffff,
			(unsigned)e->subsystem_vendor & 0xffff,
			(unsigned)e->subsystem_device & 0xffff, e->count);
		if (e->series)
			fprintf(f, " series=%c", toupper((unsigned char)e->series));
		if (e->address[0]) {
			fputs(" address=", f);
			for (p = e->address; *p; p++)
				fputc(tolower((unsigned char)*p), f);
		}
		fputc('\n', f);
	}
	free(sorted);
	if (fclose(f) != 0) {
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

/* Whether a sysfs path component is "pciDDDD:BB" naming this domain and bus. */
static bool is_root_bus(const char *comp, size_t len, uint32_t domain, unsigned bus)
{
	char want[32];
	int n = snprintf(want, sizeof(want), "pci%04x:%02x", domain, bus);

	return n > 0 && (size_t)n == len && strncasecmp(comp, want, len) == 0;
}

/* The syspath holds the root bus component (a path below sys/devices, maybe "devices/..."). */
static bool syspath_has_root_bus(const char *syspath, uint32_t domain, unsigned bus)
{
	const char *p = syspath;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (is_root_bus(p, len, domain, bus))
			return true;
		if (!slash)
			break;
		p = slash + 1;
	}
	return false;
}

int gp_device_path_id(const struct gp_device *dev, char *buf, size_t len)
{
	const struct gp_device *hops[PATH_MAX_HOPS], *d, *top;
	size_t n = 0, used;
	int w;

	if (!dev || !buf || !len)
		return -EINVAL;
	/* from the device up while in its PCI domain: a VMD's domain starts at its own root
	 * bus, whatever the controller's own path is */
	for (d = dev; d; d = d->parent) {
		if (d->addr.domain != dev->addr.domain)
			break;
		if (n == PATH_MAX_HOPS)
			return -EINVAL; /* a loop, or an absurd depth */
		hops[n++] = d;
	}
	top = hops[n - 1];
	/* the topmost function in the domain sits on the root bus: the sysfs path must say so
	 * (a chain that stops short, say an unread bridge, is not a stable identity) */
	if (dev->syspath && !syspath_has_root_bus(dev->syspath, top->addr.domain, top->addr.bus))
		return -EINVAL;
	w = snprintf(buf, len, "pci%04x:%02x", top->addr.domain, top->addr.bus);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	used = (size_t)w;
	while (n--) {
		w = snprintf(buf + used, len - used, "/%02x.%x", hops[n]->addr.dev, hops[n]->addr.fn);
		if (w < 0 || (size_t)w >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)w;
	}
	return 0;
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

int gp_layout_match(const struct gp_host *host, const struct gp_layout_entry *e,
		    struct gp_device **out)
{
	char path[3 + 9 + 3 + PATH_MAX_HOPS * 5 + 1];
	size_t i;

	*out = NULL;
	if (!e->path)
		return -EINVAL;
	for (i = 0; i < host->n_devs; i++) {
		struct gp_device *d = host->devs[i];

		if (gp_device_path_id(d, path, sizeof(path)) < 0 || strcasecmp(path, e->path) != 0)
			continue;
		/* the device found is handed back either way, so that a refusal can name it */
		*out = d;
		if (d->vendor != e->vendor || d->device != e->device ||
		    d->subsystem_vendor != e->subsystem_vendor ||
		    d->subsystem_device != e->subsystem_device)
			return -ESTALE;
		return 0;
	}
	return -ENODEV;
}
