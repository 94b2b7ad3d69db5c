/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * --dry-run prints the plan the real run then follows, write for write, and touches nothing
 * (not even the lock file); set-count and apply are idempotent; the layout brings a count back
 * after a reboot and refuses a device whose IDs changed.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wrun.h"

TestSuite(write_dryrun, .init = wsetup, .fini = wteardown, .timeout = 60);

/* The write and exec steps of a JSON plan, as the fake kernel logs them (no leading '/'). */
static char *plan_ops(const char *json, bool *has_rescan)
{
	struct json_object *o = json_tokener_parse(json), *v, *plan;
	char *s = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&s, &len);

	cr_assert_not_null(o, "not JSON: %s", json);
	cr_assert(json_object_object_get_ex(o, "schema_version", &v) &&
		  json_object_get_int(v) == 1 && json_object_is_type(v, json_type_int));
	cr_assert(json_object_object_get_ex(o, "dry_run", &v) &&
		  json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v));
	cr_assert(json_object_object_get_ex(o, "plan", &plan) &&
		  json_object_is_type(plan, json_type_array));
	*has_rescan = false;
	for (size_t i = 0; i < json_object_array_length(plan); i++) {
		struct json_object *st = json_object_array_get_idx(plan, i), *op, *path, *val;
		const char *ops;

		cr_assert(json_object_object_get_ex(st, "op", &op) &&
			  json_object_object_get_ex(st, "path", &path) &&
			  json_object_object_get_ex(st, "value", &val), "step %zu lacks op/path/value",
			  i);
		cr_assert(json_object_is_type(op, json_type_string) &&
			  json_object_is_type(path, json_type_string) &&
			  json_object_is_type(val, json_type_string));
		ops = json_object_get_string(op);
		cr_assert(!strcmp(ops, "write") || !strcmp(ops, "exec") || !strcmp(ops, "wait") ||
				  !strcmp(ops, "verify") || !strcmp(ops, "rescan"),
			  "op %s", ops);
		cr_assert_eq(json_object_get_string(path)[0], '/', "path %s is not absolute",
			     json_object_get_string(path));
		if (!strcmp(ops, "rescan"))
			*has_rescan = true;
		if (strcmp(ops, "write") && strcmp(ops, "exec"))
			continue;
		{
			/* the log shows a newline in a value as \n */
			const char *val_s = json_object_get_string(val);

			fprintf(m, "%s %s ", ops, !strcmp(ops, "write") ?
				json_object_get_string(path) + 1 : json_object_get_string(path));
			for (; *val_s; val_s++)
				fputs(*val_s == '\n' ? "\\n" : (char[]){ *val_s, 0 }, m);
			fputs(" = 0\n", m);
		}
	}
	fclose(m);
	json_object_put(o);
	return s;
}

/* A dry run on @root: changes nothing at all; then the real run makes exactly its writes. */
static void dry_then_real(const char *root, const char *addr, const char *count)
{
	char *before, *after, *ops, *log;
	bool rescan;
	struct run r;

	bool had_lock = ex(root, "run/gpupart/lock");

	before = manifest(root, M_STRICT);
	cr_assert_eq(gpf(&r, root, "--json", "set-count", addr, count, "--dry-run", NULL), 0,
		     "%s", r.err);
	after = manifest(root, M_STRICT);
	assert_manifest_eq(after, before, "after --dry-run");
	cr_assert(had_lock || !ex(root, "run/gpupart/lock"), "a dry run created the lock");
	cr_assert_not(ex(root, ".fakekernel/log"), "a dry run wrote");
	ops = plan_ops(r.out, &rescan);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "set-count", addr, count, "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	log = fklog(root);
	if (rescan) /* NVIDIA: the writes after enabling the VFs are planned then */
		cr_assert(!strncmp(log, ops, strlen(ops)), "plan:\n%s\nlog:\n%s", ops, log);
	else
		cr_assert_str_eq(log, ops, "plan:\n%s\nlog:\n%s", ops, log);
	free(log);
	free(ops);
	free(before);
	free(after);
}

Test(write_dryrun, nvme_0_to_4_plan_is_the_run)
{
	char *root = wtree("sriov-off");

	dry_then_real(root, NVME, "4");
	/* 2 autoprobe + numvfs + 4 x (override, probe) */
	cr_assert_eq(fklog_ops(root), 11);
}

Test(write_dryrun, nvme_2_to_4_recreate_plan_is_the_run)
{
	char *root = wtree("sriov-off");
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	dry_then_real(root, NVME, "4");
	cr_assert_eq(fklog_ops(root), 12);
}

Test(write_dryrun, l40s_plan_is_the_runs_beginning)
{
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	dry_then_real(root, L40S, "4");
	cr_assert_eq(fklog_ops(root), 5);
}

Test(write_dryrun, t4_mdev_plan_is_the_run)
{
	char *root = wtree("t4-mdev-pf");

	/* the fixture's hand-made mdev is not gpupart's to remove: the admin removes it */
	admin_remove_mdev(root, "c0ffee00-0000-4000-8000-000000000001");
	dry_then_real(root, T4, "4");
	cr_assert_eq(fklog_ops(root), 4);
}

/* The text form lists the same steps. */
Test(write_dryrun, text_plan)
{
	char *root = wtree("sriov-off"), *before = manifest(root, M_STRICT), *after;
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", "--dry-run", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "0 -> 2 partitions"), "%s", r.out);
	cr_assert(strstr(r.out, "/sys/bus/pci/devices/" NVME "/sriov_numvfs  2"), "%s", r.out);
	cr_assert(strstr(r.out, "/sys/bus/pci/drivers_probe  0000:03:00.2"), "%s", r.out);
	run_free(&r);
	after = manifest(root, M_STRICT);
	assert_manifest_eq(after, before, "after a text dry run");
	free(before);
	free(after);
}

/* ---- idempotency, apply, the layout ---- */

static int count_lines_with(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

Test(write_dryrun, runtime_vs_recorded_and_apply_after_reboot)
{
	char *root = wtree("sriov-off"), *conf, *reboot, *p;
	struct run r;

	/* --runtime: set now, not recorded; apply then has nothing to do */
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_not(ex(root, "etc/gpupart/partitions.conf"));
	fklog_reset(root);
	cr_assert_eq(gpf(&r, root, "apply", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to do"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0);

	/* the same count without --runtime: nothing to change, but the layout records it */
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "nothing to do"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0);
	conf = conf_of(root);
	cr_assert_not_null(conf);
	cr_assert_eq(count_lines_with(conf, "\npci"), 1, "%s", conf);
	cr_assert(strstr(conf, "id=144d:a824 subsystem=144d:a801 count=2"), "%s", conf);
	free(conf);
	cr_assert_eq(gpf(&r, root, "apply", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "apply on a host as recorded wrote");

	/* a reboot: the same host, VFs gone, the layout kept */
	reboot = wtree("sriov-off");
	mkdirs(reboot, "etc/gpupart");
	cr_assert_geq(asprintf(&p, "cp %s/etc/gpupart/partitions.conf %s/etc/gpupart/", root,
			       reboot), 0);
	cr_assert_eq(system(p), 0);
	free(p);
	cr_assert_eq(gpf(&r, reboot, "apply", NULL), 0, "%s", r.err);
	run_free(&r);
	{
		char *n = rd(reboot, "sys/bus/pci/devices/" NVME "/sriov_numvfs");
		char *d = lnk(reboot, "sys/bus/pci/devices/0000:03:00.2/driver");

		cr_assert_str_eq(n, "2");
		cr_assert_str_eq(d ? d : "", "vfio-pci");
		free(n);
		free(d);
	}
	cr_assert_eq(fklog_ops(reboot), 7); /* autoprobe, numvfs, 2 x 2, autoprobe */
	fklog_reset(reboot);
	cr_assert_eq(gpf(&r, reboot, "apply", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(fklog_ops(reboot), 0, "a second apply wrote");
	conf = conf_of(reboot);
	cr_assert_eq(count_lines_with(conf, "\npci"), 1, "apply rewrote the layout: %s", conf);
	free(conf);
}

Test(write_dryrun, apply_refuses_changed_ids)
{
	char *root = wtree("sriov-off"), *conf, *id, *before, *after;
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", NULL), 0, "%s", r.err);
	run_free(&r);
	/* back to 0 VFs (a reboot), and the hardware at that slot is now something else */
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "0", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	conf = conf_of(root);
	id = strstr(conf, "id=144d:a824");
	cr_assert_not_null(id, "%s", conf);
	memcpy(id, "id=144d:a825", 12);
	put(root, "etc/gpupart/partitions.conf", conf);
	free(conf);
	fklog_reset(root);
	before = manifest(root, M_STRICT);
	cr_assert_eq(gpf(&r, root, "apply", NULL), 1, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "144d:a825") && strstr(r.err, "refusing"), "%s", r.err);
	run_free(&r);
	after = manifest(root, M_STRICT);
	assert_manifest_eq(after, before, "after apply refused");
	cr_assert_eq(fklog_ops(root), 0);
	free(before);
	free(after);
}
