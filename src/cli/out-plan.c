/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Plans as people and scripts read them. Paths are shown as they are on the host (root
 * relative, with a leading '/'), values as written ("\n" spelled out).
 */
#include <stdlib.h>
#include <string.h>

#include "partition.h"

static const char *shown(const char *value)
{
	return strcmp(value, "\n") == 0 ? "\\n" : value;
}

static struct json_object *json_step(const struct gp_step *s)
{
	struct json_object *o = json_object_new_object();
	char path[200];

	snprintf(path, sizeof(path), "/%s", s->path);
	json_object_object_add(o, "op", json_object_new_string(gp_step_op_str(s->op)));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "value", json_object_new_string(s->value));
	return o;
}

static const char *action_str(enum gp_op_action a)
{
	return a == GP_OP_DISMOUNT ? "dismount" : a == GP_OP_MOUNT ? "mount" : "set-count";
}

/* A DDA GPU's line, for gp_cli_text_plans: what it is, was, or would become. */
static void text_dda(FILE *out, const struct gp_op_gpu *g, bool applied)
{
	const char *addr = g->view.dev->address;
	bool dismount = g->action == GP_OP_DISMOUNT;

	if (!g->plan.n)
		fprintf(out, "%s: %s; nothing to do\n", addr,
			dismount ? (g->noop_dismounted ? "already dismounted (on vfio-pci)" :
							 "already dismounted") :
				   "not dismounted (on its host drivers)");
	else if (applied)
		fprintf(out, "%s: %s\n", addr,
			dismount ? "dismounted: its functions are on vfio-pci, ready for a VM "
				   "(gpupart attach)" :
				   "mounted: back on its host drivers");
	else
		fprintf(out, "%s: %s, %zu steps:\n", addr, dismount ? "dismount" : "mount",
			g->plan.n);
}

/* The operation's findings: survey's shape (code, severity, detail) and the GPU's address
 * (null for the command as a whole). */
static struct json_object *json_refusals(const struct gp_op *op)
{
	struct json_object *a = json_object_new_array();
	const struct gp_findings *f;
	size_t i;

	if (!op)
		return a;
	f = gp_op_findings(op);
	for (i = 0; i < f->n; i++) {
		struct json_object *o = json_object_new_object();
		size_t g = gp_op_finding_gpu(op, i);

		json_object_object_add(o, "code", json_object_new_string(f->v[i].code));
		json_object_object_add(o, "severity",
				       json_object_new_string(gp_severity_str(f->v[i].severity)));
		json_object_object_add(o, "detail", f->v[i].detail ?
							    json_object_new_string(f->v[i].detail) :
							    NULL);
		json_object_object_add(o, "address",
				       g == GP_OP_NO_GPU ?
					       NULL :
					       json_object_new_string(
						       gp_op_gpu(op, g)->view.dev->address));
		json_object_array_add(a, o);
	}
	return a;
}

/* The plans of set-count and apply as JSON: struct gp_render's plans, for gp_render_json. */
int gp_cli_json_plans(struct gp_cli *cli, const struct gp_op *op, bool applied)
{
	struct json_object *root = json_object_new_object(), *plan = json_object_new_array(),
			   *gpus = json_object_new_array();
	size_t i, k, n = op ? gp_op_n_gpus(op) : 0;
	bool changed = false;

	for (i = 0; i < n; i++) {
		const struct gp_op_gpu *g = gp_op_gpu(op, i);
		struct json_object *o;
		const char *b = gp_backend_str(g->view.backend);

		if (!g->planned) /* refused before its plan was made */
			continue;
		o = json_object_new_object();
		for (k = 0; k < g->plan.n; k++)
			json_object_array_add(plan, json_step(&g->plan.steps[k]));
		changed |= g->plan.n > 0;
		json_object_object_add(o, "address", json_object_new_string(g->view.dev->address));
		json_object_object_add(o, "backend", b ? json_object_new_string(b) : NULL);
		json_object_object_add(o, "action", json_object_new_string(action_str(g->action)));
		if (g->action == GP_OP_SET_COUNT) {
			json_object_object_add(o, "previous_count",
					       json_object_new_int(g->view.partition_count));
			json_object_object_add(o, "partition_count", json_object_new_int(g->count));
		} else {
			/* what the GPU is once the plan ran (or would be); as it is when refused */
			bool dis = g->action == GP_OP_DISMOUNT ?
					   g->noop_dismounted || g->plan.n > 0 :
					   g->plan.n == 0 && g->view.dda_dismounted;

			json_object_object_add(o, "dismounted", json_object_new_boolean(dis));
		}
		json_object_object_add(o, "changed", json_object_new_boolean(g->plan.n > 0));
		json_object_array_add(gpus, o);
	}
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "dry_run", json_object_new_boolean(!applied));
	json_object_object_add(root, "changed", json_object_new_boolean(applied && changed));
	json_object_object_add(root, "plan", plan);
	json_object_object_add(root, "gpus", gpus);
	json_object_object_add(root, "refusals", json_refusals(op));
	return gp_cli_emit_json(root);
}

/* ... as people read them, for gp_render_text (the refusals are on stderr already). */
int gp_cli_text_plans(struct gp_cli *cli, const struct gp_op *op, bool applied)
{
	size_t len = 0, i, k, n = op ? gp_op_n_gpus(op) : 0;
	char *buf = NULL;
	FILE *out;
	int ret;

	out = open_memstream(&buf, &len);
	if (!out)
		return EXIT_FAIL;
	if (!op) /* apply, with no layout recorded */
		fprintf(out, "no layout recorded (%s): nothing to do\n",
			gp_cli_path(cli, "/etc/gpupart/partitions.conf"));
	for (i = 0; i < n; i++) {
		const struct gp_op_gpu *g = gp_op_gpu(op, i);
		const char *addr = g->view.dev->address;
		int was = g->view.partition_count, now = g->count;

		if (!g->planned)
			continue;
		if (g->action != GP_OP_SET_COUNT) {
			text_dda(out, g, applied);
			if (applied || !g->plan.n)
				continue;
		} else if (!g->plan.n) {
			fprintf(out, "%s: %d partition%s already; nothing to do\n", addr, now,
				now == 1 ? "" : "s");
			continue;
		} else if (applied) {
			fprintf(out, "%s: %d partition%s (was %d)\n", addr, now, now == 1 ? "" : "s",
				was);
			continue;
		} else {
			fprintf(out, "%s: %d -> %d partitions, %zu steps:\n", addr, was, now,
				g->plan.n);
		}
		for (k = 0; k < g->plan.n; k++) {
			const struct gp_step *s = &g->plan.steps[k];

			fprintf(out, "  %-7s /%s%s%s\n", gp_step_op_str(s->op), s->path,
				*s->value ? "  " : "", shown(s->value));
		}
	}
	fclose(out);
	ret = gp_cli_emit(buf, len);
	free(buf);
	return ret;
}

/* What repair did or would do, as JSON (struct gp_render's repair, for gp_render_json). */
int gp_cli_json_repair(struct gp_cli *cli, const struct gp_plan *plan, bool journal,
		       bool layout)
{
	bool applied = !cli->dry_run, changed = journal && (plan->n > 0 || layout);
	struct json_object *root = json_object_new_object(), *steps = json_object_new_array();
	size_t k;

	for (k = 0; k < plan->n; k++)
		json_object_array_add(steps, json_step(&plan->steps[k]));
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "dry_run", json_object_new_boolean(!applied));
	json_object_object_add(root, "journal", json_object_new_boolean(journal));
	json_object_object_add(root, "changed", json_object_new_boolean(applied && changed));
	json_object_object_add(root, "layout", json_object_new_boolean(layout));
	json_object_object_add(root, "plan", steps);
	return gp_cli_emit_json(root);
}

/* ... as people read it, for gp_render_text. */
int gp_cli_text_repair(struct gp_cli *cli, const struct gp_plan *plan, bool journal,
		       bool layout)
{
	bool applied = !cli->dry_run, changed = journal && (plan->n > 0 || layout);
	char *buf = NULL;
	size_t len = 0, k;
	FILE *out;
	int ret;

	out = open_memstream(&buf, &len);
	if (!out)
		return EXIT_FAIL;
	if (!journal)
		fputs("nothing to repair\n", out);
	else if (applied)
		fputs("undid an interrupted change; every device is back as it was\n", out);
	else if (!changed)
		fputs("an interrupted change is journaled; the host is already as it was "
		      "(repair would only remove the journal)\n", out);
	else if (!plan->n)
		fputs("an interrupted change is journaled; repair would put partitions.conf back\n",
		      out);
	else
		fprintf(out, "an interrupted change is journaled; repair would run %zu steps%s:\n",
			plan->n, layout ? " and put partitions.conf back" : "");
	for (k = 0; !applied && k < plan->n; k++) {
		const struct gp_step *s = &plan->steps[k];

		fprintf(out, "  %-7s /%s%s%s\n", gp_step_op_str(s->op), s->path,
			*s->value ? "  " : "", shown(s->value));
	}
	fclose(out);
	ret = gp_cli_emit(buf, len);
	free(buf);
	return ret;
}
