/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * JSON renderers. Conventions (a contract, see man/gpupart.8 JSON OUTPUT): snake_case keys;
 * a key whose value is unknown is present with null; addresses dddd:bb:dd.f; IDs lowercase
 * hex without 0x; arrays sorted.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "partition.h"

static struct json_object *hex_or_null(int v, int width)
{
	char buf[16];

	if (v < 0)
		return NULL;
	snprintf(buf, sizeof(buf), "%0*x", width, (unsigned)v);
	return json_object_new_string(buf);
}

static struct json_object *int_or_null(long long v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

static struct json_object *tri(enum gp_tri t)
{
	return t == GP_TRI_UNKNOWN ? NULL : json_object_new_boolean(t == GP_TRI_YES);
}

struct json_object *gp_json_host(const struct gp_host *h)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "iommu_enabled", json_object_new_boolean(h->iommu_enabled));
	json_object_object_add(o, "iommu_groups", json_object_new_int(h->n_iommu_groups));
	json_object_object_add(o, "iommu_units", json_object_new_int(h->n_iommu_units));
	json_object_object_add(o, "interrupt_remapping", tri(h->interrupt_remapping));
	json_object_object_add(o, "acs_override", json_object_new_boolean(h->acs_override));
	json_object_object_add(o, "unsafe_interrupts", tri(h->unsafe_interrupts));
	json_object_object_add(o, "nvidia_vgpu_manager",
			       json_object_new_boolean(h->nvidia_vgpu_manager));
	json_object_object_add(o, "nvidia_driver_version", str_or_null(h->nvidia_driver_version));
	return o;
}

static struct json_object *sriov(const struct gp_device *d)
{
	struct json_object *o;

	if (d->sriov_total_vfs < 0)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "total_vfs", int_or_null(d->sriov_total_vfs));
	json_object_object_add(o, "num_vfs", int_or_null(d->sriov_num_vfs));
	json_object_object_add(o, "vf_device_id", hex_or_null(d->sriov_vf_device, 4));
	json_object_object_add(o, "offset", int_or_null(d->sriov_offset));
	json_object_object_add(o, "stride", int_or_null(d->sriov_stride));
	return o;
}

/* null unless the driver shares the GPU through vGPU (MIG is one of its modes) */
static struct json_object *mig(const struct gp_gpu_view *v)
{
	struct json_object *o;

	if (v->vgpu_mode == GP_VGPU_MODE_NONE)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "enabled", tri(v->dev->mig_mode));
	json_object_object_add(o, "gpu_instances", int_or_null(v->dev->n_gpu_instances));
	return o;
}

/* Get-VMAssignableDevice's view: handed whole to vfio, and to which domains. */
static struct json_object *dda(bool dismounted, char *const *domains, size_t n)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	json_object_object_add(o, "dismounted", json_object_new_boolean(dismounted));
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_string(domains[i]));
	json_object_object_add(o, "domains", a);
	return o;
}

/* The domain that holds a partition (libvirt's, or a reservation record's), or null. */
static struct json_object *holder(const struct gp_partition *p)
{
	struct json_object *o;

	if (!p->domain)
		return NULL;
	o = json_object_new_object();
	json_object_object_add(o, "name", json_object_new_string(p->domain));
	json_object_object_add(o, "uuid", str_or_null(p->domain_uuid));
	return o;
}

struct json_object *gp_json_gpu(const struct gp_gpu_view *v)
{
	const struct gp_device *d = v->dev;
	struct json_object *o = json_object_new_object(), *a;
	char series[2] = { v->series, 0 };
	size_t i;

	json_object_object_add(o, "address", json_object_new_string(d->address));
	json_object_object_add(o, "vendor_id", hex_or_null(d->vendor, 4));
	json_object_object_add(o, "device_id", hex_or_null(d->device, 4));
	json_object_object_add(o, "subsystem_vendor_id", hex_or_null(d->subsystem_vendor, 4));
	json_object_object_add(o, "subsystem_device_id", hex_or_null(d->subsystem_device, 4));
	json_object_object_add(o, "class",
			       hex_or_null(d->class_code < 0 ? -1 : (int)d->class_code, 6));
	json_object_object_add(o, "name", str_or_null(d->name));
	json_object_object_add(o, "driver", str_or_null(d->driver));
	json_object_object_add(o, "iommu_group", int_or_null(d->iommu_group));
	json_object_object_add(o, "numa_node", int_or_null(d->numa_node));
	json_object_object_add(o, "status", json_object_new_string(gp_status_str(v->status)));
	json_object_object_add(o, "backend", str_or_null(gp_backend_str(v->backend)));
	json_object_object_add(o, "sriov", sriov(d));
	json_object_object_add(o, "vgpu_series", v->series ? json_object_new_string(series) : NULL);
	json_object_object_add(o, "vgpu_catalogue",
			       str_or_null(gp_catalogue_source_str(d->catalogue_source)));
	json_object_object_add(o, "vgpu_mode", str_or_null(gp_vgpu_mode_str(v->vgpu_mode)));
	json_object_object_add(o, "mig", mig(v));
	json_object_object_add(o, "dda", dda(v->dda_dismounted, v->dda_domains, v->n_dda_domains));
	a = json_object_new_array();
	for (i = 0; i < v->n_valid_counts; i++)
		json_object_array_add(a, json_object_new_int(v->valid_counts[i]));
	json_object_object_add(o, "valid_partition_counts", a);
	json_object_object_add(o, "partition_count", json_object_new_int(v->partition_count));
	json_object_object_add(o, "vram_bytes", int_or_null(v->vram_bytes));
	json_object_object_add(o, "partition_vram_bytes", int_or_null(v->partition_vram_bytes));
	a = json_object_new_array();
	for (i = 0; i < v->n_partitions; i++) {
		const struct gp_partition *p = &v->partitions[i];
		struct json_object *po = json_object_new_object();

		json_object_object_add(po, "id", json_object_new_int(p->id));
		json_object_object_add(po, "address", json_object_new_string(p->address));
		json_object_object_add(po, "driver", str_or_null(p->driver));
		json_object_object_add(po, "iommu_group",
				       int_or_null(p->iommu_group));
		json_object_object_add(po, "vf_index", int_or_null(p->vf ? p->vf->vf_index : -1));
		json_object_object_add(po, "vgpu_type", str_or_null(p->vgpu_type));
		json_object_object_add(po, "vgpu_type_id", int_or_null(p->vgpu_type_id));
		json_object_object_add(po, "mdev_uuid", str_or_null(p->mdev_uuid));
		json_object_object_add(po, "owner", str_or_null(gp_mdev_owner_str(p->owner)));
		json_object_object_add(po, "domain", holder(p));
		json_object_array_add(a, po);
	}
	json_object_object_add(o, "partitions", a);
	json_object_object_add(o, "free_partitions",
			       json_object_new_int64((int64_t)gp_cli_free_partitions(v)));
	return o;
}

struct json_object *gp_json_findings(const struct gp_findings *f)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < f->n; i++) {
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "code", json_object_new_string(f->v[i].code));
		json_object_object_add(o, "severity",
				       json_object_new_string(gp_severity_str(f->v[i].severity)));
		json_object_object_add(o, "detail", str_or_null(f->v[i].detail));
		json_object_array_add(a, o);
	}
	return a;
}

static int json_list(const struct gp_cli *cli, const struct gp_host *h,
		     const struct gp_gpu_view *views, size_t n)
{
	struct json_object *root = json_object_new_object(), *gpus = json_object_new_array();
	size_t i;

	(void)cli;
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "host", gp_json_host(h));
	for (i = 0; i < n; i++)
		json_object_array_add(gpus, gp_json_gpu(&views[i]));
	json_object_object_add(root, "gpus", gpus);
	return gp_cli_emit_json(root);
}

static int json_survey(const struct gp_cli *cli, const struct gp_host *h,
		       const struct gp_findings *hf, const struct gp_survey_item *items, size_t n)
{
	struct json_object *root = json_object_new_object(), *devs = json_object_new_array(),
			   *host = json_object_new_object();
	size_t i;

	(void)cli;
	(void)h;
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(host, "findings", gp_json_findings(hf));
	json_object_object_add(root, "host", host);
	for (i = 0; i < n; i++) {
		const struct gp_survey_item *it = &items[i];
		struct json_object *o = json_object_new_object();

		json_object_object_add(o, "address", json_object_new_string(it->dev->address));
		json_object_object_add(o, "verdict",
				       json_object_new_string(gp_verdict_str(it->verdict)));
		json_object_object_add(o, "findings", gp_json_findings(&it->findings));
		json_object_object_add(o, "reset_method", str_or_null(it->reset_method));
		json_object_object_add(o, "mmio64_bytes_required",
				       it->mmio64_bytes >= 0 ? json_object_new_int64(it->mmio64_bytes) :
							       NULL);
		json_object_object_add(o, "dda", dda(it->dda_dismounted, it->dda_domains,
						     it->n_dda_domains));
		json_object_array_add(devs, o);
	}
	json_object_object_add(root, "devices", devs);
	return gp_cli_emit_json(root);
}

const struct gp_render gp_render_json = {
	.list = json_list,
	.survey = json_survey,
	.plans = gp_cli_json_plans,
	.repair = gp_cli_json_repair,
};

/* Length of the well-formed UTF-8 sequence at @s (RFC 3629, Unicode Table 3-7: no overlong
 * forms, no surrogates, nothing past U+10FFFF), or 0 when it is not one; *bad is then the
 * length of its maximal ill-formed prefix, the bytes one U+FFFD replaces. */
static size_t utf8_seq(const unsigned char *s, size_t *bad)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	*bad = 1;
	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (s[0] == 0xe0)
		lo = 0xa0;
	else if (s[0] == 0xed)
		hi = 0x9f;
	else if (s[0] == 0xf0)
		lo = 0x90;
	else if (s[0] == 0xf4)
		hi = 0x8f;
	for (i = 1; i < n; i++) {
		if (s[i] < lo || s[i] > hi) /* a NUL ends it too */
			return 0;
		lo = 0x80;
		hi = 0xbf;
		*bad = i + 1;
	}
	return n;
}

/*
 * json-c copies a string's bytes >= 0x80 into its output as they are, without checking them,
 * and sysfs, pci.ids and the NVIDIA driver's files are bytes, not text: a driver or vGPU type
 * name with invalid UTF-8 would make stdout invalid JSON. The whole document is mended here,
 * once, as it is printed: outside strings JSON text is ASCII, so only string contents change,
 * each ill-formed sequence becoming U+FFFD.
 */
int gp_json_utf8(const char *text, char **fixed)
{
	const unsigned char *s = (const unsigned char *)text;
	size_t len = strlen(text), i, bad, n, o = 0;
	char *out;

	*fixed = NULL;
	for (i = 0; i < len; i += n)
		if (!(n = utf8_seq(s + i, &bad)))
			break;
	if (i >= len)
		return 0; /* valid already: the usual case, no copy */
	/* each replaced byte becomes at most 3 */
	out = malloc(len * 3 + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, text, i);
	o = i;
	while (i < len) {
		n = utf8_seq(s + i, &bad);
		if (n) {
			memcpy(out + o, s + i, n);
			o += n;
			i += n;
		} else {
			memcpy(out + o, "\xef\xbf\xbd", 3); /* U+FFFD REPLACEMENT CHARACTER */
			o += 3;
			i += bad;
		}
	}
	out[o] = 0;
	*fixed = out;
	return 1;
}
