/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A GPU's vGPU catalogue: every type the driver supports on this board, with its framebuffer,
 * series, MIG backing and NVIDIA's maximum per GPU, whatever is in force. Hyper-V's
 * ValidPartitionCounts is a property of the GPU; it must not change as partitions are made.
 *
 * The mdev shapes (a, b) are easy: mdev_supported_types lists every supported type with its
 * max_instance, used or not (research/real-hosts/01: all 22 types stay listed, available 0).
 *
 * The vendor-specific VFIO shape (c) is not: nvidia/creatable_vgpu_types lists "only types that
 * can be created at the time of reading" (NVIDIA vgpu-device-manager, pkg/vgpu/vfio/vfio.go),
 * and a full GPU lists its header only (real-hosts/03). Its sources, best first:
 *   1. vgpuConfig.xml, the vGPU manager's own table of types and per-board maxima
 *      (model/vgpuconfig.c);
 *   2. NVML's supported (not creatable) types, on the live root only;
 *   3. the catalogue gpupart recorded when the sysfs lists were complete;
 *   4. the sysfs lists themselves, a lower bound while partitions exist (said so in JSON).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "host/hostfs.h"
#include "model/recorded.h"
#include "model/scan.h"
#include "model/vgpuconfig.h"

const char *gp_catalogue_source_str(enum gp_catalogue_source s)
{
	switch (s) {
	case GP_CATALOGUE_VGPUCONFIG:
		return "vgpuconfig";
	case GP_CATALOGUE_NVML:
		return "nvml";
	case GP_CATALOGUE_RECORDED:
		return "recorded";
	case GP_CATALOGUE_SYSFS:
		return "sysfs";
	case GP_CATALOGUE_MDEV:
		return "mdev";
	case GP_CATALOGUE_NONE:
		break;
	}
	return NULL;
}

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

/* A deep copy of @t appended to @v. */
static int types_add(struct gp_vgpu_type **v, size_t *n, const struct gp_vgpu_type *t)
{
	struct gp_vgpu_type *c = GP_PUSH(*v, *n);

	if (!c)
		return -ENOMEM;
	*c = *t;
	c->key = strdup(t->key);
	c->name = t->name ? strdup(t->name) : NULL;
	if (!c->key || (t->name && !c->name)) {
		free(c->key);
		free(c->name);
		(*n)--;
		return -ENOMEM;
	}
	return 0;
}

static int catalogue_add(struct gp_device *pf, const struct gp_vgpu_type *t)
{
	return types_add(&pf->catalogue, &pf->n_catalogue, t);
}

/* Shapes a and b: the one function whose mdev_supported_types are the GPU's. */
static int from_mdev(struct gp_device *pf)
{
	const struct gp_device *src = gp_catalogue_mdev_source(pf);
	size_t i;
	int r;

	for (i = 0; src && i < src->n_mdev_types; i++) {
		r = catalogue_add(pf, &src->mdev_types[i]);
		if (r < 0)
			return r;
	}
	if (pf->n_catalogue)
		pf->catalogue_source = GP_CATALOGUE_MDEV;
	return 0;
}

bool gp_catalogue_vendor_vfio(const struct gp_device *pf)
{
	size_t i;

	for (i = 0; i < pf->n_vfs; i++)
		if (pf->vfs[i]->has_nvidia_dir)
			return true;
	return false;
}

int gp_catalogue_union(const struct gp_device *pf, struct gp_vgpu_type **out, size_t *n)
{
	size_t i, j;
	int r;

	*out = NULL;
	*n = 0;
	for (i = 0; i < pf->n_vfs; i++)
		for (j = 0; j < pf->vfs[i]->n_creatable; j++) {
			const struct gp_vgpu_type *t = &pf->vfs[i]->creatable[j];

			if (gp_vgpu_types_find(*out, *n, t->type_id))
				continue;
			r = types_add(out, n, t);
			if (r < 0) {
				gp_vgpu_types_free(*out, *n);
				*out = NULL;
				*n = 0;
				return r;
			}
		}
	return 0;
}

/* Shape c, last resort: the union of what the VFs offer now. */
static int from_sysfs(struct gp_device *pf)
{
	int r = gp_catalogue_union(pf, &pf->catalogue, &pf->n_catalogue);

	/* a full GPU lists its header only: still the sysfs lists, empty */
	if (r == 0 && (pf->n_catalogue || gp_catalogue_vendor_vfio(pf)))
		pf->catalogue_source = GP_CATALOGUE_SYSFS;
	return r;
}

int gp_catalogue_from_lists(struct gp_device *pf)
{
	if (pf->n_catalogue)
		return 0;
	if (gp_catalogue_mdev_source(pf))
		return from_mdev(pf);
	return from_sysfs(pf);
}

/* vgpuConfig.xml, once per scan: absent is said at debug level, refused as a warning. */
static int vgpuconfig_read(struct gp_scan *s)
{
	struct gp_ctx *ctx = s->host->ctx;
	_cleanup_(freep) char *text = NULL;
	char path[512], why[160];
	ssize_t n;
	int r;

	if (s->vgpuconfig_state)
		return s->vgpuconfig_state;
	gp_hostfs_abspath(ctx, GP_HP_VGPU_CONFIG, NULL, path, sizeof(path));
	n = gp_hostfs_read_bounded(ctx, GP_HP_VGPU_CONFIG, NULL, GP_VGPUCONFIG_MAX_BYTES, &text);
	if (n == -ENOMEM)
		return -ENOMEM;
	if (n < 0) {
		gp_log(ctx, n == -ENOENT ? GP_LOG_DEBUG : GP_LOG_WARNING, "%s: %s: not used", path,
		       n == -EFBIG ? "too large" : strerror((int)-n));
		return s->vgpuconfig_state = (int)n;
	}
	r = gp_vgpuconfig_parse(ctx, text, (size_t)n, &s->vgpuconfig, why, sizeof(why));
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		WARN(ctx, "%s: %s: not used, the vGPU catalogue comes from the next source", path,
		     r == -ENOTSUP ? "libxml2 cannot be loaded" : why);
		return s->vgpuconfig_state = r;
	}
	return s->vgpuconfig_state = 1;
}

/* Source 1 of shape c: the vGPU manager's own table for this board. */
static int from_vgpuconfig(struct gp_scan *s, struct gp_device *pf)
{
	int r = vgpuconfig_read(s);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;
	r = gp_vgpuconfig_catalogue(s->vgpuconfig, pf->vendor, pf->device, pf->subsystem_vendor,
				    pf->subsystem_device, &pf->catalogue, &pf->n_catalogue);
	if (r < 0 || !pf->n_catalogue)
		return r;
	pf->catalogue_source = GP_CATALOGUE_VGPUCONFIG;
	if (!pf->board_name)
		pf->board_name = gp_vgpu_board_name(pf->catalogue, pf->n_catalogue);
	return 0;
}

/* The GPUs NVML is asked about: NVIDIA PFs whose VFs are of the vendor-specific VFIO shape. */
static bool wants_nvml(const struct gp_device *d)
{
	return d->full && !d->is_vf && d->vendor == 0x10de && gp_catalogue_vendor_vfio(d);
}

/* NVML's answer for @pf, asking once for every GPU that wants one (one child process, one
 * nvmlInit: it takes seconds on a big host); NULL when NVML is not there or says nothing. */
static const struct gp_nvml_gpu *nvml_answer(struct gp_scan *s, const struct gp_device *pf)
{
	size_t i, n = 0;

	if (!s->nvml_asked) {
		s->nvml_asked = true;
		for (i = 0; i < s->host->n_devs; i++)
			n += wants_nvml(s->host->devs[i]);
		s->nvml_addrs = n ? calloc(n, sizeof(*s->nvml_addrs)) : NULL;
		for (i = 0, n = 0; s->nvml_addrs && i < s->host->n_devs; i++)
			if (wants_nvml(s->host->devs[i]))
				s->nvml_addrs[n++] = s->host->devs[i]->address;
		if (n && gp_nvml_query(s->host->ctx, s->nvml_addrs, n, &s->nvml) == 0)
			s->n_nvml = n;
	}
	for (i = 0; s->nvml && i < s->n_nvml; i++)
		if (s->nvml_addrs[i] == pf->address)
			return &s->nvml[i];
	return NULL;
}

/* A series from NVML's class where the name does not say it: the class names of NVIDIA's
 * vGPU manager (vgpuConfig.xml's class attribute, `nvidia-smi vgpu -s -v`'s Class). */
static char series_of_class(const char *cls)
{
	if (strcmp(cls, "Quadro") == 0)
		return 'Q';
	if (strcmp(cls, "Compute") == 0)
		return 'C';
	if (strcmp(cls, "NVS") == 0)
		return 'B';
	return 0;
}

/* Source 2: the driver's modes (MIG, mixed-size) and the board's name always; its supported
 * types, with the driver's maxima, where no better source gave a catalogue. */
static int from_nvml(struct gp_scan *s, struct gp_device *pf)
{
	const struct gp_nvml_gpu *g = nvml_answer(s, pf);
	size_t i;
	int r;

	if (!g)
		return 0;
	if (g->status < 0) {
		WARN(s->host->ctx, "%s: NVML: %s", pf->address, g->error);
		return 0;
	}
	if (*g->board_name && !pf->board_name && !(pf->board_name = strdup(g->board_name)))
		return -ENOMEM;
	if (g->mig_mode >= 0)
		pf->mig_mode = g->mig_mode ? GP_TRI_YES : GP_TRI_NO;
	if (g->mixed_size >= 0)
		pf->mixed_size = g->mixed_size ? GP_TRI_YES : GP_TRI_NO;
	if (pf->n_catalogue) /* vgpuConfig.xml's, better */
		return 0;
	for (i = 0; i < g->n_types; i++) {
		const struct gp_nvml_type *n = &g->types[i];
		char key[16];
		struct gp_vgpu_type t = {
			.key = key, .type_id = (int)n->id, .name = *n->name ? (char *)n->name : NULL,
			.max_instances = n->max_instances ? (int)n->max_instances : GP_UNKNOWN,
			.max_from_driver = n->max_instances > 0, .available = GP_UNKNOWN,
		};

		if (n->id == 0 || n->id > 0x7fffffff)
			continue;
		snprintf(key, sizeof(key), "%u", n->id);
		gp_vgpu_type_parse_name(t.name, &t.series, &t.mig, &t.fb_bytes);
		if (!t.series)
			t.series = series_of_class(n->class_name);
		t.mig = n->mig; /* the instance profile says it, not only the name */
		if (n->fb_bytes && n->fb_bytes <= INT64_MAX)
			t.fb_bytes = (int64_t)n->fb_bytes;
		r = catalogue_add(pf, &t);
		if (r < 0)
			return r;
	}
	if (pf->n_catalogue)
		pf->catalogue_source = GP_CATALOGUE_NVML;
	return 0;
}

/*
 * An SR-IOV GPU on nvidia with the vGPU manager whose VFs are not enabled yet: nothing of its
 * own lists a type until they are, but the vGPU manager's table (and a record) already knows
 * the board, so ValidPartitionCounts is there before the first set-count, as Hyper-V's is.
 */
static bool awaits_vfs(const struct gp_scan *s, const struct gp_device *pf)
{
	return pf->n_vfs == 0 && pf->sriov_total_vfs > 0 && pf->driver &&
	       strcmp(pf->driver, "nvidia") == 0 && s->host->nvidia_vgpu_manager;
}

int gp_scan_catalogue(struct gp_scan *s, struct gp_device *pf)
{
	int r;

	if (pf->vendor != 0x10de)
		return 0;
	/* the mdev lists are the driver's complete answer, max_instance included */
	if (gp_catalogue_mdev_source(pf))
		return from_mdev(pf);
	if (!gp_catalogue_vendor_vfio(pf) && !awaits_vfs(s, pf))
		return 0;
	r = from_vgpuconfig(s, pf);
	/* NVML: the driver's modes always, its types where vgpuConfig.xml gave none */
	if (r == 0)
		r = from_nvml(s, pf);
	if (r < 0 || pf->n_catalogue)
		return r;
	r = gp_recorded_read(s->host->ctx, pf);
	if (r < 0 || pf->n_catalogue)
		return r;
	return from_sysfs(pf);
}

void gp_scan_catalogue_done(struct gp_scan *s)
{
	gp_vgpuconfig_free(s->vgpuconfig);
	s->vgpuconfig = NULL;
	gp_nvml_free(s->nvml, s->n_nvml);
	free(s->nvml_addrs);
	s->nvml = NULL;
	s->nvml_addrs = NULL;
	s->n_nvml = 0;
}
