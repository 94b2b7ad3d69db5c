/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The guard's internals for the rest of the library (ops); never installed. */
#ifndef GPUPART_GUARD_GUARD_H
#define GPUPART_GUARD_GUARD_H

#include <stddef.h>

#include <gpupart/gpupart.h>

/* Host files a refusal names: as messages name them, under the root (ROOT/run/gpupart/...).
 * (partitions.conf is conf's: gp_layout_file_path.) */
enum gp_guard_path {
	GP_GUARD_PATH_RESERVATIONS, /* run/gpupart/reservations */
};

/* 0 with the absolute path in @buf, or -ENAMETOOLONG. */
int gp_guard_host_path(struct gp_ctx *ctx, enum gp_guard_path which, char *buf, size_t len);

#endif
