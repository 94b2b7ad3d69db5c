/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hyper-V's GPU-P model over the host model: Admin Center's "Assigned status", the partition
 * backend, ValidPartitionCounts, PartitionCount and the partitions in force. Pure: no I/O.
 * The exact rules are written out in man/gpupart.8 (STATUS RULES, PARTITION COUNTS).
 */
#include <errno.h>
#include <stdio.h>

#include <gpupart/policy.h>

#include "policy/mig.h"
#include "shared/array.h"
#include "shared/str.h"

#define GIB (1024LL * 1024 * 1024)

const char *gp_status_str(enum gp_status s)
{
	switch (s) {
	case GP_STATUS_PARTITIONED:
		return "partitioned";
	case GP_STATUS_PARAVIRTUALIZATION:
		return "paravirtualization";
	case GP_STATUS_READY_FOR_DDA:
		return "ready-for-dda";
	case GP_STATUS_NOT_ASSIGNABLE:
		break;
	}
	return "not-assignable";
}

const char *gp_backend_str(enum gp_backend b)
{
	switch (b) {
	case GP_BACKEND_NVIDIA_VFIO:
		return "nvidia-vfio";
	case GP_BACKEND_NVIDIA_MDEV:
		return "nvidia-mdev";
	case GP_BACKEND_SRIOV:
		return "sriov";
	case GP_BACKEND_NONE:
		break;
	}
	return NULL;
}

const char *gp_vgpu_mode_str(enum gp_vgpu_mode m)
{
	switch (m) {
	case GP_VGPU_MODE_EQUAL:
		return "equal-size";
	case GP_VGPU_MODE_MIXED:
		return "mixed-size";
	case GP_VGPU_MODE_MIG:
		return "mig";
	case GP_VGPU_MODE_NONE:
		break;
	}
	return NULL;
}

static bool is_nvidia(const struct gp_device *d)
{
	return d->vendor == 0x10de;
}

static bool driver_is(const struct gp_device *d, const char *name)
{
	return d->driver && strcmp(d->driver, name) == 0;
}

/* The SR-IOV capability says the hardware can make VFs (T4's reads VF device 0000: no). */
static bool hw_sriov(const struct gp_device *d)
{
	if (d->sriov_vf_device == 0 || (d->cfg.readable && d->cfg.sriov && !d->cfg.sriov_vf_device))
		return false;
	if (d->sriov_total_vfs > 0)
		return true;
	return d->cfg.sriov && d->cfg.sriov_vf_device != 0 && d->cfg.sriov_total_vfs > 0;
}

static bool any_vf(const struct gp_device *d, bool (*pred)(const struct gp_device *))
{
	size_t i;

	for (i = 0; i < d->n_vfs; i++)
		if (pred(d->vfs[i]))
			return true;
	return false;
}

static bool vf_is_vendor_vfio(const struct gp_device *vf)
{
	return vf->has_nvidia_dir;
}

static bool vf_has_mdev(const struct gp_device *vf)
{
	return vf->n_mdev_types > 0 || vf->n_mdevs > 0;
}

enum gp_backend gp_policy_backend(const struct gp_host *host, const struct gp_device *dev)
{
	if (dev->is_vf)
		return GP_BACKEND_NONE;
	if (is_nvidia(dev)) {
		/* what the enabled VFs show settles it (research §2.3: probe, never guess) */
		if (any_vf(dev, vf_is_vendor_vfio))
			return GP_BACKEND_NVIDIA_VFIO;
		if (dev->n_mdev_types || dev->n_mdevs || any_vf(dev, vf_has_mdev))
			return GP_BACKEND_NVIDIA_MDEV;
		/*
		 * VFs not enabled yet and nothing of this GPU's own says mdev (the PF lists no
		 * types): which shape the VFs get is the driver's build-time choice
		 * (NV_USE_VFIO_PCI_CORE in nv-vgpu-vfio-interface.h: vendor-specific VFIO where
		 * the kernel lacks mdev_set_iommu_device, Linux 5.16+), invisible until they
		 * exist. nvidia-vfio stands until then; set-count enables the VFs, scans again
		 * and plans from what they show (kinds/gpu-state.c: -EAGAIN). /sys/class/mdev_bus
		 * is no evidence: since Linux 6.5 (commit ff598081e5b9, mdev_init()) it exists
		 * whenever mdev.ko is loaded, with or without parents.
		 */
		if (hw_sriov(dev) && dev->n_vfs == 0 && driver_is(dev, "nvidia") &&
		    host->nvidia_vgpu_manager)
			return GP_BACKEND_NVIDIA_VFIO;
	}
	if (hw_sriov(dev))
		return GP_BACKEND_SRIOV;
	return GP_BACKEND_NONE;
}

static bool pcie_endpoint(enum gp_pcie_type t)
{
	/* Legacy endpoints are assignable under VFIO (many NVIDIA boards report one). */
	return t == GP_PCIE_ENDPOINT || t == GP_PCIE_LEGACY_ENDPOINT || t == GP_PCIE_RCIEP;
}

enum gp_status gp_policy_status(const struct gp_host *host, const struct gp_device *dev)
{
	enum gp_backend b;
	bool usable;

	/* an unknown port type (config unreadable) does not condemn the device */
	if (dev->cfg.pcie_type != GP_PCIE_UNKNOWN && !pcie_endpoint(dev->cfg.pcie_type))
		return GP_STATUS_NOT_ASSIGNABLE;
	b = gp_policy_backend(host, dev);
	if (b != GP_BACKEND_NONE) {
		usable = dev->sriov_total_vfs > 0 ||
			 (b == GP_BACKEND_NVIDIA_MDEV && (dev->n_mdev_types || dev->n_mdevs));
		if (host->iommu_enabled && usable)
			return GP_STATUS_PARTITIONED;
		return GP_STATUS_PARAVIRTUALIZATION;
	}
	return host->iommu_enabled ? GP_STATUS_READY_FOR_DDA : GP_STATUS_NOT_ASSIGNABLE;
}

static const char series_order[] = "QCBA";

char gp_policy_default_series(const struct gp_vgpu_type *types, size_t n)
{
	int count[4] = { 0 }, best = -1;
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		const char *p = types[i].series ? strchr(series_order, types[i].series) : NULL;

		if (p && !types[i].mig)
			count[p - series_order]++;
	}
	for (k = 0; k < 4; k++)
		if (count[k] && (best < 0 || count[k] > count[best]))
			best = k;
	return best < 0 ? 0 : series_order[best];
}

static int int_desc(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return x < y ? 1 : x > y ? -1 : 0;
}

int gp_policy_valid_counts(const struct gp_vgpu_type *types, size_t n, char series, int cap,
			   int **out, size_t *n_out)
{
	int *v = NULL;
	size_t nv = 0, i, j;

	*out = NULL;
	*n_out = 0;
	for (i = 0; i < n; i++) {
		int m = types[i].max_instances;
		int *slot;

		if (types[i].mig || types[i].series != series || m <= 0)
			continue;
		if (cap > 0 && m > cap)
			m = cap; /* one vGPU per VF: never more partitions than VFs */
		for (j = 0; j < nv && v[j] != m; j++)
			;
		if (j < nv)
			continue;
		slot = GP_PUSH(v, nv);
		if (!slot) {
			free(v);
			return -ENOMEM;
		}
		*slot = m;
	}
	if (nv)
		qsort(v, nv, sizeof(*v), int_desc);
	*out = v;
	*n_out = nv;
	return 0;
}

/*
 * Framebuffer sizes by PCI device ID, used only where the driver hides its catalogue (the
 * vendor-VFIO path lists only types still creatable). Source: research/nvidia-linux.md §3.2, §7.
 */
static const struct {
	uint16_t device;
	int gib;
} nvidia_fb[] = {
	{ 0x25b6, 16 },  /* A2 / A16 (per GPU) */
	{ 0x2236, 24 },  /* A10 */
	{ 0x2235, 48 },  /* A40 */
	{ 0x20b7, 24 },  /* A30 */
	{ 0x1eb8, 16 },  /* T4 */
	{ 0x26b5, 48 },  /* L40 */
	{ 0x26b9, 48 },  /* L40S */
	{ 0x26ba, 48 },  /* L20 */
	{ 0x27b8, 24 },  /* L4 */
	{ 0x27b6, 24 },  /* L2 */
	{ 0x2331, 80 },  /* H100 PCIe */
	{ 0x2321, 94 },  /* H100 NVL */
	{ 0x2335, 141 }, /* H200 */
	{ 0x233b, 141 }, /* H200 NVL */
};

static int64_t table_fb(const struct gp_device *d)
{
	size_t i;

	if (!is_nvidia(d))
		return GP_UNKNOWN;
	for (i = 0; i < ARRAY_SIZE(nvidia_fb); i++)
		if (nvidia_fb[i].device == d->device)
			return nvidia_fb[i].gib * GIB;
	return GP_UNKNOWN;
}

/* The whole-GPU type (max one instance) has the largest framebuffer of the catalogue. */
static int64_t catalogue_fb(const struct gp_vgpu_type *t, size_t n)
{
	int64_t fb = GP_UNKNOWN;
	size_t i;

	for (i = 0; i < n; i++)
		if (!t[i].mig && t[i].fb_bytes > fb)
			fb = t[i].fb_bytes;
	return fb;
}

static const struct gp_vgpu_type *find_type_key(const struct gp_vgpu_type *t, size_t n,
						const char *key)
{
	size_t i;

	for (i = 0; key && i < n; i++)
		if (strcmp(t[i].key, key) == 0)
			return &t[i];
	return NULL;
}

/* The GPU's catalogue (model/scan-catalogue.c), as shallow copies the caller may amend. */
static int collect_types(const struct gp_device *dev, struct gp_vgpu_type **out, size_t *n_out)
{
	*out = NULL;
	*n_out = 0;
	if (!dev->n_catalogue)
		return 0;
	*out = malloc(dev->n_catalogue * sizeof(**out));
	if (!*out)
		return -ENOMEM;
	memcpy(*out, dev->catalogue, dev->n_catalogue * sizeof(**out));
	*n_out = dev->n_catalogue;
	return 0;
}

static int partition_cmp(const void *a, const void *b)
{
	const struct gp_partition *x = a, *y = b;
	int c = strcmp(x->address, y->address);

	if (c)
		return c;
	if (x->mdev_uuid && y->mdev_uuid)
		return strcmp(x->mdev_uuid, y->mdev_uuid);
	return 0;
}

static int add_mdev_partitions(const struct gp_device *parent, const struct gp_vgpu_type *cat,
			       size_t n_cat, struct gp_gpu_view *v)
{
	size_t i;

	for (i = 0; i < parent->n_mdevs; i++) {
		const struct gp_mdev *m = &parent->mdevs[i];
		/* by id: the catalogue was read on one parent, whose directories may carry
		 * another driver's name than this one's ("nvidia-575", "vfio-pci-575") */
		const struct gp_vgpu_type *t = gp_vgpu_types_find(cat, n_cat, m->type_id);
		struct gp_partition *p;

		if (!t)
			t = find_type_key(parent->mdev_types, parent->n_mdev_types, m->type_key);
		if (!t)
			t = find_type_key(cat, n_cat, m->type_key);
		p = GP_PUSH(v->partitions, v->n_partitions);
		if (!p)
			return -ENOMEM;
		p->vf = parent->is_vf ? parent : NULL;
		p->address = parent->address;
		p->driver = parent->driver;
		p->mdev_uuid = m->uuid;
		p->owner = m->owner;
		p->iommu_group = m->iommu_group;
		p->vgpu_type = t ? t->name : NULL;
		p->vgpu_type_id = t ? t->type_id : GP_UNKNOWN;
		p->series = t ? t->series : 0;
		p->fb_bytes = t ? t->fb_bytes : GP_UNKNOWN;
	}
	return 0;
}

static int build_partitions(const struct gp_device *dev, enum gp_backend b,
			    const struct gp_vgpu_type *cat, size_t n_cat, struct gp_gpu_view *v)
{
	struct gp_partition *p;
	size_t i;
	int r;

	switch (b) {
	case GP_BACKEND_NVIDIA_VFIO:
		for (i = 0; i < dev->n_vfs; i++) {
			const struct gp_device *vf = dev->vfs[i];
			const struct gp_vgpu_type *t;

			if (vf->current_vgpu_type <= 0)
				continue; /* an idle VF is not a partition */
			t = gp_vgpu_types_find(cat, n_cat, vf->current_vgpu_type);
			p = GP_PUSH(v->partitions, v->n_partitions);
			if (!p)
				return -ENOMEM;
			p->vf = vf;
			p->address = vf->address;
			p->driver = vf->driver;
			p->iommu_group = vf->iommu_group;
			p->vgpu_type = t ? t->name : NULL;
			p->vgpu_type_id = vf->current_vgpu_type;
			p->series = t ? t->series : 0;
			p->fb_bytes = t ? t->fb_bytes : GP_UNKNOWN;
		}
		break;
	case GP_BACKEND_NVIDIA_MDEV:
		r = add_mdev_partitions(dev, cat, n_cat, v);
		for (i = 0; r == 0 && i < dev->n_vfs; i++)
			r = add_mdev_partitions(dev->vfs[i], cat, n_cat, v);
		if (r < 0)
			return r;
		if (v->n_partitions > 1)
			qsort(v->partitions, v->n_partitions, sizeof(*v->partitions),
			      partition_cmp);
		break;
	case GP_BACKEND_SRIOV:
		for (i = 0; i < dev->n_vfs; i++) {
			p = GP_PUSH(v->partitions, v->n_partitions);
			if (!p)
				return -ENOMEM;
			p->vf = dev->vfs[i];
			p->address = dev->vfs[i]->address;
			p->driver = dev->vfs[i]->driver;
			p->iommu_group = dev->vfs[i]->iommu_group;
			p->vgpu_type_id = GP_UNKNOWN;
			p->fb_bytes = GP_UNKNOWN;
		}
		break;
	case GP_BACKEND_NONE:
		break;
	}
	for (i = 0; i < v->n_partitions; i++)
		v->partitions[i].id = (int)i;
	return 0;
}

/* A vGPU type is set on some VF (vendor-specific VFIO): a partition is in force. */
static bool vf_type_in_force(const struct gp_device *dev)
{
	size_t i;

	for (i = 0; i < dev->n_vfs; i++)
		if (dev->vfs[i]->current_vgpu_type > 0)
			return true;
	return false;
}

/* The GPU's types with their maxima (derived where the driver gives none) and its VRAM. */
static int catalogue(const struct gp_device *dev, enum gp_backend b, struct gp_vgpu_type **cat,
		     size_t *n_cat, int64_t *vram)
{
	bool no_maxima = dev->catalogue_source == GP_CATALOGUE_SYSFS ||
			 dev->catalogue_source == GP_CATALOGUE_RECORDED;
	size_t i;
	int r;

	r = collect_types(dev, cat, n_cat);
	if (r < 0)
		return r;
	*vram = catalogue_fb(*cat, *n_cat);
	if (b == GP_BACKEND_NVIDIA_VFIO && no_maxima) {
		/* the sysfs lists publish no maxima: divide the framebuffer (research §3.3), and
		 * only here; a source with the driver's maxima is never divided */
		int64_t fb = table_fb(dev);

		/* while a partition is in force the sysfs lists name only the types that still
		 * fit (real-hosts/03, 11): their largest is not the GPU's framebuffer, and a
		 * share of it would give counts the driver never takes */
		if (dev->catalogue_source == GP_CATALOGUE_SYSFS && vf_type_in_force(dev))
			*vram = fb;
		else if (fb > *vram)
			*vram = fb;
		for (i = 0; i < *n_cat; i++) {
			struct gp_vgpu_type *t = &(*cat)[i];

			if (t->max_instances <= 0 && t->fb_bytes > 0 && *vram > 0 && !t->mig)
				t->max_instances = (int)(*vram / t->fb_bytes);
		}
	} else if (*vram < 0) {
		*vram = table_fb(dev);
	}
	return 0;
}

int gp_policy_type_for_count(const struct gp_host *host, const struct gp_device *dev,
			     char series, int count, struct gp_vgpu_type *out)
{
	enum gp_backend b = gp_policy_backend(host, dev);
	struct gp_vgpu_type *cat = NULL;
	const struct gp_vgpu_type *best = NULL;
	size_t n_cat = 0, i;
	int64_t vram;
	int r;

	r = catalogue(dev, b, &cat, &n_cat, &vram);
	if (r < 0)
		return r;
	if (dev->mig_mode == GP_TRI_YES) {
		/* MIG mode: only MIG-backed types, on the GPU instances there are (policy/mig.c) */
		r = gp_policy_mig_type_for_count(dev, cat, n_cat, series,
						 dev->sriov_total_vfs, count, out);
		free(cat);
		return r;
	}
	if (!series)
		series = gp_policy_default_series(cat, n_cat);
	for (i = 0; i < n_cat; i++) {
		const struct gp_vgpu_type *t = &cat[i];

		if (t->mig || t->series != series || t->max_instances != count)
			continue;
		if (!best || t->fb_bytes > best->fb_bytes)
			best = t;
	}
	if (best)
		*out = *best;
	free(cat);
	return best ? 0 : -ERANGE;
}

/* The framebuffer size every partition in force has: 0 when none has a known size,
 * GP_UNKNOWN when two differ. */
static int64_t partitions_size(const struct gp_gpu_view *v)
{
	int64_t size = 0;
	size_t i;

	for (i = 0; i < v->n_partitions; i++) {
		int64_t fb = v->partitions[i].fb_bytes;

		if (fb <= 0)
			continue;
		if (size && fb != size)
			return GP_UNKNOWN;
		size = fb;
	}
	return size;
}

/* A type of a size other than @size that can still be created (an mdev type only when it
 * has instances available). */
static bool offers_other_size(const struct gp_vgpu_type *t, size_t n, int64_t size, bool mdev)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!t[i].mig && t[i].fb_bytes > 0 && t[i].fb_bytes != size &&
		    (!mdev || t[i].available > 0))
			return true;
	return false;
}

/*
 * Mixed-size mode from what sysfs shows (real-hosts/11: in equal-size mode, NVIDIA's default,
 * "all vGPUs on the GPU must have the same amount of frame buffer"): partitions of two sizes in
 * force, or, next to partitions in force, a list that still offers another size.
 */
static bool mixed_evidence(const struct gp_device *dev, const struct gp_gpu_view *v)
{
	int64_t size = partitions_size(v);
	size_t i;

	if (size == GP_UNKNOWN)
		return true;
	if (size == 0)
		return false;
	if (offers_other_size(dev->mdev_types, dev->n_mdev_types, size, true))
		return true;
	for (i = 0; i < dev->n_vfs; i++) {
		const struct gp_device *vf = dev->vfs[i];

		if (offers_other_size(vf->mdev_types, vf->n_mdev_types, size, true) ||
		    (vf->current_vgpu_type <= 0 &&
		     offers_other_size(vf->creatable, vf->n_creatable, size, false)))
			return true;
	}
	return false;
}

/* What the driver says of the GPU's mode, or the partitions show; equal-size, its default,
 * where nothing says otherwise. */
static enum gp_vgpu_mode vgpu_mode(const struct gp_device *dev, const struct gp_gpu_view *v)
{
	if (dev->mig_mode == GP_TRI_YES)
		return GP_VGPU_MODE_MIG;
	if (dev->mixed_size == GP_TRI_YES || mixed_evidence(dev, v))
		return GP_VGPU_MODE_MIXED;
	return GP_VGPU_MODE_EQUAL;
}

char gp_policy_partitions_series(const struct gp_gpu_view *v)
{
	char series = 0;
	size_t i;

	for (i = 0; i < v->n_partitions; i++) {
		char s = v->partitions[i].series;

		if (s && series && s != series)
			return 0;
		if (s)
			series = s;
	}
	return series;
}

bool gp_policy_count_in_force(const struct gp_gpu_view *v, int count)
{
	size_t i;

	if (count <= 0 || count != v->partition_count || v->vgpu_mode == GP_VGPU_MODE_MIXED ||
	    (v->backend != GP_BACKEND_NVIDIA_VFIO && v->backend != GP_BACKEND_NVIDIA_MDEV))
		return false;
	/* a partition of another series than asked for is not "in force" (--series) */
	for (i = 0; i < v->n_partitions; i++)
		if (v->partitions[i].series && v->partitions[i].series != v->series)
			return false;
	return true;
}

/* The NVIDIA view's mode, series and counts, once its partitions are known. */
static int nvidia_counts(const struct gp_device *dev, const struct gp_vgpu_type *cat,
			 size_t n_cat, char series, int cap, struct gp_gpu_view *v)
{
	size_t i;

	v->vgpu_mode = vgpu_mode(dev, v);
	if (v->vgpu_mode == GP_VGPU_MODE_MIG) {
		v->series = series ? series : gp_policy_mig_series(dev, cat, n_cat);
		return gp_policy_mig_counts(dev, cat, n_cat, v->series, cap, &v->valid_counts,
					    &v->n_valid_counts);
	}
	/* the series of a partitioned GPU is its partitions' (an L40S-8A stays A) */
	v->series = series ? series : gp_policy_partitions_series(v);
	if (!v->series)
		v->series = gp_policy_default_series(cat, n_cat);
	if (v->vgpu_mode == GP_VGPU_MODE_MIXED)
		return 0; /* equal-size counts do not apply: none are offered */
	if (v->backend == GP_BACKEND_NVIDIA_VFIO && !n_cat && v->n_partitions) {
		/* Fully consumed: no VF offers any type, so the type in force fills the GPU and
		 * its count is the one in force; each partition holds an equal share. */
		v->valid_counts = malloc(sizeof(int));
		if (!v->valid_counts)
			return -ENOMEM;
		v->valid_counts[0] = v->partition_count;
		v->n_valid_counts = 1;
		if (v->vram_bytes > 0)
			for (i = 0; i < v->n_partitions; i++)
				v->partitions[i].fb_bytes = v->vram_bytes / v->partition_count;
		return 0;
	}
	return gp_policy_valid_counts(cat, n_cat, v->series, cap, &v->valid_counts,
				      &v->n_valid_counts);
}

int gp_gpu_view_build(const struct gp_host *host, const struct gp_device *dev, char series,
		      struct gp_gpu_view *v)
{
	struct gp_vgpu_type *cat = NULL;
	size_t n_cat = 0, i;
	int cap, r;

	memset(v, 0, sizeof(*v));
	v->dev = dev;
	v->status = gp_policy_status(host, dev);
	v->backend = gp_policy_backend(host, dev);
	v->vram_bytes = GP_UNKNOWN;
	v->partition_vram_bytes = GP_UNKNOWN;
	v->dda_dismounted = gp_policy_dda_dismounted(host, dev);
	cap = dev->sriov_total_vfs > 0 ? dev->sriov_total_vfs : 0;

	r = catalogue(dev, v->backend, &cat, &n_cat, &v->vram_bytes);
	if (r < 0)
		return r;
	if (v->backend == GP_BACKEND_NVIDIA_MDEV && !dev->n_vfs)
		cap = 0; /* mdevs on the PF: no VF limit */

	r = build_partitions(dev, v->backend, cat, n_cat, v);
	v->partition_count = (int)v->n_partitions;
	if (r == 0 &&
	    (v->backend == GP_BACKEND_NVIDIA_VFIO || v->backend == GP_BACKEND_NVIDIA_MDEV)) {
		r = nvidia_counts(dev, cat, n_cat, series, cap, v);
	} else if (r == 0 && v->backend == GP_BACKEND_SRIOV && dev->sriov_total_vfs > 0) {
		/* no driver publishes profiles in sysfs we can read: every count up to TotalVFs */
		v->valid_counts = calloc((size_t)dev->sriov_total_vfs, sizeof(int));
		if (!v->valid_counts)
			r = -ENOMEM;
		for (i = 0; v->valid_counts && i < (size_t)dev->sriov_total_vfs; i++)
			v->valid_counts[i] = dev->sriov_total_vfs - (int)i;
		v->n_valid_counts = v->valid_counts ? (size_t)dev->sriov_total_vfs : 0;
	}
	free(cat);
	if (r < 0) {
		gp_gpu_view_clear(v);
		return r;
	}
	/* one size for all only outside mixed-size mode */
	if (v->n_partitions && v->partitions[0].fb_bytes > 0 &&
	    v->vgpu_mode != GP_VGPU_MODE_MIXED)
		v->partition_vram_bytes = v->partitions[0].fb_bytes;
	else if (v->n_partitions && v->backend == GP_BACKEND_SRIOV && v->vram_bytes > 0)
		v->partition_vram_bytes = v->vram_bytes / (int64_t)v->n_partitions;
	return 0;
}

void gp_gpu_view_clear(struct gp_gpu_view *v)
{
	size_t i;

	for (i = 0; i < v->n_dda_domains; i++)
		free(v->dda_domains[i]);
	free(v->dda_domains);
	free(v->valid_counts);
	free(v->partitions);
	memset(v, 0, sizeof(*v));
}
