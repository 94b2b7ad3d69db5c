/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The kinds this gpupart knows, and the journal's public entry points over them: recovering
 * and planning a repair are the transaction's generic code (txn/run.c) fed with these.
 */
#include <errno.h>

#include "base/internal.h"
#include "kinds/binding.h"
#include "kinds/catalogue.h"
#include "kinds/dda-record.h"
#include "kinds/domain.h"
#include "kinds/gpu.h"
#include "kinds/kinds.h"
#include "kinds/layout.h"
#include "kinds/resv.h"
#include "txn/journal.h"

const struct gp_kind *const gp_kinds_all[] = { &gp_kind_gpu,	 &gp_kind_catalogue,
					       &gp_kind_binding, &gp_kind_dda_record, &gp_kind_resv, &gp_kind_domain,
					       &gp_kind_layout,	 NULL };

int gp_journal_recover(struct gp_ctx *ctx)
{
	return gp_txn_recover(ctx, gp_kinds_all);
}

int gp_journal_plan(struct gp_ctx *ctx, struct gp_plan *plan, bool *layout)
{
	struct gp_txn undo = { 0 };
	size_t i;
	int r;

	*layout = false;
	r = gp_txn_undo_plan(ctx, gp_kinds_all, &undo);
	if (r <= 0)
		return r;
	/* the order the unwind takes: last change first; the layout is reported as a flag
	 * (its step is the file's whole text, bookkeeping rather than a host change) */
	for (i = undo.n; r >= 0 && i-- > 0;) {
		struct gp_change *c = undo.v[i];

		if (c->kind->flags & GP_KIND_QUIET)
			*layout |= (c->kind == &gp_kind_layout || c->kind == &gp_kind_dda_record) &&
				   c->plan.n > 0;
		else if (gp_plan_move(plan, &c->plan) < 0)
			r = -ENOMEM;
	}
	gp_txn_clear(&undo);
	return r < 0 ? r : 1;
}

int gp_journal_needs_libvirt(struct gp_ctx *ctx)
{
	struct gp_journal j = { 0 };
	size_t i;
	int r = gp_journal_peek(ctx, gp_kinds_all, &j);

	if (r <= 0)
		return r;
	for (i = 0; i < j.txn.n; i++)
		if (j.txn.v[i]->kind->flags & GP_KIND_NEEDS_LIBVIRT)
			r = 2;
	gp_journal_clear(&j);
	return r;
}
