/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libudev wrapper: udev.c is the only file that includes <libudev.h>. */
#ifndef GPUPART_UDEV_H
#define GPUPART_UDEV_H

struct gp_ctx;

/* "Vendor Model" from udev's hardware database (hwdb.bin), or NULL if it has none. The
 * database is opened once per context. */
char *gp_udev_pci_name(struct gp_ctx *ctx, int vendor, int device);
void gp_udev_free(struct gp_ctx *ctx);

#endif
