/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The partitioning verbs' pipeline and refusal printer (partition.c) and plan renderer
 * (out-plan.c); the operation itself is the library's (gpupart/ops.h).
 */
#ifndef GPUPART_CLI_PARTITION_H
#define GPUPART_CLI_PARTITION_H

#include <gpupart/ops.h>
#include <gpupart/plan.h>

#include "cli.h"

/* Takes the host lock and undoes an interrupted change first; an exit status. */
int gp_cli_lock(struct gp_cli *cli, int *lock_fd);

/* The operation's flags for this command line (--dry-run), recording the layout when @record. */
unsigned gp_cli_op_flags(const struct gp_cli *cli, bool record);
/* Prints the refusals of @op (made by gp_op_*_new), asks libvirt when it must, then prints the
 * plan (--dry-run) or runs it and prints the outcome. Returns an exit status. */
int gp_cli_operate(struct gp_cli *cli, struct gp_op *op, const char *cmd);

/* The plans of @op's GPUs (NULL: none), or what was done (@applied). With --json, the
 * document carries the operation's findings as "refusals" (a refused dry run prints it too). */
int gp_cli_print_plans(struct gp_cli *cli, const struct gp_op *op, bool applied);

/* What repair did (or, with --dry-run, would do): @plan from the host now back to the
 * journal, @journal whether there was one, @layout whether partitions.conf is put back. */
int gp_cli_print_repair(struct gp_cli *cli, const struct gp_plan *plan, bool journal,
			bool layout);

void *gp_cli_push(void *v, size_t *n, size_t sz);
#define GP_CLI_PUSH(arr, n) ((typeof(arr))gp_cli_push(&(arr), &(n), sizeof(*(arr))))

#endif
