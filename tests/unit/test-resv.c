/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reservation records (gpupart/resv.h): the line gpupart writes, written here by hand from
 * the header's format, and every way a record on disk can fail to be one.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/resv.h>

#include "shared/str.h"

#define UUID "0f9a4c2e-1b2d-4e5f-8a9b-0c1d2e3f4a5b"
#define VF "0000:41:00.4"

Test(resv, format_is_the_documented_line)
{
	struct gp_resv r = { .device = VF, .uuid = UUID, .domain = "vm1", .gpu = "0000:41:00.0",
			     .partition = 3 };
	char *t = gp_resv_format(&r);

	cr_assert_str_eq(t, "reservation device=0000:41:00.4 uuid=" UUID
			    " domain=vm1 gpu=0000:41:00.0 partition=3\n");
	free(t);
}

Test(resv, names_with_blanks_round_trip_percent_encoded)
{
	struct gp_resv r = { .device = "3b0e6c1a-0000-4000-8000-00000000000a", .uuid = UUID,
			     .domain = "my vm%1\t", .gpu = "0000:41:00.0", .partition = 0 }, back;
	char *t = gp_resv_format(&r), err[256];

	cr_assert_not_null(strstr(t, " domain=my%20vm%251%09 "), "%s", t);
	cr_assert_eq(gp_resv_parse(r.device, t, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_str_eq(back.domain, "my vm%1\t");
	cr_assert_str_eq(back.uuid, UUID);
	cr_assert_str_eq(back.device, r.device);
	cr_assert_eq(back.partition, 0);
	gp_resv_clear(&back);
	free(t);
}

Test(resv, format_refuses_what_is_not_a_device_or_uuid)
{
	struct gp_resv r = { .device = "0000:41:00.4", .uuid = "not-a-uuid", .domain = "vm1",
			     .gpu = "0000:41:00.0" };

	cr_assert_null(gp_resv_format(&r));
	snprintf(r.uuid, sizeof(r.uuid), UUID);
	snprintf(r.device, sizeof(r.device), "0000:41:00.4/../x");
	cr_assert_null(gp_resv_format(&r));
	snprintf(r.device, sizeof(r.device), "0000:41:00.4");
	r.domain = "";
	cr_assert_null(gp_resv_format(&r));
}

static int parse(const char *name, const char *text, char *err)
{
	struct gp_resv r;
	int ret = gp_resv_parse(name, text, &r, err, 256);

	gp_resv_clear(&r);
	return ret;
}

#define GOOD "reservation device=" VF " uuid=" UUID " domain=vm1 gpu=0000:41:00.0 partition=3\n"

Test(resv, parse_is_strict)
{
	static const struct {
		const char *name, *text, *why;
	} bad[] = {
		{ VF, "", "empty" },
		{ VF, "reservation device=" VF " uuid=" UUID " domain=vm1 gpu=0000:41:00.0 "
		      "partition=3", "cut short" },
		{ "0000:41:00.5", GOOD, "not the file's name" },
		{ VF, GOOD GOOD, "more than one line" },
		{ VF, "reserve device=" VF " uuid=" UUID " domain=vm1 gpu=0000:41:00.0 "
		      "partition=3\n", "not a reservation record" },
		{ VF, "reservation device=" VF " uuid=" UUID " domain=vm1 gpu=0000:41:00.0\n",
		  "wants" },
		{ VF, "reservation device=" VF " uuid=" UUID " domain=vm1 gpu=0000:41:00.0 "
		      "partition=03\n", "not a number" },
		{ VF, "reservation device=" VF " uuid=" UUID " domain=vm1 gpu=41:00.0 "
		      "partition=3\n", "not a PCI address" },
		{ VF, "reservation device=" VF " uuid=" UUID " domain=vm%00x gpu=0000:41:00.0 "
		      "partition=3\n", "not a name" },
		{ VF, "reservation device=" VF " uuid=" UUID " domain=vm%zz gpu=0000:41:00.0 "
		      "partition=3\n", "not a name" },
		{ VF, "reservation device=" VF " uuid=x domain=vm1 gpu=0000:41:00.0 partition=3\n",
		  "not a UUID" },
		{ VF, "reservation device=" VF " uuid=" UUID " domain=vm1 gpu=0000:41:00.0 "
		      "partition=3 owner=x\n", "unknown key" },
		{ VF, "reservation  device=" VF " uuid=" UUID " domain=vm1 gpu=0000:41:00.0 "
		      "partition=3\n", "" },
	};
	char err[256];
	size_t i;

	cr_assert_eq(parse(VF, GOOD, err), 0, "%s", err);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		cr_expect_eq(parse(bad[i].name, bad[i].text, err), -EINVAL, "row %zu accepted", i);
		cr_expect_not_null(strstr(err, bad[i].why), "row %zu: '%s' lacks '%s'", i, err,
				   bad[i].why);
	}
}

Test(resv, find_ignores_case)
{
	struct gp_resv v[1] = { { .device = "3b0e6c1a-0000-4000-8000-00000000000a" } };

	cr_assert_eq(gp_resv_find(v, 1, "3B0E6C1A-0000-4000-8000-00000000000A"), &v[0]);
	cr_assert_null(gp_resv_find(v, 1, VF));
	cr_assert_null(gp_resv_find(v, 1, NULL));
}

/* CPU lists, as sysfs nodeN/cpulist prints them and libvirt's <vcpu cpuset> takes them
 * (docs/formatdomain.rst, "CPU Allocation": ranges, and ^N to exclude). */
Test(resv, cpulists_as_kernel_and_libvirt_write_them)
{
	static const struct {
		const char *text;
		int count;
		const char *set; /* the CPUs 0..7 as '1'/'0' */
	} rows[] = {
		{ "0-3", 4, "11110000" },
		{ "0-3\n", 4, "11110000" },
		{ "1,3,5", 3, "01010100" },
		{ "0-7,^2", 7, "11011111" },
		{ "0-3,^1-2", -EINVAL, NULL },  /* libvirt excludes one CPU per ^ */
		{ "3-1", -EINVAL, NULL },
		{ "8", -EINVAL, NULL },         /* past the CPUs there are room for */
		{ "a", -EINVAL, NULL },
		{ "1,", 1, "01000000" },
		{ "1;2", -EINVAL, NULL },
		{ "", 0, "00000000" },
	};
	size_t i, k;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		unsigned char cpus[8] = { 0 };
		int n = gp_cpulist_parse(rows[i].text, cpus, 8);

		cr_expect_eq(n, rows[i].count, "'%s': %d", rows[i].text, n);
		for (k = 0; rows[i].set && n >= 0 && k < 8; k++)
			cr_expect_eq(cpus[k], rows[i].set[k] == '1', "'%s' cpu %zu", rows[i].text, k);
	}
}
