/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The partitioning verbs' shared engine (partition.c) and plan renderer (out-plan.c). */
#ifndef GPUPART_CLI_PARTITION_H
#define GPUPART_CLI_PARTITION_H

#include <gpupart/plan.h>

#include "cli.h"

struct gp_request {
	struct gp_device *dev; /* the physical function */
	int count;
	char series;           /* 0: the default series */
};

/* Takes the host lock and undoes an interrupted change first; an exit status. */
int gp_cli_lock(struct gp_cli *cli, int *lock_fd);

/* Checks, plans and (unless --dry-run) applies the requests; records them in the layout
 * when @record. Prints the plan or the outcome. Returns an exit status. */
int gp_cli_partition(struct gp_cli *cli, struct gp_host *h, const struct gp_request *rq,
		     size_t n, bool record, const char *cmd);

int gp_cli_print_plans(struct gp_cli *cli, const struct gp_gpu_view *views,
		       const struct gp_plan *plans, const struct gp_request *rq, size_t n,
		       bool applied);

/* What repair did (or, with --dry-run, would do): @plan from the host now back to the
 * journal, @journal whether there was one, @layout whether partitions.conf is put back. */
int gp_cli_print_repair(struct gp_cli *cli, const struct gp_plan *plan, bool journal,
			bool layout);

void *gp_cli_push(void *v, size_t *n, size_t sz);
#define GP_CLI_PUSH(arr, n) ((typeof(arr))gp_cli_push(&(arr), &(n), sizeof(*(arr))))

#endif
