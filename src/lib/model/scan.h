/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Scanner internals shared by scan.c, scan-vgpu.c and scan-host.c. */
#ifndef GPUPART_SCAN_H
#define GPUPART_SCAN_H

#include <gpupart/model.h>

#include "base/internal.h"
#include "host/nvml.h"

enum gp_detail {
	GP_DETAIL_FULL,   /* a GPU / named target: everything */
	GP_DETAIL_VF,     /* a VF of a target: driver, group, vGPU state */
	GP_DETAIL_PORT,   /* a bridge above a target: identity and config (ACS) */
	GP_DETAIL_MEMBER, /* an IOMMU group companion: identity and driver */
};

struct gp_scan {
	struct gp_host *host;
	unsigned flags;
	const struct gp_pci_addr *targets;
	size_t n_targets;
	int devices_fd; /* sys/bus/pci/devices: for listing it and reading its links */
	int root_fd;    /* attributes are opened as root-relative paths, so that the device
			 * link (which climbs to sys/devices) resolves beneath the root */
	/* the vGPU manager's vgpuConfig.xml, read on the first NVIDIA vGPU GPU's catalogue
	 * (model/scan-catalogue.c): 0 not yet, 1 read, <0 absent or refused */
	struct gp_vgpuconfig *vgpuconfig;
	int vgpuconfig_state;
	/* NVML's answers, asked once for every GPU that needs them (model/scan-catalogue.c) */
	bool nvml_asked;
	const char **nvml_addrs;
	struct gp_nvml_gpu *nvml;
	size_t n_nvml;
};

/* "sys/bus/pci/devices/ADDR/" + attr, root-relative. */
int gp_scan_dev_path(const struct gp_device *d, const char *attr, char *buf, size_t len);

void gp_scan_detail(struct gp_scan *s, struct gp_device *d, enum gp_detail level);
/* mdev_supported_types of a function (PF or VF); attribute names are pfx + name under dfd
 * (pfx "" with the function's own fd, or "ADDR/" with the devices directory's). */
void gp_scan_mdev_types(struct gp_scan *s, int dfd, const char *pfx, struct gp_device *d);
/* NVIDIA's numeric type id of an mdev type directory name ("nvidia-575", "vfio-pci-575"),
 * or GP_UNKNOWN. */
int gp_mdev_type_id(const char *key);
/* nvidia/ vendor-VFIO state and mdev types of a VF. */
void gp_scan_vf_vgpu(struct gp_scan *s, int dfd, const char *pfx, struct gp_device *vf);
/* The vGPU catalogue of an NVIDIA PF (its VFs read): model/scan-catalogue.c. 0 or -ENOMEM. */
int gp_scan_catalogue(struct gp_scan *s, struct gp_device *pf);
/* The union of @pf's VFs' creatable_vgpu_types, a type once, in VF order (owned copies). 0 or
 * -ENOMEM. */
int gp_catalogue_union(const struct gp_device *pf, struct gp_vgpu_type **out, size_t *n);
/* Some VF of @pf has the NVIDIA vendor-specific VFIO nvidia/ directory. */
bool gp_catalogue_vendor_vfio(const struct gp_device *pf);
/* What the catalogues' sources held for the scan, released. */
void gp_scan_catalogue_done(struct gp_scan *s);
/* MIG mode and GPU instances of an NVIDIA PF, after its catalogue: model/scan-mig.c. */
int gp_scan_mig(struct gp_scan *s, struct gp_device *pf);
/* Every mdev on the host (sys/bus/mdev/devices), attached to its parent. */
int gp_scan_mdevs(struct gp_scan *s);
/* Who made each mdev of a GPU (the PF's and its VFs'): model/scan-vgpu.c. */
void gp_scan_mdev_owners(struct gp_scan *s, struct gp_device *pf);
/* An IOMMU group's members, detailed as companions. */
int gp_scan_group(struct gp_scan *s, int group);
int gp_scan_host_facts(struct gp_scan *s);
void gp_scan_open_files(struct gp_scan *s, struct gp_device **devs, size_t n);
/* The N of the NVIDIA GPU's /dev/nvidiaN (its "Device Minor"); -ENOENT when the driver says
 * nothing of it, -EINVAL when what it says is not a minor. */
int gp_nvidia_minor(struct gp_ctx *ctx, const char *address);

#endif
