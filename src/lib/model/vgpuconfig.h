/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NVIDIA vGPU manager's vgpuConfig.xml (ROOT/usr/share/nvidia/vgpu/vgpuConfig.xml), the
 * table nvidia-vgpud serves the driver from: every vGPU type (<vgpuType id name class> with its
 * <profileSize>) and, per physical board (<pgpu> with its <devId>), the types it supports with
 * NVIDIA's maximum per GPU (<supportedVgpu vgpuId><maxVgpus>). XenServer's xapi reads the same
 * file (ocaml/xapi/xapi_vgpu_type.ml, Vendor_nvidia: subsystemId 0x0 is a wildcard).
 *
 * The file is untrusted input: bounded in size, parsed without network, DTD or entities
 * (host/xml.h), every id and number validated; one bad entry refuses the whole file, so a
 * catalogue is never built from half of it.
 */
#ifndef GPUPART_MODEL_VGPUCONFIG_H
#define GPUPART_MODEL_VGPUCONFIG_H

#include <gpupart/model.h>

#define GP_VGPUCONFIG_MAX_BYTES (16u << 20) /* vGPU 17's file is a few MiB */

struct gp_vgpuconfig;

/*
 * Parses the file's text. 0; -EINVAL when it is not a vgpuConfig.xml gpupart can trust (@why,
 * @why_len: the first reason, for the warning); -ENOTSUP without libxml2; -ENOMEM.
 */
int gp_vgpuconfig_parse(struct gp_ctx *ctx, const char *text, size_t len,
			struct gp_vgpuconfig **out, char *why, size_t why_len);
void gp_vgpuconfig_free(struct gp_vgpuconfig *c);

/*
 * The catalogue of the board vendor:device subvendor:subdevice (the PF's IDs): the types of
 * its <pgpu> (one with this exact subsystem first, else the subsystemId 0x0 one), in the
 * file's order, with fb_bytes from profileSize (the size the name states; <framebuffer> is
 * what is left after the driver's reservation) and max_instances from maxVgpus
 * (max_from_driver). *@n 0 when the file does not know the board. 0 or -ENOMEM.
 */
int gp_vgpuconfig_catalogue(const struct gp_vgpuconfig *c, int vendor, int device,
			    int subvendor, int subdevice, struct gp_vgpu_type **out, size_t *n);

/* The board's name from its whole-GPU type's (the largest time-sliced one): the name up to
 * its last '-' ("NVIDIA H200X-141C" -> "NVIDIA H200X"). NULL when none or out of memory. */
char *gp_vgpu_board_name(const struct gp_vgpu_type *t, size_t n);

#endif
