/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vGPU state: mdev types and mdevs (NVIDIA shapes a and b) and the vendor-specific VFIO
 * `nvidia/` directory of each VF (shape c). See research/nvidia-linux.md §1-2.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "model/mdev-bus.h"
#include "model/scan.h"

/*
 * An mdev type directory is "<parent's driver>-<type>": mdev_type_add() names it
 * "%s-%s" with dev_driver_string(parent->dev) when the parent registers
 * (drivers/vfio/mdev/mdev_sysfs.c), so one type is "nvidia-575" on a VF nvidia had and
 * "vfio-pci-575" on one bound to vfio-pci then (research/real-hosts/01). NVIDIA's <type> is
 * its numeric type id: the same on every parent, unlike the name.
 */
int gp_mdev_type_id(const char *key)
{
	const char *dash = key ? strrchr(key, '-') : NULL;
	char *end;
	long v;

	if (!dash || !dash[1] || !isdigit((unsigned char)dash[1]))
		return GP_UNKNOWN;
	v = strtol(dash + 1, &end, 10);
	return !*end && v > 0 && v < 1 << 30 ? (int)v : GP_UNKNOWN;
}

/* The driver part of a type directory's name, or NULL (not "<driver>-<id>"). */
static char *type_prefix(const char *key)
{
	const char *dash = strrchr(key, '-');

	return dash && dash > key && gp_mdev_type_id(key) > 0 ?
		       strndup(key, (size_t)(dash - key)) : NULL;
}

static int read_type(struct gp_ctx *ctx, int tfd, const char *key, struct gp_vgpu_type *t)
{
	char buf[512];
	int64_t fb;
	long v;

	t->max_instances = GP_UNKNOWN;
	t->available = GP_UNKNOWN;
	t->fb_bytes = GP_UNKNOWN;
	t->key = strdup(key);
	if (!t->key)
		return -ENOMEM;
	t->type_id = gp_mdev_type_id(key);
	if (gp_hostfs_read_at(tfd, "name", buf, sizeof(buf)) > 0) {
		t->name = strdup(buf);
		gp_vgpu_type_parse_name(buf, &t->series, &t->mig, &t->fb_bytes);
	}
	if (gp_hostfs_read_at(tfd, "description", buf, sizeof(buf)) > 0) {
		int max;

		if (gp_parse_mdev_description(buf, &fb, &max) == 0) {
			if (fb > 0)
				t->fb_bytes = fb;
			if (max > 0) {
				t->max_instances = max;
				t->max_from_driver = true;
			}
		}
	}
	if (gp_hostfs_read_long_at(tfd, "available_instances", 10, &v) == 0 && v >= 0)
		t->available = (int)v;
	else
		WARN(ctx, "mdev type %s: unreadable available_instances", key);
	return 0;
}

static int type_cmp(const void *a, const void *b)
{
	const struct gp_vgpu_type *x = a, *y = b;

	if (x->type_id != y->type_id)
		return x->type_id < y->type_id ? -1 : 1;
	return strcmp(x->key, y->key);
}

/*
 * A function's mdev_supported_types: every type in full, or (@prefix_only) only the driver
 * prefix of the first directory's name, for a VF whose siblings' types are the same under
 * its own names.
 */
static void scan_types(struct gp_scan *s, int dfd, const char *pfx, struct gp_device *d,
		       bool prefix_only)
{
	char path[128];
	struct dirent *e;
	DIR *dir;
	int tdir;

	snprintf(path, sizeof(path), "%smdev_supported_types", pfx);
	tdir = gp_hostfs_open_dir_at(dfd, path);
	if (tdir < 0)
		return;
	dir = gp_hostfs_opendir_at(tdir, NULL);
	while (dir && (e = readdir(dir))) {
		struct gp_vgpu_type *t;
		int tfd;

		if (e->d_name[0] == '.')
			continue;
		if (prefix_only) {
			d->mdev_type_prefix = type_prefix(e->d_name);
			break;
		}
		tfd = gp_hostfs_open_dir_at(tdir, e->d_name);
		if (tfd < 0)
			continue;
		t = GP_PUSH(d->mdev_types, d->n_mdev_types);
		if (!t || read_type(s->host->ctx, tfd, e->d_name, t) < 0) {
			if (t) /* drop the half-read type: its key is NULL */
				d->n_mdev_types--;
			close(tfd);
			break;
		}
		close(tfd);
	}
	if (dir)
		closedir(dir);
	close(tdir);
	if (d->n_mdev_types)
		qsort(d->mdev_types, d->n_mdev_types, sizeof(*d->mdev_types), type_cmp);
	if (d->n_mdev_types && !d->mdev_type_prefix)
		d->mdev_type_prefix = type_prefix(d->mdev_types[0].key);
}

void gp_scan_mdev_types(struct gp_scan *s, int dfd, const char *pfx, struct gp_device *d)
{
	scan_types(s, dfd, pfx, d, false);
}

void gp_scan_vf_vgpu(struct gp_scan *s, int dfd, const char *pfx, struct gp_device *vf)
{
	struct gp_ctx *ctx = s->host->ctx;
	char *text = NULL, path[160];
	long v;
	int r;
	size_t i;

	snprintf(path, sizeof(path), "%snvidia/current_vgpu_type", pfx);
	r = gp_hostfs_read_long_at(dfd, path, 10, &v);
	if (r != -ENOENT && r != -ENOTDIR) {
		vf->has_nvidia_dir = true;
		if (r == 0 && v >= 0)
			vf->current_vgpu_type = (int)v;
		else
			WARN(ctx, "%s: unreadable nvidia/current_vgpu_type, reporting null",
			     vf->address);
		snprintf(path, sizeof(path), "%snvidia/creatable_vgpu_types", pfx);
		if (gp_hostfs_read_attr_at(dfd, path, &text) >= 0) {
			r = gp_parse_creatable_types(text, &vf->creatable);
			vf->n_creatable = r > 0 ? (size_t)r : 0;
			free(text);
		}
		return;
	}
	/* mdev on each VF: the catalogue is the same on every VF, read it once per GPU; the
	 * others only say under which driver's name they list it */
	if (vf->physfn)
		for (i = 0; i < vf->physfn->n_vfs; i++)
			if (vf->physfn->vfs[i] != vf && vf->physfn->vfs[i]->n_mdev_types) {
				scan_types(s, dfd, pfx, vf, true);
				return;
			}
	gp_scan_mdev_types(s, dfd, pfx, vf);
}

/* One mdev of the bus, attached to its parent device. */
static int attach_mdev(void *data, const struct gp_mdev_link *l)
{
	struct gp_scan *s = data;
	struct gp_pci_addr pa;
	struct gp_device *p;
	struct gp_mdev *m;
	char type[256];

	if (gp_pci_addr_parse(l->parent, &pa) < 0 || !(p = gp_host_find(s->host, &pa))) {
		WARN(s->host->ctx, "mdev %s: parent %s is not a PCI device", l->uuid, l->parent);
		return 0;
	}
	m = GP_PUSH(p->mdevs, p->n_mdevs);
	if (!m)
		return -ENOMEM;
	memcpy(m->uuid, l->uuid, 36);
	m->parent = strdup(p->address);
	if (gp_mdev_link_type(l, type, sizeof(type)) > 0)
		m->type_key = strdup(type);
	m->type_id = gp_mdev_type_id(m->type_key);
	m->iommu_group = gp_mdev_link_group(l);
	return 0;
}

int gp_scan_mdevs(struct gp_scan *s)
{
	/* out of memory: keep what was attached, as before */
	gp_mdev_bus_each(s->host->ctx, attach_mdev, s);
	return 0;
}

const char *gp_mdev_owner_str(enum gp_mdev_owner o)
{
	switch (o) {
	case GP_MDEV_OWNER_GPUPART:
		return "gpupart";
	case GP_MDEV_OWNER_MDEVCTL:
		return "mdevctl";
	case GP_MDEV_OWNER_UNKNOWN:
		break;
	}
	return NULL;
}

/* The most partitions gpupart can have given the GPU: one per VF, or the most instances any
 * type of its catalogue has, and never fewer than 64 (no NVIDIA type has more per GPU). */
static int partition_limit(const struct gp_device *pf)
{
	int limit = 64;
	size_t i;

	if (pf->sriov_total_vfs > limit)
		limit = pf->sriov_total_vfs;
	for (i = 0; i < pf->n_catalogue; i++)
		if (pf->catalogue[i].max_instances > limit)
			limit = pf->catalogue[i].max_instances;
	return limit;
}

static enum gp_mdev_owner mdev_owner(struct gp_scan *s, const struct gp_device *pf,
				     const char *path_id, const struct gp_mdev *m)
{
	char dir[192], rel[256];

	/* defined in mdevctl first (a file named by the UUID in the parent's directory): it,
	 * or libvirt through it, recreates the device at boot, whoever named it */
	if (m->parent && gp_hostfs_path(GP_HP_MDEVCTL_PARENT, m->parent, dir, sizeof(dir)) == 0 &&
	    snprintf(rel, sizeof(rel), "%s/%s", dir, m->uuid) < (int)sizeof(rel) &&
	    gp_hostfs_exists_at(s->root_fd, rel) == 1)
		return GP_MDEV_OWNER_MDEVCTL;
	if (path_id && gp_partition_uuid_id(path_id, pf, m->uuid, partition_limit(pf)) >= 0)
		return GP_MDEV_OWNER_GPUPART;
	return GP_MDEV_OWNER_UNKNOWN;
}

void gp_scan_mdev_owners(struct gp_scan *s, struct gp_device *pf)
{
	char path[256];
	const char *pid = gp_device_path_id(pf, path, sizeof(path)) == 0 ? path : NULL;
	size_t i, k;

	for (k = 0; k < pf->n_mdevs; k++)
		pf->mdevs[k].owner = mdev_owner(s, pf, pid, &pf->mdevs[k]);
	for (i = 0; i < pf->n_vfs; i++)
		for (k = 0; k < pf->vfs[i]->n_mdevs; k++)
			pf->vfs[i]->mdevs[k].owner = mdev_owner(s, pf, pid, &pf->vfs[i]->mdevs[k]);
}
