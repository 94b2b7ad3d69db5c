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

/* How long the whole conversation with libvirt may take unless the caller says (ms). */
#define GP_VIRT_TIMEOUT_MS_DEFAULT 10000

/*
 * Every domain on @uri (NULL: libvirt's default URI for this user), running or only defined,
 * whose configuration (live XML for running domains, persistent XML too when it differs)
 * names one of @pci_addrs (canonical "dddd:bb:dd.f") as a <hostdev type='pci'> or
 * <interface type='hostdev'> source, or one of @mdev_uuids as a <hostdev type='mdev'> source.
 *
 * The whole conversation (connect, list, every domain's XML) takes at most @timeout_ms
 * (<= 0: GP_VIRT_TIMEOUT_MS_DEFAULT): it runs in a child process that loads libvirt, so the
 * caller never does, and that is killed when the time is up. Only where libvirt is already
 * loaded in the calling process (an application that uses libvirt itself, whose driver state
 * and threads a child would not have) does it run in the caller, without a bound.
 *
 * Returns the number of uses (*out, free with gp_virt_uses_free), or -errno:
 *   -ECONNREFUSED  no libvirt reachable at @uri, or none installed (logged at info for the
 *                  default URI, where that is unremarkable; as an error for a named @uri);
 *   -ETIMEDOUT     no complete answer within the time (logged as an error);
 *   -EIO           libvirt answered with an error (logged);
 *   -ENOMEM.
 * libvirt's own error printing is silenced: everything goes through the context's log.
 */
int gp_virt_find_users(struct gp_ctx *ctx, const char *uri, int timeout_ms,
		       const char *const *pci_addrs, size_t n_pci, const char *const *mdev_uuids,
		       size_t n_mdev, struct gp_virt_use **out);
void gp_virt_uses_free(struct gp_virt_use *v, size_t n);

/* Pure: the uses in one domain XML document (for tests and the hook path). -EINVAL on XML
 * that does not parse. */
int gp_virt_parse_domain_xml(const char *xml, const char *const *pci_addrs, size_t n_pci,
			     const char *const *mdev_uuids, size_t n_mdev, struct gp_virt_use **out,
			     size_t *n_out);

#endif
