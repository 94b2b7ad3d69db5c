/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The state of a GPU that partitioning changes, read fresh from sysfs, and the state a
 * partition count asks for.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <gpupart/layout.h>
#include <gpupart/plan.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "kinds/binding.h"
#include "model/mdev-bus.h"
#include "model/pci-addr.h"

void gp_gpu_state_clear(struct gp_gpu_state *s)
{
	size_t i;

	for (i = 0; i < s->n_vfs; i++) {
		free(s->vfs[i].driver);
		free(s->vfs[i].override);
	}
	for (i = 0; i < s->n_mdevs; i++)
		free(s->mdevs[i].type_key);
	free(s->vfs);
	free(s->mdevs);
	memset(s, 0, sizeof(*s));
}

static int dup_opt(const char *s, char **out)
{
	*out = NULL;
	if (!s)
		return 0;
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

int gp_gpu_state_copy(const struct gp_gpu_state *src, struct gp_gpu_state *dst)
{
	size_t i;

	*dst = *src;
	dst->vfs = NULL;
	dst->mdevs = NULL;
	dst->n_vfs = dst->n_mdevs = 0;
	if (src->n_vfs && !(dst->vfs = calloc(src->n_vfs, sizeof(*dst->vfs))))
		goto oom;
	for (i = 0; i < src->n_vfs; i++, dst->n_vfs++) {
		dst->vfs[i] = src->vfs[i];
		dst->vfs[i].driver = dst->vfs[i].override = NULL;
		if (dup_opt(src->vfs[i].driver, &dst->vfs[i].driver) < 0 ||
		    dup_opt(src->vfs[i].override, &dst->vfs[i].override) < 0) {
			dst->n_vfs++;
			goto oom;
		}
	}
	if (src->n_mdevs && !(dst->mdevs = calloc(src->n_mdevs, sizeof(*dst->mdevs))))
		goto oom;
	for (i = 0; i < src->n_mdevs; i++, dst->n_mdevs++) {
		dst->mdevs[i] = src->mdevs[i];
		if (dup_opt(src->mdevs[i].type_key, &dst->mdevs[i].type_key) < 0)
			goto oom;
	}
	return 0;
oom:
	gp_gpu_state_clear(dst);
	return -ENOMEM;
}

const struct gp_mdev_state *gp_mdev_state_find(const struct gp_gpu_state *s,
					       const struct gp_mdev_state *m)
{
	size_t i;

	for (i = 0; i < s->n_mdevs; i++)
		if (strcasecmp(s->mdevs[i].uuid, m->uuid) == 0 &&
		    strcmp(s->mdevs[i].parent, m->parent) == 0 &&
		    gp_str_eq(s->mdevs[i].type_key, m->type_key))
			return &s->mdevs[i];
	return NULL;
}

bool gp_gpu_state_equal(const struct gp_gpu_state *a, const struct gp_gpu_state *b)
{
	size_t i;

	if (a->numvfs != b->numvfs || a->autoprobe != b->autoprobe || a->n_vfs != b->n_vfs ||
	    a->n_mdevs != b->n_mdevs)
		return false;
	for (i = 0; i < a->n_vfs; i++) {
		const struct gp_vf_state *x = &a->vfs[i], *y = &b->vfs[i];

		if (x->index != y->index || strcmp(x->address, y->address) ||
		    !gp_str_eq(x->driver, y->driver) || !gp_str_eq(x->override, y->override) ||
		    x->vgpu_type != y->vgpu_type)
			return false;
	}
	for (i = 0; i < a->n_mdevs; i++)
		if (!gp_mdev_state_find(b, &a->mdevs[i]))
			return false;
	return true;
}

static int read_int(int dfd, const char *name)
{
	long v;

	return gp_hostfs_read_long_at(dfd, name, 10, &v) == 0 && v >= 0 && v < 1 << 30 ?
		       (int)v : GP_UNKNOWN;
}

static int vf_cmp(const void *a, const void *b)
{
	return ((const struct gp_vf_state *)a)->index - ((const struct gp_vf_state *)b)->index;
}

/* The VFs, from the PF's virtfnN links (the kernel's own list, in any order). */
static int read_vfs(struct gp_ctx *ctx, int pfd, struct gp_gpu_state *s)
{
	struct dirent *de;
	DIR *dir;
	int r = 0;

	dir = gp_hostfs_opendir_at(pfd, NULL);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		struct gp_vf_state *vf;
		char addr[64], *end;
		long idx;
		int vfd;

		if (strncmp(de->d_name, "virtfn", 6) != 0)
			continue;
		idx = strtol(de->d_name + 6, &end, 10);
		if (*end || end == de->d_name + 6 || idx < 0 || idx > 65535)
			continue;
		if (gp_hostfs_link_base_at(pfd, de->d_name, addr, sizeof(addr)) <= 0 ||
		    strlen(addr) >= GP_ADDR_LEN)
			continue;
		vf = GP_PUSH(s->vfs, s->n_vfs);
		if (!vf) {
			r = -ENOMEM;
			break;
		}
		vf->index = (int)idx;
		strcpy(vf->address, addr);
		vf->vgpu_type = GP_UNKNOWN;
		/* through the bus directory: virtfnN climbs out of the PF's (RESOLVE_BENEATH) */
		vfd = gp_hostfs_open_dir(ctx, GP_HP_PCI_DEVICE, addr);
		if (vfd < 0)
			continue;
		vf->driver = gp_binding_read_driver(vfd);
		vf->override = gp_binding_read_override(vfd);
		if (gp_hostfs_is_dir_at(vfd, "nvidia") == 1) {
			vf->vgpu_type = read_int(vfd, "nvidia/current_vgpu_type");
			if (vf->vgpu_type == GP_UNKNOWN)
				vf->vgpu_type = 0;
		}
		close(vfd);
	}
	closedir(dir);
	if (s->n_vfs)
		qsort(s->vfs, s->n_vfs, sizeof(*s->vfs), vf_cmp);
	return r;
}

static bool parent_is_ours(const struct gp_gpu_state *s, const char *parent)
{
	size_t i;

	if (strcmp(parent, s->address) == 0)
		return true;
	for (i = 0; i < s->n_vfs; i++)
		if (strcmp(parent, s->vfs[i].address) == 0)
			return true;
	return false;
}

/* mdevs: the bus walk (model/mdev-bus.h), keeping those on this GPU's PF or VFs. */
struct mdev_walk {
	struct gp_ctx *ctx;
	struct gp_gpu_state *s;
};

static int note_mdev(void *data, const struct gp_mdev_link *l)
{
	struct mdev_walk *w = data;
	struct gp_mdev_state *m;
	char type[128];

	if (!parent_is_ours(w->s, l->parent))
		return 0;
	m = GP_PUSH(w->s->mdevs, w->s->n_mdevs);
	if (!m)
		return -ENOMEM;
	strcpy(m->uuid, l->uuid);
	snprintf(m->parent, sizeof(m->parent), "%s", l->parent);
	if (gp_mdev_link_type(l, type, sizeof(type)) <= 0) {
		/* half created or going away: a state we could neither journal nor
		 * recreate, so no change is planned from it */
		ERR(w->ctx, "mdev %s on %s has no readable mdev_type: not changing this GPU "
			    "while it settles",
		    l->uuid, l->parent);
		return -EIO;
	}
	return (m->type_key = strdup(type)) ? 0 : -ENOMEM;
}

static int mdev_cmp(const void *a, const void *b)
{
	const struct gp_mdev_state *x = a, *y = b;
	int c = strcmp(x->parent, y->parent);

	return c ? c : strcmp(x->uuid, y->uuid);
}

/* In parent (VF) order, then by UUID, not in the bus directory's order: an undo then
 * recreates them in the order they were made, one per VF, so that the kernel's lowest-free
 * IOMMU group numbers (an ida) come back where they were. */
static int read_mdevs(struct gp_ctx *ctx, struct gp_gpu_state *s)
{
	struct mdev_walk w = { ctx, s };
	int r = gp_mdev_bus_each(ctx, note_mdev, &w);

	if (r == 0 && s->n_mdevs > 1)
		qsort(s->mdevs, s->n_mdevs, sizeof(*s->mdevs), mdev_cmp);
	return r;
}

int gp_gpu_state_read(struct gp_ctx *ctx, const char *addr, enum gp_backend backend,
		      struct gp_gpu_state *out)
{
	int pfd, r;

	memset(out, 0, sizeof(*out));
	if (strlen(addr) >= GP_ADDR_LEN)
		return -EINVAL;
	strcpy(out->address, addr);
	out->backend = backend;
	pfd = gp_hostfs_open_dir(ctx, GP_HP_PCI_DEVICE, addr);
	if (pfd < 0)
		return pfd;
	out->numvfs = read_int(pfd, "sriov_numvfs");
	out->autoprobe = read_int(pfd, "sriov_drivers_autoprobe");
	out->vfio_pci = gp_binding_vfio_pci_loaded(ctx);
	r = read_vfs(ctx, pfd, out);
	close(pfd);
	/* on either NVIDIA backend: a GPU planned as vendor-VFIO before its VFs existed may
	 * show mdev-shaped VFs once sriov-manage has enabled them, and an undo must see them */
	if (r == 0 && (backend == GP_BACKEND_NVIDIA_MDEV || backend == GP_BACKEND_NVIDIA_VFIO))
		r = read_mdevs(ctx, out);
	if (r < 0)
		gp_gpu_state_clear(out);
	return r;
}

static void vf_address(const struct gp_device *pf, int index, char out[GP_ADDR_LEN])
{
	gp_vf_addr_at(pf, index, out);
}

static int target_sriov(const struct gp_device *pf, int count, struct gp_gpu_state *out)
{
	int i;

	if (count > 0 && (pf->sriov_offset <= 0 || pf->sriov_stride < 0))
		return -EINVAL; /* cannot say where the VFs will be */
	out->numvfs = count;
	for (i = 0; i < count; i++) {
		struct gp_vf_state *vf = GP_PUSH(out->vfs, out->n_vfs);

		if (!vf)
			return -ENOMEM;
		vf->index = i;
		vf_address(pf, i, vf->address);
		vf->vgpu_type = GP_UNKNOWN;
		if (!(vf->driver = strdup("vfio-pci")) || !(vf->override = strdup("vfio-pci")))
			return -ENOMEM;
	}
	return 0;
}

static int key_type_id(const char *key)
{
	const char *dash = key ? strrchr(key, '-') : NULL;

	return dash ? atoi(dash + 1) : 0;
}

/* A vGPU of type @id is what @ty makes: @ty itself (a MIG-backed type in force, perhaps known
 * by its id alone), or a time-sliced type of the same framebuffer size and series (GRID T4-2B
 * and T4-2B4 are both 2 GiB B-series). set-count never clears one of these. */
static bool same_kind(const struct gp_device *pf, int id, const struct gp_vgpu_type *ty)
{
	/* @id is an mdev key's tail: "nvidia-562", "vfio-pci-562" */
	const struct gp_vgpu_type *t = gp_vgpu_types_find(pf->catalogue, pf->n_catalogue, id);

	if (id > 0 && id == ty->type_id)
		return true;
	return t && !t->mig && !ty->mig && t->series == ty->series && t->fb_bytes > 0 &&
	       t->fb_bytes == ty->fb_bytes;
}

static int target_nvidia_vfio(const struct gp_device *pf, const struct gp_vgpu_type *ty,
			      int count, struct gp_gpu_state *out)
{
	size_t i;
	int have = 0;

	/* VFs already carrying a vGPU of the target's size and series keep it (up to count,
	 * lowest index first); the other vGPUs are cleared; free VFs take the rest, lowest
	 * index first. An idle VF keeps its 0: the driver refuses to clear one (-EPERM). */
	for (i = 0; i < out->n_vfs; i++) {
		struct gp_vf_state *vf = &out->vfs[i];

		if (vf->vgpu_type > 0 && same_kind(pf, vf->vgpu_type, ty) && have < count)
			have++;
		else if (vf->vgpu_type > 0)
			vf->vgpu_type = 0;
	}
	for (i = 0; i < out->n_vfs && have < count; i++) {
		if (out->vfs[i].vgpu_type == 0) {
			out->vfs[i].vgpu_type = ty->type_id;
			have++;
		}
	}
	return have == count ? 0 : -ERANGE;
}

static bool uuid_kept(const struct gp_gpu_state *s, const char *uuid)
{
	size_t i;

	for (i = 0; i < s->n_mdevs; i++)
		if (strcasecmp(s->mdevs[i].uuid, uuid) == 0)
			return true;
	return false;
}

/* The next VF (from *@next on) that holds no mdev of @s: one vGPU per VF. */
static const char *free_vf(const struct gp_gpu_state *cur, const struct gp_gpu_state *s,
			   size_t *next)
{
	size_t k;

	for (; *next < cur->n_vfs; (*next)++) {
		const char *a = cur->vfs[*next].address;

		for (k = 0; k < s->n_mdevs && strcmp(s->mdevs[k].parent, a); k++)
			;
		if (k == s->n_mdevs)
			return cur->vfs[(*next)++].address;
	}
	return NULL;
}

/*
 * @ty's type directory on @parent: each parent names its types after the driver it had when
 * it registered (mdev_type_add(), drivers/vfio/mdev/mdev_sysfs.c: "nvidia-575" beside
 * "vfio-pci-575", research/real-hosts/01), so the directory is found by the numeric type id
 * under the parent's own prefix (the scan's gp_device.mdev_type_prefix). -ENXIO when @parent
 * lists no mdev types: no mdev can be made there.
 */
static int mdev_type_key(const struct gp_device *pf, const char *parent,
			 const struct gp_vgpu_type *ty, char **key)
{
	const struct gp_device *d = NULL;
	size_t i;

	*key = NULL;
	if (strcmp(parent, pf->address) == 0 || ty->type_id <= 0) {
		*key = strdup(ty->key);
		return *key ? 0 : -ENOMEM;
	}
	for (i = 0; !d && i < pf->n_vfs; i++)
		if (strcmp(pf->vfs[i]->address, parent) == 0)
			d = pf->vfs[i];
	if (!d || !d->mdev_type_prefix)
		return -ENXIO;
	if (asprintf(key, "%s-%d", d->mdev_type_prefix, ty->type_id) < 0) {
		*key = NULL;
		return -ENOMEM;
	}
	return 0;
}

static int target_mdev(const struct gp_device *pf, const struct gp_vgpu_type *ty,
		       const struct gp_gpu_state *cur, int count, struct gp_gpu_state *out)
{
	bool on_vfs = gp_catalogue_mdev_source(pf) != pf;
	size_t i, kept = 0, next_vf = 0;
	char path[128], uuid[37];
	int id, r;

	if (gp_device_path_id(pf, path, sizeof(path)) < 0)
		return -EINVAL;
	/* mdevs of the target's size and series stay (up to count); the others go */
	for (i = 0; i < out->n_mdevs; i++) {
		if (kept < (size_t)count && same_kind(pf, key_type_id(out->mdevs[i].type_key), ty))
			out->mdevs[kept++] = out->mdevs[i];
		else
			free(out->mdevs[i].type_key);
	}
	out->n_mdevs = kept;
	/* the rest get the GPU's partition UUIDs, lowest partition id first */
	for (id = 0; out->n_mdevs < (size_t)count; id++) {
		const char *parent = pf->address;
		struct gp_mdev_state *m;

		gp_partition_uuid(path, pf, id, uuid);
		if (uuid_kept(out, uuid))
			continue;
		/* the catalogue lives on the VFs: one partition per VF */
		if (on_vfs && !(parent = free_vf(cur, out, &next_vf)))
			return -ERANGE;
		m = GP_PUSH(out->mdevs, out->n_mdevs);
		if (!m)
			return -ENOMEM;
		strcpy(m->uuid, uuid);
		snprintf(m->parent, sizeof(m->parent), "%s", parent);
		r = mdev_type_key(pf, parent, ty, &m->type_key);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * No partition on an NVIDIA GPU: no mdev, no VF with a type, and no VF at all, so that the
 * GPU can be handed whole to a VM (sriov-manage -d, as -e enabled them: nvidia.ko has no
 * sriov_configure). VFs a GPU without SR-IOV never had stay as they are (none).
 */
static int target_nvidia_none(struct gp_gpu_state *out)
{
	size_t i;

	for (i = 0; i < out->n_mdevs; i++)
		free(out->mdevs[i].type_key);
	out->n_mdevs = 0;
	if (out->numvfs > 0) {
		for (i = 0; i < out->n_vfs; i++) {
			free(out->vfs[i].driver);
			free(out->vfs[i].override);
		}
		out->n_vfs = 0;
		out->numvfs = 0;
	}
	return 0;
}

int gp_gpu_state_target(const struct gp_host *host, const struct gp_gpu_view *view,
			const struct gp_gpu_state *cur, int count, struct gp_gpu_state *out)
{
	const struct gp_device *pf = view->dev;
	struct gp_vgpu_type ty;
	int r;

	r = gp_gpu_state_copy(cur, out);
	if (r < 0)
		return r;
	switch (view->backend) {
	case GP_BACKEND_SRIOV:
		gp_gpu_state_clear(out);
		strcpy(out->address, cur->address);
		out->backend = cur->backend;
		out->autoprobe = cur->autoprobe;
		r = target_sriov(pf, count, out);
		break;
	case GP_BACKEND_NVIDIA_VFIO:
	case GP_BACKEND_NVIDIA_MDEV:
		if (count > 0 && cur->numvfs == 0 && pf->sriov_total_vfs > 0 &&
		    (view->backend == GP_BACKEND_NVIDIA_VFIO || gp_catalogue_mdev_source(pf) != pf)) {
			/* the driver shows its types on VFs only: enable them, then plan again */
			out->numvfs = pf->sriov_total_vfs;
			return -EAGAIN;
		}
		if (count == 0)
			return target_nvidia_none(out);
		if (gp_policy_count_in_force(view, count))
			return 0; /* the count in force: as is, whatever the catalogue says */
		r = gp_policy_type_for_count(host, pf, view->series, count, &ty);
		if (r < 0)
			break;
		/* between two counts: the vGPUs that differ are cleared, then the new ones set,
		 * the VFs staying enabled (gpu-plan.c) */
		r = view->backend == GP_BACKEND_NVIDIA_VFIO ? target_nvidia_vfio(pf, &ty, count, out) :
							      target_mdev(pf, &ty, cur, count, out);
		break;
	default:
		r = -EOPNOTSUPP;
	}
	if (r < 0)
		gp_gpu_state_clear(out);
	return r;
}
