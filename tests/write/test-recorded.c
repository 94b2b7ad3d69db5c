/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The catalogue gpupart records itself (model/recorded.h, kinds/catalogue.h) on an L40S host
 * with the vGPU manager but no vgpuConfig.xml: written by set-count right after sriov-manage -e
 * (the one moment the VFs' lists are the whole catalogue), read back by list once types
 * consume them, never written by list or survey, refused when damaged or another driver's,
 * and put back as it was when the change is unwound.
 *
 * The expected record is typed from the fixture's L40S catalogue (the "driver's" list in this
 * world, tests/fixture/fx-vgpu.c) and the format in gpupart(8), FILES; the counts are 48 GiB
 * divided by each Q type's size, at most one per VF (32).
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"
#include "wrun.h"

TestSuite(write_recorded, .init = wsetup, .fini = wteardown, .timeout = 120);

#define RECORD "var/lib/gpupart/catalogue/10de:26b9:10de:1851"
#define Q_COUNTS "\"valid_partition_counts\": [ 32, 24, 16, 12, 8, 6, 4, 3, 2, 1 ]"

/* sriov-off's L40S without NVIDIA's table: only the VFs' lists (and the record) can tell. */
static char *tree_without_vgpuconfig(void)
{
	char *root = wtree("sriov-off"), *p;

	with_sriov_manage(root);
	cr_assert_geq(asprintf(&p, "%s/usr/share/nvidia/vgpu/vgpuConfig.xml", root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	return root;
}

static char *expected_record(const char *driver)
{
	const struct fx_vgpu_catalog *c = &fx_catalog_l40s;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	fprintf(f, "catalogue 1 board=10de:26b9:10de:1851 driver=%s types=%zu\n", driver, c->n);
	for (size_t i = 0; i < c->n; i++)
		fprintf(f, "type %d %s\n", c->types[i].id, c->types[i].name);
	fclose(f);
	return buf;
}

static char *file(const char *root, const char *rel)
{
	char *p, *s;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	s = slurp(p);
	free(p);
	return s;
}

/* list --json of the L40S, compacted (json-c's pretty print, one value per line, joined) */
static char *list_json(const char *root, char **err)
{
	struct run r;
	char *out, *o;

	cr_assert_eq(gpf(&r, root, "list", "--json", L40S, NULL), 0, "%s", r.err);
	out = malloc(strlen(r.out) + 1);
	o = out;
	for (const char *p = r.out; *p; p++) {
		if (*p == '\n')
			continue;
		if (*p == ' ' && (o == out || o[-1] == ' '))
			continue;
		*o++ = *p;
	}
	*o = 0;
	if (err)
		*err = strdup(r.err);
	run_free(&r);
	return out;
}

Test(write_recorded, recorded_when_vfs_are_enabled_and_read_back)
{
	char *root = tree_without_vgpuconfig(), *want, *got, *json;
	char *driver = rd(root, "sys/module/nvidia/version");
	struct run r;

	cr_assert_not(ex(root, RECORD));
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", NULL), 0, "%s", r.err);
	run_free(&r);
	want = expected_record(driver);
	got = file(root, RECORD);
	cr_assert_not_null(got, "set-count recorded nothing");
	cr_assert_str_eq(got, want);
	free(got);
	/* four 12Q in force fill the GPU: its lists are headers only, the record stands */
	json = list_json(root, NULL);
	cr_assert(strstr(json, "\"vgpu_catalogue\": \"recorded\""), "%s", json);
	cr_assert(strstr(json, Q_COUNTS), "%s", json);
	cr_assert(strstr(json, "\"partition_count\": 4"), "%s", json);
	/* a capture keeps it: the extracted tree gives the same answer */
	{
		char *dst = test_tmpdir("capture"), *again;

		capture_into(root, dst);
		got = file(dst, RECORD);
		cr_assert_str_eq(got ? got : "", want, "capture: the record");
		free(got);
		again = list_json(dst, NULL);
		cr_assert_str_eq(again, json);
		free(again);
	}
	free(json);
	/* the count in force again, and another count with the VFs already enabled: the lists
	 * are not complete then, and the record is not touched */
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "2", NULL), 0, "%s", r.err);
	run_free(&r);
	got = file(root, RECORD);
	cr_assert_str_eq(got, want);
	free(got);
	free(want);
	free(driver);
}

/* The record is the change's, and the change's unwinding puts it back: a failed type write
 * leaves no record, a kill after the record landed is repaired to no record. */
Test(write_recorded, unwound_with_the_change)
{
	char *root = tree_without_vgpuconfig(), *orig = manifest(root, M_STATE), *now, *copy;
	char *driver = rd(root, "sys/module/nvidia/version"), *want = expected_record(driver);
	const char *fail[] = { "GP_FAKE_FAIL_WRITE=5", NULL }, *kill_[] = { "GP_FAKE_KILL_AFTER=5",
									  NULL };
	struct run r;

	/* the exec and four type writes: the 5th, the last type, fails */
	copy = wcopy(root);
	cr_assert_eq(gpf_env(&r, fail, copy, "set-count", L40S, "4", NULL), 1, "%s", r.err);
	run_free(&r);
	now = manifest(copy, M_STATE);
	assert_manifest_eq(now, orig, "failed at the last type");
	free(now);
	/* killed after the last type write, before the record: then as if the record had
	 * landed before the kill; repair takes both back */
	copy = wcopy(root);
	cr_assert_eq(gpf_env(&r, kill_, copy, "set-count", L40S, "4", NULL), 128 + 9);
	run_free(&r);
	cr_assert(journal_present(copy));
	mkdirs(copy, "var/lib/gpupart/catalogue");
	put(copy, RECORD, want);
	cr_assert_eq(gpf(&r, copy, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_not(ex(copy, RECORD), "repair left the record");
	now = rd(copy, "sys/bus/pci/devices/" L40S "/sriov_numvfs");
	cr_assert_str_eq(now, "0");
	free(now);
	free(orig);
	free(want);
	free(driver);
}

/* list and survey read; with the lists complete (sixteen-sriov: every VF idle) they record
 * nothing, and with vgpuConfig.xml set-count records nothing either. */
Test(write_recorded, never_by_list_survey_or_with_vgpuconfig)
{
	char *root = wtree("sixteen-sriov"), *p, *before, *after;
	struct run r;

	cr_assert_geq(asprintf(&p, "%s/usr/share/nvidia/vgpu/vgpuConfig.xml", root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	before = manifest(root, M_STRICT);
	cr_assert_eq(gpf(&r, root, "list", NULL), 0, "%s", r.err);
	run_free(&r);
	gpf(&r, root, "survey", NULL);
	run_free(&r);
	after = manifest(root, M_STRICT);
	assert_manifest_eq(after, before, "list and survey");
	free(before);
	free(after);

	root = wtree("sriov-off");
	with_sriov_manage(root);
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_not(ex(root, "var/lib/gpupart"), "recorded where vgpuConfig.xml knows the board");
}

/* A damaged record, or another driver's, is a warning and not used: set-count records the
 * right one when it enables the VFs, and list warns of a bad one while types are in force. */
Test(write_recorded, damaged_or_foreign_is_ignored)
{
	static const char *bad[] = {
		"catalogue 1 board=10de:26b9:10de:1851 driver=550.90.05 types=3\n"
		"type 1147 NVIDIA L40S-1Q\n",
		"catalogue 1 board=10de:26b9:10de:1851 driver=535.54.06 types=1\n"
		"type 1147 NVIDIA L40S-1Q\n",
	};

	for (size_t i = 0; i < 2; i++) {
		char *root = tree_without_vgpuconfig(), *err, *json, *got, *want;
		char *driver = rd(root, "sys/module/nvidia/version");
		const char *says = i ? "recorded with NVIDIA driver 535.54.06" : "cut short";
		struct run r;

		mkdirs(root, "var/lib/gpupart/catalogue");
		put(root, RECORD, bad[i]);
		cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", NULL), 0, "%s", r.err);
		cr_assert(strstr(r.err, "warning:") && strstr(r.err, RECORD) && strstr(r.err, says),
			  "case %zu: %s", i, r.err);
		run_free(&r);
		want = expected_record(driver);
		got = file(root, RECORD);
		cr_assert_str_eq(got, want, "case %zu", i);
		free(got);
		free(want);
		put(root, RECORD, bad[i]);
		json = list_json(root, &err);
		cr_assert(strstr(json, "\"vgpu_catalogue\": \"sysfs\""), "case %zu: %s", i, json);
		cr_assert(strstr(err, "warning:") && strstr(err, says), "case %zu: %s", i, err);
		free(err);
		free(json);
		free(driver);
	}
}
