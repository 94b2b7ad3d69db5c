/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The only file that includes <libudev.h>. udev cannot be pointed at another sysfs root, so we
 * use it only for what does not depend on the host tree: the hardware database that names PCI
 * IDs (the same data lspci shows, precompiled and mmap'ed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libudev.h>

#include "base/internal.h"
#include "host/udev.h"

static const char *hwdb_get(struct udev_hwdb *hwdb, const char *modalias, const char *key)
{
	struct udev_list_entry *e;

	udev_list_entry_foreach(e, udev_hwdb_get_properties_list_entry(hwdb, modalias, 0))
		if (strcmp(udev_list_entry_get_name(e), key) == 0)
			return udev_list_entry_get_value(e);
	return NULL;
}

struct gp_udev {
	struct udev *udev;
	struct udev_hwdb *hwdb; /* NULL: this host has no hwdb.bin */
};

void gp_udev_free(struct gp_ctx *ctx)
{
	struct gp_udev *u = ctx->udev;

	if (!u)
		return;
	if (u->hwdb)
		udev_hwdb_unref(u->hwdb);
	if (u->udev)
		udev_unref(u->udev);
	free(u);
	ctx->udev = NULL;
}

char *gp_udev_pci_name(struct gp_ctx *ctx, int vendor, int device)
{
	struct gp_udev *u = ctx->udev;
	char alias[64], *name = NULL;
	const char *vn, *mn;

	if (!u) {
		u = calloc(1, sizeof(*u));
		if (!u)
			return NULL;
		ctx->udev = u;
		u->udev = udev_new();
		if (u->udev)
			u->hwdb = udev_hwdb_new(u->udev);
	}
	if (!u->hwdb)
		return NULL;
	snprintf(alias, sizeof(alias), "pci:v%08Xd%08X", (unsigned)vendor, (unsigned)device);
	vn = hwdb_get(u->hwdb, alias, "ID_VENDOR_FROM_DATABASE");
	mn = hwdb_get(u->hwdb, alias, "ID_MODEL_FROM_DATABASE");
	if (vn && mn && asprintf(&name, "%s %s", vn, mn) < 0)
		name = NULL;
	return name;
}
