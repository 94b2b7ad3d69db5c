/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every kind a journal of this gpupart may hold (kinds.c). */
#ifndef GPUPART_KINDS_KINDS_H
#define GPUPART_KINDS_KINDS_H

#include "txn/txn.h"

/* NULL-terminated: what gp_journal_recover and gp_journal_plan decode. */
extern const struct gp_kind *const gp_kinds_all[];

#endif
