/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reservation records: ROOT/run/gpupart/reservations/DEVICE, one file per partition a domain
 * was given by `assign` (DEVICE: the VF's address "dddd:bb:dd.f" or the mdev's UUID, in
 * lowercase), written in the same transaction as the domain edit, under the host lock, so two
 * concurrent `assign`s never pick the same partition. One line record (shared/record.h, one
 * space between fields):
 *
 *   reservation device=DEVICE uuid=DOMAIN-UUID domain=NAME gpu=dddd:bb:dd.f partition=ID
 *
 * uuid= is the owner (a domain is its UUID; a name can be reused); domain= its name as it was,
 * percent-encoded where it holds a blank, a control character or '%' ("my%20vm"), for people
 * and messages. The first line is also what set-count's and apply's guard show (gpupart(8),
 * FILES). /run is a tmpfs: the records go with a reboot, and the domains' own XML (their
 * hostdevs) is then what says who has what, until the hook takes them again.
 */
#ifndef GPUPART_RESV_H
#define GPUPART_RESV_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/gpupart.h>
#include <gpupart/model.h>

struct gp_resv {
	char device[40];           /* lowercase PCI address or mdev UUID: the file's name */
	char uuid[37];             /* the owner domain's UUID (lowercase) */
	char *domain;              /* its name (decoded) */
	char gpu[GP_ADDR_LEN];     /* the GPU's address */
	int partition;             /* its PartitionId on that GPU */
};

/* Pure. @s names a device as a record's file does: a canonical PCI address or a UUID, in
 * lowercase (never a path). */
bool gp_resv_device_ok(const char *s);
/* Pure. One record's text (its line and '\n'); NULL on ENOMEM or a field that cannot be
 * written (a device or UUID that is not one). */
char *gp_resv_format(const struct gp_resv *r);
/* Pure. Parses a record file's text (exactly one line, as gp_resv_format writes it, but the
 * domain name may be any percent-encoded text) named @name (it must equal device=):
 * 0, or -EINVAL with why in @err. */
int gp_resv_parse(const char *name, const char *text, struct gp_resv *out, char *err,
		  size_t errlen);
void gp_resv_clear(struct gp_resv *r);
void gp_resvs_free(struct gp_resv *v, size_t n);

/*
 * Every record under ROOT/run/gpupart/reservations (none when the directory is missing). A
 * file that is not a record (bad name, bad text, a link, not a regular file) is an error:
 * -EINVAL, logged with its path and why, since a record gpupart cannot read may hold a
 * device. 0 with *out (sorted by device), or -errno.
 */
int gp_resv_read_all(struct gp_ctx *ctx, struct gp_resv **out, size_t *n);
/* The record of @device (any case) in v[0..n), or NULL. */
const struct gp_resv *gp_resv_find(const struct gp_resv *v, size_t n, const char *device);

#endif
