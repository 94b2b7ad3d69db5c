/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vgpuConfig.xml into a catalogue (model/vgpuconfig.c): the parse of hand-written files, the
 * files it must refuse whole, and a table of NVIDIA's published maxima for every board the
 * fixtures model, held against the catalogue gpupart builds from the fixtures' vgpuConfig.xml.
 * The table is typed from NVIDIA's numbers (research nvidia-linux.md 3.2 and 4, real-hosts/07),
 * never from the fixture's own tables.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/internal.h"
#include "model/recorded.h"
#include "model/vgpuconfig.h"
#include "fixture.h"

#define GIB (1024LL * 1024 * 1024)

static struct gp_vgpuconfig *parse_ok(const char *text)
{
	struct gp_vgpuconfig *c = NULL;
	char why[160];
	int r = gp_vgpuconfig_parse(NULL, text, strlen(text), &c, why, sizeof(why));

	cr_assert_eq(r, 0, "refused: %s", why);
	return c;
}

static const struct gp_vgpu_type *by_id(const struct gp_vgpu_type *t, size_t n, int id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (t[i].type_id == id)
			return &t[i];
	return NULL;
}

#define TYPE(id, name, profile, fb)                                                          \
	"<vgpuType id=\"" id "\" name=\"" name "\" class=\"Quadro\"><devId vendorId=\"0x10de\" " \
	"deviceId=\"0x25B6\" subsystemVendorId=\"0x10de\" subsystemId=\"0x1\"/>"               \
	"<framebuffer>" fb "</framebuffer>" profile "<numHeads>4</numHeads></vgpuType>"
#define PGPU(dev, sub, body)                                                                 \
	"<pgpu><devId vendorId=\"0x10DE\" deviceId=\"" dev "\" subsystemVendorId=\"0x10de\" "  \
	"subsystemId=\"" sub "\"/>" body "</pgpu>"
#define SUP(id, max)                                                                         \
	"<supportedVgpu vgpuId=\"" id "\"><maxVgpus>" max "</maxVgpus>"                        \
	"<digest type=\"signature\">00ff</digest></supportedVgpu>"

/* Two boards share 10de:25b6 (A16 14a9, A2 157e, research 7): the A16's own pgpu wins over
 * the wildcard, every other subsystem gets the wildcard's. */
static const char two_boards[] =
	"<?xml version=\"1.0\"?>\n"
	"<!DOCTYPE vgpu SYSTEM \"http://www.nvidia.com/dtd/vgpuConfig.dtd\">\n"
	"<vgpuconfig><version>1.0</version><globalSettings/>"
	TYPE("683", "NVIDIA A16-2Q", "<profileSize>0x80000000</profileSize>", "0x78000000")
	TYPE("684", "NVIDIA A16-4Q", "<profileSize>4294967296</profileSize>", "0xF0000000")
	/* no profileSize: the name's size, never the framebuffer */
	TYPE("11", "GRID M60-0B", "", "0x1A000000")
	TYPE("1414", "NVIDIA H200X-1-18C", "<profileSize>0x480000000</profileSize>", "0x1")
	PGPU("0x25B6", "0x0", SUP("683", "8") SUP("684", "4"))
	PGPU("0x25b6", "0x14A9", SUP("684", "3") SUP("11", "16"))
	PGPU("0x2335", "0x0", SUP("1414", "7"))
	"</vgpuconfig>\n";

Test(vgpuconfig, exact_subsystem_first_then_the_wildcard)
{
	struct gp_vgpuconfig *c = parse_ok(two_boards);
	struct gp_vgpu_type *t;
	const struct gp_vgpu_type *x;
	size_t n;

	/* the A16: its own pgpu only, in the file's order */
	cr_assert_eq(gp_vgpuconfig_catalogue(c, 0x10de, 0x25b6, 0x10de, 0x14a9, &t, &n), 0);
	cr_assert_eq(n, 2);
	cr_assert_eq(t[0].type_id, 684);
	cr_assert_eq(t[0].max_instances, 3, "the exact pgpu's maximum, not the wildcard's 4");
	cr_assert(t[0].max_from_driver);
	cr_assert_eq(t[0].fb_bytes, 4 * GIB, "profileSize, decimal");
	cr_assert_str_eq(t[0].key, "684");
	cr_assert_eq(t[0].series, 'Q');
	cr_assert_eq(t[1].type_id, 11);
	cr_assert_eq(t[1].fb_bytes, 512LL << 20, "no profileSize: the name's 0B, 512 MiB");
	cr_assert_eq(t[1].series, 'B');
	gp_vgpu_types_free(t, n);
	/* the A2 (and any other subsystem): the wildcard */
	cr_assert_eq(gp_vgpuconfig_catalogue(c, 0x10de, 0x25b6, 0x10de, 0x157e, &t, &n), 0);
	cr_assert_eq(n, 2);
	x = by_id(t, n, 683);
	cr_assert(x && x->max_instances == 8 && x->fb_bytes == 2 * GIB, "hex profileSize");
	gp_vgpu_types_free(t, n);
	/* a subsystem match needs the subsystem vendor too: a Dell 14a9 is not NVIDIA's */
	cr_assert_eq(gp_vgpuconfig_catalogue(c, 0x10de, 0x25b6, 0x1028, 0x14a9, &t, &n), 0);
	cr_assert(n == 2 && by_id(t, n, 683));
	gp_vgpu_types_free(t, n);
	/* MIG-backed from the name; 18 GiB from profileSize, not the bogus framebuffer */
	cr_assert_eq(gp_vgpuconfig_catalogue(c, 0x10de, 0x2335, 0x10de, 0x18be, &t, &n), 0);
	cr_assert(n == 1 && t[0].mig && t[0].fb_bytes == 18 * GIB && t[0].max_instances == 7);
	gp_vgpu_types_free(t, n);
	/* a board the file does not know, and a vendor that is not NVIDIA */
	cr_assert_eq(gp_vgpuconfig_catalogue(c, 0x10de, 0x2236, 0x10de, 0x1482, &t, &n), 0);
	cr_assert(n == 0 && !t);
	cr_assert_eq(gp_vgpuconfig_catalogue(c, 0x8086, 0x25b6, 0x10de, 0x14a9, &t, &n), 0);
	cr_assert(n == 0 && !t);
	gp_vgpuconfig_free(c);
}

/* Each is refused whole (never half-used), with a reason for the warning. */
Test(vgpuconfig, refused_whole)
{
	static const char *bad[] = {
		"",
		"<vgpuconfig>",
		"<vgpu/>",
		"<vgpuconfig/>",
		/* entities declared in an internal subset (billion laughs' shape) */
		"<!DOCTYPE vgpuconfig [<!ENTITY a \"x\"><!ENTITY b \"&a;&a;\">]>"
		"<vgpuconfig>&b;</vgpuconfig>",
		/* the external DTD is never loaded, so a parameter entity is refused too */
		"<!DOCTYPE vgpuconfig [<!ENTITY % p SYSTEM \"file:///etc/passwd\">%p;]><vgpuconfig/>",
		TYPE("683", "NVIDIA A16-2Q", "", "0x1") "<vgpuconfig/>",
		"<vgpuconfig>" TYPE("0", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("0", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683x", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "", "", "0x1") PGPU("0x25B6", "0x0", SUP("683", "8"))
		"</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA&#9;A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "<profileSize>0x</profileSize>", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "<profileSize>-2</profileSize>", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "<profileSize>0x10000000000000000"
		"</profileSize>", "0x1") PGPU("0x25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		/* a name without a size, and no profileSize to say it */
		"<vgpuconfig>" TYPE("683", "NVIDIA A16", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1") TYPE("683", "NVIDIA A16-4Q",
		"", "0x1") PGPU("0x25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("684", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "8") SUP("683", "4")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "0")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "99999")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("25B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x125B6", "0x0", SUP("683", "8")) "</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		PGPU("0x25B6", "0x0", SUP("683", "8")) PGPU("0x25B6", "0x0", SUP("683", "8"))
		"</vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		"<pgpu><devId vendorId=\"0x1002\" deviceId=\"0x25B6\" subsystemVendorId=\"0x10de\" "
		"subsystemId=\"0x0\"/>" SUP("683", "8") "</pgpu></vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1")
		"<pgpu>" SUP("683", "8") "</pgpu></vgpuconfig>",
		"<vgpuconfig>" TYPE("683", "NVIDIA A16-2Q", "", "0x1") "</vgpuconfig>",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gp_vgpuconfig *c = (void *)1;
		char why[160];
		int r = gp_vgpuconfig_parse(NULL, bad[i], strlen(bad[i]), &c, why, sizeof(why));

		cr_expect_eq(r, -EINVAL, "case %zu accepted: %s", i, bad[i]);
		cr_expect_null(c, "case %zu", i);
		cr_expect(why[0], "case %zu: no reason", i);
	}
}

/* The whole-GPU type's name without its size. */
Test(vgpuconfig, board_name)
{
	struct gp_vgpu_type t[] = {
		{ .name = "NVIDIA H200X-7-141C", .mig = true, .fb_bytes = 141 * GIB },
		{ .name = "NVIDIA H200X-8C", .fb_bytes = 8 * GIB },
		{ .name = "NVIDIA H200X-141C", .fb_bytes = 141 * GIB },
	};
	struct gp_vgpu_type u[] = { { .name = "NVIDIA RTX Pro 6000 Blackwell DC-96Q",
				      .fb_bytes = 96 * GIB } };
	struct gp_vgpu_type v[] = { { .name = "nodash", .fb_bytes = GIB } };
	char *s;

	s = gp_vgpu_board_name(t, 3);
	cr_assert_str_eq(s, "NVIDIA H200X");
	free(s);
	s = gp_vgpu_board_name(u, 1);
	cr_assert_str_eq(s, "NVIDIA RTX Pro 6000 Blackwell DC");
	free(s);
	cr_assert_null(gp_vgpu_board_name(v, 1));
	cr_assert_null(gp_vgpu_board_name(t, 1), "MIG-backed types never name the board");
}

/* ---- NVIDIA's published maxima, per board the fixtures model ------------------------- */

struct published {
	const char *suffix; /* the type name's last dash-separated part(s): "8C", "1-18C" */
	int max;
};

/*
 * research nvidia-linux.md 3.2 (NVIDIA AI Enterprise C-series tables, vgpu-device-manager
 * config-example.yaml) and 4 (MIG-backed types), real-hosts/07 (H200X). Only the series NVIDIA
 * publishes are held: the B and A series of the A16, A40, T4 and L40S are "not re-verified"
 * there (A40-1B's max_instance=32 is real, 1.3), and the RTX PRO 6000 has no published maxima
 * in the research at all: its fixture catalogue is checked for presence only.
 */
static const struct board {
	const char *what;
	int device, subvendor, subdevice;
	const char *series; /* the series the table covers */
	struct published p[20];
} boards[] = {
	{ "A16 (per GPU)", 0x25b6, 0x10de, 0x14a9, "QC",
	  { { "1Q", 16 }, { "2Q", 8 }, { "4Q", 4 }, { "8Q", 2 }, { "16Q", 1 },
	    { "4C", 4 }, { "8C", 2 }, { "16C", 1 } } },
	{ "A40", 0x2235, 0x10de, 0x145a, "Q",
	  { { "1Q", 32 }, { "2Q", 24 }, { "3Q", 16 }, { "4Q", 12 }, { "6Q", 8 }, { "8Q", 6 },
	    { "12Q", 4 }, { "16Q", 3 }, { "24Q", 2 }, { "48Q", 1 }, { "1B", 32 } } },
	{ "Tesla T4", 0x1eb8, 0x10de, 0x12a2, "QC",
	  { { "1Q", 16 }, { "2Q", 8 }, { "4Q", 4 }, { "8Q", 2 }, { "16Q", 1 },
	    { "4C", 4 }, { "8C", 2 }, { "16C", 1 } } },
	{ "L40S", 0x26b9, 0x10de, 0x1851, "QC",
	  { { "1Q", 32 }, { "2Q", 24 }, { "3Q", 16 }, { "4Q", 12 }, { "6Q", 8 }, { "8Q", 6 },
	    { "12Q", 4 }, { "16Q", 3 }, { "24Q", 2 }, { "48Q", 1 },
	    { "4C", 12 }, { "6C", 8 }, { "8C", 6 }, { "12C", 4 }, { "16C", 3 }, { "24C", 2 },
	    { "48C", 1 } } },
	{ "H200 SXM", 0x2335, 0x10de, 0x18be, "C",
	  { { "4C", 32 }, { "7C", 20 }, { "8C", 16 }, { "14C", 10 }, { "17C", 8 }, { "28C", 5 },
	    { "35C", 4 }, { "70C", 2 }, { "141C", 1 },
	    { "1-18C", 7 }, { "1-18CME", 1 }, { "1-35C", 4 }, { "2-35C", 3 }, { "3-71C", 2 },
	    { "4-71C", 1 }, { "7-141C", 1 } } },
	{ "RTX PRO 6000 (no published maxima)", 0x2bb5, 0x10de, 0x204e, "", { { NULL, 0 } } },
};

/* "NVIDIA H200X-1-18C" has suffix "1-18C" (and "18C"): the part after the GPU's name. */
static bool has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), k = strlen(suffix);

	return n > k && name[n - k - 1] == '-' && !strcmp(name + n - k, suffix);
}

/* The series letter of a published row or a type name ("18CME" -> 'C'). */
static char series_of(const char *s)
{
	size_t n = strlen(s);

	if (n > 2 && !strcmp(s + n - 2, "ME"))
		n -= 2;
	return n ? s[n - 1] : 0;
}

static void check_board(const struct gp_vgpuconfig *c, const struct board *b)
{
	struct gp_vgpu_type *t;
	size_t n, i, k;

	cr_assert_eq(gp_vgpuconfig_catalogue(c, 0x10de, b->device, b->subvendor, b->subdevice, &t,
					     &n), 0);
	cr_assert_gt(n, 0, "%s: not in the fixtures' vgpuConfig.xml", b->what);
	/* every published row is there, with NVIDIA's maximum */
	for (k = 0; b->p[k].suffix; k++) {
		const struct gp_vgpu_type *hit = NULL;

		for (i = 0; i < n && !hit; i++)
			if (has_suffix(t[i].name, b->p[k].suffix) &&
			    (strchr(b->p[k].suffix, '-') || !t[i].mig))
				hit = &t[i];
		cr_expect_not_null(hit, "%s: no %s type", b->what, b->p[k].suffix);
		if (hit)
			cr_expect_eq(hit->max_instances, b->p[k].max, "%s %s: %d, NVIDIA says %d",
				     b->what, hit->name, hit->max_instances, b->p[k].max);
	}
	/* and nothing of a published series that NVIDIA does not publish */
	for (i = 0; i < n; i++) {
		const char *tail = strrchr(t[i].name, '-') + 1;
		bool listed = false;

		if (!strchr(b->series, series_of(tail)))
			continue;
		for (k = 0; b->p[k].suffix && !listed; k++)
			listed = has_suffix(t[i].name, b->p[k].suffix);
		cr_expect(listed, "%s: %s is no published type", b->what, t[i].name);
	}
	gp_vgpu_types_free(t, n);
}

Test(vgpuconfig, fixtures_hold_nvidias_published_maxima)
{
	char *text = fx_vgpuconfig_text();
	struct gp_vgpuconfig *c;
	size_t i;

	cr_assert_not_null(text);
	c = parse_ok(text);
	for (i = 0; i < sizeof(boards) / sizeof(boards[0]); i++)
		check_board(c, &boards[i]);
	gp_vgpuconfig_free(c);
	free(text);
}

/* ---- the recorded catalogue (model/recorded.h) ------------------------------------------ */

#define KEY "10de:26b9:10de:1851"
#define HDR "catalogue 1 board=" KEY " driver=550.90.05 types="

Test(recorded, format_then_parse_is_the_same)
{
	struct gp_vgpu_type t[] = {
		{ .type_id = 1147, .name = "NVIDIA L40S-1Q" },
		{ .type_id = 1159, .name = "NVIDIA L40S-48Q" },
		{ .type_id = 1414, .name = "NVIDIA H200X-1-18C" },
	}, *back;
	char why[160], *text = gp_recorded_format(KEY, "550.90.05", t, 3);
	size_t n;

	cr_assert_not_null(text);
	cr_assert_str_eq(text, HDR "3\ntype 1147 NVIDIA L40S-1Q\ntype 1159 NVIDIA L40S-48Q\n"
			       "type 1414 NVIDIA H200X-1-18C\n");
	cr_assert_eq(gp_recorded_parse(text, strlen(text), KEY, "550.90.05", &back, &n, why,
				       sizeof(why)), 0, "%s", why);
	cr_assert_eq(n, 3);
	cr_assert(back[0].type_id == 1147 && !strcmp(back[0].key, "1147") &&
		  !strcmp(back[0].name, "NVIDIA L40S-1Q"));
	/* what the name says, and no maximum: a recorded list has none (the policy divides) */
	cr_assert(back[1].series == 'Q' && back[1].fb_bytes == 48 * GIB &&
		  back[1].max_instances == GP_UNKNOWN && !back[1].max_from_driver);
	cr_assert(back[2].mig);
	gp_vgpu_types_free(back, n);
	free(text);
	/* a name that would not read back is never written */
	t[0].name = "NVIDIA\nL40S-1Q";
	cr_assert_null(gp_recorded_format(KEY, "550.90.05", t, 3));
	t[0].name = "NVIDIA L40S-1Q";
	cr_assert_null(gp_recorded_format(KEY, "550 90", t, 3));
}

Test(recorded, damaged_or_foreign_is_refused)
{
	static const struct {
		const char *text;
		int err;
	} bad[] = {
		{ "", -EINVAL },
		{ HDR "1\ntype 1147 NVIDIA L40S-1Q", -EINVAL },           /* cut short */
		{ HDR "2\ntype 1147 NVIDIA L40S-1Q\n", -EINVAL },         /* a type missing */
		{ HDR "1\ntype 1147 NVIDIA L40S-1Q\ntype 1148 NVIDIA L40S-2Q\n", -EINVAL },
		{ HDR "0\n", -EINVAL },
		{ HDR "01\ntype 1147 NVIDIA L40S-1Q\n", -EINVAL },
		{ HDR "1\ntype 01147 NVIDIA L40S-1Q\n", -EINVAL },
		{ HDR "1\ntype 1147\n", -EINVAL },
		{ HDR "1\ntype 1147  NVIDIA L40S-1Q\n", -EINVAL },        /* a blank name's start */
		{ HDR "1\ntype 1147 NVIDIA L40S-1Q \n", -EINVAL },
		{ HDR "1\ntype 1147 NVIDIA\tL40S-1Q\n", -EINVAL },
		{ HDR "2\ntype 1147 NVIDIA L40S-1Q\ntype 1147 NVIDIA L40S-2Q\n", -EINVAL },
		{ HDR "1\nvgpu 1147 NVIDIA L40S-1Q\n", -EINVAL },
		{ HDR "1 extra=1\ntype 1147 NVIDIA L40S-1Q\n", -EINVAL },
		{ "catalogue 1 board=10de:26b9:10de:1852 driver=550.90.05 types=1\n"
		  "type 1147 NVIDIA L40S-1Q\n", -EINVAL },                /* another board's */
		{ "layout 1 board=" KEY " driver=550.90.05 types=1\ntype 1147 NVIDIA L40S-1Q\n",
		  -EINVAL },
		{ "catalogue 1 board=" KEY " types=1\ntype 1147 NVIDIA L40S-1Q\n", -EINVAL },
		/* type ids are driver-local: another driver's list is not this one's */
		{ "catalogue 1 board=" KEY " driver=535.54.06 types=1\ntype 1147 NVIDIA L40S-1Q\n",
		  -ESTALE },
		{ "catalogue 2 board=" KEY " driver=550.90.05 types=1\ntype 1147 NVIDIA L40S-1Q\n",
		  -ESTALE },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct gp_vgpu_type *t = (void *)1;
		size_t n = 9, len = strlen(bad[i].text);
		char why[160] = "";
		int r;

		r = gp_recorded_parse(bad[i].text, len, KEY, "550.90.05", &t, &n, why, sizeof(why));
		cr_expect_eq(r, bad[i].err, "case %zu: %d (%s)", i, r, why);
		cr_expect(!t && n == 0, "case %zu", i);
		cr_expect(why[0], "case %zu: no reason", i);
	}
	{
		/* a NUL byte in the file */
		static const char nul[] = HDR "1\ntype 1147 NVIDIA\0L40S-1Q\n";
		struct gp_vgpu_type *t;
		char why[160];
		size_t n;

		cr_expect_eq(gp_recorded_parse(nul, sizeof(nul) - 1, KEY, "550.90.05", &t, &n, why,
					       sizeof(why)), -EINVAL);
	}
}
