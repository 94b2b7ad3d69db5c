/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The reservation kind: one record file ROOT/run/gpupart/reservations/DEVICE
 * (gpupart/resv.h) as a change. assign adds it before the domain edit and unassign removes
 * it after, so the reverse-order unwind never leaves a domain naming a device no record
 * holds while gpupart runs. The journal keeps the file whole ("resv DEVICE", or "resv DEVICE
 * -" for no file, then "data HEX"), and check refuses a journal whose DEVICE is not a device
 * name (the path is built from it).
 */
#ifndef GPUPART_KINDS_RESV_H
#define GPUPART_KINDS_RESV_H

#include <gpupart/resv.h>

#include "txn/txn.h"

extern const struct gp_kind gp_kind_resv;

/* The change that makes @device's record @want (NULL: no record). Reads the file now as
 * orig. -errno (-EINVAL: @device is not a device name, or @want cannot be written). */
int gp_resv_change_new(struct gp_ctx *ctx, const char *device, const struct gp_resv *want,
		       struct gp_change **out);

#endif
