/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dda-record kind: ROOT/etc/gpupart/dismounted.conf (gpupart/dismounted.h) as a change.
 * Added after the binding change, it is written once the functions are verified on their
 * drivers, and the reverse-order unwind puts the file back first. QUIET: bookkeeping. The
 * journal keeps the whole file in hex ("ddarecord", or "ddarecord -" for no file, then
 * "data HEX"), so whatever it held comes back.
 */
#ifndef GPUPART_KINDS_DDA_RECORD_H
#define GPUPART_KINDS_DDA_RECORD_H

#include <gpupart/dismounted.h>

#include "txn/txn.h"

extern const struct gp_kind gp_kind_dda_record;

/* The change that makes the file hold @want (formatted; no line: the file removed). Reads
 * the file now as orig. -errno. */
int gp_dda_record_change_new(struct gp_ctx *ctx, const struct gp_dda_record *want,
			     struct gp_change **out);

#endif
