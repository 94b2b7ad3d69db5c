/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Discrete Device Assignment: which functions go to a VM with a GPU, and whether they are
 * already the host's no more. Pure.
 *
 * What vfio demands: a VM gets a whole IOMMU group or nothing. Opening a vfio group claims
 * DMA ownership of every member (iommu_group_claim_dma_owner, drivers/iommu/iommu.c, since
 * Linux 5.19; vfio_dev_viable's driver list before), which fails while any member is bound to
 * a driver doing kernel DMA; only drivers that set driver_managed_dma may stay (vfio-pci,
 * pci-stub, and pcieport: drivers/pci/pcie/portdrv.c). So the GPU moves with the other
 * endpoint functions of its own slot that share its group (its HDMI/HD audio function, a
 * USB-C controller on some boards), and
 * bridges stay on pcieport. Another device's endpoint in the group is a refusal the survey
 * makes (iommu-group-shared), never something dismount moves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/policy.h>

#include "shared/array.h"

static bool is_bridge(const struct gp_device *d)
{
	return d->class_code >= 0 && (d->class_code >> 8) == 0x0604;
}

int gp_policy_dda_functions(const struct gp_host *host, const struct gp_device *gpu,
			    struct gp_device ***out, size_t *n_out)
{
	const struct gp_iommu_group *g;
	struct gp_device **v = NULL, **slot;
	size_t n = 0, i;

	*out = NULL;
	*n_out = 0;
	slot = GP_PUSH(v, n);
	if (!slot)
		return -ENOMEM;
	*slot = (struct gp_device *)gpu;
	g = gpu->iommu_group >= 0 ? gp_host_group(host, gpu->iommu_group) : NULL;
	for (i = 0; g && i < g->n_members; i++) {
		struct gp_pci_addr a;
		struct gp_device *m;

		if (gp_pci_addr_parse(g->members[i], &a) < 0)
			continue;
		m = gp_host_find(host, &a);
		if (!m || m == gpu || m->is_vf || is_bridge(m) ||
		    !gp_pci_addr_same_slot(&m->addr, &gpu->addr))
			continue;
		slot = GP_PUSH(v, n);
		if (!slot) {
			free(v);
			return -ENOMEM;
		}
		*slot = m;
	}
	*out = v;
	*n_out = n;
	return 0;
}

bool gp_policy_is_vfio_driver(const char *driver)
{
	size_t l = driver ? strlen(driver) : 0;

	/* vfio-pci, and the variant drivers built on vfio-pci-core, named "<vendor>_vfio_pci"
	 * or "<vendor>-vfio-pci" (mlx5_vfio_pci, nvgrace-gpu-vfio-pci): the device is the
	 * host's no more. nvidia's vGPU VFs stay on nvidia and are not here. */
	return driver && (strncmp(driver, "vfio", 4) == 0 ||
			  (l > 8 && (strcmp(driver + l - 8, "vfio_pci") == 0 ||
				     strcmp(driver + l - 8, "vfio-pci") == 0)));
}

bool gp_policy_dda_dismounted(const struct gp_host *host, const struct gp_device *gpu)
{
	struct gp_device **f;
	size_t n, i;
	bool all = true;

	if (gp_policy_dda_functions(host, gpu, &f, &n) < 0)
		return gp_policy_is_vfio_driver(gpu->driver);
	for (i = 0; i < n; i++)
		all &= gp_policy_is_vfio_driver(f[i]->driver);
	free(f);
	return all;
}
