/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MIG-backed vGPU over hand-built models: what says MIG mode is on, the counts a GPU in MIG
 * mode offers and the type a count means. The expectations come from NVIDIA's H200 tables
 * (research real-hosts/07: H200X-1-18C at most 7 per GPU, 1-35C 4, 2-35C 3, 3-71C 2, 4-71C 1,
 * 7-141C 1) and the rules in man/gpupart.8, MIG-backed vGPU, worked out by hand per case.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <gpupart/policy.h>

#include "keep.h"

#define GIB (1024LL * 1024 * 1024)

static struct gp_host host_on = { .iommu_enabled = true, .n_iommu_groups = 8,
				  .interrupt_remapping = GP_TRI_YES,
				  .nvidia_vgpu_manager = true };

static struct gp_device *mk_dev(const char *addr)
{
	struct gp_device *d = keep(calloc(1, sizeof(*d)));

	gp_pci_addr_parse(addr, &d->addr);
	gp_pci_addr_format(&d->addr, d->address);
	d->detailed = true;
	d->vendor = 0x10de;
	d->device = 0x2335;
	d->class_code = 0x030200;
	d->driver = "nvidia";
	d->iommu_group = d->numa_node = d->vf_index = -1;
	d->current_vgpu_type = -1;
	d->cfg.config_len = 4096;
	d->cfg.readable = true;
	d->cfg.pcie_type = GP_PCIE_ENDPOINT;
	d->mig_mode = GP_TRI_UNKNOWN;
	d->n_gpu_instances = GP_UNKNOWN;
	return d;
}

/* An H200 with @n_vfs vendor-VFIO VFs: the first @in_force hold type @type, the others list
 * @list (creatable_vgpu_types text). */
static struct gp_device *h200(int n_vfs, int in_force, int type, const char *list)
{
	struct gp_device *pf = mk_dev("0000:41:00.0");
	int i;

	pf->sriov_total_vfs = 32;
	pf->sriov_num_vfs = n_vfs;
	pf->sriov_vf_device = 0x2335;
	pf->cfg.sriov = true;
	pf->cfg.sriov_total_vfs = 32;
	pf->cfg.sriov_vf_device = 0x2335;
	pf->vfs = keep(calloc((size_t)n_vfs + 1, sizeof(*pf->vfs)));
	for (i = 0; i < n_vfs; i++) {
		char a[16];
		struct gp_device *vf;

		snprintf(a, sizeof(a), "0000:41:%02x.%d", (i + 4) / 8, (i + 4) % 8);
		vf = mk_dev(a);
		vf->is_vf = true;
		vf->physfn = pf;
		vf->vf_index = i;
		vf->has_nvidia_dir = true;
		vf->current_vgpu_type = i < in_force ? type : 0;
		if (i >= in_force && list) {
			int k = gp_parse_creatable_types(list, &vf->creatable);

			vf->n_creatable = k > 0 ? (size_t)k : 0;
			if (k > 0)
				keep_types(vf->creatable, vf->n_creatable);
		}
		pf->vfs[i] = vf;
	}
	pf->n_vfs = (size_t)n_vfs;
	return pf;
}

/* NVIDIA's H200 catalogue with its maxima, as vgpuConfig.xml or NVML give it. */
static void driver_catalogue(struct gp_device *pf)
{
	static const struct {
		int id;
		const char *name;
		int max;
	} t[] = {
		{ 1414, "NVIDIA H200X-1-18C", 7 },  { 1416, "NVIDIA H200X-1-35C", 4 },
		{ 1417, "NVIDIA H200X-2-35C", 3 },  { 1418, "NVIDIA H200X-3-71C", 2 },
		{ 1420, "NVIDIA H200X-7-141C", 1 }, { 1421, "NVIDIA H200X-4C", 32 },
		{ 1423, "NVIDIA H200X-8C", 16 },    { 1428, "NVIDIA H200X-141C", 1 },
	};
	size_t i, n = sizeof(t) / sizeof(t[0]);

	pf->catalogue = calloc(n, sizeof(*pf->catalogue));
	for (i = 0; i < n; i++) {
		struct gp_vgpu_type *v = &pf->catalogue[i];

		v->type_id = t[i].id;
		cr_assert_geq(asprintf(&v->key, "%d", t[i].id), 0);
		v->name = strdup(t[i].name);
		gp_vgpu_type_parse_name(v->name, &v->series, &v->mig, &v->fb_bytes);
		v->max_instances = t[i].max;
		v->max_from_driver = true;
		v->available = GP_UNKNOWN;
	}
	pf->n_catalogue = n;
	pf->catalogue_source = GP_CATALOGUE_NVML;
	keep_types(pf->catalogue, pf->n_catalogue);
}

#define L_MIG18 "ID    : vGPU Name\n1414  : NVIDIA H200X-1-18C\n"
#define L_MIG35 "ID    : vGPU Name\n1416  : NVIDIA H200X-1-35C\n1417  : NVIDIA H200X-2-35C\n"
#define L_SLICED "ID    : vGPU Name\n1421  : NVIDIA H200X-4C\n1428  : NVIDIA H200X-141C\n"
#define L_NONE "ID    : vGPU Name\n"

struct evidence_case {
	char what[48];
	int n_vfs, in_force, type;
	char list[128]; /* inline: Criterion's workers do not share the parent's pointers */
	int gis;        /* n_gpu_instances */
	bool capable; /* capabilities/gpuN/mig exists */
	enum gp_tri want;
};

ParameterizedTestParameters(mig, evidence)
{
	static struct evidence_case c[] = {
		/* GPU instances exist only in MIG mode */
		{ "instances", 0, 0, 0, "", 3, true, GP_TRI_YES },
		/* with MIG on only MIG-backed types are creatable */
		{ "MIG-backed listed", 4, 0, 0, L_MIG18, 7, true, GP_TRI_YES },
		{ "MIG-backed listed, no caps dir", 4, 0, 0, L_MIG18, GP_UNKNOWN, false,
		  GP_TRI_YES },
		/* with MIG off only time-sliced ones */
		{ "time-sliced listed", 4, 0, 0, L_SLICED, 0, true, GP_TRI_NO },
		{ "time-sliced in force", 4, 4, 1421, L_NONE, GP_UNKNOWN, false, GP_TRI_NO },
		/* the types in force say it, whatever the lists */
		{ "MIG-backed in force", 4, 4, 1414, L_NONE, 0, true, GP_TRI_YES },
		/* VFs enabled, nothing in force, nothing listed, MIG-capable: MIG on, no GI */
		{ "empty lists, capable", 4, 0, 0, L_NONE, 0, true, GP_TRI_YES },
		/* ... but not on a GPU the driver does not call MIG-capable */
		{ "empty lists, not capable", 4, 0, 0, L_NONE, GP_UNKNOWN, false, GP_TRI_UNKNOWN },
		/* nothing to go by: no VFs */
		{ "no VFs", 0, 0, 0, "", 0, true, GP_TRI_UNKNOWN },
		/* both kinds listed contradicts the driver: unknown, not a guess */
		{ "both listed", 4, 0, 0,
		  "ID    : vGPU Name\n1414  : NVIDIA H200X-1-18C\n1421  : NVIDIA H200X-4C\n", 0,
		  true, GP_TRI_UNKNOWN },
	};
	return cr_make_param_array(struct evidence_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct evidence_case *c, mig, evidence)
{
	struct gp_device *pf = h200(c->n_vfs, c->in_force, c->type, c->list);

	driver_catalogue(pf);
	cr_assert_eq(gp_mig_mode_evidence(pf, c->gis, c->capable), c->want, "%s", c->what);
}

static void expect_counts(const struct gp_gpu_view *v, const int *want, size_t nw)
{
	size_t i;

	cr_assert_eq(v->n_valid_counts, nw, "got %zu counts, want %zu", v->n_valid_counts, nw);
	for (i = 0; i < nw; i++)
		cr_assert_eq(v->valid_counts[i], want[i], "count[%zu] = %d, want %d", i,
			     v->valid_counts[i], want[i]);
}

/* 7 instances of 1g.18gb, 2 of them holding H200X-1-18C, the sysfs lists as the catalogue:
 * the lists carry no maxima, so the 7 instances bound it: every count from 7 down. */
Test(mig, counts_from_instances)
{
	static const int want[] = { 7, 6, 5, 4, 3, 2, 1 };
	struct gp_device *pf = h200(8, 2, 1414, L_MIG18);
	struct gp_gpu_view v;

	keep_catalogue(pf);
	pf->mig_mode = GP_TRI_YES;
	pf->n_gpu_instances = 7;
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.vgpu_mode, GP_VGPU_MODE_MIG);
	cr_assert_eq(v.series, 'C');
	expect_counts(&v, want, 7);
	cr_assert_eq(v.partition_count, 2);
	/* the partition is its instance's size (H200X-1-18C: 18 GB), not a share of VRAM */
	cr_assert_eq(v.partitions[0].fb_bytes, 18 * GIB);
	cr_assert_eq(v.partition_vram_bytes, 18 * GIB);
	gp_gpu_view_clear(&v);
}

/* Every instance taken and every VF full: the lists say nothing, yet the size is not VRAM
 * divided by the count (141 / 2), which is what equal-size mode would say: unknown here,
 * because no list names the type in force. */
Test(mig, full_gpu_is_not_divided)
{
	struct gp_device *pf = h200(2, 2, 1418, L_NONE);
	struct gp_vgpu_type t;
	struct gp_gpu_view v;

	keep_catalogue(pf);
	pf->mig_mode = GP_TRI_YES;
	pf->n_gpu_instances = 2;
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.partition_count, 2);
	cr_assert_eq(v.partitions[0].fb_bytes, -1);
	cr_assert_eq(v.partition_vram_bytes, -1);
	/* the type in force, known by its id alone, can be kept or lowered: 2 or 1 */
	cr_assert_eq(v.n_valid_counts, 2);
	cr_assert_eq(v.valid_counts[0], 2);
	gp_gpu_view_clear(&v);
	cr_assert_eq(gp_policy_type_for_count(&host_on, pf, 0, 1, &t), 0);
	cr_assert_eq(t.type_id, 1418);
	cr_assert_eq(gp_policy_type_for_count(&host_on, pf, 0, 3, &t), -ERANGE);
	/* with the driver's catalogue the size is H200X-3-71C's: 71 GB */
	pf->catalogue = NULL;
	pf->n_catalogue = 0;
	driver_catalogue(pf);
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.partitions[1].fb_bytes, 71 * GIB);
	cr_assert_eq(v.n_valid_counts, 2, "3-71C: at most 2 per GPU, 2 instances");
	cr_assert_eq(v.valid_counts[0], 2);
	gp_gpu_view_clear(&v);
}

struct count_case {
	char what[48];
	int in_force, type;
	char list[128];
	int gis;
	int max_count;     /* the counts are max_count..1; 0: none */
	int pick[3];       /* type_for_count(1), (2), (max_count); -1: -ERANGE */
};

ParameterizedTestParameters(mig, counts)
{
	static struct count_case c[] = {
		/* 7 x 1g.18gb: 1-18C, at most 7 per GPU, 7 instances */
		{ "7 x 1g.18gb", 0, 0, L_MIG18, 7, 7, { 1414, 1414, 1414 } },
		/* 1-35C (max 4) and 2-35C (max 3) listed, 4 instances: up to 4; where both
		 * allow a count the larger framebuffer, here equal (35 GB): the first listed */
		{ "1-35C and 2-35C", 0, 0, L_MIG35, 4, 4, { 1416, 1416, 1416 } },
		/* only 3 instances: capped at 3 even though 1-18C allows 7 */
		{ "3 instances", 0, 0, L_MIG18, 3, 3, { 1414, 1414, 1414 } },
		/* no instance: nothing offered (set-count refuses, naming the step) */
		{ "no instance", 0, 0, L_NONE, 0, 0, { -1, -1, -1 } },
		/* 2-35C in force on 3 instances: the type in force is kept */
		{ "2-35C in force", 1, 1417, L_MIG35, 3, 3, { 1417, 1417, 1417 } },
	};
	return cr_make_param_array(struct count_case, c, sizeof(c) / sizeof(c[0]));
}

ParameterizedTest(struct count_case *c, mig, counts)
{
	struct gp_device *pf = h200(8, c->in_force, c->type, c->list);
	struct gp_vgpu_type t;
	struct gp_gpu_view v;
	int n[3] = { 1, 2, c->max_count }, k;

	driver_catalogue(pf);
	pf->mig_mode = GP_TRI_YES;
	pf->n_gpu_instances = c->gis;
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.n_valid_counts, (size_t)c->max_count, "%s: %zu counts", c->what,
		     v.n_valid_counts);
	if (c->max_count)
		cr_assert_eq(v.valid_counts[0], c->max_count, "%s", c->what);
	gp_gpu_view_clear(&v);
	for (k = 0; k < 3; k++) {
		int r = gp_policy_type_for_count(&host_on, pf, 0, n[k] ? n[k] : 1, &t);

		if (c->pick[k] < 0) {
			cr_assert_eq(r, -ERANGE, "%s: count %d", c->what, n[k]);
			continue;
		}
		cr_assert_eq(r, 0, "%s: count %d", c->what, n[k]);
		cr_assert_eq(t.type_id, c->pick[k], "%s: count %d took %d", c->what, n[k],
			     t.type_id);
		cr_assert(t.mig, "%s: never a time-sliced type in MIG mode", c->what);
	}
	/* one more than the instances allow is no type */
	cr_assert_eq(gp_policy_type_for_count(&host_on, pf, 0, c->max_count + 1, &t), -ERANGE,
		     "%s", c->what);
}

/* The same GPU with MIG off: the time-sliced maxima, never a MIG-backed type. */
Test(mig, off_is_time_sliced)
{
	static const int want[] = { 32, 16, 1 };
	struct gp_device *pf = h200(8, 0, 0, L_SLICED);
	struct gp_vgpu_type t;
	struct gp_gpu_view v;

	driver_catalogue(pf);
	pf->mig_mode = GP_TRI_NO;
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.vgpu_mode, GP_VGPU_MODE_EQUAL);
	expect_counts(&v, want, 3);
	gp_gpu_view_clear(&v);
	cr_assert_eq(gp_policy_type_for_count(&host_on, pf, 0, 1, &t), 0);
	cr_assert_eq(t.type_id, 1428, "141C, not 7-141C");
}
