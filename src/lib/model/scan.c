/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Builds the host model from sysfs.
 *
 * Reading every attribute of every function is what makes shell loops slow, so the scan works
 * in two passes: every function gets its class read (one small file), and only the functions
 * that matter get read in full: the GPUs (or named targets), their VFs (a lighter read), the
 * members of their IOMMU groups and the bridges above them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "host/pciacc.h"
#include "model/pci-addr.h"
#include "model/scan.h"

#define CLASS_DISPLAY 0x03

static int dev_cmp(const void *a, const void *b)
{
	const struct gp_device *const *x = a, *const *y = b;

	return gp_pci_addr_cmp(&(*x)->addr, &(*y)->addr);
}

struct gp_device *gp_host_find(const struct gp_host *host, const struct gp_pci_addr *addr)
{
	size_t lo = 0, hi = host->n_devs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = gp_pci_addr_cmp(&host->devs[mid]->addr, addr);

		if (c == 0)
			return host->devs[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static struct gp_device *find_str(const struct gp_host *host, const char *s)
{
	struct gp_pci_addr a;

	if (gp_pci_addr_parse(s, &a) < 0)
		return NULL;
	return gp_host_find(host, &a);
}

bool gp_device_is_below(const struct gp_device *dev, const struct gp_device *ancestor)
{
	int depth;

	/* PCI hierarchies are at most 256 buses deep: a longer chain is a loop */
	for (depth = 0; dev && depth < 256; dev = dev->parent, depth++)
		if (dev == ancestor)
			return true;
	return dev != NULL;
}

bool gp_device_is_display(const struct gp_device *dev)
{
	return dev->class_code >= 0 && (dev->class_code >> 16) == CLASS_DISPLAY;
}

bool gp_device_is_gpu_like(const struct gp_device *dev, bool any_class)
{
	if (dev->is_vf)
		return false;
	if (gp_device_is_display(dev))
		return true;
	return any_class && dev->sriov_total_vfs > 0;
}

static void device_free(struct gp_device *d)
{
	size_t i;

	if (!d)
		return;
	free(d->name);
	free(d->driver);
	free(d->reset_method);
	free(d->syspath);
	free(d->vfs);
	free(d->bars);
	gp_vgpu_types_free(d->mdev_types, d->n_mdev_types);
	free(d->mdev_type_prefix);
	gp_vgpu_types_free(d->creatable, d->n_creatable);
	gp_vgpu_types_free(d->catalogue, d->n_catalogue);
	free(d->board_name);
	for (i = 0; i < d->n_mdevs; i++) {
		free(d->mdevs[i].type_key);
		free(d->mdevs[i].parent);
	}
	free(d->mdevs);
	for (i = 0; i < d->n_drm_nodes; i++)
		free(d->drm_nodes[i]);
	free(d->drm_nodes);
	free(d->open_by);
	free(d);
}

void gp_host_free(struct gp_host *host)
{
	size_t i, j;

	if (!host)
		return;
	for (i = 0; i < host->n_devs; i++)
		device_free(host->devs[i]);
	free(host->devs);
	for (i = 0; i < host->n_groups; i++) {
		for (j = 0; j < host->groups[i].n_members; j++)
			free(host->groups[i].members[j]);
		free(host->groups[i].members);
	}
	free(host->groups);
	free(host->cmdline);
	free(host->kernel_release);
	free(host->nvidia_driver_version);
	free(host);
}

/* Reads a hex ID attribute ("0x10de"); GP_UNKNOWN with a warning when it is garbage. */
static int read_id(struct gp_ctx *ctx, int dfd, const struct gp_device *d, const char *attr)
{
	long v;
	int r = gp_hostfs_read_long_at(dfd, attr, 16, &v);

	if (r == -ENOENT)
		return GP_UNKNOWN;
	if (r < 0 || v < 0 || v > 0xffff) {
		WARN(ctx, "%s: unreadable %s, reporting null", d->address, attr);
		return GP_UNKNOWN;
	}
	return (int)v;
}

static int read_int(struct gp_ctx *ctx, int dfd, const struct gp_device *d, const char *attr,
		    int base)
{
	long v;
	int r = gp_hostfs_read_long_at(dfd, attr, base, &v);

	if (r == -ENOENT)
		return GP_UNKNOWN;
	if (r < 0 || v < -1 || v > 0x7fffffff) {
		WARN(ctx, "%s: unexpected content in %s, reporting null", d->address, attr);
		return GP_UNKNOWN;
	}
	return (int)v;
}

/* The SR-IOV registers are 16 bits wide (PCIe base spec 9.3.3): anything else is garbage. */
static int read_u16(struct gp_ctx *ctx, int dfd, const struct gp_device *d, const char *attr,
		    int base)
{
	int v = read_int(ctx, dfd, d, attr, base);

	if (v > 0xffff || v < GP_UNKNOWN) {
		WARN(ctx, "%s: %s out of range, reporting null", d->address, attr);
		return GP_UNKNOWN;
	}
	return v < 0 ? GP_UNKNOWN : v;
}

static char *read_str(int dfd, const char *attr)
{
	char buf[256];

	if (gp_hostfs_read_at(dfd, attr, buf, sizeof(buf)) <= 0)
		return NULL;
	return strdup(buf);
}

static int read_link_int(int dfd, const char *attr)
{
	char buf[64], *end;
	long v;

	if (gp_hostfs_link_base_at(dfd, attr, buf, sizeof(buf)) <= 0)
		return GP_UNKNOWN;
	v = strtol(buf, &end, 10);
	return (*end || end == buf || v < 0 || v > 0x7fffffff) ? GP_UNKNOWN : (int)v;
}

/* The kernel's `resource` file: one "start end flags" line per region. */
static void read_resources(struct gp_ctx *ctx, int dfd, struct gp_device *d)
{
	char *text = NULL, *line, *save = NULL;
	int index = 0;

	if (gp_hostfs_read_attr_at(dfd, "resource", &text) < 0)
		return;
	d->bars_known = true;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save), index++) {
		unsigned long long start, end, flags;
		struct gp_bar *b;

		if (sscanf(line, "%llx %llx %llx", &start, &end, &flags) != 3) {
			WARN(ctx, "%s: unexpected line in resource, ignoring the rest", d->address);
			break;
		}
		/* an empty slot, or a range no 64-bit address space holds (end < start, or a
		 * size past 2^62: no BAR is that big, and sums of them must not overflow) */
		if (!flags || end < start || end - start >= (1ULL << 62))
			continue;
		b = GP_PUSH(d->bars, d->n_bars);
		if (!b)
			break;
		b->index = index;
		b->start = start;
		b->size = end - start + 1;
		b->io = flags & 0x100;          /* IORESOURCE_IO */
		b->prefetch = flags & 0x2000;   /* IORESOURCE_PREFETCH */
		b->mem64 = flags & 0x100000;    /* IORESOURCE_MEM_64 */
	}
	free(text);
}

static void read_config(struct gp_ctx *ctx, int dfd, struct gp_device *d)
{
	uint8_t cfg[4096];
	ssize_t n = gp_hostfs_read_bin_at(dfd, "config", cfg, sizeof(cfg));

	if (n < 0) {
		d->cfg.config_len = 0;
		d->cfg.pcie_type = GP_PCIE_UNKNOWN;
		d->cfg.msi = d->cfg.flr = d->cfg.af_flr = GP_TRI_UNKNOWN;
		d->cfg.pm_no_soft_reset = d->cfg.acs = GP_TRI_UNKNOWN;
		return;
	}
	if (gp_pciacc_decode(ctx, &d->addr, cfg, (int)n, &d->cfg) < 0)
		WARN(ctx, "%s: config space (%zd bytes) could not be decoded", d->address, n);
}

/* A framebuffer device of its own: register_framebuffer puts fbN in the class "graphics"
 * with the GPU as its parent (drivers/video/fbdev/core/fbsysfs.c). Display functions only
 * (boot_vga is there). */
static bool has_fb(int dfd)
{
	int gfd = gp_hostfs_open_dir_at(dfd, "graphics");
	struct dirent *e;
	bool found = false;
	DIR *dir;

	if (gfd < 0)
		return false;
	dir = fdopendir(gfd);
	if (!dir) {
		close(gfd);
		return false;
	}
	while (!found && (e = readdir(dir)))
		found = strncmp(e->d_name, "fb", 2) == 0;
	closedir(dir);
	return found;
}

/* The IDs: only reported for GPUs; VFs, ports and companions go without (a scan of a
 * large host reads hundreds of them, and four files each is most of its syscalls). */
static void read_ids(struct gp_ctx *ctx, int dfd, struct gp_device *d)
{
	d->vendor = read_id(ctx, dfd, d, "vendor");
	d->device = read_id(ctx, dfd, d, "device");
	d->subsystem_vendor = read_id(ctx, dfd, d, "subsystem_vendor");
	d->subsystem_device = read_id(ctx, dfd, d, "subsystem_device");
}

/* Driver and IOMMU group: what every detailed function needs. */
static void read_identity(struct gp_ctx *ctx, int dfd, struct gp_device *d)
{
	char buf[256];

	if (gp_hostfs_link_base_at(dfd, "driver", buf, sizeof(buf)) > 0)
		d->driver = strdup(buf);
	d->iommu_group = read_link_int(dfd, "iommu_group");
}

int gp_scan_dev_path(const struct gp_device *d, const char *attr, char *buf, size_t len)
{
	int r = gp_hostfs_path(GP_HP_PCI_DEVICE, d->address, buf, len);
	size_t l;

	if (r < 0 || !attr)
		return r;
	l = strlen(buf);
	if ((size_t)snprintf(buf + l, len - l, "/%s", attr) >= len - l)
		return -ENAMETOOLONG;
	return 0;
}

static int open_dev(struct gp_scan *s, const struct gp_device *d)
{
	char path[128];
	int r = gp_scan_dev_path(d, NULL, path, sizeof(path));

	return r < 0 ? r : gp_hostfs_open_dir_at(s->root_fd, path);
}

/* Bridges above a device: the path components of its sysfs directory that are addresses. */
static void read_parents(struct gp_scan *s, int dfd, struct gp_device *d)
{
	char path[4096], *p, *comp, *save = NULL;
	struct gp_device *prev = NULL;

	if (gp_hostfs_readlink_at(s->devices_fd, d->address, path, sizeof(path)) < 0)
		return;
	p = strstr(path, "devices/");
	d->syspath = strdup(p ? p : path);
	/* Each address in the path is the bridge above the next one: chain them all, so the
	 * ACS walk reaches the root port. Only components before the device's own name count,
	 * and a function already chained keeps its parent (a hostile tree cannot make a loop). */
	for (comp = strtok_r(path, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		struct gp_device *up = find_str(s->host, comp);

		if (up == d)
			break;
		if (!up)
			continue;
		gp_scan_detail(s, up, GP_DETAIL_PORT);
		if (!up->parent && prev && !gp_device_is_below(prev, up))
			up->parent = prev;
		prev = up;
	}
	if (prev && !gp_device_is_below(prev, d))
		d->parent = prev;
	(void)dfd;
}

/* Computing where VF i sits (gp_pci_vf_addr) spares a readlink per VF; the virtfnN link is
 * the fallback. */
static struct gp_device *vf_by_rid(struct gp_scan *s, const struct gp_device *pf, int i)
{
	struct gp_pci_addr a;

	if (gp_pci_vf_addr(pf, i, &a) < 0)
		return NULL;
	return gp_host_find(s->host, &a);
}

static void read_sriov(struct gp_scan *s, int dfd, struct gp_device *d)
{
	struct gp_ctx *ctx = s->host->ctx;
	int i;

	/* the SR-IOV files come and go together: without sriov_totalvfs there are none */
	if (gp_hostfs_exists_at(dfd, "sriov_totalvfs") != 1)
		return;
	d->sriov_total_vfs = read_u16(ctx, dfd, d, "sriov_totalvfs", 10);
	d->sriov_num_vfs = read_u16(ctx, dfd, d, "sriov_numvfs", 10);
	d->sriov_offset = read_u16(ctx, dfd, d, "sriov_offset", 10);
	d->sriov_stride = read_u16(ctx, dfd, d, "sriov_stride", 10);
	d->sriov_vf_device = read_u16(ctx, dfd, d, "sriov_vf_device", 16);
	if (d->sriov_total_vfs >= 0 && d->sriov_num_vfs > d->sriov_total_vfs) {
		WARN(ctx, "%s: sriov_numvfs %d exceeds sriov_totalvfs %d, reporting null",
		     d->address, d->sriov_num_vfs, d->sriov_total_vfs);
		d->sriov_num_vfs = GP_UNKNOWN;
	}

	/* virtfnN links name the VFs; numvfs says how many to expect */
	for (i = 0; d->sriov_num_vfs > 0 && i < d->sriov_num_vfs; i++) {
		char name[32], buf[64];
		struct gp_device *vf, **slot;

		vf = vf_by_rid(s, d, i);
		if (!vf) {
			snprintf(name, sizeof(name), "virtfn%d", i);
			if (gp_hostfs_link_base_at(dfd, name, buf, sizeof(buf)) < 0) {
				WARN(ctx, "%s: %s missing although sriov_numvfs is %d", d->address,
				     name, d->sriov_num_vfs);
				continue;
			}
			vf = find_str(s->host, buf);
		}
		if (!vf)
			continue;
		vf->is_vf = true;
		vf->physfn = d;
		vf->vf_index = i;
		slot = GP_PUSH(d->vfs, d->n_vfs);
		if (!slot)
			return;
		*slot = vf;
		gp_scan_detail(s, vf, GP_DETAIL_VF);
	}
}

static void read_drm(int dfd, struct gp_device *d)
{
	struct dirent *e;
	DIR *dir = gp_hostfs_opendir_at(dfd, "drm");

	if (!dir)
		return;
	while ((e = readdir(dir))) {
		char **slot;

		if (strncmp(e->d_name, "card", 4) && strncmp(e->d_name, "renderD", 7))
			continue;
		slot = GP_PUSH(d->drm_nodes, d->n_drm_nodes);
		if (!slot)
			break;
		*slot = strdup(e->d_name);
		if (!*slot) {
			d->n_drm_nodes--;
			break;
		}
	}
	closedir(dir);
}

static void detail_full(struct gp_scan *s, int dfd, struct gp_device *d)
{
	struct gp_ctx *ctx = s->host->ctx;
	char buf[64];

	/* is_vf and physfn are known already: the first pass reads every physfn link */
	read_ids(ctx, dfd, d);
	read_identity(ctx, dfd, d);
	d->numa_node = read_int(ctx, dfd, d, "numa_node", 10);
	if (d->numa_node < 0)
		d->numa_node = GP_UNKNOWN;
	d->reset_method = read_str(dfd, "reset_method");
	if (gp_hostfs_read_at(dfd, "boot_vga", buf, sizeof(buf)) > 0)
		d->boot_vga = buf[0] == '1' ? GP_TRI_YES : GP_TRI_NO;
	d->has_fb = d->boot_vga != GP_TRI_UNKNOWN && has_fb(dfd);
	read_resources(ctx, dfd, d);
	read_config(ctx, dfd, d);
	read_parents(s, dfd, d);
	read_sriov(s, dfd, d);
	gp_scan_mdev_types(s, dfd, "", d);
	read_drm(dfd, d);
}

/*
 * A VF is read through the devices directory ("ADDR/driver") rather than its own fd: a GPU can
 * have 32 of them and the open and close would be a third of their syscalls.
 */
static void detail_vf(struct gp_scan *s, struct gp_device *vf)
{
	char pfx[128], path[160], buf[256];

	if (gp_scan_dev_path(vf, "", pfx, sizeof(pfx)) < 0)
		return;
	gp_scan_vf_vgpu(s, s->root_fd, pfx, vf);
	/* an idle vendor-VFIO VF is no partition: nothing reports its driver or group */
	if (vf->has_nvidia_dir && vf->current_vgpu_type == 0)
		return;
	snprintf(path, sizeof(path), "%sdriver", pfx);
	if (gp_hostfs_link_base_at(s->root_fd, path, buf, sizeof(buf)) > 0)
		vf->driver = strdup(buf);
	snprintf(path, sizeof(path), "%siommu_group", pfx);
	vf->iommu_group = read_link_int(s->root_fd, path);
}


void gp_scan_detail(struct gp_scan *s, struct gp_device *d, enum gp_detail level)
{
	int dfd;

	if (d->full || (d->detailed && level != GP_DETAIL_FULL))
		return;
	/* read lightly before (a VF as a partition, a port above another GPU): read it again
	 * in full now that it is a target itself */
	free(d->driver);
	d->driver = NULL;
	d->detailed = true;
	d->full = level == GP_DETAIL_FULL;
	if (level == GP_DETAIL_VF) {
		detail_vf(s, d);
		return;
	}
	dfd = open_dev(s, d);
	if (dfd < 0) {
		WARN(s->host->ctx, "%s: cannot open its sysfs directory: %s", d->address,
		     strerror(-dfd));
		return;
	}
	switch (level) {
	case GP_DETAIL_FULL:
		detail_full(s, dfd, d);
		break;
	case GP_DETAIL_VF: /* handled above */
		break;
	case GP_DETAIL_PORT:
		read_identity(s->host->ctx, dfd, d);
		read_config(s->host->ctx, dfd, d);
		break;
	case GP_DETAIL_MEMBER:
		read_identity(s->host->ctx, dfd, d);
		break;
	}
	close(dfd);
}

static int read_class(struct gp_scan *s, struct gp_device *d)
{
	char rel[128];
	long v;
	int r;

	r = gp_scan_dev_path(d, "class", rel, sizeof(rel));
	if (r == 0)
		r = gp_hostfs_read_long_at(s->root_fd, rel, 16, &v);
	if (r < 0 || v < 0 || v > 0xffffff) {
		if (r != -ENOENT)
			WARN(s->host->ctx, "%s: unreadable class, reporting null", d->address);
		d->class_code = GP_UNKNOWN;
		return r;
	}
	d->class_code = v;
	return 0;
}

static int list_devices(struct gp_scan *s)
{
	struct gp_host *host = s->host;
	struct dirent *e;
	DIR *dir;

	dir = gp_hostfs_opendir_at(s->devices_fd, NULL);
	if (!dir)
		return -errno;
	while ((e = readdir(dir))) {
		struct gp_pci_addr a;
		struct gp_device *d, **slot;

		if (gp_pci_addr_parse(e->d_name, &a) < 0)
			continue;
		d = calloc(1, sizeof(*d));
		slot = d ? GP_PUSH(host->devs, host->n_devs) : NULL;
		if (!slot) {
			free(d);
			closedir(dir);
			return -ENOMEM;
		}
		*slot = d;
		d->addr = a;
		gp_pci_addr_format(&a, d->address);
		d->vendor = d->device = d->subsystem_vendor = d->subsystem_device = GP_UNKNOWN;
		d->iommu_group = d->numa_node = GP_UNKNOWN;
		d->sriov_total_vfs = d->sriov_num_vfs = d->sriov_offset = GP_UNKNOWN;
		d->sriov_stride = d->sriov_vf_device = GP_UNKNOWN;
		d->current_vgpu_type = GP_UNKNOWN;
		d->vf_index = GP_UNKNOWN;
		d->boot_vga = GP_TRI_UNKNOWN;
		d->mig_mode = d->mixed_size = GP_TRI_UNKNOWN;
		d->n_gpu_instances = GP_UNKNOWN;
		d->open_by_host = GP_TRI_UNKNOWN;
		d->cfg.pcie_type = GP_PCIE_UNKNOWN;
		d->cfg.msi = d->cfg.flr = d->cfg.af_flr = GP_TRI_UNKNOWN;
		d->cfg.pm_no_soft_reset = d->cfg.acs = GP_TRI_UNKNOWN;
	}
	closedir(dir);
	if (host->n_devs > 1) /* qsort(NULL, 0) is undefined */
		qsort(host->devs, host->n_devs, sizeof(*host->devs), dev_cmp);
	return 0;
}

static bool is_target(struct gp_scan *s, struct gp_device *d)
{
	char rel[128];
	size_t i;

	for (i = 0; i < s->n_targets; i++)
		if (gp_pci_addr_cmp(&s->targets[i], &d->addr) == 0)
			return true;
	if ((s->n_targets && !(s->flags & GP_SCAN_ALL_GPUS)) || d->is_vf)
		return false;
	if (gp_device_is_display(d))
		return true;
	if (s->flags & GP_SCAN_ANY_CLASS)
		return gp_scan_dev_path(d, "sriov_totalvfs", rel, sizeof(rel)) == 0 &&
		       gp_hostfs_exists_at(s->root_fd, rel) == 1;
	return false;
}

/*
 * Since Linux 5.15 `reset_method` exists exactly when the kernel can reset the function, so
 * when any function has the file, an absent one means "none" (kept as ""), not "unknown".
 */
/* The kernel resets a bus only for a function alone on it (pci_parent_bus_reset). */
static void count_bus_siblings(struct gp_host *h)
{
	size_t i = 0, j;

	while (i < h->n_devs) {
		for (j = i; j < h->n_devs && h->devs[j]->addr.domain == h->devs[i]->addr.domain &&
			    h->devs[j]->addr.bus == h->devs[i]->addr.bus;
		     j++)
			;
		for (size_t k = i; k < j; k++)
			h->devs[k]->bus_siblings = (int)(j - i - 1);
		i = j;
	}
}

static bool kernel_at_least(const char *release, int major, int minor)
{
	int ma, mi;

	if (!release || sscanf(release, "%d.%d", &ma, &mi) != 2)
		return false;
	return ma > major || (ma == major && mi >= minor);
}

static void mark_no_reset(struct gp_host *h)
{
	size_t i;
	bool abi = kernel_at_least(h->kernel_release, 5, 15);

	for (i = 0; i < h->n_devs && !abi; i++)
		abi = h->devs[i]->reset_method != NULL;
	for (i = 0; abi && i < h->n_devs; i++) {
		struct gp_device *d = h->devs[i];

		if (d->full && !d->reset_method)
			d->reset_method = strdup("");
	}
}

/* After the VFs (the sysfs lists are theirs) and the host facts (the vGPU manager). */
static int scan_catalogues(struct gp_scan *s, struct gp_device **tv, size_t n_tv)
{
	size_t i;
	int r = 0;

	for (i = 0; i < n_tv && r == 0; i++)
		if (tv[i]->full && !tv[i]->is_vf) {
			r = gp_scan_catalogue(s, tv[i]);
			if (r == 0)
				r = gp_scan_mig(s, tv[i]);
			gp_scan_mdev_owners(s, tv[i]);
		}
	gp_scan_catalogue_done(s);
	return r;
}

/* The PCI ID database's name; for IDs it lacks (a board newer than the local pci.ids), the
 * driver's name for the board (the catalogue's), then lspci's words: never nothing. */
static void device_name(struct gp_ctx *ctx, struct gp_device *d)
{
	d->name = gp_pciacc_name(ctx, d->vendor, d->device, d->subsystem_vendor,
				 d->subsystem_device);
	if (!d->name && d->board_name)
		d->name = strdup(d->board_name);
	if (!d->name)
		d->name = gp_pciacc_unknown_name(ctx, d->vendor, d->device);
}

/*
 * DDA moves a target with the other functions of its slot in its IOMMU group (policy/dda.c):
 * they are read in full too (IDs for the record, holders of their nodes, their names), and
 * nothing else: a companion of a companion is the same slot.
 */
static int add_companions(struct gp_scan *s, struct gp_device ***tv, size_t *n_tv)
{
	size_t i, k, n = *n_tv;

	for (i = 0; i < n; i++) {
		struct gp_device *t = (*tv)[i];
		const struct gp_iommu_group *g;

		if (!t->full || t->is_vf || !(g = gp_host_group(s->host, t->iommu_group)))
			continue;
		for (k = 0; k < g->n_members; k++) {
			struct gp_pci_addr a;
			struct gp_device *m, **slot;

			if (gp_pci_addr_parse(g->members[k], &a) < 0 ||
			    !(m = gp_host_find(s->host, &a)) || m->full || m->is_vf ||
			    !gp_pci_addr_same_slot(&a, &t->addr))
				continue;
			gp_scan_detail(s, m, GP_DETAIL_FULL);
			slot = GP_PUSH(*tv, *n_tv);
			if (!slot)
				return -ENOMEM;
			*slot = m;
		}
	}
	return 0;
}

/* long: the scan's order (devices, targets, their VFs and ports, groups, mdevs, host facts,
 * open files) is the point of this function; each step is a call. */
int gp_host_scan(struct gp_ctx *ctx, unsigned flags, const struct gp_pci_addr *targets,
		 size_t n_targets, struct gp_host **out)
{
	struct gp_scan s = { .flags = flags, .targets = targets, .n_targets = n_targets };
	struct gp_device **tv = NULL;
	size_t i, n_tv = 0;
	int r;

	s.host = calloc(1, sizeof(*s.host));
	if (!s.host)
		return -ENOMEM;
	s.host->ctx = ctx;
	s.root_fd = gp_hostfs_root_fd(ctx);
	s.devices_fd = gp_hostfs_open_dir(ctx, GP_HP_PCI_DEVICES, NULL);
	if (s.devices_fd < 0) {
		char p[4096];

		r = s.devices_fd;
		gp_hostfs_abspath(ctx, GP_HP_PCI_DEVICES, NULL, p, sizeof(p));
		ERR(ctx, "%s: %s (is the root a Linux host tree?)", p, strerror(-r));
		goto fail;
	}
	r = list_devices(&s);
	if (r < 0)
		goto fail;

	for (i = 0; i < n_targets && !(flags & GP_SCAN_TARGETS_OPTIONAL); i++) {
		if (!gp_host_find(s.host, &targets[i])) {
			char a[GP_ADDR_LEN];

			ERR(ctx, "%s: no such PCI device", gp_pci_addr_format(&targets[i], a));
			r = -ENODEV;
			goto fail;
		}
	}

	for (i = 0; i < s.host->n_devs; i++) {
		struct gp_device *d = s.host->devs[i], **slot;
		char rel[64], buf[64];

		/* A VF is a partition of its PF, never a GPU of its own: one readlink tells, and
		 * on an SR-IOV host most functions are VFs, so their class is not worth reading. */
		snprintf(rel, sizeof(rel), "%s/physfn", d->address);
		if (gp_hostfs_link_base_at(s.devices_fd, rel, buf, sizeof(buf)) > 0) {
			d->is_vf = true;
			d->physfn = find_str(s.host, buf);
		} else {
			read_class(&s, d);
		}
		if (!is_target(&s, d))
			continue;
		slot = GP_PUSH(tv, n_tv);
		if (!slot) {
			r = -ENOMEM;
			goto fail;
		}
		*slot = d;
	}
	/* mdevs first: detail_full attaches them to their parents as it goes */
	r = gp_scan_mdevs(&s);
	if (r < 0)
		goto fail;
	for (i = 0; i < n_tv; i++)
		gp_scan_detail(&s, tv[i], GP_DETAIL_FULL);
	for (i = 0; i < n_tv; i++) {
		if (tv[i]->is_vf && !tv[i]->full) /* a partition, not a target */
			continue;
		r = gp_scan_group(&s, tv[i]->iommu_group);
		if (r < 0)
			goto fail;
	}
	if (flags & GP_SCAN_COMPANIONS) {
		r = add_companions(&s, &tv, &n_tv);
		if (r < 0)
			goto fail;
	}
	r = gp_scan_host_facts(&s);
	if (r < 0)
		goto fail;
	r = scan_catalogues(&s, tv, n_tv);
	if (r < 0)
		goto fail;
	mark_no_reset(s.host);
	count_bus_siblings(s.host);
	if (flags & GP_SCAN_OPEN_FILES)
		gp_scan_open_files(&s, tv, n_tv);
	for (i = 0; i < n_tv; i++)
		if (tv[i]->full)
			device_name(ctx, tv[i]);
	free(tv);
	close(s.devices_fd);
	*out = s.host;
	return 0;
fail:
	free(tv);
	if (s.devices_fd >= 0)
		close(s.devices_fd);
	gp_host_free(s.host);
	return r;
}
