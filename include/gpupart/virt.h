/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt, read-only: which domains name a device. virt.c is the only file that includes
 * <libvirt/libvirt.h>.
 */
#ifndef GPUPART_VIRT_H
#define GPUPART_VIRT_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/gpupart.h>

struct gp_virt_use {
	char *domain;   /* domain name */
	char uuid[37];  /* domain UUID */
	bool active;    /* running (its live XML was read) or only defined */
	char *device;   /* what it names: a PCI address "dddd:bb:dd.f" or an mdev UUID */
};

/*
 * Every domain on @uri (NULL: libvirt's default URI for this user), running or only defined,
 * whose configuration (live XML for running domains, persistent XML too when it differs)
 * names one of @pci_addrs (canonical "dddd:bb:dd.f") as a <hostdev type='pci'> or
 * <interface type='hostdev'> source, or one of @mdev_uuids as a <hostdev type='mdev'> source.
 * Returns the number of uses (*out, free with gp_virt_uses_free), or -errno:
 *   -ECONNREFUSED  no libvirt reachable at @uri (logged at info: the caller decides whether
 *                  that is a warning);
 *   -EIO           libvirt answered with an error (logged);
 *   -ENOMEM.
 * libvirt's own error printing is silenced: everything goes through the context's log.
 */
int gp_virt_find_users(struct gp_ctx *ctx, const char *uri, const char *const *pci_addrs,
		       size_t n_pci, const char *const *mdev_uuids, size_t n_mdev,
		       struct gp_virt_use **out);
void gp_virt_uses_free(struct gp_virt_use *v, size_t n);

/* Pure: the uses in one domain XML document (for tests and the hook path). -EINVAL on XML
 * that does not parse. */
int gp_virt_parse_domain_xml(const char *xml, const char *const *pci_addrs, size_t n_pci,
			     const char *const *mdev_uuids, size_t n_mdev, struct gp_virt_use **out,
			     size_t *n_out);

#endif
