/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host capture: the part of the host gpupart reads, as a tar that `--root` can read after
 * extraction. Only whitelisted attributes are copied: reading some sysfs files has side effects
 * or can hang (vpd, rom, resourceN), and writable control files are never touched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpupart/capture.h>

#include "host/hostfs.h"
#include <gpupart/model.h>

#include "base/internal.h"

static const char *const device_attrs[] = {
	"vendor", "device", "subsystem_vendor", "subsystem_device", "class", "revision", "irq",
	"numa_node", "local_cpus", "local_cpulist", "resource", "config", "reset_method",
	"boot_vga", "enable", "modalias", "driver_override",
	/* not label, index or acpi_index: reading them runs an ACPI _DSM method */
	"d3cold_allowed", "current_link_speed", "current_link_width", "max_link_speed",
	"max_link_width", "msi_bus", "power_state", "secondary_bus_number",
	"subordinate_bus_number", "sriov_totalvfs", "sriov_numvfs", "sriov_offset",
	"sriov_stride", "sriov_vf_device", "sriov_drivers_autoprobe", "sriov_vf_total_msix",
	"sriov_vf_msix_count",
};
static const char *const device_links[] = { "driver", "iommu_group", "physfn" };
static const char *const mdev_type_attrs[] = { "name", "description", "available_instances",
					       "device_api" };
/* what gpupart reads, no more: what reading vgpu_params or warm_update does is unknown */
static const char *const nvidia_attrs[] = { "creatable_vgpu_types", "current_vgpu_type" };
static const char *const iommu_attrs[] = { "intel-iommu/cap", "intel-iommu/ecap",
					   "intel-iommu/version", "intel-iommu/address",
					   "amd-iommu/cap", "amd-iommu/features" };

struct tar {
	int fd;
	int err;
	char buf[65536];
	size_t len;
	char **dirs; /* directories already written */
	size_t n_dirs;
};

static void tar_flush(struct tar *t)
{
	size_t off = 0;

	while (!t->err && off < t->len) {
		ssize_t n = write(t->fd, t->buf + off, t->len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			t->err = -errno;
			break;
		}
		off += (size_t)n;
	}
	t->len = 0;
}

static void tar_put(struct tar *t, const void *p, size_t n)
{
	while (n && !t->err) {
		size_t k = sizeof(t->buf) - t->len;

		if (k > n)
			k = n;
		memcpy(t->buf + t->len, p, k);
		t->len += k;
		p = (const char *)p + k;
		n -= k;
		if (t->len == sizeof(t->buf))
			tar_flush(t);
	}
}

static void tar_pad(struct tar *t, size_t n)
{
	static const char zero[512];

	if (n % 512)
		tar_put(t, zero, 512 - n % 512);
}

static void tar_header(struct tar *t, const char *name, char type, size_t size,
		       const char *link);

/* A GNU long name ('L') or long link target ('K') record: the string, NUL included. */
static void tar_longlink(struct tar *t, char type, const char *s)
{
	size_t n = strlen(s) + 1;

	tar_header(t, "././@LongLink", type, n, NULL);
	tar_put(t, s, n);
	tar_pad(t, n);
}

/* GNU ('oldgnu') header; names or links over 99 bytes get a ././@LongLink record first. */
static void tar_header(struct tar *t, const char *name, char type, size_t size,
		       const char *link)
{
	unsigned char h[512];
	unsigned sum = 0;
	size_t i;

	if (strlen(name) > 99)
		tar_longlink(t, 'L', name);
	if (link && strlen(link) > 99)
		tar_longlink(t, 'K', link);
	memset(h, 0, sizeof(h));
	strncpy((char *)h, name, 99);
	snprintf((char *)h + 100, 8, "%07o", type == '5' ? 0755 : type == '2' ? 0777 : 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011zo", size);
	snprintf((char *)h + 136, 12, "%011o", 0);
	h[156] = (unsigned char)type;
	if (link)
		strncpy((char *)h + 157, link, 99);
	memcpy(h + 257, "ustar  ", 8);
	strcpy((char *)h + 265, "root");
	strcpy((char *)h + 297, "root");
	memset(h + 148, ' ', 8);
	for (i = 0; i < sizeof(h); i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	tar_put(t, h, sizeof(h));
}

static bool seen_dir(struct tar *t, const char *dir)
{
	size_t i;

	for (i = 0; i < t->n_dirs; i++)
		if (strcmp(t->dirs[i], dir) == 0)
			return true;
	return false;
}

/* Writes dir and its missing parents. */
static void tar_dir(struct tar *t, const char *dir)
{
	char buf[4096], *slash;
	char **slot;

	if (!*dir || seen_dir(t, dir))
		return;
	snprintf(buf, sizeof(buf), "%s", dir);
	slash = strrchr(buf, '/');
	if (slash) {
		*slash = 0;
		tar_dir(t, buf);
	}
	snprintf(buf, sizeof(buf), "%s/", dir);
	tar_header(t, buf, '5', 0, NULL);
	slot = GP_PUSH(t->dirs, t->n_dirs);
	if (slot && !(*slot = strdup(dir)))
		t->n_dirs--;
}

static void parent_dir(struct tar *t, const char *path)
{
	char buf[4096], *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash) {
		*slash = 0;
		tar_dir(t, buf);
	}
}

/* Copies root/path if it is a readable file; absent files are simply not captured. */
static void tar_file(struct tar *t, struct gp_ctx *ctx, const char *path)
{
	char *data = NULL;
	ssize_t n;

	n = gp_hostfs_read_all_at(gp_hostfs_root_fd(ctx), path, &data);
	if (n < 0)
		return;
	parent_dir(t, path);
	tar_header(t, path, '0', (size_t)n, NULL);
	tar_put(t, data, (size_t)n);
	tar_pad(t, (size_t)n);
	free(data);
}

/* Copies root/path if it is a symlink, keeping the kernel's relative target text. */
static void tar_link(struct tar *t, struct gp_ctx *ctx, const char *path)
{
	char target[4096];

	if (gp_hostfs_readlink_at(gp_hostfs_root_fd(ctx), path, target, sizeof(target)) < 0)
		return;
	parent_dir(t, path);
	tar_header(t, path, '2', 0, target);
}

/* Resolves a relative link target against the link's directory, collapsing "..". */
static int resolve(const char *linkpath, const char *target, char *out, size_t len)
{
	char buf[8192], *comp, *save = NULL;
	size_t n = 0;

	if (target[0] == '/')
		return -EXDEV; /* absolute links would leave the root */
	snprintf(buf, sizeof(buf), "%s", linkpath);
	comp = strrchr(buf, '/');
	if (comp)
		*comp = 0;
	else
		buf[0] = 0;
	snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "/%s", target);
	out[0] = 0;
	for (comp = strtok_r(buf, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			char *s = strrchr(out, '/');

			if (!s && !n)
				return -EXDEV;
			if (s)
				*s = 0, n = strlen(out);
			else
				out[0] = 0, n = 0;
			continue;
		}
		if (n + strlen(comp) + 2 > len)
			return -ENAMETOOLONG;
		n += (size_t)snprintf(out + n, len - n, "%s%s", n ? "/" : "", comp);
	}
	return 0;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every entry of root/dir whose name starts with prefix, through fn. */
static void tar_each(struct tar *t, struct gp_ctx *ctx, const char *dir, const char *prefix,
		     void (*fn)(struct tar *, struct gp_ctx *, const char *))
{
	struct dirent *e;
	DIR *d = gp_hostfs_opendir_at(gp_hostfs_root_fd(ctx), dir);
	char path[4096], **names = NULL;
	size_t n = 0, i;

	/* sorted, so that the same host gives the same archive */
	while (d && (e = readdir(d))) {
		char **slot;

		if (e->d_name[0] == '.' || strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		slot = GP_PUSH(names, n);
		if (!slot || !(*slot = strdup(e->d_name))) {
			if (slot)
				n--;
			t->err = t->err ? t->err : -ENOMEM;
			break;
		}
	}
	if (d)
		closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), name_cmp);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < sizeof(path))
			fn(t, ctx, path);
		free(names[i]);
	}
	free(names);
}

static void tar_dir_only(struct tar *t, struct gp_ctx *ctx, const char *path)
{
	if (gp_hostfs_is_dir_at(gp_hostfs_root_fd(ctx), path) == 1)
		tar_dir(t, path);
}

static void tar_mdev_type(struct tar *t, struct gp_ctx *ctx, const char *tdir)
{
	char path[4096];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(mdev_type_attrs); i++) {
		snprintf(path, sizeof(path), "%s/%s", tdir, mdev_type_attrs[i]);
		tar_file(t, ctx, path);
	}
	snprintf(path, sizeof(path), "%s/devices", tdir);
	tar_dir(t, path);
	tar_each(t, ctx, path, "", tar_link);
}

static void tar_device_dir(struct tar *t, struct gp_ctx *ctx, const char *dir,
			   const struct gp_device *d)
{
	char path[4096];
	size_t i;

	tar_dir(t, dir);
	for (i = 0; i < ARRAY_SIZE(device_attrs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, device_attrs[i]);
		tar_file(t, ctx, path);
	}
	for (i = 0; i < ARRAY_SIZE(device_links); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, device_links[i]);
		tar_link(t, ctx, path);
	}
	tar_each(t, ctx, dir, "virtfn", tar_link);
	snprintf(path, sizeof(path), "%s/mdev_supported_types", dir);
	tar_each(t, ctx, path, "", tar_mdev_type);
	for (i = 0; i < ARRAY_SIZE(nvidia_attrs); i++) {
		snprintf(path, sizeof(path), "%s/nvidia/%s", dir, nvidia_attrs[i]);
		tar_file(t, ctx, path);
	}
	snprintf(path, sizeof(path), "%s/drm", dir);
	tar_each(t, ctx, path, "card", tar_dir_only);
	tar_each(t, ctx, path, "renderD", tar_dir_only);
	/* mdevs live in <parent>/<uuid>/ */
	for (i = 0; i < d->n_mdevs; i++) {
		snprintf(path, sizeof(path), "%s/%s/mdev_type", dir, d->mdevs[i].uuid);
		tar_link(t, ctx, path);
		snprintf(path, sizeof(path), "%s/%s/iommu_group", dir, d->mdevs[i].uuid);
		tar_link(t, ctx, path);
	}
}

static void tar_device(struct tar *t, struct gp_ctx *ctx, const struct gp_device *d)
{
	char link[512], target[4096], dir[4096], path[4096];

	if (gp_hostfs_path(GP_HP_PCI_DEVICE, d->address, link, sizeof(link)) < 0)
		return;
	if (gp_hostfs_readlink_at(gp_hostfs_root_fd(ctx), link, target, sizeof(target)) < 0 ||
	    resolve(link, target, dir, sizeof(dir)) < 0) {
		WARN(ctx, "%s: not captured (its sysfs link cannot be resolved)", d->address);
		return;
	}
	tar_link(t, ctx, link);
	tar_device_dir(t, ctx, dir, d);
	if (d->driver && gp_hostfs_path(GP_HP_PCI_DRIVERS, NULL, path, sizeof(path)) == 0) {
		size_t l = strlen(path);

		snprintf(path + l, sizeof(path) - l, "/%s/%s", d->driver, d->address);
		tar_link(t, ctx, path);
	}
}

static void tar_iommu_unit(struct tar *t, struct gp_ctx *ctx, const char *link)
{
	char target[4096], dir[4096], path[8192];
	size_t i;

	tar_link(t, ctx, link);
	if (gp_hostfs_readlink_at(gp_hostfs_root_fd(ctx), link, target, sizeof(target)) < 0 ||
	    resolve(link, target, dir, sizeof(dir)) < 0)
		return;
	tar_dir(t, dir);
	for (i = 0; i < ARRAY_SIZE(iommu_attrs); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, iommu_attrs[i]);
		tar_file(t, ctx, path);
	}
}

static void tar_group(struct tar *t, struct gp_ctx *ctx, const char *gdir)
{
	char path[4096];

	tar_dir(t, gdir);
	snprintf(path, sizeof(path), "%s/type", gdir);
	tar_file(t, ctx, path);
	snprintf(path, sizeof(path), "%s/devices", gdir);
	tar_dir(t, path);
	tar_each(t, ctx, path, "", tar_link);
}

/* A MIG GPU instance's capability directory, giM/access and a ciK/access per compute
 * instance (what model/scan-mig.c counts). */
static void tar_instance(struct tar *t, struct gp_ctx *ctx, const char *dir)
{
	char path[4096];

	tar_dir(t, dir);
	snprintf(path, sizeof(path), "%s/access", dir);
	tar_file(t, ctx, path);
}

static void tar_gpu_instance(struct tar *t, struct gp_ctx *ctx, const char *dir)
{
	tar_instance(t, ctx, dir);
	tar_each(t, ctx, dir, "ci", tar_instance);
}

/* capabilities/gpuN: its mig/ and the GPU instances in it */
static void tar_caps_gpu(struct tar *t, struct gp_ctx *ctx, const char *dir)
{
	char path[4096];

	if (strncmp(strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir, "gpu", 3) != 0)
		return;
	snprintf(path, sizeof(path), "%s/mig", dir);
	if (gp_hostfs_is_dir_at(gp_hostfs_root_fd(ctx), path) != 1)
		return;
	tar_dir(t, dir);
	tar_dir(t, path);
	tar_each(t, ctx, path, "gi", tar_gpu_instance);
}

static void tar_place(struct tar *t, struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg,
		      void (*each)(struct tar *, struct gp_ctx *, const char *))
{
	char path[512];

	if (gp_hostfs_path(hp, arg, path, sizeof(path)) < 0)
		return;
	if (!each) {
		tar_file(t, ctx, path);
		return;
	}
	if (gp_hostfs_is_dir_at(gp_hostfs_root_fd(ctx), path) != 1)
		return;
	tar_dir(t, path);
	tar_each(t, ctx, path, "", each);
}

int gp_capture_write(struct gp_ctx *ctx, const struct gp_host *host, int fd)
{
	struct tar *t = calloc(1, sizeof(*t));
	char path[512];
	size_t i;
	int r;

	if (!t)
		return -ENOMEM;
	t->fd = fd;
	/* these exist on every Linux host, PCI devices or not */
	if (gp_hostfs_path(GP_HP_PCI_DEVICES, NULL, path, sizeof(path)) == 0)
		tar_dir(t, path);
	if (gp_hostfs_path(GP_HP_PCI_DRIVERS, NULL, path, sizeof(path)) == 0)
		tar_dir(t, path);
	for (i = 0; i < host->n_devs; i++)
		if (host->devs[i]->detailed)
			tar_device(t, ctx, host->devs[i]);
	/* mdevctl's definitions on the mdev parents: who owns their mdevs */
	for (i = 0; i < host->n_devs; i++)
		if (host->devs[i]->detailed && host->devs[i]->n_mdevs)
			tar_place(t, ctx, GP_HP_MDEVCTL_PARENT, host->devs[i]->address, tar_file);
	tar_place(t, ctx, GP_HP_IOMMU_GROUPS, NULL, tar_group);
	tar_place(t, ctx, GP_HP_CLASS_IOMMU, NULL, tar_iommu_unit);
	tar_place(t, ctx, GP_HP_VFIO_T1_PARAMS, NULL, tar_file);
	tar_place(t, ctx, GP_HP_VFIO_PCI_PARAMS, NULL, tar_file);
	tar_place(t, ctx, GP_HP_CLASS_MDEV_BUS, NULL, tar_link);
	tar_place(t, ctx, GP_HP_MDEV_DEVICES, NULL, tar_link);
	if (gp_hostfs_path(GP_HP_MODULE, "nvidia_vgpu_vfio", path, sizeof(path)) == 0)
		tar_dir_only(t, ctx, path);
	/* the vGPU catalogue's sources: the vGPU manager's table, the driver version a
	 * recorded catalogue is keyed by, and the recorded catalogues themselves */
	tar_place(t, ctx, GP_HP_VGPU_CONFIG, NULL, NULL);
	if (gp_hostfs_path(GP_HP_MODULE, "nvidia", path, sizeof(path)) == 0 &&
	    strlen(path) + sizeof("/version") <= sizeof(path)) {
		strcat(path, "/version");
		tar_file(t, ctx, path);
	}
	tar_place(t, ctx, GP_HP_CATALOGUE_DIR, NULL, tar_file);
	/* what gpupart records: partitions.conf, dismounted.conf (what apply would do) */
	tar_place(t, ctx, GP_HP_CONFIG_DIR, NULL, tar_file);
	tar_place(t, ctx, GP_HP_CMDLINE, NULL, NULL);
	tar_place(t, ctx, GP_HP_INTERRUPTS, NULL, NULL);
	tar_place(t, ctx, GP_HP_OSRELEASE, NULL, NULL);
	for (i = 0; i < host->n_devs; i++) {
		const struct gp_device *d = host->devs[i];
		size_t l;

		if (!d->detailed || !d->driver || strcmp(d->driver, "nvidia") ||
		    gp_hostfs_path(GP_HP_NVIDIA_GPUS, NULL, path, sizeof(path)) < 0)
			continue;
		l = strlen(path);
		snprintf(path + l, sizeof(path) - l, "/%s/information", d->address);
		tar_file(t, ctx, path);
	}
	tar_place(t, ctx, GP_HP_NVIDIA_CAPS, NULL, tar_caps_gpu);
	/* two zero blocks end the archive */
	tar_put(t, (char[1024]){ 0 }, 1024);
	tar_flush(t);
	r = t->err;
	for (i = 0; i < t->n_dirs; i++)
		free(t->dirs[i]);
	free(t->dirs);
	free(t);
	return r;
}
