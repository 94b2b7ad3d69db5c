/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which list is a GPU's vGPU catalogue (policy/catalogue.h). Pure. */
#include <stddef.h>

#include "policy/catalogue.h"

const struct gp_device *gp_catalogue_mdev_source(const struct gp_device *pf)
{
	size_t i;

	if (pf->n_mdev_types)
		return pf;
	for (i = 0; i < pf->n_vfs; i++)
		if (pf->vfs[i]->n_mdev_types)
			return pf->vfs[i];
	return NULL;
}

int gp_catalogue_each(const struct gp_device *pf, enum gp_backend b, gp_catalogue_fn fn,
		      void *data)
{
	const struct gp_device *src;
	size_t i, j;
	int r = 0;

	switch (b) {
	case GP_BACKEND_NVIDIA_MDEV:
		src = gp_catalogue_mdev_source(pf);
		for (j = 0; r == 0 && src && j < src->n_mdev_types; j++)
			r = fn(data, &src->mdev_types[j]);
		break;
	case GP_BACKEND_NVIDIA_VFIO:
		for (i = 0; r == 0 && i < pf->n_vfs; i++)
			for (j = 0; r == 0 && j < pf->vfs[i]->n_creatable; j++)
				r = fn(data, &pf->vfs[i]->creatable[j]);
		break;
	case GP_BACKEND_SRIOV:
	case GP_BACKEND_NONE:
		break;
	}
	return r;
}
