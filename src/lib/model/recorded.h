/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vGPU catalogue gpupart records itself (source 3 of the vendor-VFIO shape): the union of
 * the VFs' creatable_vgpu_types at the one moment it is the whole catalogue, right after
 * sriov-manage -e enabled the VFs and before any type is set (every VF on nvidia with its
 * nvidia/ directory, every current_vgpu_type 0, every list non-empty). Written by set-count and
 * apply (a file step of the gpu change, kinds/gpu.c), never by list or survey; read back by the
 * scan, strictly.
 *
 * One file per board, ROOT/var/lib/gpupart/catalogue/VVVV:DDDD:SVVV:SDDD (the PF's vendor,
 * device, subsystem vendor and subsystem IDs), one line record each (shared/record.h):
 *
 *   catalogue 1 board=10de:26b9:10de:1851 driver=550.90.05 types=19
 *   type 1145 NVIDIA L40S-1B
 *   ...
 *
 * "1" is the format; driver= the NVIDIA driver that listed the types (sys/module/nvidia/
 * version): another driver's record is not used, since type ids are driver-local; types= the
 * number of type lines that follow (a record cut short is refused).
 */
#ifndef GPUPART_MODEL_RECORDED_H
#define GPUPART_MODEL_RECORDED_H

#include <gpupart/model.h>

#define GP_RECORDED_MAX_BYTES (1u << 20)

/* The board's key, "10de:26b9:10de:1851" (buf of at least 20 bytes); -EINVAL when an ID is
 * unknown. */
int gp_recorded_key(const struct gp_device *pf, char *buf, size_t len);
/* The NVIDIA driver's version (sys/module/nvidia/version, trimmed); -ENOENT when absent,
 * -EINVAL when it is not a version (empty, a blank or a control character). */
int gp_nvidia_version(struct gp_ctx *ctx, char *buf, size_t len);

/*
 * A record's text for @key and @driver into types (key "ID", name, series, MIG and size from
 * the name, no maxima). Pure. 0; -EINVAL with "line N: why" (damaged: not the format, cut
 * short, another board's); -ESTALE with why (another format version or another driver's).
 */
int gp_recorded_parse(const char *text, size_t len, const char *key, const char *driver,
		      struct gp_vgpu_type **out, size_t *n, char *why, size_t why_len);
/* The text of a record of @t[0..n) for @key and @driver; NULL when out of memory or when a
 * type would not read back (a name that is not printable ASCII). Pure. */
char *gp_recorded_format(const char *key, const char *driver, const struct gp_vgpu_type *t,
			 size_t n);

/* Source 3 for the scan: @pf's record, when there is one for this driver, as its catalogue
 * (catalogue_source RECORDED). A damaged or foreign record is a warning and not used. 0 or
 * -ENOMEM. */
int gp_recorded_read(struct gp_ctx *ctx, struct gp_device *pf);

/*
 * What set-count records for the scanned @pf, right after it enabled the VFs: 1 with the
 * file's root-relative @path and its new @text when the VFs' lists are complete, no better
 * source than these lists knows the board (vgpuConfig.xml, NVML) and the record on disk says
 * otherwise (absent, damaged, another driver's, other types); 0 when there is nothing to
 * record; -ENOMEM.
 */
int gp_recorded_wanted(struct gp_ctx *ctx, const struct gp_device *pf, char *path, size_t len,
		       char **text);

#endif
