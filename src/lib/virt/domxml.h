/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A domain's inactive XML for Discrete Device Assignment, read and edited as a tree (libxml2
 * through host/xml.h, never as text): what the domain has (q35, OVMF, its 64-bit window,
 * its guest address width), the MMIO edits attach makes with the record of what they
 * changed, and detach's exact undoing of that record. Pure: no libvirt here (virt/domain.c
 * defines what these return).
 */
#ifndef GPUPART_VIRT_DOMXML_H
#define GPUPART_VIRT_DOMXML_H

#include <stddef.h>

#include <gpupart/virt.h>

/* gpupart's namespace in a domain's <metadata> (the record of what attach changed). */
#define GP_DOMXML_NS "https://gpupart.org/xmlns/dda/1"
#define GP_DOMXML_NS_PREFIX "gpupart"
#define GP_DOMXML_QEMU_NS "http://libvirt.org/schemas/domain/qemu/1.0"

/* The facts of @xml (q35, ovmf, pcihole64_kib, ...; @fns as in gp_virt_dda) into @d. 0,
 * -EINVAL when it is no domain XML, -ENOMEM. */
int gp_domxml_facts(const char *xml, const char *const *fns, size_t n_fns,
		    struct gp_virt_domain *d);

/*
 * The index of a pcie-root-port no device sits on yet (the GPU's functions go there, in its
 * one slot): >= 0, or -ENOENT when every root port is taken, -EINVAL, -ENOMEM.
 */
int gp_domxml_free_port(const char *xml);
/* @xml with one more <controller type='pci' model='pcie-root-port'/> (libvirt numbers it). */
int gp_domxml_add_port(const char *xml, char **out);

/*
 * @xml with the MMIO edits of @a (the 64-bit window on the root controller, OVMF's aperture,
 * the guest's address width; never lowering a larger value) and gpupart's record of them:
 * the GPU's functions, the guest bus @bus they go on, @port_added (gpupart added that root
 * port). Each change as a line "ELEMENT: BEFORE -> AFTER" in @lines (none: nothing but the
 * record). 0, -EEXIST when the domain holds a record already, -EINVAL, -ENOMEM.
 */
int gp_domxml_attach(const char *xml, const struct gp_virt_dda *a, int bus, bool port_added,
		     char **out, char ***lines, size_t *n_lines);

/* The record in @xml: its functions (free with gp_strv_free), the bus, whether the port was
 * gpupart's. -ENOENT without a record. */
int gp_domxml_record(const char *xml, char ***fns, size_t *n_fns, int *bus, bool *port_added);

/* @xml with the record's changes put back and the record gone (the hostdevs are libvirt's
 * to detach, before this). Lines as for gp_domxml_attach. -ENOENT without a record. */
int gp_domxml_detach(const char *xml, char **out, char ***lines, size_t *n_lines);

/* One <hostdev> for host function @fn at guest bus @bus, slot 0, function @fn's; with
 * multifunction='on' when @multi. */
int gp_domxml_hostdev(const char *fn, int bus, bool multi, char **out);

/* Partitions (assign): the alias of @dev's <hostdev> (GP_VIRT_ALIAS_PREFIX...), and the
 * <hostdev> of @part ("pci dddd:bb:dd.f" or "mdev UUID") with it. -EINVAL, -ENOMEM. */
int gp_domxml_part_alias(const char *dev, char *buf, size_t len);
int gp_domxml_part_hostdev(const char *part, char **out);

#endif
