/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart assign DOMAIN...` (Add-VMGpuPartitionAdapter) and `gpupart unassign DOMAIN`
 * (Remove-VMGpuPartitionAdapter). libvirt is asked about each domain and every device any
 * domain names BEFORE the host lock (a bounded child each; concurrent calls ask in
 * parallel); under the lock the host and the reservation records are read, the library
 * picks and refuses (gpupart/adapters.h), and each domain's change runs as one transaction.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/adapters.h>
#include <gpupart/plan.h>
#include <gpupart/step.h>
#include <gpupart/virt.h>

#include "cli.h"
#include "shared/strv.h"

#define SHUTDOWN_MS_DEFAULT 60000

struct arun {
	struct gp_cli *cli;
	bool unassign;
	char **names;
	size_t n;
	struct gp_host *host;
	struct gp_virt_domain *vd;     /* per domain */
	struct gp_op_use *uses;        /* the first domain's answer: every domain's uses */
	size_t n_uses;
	struct gp_assign_domain *doms;
	struct gp_resv *resv;
	size_t n_resv;
	struct gp_part *parts;
	size_t n_parts;
	struct gp_op_assign *op;
	int *result;                   /* per domain: 0 done, -errno, 1 not run */
	struct gp_virt_dda_result *res;
};

static int shutdown_ms(void)
{
	const char *s = getenv("GPUPART_SHUTDOWN_TIMEOUT");
	unsigned v;

	return s && gp_cli_parse_uint(s, 3600, &v) == 0 && v ? (int)v * 1000 : SHUTDOWN_MS_DEFAULT;
}

static int scan(struct arun *x)
{
	int r;

	gp_host_free(x->host);
	x->host = NULL;
	free(x->parts);
	x->parts = NULL;
	r = gp_host_scan(x->cli->ctx, GP_SCAN_ALL_GPUS | (x->cli->any_class ? GP_SCAN_ANY_CLASS : 0),
			 NULL, 0, &x->host);
	if (r < 0)
		return gp_cli_scan_exit(r);
	return gp_parts_build(x->host, x->cli->any_class, x->resv, x->n_resv, x->uses, x->n_uses,
			      &x->parts, &x->n_parts) < 0 ? EXIT_FAIL : EXIT_OK;
}

static void clear_answers(struct arun *x)
{
	size_t i;

	for (i = 0; x->vd && i < x->n; i++)
		gp_virt_domain_clear(&x->vd[i]);
	free(x->uses);
	x->uses = NULL;
	x->n_uses = 0;
}

/*
 * Each domain, and every PCI function and mdev any domain names (GP_VIRT_EVERY: nothing of the
 * host need be read first, so the host is scanned once, under the lock), one bounded child
 * per domain.
 */
static int ask(struct arun *x)
{
	size_t i;
	int r = 0;

	clear_answers(x);
	for (i = 0; r >= 0 && i < x->n; i++) {
		r = gp_virt_domain_inspect(x->cli->ctx, x->cli->connect, x->cli->libvirt_timeout_ms,
					   x->names[i], NULL, GP_VIRT_EVERY, NULL, GP_VIRT_EVERY,
					   &x->vd[i]);
		if (r < 0)
			gp_cli_err("cannot ask libvirt about domain %s at %s: %s", x->names[i],
				   x->cli->connect ? x->cli->connect : "the default URI",
				   strerror(-r));
	}
	if (r < 0)
		return EXIT_FAIL;
	x->n_uses = x->vd[0].n_uses;
	x->uses = calloc(x->n_uses + 1, sizeof(*x->uses));
	if (!x->uses)
		return EXIT_FAIL;
	for (i = 0; i < x->n_uses; i++) {
		const struct gp_virt_use *u = &x->vd[0].uses[i];

		x->uses[i] = (struct gp_op_use){ u->domain, u->active, u->device, u->uuid,
						 u->gpupart };
	}
	for (i = 0; i < x->n; i++) {
		const struct gp_virt_domain *v = &x->vd[i];

		x->doms[i] = (struct gp_assign_domain){ x->names[i], v->found, v->persistent,
							v->active, v->remote, v->uuid,
							v->numa_node, v->cpuset };
	}
	return EXIT_OK;
}

static const char *verb(const struct arun *x)
{
	return x->unassign ? "unassign" : "assign";
}

static struct json_object *str_or_null(const char *s)
{
	return s ? json_object_new_string(s) : NULL;
}

/* One partition as assign, unassign and adapters show it (the JSON keys of adapters). */
struct json_object *gp_json_part(const struct gp_part *p)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "gpu", json_object_new_string(p->gpu->address));
	json_object_object_add(o, "instance_path",
			       p->instance_path[0] ? json_object_new_string(p->instance_path) : NULL);
	json_object_object_add(o, "partition_id", json_object_new_int(p->id));
	json_object_object_add(o, "backend", str_or_null(gp_backend_str(p->backend)));
	json_object_object_add(o, "vf_address", str_or_null(p->vf_address));
	json_object_object_add(o, "mdev_uuid", str_or_null(p->mdev_uuid));
	json_object_object_add(o, "vgpu_type", str_or_null(p->vgpu_type));
	json_object_object_add(o, "partition_vram_bytes",
			       p->fb_bytes >= 0 ? json_object_new_int64(p->fb_bytes) : NULL);
	return o;
}

static int print_json(struct arun *x, bool refused)
{
	struct json_object *root = json_object_new_object(), *a = json_object_new_array();
	size_t i;

	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "verb", json_object_new_string(verb(x)));
	json_object_object_add(root, "dry_run", json_object_new_boolean(x->cli->dry_run));
	json_object_object_add(root, "refused", json_object_new_boolean(refused));
	for (i = 0; x->op && !refused && i < x->op->n_items; i++) {
		const struct gp_assign_item *it = &x->op->items[i];
		const struct gp_assign_domain *d = &x->doms[it->domain];
		struct json_object *o = gp_json_part(it->part);
		int res = x->result ? x->result[it->domain] : 1;

		json_object_object_add(o, "domain", json_object_new_string(d->name));
		json_object_object_add(o, "domain_uuid", d->uuid && *d->uuid ?
							 json_object_new_string(d->uuid) : NULL);
		json_object_object_add(o, "done", json_object_new_boolean(res == 0));
		json_object_object_add(o, "restarted", json_object_new_boolean(
							       x->res && x->res[it->domain].restarted));
		json_object_object_add(o, "undone", json_object_new_boolean(
							    x->res && x->res[it->domain].undone));
		json_object_array_add(a, o);
	}
	json_object_object_add(root, x->unassign ? "unassigned" : "assignments", a);
	json_object_object_add(root, "findings", x->op ? gp_json_findings(&x->op->findings) :
							 json_object_new_array());
	return gp_cli_emit_json(root);
}

static int print_text(struct arun *x)
{
	size_t i;

	if (!x->op->n_items)
		printf("%s holds no partition of this host's GPUs: nothing to do\n", x->names[0]);
	for (i = 0; i < x->op->n_items; i++) {
		const struct gp_assign_item *it = &x->op->items[i];
		const struct gp_part *p = it->part;
		int res = x->result ? x->result[it->domain] : 1;

		if (res < 0)
			continue;
		printf("%s%s partition %d of %s (%s %s%s%s) %s %s%s\n",
		       x->cli->dry_run ? "would " : "", verb(x), p->id,
		       p->gpu->address, p->mdev_uuid ? "mdev" : "VF", p->device,
		       p->vgpu_type ? ", " : "", p->vgpu_type ? p->vgpu_type : "",
		       x->unassign ? "from" : "to", x->doms[it->domain].name,
		       x->res && x->res[it->domain].restarted ? " (restarted)" : "");
	}
	return EXIT_OK;
}


/* Each domain's transaction; the exit status of the whole. */
static int run_all(struct arun *x)
{
	size_t d;
	int ret = EXIT_OK, r;

	x->result = calloc(x->n, sizeof(*x->result));
	x->res = calloc(x->n, sizeof(*x->res));
	if (!x->result || !x->res)
		return EXIT_FAIL;
	for (d = 0; d < x->n; d++) {
		char cmd[512];

		x->res[d].bus = -1;
		snprintf(cmd, sizeof(cmd), "%s %s", verb(x), x->names[d]);
		r = gp_op_assign_run(x->cli->ctx, x->op, d, x->doms, x->cli->connect, x->unassign,
				     x->cli->restart, shutdown_ms(), cmd);
		gp_virt_dda_last(&x->res[d]);
		x->result[d] = r;
		if (r == GP_APPLY_STUCK) {
			gp_cli_err("%s %s: libvirt did not answer in time; the journal keeps what "
				   "was before: run 'gpupart repair'", verb(x), x->names[d]);
			return EXIT_STUCK;
		}
		if (r < 0) {
			gp_cli_err("%s %s failed: %s%s", verb(x), x->names[d], strerror(-r),
				   x->res[d].undone || x->res[d].start_failed ?
					   " (the domain was put back as it was)" :
					   "");
			ret = EXIT_FAIL;
		}
	}
	return ret;
}

static void arun_free(struct arun *x)
{
	size_t i;

	clear_answers(x);
	free(x->vd);
	free(x->doms);
	gp_op_assign_free(x->op);
	free(x->parts);
	gp_resvs_free(x->resv, x->n_resv);
	gp_host_free(x->host);
	for (i = 0; x->res && i < x->n; i++)
		gp_virt_dda_result_clear(&x->res[i]);
	free(x->res);
	free(x->result);
}

/* Under the lock (or, for a dry run, without it): the host and the records read, the
 * operation built, printed or run. */
static int decide(struct arun *x)
{
	const struct gp_assign_req req = { x->cli->gpu, x->cli->partition, x->cli->all,
					   x->cli->vram, x->cli->allow_multiple, x->cli->restart,
					   x->cli->dry_run };
	int r;

	if (gp_resv_read_all(x->cli->ctx, &x->resv, &x->n_resv) < 0)
		return EXIT_FAIL;
	r = scan(x);
	if (r != EXIT_OK)
		return r;
	if (gp_op_assign_new(x->cli->ctx, x->host, x->parts, x->n_parts, x->uses, x->n_uses,
			     x->doms, x->n, &req, x->unassign, &x->op) < 0) {
		gp_cli_err("out of memory");
		return EXIT_FAIL;
	}
	if (gp_op_assign_refused(x->op)) {
		if (x->cli->json)
			print_json(x, true);
		gp_cli_print_findings(&x->op->findings);
		return x->op->full ? EXIT_NO_PARTITION : x->op->usage ? EXIT_USAGE : EXIT_FAIL;
	}
	if (!x->cli->json)
		gp_cli_print_findings(&x->op->findings);
	r = x->cli->dry_run || !x->op->n_items ? EXIT_OK : run_all(x);
	if (x->cli->json)
		print_json(x, false);
	else
		print_text(x);
	return r;
}

static int run(struct gp_cli *cli, int argc, char **argv, bool unassign)
{
	struct arun x = { .cli = cli, .unassign = unassign, .names = argv, .n = (size_t)argc };
	int lock_fd = -1, r;

	if (cli->no_libvirt) {
		gp_cli_err("%s changes libvirt domains: --no-libvirt does not apply",
			   unassign ? "unassign" : "assign");
		return EXIT_USAGE;
	}
	if (unassign && cli->all && cli->partition >= 0) {
		gp_cli_err("--all and --partition contradict each other");
		return EXIT_USAGE;
	}
	/* the children this command forks (a question per domain, the reads and the step of its
	 * transaction) start with libvirt mapped: loading it is most of what each costs */
	gp_virt_preload(cli->ctx);
	x.vd = calloc(x.n, sizeof(*x.vd));
	x.doms = calloc(x.n, sizeof(*x.doms));
	r = x.vd && x.doms ? ask(&x) : EXIT_FAIL;
	if (r == EXIT_OK && !cli->dry_run)
		r = gp_cli_lock(cli, &lock_fd);
	if (r == EXIT_OK)
		r = decide(&x);
	gp_lock_release(cli->ctx, lock_fd);
	arun_free(&x);
	return r;
}

int cmd_assign(struct gp_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, false);
}

int cmd_unassign(struct gp_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, true);
}
