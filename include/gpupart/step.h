/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps and plans: what a change does to the host, one step at a time, the same object
 * --dry-run prints and the runner executes. Nothing here knows what the steps are about (a
 * GPU's VFs, a record file): the kinds of change (src/lib/kinds) make them, the transaction
 * (src/lib/txn) runs them. No PCI here, so the transaction can include it.
 */
#ifndef GPUPART_STEP_H
#define GPUPART_STEP_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>

#include <gpupart/gpupart.h>

enum gp_step_op {
	GP_STEP_WRITE,   /* write value to path */
	GP_STEP_EXEC,    /* run the program path with args (value, space separated) */
	GP_STEP_WAIT,    /* wait until the glob path matches value entries */
	GP_STEP_VERIFY,  /* path reads value (a link: its last component; "" = absent) */
	GP_STEP_RESCAN,  /* read the host again and plan the rest (after enabling NVIDIA VFs) */
	GP_STEP_FILE,    /* replace the file gpupart owns at path with value, atomically ("":
			  * remove it) */
	GP_STEP_DOMAIN,  /* a libvirt domain (path: its name) changed as value says, through the
			  * context's libvirt (gp_ctx_virt): "define URI ACTIVE" and its inactive
			  * XML, or "attach URI"/"detach URI" and the change (virt/domain.c) */
};

struct gp_step {
	enum gp_step_op op;
	char path[192];            /* root-relative, no leading '/' */
	char *value;               /* owned by the step, any length, never NULL */
	char device[40];           /* the device it acts on: a PCI address or an mdev UUID (a
				    * copy: a plan outlives the states it was made from) */
};

struct gp_plan {
	struct gp_step *steps;
	size_t n;
};

const char *gp_step_op_str(enum gp_step_op op);
/* Appends a step (value and device copied); NULL on ENOMEM or a path that does not fit. */
struct gp_step *gp_plan_add(struct gp_plan *p, enum gp_step_op op, const char *device,
			    const char *path, const char *value);
/* Moves every step of @src to the end of @dst (@src is left empty); 0 / -ENOMEM. */
int gp_plan_move(struct gp_plan *dst, struct gp_plan *src);
void gp_plan_clear(struct gp_plan *p);

/* Result codes of a transaction beyond -errno. */
#define GP_APPLY_STUCK (-ETIMEDOUT) /* a write never returned: journal kept, stop everything */

/*
 * Finds an unfinished journal and unwinds it. Returns 0 when there was none, 1 when one was
 * found and undone (the host is back in its journaled state, the journal removed),
 * GP_APPLY_STUCK when a device is still blocked in the kernel (nothing is touched), or
 * -errno when undoing failed (the journal stays). The caller holds the host lock.
 */
int gp_journal_recover(struct gp_ctx *ctx);
/*
 * What `repair` would do, without doing it: the undo plan of an unfinished journal from the
 * host's state now (appended to @plan), and whether the layout would be restored. Returns 0
 * when there is no journal, 1 with the plan, GP_APPLY_STUCK when a write is in flight, -errno
 * (-EUCLEAN: damaged). Writes nothing, takes no lock.
 */
int gp_journal_plan(struct gp_ctx *ctx, struct gp_plan *plan, bool *layout);
/*
 * Whether an unfinished journal holds a change only libvirt can undo (a domain edit: a kind
 * flagged GP_KIND_NEEDS_LIBVIRT): 2 when it does, 1 for a journal without one, 0 when there is
 * none, -errno when it cannot be read or is damaged (logged). The qemu hook, which must never
 * call libvirt, refuses to act on 2 and on errors. Takes no lock.
 */
int gp_journal_needs_libvirt(struct gp_ctx *ctx);
/* 1 if a journal exists (for readers, which never take the lock), 0 if not. */
int gp_journal_pending(struct gp_ctx *ctx);

#endif
