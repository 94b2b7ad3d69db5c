/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Names: the bisecting pci.ids lookup against a naive line-by-line parse of the same file
 * (every vendor and a spread of devices must get the names lspci would print), and NVIDIA's
 * vGPU type names in every form its drivers print, each with where the form comes from.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/pciacc.h"

#include <gpupart/model.h>

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

/*
 * NVIDIA vGPU type names: series, MIG backing and framebuffer read from each naming form. The
 * expected values are read off the name by hand with the grammar of NVIDIA's
 * vgpu-device-manager (pkg/types/vgpu_type.go): time-sliced GPU-<GB><S>, MIG-backed
 * GPU-<G>-<GB><S>, GB 0 = 512 MiB; each case says where the name was seen.
 */
struct name_case {
	char name[48];
	int ok;
	char series;
	bool mig;
	long long fb_mib;
};

ParameterizedTestParameters(names, vgpu_type)
{
	static struct name_case cases[] = {
		/* research real-hosts/01: an A40's mdev type names */
		{ "NVIDIA A40-1B", 1, 'B', false, 1024 },
		{ "NVIDIA A40-24A", 1, 'A', false, 24 * 1024 },
		{ "NVIDIA A16-16Q", 1, 'Q', false, 16384 },
		/* "GRID" prefix of the older boards (P40, T4: real-hosts/02) */
		{ "GRID P40-2Q", 1, 'Q', false, 2048 },
		{ "GRID T4-1B", 1, 'B', false, 1024 },
		/* four-head vPC: the 4 after the series is heads, not a series (real-hosts/02) */
		{ "GRID T4-2B4", 1, 'B', false, 2048 },
		{ "GRID T4-1B4", 1, 'B', false, 1024 },
		/* 0 GB is 512 MiB (vgpu_type.go: "i.e. M60-0Q") */
		{ "GRID M60-0Q", 1, 'Q', false, 512 },
		/* a dash inside the GPU's own name (real-hosts/03, the upstream RFC's list) */
		{ "NVIDIA RTX6000-Ada-48Q", 1, 'Q', false, 49152 },
		{ "NVIDIA H200X-141C", 1, 'C', false, 141 * 1024 },
		/* MIG-backed: slice count then size (real-hosts/07: H200X-1-18C; AI Enterprise
		 * tables: H100-1-10C is "MIG 1g.10gb") */
		{ "NVIDIA H200X-1-18C", 1, 'C', true, 18 * 1024 },
		{ "NVIDIA H100-1-10C", 1, 'C', true, 10240 },
		{ "NVIDIA H200X-7-141C", 1, 'C', true, 141 * 1024 },
		/* CME: a MIG type with media extensions ("MIG 1g.10gb+me", AI Enterprise tables) */
		{ "NVIDIA H100-1-10CME", 1, 'C', true, 10240 },
		{ "NVIDIA H200X-1-18CME", 1, 'C', true, 18 * 1024 },
		/* MIG attribute suffixes NOME, MEALL, GFX (vgpu-device-manager vfio.go and its
		 * StripAttributeSuffix tests: A100-1-5CNOME, A100-7-40CMEALL, A100-1-5CGFX) */
		{ "NVIDIA A100-1-5CNOME", 1, 'C', true, 5120 },
		{ "NVIDIA A100-7-40CMEALL", 1, 'C', true, 40960 },
		{ "NVIDIA A100-1-5CGFX", 1, 'C', true, 5120 },
		/* the same tests strip GFX from a time-sliced name: still time-sliced */
		{ "NVIDIA RTX6000-Ada-2QGFX", 1, 'Q', false, 2048 },
		/* Blackwell RTX Pro boards: "DC" is the GPU; DC-<GB><S> time-sliced, DC-<G>-<GB><S>
		 * MIG-backed (AI Enterprise vGPU types reference, Blackwell: DC-32C time-sliced,
		 * DC-2-32C "MIG 2g.32gb"); DC-1-24Q is a MIG-backed Q type of the RTX Pro 6000 */
		{ "NVIDIA RTX Pro 6000 Blackwell DC-48C", 1, 'C', false, 49152 },
		{ "NVIDIA RTX Pro 6000 Blackwell DC-1-24Q", 1, 'Q', true, 24 * 1024 },
		{ "NVIDIA RTX Pro 4500 Blackwell DC-2-8C", 1, 'C', true, 8 * 1024 },
		{ "NVIDIA RTX Pro 6000 Blackwell DC-4-96Q", 1, 'Q', true, 96 * 1024 },
		/* not type names */
		{ "NVIDIA A40", 0, 0, false, -1 },
		{ "NVIDIA A40-Q", 0, 0, false, -1 },
		{ "4Q", 0, 0, false, -1 },
		{ "NVIDIA A40-4X", 0, 0, false, -1 },
		{ "NVIDIA A40-4QX", 0, 0, false, -1 },
		{ "ME", 0, 0, false, -1 },
		{ "NVIDIA A100-1-5CMEX", 0, 0, false, -1 },
		{ "GRID T4-2Q4", 0, 0, false, -1 },
	};
	return cr_make_param_array(struct name_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct name_case *c, names, vgpu_type)
{
	char series;
	bool mig;
	int64_t fb;
	int r = gp_vgpu_type_parse_name(c->name, &series, &mig, &fb);

	cr_assert_eq(r == 0, c->ok, "'%s' returned %d", c->name, r);
	cr_assert_eq(series, c->series, "'%s' series %c", c->name, series);
	cr_assert_eq(mig, c->mig, "'%s' mig", c->name);
	cr_assert_eq(fb, c->fb_mib < 0 ? -1 : c->fb_mib << 20, "'%s' fb %lld", c->name,
		     (long long)fb);
}
