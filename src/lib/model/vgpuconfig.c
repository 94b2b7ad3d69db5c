/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vgpuConfig.xml into a catalogue (model/vgpuconfig.h). The shape, as the vGPU manager ships
 * it and as xapi reads it (ocaml/xapi/xapi_vgpu_type.ml):
 *
 *   <vgpuconfig> <version/> <globalSettings/>
 *     <vgpuType id="11" name="GRID M60-0B" class="NVS">
 *       <devId vendorId="0x10DE" deviceId="0x13F2" .../>       the virtual device
 *       <framebuffer>0x1A000000</framebuffer> <profileSize>0x20000000</profileSize> ...
 *     </vgpuType> ...
 *     <pgpu> <devId vendorId="0x10de" deviceId="0x1BB4" subsystemVendorId="0x10de"
 *                   subsystemId="0x0"/>                         the physical board
 *       <supportedVgpu vgpuId="72"><maxVgpus>16</maxVgpus><digest .../></supportedVgpu> ...
 *     </pgpu> ...
 *
 * Elements gpupart does not read are ignored; the ones it reads are checked strictly.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "host/xml.h"
#include "model/vgpuconfig.h"

/* Bounds no real file comes near (vGPU 17: some 2000 types, 200 boards, 100 types each). */
#define MAX_TYPES 16384
#define MAX_PGPUS 4096
#define MAX_SUPPORTED 2048
#define MAX_NAME 128
#define MAX_VGPUS 4096
#define MAX_PROFILE (1ull << 50) /* a pebibyte of framebuffer is garbage */

struct cfg_type {
	int id;
	char *name;
	int64_t profile;
};

struct cfg_supported {
	int vgpu_id;
	int max;
};

struct cfg_pgpu {
	int device, subvendor, subsystem;
	struct cfg_supported *sup;
	size_t n_sup;
};

struct gp_vgpuconfig {
	struct cfg_type *types; /* sorted by id */
	size_t n_types;
	struct cfg_pgpu *pgpus;
	size_t n_pgpus;
};

struct parse {
	struct gp_vgpuconfig *c;
	char *why;
	size_t why_len;
};

static int bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (p->why_len)
		vsnprintf(p->why, p->why_len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* "0x" and 1 to 16 hex digits, or decimal digits only; at most @max. */
static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
	unsigned long long v = 0;
	size_t i, n;

	if (!s)
		return -EINVAL;
	if (s[0] != '0' || (s[1] != 'x' && s[1] != 'X')) {
		if (gp_parse_dec(s, max, 0, &v) < 0)
			return -EINVAL;
		*out = v;
		return 0;
	}
	n = strlen(s + 2);
	if (n == 0 || n > 16)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		unsigned d;
		const char *q = s + 2 + i;

		if (gp_parse_hexn(&q, 1, &d) < 0)
			return -EINVAL;
		v = v << 4 | d;
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Attribute @name of @n as a number up to @max; -EINVAL when absent or not one. */
static int prop_num(const struct gp_xml_node *n, const char *name, uint64_t max, uint64_t *out)
{
	_cleanup_(freep) char *s = gp_xml_prop(n, name);

	if (!s && errno == ENOMEM)
		return -ENOMEM;
	return parse_num(s, max, out);
}

/* The text of child element @name of @n as a number; -ENOENT when there is no such child. */
static int child_num(const struct gp_xml_node *n, const char *name, uint64_t max, uint64_t *out)
{
	const struct gp_xml_node *c = gp_xml_child(n, name);
	_cleanup_(freep) char *s = NULL;

	if (!c)
		return -ENOENT;
	s = gp_xml_text(c);
	if (!s)
		return -ENOMEM;
	return parse_num(s, max, out);
}

/* A type name people read and gpupart prints: printable ASCII, not empty, bounded. */
static bool name_ok(const char *s)
{
	size_t i, n = s ? strlen(s) : 0;

	if (n == 0 || n >= MAX_NAME)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

static int add_type(struct parse *p, const struct gp_xml_node *n)
{
	struct cfg_type *t;
	uint64_t id, size;
	char series;
	bool mig;
	int64_t fb;
	int r;

	if (p->c->n_types >= MAX_TYPES)
		return bad(p, "more than %d vgpuType entries", MAX_TYPES);
	r = prop_num(n, "id", 0x7fffffff, &id);
	if (r < 0 || id == 0)
		return r == -ENOMEM ? r : bad(p, "a vgpuType without a valid id");
	t = GP_PUSH(p->c->types, p->c->n_types);
	if (!t)
		return -ENOMEM;
	t->id = (int)id;
	t->name = gp_xml_prop(n, "name");
	if (!t->name && errno == ENOMEM)
		return -ENOMEM;
	if (!name_ok(t->name))
		return bad(p, "vgpuType %d: no valid name", t->id);
	/* profileSize is the size the name states; files without it state it in the name */
	r = child_num(n, "profileSize", MAX_PROFILE, &size);
	if (r == -ENOENT) {
		if (gp_vgpu_type_parse_name(t->name, &series, &mig, &fb) < 0 || fb <= 0)
			return bad(p, "vgpuType %d: no profileSize", t->id);
		size = (uint64_t)fb;
	} else if (r < 0 || size == 0) {
		return r == -ENOMEM ? r : bad(p, "vgpuType %d: a profileSize that is not a size", t->id);
	}
	t->profile = (int64_t)size;
	return 0;
}

static int add_supported(struct parse *p, struct cfg_pgpu *g, const struct gp_xml_node *n)
{
	struct cfg_supported *s;
	uint64_t id = 0, max = 0;
	int r;

	if (g->n_sup >= MAX_SUPPORTED)
		return bad(p, "pgpu %04x: more than %d supportedVgpu entries", g->device,
			   MAX_SUPPORTED);
	r = prop_num(n, "vgpuId", 0x7fffffff, &id);
	if (r == 0 && id > 0)
		r = child_num(n, "maxVgpus", MAX_VGPUS, &max);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || id == 0 || max == 0)
		return bad(p, "pgpu %04x:%04x: a supportedVgpu without a valid vgpuId and maxVgpus",
			   g->device, g->subsystem);
	s = GP_PUSH(g->sup, g->n_sup);
	if (!s)
		return -ENOMEM;
	s->vgpu_id = (int)id;
	s->max = (int)max;
	return 0;
}

static int add_pgpu(struct parse *p, const struct gp_xml_node *n)
{
	const struct gp_xml_node *dev = gp_xml_child(n, "devId"), *c;
	uint64_t vendor, device, subvendor, subsystem;
	struct cfg_pgpu *g;
	int r;

	if (p->c->n_pgpus >= MAX_PGPUS)
		return bad(p, "more than %d pgpu entries", MAX_PGPUS);
	if (!dev)
		return bad(p, "a pgpu without devId");
	if ((r = prop_num(dev, "vendorId", 0xffff, &vendor)) < 0 ||
	    (r = prop_num(dev, "deviceId", 0xffff, &device)) < 0 ||
	    (r = prop_num(dev, "subsystemVendorId", 0xffff, &subvendor)) < 0 ||
	    (r = prop_num(dev, "subsystemId", 0xffff, &subsystem)) < 0)
		return r == -ENOMEM ? r : bad(p, "a pgpu devId without valid PCI IDs");
	if (vendor != 0x10de)
		return bad(p, "a pgpu of vendor %04x, not NVIDIA's", (unsigned)vendor);
	g = GP_PUSH(p->c->pgpus, p->c->n_pgpus);
	if (!g)
		return -ENOMEM;
	g->device = (int)device;
	g->subvendor = (int)subvendor;
	g->subsystem = (int)subsystem;
	for (c = gp_xml_child(n, "supportedVgpu"); c; c = gp_xml_next(c, "supportedVgpu")) {
		r = add_supported(p, g, c);
		if (r < 0)
			return r;
	}
	return 0;
}

static int type_cmp(const void *a, const void *b)
{
	const struct cfg_type *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

static int supported_cmp(const void *a, const void *b)
{
	const struct cfg_supported *x = a, *y = b;

	return x->vgpu_id < y->vgpu_id ? -1 : x->vgpu_id > y->vgpu_id;
}

static const struct cfg_type *find_type(const struct gp_vgpuconfig *c, int id)
{
	const struct cfg_type key = { .id = id };

	return c->n_types ? bsearch(&key, c->types, c->n_types, sizeof(key), type_cmp) : NULL;
}

/* One of each type and board, and every supported type declared. */
static int check_refs(struct parse *p)
{
	struct gp_vgpuconfig *c = p->c;
	size_t i, j;

	if (c->n_types > 1)
		qsort(c->types, c->n_types, sizeof(*c->types), type_cmp);
	for (i = 1; i < c->n_types; i++)
		if (c->types[i].id == c->types[i - 1].id)
			return bad(p, "vgpuType %d declared twice", c->types[i].id);
	for (i = 0; i < c->n_pgpus; i++) {
		const struct cfg_pgpu *g = &c->pgpus[i];
		_cleanup_(freep) struct cfg_supported *s = NULL;

		for (j = 0; j < i; j++)
			if (c->pgpus[j].device == g->device && c->pgpus[j].subsystem == g->subsystem &&
			    c->pgpus[j].subvendor == g->subvendor)
				return bad(p, "pgpu %04x:%04x listed twice", g->device, g->subsystem);
		for (j = 0; j < g->n_sup; j++)
			if (!find_type(c, g->sup[j].vgpu_id))
				return bad(p, "pgpu %04x:%04x supports vgpuType %d, never declared",
					   g->device, g->subsystem, g->sup[j].vgpu_id);
		/* sorted copy: the file's order is the catalogue's */
		if (g->n_sup && !(s = malloc(g->n_sup * sizeof(*s))))
			return -ENOMEM;
		if (g->n_sup)
			memcpy(s, g->sup, g->n_sup * sizeof(*s));
		if (g->n_sup > 1)
			qsort(s, g->n_sup, sizeof(*s), supported_cmp);
		for (j = 1; j < g->n_sup; j++)
			if (s[j].vgpu_id == s[j - 1].vgpu_id)
				return bad(p, "pgpu %04x:%04x lists vgpuType %d twice", g->device,
					   g->subsystem, s[j].vgpu_id);
	}
	return 0;
}

void gp_vgpuconfig_free(struct gp_vgpuconfig *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->n_types; i++)
		free(c->types[i].name);
	for (i = 0; i < c->n_pgpus; i++)
		free(c->pgpus[i].sup);
	free(c->types);
	free(c->pgpus);
	free(c);
}

static int parse_doc(struct parse *p, const struct gp_xml_doc *doc)
{
	const struct gp_xml_node *root = gp_xml_root(doc), *n;
	int r = 0;

	if (strcmp(gp_xml_name(root), "vgpuconfig"))
		return bad(p, "the root element is <%s>, not <vgpuconfig>", gp_xml_name(root));
	for (n = gp_xml_child(root, NULL); n && r == 0; n = gp_xml_next(n, NULL)) {
		if (!strcmp(gp_xml_name(n), "vgpuType"))
			r = add_type(p, n);
		else if (!strcmp(gp_xml_name(n), "pgpu"))
			r = add_pgpu(p, n);
	}
	if (r == 0 && (!p->c->n_types || !p->c->n_pgpus))
		r = bad(p, "no vgpuType or no pgpu");
	return r < 0 ? r : check_refs(p);
}

int gp_vgpuconfig_parse(struct gp_ctx *ctx, const char *text, size_t len,
			struct gp_vgpuconfig **out, char *why, size_t why_len)
{
	struct parse p = { .why = why, .why_len = why_len };
	struct gp_xml_doc *doc;
	int r;

	*out = NULL;
	if (why_len)
		*why = 0;
	if (len > GP_VGPUCONFIG_MAX_BYTES)
		return bad(&p, "over %u bytes", GP_VGPUCONFIG_MAX_BYTES);
	r = gp_xml_parse(ctx, "vgpuConfig.xml", text, len, 0, &doc);
	if (r == -EINVAL)
		return bad(&p, "not well-formed XML, or a DOCTYPE that declares entities");
	if (r < 0)
		return r;
	p.c = calloc(1, sizeof(*p.c));
	r = p.c ? parse_doc(&p, doc) : -ENOMEM;
	gp_xml_free(doc);
	if (r < 0) {
		gp_vgpuconfig_free(p.c);
		return r;
	}
	*out = p.c;
	return 0;
}

/* The board's pgpu: its exact subsystem first, then the wildcard (subsystemId 0x0). */
static const struct cfg_pgpu *find_pgpu(const struct gp_vgpuconfig *c, int device,
					int subvendor, int subdevice)
{
	const struct cfg_pgpu *any = NULL;
	size_t i;

	for (i = 0; i < c->n_pgpus; i++) {
		const struct cfg_pgpu *g = &c->pgpus[i];

		if (g->device != device)
			continue;
		if (g->subsystem == 0 && !any)
			any = g;
		else if (g->subsystem == subdevice && g->subvendor == subvendor)
			return g;
	}
	return any;
}

int gp_vgpuconfig_catalogue(const struct gp_vgpuconfig *c, int vendor, int device,
			    int subvendor, int subdevice, struct gp_vgpu_type **out, size_t *n)
{
	const struct cfg_pgpu *g = vendor == 0x10de ? find_pgpu(c, device, subvendor, subdevice)
						    : NULL;
	struct gp_vgpu_type *v = NULL;
	size_t i;

	*out = NULL;
	*n = 0;
	if (!g || !g->n_sup)
		return 0;
	v = calloc(g->n_sup, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < g->n_sup; i++) {
		const struct cfg_type *t = find_type(c, g->sup[i].vgpu_id); /* checked at parse */
		int64_t fb;

		v[i].type_id = t->id;
		v[i].name = strdup(t->name);
		if (!v[i].name || asprintf(&v[i].key, "%d", t->id) < 0) {
			v[i].key = NULL;
			gp_vgpu_types_free(v, i + 1);
			return -ENOMEM;
		}
		gp_vgpu_type_parse_name(t->name, &v[i].series, &v[i].mig, &fb);
		v[i].fb_bytes = t->profile;
		v[i].max_instances = g->sup[i].max;
		v[i].max_from_driver = true;
		v[i].available = GP_UNKNOWN;
	}
	*out = v;
	*n = g->n_sup;
	return 0;
}

char *gp_vgpu_board_name(const struct gp_vgpu_type *t, size_t n)
{
	const struct gp_vgpu_type *whole = NULL;
	const char *dash;
	size_t i;

	for (i = 0; i < n; i++)
		if (!t[i].mig && t[i].name && t[i].fb_bytes > 0 &&
		    (!whole || t[i].fb_bytes > whole->fb_bytes))
			whole = &t[i];
	dash = whole ? strrchr(whole->name, '-') : NULL;
	if (!dash || dash == whole->name)
		return NULL;
	return strndup(whole->name, (size_t)(dash - whole->name));
}
