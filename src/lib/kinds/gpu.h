/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gpu kind: one GPU's partition state (struct gp_gpu_state: VF count, autoprobe, each
 * VF's binding and vGPU type, its mdevs) as a change of the generic transaction (txn/txn.h).
 * Its journal records: "gpu ADDR backend= numvfs= autoprobe= id= subsystem= class=", then
 * "vf ADDR N VFADDR driver= override= type=" and "mdev ADDR UUID parent= type=".
 */
#ifndef GPUPART_KINDS_GPU_H
#define GPUPART_KINDS_GPU_H

#include <gpupart/plan.h>

#include "txn/txn.h"

extern const struct gp_kind gp_kind_gpu;

struct gp_catalogue_state;

/* What a PCI function is: journaled with a change, checked against the host before undoing. */
struct gp_pci_ident {
	int vendor, device, subsystem_vendor, subsystem_device;
	int64_t class_code;
};

/* A gpu change's own data (c->data); orig and want are struct gp_gpu_state. */
struct gp_gpu_change_data {
	struct gp_pci_ident ident; /* the PF's IDs and class */
	char series;               /* to plan again after a rescan (the view's series) */
	int count;                 /* the count asked for (0 for a change read from a journal) */
	char path_id[256];         /* the GPU's stable PCI path ("" unknown): what a layout
				    * record of the same journal may name */
	struct gp_catalogue_state *record; /* the catalogue change refine decides, or NULL
					    * (kinds/catalogue.h; borrowed, same transaction) */
};

/*
 * The change that takes the GPU @view describes to @count partitions: reads its state now
 * (orig), makes the target (gp_gpu_state_target) and the plan. -ERANGE when no type of the
 * view's series has @count instances; -EAGAIN from the target is not an error (the target
 * asks only for the VFs, the plan ends in a rescan, refine plans the rest). -errno.
 */
int gp_gpu_change_new(struct gp_ctx *ctx, const struct gp_host *host,
		      const struct gp_gpu_view *view, int count, struct gp_change **out);
/* A gpu change with @orig (copied) and @ident: what a journal decodes to (tests). */
int gp_gpu_change_of(const struct gp_gpu_state *orig, const struct gp_pci_ident *ident,
		     struct gp_change **out);

/*
 * What a gpu change's plan does, from its states (the rules gp_plan_diff plans by,
 * kinds/gpu-plan.c), so that callers need not match sysfs names in the plan: on the sriov
 * backend the VF count changes through the PF's sriov_numvfs (a write the PF's driver must
 * take: drivers/pci/iov.c, sriov_numvfs_store); on NVIDIA's, VFs come and go only through
 * sriov-manage (which waits for the users of the GPU's /dev/nvidiaN). False for a change with
 * no want (one read back from a journal).
 */
bool gp_gpu_change_sets_vf_count(const struct gp_change *c);
bool gp_gpu_change_runs_sriov_manage(const struct gp_change *c);
/* The plan enables VFs where there are none (sriov_numvfs or sriov-manage -e). */
bool gp_gpu_change_enables_vfs(const struct gp_change *c);

static inline const struct gp_gpu_state *gp_gpu_change_orig(const struct gp_change *c)
{
	return c->orig;
}

static inline const struct gp_gpu_change_data *gp_gpu_change_data(const struct gp_change *c)
{
	return c->data;
}

#endif
