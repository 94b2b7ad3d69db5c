/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libudev wrapper: udev.c is the only file that includes <libudev.h>. */
#ifndef GPUPART_UDEV_H
#define GPUPART_UDEV_H

/* "Vendor Model" from udev's hardware database (hwdb.bin), or NULL if it has none. */
char *gp_udev_pci_name(int vendor, int device, int subvendor, int subdevice);

#endif
