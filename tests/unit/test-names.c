/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The bisecting pci.ids lookup against a naive line-by-line parse of the same file: every
 * vendor and a spread of devices must get the names lspci would print.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/pciacc.h"

#define IDS "/usr/share/misc/pci.ids"

struct entry {
	int vendor, device;
	char name[512];
};

static struct entry *naive_parse(size_t *n)
{
	FILE *f = fopen(IDS, "r");
	struct entry *v = NULL;
	char line[1024], vname[256] = "";
	int vendor = -1;
	size_t cap = 0;

	*n = 0;
	cr_assert_not_null(f, IDS " is needed (Debian package pci.ids)");
	while (fgets(line, sizeof(line), f)) {
		unsigned id;
		char name[256];

		line[strcspn(line, "\n")] = 0;
		if (line[0] == 'C' && line[1] == ' ')
			break; /* the class section */
		if (sscanf(line, "%4x  %255[^\n]", &id, name) == 2 && line[0] != '\t') {
			vendor = (int)id;
			snprintf(vname, sizeof(vname), "%s", name);
			if (*n == cap)
				v = realloc(v, (cap = cap ? cap * 2 : 1024) * sizeof(*v));
			v[*n].vendor = vendor;
			v[*n].device = -1;
			snprintf(v[(*n)++].name, sizeof(v->name), "%s", vname);
		} else if (line[0] == '\t' && line[1] != '\t' &&
			   sscanf(line + 1, "%4x  %255[^\n]", &id, name) == 2 && vendor >= 0) {
			if (*n == cap)
				v = realloc(v, (cap = cap ? cap * 2 : 1024) * sizeof(*v));
			v[*n].vendor = vendor;
			v[*n].device = (int)id;
			snprintf(v[(*n)++].name, sizeof(v->name), "%s %s", vname, name);
		}
	}
	fclose(f);
	return v;
}

Test(names, bisect_matches_naive_parse)
{
	struct gp_ctx *ctx;
	struct entry *e;
	size_t n, i, checked = 0;

	if (access("/usr/lib/udev/hwdb.bin", F_OK) == 0 || access("/etc/udev/hwdb.bin", F_OK) == 0)
		cr_skip_test("udev's hwdb answers first on this host");
	e = naive_parse(&n);
	cr_assert_gt(n, 1000);
	cr_assert_eq(gp_ctx_new("/", &ctx), 0);
	for (i = 0; i < n; i++) {
		char *got;

		/* every vendor's first device, and every 37th device */
		if (e[i].device < 0 || (i % 37 && (i == 0 || e[i - 1].device >= 0)))
			continue;
		got = gp_pciacc_name(ctx, e[i].vendor, e[i].device, -1, -1);
		cr_assert_not_null(got, "%04x:%04x not found", e[i].vendor, e[i].device);
		cr_assert_str_eq(got, e[i].name, "%04x:%04x", e[i].vendor, e[i].device);
		free(got);
		checked++;
	}
	cr_assert_gt(checked, 1000, "checked %zu", checked);
	gp_ctx_free(ctx);
	free(e);
}

Test(names, absent_ids)
{
	struct gp_ctx *ctx;
	char *got;

	if (access("/usr/lib/udev/hwdb.bin", F_OK) == 0 || access("/etc/udev/hwdb.bin", F_OK) == 0)
		cr_skip_test("udev's hwdb answers first on this host");
	cr_assert_eq(gp_ctx_new("/", &ctx), 0);
	got = gp_pciacc_name(ctx, 0x10de, 0xfffe, -1, -1);
	cr_assert_null(got, "no such device: %s", got);
	got = gp_pciacc_name(ctx, 0xfff0, 0x0001, -1, -1);
	cr_assert_null(got, "no such vendor: %s", got);
	got = gp_pciacc_name(ctx, 0x0001, 0x0001, -1, -1);
	cr_assert_null(got, "%s", got);
	gp_ctx_free(ctx);
}
