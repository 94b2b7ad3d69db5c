/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy rules over hand-built models: no filesystem, every rule by table. The expected values
 * come from the rules in man/gpupart.8 and the NVIDIA tables in research/nvidia-linux.md §3,
 * not from running the program.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <string.h>

#include <gpupart/plan.h>
#include <gpupart/policy.h>

#include "keep.h"

#define GIB (1024LL * 1024 * 1024)

static struct gp_device *mk_dev(const char *addr, int vendor, int device, long cls,
				enum gp_pcie_type type)
{
	struct gp_device *d = keep(calloc(1, sizeof(*d)));

	gp_pci_addr_parse(addr, &d->addr);
	gp_pci_addr_format(&d->addr, d->address);
	d->detailed = true;
	d->vendor = vendor;
	d->device = device;
	d->class_code = cls;
	d->iommu_group = d->numa_node = d->vf_index = -1;
	d->sriov_total_vfs = d->sriov_num_vfs = d->sriov_offset = -1;
	d->sriov_stride = d->sriov_vf_device = -1;
	d->current_vgpu_type = -1;
	d->cfg.config_len = 4096;
	d->cfg.readable = true;
	d->cfg.pcie_type = type;
	d->cfg.msi = GP_TRI_YES;
	d->cfg.flr = GP_TRI_YES;
	d->cfg.af_flr = GP_TRI_NO;
	d->cfg.pm_no_soft_reset = GP_TRI_YES;
	d->cfg.acs = GP_TRI_NO;
	d->cfg.interrupt_pin = 1;
	d->boot_vga = GP_TRI_UNKNOWN;
	d->open_by_host = GP_TRI_UNKNOWN;
	return d;
}

static struct gp_host host_on = { .iommu_enabled = true, .n_iommu_groups = 8,
				  .interrupt_remapping = GP_TRI_YES,
				  .unsafe_interrupts = GP_TRI_NO };
static struct gp_host host_off = { .iommu_enabled = false, .interrupt_remapping = GP_TRI_NO };

static void set_sriov(struct gp_device *d, int total, int vf_device)
{
	d->sriov_total_vfs = total;
	d->sriov_num_vfs = 0;
	d->sriov_vf_device = vf_device;
	d->cfg.sriov = true;
	d->cfg.sriov_total_vfs = (uint16_t)total;
	d->cfg.sriov_vf_device = (uint16_t)vf_device;
}

Test(status, plain_endpoint)
{
	struct gp_device *d = mk_dev("0000:01:00.0", 0x1002, 0x73bf, 0x030000, GP_PCIE_ENDPOINT);

	cr_assert_eq(gp_policy_backend(&host_on, d), GP_BACKEND_NONE);
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_READY_FOR_DDA);
	cr_assert_eq(gp_policy_status(&host_off, d), GP_STATUS_NOT_ASSIGNABLE);
	d->cfg.pcie_type = GP_PCIE_LEGACY_ENDPOINT; /* the L20 dump reports Legacy Endpoint */
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_READY_FOR_DDA);
	d->cfg.pcie_type = GP_PCIE_UNKNOWN; /* unreadable config never condemns */
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_READY_FOR_DDA);
	d->cfg.pcie_type = GP_PCIE_NONE;
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_NOT_ASSIGNABLE);
	d->cfg.pcie_type = GP_PCIE_DOWNSTREAM;
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_NOT_ASSIGNABLE);
	d->cfg.pcie_type = GP_PCIE_PCIE_TO_PCI;
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_NOT_ASSIGNABLE);
}

Test(status, generic_sriov)
{
	struct gp_device *d = mk_dev("0000:03:00.0", 0x8086, 0x56c0, 0x038000, GP_PCIE_ENDPOINT);
	struct gp_gpu_view v;

	set_sriov(d, 8, 0x56c0);
	cr_assert_eq(gp_policy_backend(&host_on, d), GP_BACKEND_SRIOV);
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_PARTITIONED);
	cr_assert_eq(gp_policy_status(&host_off, d), GP_STATUS_PARAVIRTUALIZATION);
	cr_assert_eq(gp_gpu_view_build(&host_on, d, 0, &v), 0);
	cr_assert_eq(v.n_valid_counts, 8);
	cr_assert_eq(v.valid_counts[0], 8);
	cr_assert_eq(v.valid_counts[7], 1);
	cr_assert_eq(v.partition_count, 0);
	gp_gpu_view_clear(&v);

	/* BIOS SR-IOV off: the capability is there, the kernel offers 0 VFs */
	d->sriov_total_vfs = 0;
	cr_assert_eq(gp_policy_backend(&host_on, d), GP_BACKEND_SRIOV);
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_PARAVIRTUALIZATION);
	/* no sriov_totalvfs file at all */
	d->sriov_total_vfs = -1;
	cr_assert_eq(gp_policy_status(&host_on, d), GP_STATUS_PARAVIRTUALIZATION);
}

Test(status, sriov_partitions_are_enabled_vfs)
{
	struct gp_device *pf = mk_dev("0000:03:00.0", 0x8086, 0x56c0, 0x038000, GP_PCIE_ENDPOINT);
	struct gp_device *vf[3];
	struct gp_gpu_view v;
	int i;

	set_sriov(pf, 8, 0x56c0);
	pf->vfs = keep(calloc(3, sizeof(*pf->vfs)));
	for (i = 0; i < 3; i++) {
		char a[16];

		snprintf(a, sizeof(a), "0000:03:00.%d", i + 1);
		vf[i] = mk_dev(a, 0x8086, 0x56c0, 0x038000, GP_PCIE_ENDPOINT);
		vf[i]->is_vf = true;
		vf[i]->physfn = pf;
		vf[i]->vf_index = i;
		vf[i]->driver = "vfio-pci";
		pf->vfs[i] = vf[i];
	}
	pf->n_vfs = 3;
	pf->sriov_num_vfs = 3;
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.partition_count, 3);
	cr_assert_eq(v.n_partitions, 3);
	cr_assert_str_eq(v.partitions[2].address, "0000:03:00.3");
	cr_assert_eq(v.partitions[2].id, 2);
	cr_assert_null(v.partitions[2].vgpu_type);
	gp_gpu_view_clear(&v);
}

/* A40 mdev-on-VF catalogue, verbatim names and maxima (research §1.3, §3.2). */
static struct gp_vgpu_type *a40_types(size_t *n)
{
	static const struct {
		const char *name;
		int max;
	} t[] = {
		{ "NVIDIA A40-1B", 32 },  { "NVIDIA A40-2B", 24 },  { "NVIDIA A40-1Q", 32 },
		{ "NVIDIA A40-2Q", 24 },  { "NVIDIA A40-3Q", 16 },  { "NVIDIA A40-4Q", 12 },
		{ "NVIDIA A40-6Q", 8 },   { "NVIDIA A40-8Q", 6 },   { "NVIDIA A40-12Q", 4 },
		{ "NVIDIA A40-16Q", 3 },  { "NVIDIA A40-24Q", 2 },  { "NVIDIA A40-48Q", 1 },
		{ "NVIDIA A40-1A", 32 },  { "NVIDIA A40-2A", 24 },  { "NVIDIA A40-3A", 16 },
		{ "NVIDIA A40-4A", 12 },  { "NVIDIA A40-6A", 8 },   { "NVIDIA A40-8A", 6 },
		{ "NVIDIA A40-12A", 4 },  { "NVIDIA A40-16A", 3 },  { "NVIDIA A40-24A", 2 },
		{ "NVIDIA A40-48A", 1 },
	};
	struct gp_vgpu_type *v = calloc(sizeof(t) / sizeof(t[0]), sizeof(*v));
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		v[i].type_id = 555 + (int)i;
		asprintf(&v[i].key, "nvidia-%d", v[i].type_id);
		v[i].name = strdup(t[i].name);
		gp_vgpu_type_parse_name(v[i].name, &v[i].series, &v[i].mig, &v[i].fb_bytes);
		v[i].max_instances = t[i].max;
		v[i].max_from_driver = true;
	}
	*n = sizeof(t) / sizeof(t[0]);
	return v;
}

static void expect_counts(const int *got, size_t n, const int *want, size_t nw)
{
	size_t i;

	cr_assert_eq(n, nw, "got %zu counts, want %zu", n, nw);
	for (i = 0; i < n; i++)
		cr_assert_eq(got[i], want[i], "count[%zu] = %d, want %d", i, got[i], want[i]);
}

Test(counts, a40_series)
{
	static const int q[] = { 32, 24, 16, 12, 8, 6, 4, 3, 2, 1 };
	static const int b[] = { 32, 24 };
	size_t n;
	struct gp_vgpu_type *t = a40_types(&n);
	int *c;
	size_t nc;

	/* Q and A tie at 10 types each: Q wins the tie */
	cr_assert_eq(gp_policy_default_series(t, n), 'Q');
	cr_assert_eq(gp_policy_valid_counts(t, n, 'Q', 32, &c, &nc), 0);
	expect_counts(c, nc, q, 10);
	free(c);
	cr_assert_eq(gp_policy_valid_counts(t, n, 'B', 32, &c, &nc), 0);
	expect_counts(c, nc, b, 2);
	free(c);
	cr_assert_eq(gp_policy_valid_counts(t, n, 'C', 32, &c, &nc), 0);
	cr_assert_eq(nc, 0);
	free(c);
	/* a cap below the maxima (fewer VFs than the type allows) clamps and merges */
	cr_assert_eq(gp_policy_valid_counts(t, n, 'Q', 16, &c, &nc), 0);
	cr_assert_eq(c[0], 16);
	cr_assert_eq(c[1], 12);
	free(c);
	gp_vgpu_types_free(t, n);
}

Test(counts, default_series_prefers_most_types)
{
	struct gp_vgpu_type t[4] = { 0 };
	int i;

	for (i = 0; i < 3; i++)
		t[i].series = 'C';
	t[3].series = 'Q';
	cr_assert_eq(gp_policy_default_series(t, 4), 'C');
	t[0].mig = t[1].mig = true; /* MIG-backed types are another series */
	cr_assert_eq(gp_policy_default_series(t, 4), 'Q');
	cr_assert_eq(gp_policy_default_series(t, 0), 0);
}

/* Vendor-VFIO A16 GPU: VFs list types without maxima; the framebuffer divides. */
static struct gp_device *a16_gpu(int n_vfs, int set_type)
{
	static const char text[] = "ID    : vGPU Name\n"
				   "700   : NVIDIA A16-1Q\n701   : NVIDIA A16-2Q\n"
				   "702   : NVIDIA A16-4Q\n703   : NVIDIA A16-8Q\n"
				   "704   : NVIDIA A16-16Q\n710   : NVIDIA A16-4C\n"
				   "711   : NVIDIA A16-8C\n712   : NVIDIA A16-16C\n";
	struct gp_device *pf = mk_dev("0000:83:00.0", 0x10de, 0x25b6, 0x030200, GP_PCIE_ENDPOINT);
	int i;

	pf->driver = "nvidia";
	set_sriov(pf, 16, 0x25b6);
	pf->sriov_num_vfs = n_vfs;
	pf->vfs = keep(calloc((size_t)n_vfs, sizeof(*pf->vfs)));
	for (i = 0; i < n_vfs; i++) {
		char a[16];
		struct gp_device *vf;

		snprintf(a, sizeof(a), "0000:83:%02x.%d", (i + 4) / 8, (i + 4) % 8);
		vf = mk_dev(a, 0x10de, 0x25b6, 0x030200, GP_PCIE_ENDPOINT);
		vf->is_vf = true;
		vf->physfn = pf;
		vf->vf_index = i;
		vf->driver = "nvidia";
		vf->has_nvidia_dir = true;
		vf->current_vgpu_type = i < set_type ? 702 : 0;
		if (i >= set_type) {
			int k = gp_parse_creatable_types(set_type ? "702   : NVIDIA A16-4Q\n" : text,
							 &vf->creatable);
			vf->n_creatable = (size_t)k;
			if (k > 0)
				keep_types(vf->creatable, vf->n_creatable);
		}
		pf->vfs[i] = vf;
	}
	pf->n_vfs = (size_t)n_vfs;
	keep_catalogue(pf);
	return pf;
}

Test(counts, a16_vendor_vfio)
{
	static const int q[] = { 16, 8, 4, 2, 1 };
	static const int c[] = { 4, 2, 1 };
	struct gp_device *pf = a16_gpu(16, 0);
	struct gp_gpu_view v;

	cr_assert_eq(gp_policy_backend(&host_on, pf), GP_BACKEND_NVIDIA_VFIO);
	cr_assert_eq(gp_policy_status(&host_on, pf), GP_STATUS_PARTITIONED);
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.series, 'Q');
	expect_counts(v.valid_counts, v.n_valid_counts, q, 5);
	cr_assert_eq(v.vram_bytes, 16 * GIB);
	cr_assert_eq(v.partition_count, 0, "idle VFs are not partitions");
	cr_assert_eq(v.partition_vram_bytes, -1);
	gp_gpu_view_clear(&v);
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 'C', &v), 0);
	expect_counts(v.valid_counts, v.n_valid_counts, c, 3);
	gp_gpu_view_clear(&v);
}

Test(counts, a16_with_partitions_in_force)
{
	struct gp_device *pf = a16_gpu(16, 4);
	struct gp_gpu_view v;

	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	cr_assert_eq(v.partition_count, 4);
	cr_assert_eq(v.partitions[3].vgpu_type_id, 702);
	cr_assert_str_eq(v.partitions[3].vgpu_type, "NVIDIA A16-4Q");
	cr_assert_str_eq(v.partitions[0].address, "0000:83:00.4");
	cr_assert_eq(v.partition_vram_bytes, 4 * GIB);
	/* homogeneous: the driver offers only the type in force, so only its count is valid */
	cr_assert_eq(v.n_valid_counts, 1);
	cr_assert_eq(v.valid_counts[0], 4);
	cr_assert_eq(v.vram_bytes, 16 * GIB, "from the per-device table when the catalogue hides");
	gp_gpu_view_clear(&v);
}

Test(backend, nvidia_without_vfs)
{
	struct gp_device *pf = mk_dev("0000:41:00.0", 0x10de, 0x2235, 0x030200, GP_PCIE_ENDPOINT);
	struct gp_host h = host_on;

	pf->driver = "nvidia";
	set_sriov(pf, 32, 0x2235);
	cr_assert_eq(gp_policy_backend(&h, pf), GP_BACKEND_SRIOV, "no vGPU manager");
	h.nvidia_vgpu_manager = true;
	cr_assert_eq(gp_policy_backend(&h, pf), GP_BACKEND_NVIDIA_VFIO,
		     "no VFs and no types of its own: vendor VFIO until the VFs show otherwise");
	/* its own evidence decides: VFs with mdev types, or the PF's own types */
	struct gp_device *vf = mk_dev("0000:41:00.4", 0x10de, 0x2235, 0x030200, GP_PCIE_ENDPOINT);
	vf->is_vf = true;
	vf->n_mdev_types = 1;
	pf->vfs = keep(calloc(1, sizeof(*pf->vfs)));
	pf->vfs[0] = vf;
	pf->n_vfs = 1;
	cr_assert_eq(gp_policy_backend(&h, pf), GP_BACKEND_NVIDIA_MDEV, "mdev types on a VF");
	vf->n_mdev_types = 0;
	vf->has_nvidia_dir = true;
	cr_assert_eq(gp_policy_backend(&h, pf), GP_BACKEND_NVIDIA_VFIO, "a VF's nvidia/");
	pf->vfs = NULL;
	pf->n_vfs = 0;
	/* T4: an SR-IOV capability whose VF device ID reads 0000 is not SR-IOV vGPU */
	pf->device = 0x1eb8;
	pf->sriov_total_vfs = -1;
	pf->cfg.sriov_vf_device = 0;
	pf->cfg.sriov_total_vfs = 16;
	cr_assert_eq(gp_policy_backend(&h, pf), GP_BACKEND_NONE);
	cr_assert_eq(gp_policy_status(&h, pf), GP_STATUS_READY_FOR_DDA);
}

Test(backend, t4_mdev_on_pf)
{
	struct gp_device *pf = mk_dev("0000:af:00.0", 0x10de, 0x1eb8, 0x030200, GP_PCIE_ENDPOINT);
	struct gp_gpu_view v;
	static const int q[] = { 16, 8, 4, 2, 1 };
	static const char *names[] = { "GRID T4-1Q", "GRID T4-2Q", "GRID T4-4Q", "GRID T4-8Q",
				       "GRID T4-16Q" };
	static const int max[] = { 16, 8, 4, 2, 1 };
	int i;

	pf->driver = "nvidia";
	pf->mdev_types = keep(calloc(5, sizeof(*pf->mdev_types)));
	for (i = 0; i < 5; i++) {
		struct gp_vgpu_type *t = &pf->mdev_types[i];

		t->type_id = 222 + i;
		cr_assert_geq(asprintf(&t->key, "nvidia-%d", t->type_id), 0);
		keep(t->key);
		t->name = keep(strdup(names[i]));
		gp_vgpu_type_parse_name(t->name, &t->series, &t->mig, &t->fb_bytes);
		t->max_instances = max[i];
	}
	pf->n_mdev_types = 5;
	pf->mdevs = keep(calloc(2, sizeof(*pf->mdevs)));
	strcpy(pf->mdevs[0].uuid, "bb000000-0000-0000-0000-000000000002");
	strcpy(pf->mdevs[1].uuid, "aa000000-0000-0000-0000-000000000001");
	pf->mdevs[0].type_key = "nvidia-224";
	pf->mdevs[1].type_key = "nvidia-224";
	pf->n_mdevs = 2;
	keep_catalogue(pf);
	cr_assert_eq(gp_policy_backend(&host_on, pf), GP_BACKEND_NVIDIA_MDEV);
	cr_assert_eq(gp_policy_status(&host_on, pf), GP_STATUS_PARTITIONED);
	cr_assert_eq(gp_policy_status(&host_off, pf), GP_STATUS_PARAVIRTUALIZATION);
	cr_assert_eq(gp_gpu_view_build(&host_on, pf, 0, &v), 0);
	expect_counts(v.valid_counts, v.n_valid_counts, q, 5);
	cr_assert_eq(v.partition_count, 2);
	cr_assert_str_eq(v.partitions[0].mdev_uuid, "aa000000-0000-0000-0000-000000000001",
			 "partitions sorted by parent then UUID");
	cr_assert_str_eq(v.partitions[0].vgpu_type, "GRID T4-4Q");
	cr_assert_eq(v.partition_vram_bytes, 4 * GIB);
	cr_assert_eq(v.vram_bytes, 16 * GIB);
	gp_gpu_view_clear(&v);
}

/* ---- survey ---- */

static bool has(const struct gp_findings *f, const char *code, enum gp_severity sev)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].code, code) == 0 && f->v[i].severity == sev)
			return true;
	return false;
}

Test(survey, host_findings)
{
	struct gp_findings f = { 0 };
	struct gp_host h = host_on;

	cr_assert_eq(gp_survey_host(&h, &f), 0);
	cr_assert_eq(f.n, 0, "a good host has no findings");
	h.interrupt_remapping = GP_TRI_NO;
	h.acs_override = true;
	h.unsafe_interrupts = GP_TRI_YES;
	cr_assert_eq(gp_survey_host(&h, &f), 0);
	cr_assert(has(&f, "interrupt-remapping-disabled", GP_SEV_ERROR));
	cr_assert(has(&f, "acs-override", GP_SEV_WARNING));
	cr_assert(has(&f, "unsafe-interrupts", GP_SEV_WARNING));
	cr_assert_eq(f.n, 3);
	gp_findings_clear(&f);
	cr_assert_eq(gp_survey_host(&host_off, &f), 0);
	cr_assert(has(&f, "iommu-disabled", GP_SEV_ERROR));
	cr_assert(!gp_findings_has(&f, "interrupt-remapping-disabled"),
		  "no IOMMU: remapping is implied, not a second error");
	gp_findings_clear(&f);
	/* an architecture whose chips the scan does not read: a warning, never the error */
	h = host_on;
	h.interrupt_remapping = GP_TRI_UNKNOWN;
	cr_assert_eq(gp_survey_host(&h, &f), 0);
	cr_assert(has(&f, "interrupt-remapping-unknown", GP_SEV_WARNING));
	cr_assert(!gp_findings_has(&f, "interrupt-remapping-disabled"));
	cr_assert_eq(f.n, 1);
	gp_findings_clear(&f);
}

struct dev_case {
	char what[32];
	enum gp_pcie_type type;
	enum gp_tri msi, flr;
	int pin;
	int config_len;
	char code[32];         /* expected code, "" = none of the checked codes */
	enum gp_severity sev;
	enum gp_verdict verdict;
};

ParameterizedTestParameters(survey, device_rules)
{
	static struct dev_case cases[] = {
		{ "clean endpoint", GP_PCIE_ENDPOINT, GP_TRI_YES, GP_TRI_YES, 1, 4096, "", 0,
		  GP_VERDICT_ASSIGNABLE },
		{ "conventional", GP_PCIE_NONE, GP_TRI_YES, GP_TRI_YES, 1, 4096, "not-pcie",
		  GP_SEV_ERROR, GP_VERDICT_NOT_ASSIGNABLE },
		{ "switch port", GP_PCIE_UPSTREAM, GP_TRI_YES, GP_TRI_YES, 1, 4096, "not-endpoint",
		  GP_SEV_ERROR, GP_VERDICT_NOT_ASSIGNABLE },
		{ "line interrupts only", GP_PCIE_ENDPOINT, GP_TRI_NO, GP_TRI_YES, 1, 4096, "no-msi",
		  GP_SEV_ERROR, GP_VERDICT_NOT_ASSIGNABLE },
		{ "no interrupts at all", GP_PCIE_ENDPOINT, GP_TRI_NO, GP_TRI_YES, 0, 4096, "", 0,
		  GP_VERDICT_ASSIGNABLE },
		{ "no FLR", GP_PCIE_ENDPOINT, GP_TRI_YES, GP_TRI_NO, 1, 4096, "no-flr",
		  GP_SEV_WARNING, GP_VERDICT_WITH_WARNINGS },
		{ "not root", GP_PCIE_UNKNOWN, GP_TRI_UNKNOWN, GP_TRI_UNKNOWN, 1, 64,
		  "config-unreadable", GP_SEV_WARNING, GP_VERDICT_WITH_WARNINGS },
	};
	return cr_make_param_array(struct dev_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct dev_case *c, survey, device_rules)
{
	struct gp_device *d = mk_dev("0000:05:00.0", 0x1002, 0x73bf, 0x030000, c->type);
	struct gp_findings f = { 0 }, hf = { 0 };
	static const char *checked[] = { "not-pcie", "not-endpoint", "no-msi", "no-flr",
					 "config-unreadable" };
	size_t i;

	/* behind a root port with ACS on: the bus-reset rule needs a bridge above */
	d->parent = mk_dev("0000:00:02.0", 0x8086, 0x1234, 0x060400, GP_PCIE_ROOT_PORT);
	d->parent->cfg.acs = GP_TRI_YES;
	d->parent->cfg.acs_cap = 0x1f;
	d->parent->cfg.acs_ctrl = 0x1d;
	d->cfg.msi = c->msi;
	d->cfg.flr = c->flr;
	d->cfg.interrupt_pin = (uint8_t)c->pin;
	d->cfg.config_len = c->config_len;
	d->cfg.readable = c->config_len >= 256;
	if (!d->cfg.readable)
		d->cfg.pm_no_soft_reset = d->cfg.af_flr = GP_TRI_UNKNOWN;
	cr_assert_eq(gp_survey_device(&host_on, d, &f), 0);
	for (i = 0; i < sizeof(checked) / sizeof(checked[0]); i++) {
		bool want = c->code[0] && strcmp(c->code, checked[i]) == 0;

		cr_assert_eq(gp_findings_has(&f, checked[i]), want, "%s: %s %s", c->what,
			     checked[i], want ? "missing" : "unexpected");
	}
	if (c->code[0])
		cr_assert(has(&f, c->code, c->sev), "%s: severity", c->what);
	cr_assert_eq(gp_verdict_from(&hf, &f), c->verdict, "%s: verdict", c->what);
	if (c->flr == GP_TRI_NO && strcmp(c->code, "no-flr") == 0)
		cr_assert(strstr(f.v[0].detail, "\"bus\""), "names the reset: %s", f.v[0].detail);
	gp_findings_clear(&f);
}

Test(survey, acs_walk)
{
	struct gp_device *rp = mk_dev("0000:00:01.0", 0x8086, 0x1234, 0x060400, GP_PCIE_ROOT_PORT);
	struct gp_device *up = mk_dev("0000:01:00.0", 0x10b5, 0x8747, 0x060400, GP_PCIE_UPSTREAM);
	struct gp_device *dp = mk_dev("0000:02:08.0", 0x10b5, 0x8747, 0x060400, GP_PCIE_DOWNSTREAM);
	struct gp_device *gpu = mk_dev("0000:03:00.0", 0x10de, 0x25b6, 0x030200, GP_PCIE_ENDPOINT);
	struct gp_findings f = { 0 };

	gpu->parent = dp;
	dp->parent = up;
	up->parent = rp;
	rp->cfg.acs = GP_TRI_YES;
	rp->cfg.acs_cap = 0x5f;
	rp->cfg.acs_ctrl = 0x1d; /* QEMU's root port: SV RR CR UF */
	dp->cfg.acs = GP_TRI_YES;
	dp->cfg.acs_cap = 0x1f;
	dp->cfg.acs_ctrl = 0x1d;
	/* the upstream port has no ACS and needs none */
	cr_assert_eq(gp_survey_device(&host_on, gpu, &f), 0);
	cr_assert(!gp_findings_has(&f, "acs-missing-upstream"));
	gp_findings_clear(&f);

	dp->cfg.acs_ctrl = 0x19; /* request redirect off */
	cr_assert_eq(gp_survey_device(&host_on, gpu, &f), 0);
	cr_assert(has(&f, "acs-missing-upstream", GP_SEV_ERROR));
	cr_assert(strstr(f.v[0].detail, "0000:02:08.0") && strstr(f.v[0].detail, "ReqRedir"),
		  "%s", f.v[0].detail);
	cr_assert_eq(gp_verdict_from(NULL, &f), GP_VERDICT_NOT_ASSIGNABLE);
	gp_findings_clear(&f);

	/* alone in its IOMMU group: the kernel saw isolation (quirks), no peer to reach */
	{
		char *members[] = { "0000:03:00.0" };
		struct gp_device *devs[] = { gpu };
		struct gp_iommu_group g = { .id = 30, .members = members, .n_members = 1 };
		struct gp_host h = host_on;

		h.devs = devs;
		h.n_devs = 1;
		h.groups = &g;
		h.n_groups = 1;
		gpu->iommu_group = 30;
		cr_assert_eq(gp_survey_device(&h, gpu, &f), 0);
		cr_assert(has(&f, "acs-missing-upstream", GP_SEV_WARNING));
		gp_findings_clear(&f);
		h.acs_override = true; /* unless the groups are an override's */
		cr_assert_eq(gp_survey_device(&h, gpu, &f), 0);
		cr_assert(has(&f, "acs-missing-upstream", GP_SEV_ERROR));
		gp_findings_clear(&f);
		gpu->iommu_group = -1;
	}

	/* a feature the port does not implement is hard-wired on (pci_acs_flags_enabled) */
	dp->cfg.acs_cap = 0x1b; /* no RR capability */
	cr_assert_eq(gp_survey_device(&host_on, gpu, &f), 0);
	cr_assert(!gp_findings_has(&f, "acs-missing-upstream"));
	gp_findings_clear(&f);

	dp->cfg.acs = GP_TRI_NO;
	cr_assert_eq(gp_survey_device(&host_on, gpu, &f), 0);
	cr_assert(has(&f, "acs-missing-upstream", GP_SEV_ERROR));
	gp_findings_clear(&f);

	/* an unreadable port: unknown, never reported as lacking */
	dp->cfg.readable = false;
	dp->cfg.pcie_type = GP_PCIE_UNKNOWN;
	cr_assert_eq(gp_survey_device(&host_on, gpu, &f), 0);
	cr_assert(!gp_findings_has(&f, "acs-missing-upstream"));
	cr_assert(gp_findings_has(&f, "config-unreadable"));
	gp_findings_clear(&f);
}

Test(survey, groups_partitions_bars)
{
	struct gp_device *gpu = mk_dev("0000:41:00.0", 0x10de, 0x2235, 0x030200, GP_PCIE_ENDPOINT);
	struct gp_device *audio = mk_dev("0000:41:00.1", 0x10de, 0x1aef, 0x040300, GP_PCIE_ENDPOINT);
	struct gp_device *nic = mk_dev("0000:42:00.0", 0x8086, 0x1533, 0x020000, GP_PCIE_ENDPOINT);
	struct gp_device *devs[3] = { gpu, audio, nic };
	char *members[3] = { "0000:41:00.0", "0000:41:00.1", "0000:42:00.0" };
	struct gp_iommu_group g = { .id = 7, .members = members, .n_members = 2 };
	struct gp_host h = host_on;
	struct gp_findings f = { 0 };
	struct gp_bar bars[2] = { { .index = 1, .size = 64 * GIB, .mem64 = true },
				  { .index = 3, .size = 32 << 20, .mem64 = true } };

	h.devs = devs;
	h.n_devs = 3;
	h.groups = &g;
	h.n_groups = 1;
	gpu->iommu_group = audio->iommu_group = nic->iommu_group = 7;
	nic->driver = "igb";
	cr_assert_eq(gp_survey_device(&h, gpu, &f), 0);
	cr_assert(!gp_findings_has(&f, "iommu-group-shared"), "its own audio function is fine");
	gp_findings_clear(&f);
	g.n_members = 3;
	cr_assert_eq(gp_survey_device(&h, gpu, &f), 0);
	cr_assert(has(&f, "iommu-group-shared", GP_SEV_ERROR));
	cr_assert(strstr(f.v[0].detail, "0000:42:00.0 (igb)"), "%s", f.v[0].detail);
	gp_findings_clear(&f);
	g.n_members = 2;

	gpu->n_vfs = 2;
	gpu->vfs = devs + 1; /* any two devices: only the count matters here */
	gpu->bars = bars;
	gpu->n_bars = 2;
	gpu->bars_known = true;
	cr_assert_eq(gp_survey_device(&h, gpu, &f), 0);
	cr_assert(has(&f, "partitioned", GP_SEV_ERROR));
	cr_assert(has(&f, "large-bar", GP_SEV_INFO));
	/* 64 GiB + 32 MiB rounds up to 128 GiB, which NVIDIA's table says for the A40 */
	cr_assert_eq(gp_policy_mmio64_required(gpu), 128 * GIB);
	cr_assert_eq(gp_policy_mmio_table_lookup(gpu, NULL), 128 * GIB);
	gp_findings_clear(&f);
	/* no resource file read: unknown, never 0 */
	gpu->bars_known = false;
	cr_assert_eq(gp_policy_mmio64_required(gpu), -1);
	/* BAR sizes the scanner let through cannot overflow the sum */
	gpu->bars_known = true;
	bars[0].size = bars[1].size = (1ULL << 62) - 1;
	cr_assert_eq(gp_policy_mmio64_required(gpu), INT64_MAX);
}

/* severity of finding @code in @f, or -1 when absent */
static int sev_of(const struct gp_findings *f, const char *code)
{
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->v[i].code, code))
			return (int)f->v[i].severity;
	return -1;
}

/*
 * On NVIDIA's backends a VF is a partition once it carries a vGPU: 16 A16 VFs with none set
 * are a warning naming `set-count ADDR 0` (which disables them), not "partitioned"; with 4 of
 * them carrying the 4Q type, "partitioned" (an error) counts those 4. The generic SR-IOV
 * backend's VFs are partitions themselves (groups_partitions_bars above).
 */
Test(survey, nvidia_vfs_enabled_but_idle)
{
	struct gp_findings f = { 0 };
	struct gp_device *pf = a16_gpu(16, 0);

	cr_assert_eq(gp_survey_device(&host_on, pf, &f), 0);
	cr_assert_eq(sev_of(&f, "partitioned"), -1);
	cr_assert_eq(sev_of(&f, "vfs-enabled-idle"), GP_SEV_WARNING);
	for (size_t i = 0; i < f.n; i++)
		if (!strcmp(f.v[i].code, "vfs-enabled-idle"))
			cr_assert(strstr(f.v[i].detail, "16 VFs enabled, none with a vGPU") &&
					  strstr(f.v[i].detail, "gpupart set-count 0000:83:00.0 0"),
				  "%s", f.v[i].detail);
	gp_findings_clear(&f);

	pf = a16_gpu(16, 4);
	cr_assert_eq(gp_survey_device(&host_on, pf, &f), 0);
	cr_assert_eq(sev_of(&f, "partitioned"), GP_SEV_ERROR);
	cr_assert_eq(sev_of(&f, "vfs-enabled-idle"), -1);
	for (size_t i = 0; i < f.n; i++)
		if (!strcmp(f.v[i].code, "partitioned"))
			cr_assert(strstr(f.v[i].detail, "4 of its 16 VFs carry a vGPU"), "%s",
				  f.v[i].detail);
	gp_findings_clear(&f);

	/* no VF enabled: nothing in the way */
	pf = a16_gpu(0, 0);
	cr_assert_eq(gp_survey_device(&host_on, pf, &f), 0);
	cr_assert_eq(sev_of(&f, "partitioned"), -1);
	cr_assert_eq(sev_of(&f, "vfs-enabled-idle"), -1);
	gp_findings_clear(&f);
}

Test(survey, verdict_rule)
{
	struct gp_findings host = { 0 }, dev = { 0 };

	cr_assert_eq(gp_verdict_from(&host, &dev), GP_VERDICT_ASSIGNABLE);
	gp_findings_add(&dev, "large-bar", GP_SEV_INFO, "x");
	cr_assert_eq(gp_verdict_from(&host, &dev), GP_VERDICT_ASSIGNABLE, "info never counts");
	gp_findings_add(&host, "acs-override", GP_SEV_WARNING, "x");
	cr_assert_eq(gp_verdict_from(&host, &dev), GP_VERDICT_WITH_WARNINGS);
	gp_findings_add(&dev, "not-pcie", GP_SEV_ERROR, "x");
	cr_assert_eq(gp_verdict_from(&host, &dev), GP_VERDICT_NOT_ASSIGNABLE);
	cr_assert_str_eq(gp_verdict_str(GP_VERDICT_WITH_WARNINGS), "assignable-with-warnings");
	gp_findings_clear(&host);
	gp_findings_clear(&dev);
}

Test(survey, reset_method)
{
	struct gp_device *d = mk_dev("0000:05:00.0", 0x1002, 0x73bf, 0x030000, GP_PCIE_ENDPOINT);

	d->reset_method = "flr bus";
	cr_assert_str_eq(gp_policy_reset_method(d), "flr");
	d->reset_method = "bus";
	cr_assert_str_eq(gp_policy_reset_method(d), "bus");
	d->reset_method = ""; /* the kernel has the ABI and no method: the file is absent */
	cr_assert_str_eq(gp_policy_reset_method(d), "none");
	d->reset_method = NULL;
	d->cfg.flr = GP_TRI_NO;
	d->cfg.pm_no_soft_reset = GP_TRI_NO;
	cr_assert_str_eq(gp_policy_reset_method(d), "pm");
	d->cfg.pm_no_soft_reset = GP_TRI_YES;
	cr_assert_str_eq(gp_policy_reset_method(d), "none", "on a root bus: no bus reset");
	d->parent = mk_dev("0000:00:01.0", 0x8086, 0x1234, 0x060400, GP_PCIE_ROOT_PORT);
	cr_assert_str_eq(gp_policy_reset_method(d), "bus");
	d->bus_siblings = 1; /* its HDMI audio function shares the bus */
	cr_assert_str_eq(gp_policy_reset_method(d), "none");
}

/* ---- counts that match the driver (equal size by framebuffer, mixed size, count in force) ---- */

/* An L40S's types with NVIDIA's published maxima per GPU (research nvidia-linux.md §3.2: Q and
 * A 32,24,16,12,8,6,4,3,2,1; C capped at 12 vGPUs; B 1B:32 2B:24). IDs as in the fixture. */
static const struct l40s_type {
	int id;
	const char *name;
	int max;
} l40s_types[] = {
	{ 1145, "NVIDIA L40S-1B", 32 },  { 1146, "NVIDIA L40S-2B", 24 },
	{ 1147, "NVIDIA L40S-1Q", 32 },  { 1148, "NVIDIA L40S-2Q", 24 },
	{ 1149, "NVIDIA L40S-3Q", 16 },  { 1150, "NVIDIA L40S-4Q", 12 },
	{ 1151, "NVIDIA L40S-6Q", 8 },   { 1152, "NVIDIA L40S-8Q", 6 },
	{ 1153, "NVIDIA L40S-12Q", 4 },  { 1154, "NVIDIA L40S-16Q", 3 },
	{ 1155, "NVIDIA L40S-24Q", 2 },  { 1159, "NVIDIA L40S-48Q", 1 },
	{ 1162, "NVIDIA L40S-4C", 12 },  { 1163, "NVIDIA L40S-6C", 8 },
	{ 1164, "NVIDIA L40S-8C", 6 },   { 1165, "NVIDIA L40S-12C", 4 },
	{ 1166, "NVIDIA L40S-16C", 3 },  { 1167, "NVIDIA L40S-24C", 2 },
	{ 1168, "NVIDIA L40S-48C", 1 },  { 1170, "NVIDIA L40S-1A", 32 },
	{ 1171, "NVIDIA L40S-2A", 24 },  { 1172, "NVIDIA L40S-3A", 16 },
	{ 1173, "NVIDIA L40S-4A", 12 },  { 1174, "NVIDIA L40S-6A", 8 },
	{ 1175, "NVIDIA L40S-8A", 6 },   { 1176, "NVIDIA L40S-12A", 4 },
	{ 1177, "NVIDIA L40S-16A", 3 },  { 1178, "NVIDIA L40S-24A", 2 },
	{ 1179, "NVIDIA L40S-48A", 1 },
};
#define N_L40S (sizeof(l40s_types) / sizeof(l40s_types[0]))

static struct gp_vgpu_type l40s_type(const struct l40s_type *d, bool maxima)
{
	struct gp_vgpu_type t = { .type_id = d->id, .max_instances = GP_UNKNOWN,
				  .available = GP_UNKNOWN };

	cr_assert_geq(asprintf(&t.key, "%d", d->id), 0);
	keep(t.key);
	t.name = keep(strdup(d->name));
	cr_assert_eq(gp_vgpu_type_parse_name(t.name, &t.series, &t.mig, &t.fb_bytes), 0);
	if (maxima) {
		t.max_instances = d->max;
		t.max_from_driver = true;
	}
	return t;
}

/* Vendor-VFIO L40S (device @device: 26b9, or a board the framebuffer table lacks) with 32 VFs:
 * VF i carries in_force[i]; every idle VF lists @listed (0-terminated type IDs). Its catalogue:
 * @src GP_CATALOGUE_SYSFS builds it from the lists as the scan does; any other source is the
 * driver's whole table with its maxima, as vgpuConfig.xml or NVML give it. */
static struct gp_device *l40s_gpu(int device, enum gp_catalogue_source src, const int *in_force,
				  const int *listed)
{
	struct gp_device *pf = mk_dev("0000:01:00.0", 0x10de, device, 0x030200, GP_PCIE_ENDPOINT);
	size_t i, k, n_force = 0;

	while (in_force && in_force[n_force])
		n_force++;
	pf->driver = "nvidia";
	set_sriov(pf, 32, device);
	pf->sriov_num_vfs = 32;
	pf->vfs = keep(calloc(32, sizeof(*pf->vfs)));
	pf->n_vfs = 32;
	for (i = 0; i < 32; i++) {
		struct gp_device *vf;
		char a[16];

		snprintf(a, sizeof(a), "0000:01:%02zx.%zu", (i + 4) / 8, (i + 4) % 8);
		vf = mk_dev(a, 0x10de, device, 0x030200, GP_PCIE_ENDPOINT);
		vf->is_vf = true;
		vf->physfn = pf;
		vf->vf_index = (int)i;
		vf->driver = "nvidia";
		vf->has_nvidia_dir = true;
		vf->current_vgpu_type = i < n_force ? in_force[i] : 0;
		vf->creatable = keep(calloc(N_L40S, sizeof(*vf->creatable)));
		for (k = 0; vf->current_vgpu_type == 0 && listed && listed[k]; k++) {
			size_t j;

			for (j = 0; j < N_L40S && l40s_types[j].id != listed[k]; j++)
				;
			cr_assert_lt(j, N_L40S);
			vf->creatable[vf->n_creatable++] = l40s_type(&l40s_types[j], false);
		}
		pf->vfs[i] = vf;
	}
	if (src == GP_CATALOGUE_SYSFS) {
		keep_catalogue(pf);
		return pf;
	}
	pf->catalogue = keep(calloc(N_L40S, sizeof(*pf->catalogue)));
	for (i = 0; i < N_L40S; i++)
		pf->catalogue[i] = l40s_type(&l40s_types[i], true);
	pf->n_catalogue = N_L40S;
	pf->catalogue_source = src;
	return pf;
}

static struct gp_host host_nv = { .iommu_enabled = true, .nvidia_vgpu_manager = true,
				  .interrupt_remapping = GP_TRI_YES };

/* every type: what each VF lists before any vGPU exists (real-hosts/11) */
static const int all_types[] = { 1145, 1146, 1147, 1148, 1149, 1150, 1151, 1152, 1153, 1154,
				 1155, 1159, 1162, 1163, 1164, 1165, 1166, 1167, 1168, 1170,
				 1171, 1172, 1173, 1174, 1175, 1176, 1177, 1178, 1179, 0 };
/* the 8 GiB types: what idle VFs list once one 8 GiB vGPU is in force, in equal-size mode */
static const int types_8g[] = { 1152, 1164, 1175, 0 };
static const int types_12g[] = { 1153, 1165, 1176, 0 };
static const int q_counts[] = { 32, 24, 16, 12, 8, 6, 4, 3, 2, 1 };

/* With a stable catalogue the counts are the GPU's: the same idle, partly used and full. */
Test(driver_counts, stable_catalogue_whatever_is_in_force)
{
	static const int four_12q[] = { 1153, 1153, 1153, 1153, 0 }, one_48q[] = { 1159, 0 };
	static const int none[] = { 0 };
	struct {
		const int *in_force, *listed;
		int partitions;
	} cases[] = { { NULL, all_types, 0 }, { four_12q, types_12g, 4 }, { one_48q, none, 1 } };
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, cases[i].in_force,
						cases[i].listed);
		struct gp_gpu_view v;

		cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
		cr_assert_eq(v.vgpu_mode, GP_VGPU_MODE_EQUAL);
		cr_assert_eq(v.series, 'Q', "case %zu", i);
		expect_counts(v.valid_counts, v.n_valid_counts, q_counts, 10);
		cr_assert_eq(v.partition_count, cases[i].partitions);
		cr_assert_eq(v.vram_bytes, 48 * GIB, "case %zu: the whole-GPU type's", i);
		gp_gpu_view_clear(&v);
	}
}

/* The series of a partitioned GPU is its partitions' (an 8A GPU counts A types), unless one
 * is asked for. A and Q tie at 10 types: the default would be Q. */
Test(driver_counts, series_of_the_partitions_in_force)
{
	static const int one_8a[] = { 1175, 0 }, mixed_series[] = { 1175, 1152, 0 };
	static const int c_counts[] = { 12, 8, 6, 4, 3, 2, 1 };
	struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, one_8a, types_8g);
	struct gp_gpu_view v;

	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
	cr_assert_eq(v.series, 'A');
	cr_assert_eq(gp_policy_partitions_series(&v), 'A');
	cr_assert_eq(v.partitions[0].series, 'A');
	expect_counts(v.valid_counts, v.n_valid_counts, q_counts, 10); /* A's are Q's */
	gp_gpu_view_clear(&v);
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 'C', &v), 0);
	cr_assert_eq(v.series, 'C');
	expect_counts(v.valid_counts, v.n_valid_counts, c_counts, 7);
	gp_gpu_view_clear(&v);

	/* an 8A and an 8Q (equal size, two series): no series of their own, the default */
	pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, mixed_series, types_8g);
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
	cr_assert_eq(gp_policy_partitions_series(&v), 0);
	cr_assert_eq(v.series, 'Q');
	cr_assert_eq(v.vgpu_mode, GP_VGPU_MODE_EQUAL, "one size: equal-size");
	gp_gpu_view_clear(&v);
}

/* Only the sysfs lists: a lower bound while partitions are in force. One 8A in force: the idle
 * VFs list 8Q, 8C, 8A, so the A-series count is 48 GiB (the table's L40S) / 8 = 6 and nothing
 * else can be told. On a board the table lacks (10de:2bb5, RTX PRO 6000) the lists' largest
 * type (8 GiB) is not the GPU's framebuffer: VRAM unknown, no count derived (not {1}). */
Test(driver_counts, sysfs_lists_are_a_lower_bound)
{
	static const int one_8a[] = { 1175, 0 }, six[] = { 6 };
	struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_SYSFS, one_8a, types_8g);
	struct gp_gpu_view v;

	cr_assert_eq(pf->catalogue_source, GP_CATALOGUE_SYSFS);
	cr_assert_eq(pf->n_catalogue, 3);
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
	cr_assert_eq(v.series, 'A');
	expect_counts(v.valid_counts, v.n_valid_counts, six, 1);
	cr_assert_eq(v.vram_bytes, 48 * GIB);
	cr_assert_eq(v.partition_vram_bytes, 8 * GIB);
	gp_gpu_view_clear(&v);

	pf = l40s_gpu(0x2bb5, GP_CATALOGUE_SYSFS, one_8a, types_8g);
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
	cr_assert_eq(v.vram_bytes, -1, "8 GiB is what is left to list, not the GPU");
	cr_assert_eq(v.n_valid_counts, 0);
	cr_assert_eq(v.partition_vram_bytes, 8 * GIB, "the type's own size");
	cr_assert(gp_policy_count_in_force(&v, 1), "the count in force stays accepted");
	gp_gpu_view_clear(&v);

	/* idle, the lists are complete: the whole-GPU type is the framebuffer */
	pf = l40s_gpu(0x2bb5, GP_CATALOGUE_SYSFS, NULL, all_types);
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
	cr_assert_eq(v.vram_bytes, 48 * GIB);
	cr_assert_eq(v.n_valid_counts, 10, "Q: 48 / 1..48, capped at 32 VFs");
	gp_gpu_view_clear(&v);
}

/* Mixed-size mode, from what the host shows (real-hosts/11: equal-size mode offers only the
 * size in force once a vGPU exists) or from the driver. */
struct mode_case {
	const char *what;
	int in_force[4], listed[8];
	enum gp_tri mixed_size, mig;
	enum gp_vgpu_mode want;
};

static struct mode_case mode_cases[] = {
	{ "idle, every type listed", { 0 }, { 1147, 1152, 1155, 1159, 0 }, GP_TRI_UNKNOWN,
	  GP_TRI_UNKNOWN, GP_VGPU_MODE_EQUAL },
	{ "one 8Q, 8 GiB types listed", { 1152, 0 }, { 1152, 1164, 1175, 0 }, GP_TRI_UNKNOWN,
	  GP_TRI_UNKNOWN, GP_VGPU_MODE_EQUAL },
	{ "8Q and 8A in force: one size", { 1152, 1175, 0 }, { 1152, 0 }, GP_TRI_UNKNOWN,
	  GP_TRI_UNKNOWN, GP_VGPU_MODE_EQUAL },
	{ "8Q and 16Q in force", { 1152, 1154, 0 }, { 0 }, GP_TRI_UNKNOWN, GP_TRI_UNKNOWN,
	  GP_VGPU_MODE_MIXED },
	{ "one 8Q, a 16Q still offered", { 1152, 0 }, { 1152, 1154, 0 }, GP_TRI_UNKNOWN,
	  GP_TRI_UNKNOWN, GP_VGPU_MODE_MIXED },
	{ "full with one 48Q", { 1159, 0 }, { 0 }, GP_TRI_UNKNOWN, GP_TRI_UNKNOWN,
	  GP_VGPU_MODE_EQUAL },
	{ "the driver says mixed-size, idle", { 0 }, { 1147, 1159, 0 }, GP_TRI_YES,
	  GP_TRI_UNKNOWN, GP_VGPU_MODE_MIXED },
	{ "MIG mode first", { 1152, 1154, 0 }, { 0 }, GP_TRI_YES, GP_TRI_YES, GP_VGPU_MODE_MIG },
};

ParameterizedTestParameters(driver_counts, modes)
{
	return cr_make_param_array(struct mode_case, mode_cases,
				   sizeof(mode_cases) / sizeof(mode_cases[0]));
}

ParameterizedTest(struct mode_case *c, driver_counts, modes)
{
	struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, c->in_force, c->listed);
	struct gp_gpu_view v;

	pf->mixed_size = c->mixed_size;
	pf->mig_mode = c->mig;
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
	cr_assert_eq(v.vgpu_mode, c->want, "%s: mode %d, want %d", c->what, v.vgpu_mode, c->want);
	if (c->want == GP_VGPU_MODE_MIXED) {
		/* equal-size counts are not offered, nor one partition size */
		cr_assert_eq(v.n_valid_counts, 0, "%s", c->what);
		cr_assert_eq(v.partition_vram_bytes, -1, "%s", c->what);
		cr_assert_not(gp_policy_count_in_force(&v, v.partition_count ? v.partition_count
									     : 1));
	} else if (c->want == GP_VGPU_MODE_EQUAL) {
		cr_assert_eq(v.n_valid_counts, 10, "%s", c->what);
	}
	gp_gpu_view_clear(&v);
}

/* The count in force is a no-op; any other count, a series asked for that the partitions do
 * not have, or another backend is not. */
Test(driver_counts, count_in_force)
{
	static const int four_8q[] = { 1152, 1152, 1152, 1152, 0 };
	struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, four_8q, types_8g);
	struct gp_gpu_view v;

	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 0, &v), 0);
	cr_assert_eq(v.partition_count, 4);
	cr_assert(gp_policy_count_in_force(&v, 4), "4 x 8Q: 4 in force (8Q's max is 6)");
	cr_assert_not(gp_policy_count_in_force(&v, 6));
	cr_assert_not(gp_policy_count_in_force(&v, 0), "0 removes them: a change");
	gp_gpu_view_clear(&v);
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, 'A', &v), 0);
	cr_assert_not(gp_policy_count_in_force(&v, 4), "A asked, Q in force");
	v.series = 'Q';
	v.backend = GP_BACKEND_SRIOV;
	cr_assert_not(gp_policy_count_in_force(&v, 4), "not an NVIDIA backend");
	gp_gpu_view_clear(&v);
}

/* The GPU's partition state as gp_gpu_state_read would find it in the model's tree. */
static void state_of(const struct gp_device *pf, struct gp_gpu_state *s)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	strcpy(s->address, pf->address);
	s->backend = GP_BACKEND_NVIDIA_VFIO;
	s->numvfs = (int)pf->n_vfs;
	s->autoprobe = 1;
	s->vfs = keep(calloc(pf->n_vfs, sizeof(*s->vfs)));
	s->n_vfs = pf->n_vfs;
	for (i = 0; i < pf->n_vfs; i++) {
		s->vfs[i].index = (int)i;
		strcpy(s->vfs[i].address, pf->vfs[i]->address);
		s->vfs[i].driver = keep(strdup("nvidia"));
		s->vfs[i].vgpu_type = pf->vfs[i]->current_vgpu_type;
	}
}

/* Target and plan of @count; the VFs' types after it in @types (32). Returns the plan's steps
 * as "op path value" lines, the way test-plan.c renders them, in @plan_text. */
static int target_types(const struct gp_device *pf, char series, int count, int *types,
			char **plan_text)
{
	struct gp_gpu_state cur, want;
	struct gp_gpu_view v;
	struct gp_plan p = { 0 };
	size_t len = 0, i;
	FILE *f;
	int r;

	state_of(pf, &cur);
	cr_assert_eq(gp_gpu_view_build(&host_nv, pf, series, &v), 0);
	r = gp_gpu_state_target(&host_nv, &v, &cur, count, &want);
	gp_gpu_view_clear(&v);
	*plan_text = NULL;
	if (r < 0)
		return r;
	for (i = 0; i < want.n_vfs; i++)
		types[i] = want.vfs[i].vgpu_type;
	cr_assert_eq(gp_plan_diff(&cur, &want, &p), 0);
	f = open_memstream(plan_text, &len);
	for (i = 0; i < p.n; i++)
		fprintf(f, "%s %s %s\n", gp_step_op_str(p.steps[i].op), p.steps[i].path,
			p.steps[i].value);
	fclose(f);
	keep(*plan_text);
	gp_plan_clear(&p);
	gp_gpu_state_clear(&want);
	/* cur's strings are kept; only its own arrays are the state's */
	return 0;
}

/* The steps (writes and verifies) that put @value in a current_vgpu_type. */
static int steps_of(const char *plan, const char *value)
{
	char pat[64];
	int n = 0;

	snprintf(pat, sizeof(pat), "current_vgpu_type %s\n", value);
	for (const char *p = plan; (p = strstr(p, pat)); p++)
		n++;
	return n;
}

/* One L40S-8A in force, set-count 6: it stays and five more 8A come (48 / 8 = 6, A series:
 * not 8Q, another licence class); nothing is cleared, no VF enabled or disabled. */
Test(driver_targets, an_8a_gpu_grows_in_its_series)
{
	static const int one_8a[] = { 1175, 0 };
	int types[32], i;
	char *plan;

	for (int src = 0; src < 2; src++) {
		struct gp_device *pf = l40s_gpu(0x26b9, src ? GP_CATALOGUE_SYSFS :
						     GP_CATALOGUE_VGPUCONFIG, one_8a, types_8g);

		cr_assert_eq(target_types(pf, 0, 6, types, &plan), 0);
		for (i = 0; i < 32; i++)
			cr_assert_eq(types[i], i < 6 ? 1175 : 0, "src %d VF %d: %d", src, i,
				     types[i]);
		cr_assert_null(strstr(plan, "current_vgpu_type 0\n"), "%s", plan);
		cr_assert_null(strstr(plan, "sriov"), "%s", plan);
		/* five writes and their verifies, VFs 1..5 (01:00.5 .. 01:01.1) */
		cr_assert_null(strstr(plan, "0000:01:00.4/"), "VF 0 keeps its 8A\n%s", plan);
		cr_assert(strstr(plan, "write sys/bus/pci/devices/0000:01:01.1/nvidia/"
				       "current_vgpu_type 1175\n"), "%s", plan);
		cr_assert_eq(steps_of(plan, "1175"), 10, "%s", plan); /* 5 writes + 5 verifies */
	}
}

/* Another type of the same size and series is what the target makes too: never cleared. */
Test(driver_targets, same_size_and_series_stays)
{
	static const int variant[] = { 1180, 0 };
	struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, variant, types_8g);
	static const struct l40s_type v8a = { 1180, "NVIDIA L40S-8A", 6 };
	int types[32];
	char *plan;

	/* a second 8 GiB A type (as GRID T4-2B4 is a second 2B), in the driver's catalogue */
	struct gp_vgpu_type *cat = keep(calloc(pf->n_catalogue + 1, sizeof(*cat)));

	memcpy(cat, pf->catalogue, pf->n_catalogue * sizeof(*cat));
	cat[pf->n_catalogue] = l40s_type(&v8a, true);
	pf->catalogue = cat;
	pf->n_catalogue++;
	cr_assert_eq(target_types(pf, 'A', 6, types, &plan), 0);
	cr_assert_eq(types[0], 1180, "the variant in force stays");
	/* the type the count names is the catalogue's first 8A of max 6 with the most
	 * framebuffer (equal: the first found), 1175 */
	for (int i = 1; i < 6; i++)
		cr_assert_eq(types[i], 1175);
	cr_assert_null(strstr(plan, "current_vgpu_type 0\n"), "%s", plan);
}

/* Between two counts: 4 x 12Q -> 2 (24Q): the four clear, two set, the VFs stay enabled
 * (no sriov-manage) and no idle VF is written 0 (the driver: -EPERM). */
Test(driver_targets, count_to_count_clears_then_creates)
{
	static const int four_12q[] = { 1153, 1153, 1153, 1153, 0 };
	struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, four_12q, types_12g);
	int types[32];
	char *plan, *first_set, *last_clear;

	cr_assert_eq(target_types(pf, 0, 2, types, &plan), 0);
	for (int i = 0; i < 32; i++)
		cr_assert_eq(types[i], i < 2 ? 1155 : 0, "VF %d: %d", i, types[i]);
	cr_assert_null(strstr(plan, "sriov"), "%s", plan);
	cr_assert_eq(steps_of(plan, "0"), 8, "%s", plan); /* VFs 0..3: write + verify each */
	cr_assert_null(strstr(plan, "0000:01:01.0"), "VF 4 is idle: untouched\n%s", plan);
	first_set = strstr(plan, "current_vgpu_type 1155");
	last_clear = strstr(plan, "0000:01:00.7/nvidia/current_vgpu_type 0");
	cr_assert(first_set && last_clear && last_clear < first_set, "clears first:\n%s", plan);

	/* 4, the count in force: nothing to do */
	cr_assert_eq(target_types(pf, 0, 4, types, &plan), 0);
	cr_assert_eq(plan[0], 0, "4 in force: no step\n%s", plan);
}

/* The count in force changes nothing, whatever size the partitions have (4 x 8Q; 8Q's
 * maximum is 6): set-count changes counts, not partitions already made. With only the
 * sysfs lists a full GPU (its types unnamed) keeps its count the same way. */
Test(driver_targets, count_in_force_is_as_is)
{
	static const int four_8q[] = { 1152, 1152, 1152, 1152, 0 };
	static const int none[] = { 0 }, full[] = { 1159, 0 };
	struct gp_device *pf = l40s_gpu(0x26b9, GP_CATALOGUE_VGPUCONFIG, four_8q, types_8g);
	int types[32];
	char *plan;

	cr_assert_eq(target_types(pf, 0, 4, types, &plan), 0);
	cr_assert_eq(plan[0], 0, "%s", plan);
	pf = l40s_gpu(0x26b9, GP_CATALOGUE_SYSFS, full, none);
	cr_assert_eq(target_types(pf, 0, 1, types, &plan), 0);
	cr_assert_eq(plan[0], 0, "%s", plan);
	/* with the sysfs lists a count no listed type has cannot be planned */
	pf = l40s_gpu(0x26b9, GP_CATALOGUE_SYSFS, four_8q, types_8g);
	cr_assert_eq(target_types(pf, 0, 2, types, &plan), -ERANGE);
}
