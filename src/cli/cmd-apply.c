/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart apply`: make the host match /etc/gpupart/partitions.conf (at boot, from
 * gpupart-apply.service, after the NVIDIA driver and before libvirtd). `gpupart repair`:
 * undo a change a crash or a kill interrupted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/dismounted.h>
#include <gpupart/layout.h>

#include "partition.h"

/* The addresses dismounted.conf last saw its functions at: read in full by the scan, so that
 * their stable paths can be matched (a renumbered device is not found: its line is skipped,
 * and said). */
static int dda_targets(struct gp_cli *cli, struct gp_pci_addr **out, size_t *n)
{
	struct gp_dda_record rec = { 0 };
	size_t i;
	int r = gp_dda_record_read(cli->ctx, &rec);

	*out = NULL;
	*n = 0;
	for (i = 0; r == 0 && i < rec.n; i++) {
		struct gp_pci_addr *a;

		if (!rec.v[i].address[0])
			continue;
		a = GP_PUSH(*out, *n);
		if (!a)
			r = -ENOMEM;
		else if (gp_pci_addr_parse(rec.v[i].address, a) < 0)
			(*n)--;
	}
	gp_dda_record_clear(&rec);
	return r;
}

int cmd_apply(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_pci_addr *targets = NULL;
	size_t n_targets = 0;
	struct gp_layout l = { 0 };
	struct gp_host *h = NULL;
	struct gp_op *op = NULL;
	int r, ret = EXIT_FAIL;

	(void)argc;
	(void)argv;
	/* the dispatcher holds the host lock (unless --dry-run), the pending journal undone */
	r = gp_layout_read(cli->ctx, &l);
	if (r < 0)
		goto out; /* the library logged the line */
	r = dda_targets(cli, &targets, &n_targets);
	if (r < 0)
		goto out; /* the library logged the line */
	/* the dismounted devices read in full (their paths, IDs and companions), whatever
	 * their class, beside every GPU-like function */
	r = gp_host_scan(cli->ctx,
			 GP_SCAN_ANY_CLASS | GP_SCAN_ALL_GPUS | GP_SCAN_COMPANIONS |
				 GP_SCAN_TARGETS_OPTIONAL,
			 targets, n_targets, &h);
	if (r < 0) {
		ret = gp_cli_scan_exit(r);
		goto out;
	}
	/* a line whose device is gone or changed is skipped (and said): the others go on */
	if (gp_op_apply_new(cli->ctx, h, &l, gp_cli_op_flags(cli, false), &op) < 0) {
		gp_cli_err("out of memory");
		goto out;
	}
	if (gp_op_n_gpus(op) == 0 && !gp_op_skipped(op)) {
		ret = cli->render->plans(cli, NULL, !cli->dry_run);
		goto out;
	}
	ret = gp_cli_operate(cli, op, "apply");
	if (ret == EXIT_OK && gp_op_skipped(op))
		ret = EXIT_FAIL;
out:
	gp_op_free(op);
	gp_host_free(h);
	gp_layout_clear(&l);
	free(targets);
	return ret;
}

/*
 * repair: undo an interrupted change. --dry-run prints the undo plan (from the host's state
 * now back to the journal) and touches nothing, not even the lock; the real run's JSON
 * carries the plan it started from. Exit 4 while a write is still blocked in the kernel.
 */
int cmd_repair(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_plan plan = { 0 };
	bool layout = false;
	int r, found, ret;

	(void)argc;
	(void)argv;
	/* the dispatcher holds the host lock unless --dry-run (GP_VERB_MUTATES, not RECOVERS:
	 * this is the recovery, and it reports what it undid) */
	/* the same checks repair makes (damage, writes in flight), and its plan; for the real
	 * run the plan is only what it reports: a plan that cannot be made (an unreadable
	 * state, a malformed partitions.conf) does not keep the host from being put back */
	found = gp_journal_plan(cli->ctx, &plan, &layout);
	if (!cli->dry_run && found < 0 && found != GP_APPLY_STUCK && found != -EUCLEAN) {
		gp_plan_clear(&plan);
		found = 1;
	}
	if (found >= 0 && !cli->dry_run) {
		r = gp_journal_recover(cli->ctx);
		if (r < 0)
			found = r;
	}
	if (found == GP_APPLY_STUCK) {
		gp_plan_clear(&plan);
		return EXIT_STUCK;
	}
	if (found < 0) {
		gp_plan_clear(&plan);
		return EXIT_FAIL;
	}
	ret = cli->render->repair(cli, &plan, found == 1, layout);
	gp_plan_clear(&plan);
	return ret;
}
