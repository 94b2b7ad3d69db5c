/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The catalogue kind: one board's recorded vGPU catalogue file
 * (var/lib/gpupart/catalogue/KEY, model/recorded.h) as a change of the transaction, so that
 * writing it is journaled and unwound like every other change.
 *
 * What to record is known only mid-run: right after sriov-manage -e enabled the VFs, before the
 * first type is set (the only moment the VFs' lists are the whole catalogue). So the change is
 * made undecided, after the gpu change that enables the VFs; that change's refine decides it
 * (gp_catalogue_decide, from its fresh scan), and it runs once the GPU is verified. Undecided
 * (the VFs were never enabled, a better source knows the board, the file already says it) it
 * does nothing. Back to the journal it puts the file back as it was, or removes it. QUIET: its
 * step is bookkeeping, like the layout's. Journal records: "catalogue KEY" then "text LINE"
 * per line of the file as it was, or "catalogue KEY -" (no file).
 */
#ifndef GPUPART_KINDS_CATALOGUE_H
#define GPUPART_KINDS_CATALOGUE_H

#include <gpupart/model.h>

#include "txn/txn.h"

extern const struct gp_kind gp_kind_catalogue;

struct gp_catalogue_state;

/*
 * The undecided change that may record the catalogue of the GPU @gpu (a gpu change) enables
 * the VFs of; *out NULL when @gpu enables none (nothing could be recorded). The gpu change's
 * data points at the new change's want (gp_gpu_change_data.record). 0 or -errno.
 */
int gp_catalogue_change_new(struct gp_ctx *ctx, struct gp_change *gpu, struct gp_change **out);

/* Decides @want from the scan of the GPU @dev right after its VFs were enabled. 0 or -ENOMEM. */
int gp_catalogue_decide(struct gp_ctx *ctx, struct gp_catalogue_state *want,
			const struct gp_device *dev);

#endif
