/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MIG-backed vGPU (policy/mig.c): the counts a GPU in MIG mode offers and the type a count
 * means. Pure; policy.c calls these when the device's mig_mode is on.
 */
#ifndef GPUPART_POLICY_MIG_H
#define GPUPART_POLICY_MIG_H

#include <gpupart/policy.h>

/* The series of the MIG-backed type in force, else the one with the most MIG-backed types the
 * GPU instances host (Q, C, B, A on a tie); 0 for none. */
char gp_policy_mig_series(const struct gp_device *dev, const struct gp_vgpu_type *cat,
			  size_t n_cat);
/* Every count from 1 to the most vGPUs of one MIG-backed type of @series the GPU instances
 * host (each capped at NVIDIA's maximum, the GPU instances and @cap VFs), descending; none
 * without GPU instances. 0 or -ENOMEM. */
int gp_policy_mig_counts(const struct gp_device *dev, const struct gp_vgpu_type *cat,
			 size_t n_cat, char series, int cap, int **out, size_t *n_out);
/* The MIG-backed type of @series for @count vGPUs: the one in force if it allows them, else
 * the largest framebuffer that does. -ERANGE when none does. */
int gp_policy_mig_type_for_count(const struct gp_device *dev, const struct gp_vgpu_type *cat,
				 size_t n_cat, char series, int cap, int count,
				 struct gp_vgpu_type *out);

#endif
