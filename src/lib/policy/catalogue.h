/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one rule for which list is a GPU's vGPU catalogue (pure):
 *
 *   - mdev backend: the mdev_supported_types of the PF, or when the PF lists none (an
 *     SR-IOV GPU's driver lists them on its VFs) those of the first VF that lists any; every
 *     VF lists the same (the scan reads them once per GPU for that reason). Every supported type stays listed whatever is in use.
 *   - vendor-specific VFIO: what the VFs list in nvidia/creatable_vgpu_types, VF after VF.
 *     The driver lists only what can still be created next to the vGPUs in force, so with
 *     partitions in force this is a lower bound.
 *   - any other backend: none.
 */
#ifndef GPUPART_POLICY_CATALOGUE_H
#define GPUPART_POLICY_CATALOGUE_H

#include <gpupart/policy.h>

/* The function whose mdev_supported_types are the mdev catalogue of @pf, or NULL. */
const struct gp_device *gp_catalogue_mdev_source(const struct gp_device *pf);

/* Calls @fn for every type of @pf's catalogue under @b, in the order above (the vendor-VFIO
 * lists one after the other: a type offered by several VFs comes once per VF). @fn returns
 * 0 to go on, <0 to stop; returns 0 or that error. */
typedef int (*gp_catalogue_fn)(void *data, const struct gp_vgpu_type *t);
int gp_catalogue_each(const struct gp_device *pf, enum gp_backend b, gp_catalogue_fn fn,
		      void *data);

#endif
