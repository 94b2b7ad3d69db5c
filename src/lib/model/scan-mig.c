/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MIG (Multi-Instance GPU) on an NVIDIA physical function: whether MIG mode is on and how many
 * GPU instances exist, for MIG-backed vGPU (A30, A100, H100, H200, RTX Pro 6000).
 *
 * GPU instances: the driver's nvidia-capabilities tree has a directory per MIG-capable GPU,
 * ROOT/proc/driver/nvidia/capabilities/gpuN/mig, N being the GPU's minor (the N of
 * /dev/nvidiaN), and in it a giM/ per GPU instance M (with its access file and a ciK/ per
 * compute instance). NVIDIA's container toolkit mounts exactly these paths for a MIG device
 * (nvidia-container-toolkit, "capabilities/gpu%d/mig/gi%d/access"); the MIG user guide,
 * "Device Nodes and Capabilities", documents the tree.
 *
 * MIG mode itself is the driver's persistent state and shows in no file; NVML says it where it
 * is loaded (host/nvml.c fills mig_mode before this runs). Otherwise the GPU says it by what it
 * offers: with MIG on only MIG-backed types are creatable, and none until GPU instances exist
 * (NVIDIA vGPU user guide, "Configuring a GPU for MIG-Backed vGPUs": create the GPU instances,
 * then the vGPUs); with MIG off only time-sliced ones (on the mdev path MIG-backed types show
 * available_instances 0). GPU instances exist only in MIG mode.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>

#include "host/hostfs.h"
#include "model/scan.h"

static const struct gp_vgpu_type *type_of(const struct gp_device *pf, int id)
{
	const struct gp_vgpu_type *t = gp_vgpu_types_find(pf->catalogue, pf->n_catalogue, id);
	size_t i;

	for (i = 0; !t && i < pf->n_vfs; i++)
		t = gp_vgpu_types_find(pf->vfs[i]->creatable, pf->vfs[i]->n_creatable, id);
	return t;
}

/* What one type says: MIG-backed means MIG on, time-sliced off. */
static void note(const struct gp_vgpu_type *t, bool *mig, bool *sliced)
{
	if (!t || !t->series)
		return;
	if (t->mig)
		*mig = true;
	else
		*sliced = true;
}

static const struct gp_vgpu_type *mdev_type(const struct gp_device *d, const char *key)
{
	size_t i;

	for (i = 0; key && i < d->n_mdev_types; i++)
		if (strcmp(d->mdev_types[i].key, key) == 0)
			return &d->mdev_types[i];
	return NULL;
}

/* The mdev shapes: what is available, and the mdevs in force, of one parent. */
static void note_mdev(const struct gp_device *d, const struct gp_device *src, bool *mig,
		      bool *sliced)
{
	size_t i;

	for (i = 0; src && i < src->n_mdev_types; i++)
		if (src->mdev_types[i].available > 0)
			note(&src->mdev_types[i], mig, sliced);
	for (i = 0; src && i < d->n_mdevs; i++)
		note(mdev_type(src, d->mdevs[i].type_key), mig, sliced);
}

enum gp_tri gp_mig_mode_evidence(const struct gp_device *pf, int n_gpu_instances,
				 bool mig_capable)
{
	const struct gp_device *msrc = gp_catalogue_mdev_source(pf);
	bool mig = false, sliced = false, idle = true, lists = false;
	size_t i, j;

	if (n_gpu_instances > 0)
		return GP_TRI_YES;
	note_mdev(pf, msrc, &mig, &sliced);
	for (i = 0; i < pf->n_vfs; i++) {
		const struct gp_device *vf = pf->vfs[i];

		note_mdev(vf, msrc, &mig, &sliced);
		if (!vf->has_nvidia_dir)
			continue;
		lists = true;
		if (vf->current_vgpu_type > 0) {
			idle = false;
			note(type_of(pf, vf->current_vgpu_type), &mig, &sliced);
		}
		for (j = 0; j < vf->n_creatable; j++) {
			idle = false; /* it offers something: not the empty lists of below */
			note(&vf->creatable[j], &mig, &sliced);
		}
	}
	if (mig != sliced)
		return mig ? GP_TRI_YES : GP_TRI_NO;
	/* VFs enabled, nothing in force and nothing creatable on a MIG-capable GPU: with MIG off
	 * its time-sliced types would be listed; MIG is on and has no GPU instance yet */
	if (!mig && lists && idle && mig_capable && n_gpu_instances == 0)
		return GP_TRI_YES;
	return GP_TRI_UNKNOWN;
}

/* The GPU instances under capabilities/gpuN/mig: their count, or -errno (-ENOENT: no such
 * directory, the GPU is not MIG-capable or the driver says nothing of it). */
static int count_gpu_instances(struct gp_ctx *ctx, int minor)
{
	struct dirent *e;
	char arg[16];
	DIR *dir;
	int n = 0;

	snprintf(arg, sizeof(arg), "%d", minor);
	dir = gp_hostfs_opendir(ctx, GP_HP_NVIDIA_MIG_CAPS, arg);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		const char *p = e->d_name;

		/* "gi" and a decimal instance id; "config", "monitor" and the like are not */
		if (strncmp(p, "gi", 2) != 0 || !p[2])
			continue;
		for (p += 2; *p >= '0' && *p <= '9'; p++)
			;
		if (!*p)
			n++;
	}
	closedir(dir);
	return n;
}

int gp_scan_mig(struct gp_scan *s, struct gp_device *pf)
{
	struct gp_ctx *ctx = s->host->ctx;
	bool capable = false;
	int minor, n;

	if (pf->vendor != 0x10de)
		return 0;
	minor = gp_nvidia_minor(ctx, pf->address);
	if (minor >= 0) {
		n = count_gpu_instances(ctx, minor);
		if (n >= 0) {
			capable = true;
			pf->n_gpu_instances = n;
		} else if (n != -ENOENT && n != -ENOTDIR) {
			WARN(ctx, "%s: cannot read its GPU instances: %s", pf->address, strerror(-n));
		}
	}
	/* NVML's answer, where it was asked, is the driver's own */
	if (pf->mig_mode == GP_TRI_UNKNOWN)
		pf->mig_mode = gp_mig_mode_evidence(pf, pf->n_gpu_instances, capable);
	return 0;
}
