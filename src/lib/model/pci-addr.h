/* SPDX-License-Identifier: GPL-2.0-or-later */
/* PCI addresses beyond gpupart/model.h's parse and format: where a PF's VFs sit. */
#ifndef GPUPART_MODEL_PCI_ADDR_H
#define GPUPART_MODEL_PCI_ADDR_H

#include <gpupart/model.h>

/*
 * The one VF-address computation: VF @index of @pf sits at routing ID PF + First VF Offset +
 * index * VF Stride (pci_iov_virtfn_bus/devfn in drivers/pci/iov.c), in the PF's domain.
 * 0 with *out; -EINVAL when the PF gives no offset/stride or @index is not 0..0xffff, -ERANGE
 * when the VF would fall off the bus range.
 */
int gp_pci_vf_addr(const struct gp_device *pf, int index, struct gp_pci_addr *out);
/* The same, formatted into @out ("" on error). */
int gp_vf_addr_at(const struct gp_device *pf, int index, char out[GP_ADDR_LEN]);

#endif
