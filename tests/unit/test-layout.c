/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The partition layout file (gpupart/layout.h): parsing, formatting, stable PCI paths, matching
 * an entry to the hardware, and Admin Center's homogeneity rule. Hand-built models; the
 * expected values are worked out by hand from the format in gpupart(8), FILES.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gpupart/layout.h>
#include <gpupart/policy.h>

#include "keep.h"

#define GIB (1024LL * 1024 * 1024)

/* ---- models ---------------------------------------------------------------------------- */

static struct gp_device *mk_dev(const char *addr, struct gp_device *parent, int vendor,
				int device, int sub_vendor, int sub_device, const char *syspath)
{
	struct gp_device *d = keep(calloc(1, sizeof(*d)));

	cr_assert_eq(gp_pci_addr_parse(addr, &d->addr), 0, "%s", addr);
	gp_pci_addr_format(&d->addr, d->address);
	d->detailed = d->full = true;
	d->parent = parent;
	d->syspath = syspath ? keep(strdup(syspath)) : NULL;
	d->vendor = vendor;
	d->device = device;
	d->subsystem_vendor = sub_vendor;
	d->subsystem_device = sub_device;
	d->class_code = parent ? 0x030200 : 0x060400;
	d->iommu_group = d->numa_node = d->vf_index = -1;
	d->sriov_total_vfs = d->sriov_num_vfs = d->sriov_offset = -1;
	d->sriov_stride = d->sriov_vf_device = -1;
	d->current_vgpu_type = -1;
	d->cfg.config_len = 4096;
	d->cfg.readable = d->cfg.ext_readable = true;
	d->cfg.pcie_type = GP_PCIE_ENDPOINT;
	d->boot_vga = GP_TRI_UNKNOWN;
	d->open_by_host = GP_TRI_UNKNOWN;
	return d;
}

static struct gp_device *mk_port(const char *addr, struct gp_device *parent, const char *syspath)
{
	struct gp_device *d = mk_dev(addr, parent, 0x8086, 0x2030, 0x8086, 0x0000, syspath);

	d->class_code = 0x060400;
	d->cfg.pcie_type = parent ? GP_PCIE_DOWNSTREAM : GP_PCIE_ROOT_PORT;
	return d;
}

static void path_is(const struct gp_device *d, const char *want)
{
	char buf[128];

	cr_assert_eq(gp_device_path_id(d, buf, sizeof(buf)), 0, "%s", d->address);
	cr_assert_str_eq(buf, want, "%s", d->address);
}

/* ---- PCI paths ------------------------------------------------------------------------- */

Test(path, gpu_behind_root_port)
{
	struct gp_device *rp = mk_port("0000:40:01.1", NULL, "devices/pci0000:40/0000:40:01.1");
	struct gp_device *g = mk_dev("0000:43:00.0", rp, 0x10de, 0x26b9, 0x10de, 0x1851,
				     "devices/pci0000:40/0000:40:01.1/0000:43:00.0");

	path_is(g, "pci0000:40/01.1/00.0");
	path_is(rp, "pci0000:40/01.1");
	/* the form the model header documents (no "devices/" prefix) reads the same */
	g->syspath = keep(strdup("pci0000:40/0000:40:01.1/0000:43:00.0"));
	path_is(g, "pci0000:40/01.1/00.0");
	/* a renumbered secondary bus (another card added elsewhere) keeps the path */
	g->addr.bus = 0x44;
	gp_pci_addr_format(&g->addr, g->address);
	g->syspath = keep(strdup("devices/pci0000:40/0000:40:01.1/0000:44:00.0"));
	path_is(g, "pci0000:40/01.1/00.0");
}

Test(path, gpu_behind_switch)
{
	struct gp_device *rp = mk_port("0000:00:01.0", NULL, NULL);
	struct gp_device *up = mk_port("0000:01:00.0", rp, NULL);
	struct gp_device *dp = mk_port("0000:02:08.0", up, NULL);
	struct gp_device *g = mk_dev(
		"0000:03:00.0", dp, 0x10de, 0x25b6, 0x10de, 0x14a9,
		"devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:08.0/0000:03:00.0");

	/* root port, switch upstream port, downstream port 08.0, then the GPU */
	path_is(g, "pci0000:00/01.0/00.0/08.0/00.0");
	/* the sibling GPU on the next downstream port differs only in that hop */
	dp->addr.dev = 0x09;
	path_is(g, "pci0000:00/01.0/00.0/09.0/00.0");
	/* no syspath: the topmost bridge sits on the root bus, so the chain alone says it */
	path_is(up, "pci0000:00/01.0/00.0");
}

Test(path, vmd_domain)
{
	struct gp_device *vmd = mk_port("0000:00:0e.0", NULL, "devices/pci0000:00/0000:00:0e.0");
	struct gp_device *rp = mk_port("10000:e0:1d.0", vmd,
				       "devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:1d.0");
	struct gp_device *g = mk_dev(
		"10000:e1:00.0", rp, 0x10de, 0x2331, 0x10de, 0x1626,
		"devices/pci0000:00/0000:00:0e.0/pci10000:e0/10000:e0:1d.0/10000:e1:00.0");

	/* the path starts at the VMD domain's own root bus, five domain digits */
	path_is(g, "pci10000:e0/1d.0/00.0");
	path_is(rp, "pci10000:e0/1d.0");
}

Test(path, chain_that_stops_short_or_does_not_fit)
{
	struct gp_device *g = mk_dev("0000:43:00.0", NULL, 0x10de, 0x26b9, 0x10de, 0x1851,
				     "devices/pci0000:40/0000:40:01.1/0000:43:00.0");
	struct gp_device *rp = mk_port("0000:40:01.1", NULL, NULL);
	char buf[128], tiny[12];

	/* the root port was never read: the GPU's chain would claim bus 43 is a root bus */
	cr_assert_eq(gp_device_path_id(g, buf, sizeof(buf)), -EINVAL);
	g->parent = rp;
	cr_assert_eq(gp_device_path_id(g, buf, sizeof(buf)), 0);
	cr_assert_str_eq(buf, "pci0000:40/01.1/00.0");
	/* "pci0000:40/01.1/00.0" is 20 characters */
	cr_assert_eq(gp_device_path_id(g, tiny, sizeof(tiny)), -ENAMETOOLONG);
	/* a loop in a hand-built chain ends in an error, not a hang */
	rp->parent = g;
	cr_assert_eq(gp_device_path_id(g, buf, sizeof(buf)), -EINVAL);
}

/* ---- parse and format ------------------------------------------------------------------ */

static const char sample[] =
	"# my GPUs\n"
	"\n"
	"PCI0000:40/01.1/00.0   count=4 id=10DE:26B9 subsystem=10de:1851 series=q "
	"address=0000:43:00.0\n"
	"   # indented comment\n"
	"pci0000:00/01.0/00.0/08.0/00.0 id=10de:25b6 subsystem=10de:14a9 count=0\r\n"
	"pci10000:e0/1d.0/00.0\tsubsystem=10de:1626\tid=10de:2331 count=4096 address=10000:E1:00.0"
	" # the H100\n";

static const char sample_formatted[] =
	"# gpupart partition layout (gpupart(8), FILES). One GPU per line:\n"
	"#   PCI-PATH  id=VVVV:DDDD subsystem=VVVV:DDDD count=N [series=Q|C|B|A] "
	"[address=dddd:bb:dd.f]\n"
	"pci0000:00/01.0/00.0/08.0/00.0 id=10de:25b6 subsystem=10de:14a9 count=0\n"
	"pci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851 count=4 series=Q "
	"address=0000:43:00.0\n"
	"pci10000:e0/1d.0/00.0 id=10de:2331 subsystem=10de:1626 count=4096 "
	"address=10000:e1:00.0\n";

Test(layout, parse_sample)
{
	struct gp_layout l;
	char err[128] = "untouched";

	cr_assert_eq(gp_layout_parse(sample, &l, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(l.n, 3);
	cr_assert_str_eq(l.v[0].path, "pci0000:40/01.1/00.0");
	cr_assert_eq(l.v[0].vendor, 0x10de);
	cr_assert_eq(l.v[0].device, 0x26b9);
	cr_assert_eq(l.v[0].subsystem_vendor, 0x10de);
	cr_assert_eq(l.v[0].subsystem_device, 0x1851);
	cr_assert_eq(l.v[0].count, 4);
	cr_assert_eq(l.v[0].series, 'Q');
	cr_assert_str_eq(l.v[0].address, "0000:43:00.0");
	cr_assert_eq(l.v[0].line, 3);
	cr_assert_str_eq(l.v[1].path, "pci0000:00/01.0/00.0/08.0/00.0");
	cr_assert_eq(l.v[1].count, 0);
	cr_assert_eq(l.v[1].series, 0);
	cr_assert_str_eq(l.v[1].address, "");
	cr_assert_eq(l.v[1].line, 5);
	cr_assert_str_eq(l.v[2].path, "pci10000:e0/1d.0/00.0");
	cr_assert_eq(l.v[2].device, 0x2331);
	cr_assert_eq(l.v[2].subsystem_device, 0x1626);
	cr_assert_eq(l.v[2].count, 4096);
	cr_assert_str_eq(l.v[2].address, "10000:e1:00.0");
	cr_assert_eq(l.v[2].line, 6);
	gp_layout_clear(&l);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.v);
}

Test(layout, format_sorted_lowercase_and_round_trip)
{
	struct gp_layout l, back;
	char err[128], *text, *again;
	size_t i;

	cr_assert_eq(gp_layout_parse(sample, &l, err, sizeof(err)), 0, "%s", err);
	text = gp_layout_format(&l);
	cr_assert_not_null(text);
	cr_assert_str_eq(text, sample_formatted);
	cr_assert_eq(gp_layout_parse(text, &back, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(back.n, 3);
	for (i = 0; i < 3; i++) {
		/* back is in file order, which is now sorted: find each by path */
		size_t j;

		for (j = 0; j < 3 && strcmp(back.v[j].path, l.v[i].path); j++)
			;
		cr_assert_lt(j, 3, "%s lost", l.v[i].path);
		cr_assert_eq(back.v[j].vendor, l.v[i].vendor);
		cr_assert_eq(back.v[j].device, l.v[i].device);
		cr_assert_eq(back.v[j].subsystem_vendor, l.v[i].subsystem_vendor);
		cr_assert_eq(back.v[j].subsystem_device, l.v[i].subsystem_device);
		cr_assert_eq(back.v[j].count, l.v[i].count);
		cr_assert_eq(back.v[j].series, l.v[i].series);
		cr_assert_str_eq(back.v[j].address, l.v[i].address);
	}
	again = gp_layout_format(&back);
	cr_assert_str_eq(again, text);
	free(again);
	free(text);
	gp_layout_clear(&back);
	gp_layout_clear(&l);
}

Test(layout, empty_and_comment_only)
{
	struct gp_layout l = { (void *)1, 7 };
	char err[64], *text;

	cr_assert_eq(gp_layout_parse("", &l, err, sizeof(err)), 0);
	cr_assert_eq(l.n, 0);
	cr_assert_eq(gp_layout_parse("# nothing\n\n   \n\t# still nothing", &l, err, sizeof(err)),
		     0);
	cr_assert_eq(l.n, 0);
	text = gp_layout_format(&l);
	cr_assert_str_eq(text, "# gpupart partition layout (gpupart(8), FILES). One GPU per line:\n"
			       "#   PCI-PATH  id=VVVV:DDDD subsystem=VVVV:DDDD count=N "
			       "[series=Q|C|B|A] [address=dddd:bb:dd.f]\n");
	free(text);
}

Test(layout, set_adds_and_replaces_by_path)
{
	struct gp_layout l = { 0 };
	struct gp_layout_entry e = { .path = "pci0000:40/01.1/00.0", .vendor = 0x10de,
				     .device = 0x26b9, .subsystem_vendor = 0x10de,
				     .subsystem_device = 0x1851, .count = 4 };
	char *text;

	cr_assert_eq(gp_layout_set(&l, &e), 0);
	cr_assert_neq(l.v[0].path, e.path, "the layout owns a copy");
	e.path = "pci0000:00/02.0/00.0";
	e.count = 2;
	e.series = 'C';
	cr_assert_eq(gp_layout_set(&l, &e), 0);
	cr_assert_eq(l.n, 2);
	e.path = "pci0000:40/01.1/00.0";
	e.count = 8;
	e.series = 0;
	cr_assert_eq(gp_layout_set(&l, &e), 0);
	cr_assert_eq(l.n, 2, "same path: replaced, not added");
	cr_assert_eq(l.v[0].count, 8);
	text = gp_layout_format(&l);
	cr_assert(strstr(text, "\npci0000:00/02.0/00.0 id=10de:26b9 subsystem=10de:1851 count=2 "
			       "series=C\npci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851 "
			       "count=8\n"),
		  "%s", text);
	free(text);
	e.path = NULL;
	cr_assert_eq(gp_layout_set(&l, &e), -EINVAL);
	gp_layout_clear(&l);
}

/* char arrays, not pointers: Criterion hands parameters to a fresh process */
struct bad_case {
	char text[224];
	int line;
	char why[80];
};

#define GOOD "id=10de:26b9 subsystem=10de:1851 count=4"

static struct bad_case bad_cases[] = {
	{ "pci0000:40/01.1/00.0 " GOOD " colour=red\n", 1, "unknown key 'colour'" },
	{ "# c\n\npci0000:40/01.1/00.0 subsystem=10de:1851 count=4\n", 3, "missing id" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 count=4\n", 1, "missing subsystem" },
	{ "\npci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851\n", 2, "missing count" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851 count=-1\n", 1, "bad count" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851 count=4097\n", 1, "bad count" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851 count=4x\n", 1, "bad count" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851 count=\n", 1, "bad count" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:1851 count=0x4\n", 1, "bad count" },
	{ "pci0000:40/01.1/00.0 id=10de:26bz subsystem=10de:1851 count=4\n", 1, "bad id" },
	{ "pci0000:40/01.1/00.0 id=10de:26b subsystem=10de:1851 count=4\n", 1, "bad id" },
	{ "pci0000:40/01.1/00.0 id=10de-26b9 subsystem=10de:1851 count=4\n", 1, "bad id" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 subsystem=10de:18510 count=4\n", 1,
	  "bad subsystem" },
	{ "pci0000:40/01.1/00.0 id=10de:26b9 subsystem=g0de:1851 count=4\n", 1, "bad subsystem" },
	{ "pci0000:40/01.1/00.0 " GOOD " series=X\n", 1, "bad series" },
	{ "pci0000:40/01.1/00.0 " GOOD " series=QC\n", 1, "bad series" },
	{ "pci0000:40/01.1/00.0 " GOOD " address=43:00\n", 1, "bad address" },
	{ "pci0000:40/01.1/00.0 " GOOD " count=8\n", 1, "duplicate key 'count'" },
	{ "pci0000:40/01.1/00.0 " GOOD " loose\n", 1, "expected key=value" },
	{ "id=10de:26b9 subsystem=10de:1851 count=4\n", 1, "expected a PCI path" },
	{ "pci0000:40 " GOOD "\n", 1, "bad PCI path" },
	{ "pci000:40/01.1/00.0 " GOOD "\n", 1, "bad PCI path" },
	{ "pci0000:40/20.0/00.0 " GOOD "\n", 1, "bad PCI path" },
	{ "pci0000:40/01.8/00.0 " GOOD "\n", 1, "bad PCI path" },
	{ "pci0000:40/1.1/00.0 " GOOD "\n", 1, "bad PCI path" },
	{ "pci0000:40/01.1/00.0/ " GOOD "\n", 1, "bad PCI path" },
	{ "0000:43:00.0 " GOOD "\n", 1, "bad PCI path" },
	{ "pci0000:40/01.1/00.0 " GOOD "\n# x\npci0000:00/02.0/00.0 " GOOD
	  "\nPCI0000:40/01.1/00.0 " GOOD "\n",
	  4, "duplicate entry for pci0000:40/01.1/00.0 (first on line 1)" },
};

ParameterizedTestParameters(layout, bad_lines)
{
	return cr_make_param_array(struct bad_case, bad_cases,
				   sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(struct bad_case *c, layout, bad_lines)
{
	struct gp_layout l = { 0 };
	char err[160] = "", want[32];

	cr_assert_eq(gp_layout_parse(c->text, &l, err, sizeof(err)), -EINVAL, "accepted: %s",
		     c->text);
	cr_assert_eq(l.n, 0);
	cr_assert_null(l.v);
	snprintf(want, sizeof(want), "line %d: ", c->line);
	cr_assert(strncmp(err, want, strlen(want)) == 0, "'%s' should start '%s' for %s", err,
		  want, c->text);
	cr_assert(strstr(err, c->why), "'%s' should say '%s'", err, c->why);
}

Test(layout, boundaries_that_are_fine)
{
	struct gp_layout l;
	char err[128];

	/* 0 and 4096 are counts; upper-case series and hex are read; an 8-digit domain too */
	cr_assert_eq(gp_layout_parse("pcI0000FFFF:ff/1f.7 id=FFFF:0000 subsystem=0000:ffff "
				     "count=0 series=a\n",
				     &l, err, sizeof(err)),
		     0, "%s", err);
	cr_assert_str_eq(l.v[0].path, "pci0000ffff:ff/1f.7");
	cr_assert_eq(l.v[0].vendor, 0xffff);
	cr_assert_eq(l.v[0].device, 0);
	cr_assert_eq(l.v[0].series, 'A');
	gp_layout_clear(&l);
	/* no newline at the end, a NULL/zero-size err buffer */
	cr_assert_eq(gp_layout_parse("pci0000:40/01.1/00.0 " GOOD, &l, NULL, 0), 0);
	cr_assert_eq(l.n, 1);
	gp_layout_clear(&l);
	cr_assert_eq(gp_layout_parse("pci0000:40/01.1/00.0 count=4", &l, NULL, 0), -EINVAL);
}

/* ---- entries and matching -------------------------------------------------------------- */

struct board {
	struct gp_host host;
	struct gp_device *rp, *gpu, *devs[2];
};

static void mk_board(struct board *b, const char *gpu_addr)
{
	char sys[128];

	memset(b, 0, sizeof(*b));
	b->rp = mk_port("0000:40:01.1", NULL, "devices/pci0000:40/0000:40:01.1");
	snprintf(sys, sizeof(sys), "devices/pci0000:40/0000:40:01.1/%s", gpu_addr);
	b->gpu = mk_dev(gpu_addr, b->rp, 0x10de, 0x26b9, 0x10de, 0x1851, sys);
	b->devs[0] = b->rp;
	b->devs[1] = b->gpu;
	b->host.devs = b->devs;
	b->host.n_devs = 2;
	b->host.iommu_enabled = true;
}

Test(match, entry_for_and_match)
{
	struct board b;
	struct gp_layout_entry e;
	struct gp_device *found = (void *)1;

	mk_board(&b, "0000:43:00.0");
	cr_assert_eq(gp_layout_entry_for(b.gpu, 4, 'Q', &e), 0);
	cr_assert_str_eq(e.path, "pci0000:40/01.1/00.0");
	cr_assert_str_eq(e.address, "0000:43:00.0");
	cr_assert_eq(e.vendor, 0x10de);
	cr_assert_eq(e.device, 0x26b9);
	cr_assert_eq(e.subsystem_vendor, 0x10de);
	cr_assert_eq(e.subsystem_device, 0x1851);
	cr_assert_eq(e.count, 4);
	cr_assert_eq(e.series, 'Q');
	cr_assert_eq(e.line, 0);

	cr_assert_eq(gp_layout_match(&b.host, &e, &found), 0);
	cr_assert_eq(found, b.gpu);

	/* the bus renumbered (43 -> 44): the path still finds it */
	mk_board(&b, "0000:44:00.0");
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), 0);
	cr_assert_eq(found, b.gpu);
	cr_assert_str_eq(found->address, "0000:44:00.0");

	/* another card in the slot: same path, other subsystem (or device) IDs: refused */
	b.gpu->subsystem_device = 0x1852;
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), -ESTALE);
	b.gpu->subsystem_device = 0x1851;
	b.gpu->device = 0x26b5;
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), -ESTALE);
	b.gpu->device = 0x26b9;
	b.gpu->vendor = 0x1002;
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), -ESTALE);
	b.gpu->vendor = 0x10de;
	b.gpu->subsystem_vendor = 0x1028;
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), -ESTALE);
	b.gpu->subsystem_vendor = 0x10de;
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), 0);

	/* nothing at that path (the card moved to another slot, or was removed) */
	free(e.path);
	e.path = strdup("pci0000:40/01.2/00.0");
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), -ENODEV);
	cr_assert_null(found);
	free(e.path);
	e.path = strdup("pci0000:41/01.1/00.0");
	cr_assert_eq(gp_layout_match(&b.host, &e, &found), -ENODEV);
	free(e.path);
}

Test(match, entry_for_refuses)
{
	struct board b;
	struct gp_layout_entry e;

	mk_board(&b, "0000:43:00.0");
	cr_assert_eq(gp_layout_entry_for(b.gpu, -1, 0, &e), -EINVAL);
	cr_assert_eq(gp_layout_entry_for(b.gpu, 4097, 0, &e), -EINVAL);
	cr_assert_eq(gp_layout_entry_for(b.gpu, 4, 'X', &e), -EINVAL);
	b.gpu->subsystem_vendor = GP_UNKNOWN;
	cr_assert_eq(gp_layout_entry_for(b.gpu, 4, 'Q', &e), -EINVAL, "no identity without IDs");
	b.gpu->subsystem_vendor = 0x10de;
	b.gpu->parent = NULL; /* the chain does not reach the root bus the syspath names */
	cr_assert_eq(gp_layout_entry_for(b.gpu, 4, 'Q', &e), -EINVAL);
	b.gpu->parent = b.rp;
	cr_assert_eq(gp_layout_entry_for(b.gpu, 4096, 0, &e), 0);
	cr_assert_eq(e.series, 0);
	free(e.path);
}

/* ---- read and write under a root ------------------------------------------------------- */

static char logged[512];

static void capture_log(void *data, enum gp_log_level level, const char *fmt, va_list ap)
{
	(void)data;
	(void)level;
	vsnprintf(logged, sizeof(logged), fmt, ap);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 ? -1 : 0;
}

/* A fresh root under $TMPDIR (meson.build points it into the build tree); rm_root removes it. */
static char *put_root(void)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	cr_assert_geq(asprintf(&dir, "%s/gp-layout-XXXXXX", base && *base ? base : "/tmp"), 0);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
	return dir;
}

static void rm_root(char *dir)
{
	cr_assert_eq(nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0, "rm -rf %s", dir);
	free(dir);
}

Test(layout, read_write_under_root)
{
	char *root = put_root(), path[512], *text = NULL;
	struct gp_layout l, back;
	struct gp_ctx *ctx;
	struct stat st;
	char err[128];
	FILE *f;
	size_t n;

	cr_assert_eq(gp_ctx_new(root, &ctx), 0);
	gp_ctx_set_log(ctx, capture_log, NULL);
	/* no file yet: an empty layout */
	l.n = 99;
	cr_assert_eq(gp_layout_read(ctx, &l), 0);
	cr_assert_eq(l.n, 0);
	cr_assert_eq(gp_layout_parse(sample, &l, err, sizeof(err)), 0);
	cr_assert_eq(gp_layout_write(ctx, &l), 0, "%s", logged);
	snprintf(path, sizeof(path), "%s/etc/gpupart", root);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0755);
	snprintf(path, sizeof(path), "%s/etc/gpupart/partitions.conf", root);
	cr_assert_eq(stat(path, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0644);
	f = fopen(path, "r");
	cr_assert_not_null(f);
	text = calloc(1, 4096);
	n = fread(text, 1, 4095, f);
	fclose(f);
	cr_assert_eq(n, strlen(sample_formatted));
	cr_assert_str_eq(text, sample_formatted);
	free(text);
	cr_assert_eq(gp_layout_read(ctx, &back), 0);
	cr_assert_eq(back.n, 3);
	gp_layout_clear(&back);
	gp_layout_clear(&l);

	/* a hand edit gone wrong: refused, and the log names the file and the line */
	f = fopen(path, "a");
	fputs("pci0000:99/00.0 id=10de:26b9 count=1\n", f);
	fclose(f);
	cr_assert_eq(gp_layout_read(ctx, &back), -EINVAL);
	cr_assert_eq(back.n, 0);
	cr_assert(strstr(logged, "partitions.conf: line 6: ") && strstr(logged, "missing subsystem"),
		  "%s", logged);
	gp_ctx_free(ctx);
	rm_root(root);
}

/* ---- homogeneity ----------------------------------------------------------------------- */

static struct gp_host host_on = { .iommu_enabled = true, .interrupt_remapping = GP_TRI_YES };

/* An mdev-on-PF GPU (T4-like shape) with two types: NAME-1Q (fb 1 GiB, 16 instances) and
 * NAME-16Q (fb16 GiB, 1 instance); VRAM is the largest framebuffer, i.e. fb16 GiB. */
static struct gp_device *mk_mdev_gpu(const char *addr, int device, int sub_device,
				     const char *model, int fb16, bool with_1q)
{
	struct gp_device *d = mk_dev(addr, NULL, 0x10de, device, 0x10de, sub_device, NULL);
	size_t n = 0;
	char name[64];

	d->driver = "nvidia";
	d->mdev_types = keep(calloc(2, sizeof(*d->mdev_types)));
	if (with_1q) {
		snprintf(name, sizeof(name), "%s-1Q", model);
		d->mdev_types[n++] = (struct gp_vgpu_type){ .key = "nvidia-1", .type_id = 1,
							    .name = keep(strdup(name)), .series = 'Q',
							    .fb_bytes = GIB, .max_instances = 16,
							    .available = 16 };
	}
	snprintf(name, sizeof(name), "%s-16Q", model);
	d->mdev_types[n++] = (struct gp_vgpu_type){ .key = "nvidia-2", .type_id = 2,
						    .name = keep(strdup(name)), .series = 'Q',
						    .fb_bytes = fb16 * GIB, .max_instances = 1,
						    .available = 1 };
	d->n_mdev_types = n;
	keep_catalogue(d);
	return d;
}

struct same_case {
	char what[32];
	int device, sub_device;
	char model[8];
	int fb16;
	bool with_1q;
	bool same;
};

static struct same_case same_cases[] = {
	{ "all the same", 0x1eb8, 0x12a2, "GPU", 16, true, true },
	{ "device ID differs", 0x1eb9, 0x12a2, "GPU", 16, true, false },
	{ "subsystem differs", 0x1eb8, 0x12a3, "GPU", 16, true, false },
	{ "VRAM differs", 0x1eb8, 0x12a2, "GPU", 8, true, false },
	{ "type list lacks one", 0x1eb8, 0x12a2, "GPU", 16, false, false },
	{ "type names differ", 0x1eb8, 0x12a2, "GPX", 16, true, false },
};

ParameterizedTestParameters(same, mdev_table)
{
	return cr_make_param_array(struct same_case, same_cases,
				   sizeof(same_cases) / sizeof(same_cases[0]));
}

ParameterizedTest(struct same_case *c, same, mdev_table)
{
	struct gp_device *a = mk_mdev_gpu("0000:3b:00.0", 0x1eb8, 0x12a2, "GPU", 16, true);
	struct gp_device *b = mk_mdev_gpu("0000:5e:00.0", c->device, c->sub_device, c->model,
					  c->fb16, c->with_1q);
	struct gp_gpu_view va, vb;

	/* the model is what the rule is meant to see: both mdev GPUs, VRAM from the types */
	cr_assert_eq(gp_gpu_view_build(&host_on, a, 0, &va), 0);
	cr_assert_eq(gp_gpu_view_build(&host_on, b, 0, &vb), 0);
	cr_assert_eq(va.backend, GP_BACKEND_NVIDIA_MDEV);
	cr_assert_eq(va.vram_bytes, 16 * GIB);
	cr_assert_eq(vb.vram_bytes, c->fb16 * GIB);
	gp_gpu_view_clear(&va);
	gp_gpu_view_clear(&vb);

	cr_assert_eq(gp_policy_same_config(&host_on, a, b), c->same, "%s", c->what);
	cr_assert_eq(gp_policy_same_config(&host_on, b, a), c->same, "%s (swapped)", c->what);
	cr_assert(gp_policy_same_config(&host_on, a, a));
}

Test(same, vendor_differs_and_unknown_ids)
{
	struct gp_device *a = mk_dev("0000:01:00.0", NULL, 0x1002, 0x73bf, 0x1002, 0x0e3a, NULL);
	struct gp_device *b = mk_dev("0000:02:00.0", NULL, 0x1002, 0x73bf, 0x1002, 0x0e3a, NULL);

	/* no types and no VRAM known on either: they match on those criteria */
	cr_assert(gp_policy_same_config(&host_on, a, b));
	b->vendor = 0x1003;
	cr_assert_not(gp_policy_same_config(&host_on, a, b));
	b->vendor = 0x1002;
	b->subsystem_vendor = 0x1028;
	cr_assert_not(gp_policy_same_config(&host_on, a, b));
	/* unreadable IDs are no identity: never grouped */
	a->subsystem_vendor = b->subsystem_vendor = GP_UNKNOWN;
	cr_assert_not(gp_policy_same_config(&host_on, a, b));
}

/* Vendor-specific VFIO (NVIDIA 17+): creatable_vgpu_types on each VF lists only what can still
 * be created, so a GPU with vGPUs in force offers a subset of an idle twin's types. */
static struct gp_host host_vfio = { .iommu_enabled = true, .nvidia_vgpu_manager = true };

static struct gp_vgpu_type vt(int id, const char *name, int gib)
{
	char key[16];

	snprintf(key, sizeof(key), "%d", id);
	return (struct gp_vgpu_type){ .key = keep(strdup(key)), .type_id = id,
				      .name = keep(strdup(name)),
				      .series = 'Q', .fb_bytes = gib * GIB,
				      .max_instances = GP_UNKNOWN, .available = GP_UNKNOWN };
}

/* An L40S (48 GiB by the driver table) with 2 VFs; in_force: the type on VF 0 (0 none). */
static struct gp_device *mk_vfio_gpu(const char *addr, int in_force, bool extra_type)
{
	struct gp_device *pf = mk_dev(addr, NULL, 0x10de, 0x26b9, 0x10de, 0x1851, NULL);
	int i;

	pf->driver = "nvidia";
	pf->sriov_total_vfs = 2;
	pf->sriov_num_vfs = 2;
	pf->sriov_vf_device = 0x26b9;
	pf->vfs = keep(calloc(2, sizeof(*pf->vfs)));
	pf->n_vfs = 2;
	for (i = 0; i < 2; i++) {
		struct gp_device *vf = mk_dev(addr, NULL, 0x10de, 0x26b9, 0x10de, 0x1851, NULL);

		vf->addr.fn = (uint8_t)(4 + i);
		gp_pci_addr_format(&vf->addr, vf->address);
		vf->is_vf = true;
		vf->physfn = pf;
		vf->vf_index = i;
		vf->has_nvidia_dir = true;
		vf->current_vgpu_type = 0;
		vf->creatable = keep(calloc(3, sizeof(*vf->creatable)));
		if (in_force) {
			/* the driver offers only the type in force, on the idle VF */
			if (i == 0)
				vf->current_vgpu_type = in_force;
			else
				vf->creatable[vf->n_creatable++] = vt(1150, "NVIDIA L40S-4Q", 4);
		} else {
			vf->creatable[vf->n_creatable++] = vt(1150, "NVIDIA L40S-4Q", 4);
			vf->creatable[vf->n_creatable++] = vt(1155, "NVIDIA L40S-24Q", 24);
		}
		if (extra_type)
			vf->creatable[vf->n_creatable++] = vt(1999, "NVIDIA L40S-99Q", 4);
		pf->vfs[i] = vf;
	}
	keep_catalogue(pf);
	return pf;
}

Test(same, vendor_vfio_in_use_is_a_lower_bound)
{
	struct gp_device *idle = mk_vfio_gpu("0000:12:00.0", 0, false);
	struct gp_device *idle2 = mk_vfio_gpu("0000:13:00.0", 0, false);
	struct gp_device *busy = mk_vfio_gpu("0000:22:00.0", 1150, false);
	struct gp_device *odd = mk_vfio_gpu("0000:23:00.0", 0, true);
	struct gp_device *odd_busy = mk_vfio_gpu("0000:32:00.0", 1150, true);
	struct gp_gpu_view v;

	cr_assert_eq(gp_gpu_view_build(&host_vfio, busy, 0, &v), 0);
	cr_assert_eq(v.backend, GP_BACKEND_NVIDIA_VFIO);
	cr_assert_eq(v.partition_count, 1);
	gp_gpu_view_clear(&v);

	cr_assert(gp_policy_same_config(&host_vfio, idle, idle2));
	/* busy offers {4Q}, a subset of idle's {4Q, 24Q}: the same GPU, partly used */
	cr_assert(gp_policy_same_config(&host_vfio, idle, busy));
	cr_assert(gp_policy_same_config(&host_vfio, busy, idle));
	/* an idle GPU offering a type the other idle one lacks is another configuration */
	cr_assert_not(gp_policy_same_config(&host_vfio, idle, odd));
	/* a busy GPU offering a type the idle one lacks cannot be that configuration */
	cr_assert_not(gp_policy_same_config(&host_vfio, idle, odd_busy));
	cr_assert(gp_policy_same_config(&host_vfio, odd, odd_busy));
}

Test(same, homogeneous_sets)
{
	const struct gp_device *g[5];
	int set_of[5] = { -1, -1, -1, -1, -1 };

	g[0] = mk_mdev_gpu("0000:01:00.0", 0x1eb8, 0x12a2, "GPU", 16, true);
	g[1] = mk_mdev_gpu("0000:02:00.0", 0x1eb8, 0x12a2, "GPU", 8, true);
	g[2] = mk_mdev_gpu("0000:03:00.0", 0x1eb8, 0x12a2, "GPU", 16, true);
	g[3] = mk_mdev_gpu("0000:04:00.0", 0x2235, 0x145a, "GPU", 16, true);
	g[4] = mk_mdev_gpu("0000:05:00.0", 0x1eb8, 0x12a2, "GPU", 8, true);
	cr_assert_eq(gp_policy_homogeneous_sets(&host_on, g, 5, set_of), 3);
	cr_assert_eq(set_of[0], 0);
	cr_assert_eq(set_of[1], 1);
	cr_assert_eq(set_of[2], 0);
	cr_assert_eq(set_of[3], 2);
	cr_assert_eq(set_of[4], 1);
	cr_assert_eq(gp_policy_homogeneous_sets(&host_on, g, 0, set_of), 0);
}

Test(same, sets_need_every_member)
{
	/* busy matches both idle twins, but they differ from each other: busy joins the first
	 * set, and the odd one starts its own */
	const struct gp_device *g[3];
	int set_of[3];

	g[0] = mk_vfio_gpu("0000:22:00.0", 1150, false);
	g[1] = mk_vfio_gpu("0000:12:00.0", 0, false);
	g[2] = mk_vfio_gpu("0000:23:00.0", 0, true);
	cr_assert(gp_policy_same_config(&host_vfio, g[0], g[2]));
	cr_assert_eq(gp_policy_homogeneous_sets(&host_vfio, g, 3, set_of), 2);
	cr_assert_eq(set_of[0], 0);
	cr_assert_eq(set_of[1], 0);
	cr_assert_eq(set_of[2], 1);
}

Test(same, warning_names_the_set_and_counts)
{
	struct gp_device *d[3];
	struct gp_gpu_view v[3];
	struct gp_host h = host_vfio;
	struct gp_findings f = { 0 };
	int i;

	d[0] = mk_vfio_gpu("0000:12:00.0", 0, false);
	d[1] = mk_vfio_gpu("0000:13:00.0", 1150, false);
	d[2] = mk_vfio_gpu("0000:14:00.0", 0, false);
	for (i = 0; i < 3; i++)
		cr_assert_eq(gp_gpu_view_build(&h, d[i], 0, &v[i]), 0);
	/* pure: a finding for the caller to print, nothing logged */
	cr_assert_eq(gp_policy_uneven_counts(&h, v, 3, &f), 1);
	cr_assert_eq(f.n, 1);
	cr_assert_str_eq(f.v[0].code, "uneven-partition-counts");
	cr_assert_eq(f.v[0].severity, GP_SEV_WARNING);
	cr_assert_str_eq(f.v[0].detail, "GPUs 0000:12:00.0, 0000:13:00.0, 0000:14:00.0 are one "
					"configuration but have different partition counts (0, 1, 0)");
	gp_findings_clear(&f);
	/* the same counts: nothing */
	cr_assert_eq(gp_policy_uneven_counts(&h, (struct gp_gpu_view[]){ v[0], v[2] }, 2, &f), 0);
	cr_assert_eq(f.n, 0);
	for (i = 0; i < 3; i++)
		gp_gpu_view_clear(&v[i]);
}
