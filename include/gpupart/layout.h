/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The desired partition layout: ROOT/etc/gpupart/partitions.conf, written by `set-count` and
 * reconciled by `apply`. One GPU per line, identified by a stable identity (its PCI path from
 * the root bus plus its vendor/device/subsystem IDs) so that a renumbered bus still finds it
 * and a swapped card is refused rather than repartitioned. Format and rules: gpupart(8),
 * FILES.
 */
#ifndef GPUPART_LAYOUT_H
#define GPUPART_LAYOUT_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/model.h>

#define GP_LAYOUT_FILE "partitions.conf"

struct gp_layout_entry {
	char address[GP_ADDR_LEN];  /* as last seen: informative, the path is what matches */
	char *path;                 /* "pci0000:40/01.1/00.0": root bus, then dev.fn per hop */
	int vendor, device, subsystem_vendor, subsystem_device;
	int count;                  /* partitions wanted, 0 = none */
	char series;                /* 'Q','C','B','A', or 0 = the default series */
	int line;                   /* where it was read (0 when built in memory) */
};

struct gp_layout {
	struct gp_layout_entry *v;
	size_t n;
};

/* Pure. Parses the file's text; on a bad line returns -EINVAL and writes "line N: why" into
 * err. Duplicate paths are an error. */
int gp_layout_parse(const char *text, struct gp_layout *out, char *err, size_t errlen);
/* Pure. The file's text (a header comment, then entries sorted by path); NULL on ENOMEM. */
char *gp_layout_format(const struct gp_layout *l);
/* Adds or replaces (by path) an entry; 0 / -ENOMEM. */
int gp_layout_set(struct gp_layout *l, const struct gp_layout_entry *e);
/* Removes the entry with @path; 1 when there was one, 0 when not. */
int gp_layout_unset(struct gp_layout *l, const char *path);
void gp_layout_clear(struct gp_layout *l);

/* ROOT/etc/gpupart/partitions.conf: a missing file is an empty layout (0). -EINVAL on a
 * malformed file (logged with its line). */
int gp_layout_read(struct gp_ctx *ctx, struct gp_layout *out);
/* Atomic replace (temp file, fsync, rename), mode 0644, directory created 0755. */
int gp_layout_write(struct gp_ctx *ctx, const struct gp_layout *l);
/* ROOT/etc/gpupart/partitions.conf as messages name it (absolute, under the root): 0, or
 * -ENAMETOOLONG. */
int gp_layout_file_path(struct gp_ctx *ctx, char *buf, size_t len);

/* An entry for dev, count and series (IDs and path filled in); -errno. */
int gp_layout_entry_for(const struct gp_device *dev, int count, char series,
			struct gp_layout_entry *out);
/* The GPU an entry names: 0 and *out; -ENODEV when no device sits at that path; -ESTALE when
 * one does but its IDs differ (the hardware changed: refuse). */
int gp_layout_match(const struct gp_host *host, const struct gp_layout_entry *e,
		    struct gp_device **out);
/* The device at stable PCI path @path (any case) with IDs @ids (vendor, device, subsystem
 * vendor, subsystem device): as gp_layout_match. */
int gp_layout_find(const struct gp_host *host, const char *path, const int ids[4],
		   struct gp_device **out);
/* Checks a PCI path (pciDDDD:BB/DD.F...) and writes its canonical lowercase form into @buf
 * (at least strlen(s)+1 bytes): 0, -EINVAL. */
int gp_layout_path_canon(const char *s, char *buf);

#endif
