/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one walk of the mdev bus: ROOT/sys/bus/mdev/devices/UUID, each a link to
 * .../PARENT/UUID (mdev_device_register() in drivers/vfio/mdev/mdev_core.c puts the mdev
 * below its parent device), with mdev_type -> .../mdev_supported_types/TYPE and, once a vfio
 * driver has it, iommu_group -> .../iommu_groups/N.
 */
#ifndef GPUPART_MODEL_MDEV_BUS_H
#define GPUPART_MODEL_MDEV_BUS_H

#include <stddef.h>

#include "base/internal.h"

struct gp_mdev_link {
	const char *uuid;   /* the bus entry's name: 36 bytes, as sysfs spells it */
	const char *parent; /* the name of the directory the mdev sits in: its parent device */
	int bus_fd;         /* sys/bus/mdev/devices, for gp_mdev_link_type / _group */
};

/*
 * Calls @fn for every mdev on the bus (entries named like a UUID whose link can be read;
 * others are skipped). @fn returns 0 to go on, <0 to stop. Returns 0 (also when the host has
 * no mdev bus: no mdevs) or @fn's error.
 */
typedef int (*gp_mdev_fn)(void *data, const struct gp_mdev_link *m);
int gp_mdev_bus_each(struct gp_ctx *ctx, gp_mdev_fn fn, void *data);

/* The mdev's type (the last component of its mdev_type link) into @buf: its length (> 0),
 * or -errno when it cannot be read (half created, going away). */
int gp_mdev_link_type(const struct gp_mdev_link *m, char *buf, size_t len);
/* Its IOMMU group, or GP_UNKNOWN (no vfio driver has it yet). */
int gp_mdev_link_group(const struct gp_mdev_link *m);

#endif
