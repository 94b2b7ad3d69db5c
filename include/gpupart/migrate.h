/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The preflight before a live migration with GPU partitions (`gpupart migrate-check`), pure
 * (policy/migrate.c). Hyper-V's conditions (../shared/seeds/000_*): no live migration with
 * Discrete Device Assignment; the destination needs a homogeneous GPU with a free partition
 * of the same size; NVIDIA's driver must be the one of vGPU software 18.x or later. The facts
 * come in as data: the domain's partitions from this host's scan, the destination's GPUs from
 * libvirt's node devices on its URI and, for what libvirt does not carry (vGPU types on
 * vendor-specific VFIO, who holds a partition, the driver version), its `gpupart list --json`.
 */
#ifndef GPUPART_MIGRATE_H
#define GPUPART_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/policy.h>

/*
 * Pure. Whether NVIDIA driver @version ("570.124.03") is of a vGPU software release that live
 * migrates partitions: 18.0 and later, the R570 branch and later (NVIDIA's vGPU software
 * release notes pair each release with its driver branch: 16.x R535, 17.x R550, 18.x R570).
 * GP_TRI_UNKNOWN for NULL or a version that is not "MAJOR.MINOR...".
 */
enum gp_tri gp_policy_nvidia_migration(const char *version);
#define GP_NVIDIA_MIGRATION_BRANCH 570

/* A partition the domain has on this host (strings borrowed). */
struct gp_migrate_part {
	const char *device;         /* the VF's address or the mdev's UUID */
	const char *gpu;            /* its GPU's address */
	unsigned vendor, device_id; /* the GPU's PCI IDs */
	const char *model;          /* for messages, NULL: the IDs */
	const char *vgpu_type;      /* NULL: none (plain SR-IOV) */
};

struct gp_migrate_src {
	const char *domain;
	bool dda;                   /* it has a whole GPU (attach's record, or a dismounted GPU) */
	const struct gp_migrate_part *parts;
	size_t n_parts;
	const char *nvidia_driver;  /* this host's, NULL: no nvidia module */
};

/* A GPU of the destination. */
struct gp_migrate_gpu {
	unsigned vendor, device_id;
};

struct gp_migrate_dst {
	const char *name;           /* the URI, for messages */
	const char *error;          /* non-NULL: it could not be read (why) */
	const struct gp_migrate_gpu *gpus;
	size_t n_gpus;
	bool inventory;             /* its list --json was given: the fields below are known */
	const char *const *free_types; /* the vGPU type of each free partition there ("" none) */
	size_t n_free;
	const char *nvidia_driver;  /* from the inventory; NULL unknown */
};

/*
 * Pure. The blockers (errors) and what could not be checked (warnings) into @out:
 *  - "migrate-dda" (error): a whole GPU; no live migration with DDA;
 *  - "migrate-no-partitions" (info): the domain has no partition: nothing of gpupart's moves;
 *  - "migrate-destination-unreachable" (error): the destination could not be read;
 *  - "migrate-no-matching-gpu" (error): no GPU of a partition's make and model there;
 *  - "migrate-no-free-partition" (error): fewer free partitions of a vGPU type there than
 *    the domain has (inventory only);
 *  - "migrate-free-unknown" (warning): no inventory: free partitions not known;
 *  - "migrate-driver-unsupported" (error): an NVIDIA driver older than R570 on either end;
 *  - "migrate-driver-unknown" (warning): the destination's (or this host's) not known.
 * Returns 0 or -ENOMEM.
 */
int gp_policy_migrate_check(const struct gp_migrate_src *src, const struct gp_migrate_dst *dst,
			    struct gp_findings *out);

#endif
