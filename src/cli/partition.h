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
#include "shared/array.h"

/* The operation's flags for this command line (--dry-run), recording the layout when @record. */
unsigned gp_cli_op_flags(const struct gp_cli *cli, bool record);
/* Prints the refusals of @op (made by gp_op_*_new), asks libvirt when it must, then prints the
 * plan (--dry-run) or runs it and prints the outcome. Returns an exit status. */
int gp_cli_operate(struct gp_cli *cli, struct gp_op *op, const char *cmd);

/* The plans and repair printers of the renderer tables (out-plan.c; struct gp_render says
 * what they print). */
int gp_cli_text_plans(struct gp_cli *cli, const struct gp_op *op, bool applied);
int gp_cli_json_plans(struct gp_cli *cli, const struct gp_op *op, bool applied);
int gp_cli_text_repair(struct gp_cli *cli, const struct gp_plan *plan, bool journal,
		       bool layout);
int gp_cli_json_repair(struct gp_cli *cli, const struct gp_plan *plan, bool journal,
		       bool layout);


#endif
