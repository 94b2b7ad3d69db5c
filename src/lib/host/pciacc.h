/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The libpci wrapper: pciacc.c is the only file that includes <pci/pci.h>. */
#ifndef GPUPART_PCIACC_H
#define GPUPART_PCIACC_H

#include <stdint.h>

#include <gpupart/model.h>

#include "base/internal.h"

struct gp_pciacc;

void gp_pciacc_free(struct gp_pciacc *pa);

/*
 * Decodes capability chains from a config-space image we already read (len bytes; 64 when the
 * reader is unprivileged). libpci does the walking on a cache of our bytes, so it never opens
 * the file itself. Returns 0 or -errno (the libpci error is logged).
 */
int gp_pciacc_decode(struct gp_ctx *ctx, const struct gp_pci_addr *addr, const uint8_t *cfg,
		     int len, struct gp_config_facts *out);

/* "Vendor Device" from the PCI ID database, subsystem-specific when it has one. */
char *gp_pciacc_name(struct gp_ctx *ctx, int vendor, int device, int subvendor, int subdevice);
/* What lspci prints for an ID the database lacks: "NVIDIA Corporation Device 2bb5", or
 * "Device 10de:2bb5" when it lacks the vendor too. NULL only when out of memory. */
char *gp_pciacc_unknown_name(struct gp_ctx *ctx, int vendor, int device);

#endif
