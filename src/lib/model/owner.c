/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The GPU a device a domain names belongs to, from two sysfs links and no scan: the qemu
 * hook reads only what the domain names (gpupart(8), LIBVIRT HOOK). A VF's physfn link names
 * its PF (drivers/pci/iov.c, pci_iov_sysfs_link); an mdev's bus entry links to
 * .../PARENT/UUID (mdev_device_register() in drivers/vfio/mdev/mdev_core.c), and a parent
 * that is a VF belongs to that VF's PF.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <gpupart/model.h>

#include "base/internal.h"
#include "host/hostfs.h"

/* @name's PF in @buf (the function itself when it has no physfn): 0, or -ENOENT. */
static int pf_of(int devices_fd, const char *name, char buf[GP_ADDR_LEN])
{
	char rel[64], base[64];
	struct gp_pci_addr a;

	if (gp_pci_addr_parse(name, &a) < 0)
		return -ENOENT;
	gp_pci_addr_format(&a, buf);
	if (gp_hostfs_exists_at(devices_fd, buf) != 1)
		return -ENOENT;
	snprintf(rel, sizeof(rel), "%s/physfn", buf);
	if (gp_hostfs_link_base_at(devices_fd, rel, base, sizeof(base)) > 0 &&
	    gp_pci_addr_parse(base, &a) == 0)
		gp_pci_addr_format(&a, buf);
	return 0;
}

int gp_device_gpu_of(struct gp_ctx *ctx, const char *device, char gpu[GP_ADDR_LEN])
{
	char path[4096], *slash, *parent;
	int dfd, mfd, r;

	gpu[0] = 0;
	dfd = gp_hostfs_open_dir(ctx, GP_HP_PCI_DEVICES, NULL);
	if (dfd < 0)
		return -ENOENT;
	if (strlen(device) != 36) {
		r = pf_of(dfd, device, gpu);
		close(dfd);
		return r;
	}
	mfd = gp_hostfs_open_dir(ctx, GP_HP_MDEV_DEVICES, NULL);
	r = mfd < 0 ? -ENOENT : gp_hostfs_readlink_at(mfd, device, path, sizeof(path));
	if (mfd >= 0)
		close(mfd);
	if (r >= 0 && (slash = strrchr(path, '/'))) {
		*slash = 0;
		parent = strrchr(path, '/');
		r = pf_of(dfd, parent ? parent + 1 : path, gpu);
	} else {
		r = -ENOENT;
	}
	close(dfd);
	return r;
}
