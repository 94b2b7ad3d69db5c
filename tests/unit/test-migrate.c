/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * migrate-check's rules (gp_policy_migrate_check, gp_policy_nvidia_migration; policy/migrate.c)
 * by table: each row a domain's partitions and a destination, and exactly the finding codes it
 * must give, read off by hand against gpupart/migrate.h and the seed (../shared/seeds/000_*:
 * no live migration with DDA; vGPU software 18.x or later).
 */
#include <criterion/criterion.h>
#include <string.h>

#include <gpupart/migrate.h>

#define NV 0x10de
#define A16 0x25b6
#define L4 0x27b8

Test(migrate, nvidia_driver_branches)
{
	static const struct {
		const char *v;
		enum gp_tri want;
	} t[] = {
		{ "570.124.03", GP_TRI_YES }, { "580.65.06", GP_TRI_YES }, { "570.0", GP_TRI_YES },
		{ "550.163.02", GP_TRI_NO },  { "535.54.06", GP_TRI_NO },  { "569.99", GP_TRI_NO },
		{ NULL, GP_TRI_UNKNOWN },     { "", GP_TRI_UNKNOWN },     { "570", GP_TRI_UNKNOWN },
		{ "v570.1", GP_TRI_UNKNOWN }, { "0.1", GP_TRI_UNKNOWN },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(gp_policy_nvidia_migration(t[i].v), t[i].want, "%s",
			     t[i].v ? t[i].v : "(null)");
}

#define PART_2Q { "0000:03:00.4", "0000:03:00.0", NV, A16, "A16", "NVIDIA A16-2Q" }
#define PART_2Q_B { "0000:03:00.5", "0000:03:00.0", NV, A16, "A16", "NVIDIA A16-2Q" }
#define PART_4Q { "0000:04:00.4", "0000:04:00.0", NV, A16, "A16", "NVIDIA A16-4Q" }
static const struct gp_migrate_part P_2Q = PART_2Q;
static const struct gp_migrate_part TWO_2Q[] = { PART_2Q, PART_2Q_B };
static const struct gp_migrate_part ONE_EACH[] = { PART_2Q, PART_4Q };
static const struct gp_migrate_gpu G_A16[] = { { NV, A16 } };
static const struct gp_migrate_gpu G_L4[] = { { NV, L4 } };
static const char *const FREE_2Q[] = { "NVIDIA A16-2Q" };
static const char *const FREE_2Q_4Q[] = { "NVIDIA A16-4Q", "NVIDIA A16-2Q", "NVIDIA A16-2Q" };

struct row {
	const char *name;
	struct gp_migrate_src src;
	struct gp_migrate_dst dst;
	const char *want[4]; /* the codes, in order */
};

#define NEW "570.124.03"
#define OLD "550.163.02"
#define DST(gpus, inv, free, nfree, drv) { "qemu+ssh://b/system", NULL, gpus, 1, inv, free, nfree, drv }

static const struct row rows[] = {
	{ "ready: a free partition of its type, R570 on both",
	  { "vm", false, &P_2Q, 1, NEW }, DST(G_A16, true, FREE_2Q, 1, NEW), { NULL } },
	{ "DDA: refused (and its partitions still checked)",
	  { "vm", true, &P_2Q, 1, NEW }, DST(G_A16, true, FREE_2Q, 1, NEW), { "migrate-dda" } },
	{ "DDA alone: refused, nothing else said",
	  { "vm", true, NULL, 0, NEW }, DST(G_A16, true, FREE_2Q, 1, NEW), { "migrate-dda" } },
	{ "no partition: nothing to check",
	  { "vm", false, NULL, 0, NEW }, DST(G_A16, true, FREE_2Q, 1, NEW),
	  { "migrate-no-partitions" } },
	{ "destination unreachable: only that",
	  { "vm", false, &P_2Q, 1, NEW },
	  { "qemu+ssh://b/system", "no answer", NULL, 0, false, NULL, 0, NULL },
	  { "migrate-destination-unreachable" } },
	{ "another model there",
	  { "vm", false, &P_2Q, 1, NEW }, DST(G_L4, true, FREE_2Q, 1, NEW),
	  { "migrate-no-matching-gpu" } },
	{ "no free partition of its type (a 4Q is free, not a 2Q)",
	  { "vm", false, &P_2Q, 1, NEW }, DST(G_A16, true, FREE_2Q_4Q, 1, NEW),
	  { "migrate-no-free-partition" } },
	{ "two 2Q against one free 2Q",
	  { "vm", false, TWO_2Q, 2, NEW },
	  DST(G_A16, true, FREE_2Q, 1, NEW), { "migrate-no-free-partition" } },
	{ "a 2Q and a 4Q, both free there",
	  { "vm", false, ONE_EACH, 2, NEW },
	  DST(G_A16, true, FREE_2Q_4Q, 3, NEW), { NULL } },
	{ "no inventory: free partitions and its driver unknown",
	  { "vm", false, &P_2Q, 1, NEW }, DST(G_A16, false, NULL, 0, NULL),
	  { "migrate-free-unknown", "migrate-driver-unknown" } },
	{ "R550 here: refused",
	  { "vm", false, &P_2Q, 1, OLD }, DST(G_A16, true, FREE_2Q, 1, NEW),
	  { "migrate-driver-unsupported" } },
	{ "R550 there: refused",
	  { "vm", false, &P_2Q, 1, NEW }, DST(G_A16, true, FREE_2Q, 1, OLD),
	  { "migrate-driver-unsupported" } },
	{ "no nvidia module here: unknown",
	  { "vm", false, &P_2Q, 1, NULL }, DST(G_A16, true, FREE_2Q, 1, NEW),
	  { "migrate-driver-unknown" } },
};

Test(migrate, rules_by_table)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct gp_findings f = { 0 };
		size_t n = 0;

		cr_assert_eq(gp_policy_migrate_check(&w->src, &w->dst, &f), 0, "%s", w->name);
		while (n < 4 && w->want[n])
			n++;
		for (size_t k = 0; k < f.n && k < n; k++)
			cr_expect_str_eq(f.v[k].code, w->want[k], "%s: finding %zu (%s)", w->name, k,
					 f.v[k].detail);
		cr_expect_eq(f.n, n, "%s: %zu findings, want %zu (first: %s)", w->name, f.n, n,
			     f.n ? f.v[0].code : "none");
		gp_findings_clear(&f);
	}
}
