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

int cmd_survey(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_findings hf = { 0 };
	struct gp_gpu_view *views = NULL;
	size_t n_views = 0;
	struct gp_pci_addr *addrs = NULL;
	struct json_object *root = NULL, *devs = NULL, *host;
	struct gp_host *h = NULL;
	char *buf = NULL;
	size_t len = 0, i;
	FILE *out = NULL;
	int r, n_addrs, ret = EXIT_FAIL, any_bad = 0;

	n_addrs = gp_cli_parse_addrs(argc, argv, &addrs);
	if (n_addrs < 0)
		return n_addrs == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	r = gp_host_scan(cli->ctx, GP_SCAN_OPEN_FILES | (cli->any_class ? GP_SCAN_ANY_CLASS : 0),
			 addrs, (size_t)n_addrs, &h);
	if (r < 0) {
		free(addrs);
		return gp_cli_scan_exit(r);
	}
	if (gp_survey_host(h, &hf) < 0)
		goto out;
	views = calloc(h->n_devs ? h->n_devs : 1, sizeof(*views));
	if (!views)
		goto out;
	if (cli->json) {
		root = json_object_new_object();
		devs = json_object_new_array();
		host = json_object_new_object();
		json_object_object_add(root, "schema_version", json_object_new_int(1));
		json_object_object_add(host, "findings", gp_json_findings(&hf));
		json_object_object_add(root, "host", host);
	} else {
		out = open_memstream(&buf, &len);
		if (!out)
			goto out;
		gp_text_survey_host(out, cli, h, &hf);
	}
	for (i = 0; i < h->n_devs; i++) {
		const struct gp_device *d = h->devs[i];
		struct gp_findings df = { 0 };
		enum gp_verdict v;
		const char *reset;
		int64_t mmio;

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
		if (gp_survey_device(h, d, &df) < 0) {
			gp_findings_clear(&df);
			goto out;
		}
		/* partition counts, for the homogeneity warning only */
		if (!d->is_vf) {
			if (gp_gpu_view_build(h, d, cli->series, &views[n_views]) < 0) {
				gp_findings_clear(&df);
				goto out;
			}
			n_views++;
		}
		v = gp_verdict_from(&hf, &df);
		any_bad |= v == GP_VERDICT_NOT_ASSIGNABLE;
		mmio = mmio_needed(d);
		reset = gp_policy_reset_method(d);
		if (cli->json) {
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "address", json_object_new_string(d->address));
			json_object_object_add(o, "verdict",
					       json_object_new_string(gp_verdict_str(v)));
			json_object_object_add(o, "findings", gp_json_findings(&df));
			json_object_object_add(o, "reset_method",
					       reset ? json_object_new_string(reset) : NULL);
			json_object_object_add(o, "mmio64_bytes_required",
					       mmio >= 0 ? json_object_new_int64(mmio) : NULL);
			json_object_array_add(devs, o);
		} else {
			gp_text_survey_device(out, cli, d, v, &df, mmio);
		}
		gp_findings_clear(&df);
	}
	gp_policy_warn_uneven_counts(h, views, n_views);
	if (cli->json) {
		json_object_object_add(root, "devices", devs);
		devs = NULL;
		r = gp_cli_emit_json(root);
		root = NULL;
	} else {
		fclose(out);
		out = NULL;
		r = gp_cli_emit(buf, len);
	}
	ret = r != EXIT_OK ? r : any_bad ? EXIT_NOT_ASSIGNABLE : EXIT_OK;
out:
	for (i = 0; i < n_views; i++)
		gp_gpu_view_clear(&views[i]);
	free(views);
	if (out)
		fclose(out);
	free(buf);
	json_object_put(devs);
	json_object_put(root);
	gp_findings_clear(&hf);
	free(addrs);
	gp_host_free(h);
	return ret;
}
