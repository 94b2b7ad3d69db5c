/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A host's PCI devices as libvirt's node-device API describes them (gpupart/virt.h), for
 * `cluster check` on hosts gpupart does not run on. libvirt's node-device driver reads the
 * same sysfs as gpupart does (src/node_device/node_device_udev.c, src/util/virpci.c) and
 * writes it out as XML (src/conf/node_device_conf.c: virNodeDeviceDefFormat); the format is
 * docs/formatnode.rst. The read is one bounded child (virt-bounded.c) on a read-only
 * connection; the parse is pure.
 *
 * The list is asked for with flags 0: libvirt's test driver refuses capability filters
 * (VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV), so every device comes back and the PCI ones
 * are told by their capability here.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <gpupart/virt.h>

#include "base/internal.h"
#include "host/dl.h"
#include "host/xml.h"
#include "shared/strv.h"
#include "virt/virt-bounded.h"
#include "virt/virt-internal.h"

#define NODE_SYMBOLS(X)                                                                      \
	X(virConnectOpenReadOnly) X(virConnectClose) X(virConnectListAllNodeDevices)           \
	X(virNodeDeviceGetXMLDesc) X(virNodeDeviceFree) X(virConnectGetHostname)

NODE_SYMBOLS(GP_DL_POINTER)

#define virConnectOpenReadOnly (*dl_virConnectOpenReadOnly)
#define virConnectClose (*dl_virConnectClose)
#define virConnectListAllNodeDevices (*dl_virConnectListAllNodeDevices)
#define virNodeDeviceGetXMLDesc (*dl_virNodeDeviceGetXMLDesc)
#define virNodeDeviceFree (*dl_virNodeDeviceFree)
#define virConnectGetHostname (*dl_virConnectGetHostname)

static int dl_status = -ECONNREFUSED;
static char dl_error[256];

static void dl_once(void)
{
	/* the library virt.c loaded: one file loads it (tests/unit/test-layers.py) */
	const char *soname = "libvirt";
	void *handle = gp_virt_handle();
	bool ok = handle != NULL;

	if (!ok)
		snprintf(dl_error, sizeof(dl_error), "libvirt is not loaded");
	NODE_SYMBOLS(GP_DL_RESOLVE)
	if (ok)
		dl_status = 0;
}

/* In the bounded child: "host=NAME", then "xml=DOC" per PCI device. */
static int list_child(struct gp_ctx *ctx, void *data, char ***v, size_t *n)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	const char *uri = data;
	virNodeDevicePtr *devs = NULL;
	virConnectPtr conn;
	char *host;
	int r = gp_virt_prepare(ctx, uri), k, i;

	if (r < 0)
		return r;
	pthread_once(&once, dl_once);
	if (dl_status < 0) {
		ERR(ctx, "libvirt: %s", dl_error);
		return dl_status;
	}
	if (!(conn = virConnectOpenReadOnly(uri)))
		return gp_virt_open_error(ctx, uri);
	gp_virt_quiet(conn);
	host = virConnectGetHostname(conn);
	r = gp_strv_pushf(v, n, "host=%s", host ? host : "");
	free(host);
	k = virConnectListAllNodeDevices(conn, &devs, 0);
	if (k < 0) {
		ERR(ctx, "libvirt: cannot list the node devices of %s: %s", uri ? uri : "the "
		    "default URI", gp_virt_msg());
		r = -EIO;
	}
	for (i = 0; i < k; i++) {
		char *x = r >= 0 ? virNodeDeviceGetXMLDesc(devs[i], 0) : NULL;

		/* the PCI ones only: a cheap test before the parse the parent does */
		if (x && strstr(x, "<capability type='pci'>"))
			r = gp_strv_pushf(v, n, "xml=%s", x);
		free(x);
		virNodeDeviceFree(devs[i]);
	}
	free(devs);
	virConnectClose(conn);
	return r;
}

static const struct gp_xml_node *cap(const struct gp_xml_node *n, const char *type)
{
	const struct gp_xml_node *c;

	for (c = gp_xml_child(n, "capability"); c; c = gp_xml_next(c, "capability")) {
		_cleanup_(freep) char *t = gp_xml_prop(c, "type");

		if (t && !strcmp(t, type))
			return c;
	}
	return NULL;
}

/* A number in libvirt's XML: "0x10de" (ids) or "65" (bus); -1 when absent or malformed. */
static long num(char *s)
{
	char *end;
	long v;

	if (!s)
		return -1;
	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < 0)
		v = -1;
	free(s);
	return v;
}

static long text_num(const struct gp_xml_node *n)
{
	return n ? num(gp_xml_text(n)) : -1;
}

static int count_children(const struct gp_xml_node *n, const char *name)
{
	const struct gp_xml_node *c;
	int k = 0;

	for (c = n ? gp_xml_child(n, name) : NULL; c; c = gp_xml_next(c, name))
		k++;
	return k;
}

static int parse_ids(const struct gp_xml_node *pci, struct gp_virt_nodedev *d)
{
	const struct gp_xml_node *vendor = gp_xml_child(pci, "vendor"),
				 *product = gp_xml_child(pci, "product");
	long dom = text_num(gp_xml_child(pci, "domain")), bus = text_num(gp_xml_child(pci, "bus")),
	     slot = text_num(gp_xml_child(pci, "slot")),
	     fn = text_num(gp_xml_child(pci, "function"));

	if (!vendor || !product || dom < 0 || dom > 0xffff || bus < 0 || bus > 0xff || slot < 0 ||
	    slot > 0x1f || fn < 0 || fn > 7)
		return -EINVAL;
	snprintf(d->address, sizeof(d->address), "%04lx:%02lx:%02lx.%lx", dom, bus, slot, fn);
	d->vendor = num(gp_xml_prop(vendor, "id"));
	d->device = num(gp_xml_prop(product, "id"));
	d->pci_class = text_num(gp_xml_child(pci, "class"));
	if (d->vendor < 0 || d->vendor > 0xffff || d->device < 0 || d->device > 0xffff)
		return -EINVAL;
	d->vendor_name = gp_xml_text(vendor);
	d->product_name = gp_xml_text(product);
	return d->vendor_name && d->product_name ? 0 : -ENOMEM;
}

int gp_virt_nodedev_parse(const char *xml, struct gp_virt_nodedev *d)
{
	struct gp_xml_doc *doc = NULL;
	const struct gp_xml_node *root, *pci, *vfs, *drv, *grp, *numa, *types;
	int r;

	memset(d, 0, sizeof(*d));
	d->iommu_group = d->numa_node = d->max_vfs = -1;
	r = gp_xml_parse(NULL, "node device XML", xml, strlen(xml), GP_XML_NO_DOCTYPE, &doc);
	if (r < 0)
		return r;
	root = gp_xml_root(doc);
	pci = strcmp(gp_xml_name(root), "device") ? NULL : cap(root, "pci");
	r = pci ? parse_ids(pci, d) : -EINVAL;
	if (r >= 0 && (drv = gp_xml_child(root, "driver")) && gp_xml_child(drv, "name") &&
	    !(d->driver = gp_xml_text(gp_xml_child(drv, "name"))))
		r = -ENOMEM;
	if (r >= 0) {
		d->is_vf = cap(pci, "phys_function") != NULL;
		if ((vfs = cap(pci, "virt_functions"))) {
			d->max_vfs = (int)num(gp_xml_prop(vfs, "maxCount"));
			d->n_vfs = count_children(vfs, "address");
		}
		if ((types = cap(pci, "mdev_types")))
			d->n_mdev_types = count_children(types, "type");
		if ((grp = gp_xml_child(pci, "iommuGroup")))
			d->iommu_group = (int)num(gp_xml_prop(grp, "number"));
		if ((numa = gp_xml_child(pci, "numa")))
			d->numa_node = (int)num(gp_xml_prop(numa, "node"));
	}
	gp_xml_free(doc);
	if (r < 0)
		gp_virt_nodedev_clear(d);
	return r;
}

void gp_virt_nodedev_clear(struct gp_virt_nodedev *d)
{
	free(d->vendor_name);
	free(d->product_name);
	free(d->driver);
	memset(d, 0, sizeof(*d));
}

void gp_virt_nodedevs_free(struct gp_virt_nodedev *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gp_virt_nodedev_clear(&v[i]);
	free(v);
}

static int val_is(const char *s, const char *key, const char **rest)
{
	size_t l = strlen(key);

	if (strncmp(s, key, l) || s[l] != '=')
		return 0;
	*rest = s + l + 1;
	return 1;
}

int gp_virt_nodedevs_read(struct gp_ctx *ctx, const char *uri, int timeout_ms, char **hostname,
			  struct gp_virt_nodedev **out, size_t *n_out)
{
	char **v = NULL;
	size_t n = 0, i, k = 0;
	struct gp_virt_nodedev *d = NULL;
	int r;

	*out = NULL;
	*n_out = 0;
	*hostname = NULL;
	if (timeout_ms <= 0)
		timeout_ms = GP_VIRT_TIMEOUT_MS_DEFAULT;
	r = gp_virt_bounded_strings(ctx, uri ? uri : "the default URI", timeout_ms, list_child,
				    (void *)uri, &v, &n);
	if (r >= 0 && n && !(d = calloc(n, sizeof(*d))))
		r = -ENOMEM;
	for (i = 0; r >= 0 && i < n; i++) {
		const char *s;

		if (val_is(v[i], "host", &s)) {
			free(*hostname);
			if (!(*hostname = strdup(s)))
				r = -ENOMEM;
		} else if (val_is(v[i], "xml", &s)) {
			/* a device libvirt wrote that does not parse is skipped, not fatal: the
			 * others still say what the host has */
			int p = gp_virt_nodedev_parse(s, &d[k]);

			if (p == -ENOMEM)
				r = p;
			else if (p == 0)
				k++;
			else
				DBG(ctx, "libvirt: a node device of %s does not parse; skipped",
				    uri ? uri : "the default URI");
		}
	}
	gp_strv_free(v, n);
	if (r < 0) {
		gp_virt_nodedevs_free(d, k);
		free(*hostname);
		*hostname = NULL;
		return r;
	}
	*out = d;
	*n_out = k;
	return 0;
}
