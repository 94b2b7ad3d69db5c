/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GPUPART_CAPTURE_H
#define GPUPART_CAPTURE_H

#include <gpupart/model.h>

/*
 * Writes a tar (GNU format, deterministic: mtime 0, uid 0) of everything gpupart reads about
 * the scanned host: the sysfs directories of every detailed PCI function, with the links the
 * kernel makes (devices, drivers, IOMMU groups, VFs, mdevs), sys/class/iommu, the vfio
 * module parameters, /proc/cmdline and /proc/interrupts. Extract it and pass --root.
 * Returns 0 or -errno.
 */
int gp_capture_write(struct gp_ctx *ctx, const struct gp_host *host, int fd);

#endif
