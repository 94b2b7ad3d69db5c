/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A domain's inactive XML for DDA, as a tree (see domxml.h). The elements, as libvirt 9
 * reads them (docs/formatdomain.rst; src/conf/domain_conf.c):
 *   <devices><controller type='pci' index='0' model='pcie-root'><pcihole64 unit='KiB'>N
 *     QEMU's q35 "pci-hole64-size" (hw/pci-host/q35.c): the 64-bit window the firmware may
 *     place BARs in;
 *   <qemu:commandline><qemu:arg value='-fw_cfg'/><qemu:arg value='name=opt/ovmf/
 *     X-PciMmio64Mb,string=MB'/> OVMF's own aperture (OvmfPkg/Library/PlatformInitLib,
 *     PlatformDynamicMmioWindow / the X-PciMmio64Mb fw_cfg file): without it OVMF sizes the
 *     window from the guest's address width and may leave a large BAR unassigned. libvirt 9
 *     refuses opt/ovmf/ names in <sysinfo type='fwcfg'> ("That firmware name is reserved"),
 *     so it goes through the qemu namespace, which taints the domain "custom-argv";
 *   <cpu><maxphysaddr mode='emulate' bits='N'/> the guest's physical address width (QEMU's
 *     phys-bits): the window must lie below 2^N.
 * QEMU sizes the 32-bit window itself (below 4 GiB, from the machine's layout): there is
 * nothing to set for it.
 *
 * What attach changed is recorded in the domain's own <metadata> (gpupart's namespace), not in
 * a file of gpupart's: it travels with the domain (virsh dumpxml, migration, a backup of
 * /etc/libvirt), cannot drift from it when the domain is edited or renamed, and goes when the
 * domain is undefined.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>

#include "base/internal.h"
#include "host/xml.h"
#include "virt/domxml.h"

#define FWCFG_PREFIX "name=opt/ovmf/X-PciMmio64Mb,string="

struct dom {
	struct gp_xml_doc *doc;
	struct gp_xml_node *root;
};

static void dom_free(struct dom *d)
{
	gp_xml_free(d->doc);
}

static int dom_parse(const char *xml, struct dom *d)
{
	int r;

	d->doc = NULL;
	if (!xml)
		return -EINVAL;
	r = gp_xml_parse(NULL, "domain XML", xml, strlen(xml), GP_XML_NO_DOCTYPE, &d->doc);
	if (r < 0)
		return r;
	d->root = gp_xml_edit(d->doc, gp_xml_root(d->doc));
	if (strcmp(gp_xml_name(d->root), "domain")) {
		gp_xml_free(d->doc);
		d->doc = NULL;
		return -EINVAL;
	}
	return 0;
}

static struct gp_xml_node *child(struct dom *d, const struct gp_xml_node *n, const char *name)
{
	const struct gp_xml_node *c = n ? gp_xml_child(n, name) : NULL;

	return c ? gp_xml_edit(d->doc, c) : NULL;
}

/* The first child element @name whose attribute @attr is @value. */
static struct gp_xml_node *child_with(struct dom *d, const struct gp_xml_node *n,
				      const char *name, const char *attr, const char *value)
{
	const struct gp_xml_node *c;

	for (c = n ? gp_xml_child(n, name) : NULL; c; c = gp_xml_next(c, name)) {
		_cleanup_(freep) char *v = gp_xml_prop(c, attr);

		if (gp_str_eq(v, value))
			return gp_xml_edit(d->doc, c);
	}
	return NULL;
}

/* A number as libvirt writes it (plain decimal), -1 when absent or malformed. */
static int64_t num(const char *s)
{
	unsigned long long v;

	return s && gp_parse_dec(s, INT64_MAX, 0, &v) == 0 ? (int64_t)v : -1;
}

static int64_t prop_num(const struct gp_xml_node *n, const char *attr)
{
	_cleanup_(freep) char *s = n ? gp_xml_prop(n, attr) : NULL;

	return num(s);
}

static int64_t text_num(const struct gp_xml_node *n)
{
	_cleanup_(freep) char *s = n ? gp_xml_text(n) : NULL;

	return num(s);
}

/* A size element (<memory unit='KiB'>) in KiB; libvirt's units (virScaleInteger). */
static int64_t size_kib(const struct gp_xml_node *n)
{
	static const struct {
		const char *unit;
		int shift; /* from KiB: negative divides */
	} units[] = { { "b", -10 }, { "bytes", -10 }, { "KiB", 0 }, { "k", 0 }, { "K", 0 },
		      { "MiB", 10 }, { "M", 10 }, { "GiB", 20 }, { "G", 20 }, { "TiB", 30 },
		      { "T", 30 } };
	_cleanup_(freep) char *unit = n ? gp_xml_prop(n, "unit") : NULL;
	int64_t v = text_num(n);
	size_t i;

	if (v < 0)
		return -1;
	for (i = 0; i < ARRAY_SIZE(units); i++)
		if (!unit || !strcmp(unit, units[i].unit))
			return units[i].shift < 0 ? v >> -units[i].shift :
						    (v > (INT64_MAX >> units[i].shift) ? INT64_MAX :
											  v << units[i].shift);
	return -1;
}

static struct gp_xml_node *root_controller(struct dom *d)
{
	struct gp_xml_node *devs = child(d, d->root, "devices");
	const struct gp_xml_node *c;

	for (c = devs ? gp_xml_child(devs, "controller") : NULL; c; c = gp_xml_next(c, "controller")) {
		_cleanup_(freep) char *type = gp_xml_prop(c, "type");
		_cleanup_(freep) char *model = gp_xml_prop(c, "model");

		if (gp_str_eq(type, "pci") && (gp_str_eq(model, "pcie-root") || gp_str_eq(model, "pci-root")))
			return gp_xml_edit(d->doc, c);
	}
	return NULL;
}

/* The qemu:commandline <qemu:arg> holding OVMF's aperture, if any. */
static struct gp_xml_node *fwcfg_arg(struct dom *d, int64_t *mb)
{
	const struct gp_xml_node *cl, *a;

	*mb = -1;
	for (cl = gp_xml_child(d->root, "commandline"); cl; cl = gp_xml_next(cl, "commandline")) {
		if (!gp_str_eq(gp_xml_ns(cl), GP_DOMXML_QEMU_NS))
			continue;
		for (a = gp_xml_child(cl, "arg"); a; a = gp_xml_next(a, "arg")) {
			_cleanup_(freep) char *v = gp_xml_prop(a, "value");

			if (v && !strncmp(v, FWCFG_PREFIX, strlen(FWCFG_PREFIX))) {
				*mb = num(v + strlen(FWCFG_PREFIX));
				return gp_xml_edit(d->doc, a);
			}
		}
	}
	return NULL;
}

static struct gp_xml_node *record_of(struct dom *d)
{
	struct gp_xml_node *md = child(d, d->root, "metadata");
	const struct gp_xml_node *c;

	for (c = md ? gp_xml_child(md, "dda") : NULL; c; c = gp_xml_next(c, "dda"))
		if (gp_str_eq(gp_xml_ns(c), GP_DOMXML_NS))
			return gp_xml_edit(d->doc, c);
	return NULL;
}

struct named {
	const char *const *fns;
	size_t n_fns;
	size_t n;
};

static int count_named(const struct gp_xml_node *addr, void *data)
{
	/* libvirt writes these in hex ("0x65") and reads them with base 0 */
	static const char *const attrs[] = { "domain", "bus", "slot", "function" };
	struct named *nm = data;
	unsigned long v[4];
	char buf[24];
	size_t i;

	for (i = 0; i < 4; i++) {
		_cleanup_(freep) char *s = gp_xml_prop(addr, attrs[i]);

		v[i] = s ? strtoul(s, NULL, 0) : 0;
	}
	snprintf(buf, sizeof(buf), "%04lx:%02lx:%02lx.%lx", v[0], v[1], v[2], v[3]);
	for (i = 0; i < nm->n_fns; i++)
		if (!strcasecmp(nm->fns[i], buf))
			nm->n++;
	return 0;
}

/* What assign's picker and owner need: the UUID, the NUMA node its memory is bound to (the
 * first of <numatune><memory nodeset>), the host CPUs its vCPUs may run on. */
static int part_facts(struct dom *d, struct gp_virt_domain *out)
{
	struct gp_xml_node *n = child(d, d->root, "uuid"), *mem;
	_cleanup_(freep) char *uuid = n ? gp_xml_text(n) : NULL;
	_cleanup_(freep) char *set = NULL;
	size_t i;

	for (i = 0; uuid && uuid[i] && i < sizeof(out->uuid) - 1; i++)
		out->uuid[i] = (char)tolower((unsigned char)uuid[i]);
	out->uuid[i] = 0;
	mem = child(d, child(d, d->root, "numatune"), "memory");
	set = mem ? gp_xml_prop(mem, "nodeset") : NULL;
	out->numa_node = set && isdigit((unsigned char)set[0]) ? atoi(set) : -1;
	n = child(d, d->root, "vcpu");
	free(out->cpuset);
	out->cpuset = n ? gp_xml_prop(n, "cpuset") : NULL;
	return 0;
}

int gp_domxml_facts(const char *xml, const char *const *fns, size_t n_fns,
		    struct gp_virt_domain *out)
{
	struct named nm = { fns, n_fns, 0 };
	struct gp_xml_node *os, *type, *loader, *cpu, *mp, *rc;
	struct dom d;
	int64_t mem, maxmem;
	int r = dom_parse(xml, &d);

	if (r < 0)
		return r;
	os = child(&d, d.root, "os");
	type = child(&d, os, "type");
	{
		_cleanup_(freep) char *machine = type ? gp_xml_prop(type, "machine") : NULL;
		_cleanup_(freep) char *fw = os ? gp_xml_prop(os, "firmware") : NULL;
		_cleanup_(freep) char *lpath = NULL;

		loader = child(&d, os, "loader");
		lpath = loader ? gp_xml_text(loader) : NULL;
		out->q35 = machine && strstr(machine, "q35");
		out->ovmf = gp_str_eq(fw, "efi") || (lpath && (strcasestr(lpath, "ovmf") ||
							       strcasestr(lpath, "edk2")));
	}
	rc = root_controller(&d);
	mp = child(&d, rc, "pcihole64");
	out->pcihole64_kib = mp ? size_kib(mp) : -1;
	cpu = child(&d, d.root, "cpu");
	mp = child(&d, cpu, "maxphysaddr");
	out->maxphys_bits = mp ? (int)prop_num(mp, "bits") : -1;
	{
		_cleanup_(freep) char *mode = mp ? gp_xml_prop(mp, "mode") : NULL;

		out->maxphys_passthrough = gp_str_eq(mode, "passthrough");
		if (out->maxphys_passthrough && out->maxphys_bits < 0)
			out->maxphys_bits = 0;
	}
	mem = size_kib(child(&d, d.root, "memory"));
	maxmem = size_kib(child(&d, d.root, "maxMemory"));
	out->memory_kib = maxmem > mem ? maxmem : mem;
	fwcfg_arg(&d, &out->fwcfg_mb);
	out->recorded = record_of(&d) != NULL;
	r = gp_xml_each(d.doc, d.root,
			"devices/hostdev[(not(@mode) or @mode='subsystem') and @type='pci']/source/address",
			count_named, &nm);
	out->n_named = nm.n;
	if (r >= 0)
		r = part_facts(&d, out);
	dom_free(&d);
	return r;
}

/* ---- the guest slot ---- */

static int bus_used(const struct gp_xml_node *addr, void *data)
{
	bool *used = data;
	_cleanup_(freep) char *bus = gp_xml_prop(addr, "bus");

	if (bus && strtoul(bus, NULL, 0) < 256)
		used[strtoul(bus, NULL, 0)] = true;
	return 0;
}

int gp_domxml_free_port(const char *xml)
{
	bool used[256] = { false };
	const struct gp_xml_node *devs, *c;
	struct dom d;
	int r = dom_parse(xml, &d), found = -ENOENT;

	if (r < 0)
		return r;
	r = gp_xml_each(d.doc, d.root, "devices//address[@type='pci']", bus_used, used);
	devs = gp_xml_child(d.root, "devices");
	for (c = devs ? gp_xml_child(devs, "controller") : NULL; r >= 0 && c && found < 0;
	     c = gp_xml_next(c, "controller")) {
		_cleanup_(freep) char *model = gp_xml_prop(c, "model");
		int64_t idx = prop_num(c, "index");

		if (gp_str_eq(model, "pcie-root-port") && idx > 0 && idx < 256 && !used[idx])
			found = (int)idx;
	}
	dom_free(&d);
	return r < 0 ? r : found;
}

int gp_domxml_add_port(const char *xml, char **out)
{
	struct gp_xml_node *devs, *c;
	struct dom d;
	int r = dom_parse(xml, &d);

	*out = NULL;
	if (r < 0)
		return r;
	devs = child(&d, d.root, "devices");
	r = -ENOMEM;
	if (devs && (c = gp_xml_add(devs, NULL, NULL, "controller", NULL)) &&
	    gp_xml_set(c, "type", "pci") == 0 && gp_xml_set(c, "model", "pcie-root-port") == 0)
		r = gp_xml_dump(d.doc, out);
	else if (!devs)
		r = -EINVAL;
	dom_free(&d);
	return r;
}

/* ---- the MMIO edits and their record ---- */

static int set_num(struct gp_xml_node *n, const char *attr, int64_t v)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return attr ? gp_xml_set(n, attr, buf) : gp_xml_set_text(n, buf);
}

static const char *shown(int64_t v, char *buf, size_t len, const char *unit)
{
	if (v < 0)
		return "none";
	snprintf(buf, len, "%" PRId64 "%s", v, unit);
	return buf;
}

/* pcihole64: raised to the window, never lowered. The record keeps what was there. */
static int edit_hole(struct dom *d, const struct gp_virt_dda *a, struct gp_xml_node *rec,
		     char ***lines, size_t *n)
{
	struct gp_xml_node *rc = root_controller(d), *h;
	int64_t want = (int64_t)(a->window_bytes >> 10), have;
	char b1[32], b2[32];

	if (!want)
		return 0;
	if (!rc)
		return -EINVAL; /* libvirt always writes the root controller of a q35 domain */
	h = child(d, rc, "pcihole64");
	have = h ? size_kib(h) : -1;
	if (have >= want)
		return 0;
	if (!h && !(h = gp_xml_add(rc, NULL, NULL, "pcihole64", NULL)))
		return -ENOMEM;
	if (gp_xml_set(h, "unit", "KiB") < 0 || set_num(h, NULL, want) < 0 ||
	    (have >= 0 ? set_num(rec, "pcihole64-before", have) : gp_xml_set(rec, "pcihole64-before", "none")) < 0)
		return -ENOMEM;
	return gp_strv_pushf(lines, n, "pcihole64: %s -> %s", shown(have, b1, sizeof(b1), " KiB"),
		    shown(want, b2, sizeof(b2), " KiB"));
}

/* OVMF's aperture, in MiB, on the qemu:commandline: raised, never lowered. */
static int edit_fwcfg(struct dom *d, const struct gp_virt_dda *a, bool ovmf,
		      struct gp_xml_node *rec, char ***lines, size_t *n)
{
	int64_t want = (int64_t)(a->window_bytes >> 20), have;
	struct gp_xml_node *arg = fwcfg_arg(d, &have), *cl, *x;
	char val[64], b1[32], b2[32];

	if (!ovmf || !want || have >= want)
		return 0;
	snprintf(val, sizeof(val), FWCFG_PREFIX "%" PRId64, want);
	if (arg) {
		if (gp_xml_set(arg, "value", val) < 0 || set_num(rec, "fwcfg-before", have) < 0)
			return -ENOMEM;
	} else {
		cl = NULL;
		for (x = child(d, d->root, "commandline"); x;
		     x = gp_xml_edit(d->doc, gp_xml_next(x, "commandline")))
			if (gp_str_eq(gp_xml_ns(x), GP_DOMXML_QEMU_NS))
				cl = x;
		if (!cl) {
			if (!(cl = gp_xml_add(d->root, GP_DOMXML_QEMU_NS, "qemu", "commandline", NULL)) ||
			    gp_xml_set(rec, "commandline", "added") < 0)
				return -ENOMEM;
		}
		if (!(x = gp_xml_add(cl, GP_DOMXML_QEMU_NS, "qemu", "arg", NULL)) ||
		    gp_xml_set(x, "value", "-fw_cfg") < 0 ||
		    !(x = gp_xml_add(cl, GP_DOMXML_QEMU_NS, "qemu", "arg", NULL)) ||
		    gp_xml_set(x, "value", val) < 0 || gp_xml_set(rec, "fwcfg-before", "none") < 0)
			return -ENOMEM;
	}
	return gp_strv_pushf(lines, n, "qemu:commandline -fw_cfg opt/ovmf/X-PciMmio64Mb: %s -> %s",
		    shown(have, b1, sizeof(b1), " MiB"), shown(want, b2, sizeof(b2), " MiB"));
}

/* The guest's address width: raised, never lowered; passthrough (the host's) is kept. */
static int edit_phys(struct dom *d, const struct gp_virt_dda *a, struct gp_xml_node *rec,
		     char ***lines, size_t *n)
{
	struct gp_xml_node *cpu, *mp;
	_cleanup_(freep) char *mode = NULL;
	int64_t have;
	char b1[32];

	if (a->phys_bits <= 0)
		return 0;
	cpu = child(d, d->root, "cpu");
	mp = child(d, cpu, "maxphysaddr");
	mode = mp ? gp_xml_prop(mp, "mode") : NULL;
	have = mp ? prop_num(mp, "bits") : -1;
	if (gp_str_eq(mode, "passthrough") || have >= a->phys_bits)
		return 0;
	if (!cpu && !(cpu = gp_xml_add(d->root, NULL, NULL, "cpu", NULL)))
		return -ENOMEM;
	if (!mp && !(mp = gp_xml_add(cpu, NULL, NULL, "maxphysaddr", NULL)))
		return -ENOMEM;
	if (gp_xml_set(rec, "maxphysaddr-before",
		       mode ? (have >= 0 ? "emulate" : mode) : "none") < 0 ||
	    (have >= 0 && set_num(rec, "maxphysaddr-bits-before", have) < 0) ||
	    gp_xml_set(mp, "mode", "emulate") < 0 || set_num(mp, "bits", a->phys_bits) < 0)
		return -ENOMEM;
	return gp_strv_pushf(lines, n, "cpu maxphysaddr: %s -> emulate, %d bits",
		    shown(have, b1, sizeof(b1), " bits"), a->phys_bits);
}

static struct gp_xml_node *new_record(struct dom *d, const struct gp_virt_dda *a, int bus,
				      bool port_added)
{
	struct gp_xml_node *md = child(d, d->root, "metadata"), *rec, *f;
	size_t i;

	if (!md && !(md = gp_xml_add(d->root, NULL, NULL, "metadata", NULL)))
		return NULL;
	rec = gp_xml_add(md, GP_DOMXML_NS, GP_DOMXML_NS_PREFIX, "dda", NULL);
	if (!rec || gp_xml_set(rec, "version", "1") < 0 || set_num(rec, "bus", bus) < 0 ||
	    (port_added && gp_xml_set(rec, "root-port", "added") < 0))
		return NULL;
	for (i = 0; i < a->n_fns; i++)
		if (!(f = gp_xml_add(rec, GP_DOMXML_NS, GP_DOMXML_NS_PREFIX, "function", NULL)) ||
		    gp_xml_set(f, "address", a->fns[i]) < 0)
			return NULL;
	return rec;
}

int gp_domxml_attach(const char *xml, const struct gp_virt_dda *a, int bus, bool port_added,
		     char **out, char ***lines, size_t *n_lines)
{
	struct gp_virt_domain facts = { 0 };
	struct gp_xml_node *rec;
	struct dom d;
	int r;

	*out = NULL;
	*lines = NULL;
	*n_lines = 0;
	r = gp_domxml_facts(xml, NULL, 0, &facts);
	if (r < 0)
		return r;
	if (facts.recorded)
		return -EEXIST;
	r = dom_parse(xml, &d);
	if (r < 0)
		return r;
	rec = new_record(&d, a, bus, port_added);
	r = rec ? 0 : -ENOMEM;
	if (r >= 0)
		r = edit_hole(&d, a, rec, lines, n_lines);
	if (r >= 0)
		r = edit_fwcfg(&d, a, facts.ovmf, rec, lines, n_lines);
	if (r >= 0)
		r = edit_phys(&d, a, rec, lines, n_lines);
	if (r >= 0)
		r = gp_xml_dump(d.doc, out);
	dom_free(&d);
	if (r < 0) {
		gp_strv_free(*lines, *n_lines);
		*lines = NULL;
		*n_lines = 0;
	}
	return r;
}

int gp_domxml_record(const char *xml, char ***fns, size_t *n_fns, int *bus, bool *port_added)
{
	const struct gp_xml_node *f;
	struct gp_xml_node *rec;
	struct dom d;
	int r = dom_parse(xml, &d);

	*fns = NULL;
	*n_fns = 0;
	if (r < 0)
		return r;
	rec = record_of(&d);
	if (!rec) {
		dom_free(&d);
		return -ENOENT;
	}
	*bus = (int)prop_num(rec, "bus");
	{
		_cleanup_(freep) char *p = gp_xml_prop(rec, "root-port");

		*port_added = gp_str_eq(p, "added");
	}
	for (f = gp_xml_child(rec, "function"); f && r >= 0; f = gp_xml_next(f, "function")) {
		char *addr = gp_xml_prop(f, "address");

		r = addr ? gp_strv_push(fns, n_fns, addr) : 0;
	}
	dom_free(&d);
	return r;
}

/* Puts @attr's recorded value back on the element, or removes the element (before: none). */
static int restore_hole(struct dom *d, struct gp_xml_node *rec, char ***lines, size_t *n)
{
	_cleanup_(freep) char *before = gp_xml_prop(rec, "pcihole64-before");
	struct gp_xml_node *h = child(d, root_controller(d), "pcihole64");
	int64_t have = h ? size_kib(h) : -1;

	if (!before || !h)
		return 0;
	if (!strcmp(before, "none"))
		gp_xml_drop(h);
	else if (gp_xml_set(h, "unit", "KiB") < 0 || set_num(h, NULL, num(before)) < 0)
		return -ENOMEM;
	return gp_strv_pushf(lines, n, "pcihole64: %" PRId64 " KiB -> %s%s", have, before,
		    strcmp(before, "none") ? " KiB" : "");
}

static int restore_fwcfg(struct dom *d, struct gp_xml_node *rec, char ***lines, size_t *n)
{
	_cleanup_(freep) char *before = gp_xml_prop(rec, "fwcfg-before");
	_cleanup_(freep) char *cl_added = gp_xml_prop(rec, "commandline");
	int64_t have;
	struct gp_xml_node *arg = fwcfg_arg(d, &have), *cl, *prev = NULL;
	const struct gp_xml_node *c;
	char val[64];

	if (!before || !arg)
		return 0;
	if (strcmp(before, "none")) {
		snprintf(val, sizeof(val), FWCFG_PREFIX "%s", before);
		if (gp_xml_set(arg, "value", val) < 0)
			return -ENOMEM;
	} else {
		/* the -fw_cfg just before it is gpupart's too */
		cl = NULL;
		for (c = gp_xml_child(d->root, "commandline"); c && !cl; c = gp_xml_next(c, "commandline"))
			for (const struct gp_xml_node *x = gp_xml_child(c, "arg"); x; x = gp_xml_next(x, "arg")) {
				if (x == arg) {
					cl = gp_xml_edit(d->doc, c);
					break;
				}
				prev = gp_xml_edit(d->doc, x);
			}
		{
			_cleanup_(freep) char *pv = prev ? gp_xml_prop(prev, "value") : NULL;

			if (gp_str_eq(pv, "-fw_cfg"))
				gp_xml_drop(prev);
		}
		gp_xml_drop(arg);
		if (cl && gp_str_eq(cl_added, "added") && !gp_xml_child(cl, NULL))
			gp_xml_drop(cl);
	}
	return gp_strv_pushf(lines, n, "qemu:commandline -fw_cfg opt/ovmf/X-PciMmio64Mb: %" PRId64 " MiB -> %s",
		    have, strcmp(before, "none") ? before : "none");
}

static int restore_phys(struct dom *d, struct gp_xml_node *rec, char ***lines, size_t *n)
{
	_cleanup_(freep) char *before = gp_xml_prop(rec, "maxphysaddr-before");
	int64_t bits = prop_num(rec, "maxphysaddr-bits-before");
	struct gp_xml_node *mp = child(d, child(d, d->root, "cpu"), "maxphysaddr");

	if (!before || !mp)
		return 0;
	if (!strcmp(before, "none"))
		gp_xml_drop(mp);
	else if (gp_xml_set(mp, "mode", before) < 0 ||
		 (bits >= 0 ? set_num(mp, "bits", bits) : gp_xml_set(mp, "bits", NULL)) < 0)
		return -ENOMEM;
	return gp_strv_pushf(lines, n, "cpu maxphysaddr: -> %s%s", before, bits >= 0 ? " (bits as before)" : "");
}

/* The root port gpupart added for the GPU, now empty. */
static void drop_port(struct dom *d, struct gp_xml_node *rec)
{
	_cleanup_(freep) char *p = gp_xml_prop(rec, "root-port");
	_cleanup_(freep) char *bus = gp_xml_prop(rec, "bus");
	struct gp_xml_node *c;

	if (!gp_str_eq(p, "added") || !bus)
		return;
	c = child_with(d, child(d, d->root, "devices"), "controller", "index", bus);
	if (c) {
		_cleanup_(freep) char *model = gp_xml_prop(c, "model");

		if (gp_str_eq(model, "pcie-root-port"))
			gp_xml_drop(c);
	}
}

int gp_domxml_detach(const char *xml, char **out, char ***lines, size_t *n_lines)
{
	struct gp_xml_node *rec, *md;
	struct dom d;
	int r = dom_parse(xml, &d);

	*out = NULL;
	*lines = NULL;
	*n_lines = 0;
	if (r < 0)
		return r;
	rec = record_of(&d);
	if (!rec) {
		dom_free(&d);
		return -ENOENT;
	}
	r = restore_hole(&d, rec, lines, n_lines);
	if (r >= 0)
		r = restore_fwcfg(&d, rec, lines, n_lines);
	if (r >= 0)
		r = restore_phys(&d, rec, lines, n_lines);
	if (r >= 0) {
		drop_port(&d, rec);
		md = child(&d, d.root, "metadata");
		gp_xml_drop(rec);
		/* libvirt writes no empty <metadata>: one left empty was gpupart's */
		if (md && !gp_xml_child(md, NULL))
			gp_xml_drop(md);
		r = gp_xml_dump(d.doc, out);
	}
	dom_free(&d);
	if (r < 0) {
		gp_strv_free(*lines, *n_lines);
		*lines = NULL;
		*n_lines = 0;
	}
	return r;
}

int gp_domxml_hostdev(const char *fn, int bus, bool multi, char **out)
{
	unsigned dom, b, slot, f;
	struct gp_xml_node *root, *src, *addr;
	struct gp_xml_doc *doc;
	char v[4][16];
	int r;

	*out = NULL;
	if (sscanf(fn, "%x:%x:%x.%x", &dom, &b, &slot, &f) != 4)
		return -EINVAL;
	r = gp_xml_new("hostdev", &doc);
	if (r < 0)
		return r;
	root = gp_xml_edit(doc, gp_xml_root(doc));
	snprintf(v[0], sizeof(v[0]), "0x%04x", dom);
	snprintf(v[1], sizeof(v[1]), "0x%02x", b);
	snprintf(v[2], sizeof(v[2]), "0x%02x", slot);
	snprintf(v[3], sizeof(v[3]), "0x%x", f);
	r = -ENOMEM;
	/* managed='no': gpupart's dismount bound the functions to vfio-pci; libvirt must not
	 * rebind them at start and stop (qemuHostdevPrepare.../ReAttach) */
	if (gp_xml_set(root, "mode", "subsystem") < 0 || gp_xml_set(root, "type", "pci") < 0 ||
	    gp_xml_set(root, "managed", "no") < 0 ||
	    !(src = gp_xml_add(root, NULL, NULL, "source", NULL)) ||
	    !(addr = gp_xml_add(src, NULL, NULL, "address", NULL)) ||
	    gp_xml_set(addr, "domain", v[0]) < 0 || gp_xml_set(addr, "bus", v[1]) < 0 ||
	    gp_xml_set(addr, "slot", v[2]) < 0 || gp_xml_set(addr, "function", v[3]) < 0)
		goto out;
	if (bus >= 0) {
		char gb[8];

		snprintf(gb, sizeof(gb), "0x%02x", bus);
		/* the guest's functions are the host's, in one slot behind one root port */
		if (!(addr = gp_xml_add(root, NULL, NULL, "address", NULL)) ||
		    gp_xml_set(addr, "type", "pci") < 0 || gp_xml_set(addr, "domain", "0x0000") < 0 ||
		    gp_xml_set(addr, "bus", gb) < 0 || gp_xml_set(addr, "slot", "0x00") < 0 ||
		    gp_xml_set(addr, "function", v[3]) < 0 ||
		    (multi && gp_xml_set(addr, "multifunction", "on") < 0))
			goto out;
	}
	r = gp_xml_dump(doc, out);
out:
	gp_xml_free(doc);
	return r;
}

/* The alias of partition @dev (a PCI address or UUID): GP_VIRT_ALIAS_PREFIX, then @dev with
 * ':' and '.' as '-' (libvirt allows letters, digits, '_' and '-' in an alias). */
int gp_domxml_part_alias(const char *dev, char *buf, size_t len)
{
	size_t i, p = strlen(GP_VIRT_ALIAS_PREFIX);

	if (p + strlen(dev) >= len)
		return -ENAMETOOLONG;
	memcpy(buf, GP_VIRT_ALIAS_PREFIX, p);
	for (i = 0; dev[i]; i++) {
		char c = (char)tolower((unsigned char)dev[i]);

		if (!isxdigit((unsigned char)c) && c != ':' && c != '.' && c != '-')
			return -EINVAL;
		buf[p++] = c == ':' || c == '.' ? '-' : c;
	}
	buf[p] = 0;
	return 0;
}

int gp_domxml_part_hostdev(const char *part, char **out)
{
	struct gp_xml_node *root, *src, *addr, *al;
	bool mdev = !strncmp(part, "mdev ", 5);
	struct gp_xml_doc *doc;
	char v[4][16], alias[96];
	unsigned dom, b, slot, f;
	int r;

	*out = NULL;
	if (!mdev && (strncmp(part, "pci ", 4) ||
		      sscanf(part + 4, "%x:%x:%x.%x", &dom, &b, &slot, &f) != 4))
		return -EINVAL;
	r = gp_domxml_part_alias(part + (mdev ? 5 : 4), alias, sizeof(alias));
	if (r < 0 || (r = gp_xml_new("hostdev", &doc)) < 0)
		return r;
	root = gp_xml_edit(doc, gp_xml_root(doc));
	r = -ENOMEM;
	/* an mdev: model='vfio-pci' (libvirt's formatdomain, "mdev"); a VF: managed='no', its
	 * driver is the backend's (nvidia with its vGPU type, or vfio-pci) and never rebound */
	if (gp_xml_set(root, "mode", "subsystem") < 0 ||
	    gp_xml_set(root, "type", mdev ? "mdev" : "pci") < 0 ||
	    gp_xml_set(root, mdev ? "model" : "managed", mdev ? "vfio-pci" : "no") < 0 ||
	    !(src = gp_xml_add(root, NULL, NULL, "source", NULL)) ||
	    !(addr = gp_xml_add(src, NULL, NULL, "address", NULL)))
		goto out;
	if (mdev && gp_xml_set(addr, "uuid", part + 5) < 0)
		goto out;
	if (!mdev) {
		snprintf(v[0], sizeof(v[0]), "0x%04x", dom);
		snprintf(v[1], sizeof(v[1]), "0x%02x", b);
		snprintf(v[2], sizeof(v[2]), "0x%02x", slot);
		snprintf(v[3], sizeof(v[3]), "0x%x", f);
		if (gp_xml_set(addr, "domain", v[0]) < 0 || gp_xml_set(addr, "bus", v[1]) < 0 ||
		    gp_xml_set(addr, "slot", v[2]) < 0 || gp_xml_set(addr, "function", v[3]) < 0)
			goto out;
	}
	if (!(al = gp_xml_add(root, NULL, NULL, "alias", NULL)) || gp_xml_set(al, "name", alias) < 0)
		goto out;
	r = gp_xml_dump(doc, out);
out:
	gp_xml_free(doc);
	return r;
}
