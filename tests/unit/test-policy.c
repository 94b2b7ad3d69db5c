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
