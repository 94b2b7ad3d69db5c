/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart set-count ADDR... COUNT`: Set-VMHostPartitionableGpu -PartitionCount, with Admin
 * Center's homogeneity rule (one configuration, one count).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/layout.h>

#include "partition.h"

/* A decimal number 0..4096 and nothing else: "+2", "0x10", " 2", "02" or "2.0" is no count. */
static int parse_count(const char *s, int *out)
{
	unsigned v;

	if (gp_cli_parse_uint(s, 4096, &v) < 0) {
		gp_cli_err("'%s' is not a partition count (a decimal number from 0 to 4096)", s);
		return -EINVAL;
	}
	*out = (int)v;
	return 0;
}

/* A named device must be a physical function that can be partitioned at all. */
static int check_named(const struct gp_device *d)
{
	if (d->is_vf) {
		gp_cli_err("%s is a virtual function of %s: name its physical function",
			   d->address, d->physfn ? d->physfn->address : "another device");
		return EXIT_USAGE;
	}
	/* a non-display device is accepted when named: an SR-IOV NIC or NVMe has partitions
	 * the same way (the kernel suite uses one) */
	if (!gp_device_is_gpu_like(d, true)) {
		gp_cli_err("%s is neither a GPU nor an SR-IOV physical function", d->address);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static bool selected(struct gp_request *rq, size_t n, const struct gp_device *d)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (rq[i].dev == d)
			return true;
	return false;
}

/* Admin Center: one configuration per selection; all of a homogeneous set, or a warning. */
static int check_homogeneous(struct gp_cli *cli, struct gp_host *h, struct gp_request **rq,
			     size_t *n)
{
	size_t i, k, missing = 0;

	for (i = 1; i < *n; i++) {
		if (!gp_policy_same_config(h, (*rq)[0].dev, (*rq)[i].dev)) {
			gp_cli_err("%s and %s are GPUs of different configurations (IDs, memory or "
				   "vGPU types differ): set their counts separately",
				   (*rq)[0].dev->address, (*rq)[i].dev->address);
			return EXIT_FAIL;
		}
	}
	for (k = 0; k < h->n_devs; k++) {
		struct gp_device *d = h->devs[k];
		struct gp_request *r;

		if (d->is_vf || !gp_device_is_gpu_like(d, cli->any_class) || selected(*rq, *n, d) ||
		    !gp_policy_same_config(h, (*rq)[0].dev, d))
			continue;
		if (!cli->all_homogeneous) {
			missing++;
			continue;
		}
		r = GP_PUSH(*rq, *n);
		if (!r)
			return EXIT_FAIL;
		*r = (*rq)[0];
		r->dev = d;
	}
	if (missing)
		gp_cli_warn("%zu more GPU%s of the same configuration as %s will keep a different "
			    "count (Admin Center sets a homogeneous set together; "
			    "--all-homogeneous does)",
			    missing, missing == 1 ? "" : "s", (*rq)[0].dev->address);
	return EXIT_OK;
}

static char *command_line(int argc, char **argv)
{
	size_t len = strlen("set-count") + 1;
	char *s;
	int i;

	for (i = 0; i < argc; i++)
		len += strlen(argv[i]) + 1;
	s = malloc(len);
	if (!s)
		return NULL;
	strcpy(s, "set-count");
	for (i = 0; i < argc; i++) {
		strcat(s, " ");
		strcat(s, argv[i]);
	}
	return s;
}

/* What a usage error refuses, before the dispatcher takes the lock (so it never waits for
 * it nor undoes a journal): COUNT and every ADDR well-formed. */
int cmd_set_count_check(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_pci_addr *addrs = NULL;
	int count, n;

	(void)cli;
	if (parse_count(argv[argc - 1], &count) < 0)
		return EXIT_USAGE;
	n = gp_cli_parse_addrs(argc - 1, argv, &addrs);
	free(addrs);
	if (n < 0)
		return n == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	return EXIT_OK;
}

/* The dispatcher checked the arguments and, unless --dry-run, holds the host lock with any
 * interrupted change undone (GP_VERB_MUTATES | GP_VERB_RECOVERS). */
int cmd_set_count(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_pci_addr *addrs = NULL;
	struct gp_request *rq = NULL;
	struct gp_host *h = NULL;
	struct gp_op *op = NULL;
	size_t n = 0;
	int count, n_addrs, r, i, ret = EXIT_FAIL;
	char *cmd = NULL;

	if (parse_count(argv[argc - 1], &count) < 0)
		return EXIT_USAGE;
	n_addrs = gp_cli_parse_addrs(argc - 1, argv, &addrs);
	if (n_addrs < 0)
		return n_addrs == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (cli->dry_run && gp_journal_pending(cli->ctx)) {
		gp_cli_warn("an interrupted change is pending; the next change undoes it first "
			    "(or run `gpupart repair`)");
	}
	/* every GPU detailed: the homogeneity rule compares the named ones with the rest */
	r = gp_host_scan(cli->ctx, GP_SCAN_ALL_GPUS | (cli->any_class ? GP_SCAN_ANY_CLASS : 0), addrs,
			 (size_t)n_addrs, &h);
	if (r < 0) {
		ret = gp_cli_scan_exit(r);
		goto out;
	}
	for (i = 0; i < n_addrs; i++) {
		struct gp_device *d = gp_host_find(h, &addrs[i]);
		struct gp_request *q;

		ret = check_named(d);
		if (ret != EXIT_OK)
			goto out;
		if (selected(rq, n, d))
			continue;
		q = GP_PUSH(rq, n);
		if (!q) {
			ret = EXIT_FAIL;
			goto out;
		}
		q->dev = d;
		q->count = count;
		q->series = cli->series;
	}
	ret = check_homogeneous(cli, h, &rq, &n);
	if (ret != EXIT_OK)
		goto out;
	cmd = command_line(argc, argv);
	if (gp_op_partition_new(cli->ctx, h, rq, n, gp_cli_op_flags(cli, !cli->runtime), &op) < 0) {
		gp_cli_err("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	ret = gp_cli_operate(cli, op, cmd ? cmd : "set-count");
out:
	gp_op_free(op);
	free(cmd);
	free(rq);
	gp_host_free(h);
	free(addrs);
	return ret;
}
