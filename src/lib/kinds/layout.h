/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The layout kind: the partitions.conf entries a command records, as a change of the
 * transaction. Added as the LAST change, it is written once every GPU change is verified and
 * before the journal goes, and the reverse-order unwind puts the journaled entries back
 * first: a kill at any point leaves host and layout both original or both target. QUIET: its
 * step is bookkeeping, never printed with the plans. Journal records: "layout", then per
 * governed path "entry ENTRY" (partitions.conf's own line) or "entry PATH -" (no entry).
 */
#ifndef GPUPART_KINDS_LAYOUT_H
#define GPUPART_KINDS_LAYOUT_H

#include <gpupart/layout.h>

#include "txn/txn.h"

extern const struct gp_kind gp_kind_layout;

/* The entries of the paths a change governs: as they are (had) or absent. A state read from
 * the host also holds the whole file (all), which the diff rewrites. */
struct gp_layout_state {
	struct gp_layout had;
	char **absent;
	size_t n_absent;
	struct gp_layout all;
	bool have_all;
};

/* The change that records @n entries (copied) in partitions.conf: reads the entries they
 * replace now (orig) and plans the file. -errno (an unreadable file: logged). */
int gp_layout_change_new(struct gp_ctx *ctx, const struct gp_layout_entry *e, size_t n,
			 struct gp_change **out);

#endif
