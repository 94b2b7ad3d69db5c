/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Strict readers of the journal fields the kinds share (kinds/fields.c). */
#ifndef GPUPART_KINDS_FIELDS_H
#define GPUPART_KINDS_FIELDS_H

#include <stdbool.h>

#include "txn/txn.h"

/* "KEY=NAME" or "KEY=-": a driver or type name as the driver core has them (short, no path,
 * no blank), copied into *out (NULL for "-"). -EINVAL, -ENOMEM. */
int gp_kind_rec_name(const char *tok, const char *key, char **out);
/* A lowercase RFC 9562 UUID (sysfs's spelling of mdevs). */
bool gp_kind_rec_is_uuid(const char *s);
/* A PCI address in exactly the form gpupart writes ("0000:4e:00.1"). */
bool gp_kind_rec_is_addr(const char *s);
/* "KEY=VVVV:DDDD", four hex digits each. -EINVAL. */
int gp_kind_rec_idpair(const char *tok, const char *key, int *a, int *b);

#endif
