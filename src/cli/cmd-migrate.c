/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart migrate-check DOMAIN --to URI [--inventory FILE]`: the preflight before a live
 * migration with GPU partitions (gpupart/migrate.h). The domain is read from libvirt on this
 * host (--connect), its partitions from this host's scan; the destination's GPUs from
 * libvirt's node devices at URI (read-only) and, for what libvirt does not carry (free
 * partitions and their vGPU types, the NVIDIA driver), from its `gpupart list --json` given
 * with --inventory. Read-only; exit 3 when a blocker is found.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/adapters.h>
#include <gpupart/cluster-ops.h>
#include <gpupart/migrate.h>
#include <gpupart/virt.h>

#include "cli.h"
#include "shared/array.h"

struct facts {
	struct gp_virt_domain vd;
	struct gp_host *host;
	struct gp_part *parts;
	size_t n_parts;
	struct gp_migrate_part *mp;
	struct gp_migrate_src src;
	struct gp_virt_nodedev *devs;
	size_t n_devs;
	struct gp_cluster_gpu *cg;
	struct gp_migrate_gpu *gpus;
	struct json_object *inv;
	const char **free_types;
	struct gp_migrate_dst dst;
	char *error;
};

static void facts_clear(struct facts *f)
{
	gp_virt_domain_clear(&f->vd);
	free(f->parts);
	free(f->mp);
	gp_host_free(f->host);
	gp_virt_nodedevs_free(f->devs, f->n_devs);
	free(f->cg);
	free(f->gpus);
	free(f->free_types);
	json_object_put(f->inv);
	free(f->error);
}

/* The domain's partitions on this host: its hostdevs that are partitions here. */
static int source(struct gp_cli *cli, const char *name, struct facts *f)
{
	size_t i, k;
	int r;

	r = gp_virt_domain_inspect(cli->ctx, cli->connect, cli->libvirt_timeout_ms, name, NULL,
				   GP_VIRT_EVERY, NULL, GP_VIRT_EVERY, &f->vd);
	if (r < 0)
		return r == -ENOMEM ? r : -EIO;
	if (!f->vd.found) {
		gp_cli_err("no domain '%s' on the connection", name);
		return -ENOENT;
	}
	r = gp_host_scan(cli->ctx, cli->any_class ? GP_SCAN_ANY_CLASS : 0, NULL, 0, &f->host);
	if (r < 0)
		return r == -ENOMEM ? r : -EIO;
	r = gp_parts_build(f->host, true, NULL, 0, NULL, 0, &f->parts, &f->n_parts);
	f->mp = calloc(f->vd.n_uses ? f->vd.n_uses : 1, sizeof(*f->mp));
	if (r < 0 || !f->mp)
		return -ENOMEM;
	f->src = (struct gp_migrate_src){ .domain = name, .dda = f->vd.recorded, .parts = f->mp,
					  .nvidia_driver = f->host->nvidia_driver_version };
	for (i = 0; i < f->vd.n_uses; i++) {
		const struct gp_virt_use *u = &f->vd.uses[i];
		struct gp_pci_addr a;
		const struct gp_device *dev;

		if (strcasecmp(u->uuid, f->vd.uuid))
			continue; /* another domain's use */
		for (k = 0; k < f->n_parts && strcasecmp(f->parts[k].device, u->device); k++)
			;
		if (k < f->n_parts) {
			const struct gp_device *g = f->parts[k].gpu;

			f->mp[f->src.n_parts++] = (struct gp_migrate_part){
				f->parts[k].device, g->address, (unsigned)g->vendor,
				(unsigned)g->device, g->name, f->parts[k].vgpu_type };
			continue;
		}
		/* a whole GPU by hand: a display function, not a VF, dismounted or not */
		dev = gp_pci_addr_parse(u->device, &a) == 0 ? gp_host_find(f->host, &a) : NULL;
		if (dev && !dev->is_vf && gp_device_is_display(dev))
			f->src.dda = true;
	}
	return 0;
}

/* The destination's list --json: its GPUs, free partitions and driver. 0, or -EINVAL with
 * f->error set, or -ENOMEM. */
static int inventory(const char *file, struct facts *f)
{
	struct json_object *gpus, *v, *host, *drv;
	size_t i, k, n, n_free = 0;

	f->inv = json_object_from_file(file);
	if (!f->inv || !json_object_object_get_ex(f->inv, "schema_version", &v) ||
	    json_object_get_int(v) != 1 || !json_object_object_get_ex(f->inv, "gpus", &gpus) ||
	    !json_object_is_type(gpus, json_type_array))
		return asprintf(&f->error, "%s: not the output of `gpupart list --json`", file) < 0 ?
			       -ENOMEM : -EINVAL;
	n = json_object_array_length(gpus);
	f->gpus = calloc(n ? n : 1, sizeof(*f->gpus));
	if (!f->gpus)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *g = json_object_array_get_idx(gpus, i), *parts, *b;
		struct gp_migrate_gpu *mg = &f->gpus[f->dst.n_gpus];

		if (gp_cli_json_hex(g, "vendor_id", &mg->vendor) || gp_cli_json_hex(g, "device_id", &mg->device_id) ||
		    !json_object_object_get_ex(g, "backend", &b) ||
		    !json_object_object_get_ex(g, "partitions", &parts) ||
		    !json_object_is_type(parts, json_type_array))
			return asprintf(&f->error, "%s: GPU %zu is not as `gpupart list --json` "
						   "writes it (vendor_id, device_id, backend, "
						   "partitions)", file, i) < 0 ? -ENOMEM : -EINVAL;
		if (!b)
			continue; /* not partitionable there */
		f->dst.n_gpus++;
		for (k = 0; k < json_object_array_length(parts); k++) {
			struct json_object *p = json_object_array_get_idx(parts, k), *t, *dom;
			const char **slot;

			if (!json_object_object_get_ex(p, "domain", &dom) || dom)
				continue; /* held by a domain there (or not said: not free) */
			slot = GP_PUSH(f->free_types, n_free);
			if (!slot)
				return -ENOMEM;
			*slot = json_object_object_get_ex(p, "vgpu_type", &t) && t ?
					json_object_get_string(t) : "";
		}
	}
	f->dst.inventory = true;
	f->dst.free_types = f->free_types;
	f->dst.n_free = n_free;
	if (json_object_object_get_ex(f->inv, "host", &host) &&
	    json_object_object_get_ex(host, "nvidia_driver_version", &drv) && drv &&
	    json_object_is_type(drv, json_type_string))
		f->dst.nvidia_driver = json_object_get_string(drv);
	return 0;
}

/* The destination's GPUs from libvirt's node devices (when no inventory says them). */
static int nodedevs(struct gp_cli *cli, const char *uri, struct facts *f)
{
	char *hostname = NULL;
	size_t i, n;
	int r = gp_virt_nodedevs_read(cli->ctx, uri, cli->libvirt_timeout_ms, &hostname, &f->devs,
				      &f->n_devs);

	free(hostname);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return asprintf(&f->error, "%s", r == -ETIMEDOUT ? "libvirt did not answer in time" :
					r == -ECONNREFUSED ? "no libvirt there (connection refused)" :
							     "libvirt failed (its message is on stderr)") < 0 ?
			       -ENOMEM : 0;
	r = gp_cluster_gpus_of_nodedevs(f->devs, f->n_devs, &f->cg, &n);
	if (r < 0 || f->dst.inventory)
		return r;
	f->gpus = calloc(n ? n : 1, sizeof(*f->gpus));
	if (!f->gpus)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		f->gpus[i] = (struct gp_migrate_gpu){ f->cg[i].vendor, f->cg[i].device };
	f->dst.n_gpus = n;
	return 0;
}

static int print(struct gp_cli *cli, const struct facts *f, const char *to,
		 const struct gp_findings *fs)
{
	size_t i;

	if (cli->json) {
		struct json_object *root = json_object_new_object(), *a = json_object_new_array();

		for (i = 0; i < f->src.n_parts; i++) {
			const struct gp_migrate_part *p = &f->src.parts[i];
			struct json_object *o = json_object_new_object();

			json_object_object_add(o, "device", json_object_new_string(p->device));
			json_object_object_add(o, "gpu", json_object_new_string(p->gpu));
			json_object_object_add(o, "vgpu_type", p->vgpu_type ?
						json_object_new_string(p->vgpu_type) : NULL);
			json_object_array_add(a, o);
		}
		json_object_object_add(root, "schema_version", json_object_new_int(1));
		json_object_object_add(root, "domain", json_object_new_string(f->src.domain));
		json_object_object_add(root, "to", json_object_new_string(to));
		json_object_object_add(root, "partitions", a);
		json_object_object_add(root, "findings", gp_json_findings(fs));
		return gp_cli_emit_json(root);
	}
	printf("%s -> %s\n", f->src.domain, to);
	for (i = 0; i < f->src.n_parts; i++)
		printf("  partition %s of %s  %s\n", f->src.parts[i].device, f->src.parts[i].gpu,
		       f->src.parts[i].vgpu_type ? f->src.parts[i].vgpu_type : "(SR-IOV VF)");
	for (i = 0; i < fs->n; i++)
		printf("%s: %s: %s\n", gp_severity_str(fs->v[i].severity), fs->v[i].code,
		       fs->v[i].detail);
	if (!fs->n)
		printf("ready: nothing blocks a live migration\n");
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

int cmd_migrate_check(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_findings fs = { 0 };
	struct facts f = { 0 };
	size_t i;
	int r, status;

	(void)argc;
	if (!cli->to) {
		gp_cli_err("usage: gpupart migrate-check DOMAIN --to URI: --to names the destination");
		return EXIT_USAGE;
	}
	if (cli->n_inventories > 1) {
		gp_cli_err("migrate-check: one --inventory, the destination's");
		return EXIT_USAGE;
	}
	r = source(cli, argv[0], &f);
	if (r == 0 && cli->n_inventories)
		r = inventory(cli->inventories[0], &f);
	if (r == -EINVAL) {
		gp_cli_err("%s", f.error);
		facts_clear(&f);
		return EXIT_USAGE;
	}
	if (r == 0 && !f.error)
		r = nodedevs(cli, cli->to, &f);
	f.dst.name = cli->to;
	f.dst.error = f.error;
	f.dst.gpus = f.gpus; /* the inventory's, else the node devices' */
	if (r == 0)
		r = gp_policy_migrate_check(&f.src, &f.dst, &fs);
	if (r < 0) {
		if (r == -ENOMEM)
			gp_cli_err("out of memory");
		facts_clear(&f);
		gp_findings_clear(&fs);
		return EXIT_FAIL;
	}
	status = print(cli, &f, cli->to, &fs);
	for (i = 0; status == EXIT_OK && i < fs.n; i++)
		if (fs.v[i].severity == GP_SEV_ERROR)
			status = EXIT_NOT_ASSIGNABLE;
	facts_clear(&f);
	gp_findings_clear(&fs);
	return status;
}
