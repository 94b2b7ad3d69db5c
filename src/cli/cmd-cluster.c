/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart cluster check [URI...] [--inventory FILE...]`: Admin Center's homogeneity check
 * across the servers of a cluster (gpupart/cluster.h). The hosts are this one (its scan),
 * each URI (libvirt's node devices on that connection: make, model, VFs, but no partition
 * count) and each inventory (a host's `gpupart list --json`, which has the counts). A host
 * that cannot be read is an error naming it; the others are still checked. Read-only.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/cluster-ops.h>
#include <gpupart/virt.h>

#include "cli.h"

struct host {
	struct gp_cluster_host h;
	char *name, *error;
	struct gp_cluster_gpu *gpus;
	struct gp_virt_nodedev *devs; /* a URI's */
	size_t n_devs;
	struct json_object *inv;      /* an inventory's: the strings of its GPUs */
};

static void host_clear(struct host *x)
{
	free(x->name);
	free(x->error);
	free(x->gpus);
	gp_virt_nodedevs_free(x->devs, x->n_devs);
	json_object_put(x->inv);
}

static int fail(struct host *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct host *x, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&x->error, fmt, ap);
	va_end(ap);
	return r < 0 ? -ENOMEM : 0;
}

static int read_uri(struct gp_cli *cli, const char *uri, struct host *x)
{
	char *hostname = NULL;
	size_t n;
	int r;

	if (!(x->name = strdup(uri)))
		return -ENOMEM;
	r = gp_virt_nodedevs_read(cli->ctx, uri, cli->libvirt_timeout_ms, &hostname, &x->devs,
				  &x->n_devs);
	free(hostname);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return fail(x, "%s", r == -ETIMEDOUT	 ? "libvirt did not answer in time" :
				     r == -ECONNREFUSED ? "no libvirt there (connection refused)" :
							  "libvirt failed (its message is on stderr)");
	r = gp_cluster_gpus_of_nodedevs(x->devs, x->n_devs, &x->gpus, &n);
	x->h.n_gpus = n;
	return r;
}

/* An int or null (GP_UNKNOWN); anything else is not an inventory. */
static int int_field(struct json_object *o, const char *key, int64_t *v)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, key, &f))
		return -EINVAL;
	if (!f) {
		*v = GP_UNKNOWN;
		return 0;
	}
	if (!json_object_is_type(f, json_type_int) || json_object_get_int64(f) < 0)
		return -EINVAL;
	*v = json_object_get_int64(f);
	return 0;
}

static int inventory_gpu(struct json_object *o, struct gp_cluster_gpu *g)
{
	struct json_object *a, *nm;
	int64_t parts;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "address", &a) ||
	    !json_object_is_type(a, json_type_string) || gp_cli_json_hex(o, "vendor_id", &g->vendor) ||
	    gp_cli_json_hex(o, "device_id", &g->device) || int_field(o, "vram_bytes", &g->vram_bytes) ||
	    int_field(o, "partition_count", &parts) || parts > 4096)
		return -EINVAL;
	g->address = json_object_get_string(a);
	g->partitions = (int)parts;
	if (json_object_object_get_ex(o, "name", &nm) && json_object_is_type(nm, json_type_string))
		g->model = json_object_get_string(nm);
	return 0;
}

static int read_inventory(const char *file, struct host *x)
{
	struct json_object *gpus, *v;
	size_t i, n;

	if (!(x->name = strdup(file)))
		return -ENOMEM;
	x->inv = json_object_from_file(file);
	if (!x->inv)
		return fail(x, "cannot read it as JSON: %s", json_util_get_last_err());
	if (!json_object_object_get_ex(x->inv, "schema_version", &v) ||
	    json_object_get_int(v) != 1 || !json_object_object_get_ex(x->inv, "gpus", &gpus) ||
	    !json_object_is_type(gpus, json_type_array))
		return fail(x, "%s", "not the output of `gpupart list --json` (schema_version 1, "
				     "gpus)");
	n = json_object_array_length(gpus);
	if (!(x->gpus = calloc(n ? n : 1, sizeof(*x->gpus))))
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(gpus, i), *b;

		if (inventory_gpu(o, &x->gpus[x->h.n_gpus]) < 0 ||
		    !json_object_object_get_ex(o, "backend", &b))
			return fail(x, "GPU %zu is not as `gpupart list --json` writes it "
				       "(address, vendor_id, device_id, vram_bytes, partition_count, "
				       "backend)",
				    i);
		/* the partitionable ones, as on this host */
		if (b)
			x->h.n_gpus++;
	}
	return 0;
}

static struct json_object *host_json(const struct host *x)
{
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	char id[8];
	size_t i;

	json_object_object_add(o, "name", json_object_new_string(x->name));
	json_object_object_add(o, "error", x->error ? json_object_new_string(x->error) : NULL);
	for (i = 0; !x->error && i < x->h.n_gpus; i++) {
		const struct gp_cluster_gpu *g = &x->gpus[i];
		struct json_object *j = json_object_new_object();

		json_object_object_add(j, "address", json_object_new_string(g->address));
		snprintf(id, sizeof(id), "%04x", g->vendor);
		json_object_object_add(j, "vendor_id", json_object_new_string(id));
		snprintf(id, sizeof(id), "%04x", g->device);
		json_object_object_add(j, "device_id", json_object_new_string(id));
		json_object_object_add(j, "name", g->model ? json_object_new_string(g->model) : NULL);
		json_object_object_add(j, "vram_bytes", g->vram_bytes == GP_UNKNOWN ? NULL :
					json_object_new_int64(g->vram_bytes));
		json_object_object_add(j, "partition_count", g->partitions == GP_UNKNOWN ? NULL :
					json_object_new_int(g->partitions));
		json_object_array_add(a, j);
	}
	json_object_object_add(o, "gpus", a);
	return o;
}

static int print(struct gp_cli *cli, const struct host *x, size_t n, const struct gp_findings *f)
{
	size_t i, k;

	if (cli->json) {
		struct json_object *root = json_object_new_object(), *a = json_object_new_array();

		for (i = 0; i < n; i++)
			json_object_array_add(a, host_json(&x[i]));
		json_object_object_add(root, "schema_version", json_object_new_int(1));
		json_object_object_add(root, "hosts", a);
		json_object_object_add(root, "findings", gp_json_findings(f));
		return gp_cli_emit_json(root);
	}
	for (i = 0; i < n; i++) {
		printf("%s%s\n", i ? "\n" : "", x[i].name);
		if (x[i].error)
			printf("  cannot be read: %s\n", x[i].error);
		for (k = 0; !x[i].error && k < x[i].h.n_gpus; k++) {
			const struct gp_cluster_gpu *g = &x[i].gpus[k];
			char parts[16] = "?";

			if (g->partitions != GP_UNKNOWN)
				snprintf(parts, sizeof(parts), "%d", g->partitions);
			printf("  %s  [%04x:%04x] %-32s partitions %s\n", g->address, g->vendor,
			       g->device, g->model ? g->model : "", parts);
		}
	}
	for (i = 0; i < f->n; i++)
		printf("%s%s: %s: %s\n", i ? "" : "\n", gp_severity_str(f->v[i].severity),
		       f->v[i].code, f->v[i].detail);
	if (!f->n)
		printf("\nhomogeneous: one make, model and partition count\n");
	return EXIT_OK;
}

static int read_here(struct gp_cli *cli, struct host *x, struct gp_host **h)
{
	size_t n;
	int r = gp_host_scan(cli->ctx, 0, NULL, 0, h);

	if (!(x->name = strdup("this host")))
		return -ENOMEM;
	if (r < 0)
		return fail(x, "its scan failed: %s", strerror(-r));
	r = gp_cluster_gpus_of_host(*h, &x->gpus, &n);
	x->h.n_gpus = n;
	return r;
}

int cmd_cluster(struct gp_cli *cli, int argc, char **argv)
{
	size_t n = 0, i, total = (size_t)argc + (size_t)cli->n_inventories;
	struct host *x = calloc(total, sizeof(*x));
	struct gp_cluster_host *hosts = calloc(total, sizeof(*hosts));
	struct gp_findings f = { 0 };
	struct gp_host *here = NULL;
	int r = 0, ret = EXIT_FAIL, e;

	if (strcmp(argv[0], "check")) {
		gp_cli_err("cluster: the only subcommand is `check`, not '%s'", argv[0]);
		ret = EXIT_USAGE;
		goto out;
	}
	if (!x || !hosts)
		goto out;
	/* "this host" first: argv[0] ("check") holds its place */
	r = read_here(cli, &x[n++], &here);
	for (i = 1; r >= 0 && i < (size_t)argc; i++)
		r = read_uri(cli, argv[i], &x[n++]);
	for (e = 0; r >= 0 && e < cli->n_inventories; e++)
		r = read_inventory(cli->inventories[e], &x[n++]);
	if (r < 0)
		goto out;
	for (i = 0; i < n; i++) {
		x[i].h.name = x[i].name;
		x[i].h.error = x[i].error;
		x[i].h.gpus = x[i].gpus;
		hosts[i] = x[i].h;
	}
	if (gp_policy_cluster_check(hosts, n, &f) < 0)
		goto out;
	ret = print(cli, x, n, &f);
	for (i = 0; ret == EXIT_OK && i < f.n; i++)
		if (f.v[i].severity == GP_SEV_ERROR)
			ret = EXIT_NOT_ASSIGNABLE; /* 3: the set is not homogeneous */
out:
	for (i = 0; x && i < n; i++)
		host_clear(&x[i]);
	free(x);
	free(hosts);
	gp_findings_clear(&f);
	gp_host_free(here);
	return ret;
}
