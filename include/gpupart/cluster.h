/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Homogeneity across hosts, as Windows Admin Center checks it for a cluster before it lets
 * partition counts be set (../shared/seeds/003_*: "the same make and model of the GPU, and ...
 * the same partition count in the GPUs across all the servers"; a mixed set is an error, a
 * set where not every GPU is configured alike is a warning). Pure: the hosts come in as
 * plain facts, from libvirt's node devices (virConnectListAllNodeDevices) or from a
 * `gpupart list --json` inventory; the findings go out, one per host and GPU that differs.
 */
#ifndef GPUPART_CLUSTER_H
#define GPUPART_CLUSTER_H

#include <stddef.h>
#include <stdint.h>

#include <gpupart/policy.h>

/* One GPU of one host (strings borrowed). */
struct gp_cluster_gpu {
	const char *address;        /* "dddd:bb:dd.f" on that host */
	unsigned vendor, device;    /* PCI IDs: the make and the model */
	const char *model;          /* a name for messages, NULL: the IDs are shown */
	int64_t vram_bytes;         /* the size; GP_UNKNOWN */
	int partitions;             /* in force; 0 not partitioned; GP_UNKNOWN (no inventory) */
};

/* One host of the set. */
struct gp_cluster_host {
	const char *name;           /* the URI or host name, as the admin gave it */
	const char *error;          /* non-NULL: could not be read (why); its GPUs are ignored */
	const struct gp_cluster_gpu *gpus;
	size_t n_gpus;
};

/*
 * Pure. Adds to @out, for every host that could not be read, "cluster-host-unreachable"
 * (error), and over the GPUs of all the others, measured against the set's most common make
 * and model (ties: the first seen):
 *  - "cluster-mixed-vendors" (error): a GPU of another vendor;
 *  - "cluster-mixed-models" (error): the same vendor, another model, or the same model with
 *    another VRAM size (when both are known);
 *  - "cluster-partition-counts-differ" (warning): partitioned GPUs of the reference model
 *    whose counts are not the most common count;
 *  - "cluster-partially-configured" (warning): a GPU of the reference model left
 *    unpartitioned while others of it are partitioned;
 *  - "cluster-count-unknown" (info): a GPU whose count only an inventory could tell.
 * A set with no GPU at all on any host readable gets "cluster-no-gpus" (warning).
 * Returns 0 or -ENOMEM.
 */
int gp_policy_cluster_check(const struct gp_cluster_host *hosts, size_t n,
			    struct gp_findings *out);

#endif
