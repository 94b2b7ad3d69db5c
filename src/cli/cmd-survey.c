/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `gpupart survey`: SurveyDDA.ps1 for Linux. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/layout.h>

#include "cli.h"

static int64_t mmio_needed(const struct gp_device *d)
{
	int64_t bars = gp_policy_mmio64_required(d);
	int64_t table = gp_policy_mmio_table_lookup(d, NULL);

	return table > bars ? table : bars;
}

/* The domains each dismounted device is assigned to (dda-users.c), into its item. */
static int dda_domains(struct gp_cli *cli, const struct gp_host *h, struct gp_survey_item *it,
		       size_t n)
{
	struct gp_cli_dda_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	size_t i;
	int ret;

	if (!slots)
		return EXIT_FAIL;
	for (i = 0; i < n; i++)
		slots[i] = (struct gp_cli_dda_slot){ it[i].dev, it[i].dda_dismounted,
						     &it[i].dda_domains, &it[i].n_dda_domains };
	ret = gp_cli_dda_domains(cli, h, slots, n);
	free(slots);
	return ret;
}

int cmd_survey(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_findings hf = { 0 };
	struct gp_gpu_view *views = NULL;
	struct gp_survey_item *items = NULL;
	size_t n_views = 0, n_items = 0;
	struct gp_pci_addr *addrs = NULL;
	struct gp_host *h = NULL;
	size_t i, j;
	int r, n_addrs, ret = EXIT_FAIL, any_bad = 0;

	n_addrs = gp_cli_parse_addrs(argc, argv, &addrs);
	if (n_addrs < 0)
		return n_addrs == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	r = gp_host_scan(cli->ctx,
			 GP_SCAN_OPEN_FILES | GP_SCAN_COMPANIONS |
				 (cli->any_class ? GP_SCAN_ANY_CLASS : 0),
			 addrs, (size_t)n_addrs, &h);
	if (r < 0) {
		free(addrs);
		return gp_cli_scan_exit(r);
	}
	if (gp_survey_host(h, &hf) < 0)
		goto out;
	views = calloc(h->n_devs ? h->n_devs : 1, sizeof(*views));
	items = calloc(h->n_devs ? h->n_devs : 1, sizeof(*items));
	if (!views || !items)
		goto out;
	for (i = 0; i < h->n_devs; i++) {
		const struct gp_device *d = h->devs[i];
		struct gp_survey_item *it = &items[n_items];

		if (!d->detailed)
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
		n_items++;
		if (gp_survey_device(h, d, &it->findings) < 0)
			goto out;
		/* partition counts, for the homogeneity warning only */
		if (!d->is_vf) {
			if (gp_gpu_view_build(h, d, cli->series, &views[n_views]) < 0)
				goto out;
			n_views++;
		}
		it->dev = d;
		it->verdict = gp_verdict_from(&hf, &it->findings);
		any_bad |= it->verdict == GP_VERDICT_NOT_ASSIGNABLE;
		it->mmio64_bytes = mmio_needed(d);
		it->reset_method = gp_policy_reset_method(d);
		it->dda_dismounted = !d->is_vf && gp_policy_dda_dismounted(h, d);
	}
	gp_cli_warn_uneven_counts(h, views, n_views);
	if (dda_domains(cli, h, items, n_items) != EXIT_OK)
		goto out;
	r = cli->render->survey(cli, h, &hf, items, n_items);
	ret = r != EXIT_OK ? r : any_bad ? EXIT_NOT_ASSIGNABLE : EXIT_OK;
out:
	for (i = 0; i < n_views; i++)
		gp_gpu_view_clear(&views[i]);
	free(views);
	for (i = 0; items && i < n_items; i++) {
		gp_findings_clear(&items[i].findings);
		for (j = 0; j < items[i].n_dda_domains; j++)
			free(items[i].dda_domains[j]);
		free(items[i].dda_domains);
	}
	free(items);
	gp_findings_clear(&hf);
	free(addrs);
	gp_host_free(h);
	return ret;
}
