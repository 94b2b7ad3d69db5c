/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal's records (journal.c); the runner (run.c) is its only user. */
#ifndef GPUPART_JOURNAL_H
#define GPUPART_JOURNAL_H

#include <gpupart/plan.h>

struct gp_journal {
	int pid;                    /* the command that wrote it */
	char *command;              /* what it was asked (for people) */
	struct gp_gpu_state *gpus;  /* the original states */
	size_t n_gpus;
	int stuck_pid;              /* a child still blocked in a kernel write, 0 = none */
	char stuck_path[192];       /* what it was writing */
};

int gp_journal_write(struct gp_ctx *ctx, const struct gp_journal *j);
/* 1 and *j when a journal exists, 0 when none, -errno (a damaged journal is logged). */
int gp_journal_read(struct gp_ctx *ctx, struct gp_journal *j);
void gp_journal_clear(struct gp_journal *j);
int gp_journal_remove(struct gp_ctx *ctx);

#endif
