/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SR-IOV: sriov_numvfs in the order of drivers/pci/iov.c sriov_numvfs_store(),
 * sriov_drivers_autoprobe, VFs added and removed as pci_iov_add_virtfn()/remove_virtfn() do,
 * and NVIDIA's sriov-manage (nvidia-linux.md 2.1), which enables VFs behind nvidia's back
 * because nvidia.ko has no sriov_configure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fk-internal.h"

/* kstrtou16(buf, 0, ...): one optional trailing newline, nothing else */
static int fk_kstrtou16(const char *val, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!*val || *val == '-' || *val == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoul(val, &end, 0);
	if (end == val || (*end && strcmp(end, "\n")))
		return -EINVAL;
	if (errno || v > 0xffff)
		return -ERANGE;
	*out = (unsigned)v;
	return 0;
}

/* What the PF's SR-IOV capability and sriov_numvfs say once @n VFs are enabled. */
static void fk_pf_numvfs_set(struct fk *fk, const char *pf, int n)
{
	char rel[128];
	int pos = fk_config_ext_cap(fk, pf, 0x10);

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/sriov_numvfs", pf);
	fk_put(fk, rel, "%d\n", n);
	if (pos) {
		unsigned v = (unsigned)n;

		/* VF Enable and VF MSE follow NumVFs, as the fixture writes them */
		fk_config_patch16(fk, pf, pos + 0x08, n ? 0x9 : 0, n ? 0 : 0x9, NULL);
		fk_config_patch16(fk, pf, pos + 0x10, 0, 0, &v);
	}
}

void fk_group_drop(struct fk *fk, int group, const char *addr)
{
	char rel[PATH_MAX], *p;

	if (group < 0)
		return;
	snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices/%s", group, addr);
	fk_rm(fk, rel);
	snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d/devices", group);
	p = fk_path(fk, rel);
	/* the group dies with its last device (rmdir fails while others remain) */
	if (rmdir(p) == 0) {
		snprintf(rel, sizeof(rel), "sys/kernel/iommu_groups/%d", group);
		fk_rm(fk, rel);
		snprintf(rel, sizeof(rel), "dev/vfio/%d", group);
		fk_rm(fk, rel);
	}
	free(p);
}

static int fk_vf_remove(struct fk *fk, const char *pf, int idx)
{
	char rel[PATH_MAX], *vf, *dir;
	int r, group;

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/virtfn%d", pf, idx);
	vf = fk_link_name(fk, "%s", rel);
	if (!vf)
		return 0;
	dir = fk_dev_dir(fk, vf);
	/* the VF's remove() (driver release) can block; so can a marked VF with no driver */
	fk_block_wait(fk, vf, -1);
	if ((r = fk_pci_release(fk, vf)) < 0) {
		free(vf);
		free(dir);
		return r;
	}
	group = fk_dev_group(fk, vf);
	fk_group_drop(fk, group, vf);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", vf);
	fk_rm(fk, rel);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/virtfn%d", pf, idx);
	fk_rm(fk, rel);
	snprintf(rel, sizeof(rel), "sys/class/mdev_bus/%s", vf);
	fk_rm(fk, rel);
	/* a re-created VF is a new pci_dev: nothing of this one survives */
	snprintf(rel, sizeof(rel), FK_DIR "/default-driver/%s", vf);
	fk_rm(fk, rel);
	if (dir)
		fk_rm(fk, dir);
	free(dir);
	free(vf);
	return 0;
}

int fk_sriov_disable(struct fk *fk, const char *pf)
{
	int n = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/sriov_numvfs", pf), r;

	/* sriov_del_vfs() (drivers/pci/iov.c): `for (i = 0; i < iov->num_VFs; i++)
	 * pci_iov_remove_virtfn(dev, i)`, VF 0 first; num_VFs only drops once all are gone, so
	 * a removal that blocks leaves the VFs before it gone and the rest in place */
	for (int i = 0; i < n; i++)
		if ((r = fk_vf_remove(fk, pf, i)) < 0)
			return r;
	fk_pf_numvfs_set(fk, pf, 0);
	return 0;
}

/*
 * How nvidia exposes vGPU on its VFs on this host: the driver's build-time choice
 * (NV_USE_VFIO_PCI_CORE, nv-vgpu-vfio-interface.h: vfio-pci-core on VFs where the kernel lacks
 * mdev_set_iommu_device, removed in Linux 5.16; mdev parents before), so the release of the
 * fixture's kernel decides. Not sys/class/mdev_bus: since Linux 6.5 (commit ff598081e5b9) it
 * exists whenever mdev.ko is loaded, with or without parents.
 */
enum fx_vgpu_shape fk_nv_shape(struct fk *fk)
{
	char *s = fk_read(fk, FK_DIR "/vgpu-shape");
	enum fx_vgpu_shape shape;
	int major, minor;

	if (s)
		shape = !strcmp(s, "mdev") ? FX_VGPU_MDEV : FX_VGPU_VENDOR;
	else if ((s = fk_read(fk, "proc/sys/kernel/osrelease")) &&
		 sscanf(s, "%d.%d", &major, &minor) == 2)
		shape = major < 5 || (major == 5 && minor < 16) ? FX_VGPU_MDEV : FX_VGPU_VENDOR;
	else
		shape = FX_VGPU_VENDOR;
	free(s);
	return shape;
}

/*
 * sriov_enable() (drivers/pci/iov.c) counts the VF BARs that hold a resource against those
 * sriov_init() sized, and refuses every VF count when the firmware left one unassigned (the
 * kernel reset it: its `resource` line reads 0): "not enough MMIO resources for SR-IOV".
 * The sizing is the kernel's; here a VF BAR register that reads non-zero is one it sized.
 */
static bool fk_vf_bars_assigned(struct fk *fk, const char *pf)
{
	char rel[128], *res, *line, *save = NULL;
	size_t len = 0;
	uint8_t *c;
	int pos = fk_config_ext_cap(fk, pf, 0x10), idx = 0;
	bool ok = true, sized[6] = { false };

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", pf);
	c = (uint8_t *)fk_read_all(fk, rel, &len);
	for (int i = 0; c && pos && i < 6 && (size_t)pos + 0x24 + 4 * i + 4 <= len; i++) {
		const uint8_t *b = c + pos + 0x24 + 4 * i;
		uint32_t v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
			     (uint32_t)b[3] << 24;

		sized[i] = v != 0;
		if (!(v & 1) && (v & 6) == 4)
			i++; /* a 64-bit BAR's upper half */
	}
	free(c);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/resource", pf);
	res = fk_read_all(fk, rel, NULL);
	for (line = res ? strtok_r(res, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save), idx++) {
		unsigned long long start, end, flags;

		if (idx >= 7 && idx <= 12 && sized[idx - 7] &&
		    (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3 || !flags))
			ok = false;
	}
	free(res);
	return ok;
}

int fk_sriov_enable(struct fk *fk, const char *pf, int n, const char *drv)
{
	struct fx_tree *t = fx_tree_new();
	struct fx_dev *d;
	char rel[PATH_MAX], *pfdir, *limit;
	int r;

	limit = fk_read(fk, FK_DIR "/sriov-limit/%s", pf);
	if (limit && atoi(limit) < n) {
		/* the driver enabled fewer: the kernel only warns "%d VFs requested; only %d
		 * enabled" and the write still succeeds */
		fprintf(stderr, "fakekernel: %s: %d VFs requested; only %d enabled\n", pf, n, atoi(limit));
		n = atoi(limit);
	}
	free(limit);
	if (!fk_vf_bars_assigned(fk, pf)) {
		fprintf(stderr, "fakekernel: pci %s: not enough MMIO resources for SR-IOV\n", pf);
		fx_tree_free(t);
		return -ENOMEM;
	}
	d = fk_pf_load(fk, t, pf);
	if (!d)
		fk_unmodelled(fk, "%s (cannot model PF %s)", fk->what, pf);
	if ((r = fx_sriov_enable(d, n, NULL)) < 0) {
		fx_tree_free(t);
		return r;
	}
	pfdir = fk_dev_dir(fk, pf);
	for (int i = 0; i < n; i++) {
		struct fx_dev *vf = d->vfs[i];
		char *vp;

		/* pci_iov_add_virtfn(): a new function, its own group (ida: lowest free id) */
		vf->group = t->host.iommu ? fk_group_alloc(fk) : FX_GROUP_NONE;
		vf->driver = NULL;
		/* VF BAR i of VF n sits at the PF's VF BAR i window + n * size */
		for (int b = 0; b < 6; b++)
			if (d->vf_bars[b].size)
				vf->bars[b].addr = d->vf_bars[b].addr + (uint64_t)i * d->vf_bars[b].size;
		if ((r = fx_dev_write(t, fk->root, vf)) < 0)
			break;
		vp = fx_dev_path(vf);
		snprintf(rel, sizeof(rel), "%s/virtfn%d", pfdir, i);
		r = fx_link(fk->root, rel, vp);
		free(vp);
		if (r < 0)
			break;
	}
	if (r >= 0)
		fk_pf_numvfs_set(fk, pf, n);
	/* pci_bus_add_device(): each VF probes now when sriov_drivers_autoprobe is set */
	for (int i = 0; r >= 0 && i < n; i++) {
		if (drv)
			fk_pci_bind(fk, d->vfs[i]->addr, drv);
		else if (d->sriov_autoprobe)
			fk_pci_attach_new(fk, d->vfs[i]->addr);
	}
	free(pfdir);
	fx_tree_free(t);
	return r < 0 ? r : 0;
}

int fk_sriov_numvfs_store(struct fk *fk, const char *pf, const char *val)
{
	unsigned n;
	int r, cur, total;
	char *drv;

	if ((r = fk_kstrtou16(val, &n)) < 0)
		return r == -ERANGE ? -ERANGE : -EINVAL;
	total = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/sriov_totalvfs", pf);
	if ((int)n > total)
		return -ERANGE;
	cur = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/sriov_numvfs", pf);
	if ((int)n == cur)
		return 0;
	drv = fk_link_name(fk, "sys/bus/pci/devices/%s/driver", pf);
	if (!drv || !fk_driver_has_sriov_configure(fk, drv)) {
		/* "Driver does not support SRIOV configuration via sysfs" */
		free(drv);
		return -ENOENT;
	}
	free(drv);
	if (n == 0)
		return fk_sriov_disable(fk, pf);
	if (cur)
		return -EBUSY; /* "%d VFs already enabled. Disable before enabling %d VFs" */
	return fk_sriov_enable(fk, pf, (int)n, NULL);
}

int fk_sriov_autoprobe_store(struct fk *fk, const char *pf, const char *val)
{
	char rel[128];
	int v = -1;

	/* kstrtobool() */
	switch (val[0]) {
	case 'y': case 'Y': case '1': v = 1; break;
	case 'n': case 'N': case '0': v = 0; break;
	case 'o': case 'O':
		v = val[1] == 'n' || val[1] == 'N' ? 1 : val[1] == 'f' || val[1] == 'F' ? 0 : -1;
		break;
	}
	if (v < 0)
		return -EINVAL;
	/* VFs that exist keep their binding: it only applies to VFs enabled later */
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/sriov_drivers_autoprobe", pf);
	return fk_put(fk, rel, "%d\n", v);
}

int fk_sriov_manage(struct fk *fk, char *const argv[])
{
	const char *op = argv[1], *pf = op ? argv[2] : NULL;
	char *drv, *dir;
	int n;

	if (!op || !pf || argv[3] || (strcmp(op, "-e") && strcmp(op, "-d")) || !fk_is_addr(pf))
		fk_unmodelled(fk, "%s", fk->what);
	dir = fk_dev_dir(fk, pf);
	if (!dir) {
		fprintf(stderr, "GPU at %s not found.\n", pf);
		return 1;
	}
	free(dir);
	n = fk_read_int(fk, -1, "sys/bus/pci/devices/%s/sriov_numvfs", pf);
	if (n < 0)
		fk_unmodelled(fk, "%s (%s has no SR-IOV)", fk->what, pf);
	if (!strcmp(op, "-e") && n) {
		fprintf(stderr, "GPU at %s already has VFs enabled.\n", pf);
		return 0;
	}
	if (!strcmp(op, "-d") && !n)
		return 0;
	drv = fk_link_name(fk, "sys/bus/pci/devices/%s/driver", pf);
	/* the unbindLock lives in /proc/driver/nvidia/gpus/PF: only nvidia's PF has one */
	if (fk_marker(fk, "unbindlock-busy", pf) || !drv || strcmp(drv, "nvidia")) {
		fprintf(stderr, "Cannot obtain unbindLock for %s\n", pf);
		free(drv);
		return 1;
	}
	free(drv);
	/* through the unbindLock the GPU is rebound: its MIG GPU instances go (cubecos) */
	fk_nv_mig_destroy(fk, pf);
	if (!strcmp(op, "-d"))
		return fk_sriov_disable(fk, pf) < 0 ? 1 : 0;
	/* always the maximum, every VF bound to nvidia whatever autoprobe says */
	n = fk_read_int(fk, 0, "sys/bus/pci/devices/%s/sriov_totalvfs", pf);
	return fk_sriov_enable(fk, pf, n, "nvidia") < 0 ? 1 : 0;
}
