/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one walk of the mdev bus (model/mdev-bus.h). */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <gpupart/model.h>

#include "base/internal.h"
#include "host/hostfs.h"
#include "model/mdev-bus.h"

int gp_mdev_bus_each(struct gp_ctx *ctx, gp_mdev_fn fn, void *data)
{
	struct dirent *e;
	int mfd, r = 0;
	DIR *dir;

	mfd = gp_hostfs_open_dir(ctx, GP_HP_MDEV_DEVICES, NULL);
	if (mfd < 0)
		return 0; /* no mdev bus on this host */
	dir = gp_hostfs_opendir_at(mfd, NULL);
	while (r == 0 && dir && (e = readdir(dir))) {
		struct gp_mdev_link m = { .uuid = e->d_name, .bus_fd = mfd };
		char path[4096], *slash, *parent;

		if (e->d_name[0] == '.' || strlen(e->d_name) != 36)
			continue;
		if (gp_hostfs_readlink_at(mfd, e->d_name, path, sizeof(path)) < 0)
			continue;
		/* ".../<parent>/<uuid>" */
		slash = strrchr(path, '/');
		if (!slash)
			continue;
		*slash = 0;
		parent = strrchr(path, '/');
		m.parent = parent ? parent + 1 : path;
		r = fn(data, &m);
	}
	if (dir)
		closedir(dir);
	close(mfd);
	return r;
}

int gp_mdev_link_type(const struct gp_mdev_link *m, char *buf, size_t len)
{
	char rel[64];
	int r;

	/* the UUID link climbs to sys/devices: readlinkat follows it (hostfs.c says why a
	 * readlink may) */
	snprintf(rel, sizeof(rel), "%s/mdev_type", m->uuid);
	r = gp_hostfs_link_base_at(m->bus_fd, rel, buf, len);
	return r == 0 ? -ENOENT : r;
}

int gp_mdev_link_group(const struct gp_mdev_link *m)
{
	char rel[64], name[32], *end;
	long g;

	snprintf(rel, sizeof(rel), "%s/iommu_group", m->uuid);
	if (gp_hostfs_link_base_at(m->bus_fd, rel, name, sizeof(name)) <= 0)
		return GP_UNKNOWN;
	g = strtol(name, &end, 10);
	if (*end || end == name || g < 0 || g > 0x7fffffff)
		return GP_UNKNOWN;
	return (int)g;
}
