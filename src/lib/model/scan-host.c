/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Host-wide facts: IOMMU, interrupt remapping, the kernel command line, vfio parameters,
 * IOMMU group membership, and who holds a GPU's device nodes open. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "host/procfd.h"
#include "model/scan.h"

static int count_entries(struct gp_ctx *ctx, enum gp_hostpath hp)
{
	struct dirent *e;
	DIR *dir = gp_hostfs_opendir(ctx, hp, NULL);
	int n = 0;

	if (!dir)
		return 0;
	while ((e = readdir(dir)))
		if (e->d_name[0] != '.')
			n++;
	closedir(dir);
	return n;
}

/*
 * fbcon's vtconsole: drivers/tty/vt/vt.c registers each console driver as vtconN, "name" is
 * "(M) frame buffer device" for fbcon (fbcon_startup's description) and "bind" is
 * con_is_bound(). Bound, the console draws on a framebuffer, which unbinding its GPU takes
 * away (vfio-pci also removes a firmware framebuffer on the boot VGA:
 * aperture_remove_conflicting_pci_devices).
 */
static enum gp_tri fbcon_bound(struct gp_ctx *ctx)
{
	DIR *dir = gp_hostfs_opendir(ctx, GP_HP_VTCONSOLE, NULL);
	int root = gp_hostfs_root_fd(ctx);
	enum gp_tri r = GP_TRI_UNKNOWN;
	struct dirent *e;
	char base[64];

	if (!dir)
		return r;
	r = GP_TRI_NO;
	if (gp_hostfs_path(GP_HP_VTCONSOLE, NULL, base, sizeof(base)) < 0)
		base[0] = 0;
	while ((e = readdir(dir))) {
		char name[128], rel[300], bind[8];

		/* the entries are links into sys/devices/virtual: read them from the root,
		 * beneath which they resolve (beneath the class directory they would not) */
		if (e->d_name[0] == '.' || strlen(e->d_name) > 64 || !base[0])
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/name", base, e->d_name);
		if (gp_hostfs_read_at(root, rel, name, sizeof(name)) <= 0 ||
		    !strstr(name, "frame buffer device"))
			continue;
		snprintf(rel, sizeof(rel), "%s/%s/bind", base, e->d_name);
		if (gp_hostfs_read_at(root, rel, bind, sizeof(bind)) > 0 && bind[0] == '1')
			r = GP_TRI_YES;
	}
	closedir(dir);
	return r;
}

static bool cmdline_has(const char *cmdline, const char *prefix)
{
	const char *p = cmdline;
	size_t len = strlen(prefix);

	while (p && *p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, prefix, len) == 0)
			return true;
		p = strchr(p, ' ');
	}
	return false;
}

/*
 * Whether MSIs are isolated, from the chip column of /proc/interrupts. Pure: text in.
 *  - x86: a remapped chip carries the IR domain's prefix, "IR-PCI-MSI..." / "IR-IO-APIC"
 *    (kernel/irq/msi.c, msi_create_device_irq_domain(): "$(PREFIX)$(CHIPNAME)-$(DEVNAME)",
 *    the prefix from the parent's msi_parent_ops, "IR-" for drivers/iommu/intel/irq_remapping.c
 *    and amd/iommu.c); " PCI-MSI" with no prefix means MSIs go straight to the APIC: off.
 *  - arm64: the GICv3 ITS translates every MSI by its device ID and marks its domain
 *    IRQ_DOMAIN_FLAG_ISOLATED_MSI (drivers/irqchip/irq-gic-v3-its.c), which is what VFIO
 *    checks (iommu_group_has_isolated_msi(), drivers/vfio/vfio_iommu_type1.c); its chips are
 *    "ITS-PCI-MSIX-dddd:bb:dd.f" / "ITS-MSI" with no "IR-": on.
 *  - Only x86 prints the "LOC:" row, "Local timer interrupts" (arch/x86/kernel/irq.c,
 *    arch_show_interrupts()), and IO-APIC chips, so unprefixed PCI-MSI chips say "off" only
 *    beside them; any other architecture's chips (GICv2m, RISC-V IMSIC, s390, POWER XIVE)
 *    are not read here: unknown, never "off".
 */
enum gp_tri gp_interrupts_remapping(const char *text)
{
	bool x86;

	if (!text)
		return GP_TRI_UNKNOWN;
	if (strstr(text, " IR-") || strstr(text, " ITS-"))
		return GP_TRI_YES;
	x86 = strstr(text, "Local timer interrupts") || strstr(text, " IO-APIC");
	if (x86 && strstr(text, " PCI-MSI"))
		return GP_TRI_NO;
	return GP_TRI_UNKNOWN;
}

/* Without the chips we only know what the (x86) command line forbids. */
static enum gp_tri interrupt_remapping(struct gp_ctx *ctx, const char *cmdline)
{
	char *text = NULL;
	enum gp_tri r = GP_TRI_UNKNOWN;

	if (gp_hostfs_read_all(ctx, GP_HP_INTERRUPTS, NULL, &text) >= 0) {
		r = gp_interrupts_remapping(text);
		free(text);
	}
	if (r == GP_TRI_UNKNOWN && cmdline &&
	    (cmdline_has(cmdline, "intremap=off") || cmdline_has(cmdline, "nointremap")))
		r = GP_TRI_NO;
	return r;
}

int gp_scan_host_facts(struct gp_scan *s)
{
	struct gp_host *h = s->host;
	struct gp_ctx *ctx = h->ctx;
	char *text = NULL, path[256];
	int fd, r = 0;

	h->n_iommu_units = count_entries(ctx, GP_HP_CLASS_IOMMU);
	h->n_iommu_groups = count_entries(ctx, GP_HP_IOMMU_GROUPS);
	/* groups are what VFIO needs; iommu=pt still creates them, intel_iommu=off does not */
	h->iommu_enabled = h->n_iommu_groups > 0;

	if (gp_hostfs_read_all(ctx, GP_HP_CMDLINE, NULL, &text) >= 0) {
		h->cmdline = gp_strdup_trim(text);
		free(text);
	}
	h->acs_override = h->cmdline && cmdline_has(h->cmdline, "pcie_acs_override=");
	if (gp_hostfs_read_all(ctx, GP_HP_OSRELEASE, NULL, &text) >= 0) {
		h->kernel_release = gp_strdup_trim(text);
		free(text);
	}
	h->interrupt_remapping = interrupt_remapping(ctx, h->cmdline);

	h->unsafe_interrupts = GP_TRI_UNKNOWN;
	if (gp_hostfs_path(GP_HP_VFIO_UNSAFE_INTR, NULL, path, sizeof(path)) == 0) {
		char v[16];

		if (gp_hostfs_read_at(gp_hostfs_root_fd(ctx), path, v, sizeof(v)) > 0)
			h->unsafe_interrupts = (v[0] == 'Y' || v[0] == '1') ? GP_TRI_YES : GP_TRI_NO;
	}
	h->fbcon_bound = fbcon_bound(ctx);
	fd = gp_hostfs_open_dir(ctx, GP_HP_MODULE, "nvidia_vgpu_vfio");
	h->nvidia_vgpu_manager = fd >= 0;
	if (fd >= 0)
		close(fd);
	/* the module's MODULE_VERSION (kernel/params.c: /sys/module/NAME/version): the driver
	 * branch decides what vGPU software it is (live migration: gp_policy_nvidia_migration) */
	fd = gp_hostfs_open_dir(ctx, GP_HP_MODULE, "nvidia");
	if (fd >= 0) {
		char v[64];

		if (gp_hostfs_read_at(fd, "version", v, sizeof(v)) > 0 &&
		    !(h->nvidia_driver_version = gp_strdup_trim(v)))
			r = -ENOMEM;
		close(fd);
	}
	return r;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int gp_scan_group(struct gp_scan *s, int group)
{
	struct gp_host *h = s->host;
	struct gp_iommu_group *g;
	struct dirent *e;
	char id[16];
	size_t i;
	int gfd;
	DIR *dir;

	if (group < 0)
		return 0;
	for (i = 0; i < h->n_groups; i++)
		if (h->groups[i].id == group)
			return 0;
	g = GP_PUSH(h->groups, h->n_groups);
	if (!g)
		return -ENOMEM;
	g->id = group;
	snprintf(id, sizeof(id), "%d", group);
	gfd = gp_hostfs_open_dir(h->ctx, GP_HP_IOMMU_GROUP, id);
	if (gfd < 0) {
		WARN(h->ctx, "IOMMU group %d: cannot open its directory: %s", group,
		     strerror(-gfd));
		return 0;
	}
	dir = gp_hostfs_opendir_at(gfd, "devices");
	while (dir && (e = readdir(dir))) {
		struct gp_pci_addr a;
		struct gp_device *d;
		char **slot;

		if (gp_pci_addr_parse(e->d_name, &a) < 0)
			continue;
		slot = GP_PUSH(g->members, g->n_members);
		if (!slot)
			break;
		*slot = strdup(e->d_name);
		if (!*slot) {
			g->n_members--;
			break;
		}
		d = gp_host_find(h, &a);
		if (d)
			gp_scan_detail(s, d, GP_DETAIL_MEMBER);
	}
	if (dir)
		closedir(dir);
	close(gfd);
	/* a group can be empty (its last VF is going away): qsort(NULL, 0) is undefined */
	if (g->n_members > 1)
		qsort(g->members, g->n_members, sizeof(*g->members), str_cmp);
	return 0;
}

const struct gp_iommu_group *gp_host_group(const struct gp_host *host, int id)
{
	size_t i;

	for (i = 0; i < host->n_groups; i++)
		if (host->groups[i].id == id)
			return &host->groups[i];
	return NULL;
}

int gp_nvidia_minor(struct gp_ctx *ctx, const char *address)
{
	char *text = NULL, *p, *end;
	char rel[128];
	size_t l;
	long v;
	int r;

	/* the NVIDIA driver names its minor in /proc/driver/nvidia/gpus/ADDR/information,
	 * "Device Minor: \t 0" (nv-procfs.c) */
	r = gp_hostfs_path(GP_HP_NVIDIA_GPUS, NULL, rel, sizeof(rel));
	if (r < 0)
		return r;
	l = strlen(rel);
	if (strchr(address, '/') ||
	    (size_t)snprintf(rel + l, sizeof(rel) - l, "/%s/information", address) >= sizeof(rel) - l)
		return -EINVAL;
	if (gp_hostfs_read_all_at(gp_hostfs_root_fd(ctx), rel, &text) < 0)
		return -ENOENT;
	p = strstr(text, "Device Minor:");
	r = -EINVAL;
	if (p) {
		p += strlen("Device Minor:");
		while (*p == ' ' || *p == '\t')
			p++;
		errno = 0;
		v = strtol(p, &end, 10);
		if (isdigit((unsigned char)*p) && !errno && v <= 255 &&
		    (*end == '\n' || *end == 0 || *end == ' '))
			r = (int)v;
	}
	free(text);
	return r;
}

/* The device nodes through which host software uses a GPU. */
static size_t device_nodes(struct gp_ctx *ctx, const struct gp_device *d, char nodes[][64],
			   size_t max)
{
	size_t n = 0, i;

	for (i = 0; i < d->n_drm_nodes && n < max; i++)
		snprintf(nodes[n++], 64, "/dev/dri/%s", d->drm_nodes[i]);
	if (d->driver && strcmp(d->driver, "nvidia") == 0 && n < max) {
		int minor = gp_nvidia_minor(ctx, d->address);

		if (minor >= 0)
			snprintf(nodes[n++], 64, "/dev/nvidia%d", minor);
	}
	return n;
}

struct open_files {
	struct gp_device **devs;
	char (*nodes)[64];
	size_t *owner;
};

static int note_holder(void *data, const struct gp_holder *h)
{
	struct open_files *of = data;
	struct gp_device *d = of->devs[of->owner[h->pattern]];

	/* the first holder seen names the device's; a node of several devices is not a case
	 * (/dev/dri/X and /dev/nvidiaN are one GPU's each) */
	if (d->open_by)
		return 0;
	d->open_by_host = GP_TRI_YES;
	if (asprintf(&d->open_by, "pid %s (%s) holds %s", h->pid, h->comm,
		     of->nodes[h->pattern]) < 0)
		d->open_by = NULL;
	return 0;
}

void gp_scan_open_files(struct gp_scan *s, struct gp_device **devs, size_t n_devs)
{
	struct gp_ctx *ctx = s->host->ctx;
	char nodes[64][64];
	struct gp_node_pattern pat[64];
	size_t owner[64], n_nodes = 0, i, k;
	bool has_nodes[n_devs ? n_devs : 1];
	struct open_files of = { devs, nodes, owner };
	int seen;

	for (i = 0; i < n_devs; i++) {
		size_t got = device_nodes(ctx, devs[i], nodes + n_nodes, 64 - n_nodes);

		for (k = 0; k < got; k++)
			owner[n_nodes + k] = i;
		has_nodes[i] = got > 0;
		n_nodes += got;
		devs[i]->open_by_host = GP_TRI_UNKNOWN;
	}
	if (!n_nodes)
		return; /* nothing to look for: do not walk every process's fds */
	for (k = 0; k < n_nodes; k++)
		pat[k] = (struct gp_node_pattern){ .path = nodes[k], .match = GP_NODE_EXACT };
	seen = gp_procfd_holders(ctx, pat, n_nodes, note_holder, &of);
	/* only a /proc with processes in it can tell us that nobody holds a node */
	for (i = 0; seen > 0 && i < n_devs; i++)
		if (devs[i]->open_by_host == GP_TRI_UNKNOWN && has_nodes[i])
			devs[i]->open_by_host = GP_TRI_NO;
}
