/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The operation's insides, shared by ops/partition.c and ops/guard-users.c; never installed. */
#ifndef GPUPART_OPS_OP_H
#define GPUPART_OPS_OP_H

#include <gpupart/layout.h>
#include <gpupart/ops.h>

#include "txn/txn.h"

struct gp_op {
	struct gp_ctx *ctx;
	struct gp_host *host;
	unsigned flags;
	struct gp_op_gpu *gpus;
	struct gp_txn txn;       /* the GPUs' changes, in order (then the layout's, to run) */
	struct gp_change **change; /* GPU i's change in txn (NULL: not planned); borrowed */
	size_t n, n_views;       /* requests; views built (cleared on free) */
	struct gp_findings findings;
	size_t *finding_gpu;     /* parallel to findings.v */
	bool refused;            /* an error finding */
	bool usage;              /* ... about what was asked */
	bool answered;           /* libvirt's answer noted */
	bool guarded;
	size_t skipped;          /* layout lines apply skipped */
	/* gp_op_apply_some_new: only these GPUs' lines (NULL: every line) */
	const struct gp_device *const *only;
	size_t n_only;
	/* gp_op_guard_exempt: devices whose reservation records are the caller's own */
	char **exempt;
	size_t n_exempt;
};

/* Whether apply acts on GPU @d (every GPU unless gp_op_apply_some_new named some). */
bool gp_op_applies_to(const struct gp_op *op, const struct gp_device *d);

/* Adds a finding about GPU @gpu (GP_OP_NO_GPU: the operation); an error refuses. 0/-ENOMEM. */
int gp_op_add(struct gp_op *op, size_t gpu, const char *code, enum gp_severity sev,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* A line of a record file apply skips: an error, but the other lines go on. */
int gp_op_skip(struct gp_op *op, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An empty operation on @host. NULL on ENOMEM. */
struct gp_op *gp_op_alloc(struct gp_ctx *ctx, struct gp_host *host, unsigned flags);
/* apply's second half (ops/dda.c): the GPUs dismounted.conf names that are not on vfio-pci
 * are dismounted again (a reboot gave them back to their native drivers). 0 / -ENOMEM. */
int gp_op_apply_dda(struct gp_op *op);

/* libvirt-guests' action at host shutdown, when it would save a VM with a device: the
 * warning libvirt-guests-saves, with the setting to change (attach, assign). 0 / -ENOMEM. */
int gp_op_warn_guests(struct gp_ctx *ctx, struct gp_findings *f);

/* Whether GPU @i's plan runs NVIDIA's sriov-manage (which waits for users of /dev/nvidiaN). */
bool gp_op_runs_sriov_manage(const struct gp_op *op, size_t i);

#endif
