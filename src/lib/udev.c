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

#include "udev.h"

static const char *hwdb_get(struct udev_hwdb *hwdb, const char *modalias, const char *key)
{
	struct udev_list_entry *e;

	udev_list_entry_foreach(e, udev_hwdb_get_properties_list_entry(hwdb, modalias, 0))
		if (strcmp(udev_list_entry_get_name(e), key) == 0)
			return udev_list_entry_get_value(e);
	return NULL;
}

char *gp_udev_pci_name(int vendor, int device, int subvendor, int subdevice)
{
	struct udev *udev;
	struct udev_hwdb *hwdb;
	char alias[64];
	const char *vn, *mn, *sn = NULL;
	char *name = NULL;

	udev = udev_new();
	if (!udev)
		return NULL;
	hwdb = udev_hwdb_new(udev);
	if (!hwdb) /* no hwdb.bin on this host: the caller falls back to pci.ids */
		goto out;
	snprintf(alias, sizeof(alias), "pci:v%08Xd%08X", (unsigned)vendor, (unsigned)device);
	vn = hwdb_get(hwdb, alias, "ID_VENDOR_FROM_DATABASE");
	mn = hwdb_get(hwdb, alias, "ID_MODEL_FROM_DATABASE");
	if (subvendor >= 0 && subdevice >= 0) {
		snprintf(alias, sizeof(alias), "pci:v%08Xd%08Xsv%08Xsd%08X", (unsigned)vendor,
			 (unsigned)device, (unsigned)subvendor, (unsigned)subdevice);
		sn = hwdb_get(hwdb, alias, "ID_MODEL_FROM_DATABASE");
	}
	if (sn && mn && strcmp(sn, mn) == 0)
		sn = NULL;
	if (vn && (sn || mn)) {
		if (asprintf(&name, "%s %s", vn, sn ? sn : mn) < 0)
			name = NULL;
	}
	udev_hwdb_unref(hwdb);
out:
	udev_unref(udev);
	return name;
}
