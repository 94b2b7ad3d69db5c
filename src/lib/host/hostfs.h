/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Host filesystem access under the context's root. hostfs.c is the only file that spells a
 * host path; everything else names a well-known place (enum gp_hostpath) and, inside a device
 * directory, an attribute name relative to that directory's fd.
 */
#ifndef GPUPART_HOSTFS_H
#define GPUPART_HOSTFS_H

#include <dirent.h>
#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>

#include "base/internal.h"

enum gp_hostpath {
	GP_HP_PCI_DEVICES,       /* sys/bus/pci/devices */
	GP_HP_PCI_DEVICE,        /* sys/bus/pci/devices/ARG */
	GP_HP_PCI_DRIVERS,       /* sys/bus/pci/drivers */
	GP_HP_IOMMU_GROUPS,      /* sys/kernel/iommu_groups */
	GP_HP_IOMMU_GROUP,       /* sys/kernel/iommu_groups/ARG */
	GP_HP_CLASS_IOMMU,       /* sys/class/iommu */
	GP_HP_VTCONSOLE,         /* sys/class/vtconsole: the console drivers, bound or not */
	GP_HP_CLASS_MDEV_BUS,    /* sys/class/mdev_bus */
	GP_HP_MDEV_DEVICES,      /* sys/bus/mdev/devices */
	GP_HP_MODULE,            /* sys/module/ARG */
	GP_HP_VFIO_UNSAFE_INTR,  /* sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts */
	GP_HP_VFIO_PCI_PARAMS,   /* sys/module/vfio_pci/parameters */
	GP_HP_VFIO_T1_PARAMS,    /* sys/module/vfio_iommu_type1/parameters */
	GP_HP_CMDLINE,           /* proc/cmdline */
	GP_HP_INTERRUPTS,        /* proc/interrupts */
	GP_HP_OSRELEASE,         /* proc/sys/kernel/osrelease */
	GP_HP_PROC,              /* proc */
	GP_HP_NVIDIA_GPUS,       /* proc/driver/nvidia/gpus */
	GP_HP_NVIDIA_CAPS,       /* proc/driver/nvidia/capabilities */
	GP_HP_NVIDIA_MIG_CAPS,   /* proc/driver/nvidia/capabilities/gpuARG/mig (ARG: the minor) */
	GP_HP_DEV_DRI,           /* dev/dri/ARG */
	GP_HP_DEV_VFIO,          /* dev/vfio/ARG */
	GP_HP_SYS_DEVICES,       /* sys/devices */
	GP_HP_STATE_DIR,         /* run/gpupart */
	GP_HP_CONFIG_DIR,        /* etc/gpupart */
	GP_HP_STATE_FILE,        /* run/gpupart/ARG */
	GP_HP_CONFIG_FILE,       /* etc/gpupart/ARG */
	GP_HP_RESERVATIONS,      /* run/gpupart/reservations */
	GP_HP_PCI_DRIVERS_PROBE, /* sys/bus/pci/drivers_probe */
	GP_HP_PCI_DRIVER,        /* sys/bus/pci/drivers/ARG */
	GP_HP_MDEV_DEVICE,       /* sys/bus/mdev/devices/ARG */
	GP_HP_DEV,               /* dev */
	GP_HP_SRIOV_MANAGE,      /* usr/lib/nvidia/sriov-manage */
	GP_HP_VGPU_CONFIG,       /* usr/share/nvidia/vgpu/vgpuConfig.xml (the vGPU manager's) */
	GP_HP_CATALOGUE_DIR,     /* var/lib/gpupart/catalogue (recorded vGPU catalogues) */
	GP_HP_CATALOGUE_FILE,    /* var/lib/gpupart/catalogue/ARG */
	GP_HP_MODPROBE,          /* sbin/modprobe */
	GP_HP_MDEVCTL_PARENT,    /* etc/mdevctl.d/ARG: mdevctl's definitions on parent ARG */
	GP_HP_CPUINFO,           /* proc/cpuinfo (the host's physical address width) */
	GP_HP_LIBVIRT_GUESTS,    /* etc/default/libvirt-guests (what host shutdown does to VMs) */
	GP_HP_NUMA_NODES,        /* sys/devices/system/node (nodeN/cpulist: a VM's vCPU node) */
};

/* Opens ctx->rootfd; the root must be a directory. */
int gp_hostfs_open_root(struct gp_ctx *ctx);

/* The root-relative path of a well-known place (no leading '/'); buf of len bytes. */
int gp_hostfs_path(enum gp_hostpath hp, const char *arg, char *buf, size_t len);
/* The absolute path, for messages. */
int gp_hostfs_abspath(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg, char *buf,
		      size_t len);

/* Opens a well-known directory as an O_PATH fd (follows links); -errno. */
int gp_hostfs_open_dir(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg);
/* Opens dirfd/name as an O_PATH directory fd, beneath dirfd; -errno. */
int gp_hostfs_open_dir_at(int dirfd, const char *name);
/* Opens a well-known directory for listing; NULL with errno set. */
DIR *gp_hostfs_opendir(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg);
/* Lists entries of dirfd/name (or dirfd itself when name is NULL), skipping dot entries. */
DIR *gp_hostfs_opendir_at(int dirfd, const char *name);

/* Reads a text attribute at dirfd/name into buf, strips the trailing newline; returns the
 * length or -errno (-ENOENT when absent). Truncates silently at len-1. */
int gp_hostfs_read_at(int dirfd, const char *name, char *buf, size_t len);
/* Reads a whole file (text or binary) into a new buffer (NUL-terminated); returns its size. */
ssize_t gp_hostfs_read_all_at(int dirfd, const char *name, char **out);
ssize_t gp_hostfs_read_all(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg, char **out);
/* Like read_all_at for a sysfs attribute: one read, a short read is the end. */
ssize_t gp_hostfs_read_attr_at(int dirfd, const char *name, char **out);
/* Reads up to len bytes of a binary file; returns the count or -errno. */
ssize_t gp_hostfs_read_bin_at(int dirfd, const char *name, void *buf, size_t len);
/* Reads a symlink at dirfd/name; returns the length or -errno. */
int gp_hostfs_readlink_at(int dirfd, const char *name, char *buf, size_t len);
/* Like readlink_at but returns only the last path component. */
int gp_hostfs_link_base_at(int dirfd, const char *name, char *buf, size_t len);
/* 1 if dirfd/name exists (without following a final link), 0 if not, -errno otherwise. */
int gp_hostfs_exists_at(int dirfd, const char *name);
int gp_hostfs_is_dir_at(int dirfd, const char *name);
int gp_hostfs_root_fd(struct gp_ctx *ctx);

/*
 * Writing. Sysfs attributes are written by the kernel-ops layer (kernel.c), which calls
 * gp_hostfs_write_attr on the live host; files gpupart owns (the layout, the journal, the
 * lock) are written here, always atomically.
 */
/* Writes value to the existing attribute at root-relative path, in one write(2); -errno. */
int gp_hostfs_write_attr(struct gp_ctx *ctx, const char *path, const char *value, size_t len);
/* Creates a well-known directory and its parents (mode for the ones created); -errno. */
int gp_hostfs_mkdirs(struct gp_ctx *ctx, enum gp_hostpath hp, mode_t mode);
/* Replaces dir/name with data: temp file, fsync, rename, fsync of the directory. The
 * directory is created (mode dir_mode) when missing. -errno. */
int gp_hostfs_write_file(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name,
			 const void *data, size_t len, mode_t mode, mode_t dir_mode);
/* Removes dir/name (and syncs the directory); a missing file is success. */
int gp_hostfs_unlink(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name);
/* Opens (creating with mode) dir/name for reading and writing; the fd or -errno. */
int gp_hostfs_open_file(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name, mode_t mode);
/* Opens an existing regular file dir/name read-only (never a link, a FIFO or a device); the
 * fd, -ENOENT when absent, -EINVAL when it is not a regular file, or -errno. */
int gp_hostfs_open_file_ro(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name);
/* Reads a whole regular file dir/name (as open_file_ro) into a new NUL-terminated buffer;
 * its size, or -errno as above. */
ssize_t gp_hostfs_read_regular(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name,
			       char **out);

/* Reads a whole regular file at a well-known place (links followed, beneath the root) into a
 * new NUL-terminated buffer; its size, -ENOENT when absent, -EINVAL when not a regular file,
 * -EFBIG when over @max bytes, or -errno. For files other programs own and we only read. */
ssize_t gp_hostfs_read_bounded(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg,
			       size_t max, char **out);

/* Parses "0x10de", "10de", "12" ... (base 0 or 16) from an attribute; -EINVAL on garbage. */
int gp_hostfs_read_long_at(int dirfd, const char *name, int base, long *out);

#endif
