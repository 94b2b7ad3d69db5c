/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NVIDIA vGPU: vendor-specific VFIO (<VF>/nvidia/current_vgpu_type, creatable_vgpu_types) and
 * mdev (create, remove, available_instances), in equal-size mode (every vGPU of one framebuffer
 * size, any series) or mixed-size mode (real-hosts/11; nvidia-linux.md 1.4, 2.4, 2.6). The rule
 * lives in the fixture (fx_vgpu_room): the physical GPU is loaded back from disk into the
 * fixture's model and its files rewritten.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fk-internal.h"

struct fk_gpu {
	struct fx_tree *t;
	struct fx_dev *pf;
	char *pfaddr;
};

static void fk_gpu_free(struct fk_gpu *g)
{
	fx_tree_free(g->t);
	free(g->pfaddr);
}

/* The mdevs under a parent's directory, with their groups, into the model. */
static void fk_mdevs_load(struct fk *fk, struct fx_dev *d, const char *dir)
{
	char *p = fk_path(fk, dir);
	DIR *dd = opendir(p);
	struct dirent *e;

	free(p);
	while (dd && (e = readdir(dd))) {
		char rel[PATH_MAX], *ty, *g;
		struct fx_mdev *m;

		if (strlen(e->d_name) != 36 || !isxdigit((unsigned char)e->d_name[0]))
			continue;
		ty = fk_link_name(fk, "%s/%s/mdev_type", dir, e->d_name);
		if (!ty)
			continue;
		m = fx_mdev_add(d, e->d_name, strrchr(ty, '-') ? atoi(strrchr(ty, '-') + 1) : 0);
		snprintf(rel, sizeof(rel), "%s/%s/iommu_group", dir, e->d_name);
		g = fk_link_name(fk, "%s", rel);
		m->group = g ? atoi(g) : FX_GROUP_NONE;
		free(g);
		free(ty);
	}
	if (dd)
		closedir(dd);
}

static enum fx_vgpu_shape fk_shape_on_disk(struct fk *fk, const char *dir)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), "%s/nvidia", dir);
	if (fk_exists(fk, rel))
		return FX_VGPU_VENDOR;
	snprintf(rel, sizeof(rel), "%s/mdev_supported_types", dir);
	return fk_exists(fk, rel) ? FX_VGPU_MDEV : FX_VGPU_NONE;
}

/* capabilities/gpuN/mig of @pf, N its minor (its information file's "Device Minor:") */
static bool fk_mig_dir(struct fk *fk, const char *pf, char *rel, size_t len)
{
	char *info, *p;

	snprintf(rel, len, "proc/driver/nvidia/gpus/%s/information", pf);
	info = fk_read_all(fk, rel, NULL);
	p = info ? strstr(info, "Device Minor:") : NULL;
	if (p)
		snprintf(rel, len, "proc/driver/nvidia/capabilities/gpu%d/mig",
			 atoi(p + strlen("Device Minor:")));
	free(info);
	return p != NULL;
}

/* The GPU instances under capabilities/gpuN/mig, by name. */
static int fk_mig_instances(struct fk *fk, const char *dir, char names[][16], int max)
{
	char *p = fk_path(fk, dir);
	DIR *dd = opendir(p);
	struct dirent *e;
	int n = 0;

	free(p);
	while (dd && (e = readdir(dd)))
		if (!strncmp(e->d_name, "gi", 2) && isdigit((unsigned char)e->d_name[2]) && n < max)
			snprintf(names[n++], 16, "%s", e->d_name);
	if (dd)
		closedir(dd);
	return n;
}

static void fk_mig_load(struct fk *fk, struct fx_dev *pf)
{
	char rel[PATH_MAX], names[8][16];
	int type;

	snprintf(rel, sizeof(rel), FK_DIR "/mig/%s", pf->addr);
	if (!fk_exists(fk, rel))
		return;
	type = fk_read_int(fk, 0, "%s", rel);
	pf->mig = true;
	if (fk_mig_dir(fk, pf->addr, rel, sizeof(rel)))
		pf->n_gis = fk_mig_instances(fk, rel, names, 8);
	for (int i = 0; i < pf->n_gis; i++)
		pf->gi_type[i] = type;
}

void fk_nv_mig_destroy(struct fk *fk, const char *pf)
{
	char rel[PATH_MAX], gi[PATH_MAX + 32], names[64][16];
	int n;

	if (!fk_mig_dir(fk, pf, rel, sizeof(rel)))
		return;
	n = fk_mig_instances(fk, rel, names, 64);
	for (int i = 0; i < n; i++) {
		snprintf(gi, sizeof(gi), "%s/%s", rel, names[i]);
		fk_rm(fk, gi);
	}
}

/* The physical GPU that @addr (PF or VF) belongs to; @probe (a VF) gets the host's shape. */
static int fk_gpu_load(struct fk *fk, const char *addr, const char *probe, struct fk_gpu *g)
{
	char *pf = fk_link_name(fk, "sys/bus/pci/devices/%s/physfn", addr), *dir;
	int n;

	g->pfaddr = pf ? pf : strdup(addr);
	g->t = fx_tree_new();
	g->pf = fk_pf_load(fk, g->t, g->pfaddr);
	if (!g->pf)
		fk_unmodelled(fk, "%s (cannot model GPU %s)", fk->what, g->pfaddr);
	g->pf->vgpu_mixed_size = fk_marker(fk, "vgpu-mixed-size", g->pfaddr);
	dir = fk_dev_dir(fk, g->pfaddr);
	g->pf->vgpu = fk_shape_on_disk(fk, dir) == FX_VGPU_MDEV ? FX_VGPU_MDEV : FX_VGPU_NONE;
	fk_mig_load(fk, g->pf);
	fk_mdevs_load(fk, g->pf, dir);
	free(dir);
	n = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/sriov_numvfs", g->pfaddr);
	if (n > 0 && fx_sriov_enable(g->pf, n, NULL) < 0)
		abort();
	for (int i = 0; i < n; i++) {
		struct fx_dev *vf = g->pf->vfs[i];

		dir = fk_dev_dir(fk, vf->addr);
		if (!dir) {
			vf->group = FX_GROUP_NONE; /* being removed: counts for nothing */
			continue;
		}
		vf->driver = fk_link_name(fk, "%s/driver", dir);
		vf->group = fk_dev_group(fk, vf->addr);
		vf->catalog = g->pf->catalog;
		vf->vgpu = fk_shape_on_disk(fk, dir);
		if (probe && !strcmp(probe, vf->addr))
			vf->vgpu = fk_nv_shape(fk);
		if (vf->vgpu == FX_VGPU_VENDOR)
			vf->current_vgpu = fk_read_int(fk, 0, "%s/nvidia/current_vgpu_type", dir);
		fk_mdevs_load(fk, vf, dir);
		free(dir);
	}
	return 0;
}

/* Rewrites every vGPU file of the GPU from the model: the driver's rule in one place. */
static int fk_gpu_write(struct fk *fk, struct fk_gpu *g)
{
	struct fx_dev *d = g->pf;
	int r = 0;

	for (int i = -1; r >= 0 && i < d->sriov_numvfs; i++) {
		struct fx_dev *x = i < 0 ? d : d->vfs[i];
		char *dir;

		/* an mdev parent stays one whatever it is bound to now: a VF on vfio-pci keeps
		 * its "vfio-pci-NNN" types (research/real-hosts/01); one nvidia released has
		 * none left on disk (fk_nv_vf_remove), so its shape reads NONE */
		if (x->vgpu == FX_VGPU_NONE || !x->driver)
			continue;
		dir = fk_dev_dir(fk, x->addr);
		if (dir)
			r = fx_vgpu_write(g->t, fk->root, x, dir);
		free(dir);
	}
	return r;
}

int fk_nv_gpu_refresh(struct fk *fk, const char *addr)
{
	struct fk_gpu g;
	int r;

	fk_gpu_load(fk, addr, NULL, &g);
	r = fk_gpu_write(fk, &g);
	fk_gpu_free(&g);
	return r;
}

int fk_nv_vf_probe(struct fk *fk, const char *vf)
{
	struct fk_gpu g;
	char *dir = fk_dev_dir(fk, vf);
	int r = 0;

	fk_gpu_load(fk, vf, vf, &g);
	/* a VF that comes up carries no vGPU, so its siblings offer what they did: only its
	 * own files are written (sriov-manage -e probes 32 of them) */
	for (int i = 0; dir && i < g.pf->sriov_numvfs; i++) {
		struct fx_dev *x = g.pf->vfs[i];

		if (!strcmp(x->addr, vf) && x->vgpu != FX_VGPU_NONE)
			r = fx_vgpu_write(g.t, fk->root, x, dir);
	}
	free(dir);
	fk_gpu_free(&g);
	return r;
}

static int fk_mdev_destroy(struct fk *fk, const char *uuid)
{
	char rel[PATH_MAX], *dir, *ty;
	int group;

	snprintf(rel, sizeof(rel), "sys/bus/mdev/devices/%s", uuid);
	dir = fk_resolve(fk, rel);
	if (!dir)
		return -ENODEV;
	ty = fk_link_name(fk, "%s/mdev_type", dir);
	snprintf(rel, sizeof(rel), "%s/iommu_group", dir);
	{
		char *g = fk_link_name(fk, "%s", rel);

		group = g ? atoi(g) : -1;
		free(g);
	}
	/* vfio's remove() waits for whoever holds the mdev */
	fk_block_wait(fk, uuid, group);
	fk_group_drop(fk, group, uuid);
	snprintf(rel, sizeof(rel), "sys/bus/mdev/devices/%s", uuid);
	fk_rm(fk, rel);
	if (ty) {
		char *parent = strdup(dir);

		*strrchr(parent, '/') = '\0';
		snprintf(rel, sizeof(rel), "%s/mdev_supported_types/%s/devices/%s", parent, ty, uuid);
		fk_rm(fk, rel);
		free(parent);
	}
	fk_rm(fk, dir);
	free(ty);
	free(dir);
	return 0;
}

int fk_nv_vf_remove(struct fk *fk, const char *vf)
{
	struct fk_gpu g;
	char rel[PATH_MAX], *dir = fk_dev_dir(fk, vf);

	if (!dir)
		return 0;
	/* the mdev parent goes away: mdev_unregister_parent() removes its mdevs first */
	memset(&g, 0, sizeof(g));
	g.t = fx_tree_new();
	g.pf = fx_dev_add(g.t, NULL, vf, 0, 0, 0);
	fk_mdevs_load(fk, g.pf, dir);
	for (struct fx_mdev *m = g.pf->mdevs; m; m = m->next)
		fk_mdev_destroy(fk, m->uuid);
	fk_gpu_free(&g);
	snprintf(rel, sizeof(rel), "%s/nvidia", dir);
	fk_rm(fk, rel);
	snprintf(rel, sizeof(rel), "%s/mdev_supported_types", dir);
	fk_rm(fk, rel);
	snprintf(rel, sizeof(rel), "sys/class/mdev_bus/%s", vf);
	fk_rm(fk, rel);
	free(dir);
	return 0;
}

/* kstrtol(buf, 10, ...) */
static int fk_kstrtol(const char *val, long *out)
{
	char *end;

	if (!*val || isspace((unsigned char)*val))
		return -EINVAL;
	errno = 0;
	*out = strtol(val, &end, 10);
	if (end == val || (*end && strcmp(end, "\n")) || errno)
		return -EINVAL;
	return 0;
}

static bool fk_creatable(struct fk *fk, const char *vf, long id)
{
	char rel[PATH_MAX], *txt, *line, *save = NULL;
	bool found = false;

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/nvidia/creatable_vgpu_types", vf);
	txt = fk_read_all(fk, rel, NULL);
	for (line = txt ? strtok_r(txt, "\n", &save) : NULL; line && !found;
	     line = strtok_r(NULL, "\n", &save))
		found = isdigit((unsigned char)line[0]) && atol(line) == id;
	free(txt);
	return found;
}

int fk_nv_current_type_store(struct fk *fk, const char *vf, const char *val)
{
	char rel[PATH_MAX];
	long id;
	int cur;

	if (fk_kstrtol(val, &id) < 0)
		return -EINVAL;
	cur = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
	if (id == 0) {
		/* nv_vfio_pci_remove(): "Failed to remove vGPU. No vGPU exists on current
		 * device", -EPERM (NVIDIA 525 vgpu-vfio-pci-core.c, real-hosts/06) */
		if (!cur)
			return -EPERM;
		/* a VM holds the VF: "Operation not permitted" (hypeman's log) */
		if (fk_group_held(fk, fk_dev_group(fk, vf)))
			return -EPERM;
	} else if (cur) {
		return -EPERM; /* "vGPU device already created with type ID" */
	} else if (!fk_creatable(fk, vf, id)) {
		return -EINVAL;
	}
	fk_put(fk, rel, "%ld\n", id);
	return fk_nv_gpu_refresh(fk, vf);
}

int fk_mdev_create_store(struct fk *fk, const char *parent, const char *type, const char *val)
{
	static const char pat[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	char uuid[37], rel[PATH_MAX];
	struct fk_gpu g;
	struct fx_dev *d = NULL;
	struct fx_mdev *m;
	int r;

	/* uuid_parse() looks at 36 characters; echo's newline after them is fine */
	if (strlen(val) < 36)
		return -EINVAL;
	for (int i = 0; i < 36; i++) {
		if (pat[i] == 'x' ? !isxdigit((unsigned char)val[i]) : val[i] != '-')
			return -EINVAL;
		uuid[i] = (char)tolower((unsigned char)val[i]); /* the device is named %pUl */
	}
	uuid[36] = '\0';
	snprintf(rel, sizeof(rel), "sys/bus/mdev/devices/%s", uuid);
	if (fk_exists(fk, rel))
		return -EEXIST;
	/* mdev_device_create(): a type with nothing available refuses with -EUSERS */
	if (fk_read_int(fk, 0, "sys/bus/pci/devices/%s/mdev_supported_types/%s/available_instances",
			parent, type) <= 0)
		return -EUSERS;
	fk_gpu_load(fk, parent, NULL, &g);
	if (!strcmp(g.pf->addr, parent))
		d = g.pf;
	for (int i = 0; !d && i < g.pf->sriov_numvfs; i++)
		if (!strcmp(g.pf->vfs[i]->addr, parent))
			d = g.pf->vfs[i];
	if (!d || d->vgpu != FX_VGPU_MDEV)
		fk_unmodelled(fk, "%s (mdev parent %s not modelled)", fk->what, parent);
	m = fx_mdev_add(d, uuid, strrchr(type, '-') ? atoi(strrchr(type, '-') + 1) : 0);
	m->group = g.t->host.iommu ? fk_group_alloc(fk) : FX_GROUP_NONE;
	r = fk_gpu_write(fk, &g);
	fk_gpu_free(&g);
	return r;
}

int fk_mdev_remove_store(struct fk *fk, const char *uuid, const char *val)
{
	char rel[PATH_MAX], *dir, *parent;
	unsigned long v;
	char *end;
	int r;

	/* remove_store(): kstrtoul(buf, 0); 0 does nothing */
	v = strtoul(val, &end, 0);
	if (end == val || (*end && strcmp(end, "\n")) || *val == '-')
		return -EINVAL;
	if (!v)
		return 0;
	snprintf(rel, sizeof(rel), "sys/bus/mdev/devices/%s", uuid);
	dir = fk_resolve(fk, rel);
	if (!dir)
		return -ENODEV;
	parent = strdup(dir);
	*strrchr(parent, '/') = '\0';
	r = fk_mdev_destroy(fk, uuid);
	if (r >= 0)
		r = fk_nv_gpu_refresh(fk, strrchr(parent, '/') + 1);
	free(parent);
	free(dir);
	return r;
}
