/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Partitions for VMs: assign, unassign and adapters (Hyper-V's Add-, Remove- and
 * Get-VMGpuPartitionAdapter). The picker is pure policy (policy/assign.c, table-tested); the
 * operations (ops/assign.c) make the refusals and the transaction (a reservation record and a
 * domain edit, kinds/resv.c and kinds/domain.c).
 */
#ifndef GPUPART_ASSIGN_H
#define GPUPART_ASSIGN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpupart/policy.h>

/* One partition, as the picker sees it (strings borrowed). */
struct gp_pick_part {
	const char *gpu;       /* the GPU's address "dddd:bb:dd.f" */
	int gpu_numa;          /* its NUMA node, GP_UNKNOWN */
	int id;                /* PartitionId on that GPU */
	int64_t fb_bytes;      /* its framebuffer (VRAM), GP_UNKNOWN */
	bool ready;            /* its host state is ready (type set, mdev there, VF on vfio-pci) */
	bool taken;            /* a domain names it, or a reservation holds it */
};

/* What one domain asks for. */
struct gp_pick_want {
	int numa;              /* the domain's NUMA node (numatune, else its vCPUs'), GP_UNKNOWN */
	int64_t fb_bytes;      /* --vram, or GP_UNKNOWN: any size */
	const char *gpu;       /* --gpu, NULL: any */
	int id;                /* --partition, -1: any */
};

/*
 * Pure. The partition to give: among those not taken that match @w (size, GPU, id), the
 * ready ones first, then those on the domain's NUMA node (when both are known), then those of
 * the least-loaded GPU (fewest partitions taken), then the lowest GPU address, then the
 * lowest id. Returns its index in p[0..n), or -ENOSPC when none matches.
 */
int gp_policy_pick(const struct gp_pick_part *p, size_t n, const struct gp_pick_want *w);

#endif
