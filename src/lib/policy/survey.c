/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SurveyDDA for Linux: findings about the host and about each device, and the verdict that
 * follows from them. Pure: no I/O. Codes and severities are a contract (man/gpupart.8).
 */
#include <errno.h>
#include <stdio.h>

#include <gpupart/policy.h>

#include "shared/array.h"
#include "shared/str.h"

#define GIB (1024LL * 1024 * 1024)

const char *gp_severity_str(enum gp_severity s)
{
	return s == GP_SEV_ERROR ? "error" : s == GP_SEV_WARNING ? "warning" : "info";
}

const char *gp_verdict_str(enum gp_verdict v)
{
	return v == GP_VERDICT_ASSIGNABLE	 ? "assignable" :
	       v == GP_VERDICT_WITH_WARNINGS ? "assignable-with-warnings" :
					       "not-assignable";
}

void gp_findings_clear(struct gp_findings *f)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].detail);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

int gp_findings_add(struct gp_findings *f, const char *code, enum gp_severity sev,
		    const char *fmt, ...)
{
	struct gp_finding *x;
	va_list ap;
	int r;

	x = GP_PUSH(f->v, f->n);
	if (!x)
		return -ENOMEM;
	x->code = code;
	x->severity = sev;
	va_start(ap, fmt);
	r = vasprintf(&x->detail, fmt, ap);
	va_end(ap);
	if (r < 0) {
		x->detail = NULL;
		return -ENOMEM;
	}
	return 0;
}

bool gp_findings_has(const struct gp_findings *f, const char *code)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].code, code) == 0)
			return true;
	return false;
}

int gp_survey_host(const struct gp_host *h, struct gp_findings *out)
{
	int r = 0;

	if (!h->iommu_enabled)
		r |= gp_findings_add(out, "iommu-disabled", GP_SEV_ERROR,
				     "no IOMMU groups: enable VT-d/AMD-Vi in firmware and boot with "
				     "intel_iommu=on (or amd_iommu=on)");
	if (h->iommu_enabled && h->interrupt_remapping == GP_TRI_NO)
		r |= gp_findings_add(out, "interrupt-remapping-disabled", GP_SEV_ERROR,
				     "the IOMMU does not remap interrupts: a VM could forge MSIs to "
				     "other devices");
	/* chips of an architecture the scan does not read (model/scan-host.c): say so, not "off" */
	if (h->iommu_enabled && h->interrupt_remapping == GP_TRI_UNKNOWN)
		r |= gp_findings_add(out, "interrupt-remapping-unknown", GP_SEV_WARNING,
				     "/proc/interrupts does not tell whether MSIs are isolated "
				     "(neither x86 IR- nor arm64 ITS chips): check that VFIO "
				     "refuses no device before relying on it");
	if (h->acs_override)
		r |= gp_findings_add(out, "acs-override", GP_SEV_WARNING,
				     "pcie_acs_override on the kernel command line: IOMMU groups "
				     "no longer prove isolation");
	if (h->unsafe_interrupts == GP_TRI_YES)
		r |= gp_findings_add(out, "unsafe-interrupts", GP_SEV_WARNING,
				     "vfio_iommu_type1 allow_unsafe_interrupts=Y: assignment is "
				     "allowed without interrupt isolation");
	return r ? -ENOMEM : 0;
}

const char *gp_policy_reset_method(const struct gp_device *d)
{
	static const char *const methods[] = { "device_specific", "acpi", "flr", "af_flr",
					       "pm", "bus", "cxl_bus" };
	size_t i;

	if (d->reset_method && !*d->reset_method)
		return "none"; /* the kernel has the ABI (5.15+) and no method for this device */
	if (d->reset_method) {
		/* the kernel tries them in the order listed; the first is what it will use */
		for (i = 0; i < ARRAY_SIZE(methods); i++) {
			size_t l = strlen(methods[i]);

			if (strncmp(d->reset_method, methods[i], l) == 0 &&
			    (d->reset_method[l] == ' ' || d->reset_method[l] == 0))
				return methods[i];
		}
	}
	if (!d->cfg.readable)
		return NULL;
	if (d->cfg.flr == GP_TRI_YES)
		return "flr";
	if (d->cfg.af_flr == GP_TRI_YES)
		return "af_flr";
	if (d->cfg.pm_no_soft_reset == GP_TRI_NO)
		return "pm";
	/* pci_parent_bus_reset: not on a root bus, not a bridge, alone on its bus */
	if (d->parent && d->cfg.header_type == 0 && d->bus_siblings == 0)
		return "bus";
	return "none";
}

int64_t gp_policy_mmio64_required(const struct gp_device *d)
{
	uint64_t sum = 0, p = 1;
	size_t i;

	if (!d->bars_known)
		return GP_UNKNOWN;
	/* each size is below 2^62 (scan.c), six of them cannot overflow 64 bits */
	for (i = 0; i < d->n_bars; i++)
		if (d->bars[i].index <= 5 && d->bars[i].mem64)
			sum += d->bars[i].size;
	if (!sum)
		return 0;
	if (sum > (1ULL << 62))
		return INT64_MAX;
	/* the guest's window is carved in power-of-two, naturally aligned pieces */
	while (p < sum)
		p <<= 1;
	return (int64_t)p;
}

/* NVIDIA's "MMIO Space Required" table (seeds/003), by PCI device ID. */
static const struct {
	uint16_t device;
	int gib;
	const char *model;
} mmio_table[] = {
	{ 0x2901, 768, "NVIDIA B200" },
	{ 0x2335, 512, "NVIDIA H200" },
	{ 0x233b, 512, "NVIDIA H200 NVL" },
	{ 0x2331, 256, "NVIDIA H100 PCIe" },
	{ 0x2321, 256, "NVIDIA H100 NVL" },
	{ 0x2330, 256, "NVIDIA H100 SXM5" },
	{ 0x26b5, 128, "NVIDIA L40" },
	{ 0x26b9, 128, "NVIDIA L40S" },
	{ 0x26ba, 128, "NVIDIA L20" },
	{ 0x27b8, 64, "NVIDIA L4" },
	{ 0x27b6, 64, "NVIDIA L2" },
	{ 0x2235, 128, "NVIDIA A40" },
	{ 0x20b7, 64, "NVIDIA A30" },
	{ 0x2236, 64, "NVIDIA A10" },
	{ 0x20b5, 256, "NVIDIA A100 80GB PCIe" },
	{ 0x20b2, 256, "NVIDIA A100 80GB SXM4" },
	{ 0x20f1, 128, "NVIDIA A100 40GB PCIe" },
	{ 0x20b0, 128, "NVIDIA A100 40GB SXM4" },
};

int64_t gp_policy_mmio_table_lookup(const struct gp_device *d, const char **model)
{
	size_t i;

	if (d->vendor != 0x10de)
		return GP_UNKNOWN;
	for (i = 0; i < ARRAY_SIZE(mmio_table); i++)
		if (mmio_table[i].device == d->device) {
			if (model)
				*model = mmio_table[i].model;
			return mmio_table[i].gib * GIB;
		}
	return GP_UNKNOWN;
}

static bool is_port(enum gp_pcie_type t)
{
	return t == GP_PCIE_ROOT_PORT || t == GP_PCIE_DOWNSTREAM;
}

/* The kernel's rule (pci_acs_flags_enabled): a feature the port lacks is hard-wired on. */
static int acs_walk(const struct gp_device *d, enum gp_severity sev, struct gp_findings *out,
		    bool *unknown)
{
	const struct gp_device *up;
	int r = 0, depth = 0;

	for (up = d->parent; up && depth < 256; up = up->parent, depth++) {
		uint16_t need, missing;

		if (!up->cfg.readable) {
			*unknown = true;
			continue;
		}
		if (!is_port(up->cfg.pcie_type))
			continue;
		if (up->cfg.acs == GP_TRI_UNKNOWN) { /* extended config space not readable */
			*unknown = true;
			continue;
		}
		if (up->cfg.acs != GP_TRI_YES) {
			r |= gp_findings_add(out, "acs-missing-upstream", sev,
					     "%s (%s port) has no ACS capability: peer-to-peer "
					     "traffic can bypass the IOMMU",
					     up->address,
					     up->cfg.pcie_type == GP_PCIE_ROOT_PORT ? "root" :
										      "downstream");
			continue;
		}
		need = GP_ACS_REQUIRED & up->cfg.acs_cap;
		missing = need & (uint16_t)~up->cfg.acs_ctrl;
		if (missing)
			r |= gp_findings_add(out, "acs-missing-upstream", sev,
					     "%s lacks ACS%s%s%s%s (ACSCtl %04x)", up->address,
					     missing & GP_ACS_SV ? " SrcValid" : "",
					     missing & GP_ACS_RR ? " ReqRedir" : "",
					     missing & GP_ACS_CR ? " CmpltRedir" : "",
					     missing & GP_ACS_UF ? " UpstreamFwd" : "",
					     up->cfg.acs_ctrl);
	}
	return r;
}

static bool is_bridge(const struct gp_device *d)
{
	return d->class_code >= 0 && (d->class_code >> 8) == 0x0604;
}

/* Other endpoints in the group must go to the same VM: functions of this device may. */
static int group_check(const struct gp_host *h, const struct gp_device *d,
		       struct gp_findings *out)
{
	const struct gp_iommu_group *g = gp_host_group(h, d->iommu_group);
	char others[512] = "";
	size_t i, len = 0;
	int n = 0;

	if (!g)
		return 0;
	for (i = 0; i < g->n_members; i++) {
		struct gp_pci_addr a;
		const struct gp_device *m;

		if (gp_pci_addr_parse(g->members[i], &a) < 0)
			continue;
		m = gp_host_find(h, &a);
		if (!m || m == d || gp_pci_addr_same_slot(&a, &d->addr) || is_bridge(m))
			continue;
		n++;
		if (len < sizeof(others) - 64)
			len += (size_t)snprintf(others + len, sizeof(others) - len, "%s%s (%s)",
						len ? ", " : "", m->address,
						m->driver ? m->driver : "no driver");
	}
	if (!n)
		return 0;
	return gp_findings_add(out, "iommu-group-shared", GP_SEV_ERROR,
			       "IOMMU group %d also holds %s: they can only be assigned together",
			       d->iommu_group, others);
}

/*
 * The kernel's IOMMU grouping already accounts for ports that isolate without an ACS
 * capability (pci_dev_specific_acs_enabled quirks): when the device's group holds nothing but
 * its own functions and bridges, a missing ACS bit leaves no peer to reach, so it is a warning.
 * Unknown groups and an ACS override (groups that lie) keep it an error.
 */
static enum gp_severity acs_severity(const struct gp_host *h, const struct gp_device *d)
{
	const struct gp_iommu_group *g = gp_host_group(h, d->iommu_group);
	size_t i;

	if (!g || h->acs_override)
		return GP_SEV_ERROR;
	for (i = 0; i < g->n_members; i++) {
		struct gp_pci_addr a;
		const struct gp_device *m;

		if (gp_pci_addr_parse(g->members[i], &a) < 0)
			return GP_SEV_ERROR;
		m = gp_host_find(h, &a);
		if (!m || (!gp_pci_addr_same_slot(&a, &d->addr) && !is_bridge(m)))
			return GP_SEV_ERROR;
	}
	return GP_SEV_WARNING;
}

static bool vf_partitioned(const struct gp_device *vf)
{
	return vf->n_mdevs > 0 || vf->current_vgpu_type > 0;
}

/*
 * Partitions in force are an error: a GPU is either partitioned or assigned whole (Hyper-V's
 * rule). On NVIDIA's backends a VF is a partition only once it carries a vGPU (a type set, an
 * mdev): VFs enabled and idle are only in the way, and `set-count ADDR 0` disables them
 * (sriov-manage -d). On the generic SR-IOV backend every VF is a partition.
 */
static int partitioned(const struct gp_host *h, const struct gp_device *d,
		       struct gp_findings *out)
{
	enum gp_backend b = gp_policy_backend(h, d);
	size_t i, busy = 0;

	for (i = 0; i < d->n_vfs; i++)
		busy += vf_partitioned(d->vfs[i]);
	if (b != GP_BACKEND_NVIDIA_VFIO && b != GP_BACKEND_NVIDIA_MDEV) {
		if (!d->n_vfs && !d->n_mdevs)
			return 0;
		return gp_findings_add(out, "partitioned", GP_SEV_ERROR,
				       "%zu VFs enabled, %zu with a vGPU, %zu mdevs on the function: "
				       "disable partitioning before assigning the whole device",
				       d->n_vfs, busy, d->n_mdevs);
	}
	if (busy || d->n_mdevs) {
		char what[96];

		if (busy)
			snprintf(what, sizeof(what), "%zu of its %zu VFs carry a vGPU%s", busy,
				 d->n_vfs, d->n_mdevs ? ", and mdevs are on the function" : "");
		else
			snprintf(what, sizeof(what), "%zu mdev%s on the function", d->n_mdevs,
				 d->n_mdevs == 1 ? "" : "s");
		return gp_findings_add(out, "partitioned", GP_SEV_ERROR,
				       "%s: remove the partitions (`gpupart set-count %s 0`) before "
				       "assigning the whole device",
				       what, d->address);
	}
	if (d->n_vfs)
		return gp_findings_add(out, "vfs-enabled-idle", GP_SEV_WARNING,
				       "%zu VFs enabled, none with a vGPU: disable them before "
				       "assigning the whole device (`gpupart set-count %s 0` runs "
				       "sriov-manage -d)",
				       d->n_vfs, d->address);
	return 0;
}

int gp_survey_device(const struct gp_host *h, const struct gp_device *d, struct gp_findings *out)
{
	const struct gp_config_facts *c = &d->cfg;
	bool acs_unknown = false;
	const char *reset, *model = NULL;
	int64_t mmio, table;
	int r = 0;

	if (!c->readable)
		r |= gp_findings_add(out, "config-unreadable", GP_SEV_WARNING,
				     "config space is %d bytes (not root?): port type, ACS, FLR and "
				     "MSI are unknown",
				     c->config_len);
	if (c->pcie_type == GP_PCIE_NONE)
		r |= gp_findings_add(out, "not-pcie", GP_SEV_ERROR,
				     "conventional PCI device: no PCI Express capability, its "
				     "requests cannot be isolated");
	else if (c->pcie_type != GP_PCIE_UNKNOWN && c->pcie_type != GP_PCIE_ENDPOINT &&
		 c->pcie_type != GP_PCIE_LEGACY_ENDPOINT && c->pcie_type != GP_PCIE_RCIEP)
		r |= gp_findings_add(out, "not-endpoint", GP_SEV_ERROR,
				     "PCI Express port type %d is a bridge or switch port, not an "
				     "endpoint",
				     (int)c->pcie_type);
	if (c->msi == GP_TRI_NO && c->interrupt_pin)
		r |= gp_findings_add(out, "no-msi", GP_SEV_ERROR,
				     "all of its interrupts are line-based (no MSI or MSI-X "
				     "capability): no assignment can work");
	reset = gp_policy_reset_method(d);
	if (c->readable && c->flr == GP_TRI_NO && c->af_flr != GP_TRI_YES && !d->is_vf)
		r |= gp_findings_add(out, "no-flr", GP_SEV_WARNING,
				     "no function-level reset; %s%s%s%s",
				     reset && strcmp(reset, "none") ? "the kernel will use \"" :
								      "the kernel has no reset method "
								      "for it: state leaks between VMs",
				     reset && strcmp(reset, "none") ? reset : "",
				     reset && strcmp(reset, "none") ? "\"" : "",
				     reset && strcmp(reset, "bus") == 0 ?
					     ", which also resets every function behind the bridge" :
					     "");
	r |= acs_walk(d, acs_severity(h, d), out, &acs_unknown);
	if (acs_unknown && c->readable)
		r |= gp_findings_add(out, "config-unreadable", GP_SEV_WARNING,
				     "config space of a port above %s is truncated: ACS unknown",
				     d->address);
	if (h->iommu_enabled)
		r |= group_check(h, d, out);
	if (d->open_by_host == GP_TRI_YES)
		r |= gp_findings_add(out, "in-use-by-host", GP_SEV_WARNING,
				     "bound to %s and in use: %s", d->driver ? d->driver : "?",
				     d->open_by ? d->open_by : "open");
	else if (d->boot_vga == GP_TRI_YES && d->driver && strncmp(d->driver, "vfio", 4))
		r |= gp_findings_add(out, "in-use-by-host", GP_SEV_WARNING,
				     "boot VGA device on %s: the host console draws on it",
				     d->driver);
	r |= partitioned(h, d, out);
	mmio = gp_policy_mmio64_required(d);
	table = gp_policy_mmio_table_lookup(d, &model);
	if (table > 0)
		r |= gp_findings_add(out, "large-bar", GP_SEV_INFO,
				     "the VM needs %lld GiB of 64-bit MMIO (BARs: %lld GiB; %s: "
				     "%lld GiB in NVIDIA's table)",
				     (long long)((table > mmio ? table : mmio) / GIB),
				     (long long)(mmio > 0 ? mmio / GIB : 0), model,
				     (long long)(table / GIB));
	else if (mmio >= 4 * GIB)
		r |= gp_findings_add(out, "large-bar", GP_SEV_INFO,
				     "the VM needs %lld GiB of 64-bit MMIO for its BARs",
				     (long long)(mmio / GIB));
	return r ? -ENOMEM : 0;
}

enum gp_verdict gp_verdict_from(const struct gp_findings *host, const struct gp_findings *dev)
{
	enum gp_verdict v = GP_VERDICT_ASSIGNABLE;
	const struct gp_findings *lists[2] = { host, dev };
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; lists[k] && i < lists[k]->n; i++) {
			if (lists[k]->v[i].severity == GP_SEV_ERROR)
				return GP_VERDICT_NOT_ASSIGNABLE;
			if (lists[k]->v[i].severity == GP_SEV_WARNING)
				v = GP_VERDICT_WITH_WARNINGS;
		}
	return v;
}
