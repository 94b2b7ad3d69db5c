/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The dismounted-devices record: ROOT/etc/gpupart/dismounted.conf, written by `dismount`,
 * read by `mount` (where each function goes back) and by `apply` (which dismounts them again
 * after a reboot, when the kernel has bound them to their native drivers). One PCI function
 * per line, by stable identity (its PCI path and IDs, as partitions.conf names GPUs), so a
 * renumbered bus still finds it and a swapped card is refused:
 *
 *   PCI-PATH  id=VVVV:DDDD subsystem=VVVV:DDDD gpu=PCI-PATH driver=NAME|- [address=dddd:bb:dd.f]
 *
 * gpu= is the path of the GPU the function went with (the GPU's own line names itself);
 * driver= the driver it had before (- for none). Format and rules: gpupart(8), FILES.
 */
#ifndef GPUPART_DISMOUNTED_H
#define GPUPART_DISMOUNTED_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/model.h>

#define GP_DISMOUNTED_FILE "dismounted.conf"

struct gp_dda_entry {
	char *path;                 /* the function's stable PCI path */
	char *gpu_path;             /* the GPU's */
	int vendor, device, subsystem_vendor, subsystem_device;
	char *driver;               /* its driver before the dismount; NULL: none */
	char address[GP_ADDR_LEN];  /* as last seen: informative, the path is what matches */
	int line;                   /* where it was read (0 when built in memory) */
};

struct gp_dda_record {
	struct gp_dda_entry *v;
	size_t n;
};

/* Pure. Parses the file's text; -EINVAL with "line N: why" in @err. A path twice is an
 * error; a gpu= that names no line of the file too. */
int gp_dda_record_parse(const char *text, struct gp_dda_record *out, char *err, size_t errlen);
/* Pure. The file's text (a header comment, then lines sorted by path); NULL on ENOMEM. */
char *gp_dda_record_format(const struct gp_dda_record *r);
void gp_dda_record_clear(struct gp_dda_record *r);
/* Adds (a copy of) @e, replacing a line of the same path. 0 / -ENOMEM. */
int gp_dda_record_set(struct gp_dda_record *r, const struct gp_dda_entry *e);
/* Removes every line of the GPU @gpu_path; how many. */
size_t gp_dda_record_unset_gpu(struct gp_dda_record *r, const char *gpu_path);
/* The line of function @path (any case), or NULL. */
const struct gp_dda_entry *gp_dda_record_find(const struct gp_dda_record *r, const char *path);
/* ROOT/etc/gpupart/dismounted.conf: a missing file is an empty record (0). -EINVAL on a
 * malformed file (logged with its line). */
int gp_dda_record_read(struct gp_ctx *ctx, struct gp_dda_record *out);
/* The file as messages name it (absolute, under the root). */
int gp_dda_record_file_path(struct gp_ctx *ctx, char *buf, size_t len);

/* The line for function @fn dismounted with @gpu, which had @driver (NULL: none). -errno
 * (-EINVAL: no stable identity). */
int gp_dda_entry_for(const struct gp_device *fn, const struct gp_device *gpu,
		     const char *driver, struct gp_dda_entry *out);
void gp_dda_entry_clear(struct gp_dda_entry *e);
/* The function a line names: 0 and *out; -ENODEV (no device at that path); -ESTALE (one
 * with other IDs: the hardware changed). */
int gp_dda_entry_match(const struct gp_host *host, const struct gp_dda_entry *e,
		       struct gp_device **out);

#endif
