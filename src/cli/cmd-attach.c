/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart attach DOMAIN ADDR` (Add-VMAssignableDevice, with -HighMemoryMappedIoSpace as
 * --mmio-high) and `gpupart detach DOMAIN ADDR` (Remove-VMAssignableDevice): libvirt is
 * asked about the domain (gpupart/virt.h), the library makes the refusals and chooses the
 * window (gpupart/attach.h), and the change goes through libvirt again.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/attach.h>
#include <gpupart/step.h>
#include <gpupart/virt.h>

#include "cli.h"

#define SHUTDOWN_MS_DEFAULT 60000

struct dda_run {
	struct gp_cli *cli;
	bool detach;
	const char *domain;
	const struct gp_device *gpu;
	struct gp_virt_domain vd;
	struct gp_op_use *uses;
	struct gp_op_dda *op;
	struct gp_virt_dda spec;
	char **lines;            /* the plan, or what was done */
	size_t n_lines;
	struct gp_virt_dda_result res;
	bool ran;
	int change_error;
};

/* The graceful shutdown's time (GPUPART_SHUTDOWN_TIMEOUT, seconds), then it is forced. */
static int shutdown_ms(void)
{
	const char *s = getenv("GPUPART_SHUTDOWN_TIMEOUT");
	unsigned v;

	return s && gp_cli_parse_uint(s, 3600, &v) == 0 && v ? (int)v * 1000 : SHUTDOWN_MS_DEFAULT;
}

static const char *verb(const struct dda_run *x)
{
	return x->detach ? "detach" : "attach";
}

static struct json_object *num_or_null(int64_t v)
{
	return v < 0 ? NULL : json_object_new_int64(v);
}

static int print_json(struct dda_run *x, bool refused)
{
	struct json_object *root = json_object_new_object(), *a, *m;
	const struct gp_op_dda *op = x->op;
	size_t i;

	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "verb", json_object_new_string(verb(x)));
	json_object_object_add(root, "domain", json_object_new_string(x->domain));
	json_object_object_add(root, "gpu", json_object_new_string(x->gpu->address));
	json_object_object_add(root, "dry_run", json_object_new_boolean(x->cli->dry_run));
	json_object_object_add(root, "refused", json_object_new_boolean(refused));
	json_object_object_add(root, "nothing_to_do", json_object_new_boolean(op && op->nothing));
	a = json_object_new_array();
	for (i = 0; op && i < op->n_fns; i++)
		json_object_array_add(a, json_object_new_string(op->fns[i]));
	json_object_object_add(root, "functions", a);
	m = json_object_new_object();
	json_object_object_add(m, "window_bytes", op && op->window ? json_object_new_int64((int64_t)op->window) : NULL);
	json_object_object_add(m, "bars_bytes", num_or_null(op ? op->bars : -1));
	json_object_object_add(m, "table_bytes", num_or_null(op ? op->table : -1));
	json_object_object_add(m, "table_model", op && op->table_model && op->table > 0 ?
				       json_object_new_string(op->table_model) : NULL);
	json_object_object_add(m, "overridden", json_object_new_boolean(op && op->overridden));
	json_object_object_add(m, "phys_bits", op && op->phys_bits ? json_object_new_int(op->phys_bits) : NULL);
	json_object_object_add(m, "host_phys_bits", num_or_null(op ? op->host_phys_bits : -1));
	json_object_object_add(root, "mmio", x->detach ? NULL : m);
	if (x->detach)
		json_object_put(m);
	a = json_object_new_array();
	for (i = 0; i < x->n_lines; i++)
		json_object_array_add(a, json_object_new_string(x->lines[i]));
	json_object_object_add(root, "changes", a);
	json_object_object_add(root, "guest_bus", x->res.bus >= 0 ? json_object_new_int(x->res.bus) : NULL);
	json_object_object_add(root, "restarted", json_object_new_boolean(x->res.restarted));
	json_object_object_add(root, "undone", json_object_new_boolean(x->res.undone));
	json_object_object_add(root, "findings", op ? gp_json_findings(&op->findings) :
						      json_object_new_array());
	return gp_cli_emit_json(root);
}

static void human_size(uint64_t b, char *buf, size_t len)
{
	if (b >= (1ULL << 40) && !(b & ((1ULL << 40) - 1)))
		snprintf(buf, len, "%" PRIu64 " TiB", b >> 40);
	else if (b >= (1ULL << 30))
		snprintf(buf, len, "%" PRIu64 " GiB", b >> 30);
	else
		snprintf(buf, len, "%" PRIu64 " MiB", b >> 20);
}

static int print_text(struct dda_run *x)
{
	const struct gp_op_dda *op = x->op;
	char w[32], b[32], t[32];
	size_t i;

	if (op->nothing) {
		printf("%s: %s %s: nothing to do\n", x->gpu->address,
		       x->detach ? "not attached to" : "already attached to", x->domain);
		return EXIT_OK;
	}
	printf("%s%s %s %s domain %s:\n", x->cli->dry_run ? "would " : "", verb(x),
	       x->gpu->address, x->detach ? "from" : "to", x->domain);
	for (i = 0; i < op->n_fns; i++) {
		if (x->detach)
			printf("  hostdev %s removed\n", op->fns[i]);
		else if (x->res.bus >= 0)
			printf("  hostdev %s -> guest 0000:%02x:00.%c%s (managed='no')\n", op->fns[i],
			       x->res.bus, op->fns[i][strlen(op->fns[i]) - 1],
			       i == 0 && op->n_fns > 1 ? ", multifunction" : "");
		else
			printf("  hostdev %s (managed='no'), guest function .%c of one slot\n",
			       op->fns[i], op->fns[i][strlen(op->fns[i]) - 1]);
	}
	if (!x->detach && op->window) {
		human_size(op->window, w, sizeof(w));
		if (op->bars > 0)
			human_size((uint64_t)op->bars, b, sizeof(b));
		if (op->table > 0)
			human_size((uint64_t)op->table, t, sizeof(t));
		printf("  64-bit MMIO window: %s (%s; BARs %s, table %s%s%s)\n", w,
		       op->overridden ? "--mmio-high" : "the larger of", op->bars > 0 ? b : "unknown",
		       op->table > 0 ? t : "-", op->table > 0 ? " " : "",
		       op->table > 0 && op->table_model ? op->table_model : "");
	}
	for (i = 0; i < x->n_lines; i++)
		printf("  %s\n", x->lines[i]);
	if (!x->detach)
		printf("  the 32-bit MMIO window: QEMU sizes it itself (nothing to set)\n");
	if (x->res.restarted)
		printf("  %s restarted\n", x->domain);
	return EXIT_OK;
}


/* libvirt's answer as the operation takes it (the strings stay the run's). */
static int domain_data(struct dda_run *x, struct gp_op_domain *d)
{
	const struct gp_virt_domain *v = &x->vd;
	size_t i;

	*d = (struct gp_op_domain){
		.name = x->domain, .found = v->found, .persistent = v->persistent,
		.active = v->active, .remote = v->remote, .hostname = v->hostname,
		.n_snapshots = v->n_snapshots, .n_checkpoints = v->n_checkpoints,
		.q35 = v->q35, .ovmf = v->ovmf, .recorded = v->recorded, .n_named = v->n_named,
		.pcihole64_kib = v->pcihole64_kib, .memory_kib = v->memory_kib,
		.fwcfg_mb = v->fwcfg_mb, .maxphys_bits = v->maxphys_bits,
	};
	if (v->maxphys_passthrough)
		d->maxphys_bits = 0;
	x->uses = calloc(v->n_uses + 1, sizeof(*x->uses));
	if (!x->uses)
		return -ENOMEM;
	for (i = 0; i < v->n_uses; i++)
		x->uses[i] = (struct gp_op_use){ v->uses[i].domain, v->uses[i].active,
						 v->uses[i].device };
	d->uses = x->uses;
	d->n_uses = v->n_uses;
	return 0;
}

static int ask(struct dda_run *x, struct gp_host *h)
{
	struct gp_device **f;
	const char **fns;
	size_t n, i;
	char buf[GP_ADDR_LEN];
	int r = gp_policy_dda_functions(h, x->gpu, &f, &n);

	if (r < 0)
		return r;
	fns = calloc(n, sizeof(*fns));
	for (i = 0; fns && i < n; i++)
		fns[i] = strdup(gp_pci_addr_format(&f[i]->addr, buf));
	free(f);
	if (!fns)
		return -ENOMEM;
	r = gp_virt_domain_inspect(x->cli->ctx, x->cli->connect, x->cli->libvirt_timeout_ms,
				   x->domain, fns, n, NULL, 0, &x->vd);
	for (i = 0; i < n; i++)
		free((char *)fns[i]);
	free(fns);
	return r;
}

/* Past the refusals: nothing to do, the plan (--dry-run), or the change. */
static int act(struct dda_run *x)
{
	struct gp_cli *cli = x->cli;
	bool detach = x->detach;
	int r;

	x->spec = (struct gp_virt_dda){ x->domain, (const char *const *)x->op->fns, x->op->n_fns,
				       x->op->window, x->op->phys_bits, cli->restart, shutdown_ms() };
	if (x->op->nothing) {
		return cli->json ? print_json(x, false) : print_text(x);
	}
	if (cli->dry_run) {
		r = gp_virt_dda_plan(x->vd.xml, &x->spec, detach, &x->lines, &x->n_lines);
		if (r < 0 && r != -ENOENT) {
			gp_cli_err("cannot read the definition of %s: %s", x->domain, strerror(-r));
			return EXIT_FAIL;
		}
		return cli->json ? print_json(x, false) : print_text(x);
	}
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "%s %s %s", verb(x), x->domain, x->gpu->address);
		r = gp_op_dda_run(cli->ctx, x->op, cli->connect, x->domain, detach, cli->restart,
				  x->spec.shutdown_ms, cmd);
	}
	gp_virt_dda_last(&x->res);
	x->lines = x->res.lines;
	x->n_lines = x->res.n_lines;
	x->res.lines = NULL;
	x->res.n_lines = 0;
	if (r == GP_APPLY_STUCK) {
		gp_cli_err("%s %s: libvirt did not answer in time; the journal keeps the domain's "
			   "definition before: run 'gpupart repair'", verb(x), x->domain);
		return EXIT_STUCK;
	}
	if (r < 0) {
		gp_cli_err("%s %s %s %s failed: %s%s", verb(x), x->gpu->address,
			   detach ? "from" : "to", x->domain, strerror(-r),
			   x->res.undone ? " (the domain's definition was put back as it was)" : "");
		if (cli->json)
			print_json(x, false);
		return EXIT_FAIL;
	}
	return cli->json ? print_json(x, false) : print_text(x);
}

static int run(struct gp_cli *cli, int argc, char **argv, bool detach)
{
	struct dda_run x = { .cli = cli, .detach = detach, .domain = argv[0] };
	struct gp_op_domain dom;
	struct gp_pci_addr *addr = NULL;
	struct gp_host *h = NULL;
	int r, ret = EXIT_FAIL;

	(void)argc;
	x.res.bus = -1;
	if (gp_cli_parse_addrs(1, &argv[1], &addr) < 0)
		return EXIT_USAGE;
	if (cli->no_libvirt) {
		gp_cli_err("%s changes a libvirt domain: --no-libvirt does not apply", detach ? "detach" : "attach");
		free(addr);
		return EXIT_USAGE;
	}
	r = gp_host_scan(cli->ctx, cli->any_class ? GP_SCAN_ANY_CLASS : 0, addr, 1, &h);
	if (r < 0) {
		ret = gp_cli_scan_exit(r);
		goto out;
	}
	x.gpu = gp_host_find(h, addr);
	if (!x.gpu || x.gpu->is_vf) {
		gp_cli_err("%s: %s", argv[1], x.gpu ? "a virtual function: name the GPU" : "no such device");
		ret = EXIT_USAGE;
		goto out;
	}
	r = ask(&x, h);
	if (r < 0) {
		gp_cli_err("cannot ask libvirt about domain %s at %s: %s", x.domain,
			   cli->connect ? cli->connect : "the default URI", strerror(-r));
		goto out;
	}
	if (domain_data(&x, &dom) < 0 ||
	    gp_op_dda_new(cli->ctx, h, x.gpu, &dom, cli->mmio_high,
			  (detach ? GP_DDA_DETACH : 0) | (cli->restart ? GP_DDA_RESTART : 0), &x.op) < 0) {
		gp_cli_err("out of memory");
		goto out;
	}
	if (gp_op_dda_refused(x.op)) {
		if (cli->json)
			print_json(&x, true);
		gp_cli_print_findings(&x.op->findings);
		goto out;
	}
	if (!cli->json)
		gp_cli_print_findings(&x.op->findings);
	ret = act(&x);
out:
	gp_strv_free(x.lines, x.n_lines);
	gp_virt_dda_result_clear(&x.res);
	gp_op_dda_free(x.op);
	free(x.uses);
	gp_virt_domain_clear(&x.vd);
	gp_host_free(h);
	free(addr);
	return ret;
}

int cmd_attach_check(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_pci_addr *addr = NULL;
	int n;

	(void)cli;
	(void)argc;
	n = gp_cli_parse_addrs(1, &argv[1], &addr);
	free(addr);
	return n < 0 ? EXIT_USAGE : EXIT_OK;
}

int cmd_attach(struct gp_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, false);
}

int cmd_detach(struct gp_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, true);
}
