/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `cluster check`'s facts (gpupart/cluster-ops.h). */
#include <errno.h>
#include <stdlib.h>

#include <gpupart/cluster-ops.h>
#include <gpupart/policy.h>

#define NVIDIA 0x10de

int gp_cluster_gpus_of_host(const struct gp_host *h, struct gp_cluster_gpu **out, size_t *n)
{
	struct gp_cluster_gpu *v = calloc(h->n_devs ? h->n_devs : 1, sizeof(*v));
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	for (i = 0; i < h->n_devs; i++) {
		const struct gp_device *d = h->devs[i];
		struct gp_gpu_view view;

		if (!d->detailed || d->is_vf || !gp_device_is_gpu_like(d, false))
			continue;
		if (gp_gpu_view_build(h, d, 0, &view) < 0) {
			free(v);
			return -ENOMEM;
		}
		/* the partitionable ones: a BMC's VGA is no member of the set */
		if (view.backend == GP_BACKEND_NONE) {
			gp_gpu_view_clear(&view);
			continue;
		}
		v[*n] = (struct gp_cluster_gpu){ d->address, (unsigned)d->vendor,
						 (unsigned)d->device, d->name, view.vram_bytes,
						 view.partition_count };
		gp_gpu_view_clear(&view);
		(*n)++;
	}
	*out = v;
	return 0;
}

int gp_cluster_gpus_of_nodedevs(const struct gp_virt_nodedev *d, size_t n_d,
				struct gp_cluster_gpu **out, size_t *n)
{
	struct gp_cluster_gpu *v = calloc(n_d ? n_d : 1, sizeof(*v));
	size_t i;

	*out = NULL;
	*n = 0;
	if (!v)
		return -ENOMEM;
	for (i = 0; i < n_d; i++) {
		const struct gp_virt_nodedev *x = &d[i];
		/* partitionable: VFs to give (maxCount) or mdev types to create */
		bool display = (x->pci_class < 0 || (x->pci_class >> 16) == 0x03) &&
			       (x->max_vfs > 0 || x->n_mdev_types > 0);
		int parts = GP_UNKNOWN;

		if (!display || x->is_vf)
			continue;
		if (x->vendor != NVIDIA && x->max_vfs > 0)
			parts = x->n_vfs;
		v[(*n)++] = (struct gp_cluster_gpu){ x->address, (unsigned)x->vendor,
						     (unsigned)x->device, x->product_name,
						     GP_UNKNOWN, parts };
	}
	*out = v;
	return 0;
}
