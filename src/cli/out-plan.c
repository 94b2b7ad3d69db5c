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

static int print_json(const struct gp_gpu_view *views, const struct gp_plan *plans,
		      const struct gp_request *rq, size_t n, bool applied)
{
	struct json_object *root = json_object_new_object(), *plan = json_object_new_array(),
			   *gpus = json_object_new_array();
	bool changed = false;
	size_t i, k;

	for (i = 0; i < n; i++) {
		struct json_object *g = json_object_new_object();
		const char *b = gp_backend_str(views[i].backend);

		for (k = 0; k < plans[i].n; k++)
			json_object_array_add(plan, json_step(&plans[i].steps[k]));
		changed |= plans[i].n > 0;
		json_object_object_add(g, "address", json_object_new_string(views[i].dev->address));
		json_object_object_add(g, "backend", b ? json_object_new_string(b) : NULL);
		json_object_object_add(g, "previous_count",
				       json_object_new_int(views[i].partition_count));
		json_object_object_add(g, "partition_count", json_object_new_int(rq[i].count));
		json_object_object_add(g, "changed", json_object_new_boolean(plans[i].n > 0));
		json_object_array_add(gpus, g);
	}
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "dry_run", json_object_new_boolean(!applied));
	json_object_object_add(root, "changed", json_object_new_boolean(applied && changed));
	json_object_object_add(root, "plan", plan);
	json_object_object_add(root, "gpus", gpus);
	return gp_cli_emit_json(root);
}

int gp_cli_print_plans(struct gp_cli *cli, const struct gp_gpu_view *views,
		       const struct gp_plan *plans, const struct gp_request *rq, size_t n,
		       bool applied)
{
	char *buf = NULL;
	size_t len = 0, i, k;
	FILE *out;
	int ret;

	if (cli->json)
		return print_json(views, plans, rq, n, applied);
	out = open_memstream(&buf, &len);
	if (!out)
		return EXIT_FAIL;
	for (i = 0; i < n; i++) {
		const char *addr = views[i].dev->address;
		int was = views[i].partition_count, now = rq[i].count;

		if (!plans[i].n) {
			fprintf(out, "%s: %d partition%s already; nothing to do\n", addr, now,
				now == 1 ? "" : "s");
			continue;
		}
		if (applied) {
			fprintf(out, "%s: %d partition%s (was %d)\n", addr, now, now == 1 ? "" : "s",
				was);
			continue;
		}
		fprintf(out, "%s: %d -> %d partitions, %zu steps:\n", addr, was, now, plans[i].n);
		for (k = 0; k < plans[i].n; k++) {
			const struct gp_step *s = &plans[i].steps[k];

			fprintf(out, "  %-7s /%s%s%s\n", gp_step_op_str(s->op), s->path,
				*s->value ? "  " : "", shown(s->value));
		}
	}
	fclose(out);
	ret = gp_cli_emit(buf, len);
	free(buf);
	return ret;
}

int gp_cli_print_repair(struct gp_cli *cli, const struct gp_plan *plan, bool journal,
			bool layout)
{
	bool applied = !cli->dry_run, changed = journal && (plan->n > 0 || layout);
	char *buf = NULL;
	size_t len = 0, k;
	FILE *out;
	int ret;

	if (cli->json) {
		struct json_object *root = json_object_new_object(),
				   *steps = json_object_new_array();

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
