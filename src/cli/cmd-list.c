/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `gpupart list`: Get-VMHostPartitionableGpu plus Admin Center's GPUs tab. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/layout.h>
#include <gpupart/plan.h>

#include "cli.h"

/* Named devices must be GPUs (or, with --any-class, anything that is not a VF). */
static int check_named(const struct gp_cli *cli, const struct gp_host *h,
		       const struct gp_pci_addr *addrs, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		const struct gp_device *d = gp_host_find(h, &addrs[i]);

		if (d->is_vf) {
			gp_cli_err("%s is a virtual function of %s: list its physical function",
				   d->address, d->physfn ? d->physfn->address : "another device");
			return EXIT_USAGE;
		}
		if (!cli->any_class && !gp_device_is_display(d)) {
			gp_cli_err("%s is not a display device (class %06llx); use --any-class to "
				   "treat it as one",
				   d->address, (long long)(d->class_code < 0 ? 0 : d->class_code));
			return EXIT_USAGE;
		}
	}
	return EXIT_OK;
}

void gp_cli_warn_uneven_counts(const struct gp_host *h, const struct gp_gpu_view *views,
			       size_t n)
{
	struct gp_findings uneven = { 0 };
	size_t i;

	if (gp_policy_uneven_counts(h, views, n, &uneven) < 0)
		gp_cli_err("out of memory");
	for (i = 0; i < uneven.n; i++)
		gp_cli_warn("%s", uneven.v[i].detail);
	gp_findings_clear(&uneven);
}

int cmd_list(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_pci_addr *addrs = NULL;
	struct gp_cli_holders holders = { 0 };
	struct gp_gpu_view *views = NULL;
	struct gp_host *h = NULL;
	size_t n = 0, i;
	int r, n_addrs, ret = EXIT_FAIL;

	n_addrs = gp_cli_parse_addrs(argc, argv, &addrs);
	if (n_addrs < 0)
		return n_addrs == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	r = gp_host_scan(cli->ctx, GP_SCAN_COMPANIONS | (cli->any_class ? GP_SCAN_ANY_CLASS : 0), addrs,
			 (size_t)n_addrs, &h);
	if (r < 0) {
		free(addrs);
		return gp_cli_scan_exit(r);
	}
	if (gp_journal_pending(cli->ctx))
		gp_cli_warn("an interrupted partition change is pending: what follows may be half "
			    "done; `gpupart repair` undoes it");
	ret = check_named(cli, h, addrs, n_addrs);
	if (ret != EXIT_OK)
		goto out;
	ret = EXIT_FAIL;
	views = calloc(h->n_devs ? h->n_devs : 1, sizeof(*views));
	if (!views)
		goto out;
	for (i = 0; i < h->n_devs; i++) {
		const struct gp_device *d = h->devs[i];

		if (!d->detailed || d->is_vf)
			continue;
		if (n_addrs) {
			int k, named = 0;

			for (k = 0; k < n_addrs; k++)
				named |= gp_pci_addr_cmp(&addrs[k], &d->addr) == 0;
			if (!named)
				continue;
		} else if (!gp_device_is_gpu_like(d, cli->any_class)) {
			continue;
		}
		if (gp_gpu_view_build(h, d, cli->series, &views[n]) < 0)
			goto out;
		n++;
	}
	/* Admin Center's rule: one homogeneous set, one partition count (stderr only) */
	gp_cli_warn_uneven_counts(h, views, n);
	/* who holds each partition, and the dismounted GPUs' domains: one libvirt question */
	ret = gp_cli_list_holders(cli, h, views, n, &holders);
	if (ret == EXIT_OK)
		ret = cli->render->list(cli, h, views, n);
out:
	for (i = 0; i < n; i++)
		gp_gpu_view_clear(&views[i]);
	free(views);
	gp_cli_holders_clear(&holders);
	free(addrs);
	gp_host_free(h);
	return ret;
}
