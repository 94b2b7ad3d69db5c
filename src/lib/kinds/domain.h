/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The domain kind: one libvirt domain's persistent definition (its inactive XML) and whether
 * it runs, as a change. attach and detach are its forward steps (GP_STEP_DOMAIN, run by the
 * context's libvirt: gp_ctx_virt); the journal keeps the whole original definition in hex
 * ("domain", then "data HEX" of "URI\nNAME\nACTIVE\nXML"), so a change killed half way is
 * undone by defining it again (and starting or stopping the domain as it was): `repair`, or
 * the next mutating command. GP_KIND_NEEDS_LIBVIRT: a context without libvirt refuses it.
 */
#ifndef GPUPART_KINDS_DOMAIN_H
#define GPUPART_KINDS_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "txn/txn.h"

extern const struct gp_kind gp_kind_domain;

/* What attach or detach asks of the domain (the step's payload, virt/domain.c reads it). */
struct gp_domain_want {
	const char *uri;      /* NULL: libvirt's default */
	const char *name;
	bool detach;
	const char *const *fns;
	size_t n_fns;
	uint64_t window;
	int phys_bits;
	bool restart;
	int shutdown_ms;
	/* assign/unassign: the partitions ("pci dddd:bb:dd.f", "mdev UUID") whose <hostdev> the
	 * domain gains (@detach: loses); then @fns, the window and the bits are not used */
	const char *const *parts;
	size_t n_parts;
};

/* The change: the domain read now as orig, @w as want. -ENOENT (no such domain), -ENOTSUP
 * (no libvirt in the context), -errno. */
int gp_domain_change_new(struct gp_ctx *ctx, const struct gp_domain_want *w,
			 struct gp_change **out);

#endif
