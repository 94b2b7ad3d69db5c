/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * PCI driver binding: driver_override, driver/unbind, drivers_probe, and what binding or
 * releasing a driver changes in sysfs (reliability.md 1.1, 1.2).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fk-internal.h"

/* sysfs_streq(): a store may carry one trailing newline */
static char *fk_trim(const char *val)
{
	char *s = strdup(val);
	size_t n = strlen(s);

	if (n && s[n - 1] == '\n')
		s[n - 1] = '\0';
	return s;
}

int fk_driver_override_store(struct fk *fk, const char *addr, const char *val)
{
	char rel[128], *nl, *name;

	/* driver_set_override(): "" and "\n" clear; the name ends at the first newline */
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/driver_override", addr);
	name = strdup(val);
	if ((nl = strchr(name, '\n')))
		*nl = '\0';
	if (strlen(val) >= 4095) {
		free(name);
		return -EINVAL;
	}
	/* writing it never binds nor unbinds anything */
	fk_put(fk, rel, "%s\n", *name ? name : "(null)");
	free(name);
	return 0;
}

static char *fk_override(struct fk *fk, const char *addr)
{
	char *o = fk_read(fk, "sys/bus/pci/devices/%s/driver_override", addr);

	if (o && (!*o || !strcmp(o, "(null)"))) {
		free(o);
		o = NULL;
	}
	return o;
}

static bool fk_is_vf(struct fk *fk, const char *addr)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/physfn", addr);
	return fk_exists(fk, rel);
}

/* Drivers whose struct pci_driver has (true) or lacks (false) .sriov_configure. */
bool fk_driver_has_sriov_configure(struct fk *fk, const char *drv)
{
	static const char *const with[] = { "nvme", "i915", "xe", "ice", "igb", "ixgbe", "i40e",
					    "mlx5_core", "bnxt_en", "qat_4xxx", "pci-pf-stub" };
	static const char *const without[] = { "nvidia", "nouveau", "amdgpu", "pcieport", "ahci",
					       "xhci_hcd", "ast", "snd_hda_intel", "i801_smbus",
					       "iavf", "igbvf", "ixgbevf", "nvidia-vgpu-vfio" };

	for (size_t i = 0; i < sizeof(with) / sizeof(with[0]); i++)
		if (!strcmp(drv, with[i]))
			return true;
	for (size_t i = 0; i < sizeof(without) / sizeof(without[0]); i++)
		if (!strcmp(drv, without[i]))
			return false;
	if (!strcmp(drv, "vfio-pci")) {
		/* vfio_pci_sriov_configure() refuses unless the module was loaded with it */
		char *p = fk_read(fk, "sys/module/vfio_pci/parameters/enable_sriov");
		bool y = p && *p == 'Y';

		free(p);
		return y;
	}
	fk_unmodelled(fk, "%s (does driver %s have sriov_configure?)", fk->what, drv);
}

/* The VF driver a PF driver's VFs match by ID. */
static const char *fk_vf_driver_of(const char *pf_drv)
{
	static const char *const map[][2] = {
		{ "nvme", "nvme" },   { "i915", "i915" },   { "xe", "xe" },
		{ "ice", "iavf" },    { "i40e", "iavf" },   { "igb", "igbvf" },
		{ "ixgbe", "ixgbevf" }, { "mlx5_core", "mlx5_core" }, { "nvidia", "nvidia" },
	};

	for (size_t i = 0; pf_drv && i < sizeof(map) / sizeof(map[0]); i++)
		if (!strcmp(pf_drv, map[i][0]))
			return map[i][1];
	return NULL;
}

char *fk_default_driver(struct fk *fk, const char *addr)
{
	char rel[128], *m, *pf;
	int vendor, device, class;
	const char *d = NULL;

	/* a driver recorded for this function (by a test, or at the first unbind) */
	snprintf(rel, sizeof(rel), FK_DIR "/default-driver/%s", addr);
	m = fk_read_all(fk, rel, NULL);
	if (m) {
		char *nl = strchr(m, '\n');

		if (nl)
			*nl = '\0';
		if (!*m) {
			free(m);
			return NULL;
		}
		return m;
	}
	if (fk_is_vf(fk, addr)) {
		pf = fk_link_name(fk, "sys/bus/pci/devices/%s/physfn", addr);
		m = pf ? fk_link_name(fk, "sys/bus/pci/devices/%s/driver", pf) : NULL;
		/* a PF on vfio-pci or pci-pf-stub says nothing about its VFs: use the IDs */
		d = fk_vf_driver_of(m);
		free(m);
		free(pf);
		if (d)
			return strdup(d);
	}
	vendor = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/vendor", addr);
	device = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/device", addr);
	class = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/class", addr);
	if ((class >> 8) == 0x0108)
		d = "nvme";
	else if ((class >> 8) == 0x0403)
		d = "snd_hda_intel";
	else if (vendor == 0x10de && (class >> 16) == 0x03)
		d = "nvidia";
	else if (vendor == 0x1a03 && (class >> 16) == 0x03)
		d = "ast";
	else if (vendor == 0x8086) {
		static const int ids[][2] = { { 0x1889, 0 }, { 0x1520, 1 }, { 0x1521, 2 },
					      { 0x1592, 3 }, { 0x56c0, 4 } };
		static const char *const names[] = { "iavf", "igbvf", "igb", "ice", "i915" };

		for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
			if (ids[i][0] == device)
				d = names[ids[i][1]];
	}
	if (!d)
		fk_unmodelled(fk, "%s (which driver matches %s %04x:%04x class %06x? record it in "
			      FK_DIR "/default-driver/%s)", fk->what, addr, vendor, device, class, addr);
	return strdup(d);
}

static int fk_uevent_driver(struct fk *fk, const char *addr, const char *drv)
{
	char rel[128], *u, *rest;
	int r;

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/uevent", addr);
	u = fk_read_all(fk, rel, NULL);
	if (!u)
		return 0;
	rest = u;
	if (!strncmp(rest, "DRIVER=", 7))
		rest = strchr(rest, '\n') ? strchr(rest, '\n') + 1 : rest + strlen(rest);
	r = drv ? fk_put(fk, rel, "DRIVER=%s\n%s", drv, rest) : fk_put(fk, rel, "%s", rest);
	free(u);
	return r;
}

static bool fk_group_has_vfio(struct fk *fk, int group)
{
	char rel[PATH_MAX], *p;
	struct dirent *e;
	bool any = false;
	DIR *dir;

	/* any member still registered with vfio keeps the group's /dev/vfio node */
	snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices", group);
	p = fk_path(fk, rel);
	dir = opendir(p);
	free(p);
	while (dir && (e = readdir(dir))) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s/vfio-dev", rel, e->d_name);
		any |= fk_exists(fk, path);
	}
	if (dir)
		closedir(dir);
	return any;
}

/*
 * /proc/interrupts: a driver that binds allocates its MSI/MSI-X vectors (the fixture shows up
 * to four per function), and frees them on release. Lines are added before NMI, in the
 * fixture's format and chip naming (IR- prefix, per-device MSI domains or the old hwirq).
 */
static void fk_interrupts_update(struct fk *fk, const char *addr, const char *drv)
{
	char *txt = fk_read_all(fk, "proc/interrupts", NULL), *nmi, *line, *next, *out = NULL;
	unsigned dom, bus, slot, fn;
	int ncpu = 0, irq = 0, nvec = 0, msix;
	bool ir, newstyle;
	size_t len = 0;
	FILE *f;

	if (!txt || !(nmi = strstr(txt, " NMI:")) || sscanf(addr, "%x:%x:%x.%x", &dom, &bus, &slot, &fn) != 4) {
		free(txt);
		return;
	}
	for (char *c = txt; (c = strstr(c, "CPU")) && c < strchr(txt, '\n'); c++)
		ncpu++;
	ir = strstr(txt, "IR-IO-APIC") != NULL;
	newstyle = strstr(txt, "PCI-MSI ") == NULL;
	msix = 0;
	{
		/* the vectors the fixture gives: min(MSI-X table, 4), or one MSI */
		char rel[128];
		size_t clen = 0;
		uint8_t *c;
		unsigned off;

		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", addr);
		c = (uint8_t *)fk_read_all(fk, rel, &clen);
		off = c && clen > 0x34 ? c[0x34] : 0;
		for (int g = 0; c && off >= 0x40 && off + 4 <= clen && g < 48; g++) {
			if (c[off] == 0x11)
				msix = (int)((c[off + 2] | c[off + 3] << 8) & 0x7ff) + 1;
			else if (c[off] == 0x05 && !nvec)
				nvec = 1;
			off = c[off + 1];
		}
		free(c);
		if (msix)
			nvec = msix < 4 ? msix : 4;
	}
	/*
	 * The kept lines, then the new vectors at the lowest free numbers (irq_alloc_descs takes
	 * the first free range of the allocated_irqs bitmap, so a driver bound again gets the
	 * numbers it let go of), all in number order as /proc/interrupts lists them. x86 MSIs
	 * start above the IO-APIC's 24 pins; the fixture's arm64 ITS host numbers them from 64.
	 */
	char *lines[4096], added[8][256];
	int nums[4096], n_lines = 0, base = strstr(txt, "ITS-") ? 64 : 24;

	(void)irq;
	for (line = txt; line < nmi && n_lines < 4096; line = next) {
		char *nl = strchr(line, '\n'), tag[64], *hit;

		next = nl + 1;
		unsigned hw = (bus << 19) | (slot << 14) | (fn << 11);
		bool mine;

		*nl = '\0';
		if (newstyle) {
			snprintf(tag, sizeof(tag), "-%s ", addr);
			mine = strstr(line, tag) != NULL;
		} else {
			/* old kernels: one global domain, hwirq = RID << 11 | vector */
			hit = strstr(line, "PCI-MSI ");
			mine = hit && (strtoul(hit + 8, NULL, 10) & ~0x7fful) == hw;
		}
		if (mine)
			continue; /* this function's old vectors */
		lines[n_lines] = line;
		nums[n_lines++] = strchr(line, ':') && line != txt ? atoi(line) : -1;
	}
	if (line < nmi)
		fk_unmodelled(fk, "%s (/proc/interrupts over %d lines)", fk->what, n_lines);
	for (int v = 0, cand = base; drv && v < nvec && v < 8 && n_lines < 4096; v++, cand++) {
		FILE *a;
		bool used = true;

		while (used) {
			used = false;
			for (int k = 0; k < n_lines && !used; k++)
				used = nums[k] == cand;
			cand += used;
		}
		a = fmemopen(added[v], sizeof(added[v]), "w");
		fprintf(a, "%4d:", cand);
		for (int c = 0; c < ncpu; c++)
			fprintf(a, " %10d", c == 0 ? v + 1 : 0);
		if (newstyle)
			fprintf(a, "  %sPCI-MSI%s-%s   %d-edge      %s", ir ? "IR-" : "", msix ? "X" : "",
				addr, v, drv);
		else
			fprintf(a, "  %sPCI-MSI %u-edge      %s", ir ? "IR-" : "",
				(bus << 19) | (slot << 14) | (fn << 11) | (unsigned)v, drv);
		fclose(a);
		lines[n_lines] = added[v];
		nums[n_lines++] = cand;
	}
	/* a stable insertion sort by number: the header (-1) first */
	for (int k = 1; k < n_lines; k++)
		for (int j = k; j > 0 && nums[j - 1] > nums[j]; j--) {
			int tn = nums[j];
			char *tl = lines[j];

			nums[j] = nums[j - 1];
			lines[j] = lines[j - 1];
			nums[j - 1] = tn;
			lines[j - 1] = tl;
		}
	f = open_memstream(&out, &len);
	for (int k = 0; k < n_lines; k++)
		fprintf(f, "%s\n", lines[k]);
	fputs(nmi, f);
	fclose(f);
	fk_put(fk, "proc/interrupts", "%s", out);
	free(out);
	free(txt);
}

int fk_pci_bind(struct fk *fk, const char *addr, const char *drv)
{
	char *dir = fk_dev_dir(fk, addr), drel[PATH_MAX], rel[PATH_MAX];
	int group = fk_dev_group(fk, addr), r;
	bool vf = fk_is_vf(fk, addr);

	if (!dir)
		return -ENODEV;
	/* vfio-pci's probe fails without an IOMMU group (no noiommu mode here) */
	if (!strcmp(drv, "vfio-pci") && group < 0) {
		free(dir);
		return -EINVAL;
	}
	snprintf(drel, sizeof(drel), "sys/bus/pci/drivers/%s", drv);
	snprintf(rel, sizeof(rel), "%s/driver", dir);
	if ((r = fx_link(fk->root, rel, drel)) < 0)
		goto out;
	snprintf(rel, sizeof(rel), "%s/%s", drel, addr);
	if ((r = fx_link(fk->root, rel, dir)) < 0)
		goto out;
	snprintf(rel, sizeof(rel), "%s/enable", dir);
	fk_put(fk, rel, "1\n");
	fk_uevent_driver(fk, addr, drv);
	fk_native_back(fk, addr, drv);
	/* a driver's pci_enable_device()/pci_set_master(): what the fixture shows as bound */
	fk_config_patch16(fk, addr, 0x04, vf ? 0x0004 : 0x0006, 0, NULL);
	/* vfio-pci allocates vectors only when a VM opens the device */
	if (strcmp(drv, "vfio-pci"))
		fk_interrupts_update(fk, addr, drv);
	if (!strcmp(drv, "vfio-pci")) {
		snprintf(rel, sizeof(rel), "%s/vfio-dev/vfio%d/dev", dir, group);
		fk_put(fk, rel, "511:%d\n", group);
		snprintf(rel, sizeof(rel), "dev/vfio/%d", group);
		fk_put(fk, rel, "%s", "");
	} else if (!strcmp(drv, "nvidia") && vf) {
		r = fk_nv_vf_probe(fk, addr);
	}
out:
	free(dir);
	return r;
}

/* The function at @dir carries a vGPU: an mdev below it, or a vendor-VFIO type set. Only
 * then does letting it go change what its siblings offer (the homogeneous rule counts the
 * vGPUs in use), so only then are they rewritten: sriov-manage -d releases 32 VFs. */
static bool fk_vf_has_vgpu(struct fk *fk, const char *dir)
{
	char *p = fk_path(fk, dir), rel[PATH_MAX];
	DIR *d = opendir(p);
	struct dirent *e;
	bool any = fk_read_int(fk, 0, "%s/nvidia/current_vgpu_type", dir) > 0;

	free(p);
	while (d && !any && (e = readdir(d))) {
		if (strlen(e->d_name) != 36)
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/mdev_type", dir, e->d_name);
		any = fk_exists(fk, rel);
	}
	if (d)
		closedir(d);
	return any;
}

int fk_pci_release(struct fk *fk, const char *addr)
{
	char *dir = fk_dev_dir(fk, addr), *drv, *ovr, rel[PATH_MAX];
	int group = fk_dev_group(fk, addr), r = 0;
	bool vfio, had_vgpu, vf = fk_is_vf(fk, addr);

	if (!dir)
		return -ENODEV;
	drv = fk_link_name(fk, "%s/driver", dir);
	if (!drv)
		goto out;
	/* remember what ID matching bound, so that a later drivers_probe finds it again */
	ovr = fk_override(fk, addr);
	snprintf(rel, sizeof(rel), FK_DIR "/default-driver/%s", addr);
	if ((!ovr || strcmp(ovr, drv)) && !fk_exists(fk, rel))
		fk_put(fk, rel, "%s\n", drv);
	free(ovr);
	/* a PF driver's remove() disables SR-IOV first (vfio_pci_core_unregister_device does) */
	if (fk_read_int(fk, 0, "%s/sriov_numvfs", dir) > 0 && (r = fk_sriov_disable(fk, addr)) < 0)
		goto out;
	snprintf(rel, sizeof(rel), "%s/vfio-dev", dir);
	vfio = fk_exists(fk, rel);
	fk_native_wait(fk, addr, drv);
	fk_block_wait(fk, addr, vfio ? group : -1);
	had_vgpu = vf && fk_vf_has_vgpu(fk, dir);
	if (!strcmp(drv, "nvidia") && vf)
		fk_nv_vf_remove(fk, addr);
	snprintf(rel, sizeof(rel), "%s/vfio-dev", dir);
	fk_rm(fk, rel);
	if (vfio && group >= 0 && !fk_group_has_vfio(fk, group)) {
		snprintf(rel, sizeof(rel), "dev/vfio/%d", group);
		fk_rm(fk, rel);
	}
	fk_native_gone(fk, addr, drv);
	snprintf(rel, sizeof(rel), "%s/driver", dir);
	fk_rm(fk, rel);
	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/%s", drv, addr);
	fk_rm(fk, rel);
	snprintf(rel, sizeof(rel), "%s/enable", dir);
	fk_put(fk, rel, "0\n");
	fk_uevent_driver(fk, addr, NULL);
	fk_config_patch16(fk, addr, 0x04, 0, 0x0006, NULL);
	fk_interrupts_update(fk, addr, NULL);
	if (!strcmp(drv, "nvidia") && vf && had_vgpu) {
		char *pf = fk_link_name(fk, "%s/physfn", dir);

		r = pf ? fk_nv_gpu_refresh(fk, pf) : 0;
		free(pf);
	}
out:
	free(drv);
	free(dir);
	return r;
}

int fk_unbind_store(struct fk *fk, const char *drv, const char *val)
{
	char *addr = fk_trim(val), *cur = NULL;
	int r = -ENODEV;

	/* unbind_store(): the named device must exist and be bound to this very driver */
	if (fk_is_addr(addr))
		cur = fk_link_name(fk, "sys/bus/pci/devices/%s/driver", addr);
	if (cur && !strcmp(cur, drv))
		r = fk_pci_release(fk, addr);
	free(cur);
	free(addr);
	return r;
}

/* Attaches ADDR as bus_rescan_devices_helper() would: 0 whether or not a driver took it. */
static int fk_pci_attach(struct fk *fk, const char *addr, bool autoload)
{
	char *ovr = fk_override(fk, addr), *drv, rel[PATH_MAX];

	/* a fault marker: the probe "succeeds" and binds nothing (reliability.md invariant 3) */
	if (fk_marker(fk, "probe-fail", addr)) {
		free(ovr);
		return 0;
	}
	drv = ovr ? ovr : fk_default_driver(fk, addr);
	if (!drv)
		return 0;
	snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", drv);
	if (!ovr && autoload && !fk_exists(fk, rel)) {
		/* udev loads the module the new device's modalias names */
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/bind", drv);
		fk_put(fk, rel, "%s", "");
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s/unbind", drv);
		fk_put(fk, rel, "%s", "");
		snprintf(rel, sizeof(rel), "sys/bus/pci/drivers/%s", drv);
	}
	/* driver_override naming a driver that is not loaded: the device stays unbound */
	if (fk_exists(fk, rel))
		fk_pci_bind(fk, addr, drv); /* a failed probe leaves it unbound, silently */
	free(drv);
	return 0;
}

int fk_drivers_probe_store(struct fk *fk, const char *val)
{
	char *addr = fk_trim(val), *dir = fk_dev_dir(fk, addr), *cur;
	int r = -ENODEV;

	if (dir) {
		cur = fk_link_name(fk, "%s/driver", dir);
		r = cur ? 0 : fk_pci_attach(fk, addr, false);
		free(cur);
	}
	free(dir);
	free(addr);
	return r;
}

/* For fk-sriov.c: a new VF is attached the way device_add() would, with module autoload. */
int fk_pci_attach_new(struct fk *fk, const char *addr)
{
	return fk_pci_attach(fk, addr, true);
}
