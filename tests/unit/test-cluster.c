/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cluster homogeneity (gp_policy_cluster_check, policy/cluster.c) by table: each row a set of
 * hosts and the findings it must give, code and host/GPU named, read off the row by hand
 * against gpupart/cluster.h and Admin Center's rules (../shared/seeds/003_*).
 */
#include <criterion/criterion.h>
#include <string.h>

#include <gpupart/cluster.h>

#define NV 0x10de
#define AMD 0x1002
#define A16 0x25b6
#define L4 0x27b8
#define GIB (1LL << 30)
#define U GP_UNKNOWN

#define G(addr, v, d, vram, parts) { addr, v, d, NULL, vram, parts }

struct want {
	const char *code;
	const char *in_detail; /* a substring the detail must hold (host and GPU) */
};

struct row {
	const char *name;
	struct gp_cluster_gpu g[3][3];
	size_t n_gpus[3];
	const char *error[3];
	size_t n_hosts;
	struct want want[4];
	size_t n_want;
};

static const char *const names[] = { "host-a", "host-b", "host-c" };

static const struct row rows[] = {
	{ "two hosts alike: nothing",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 4) }, { G("0000:81:00.0", NV, A16, 16 * GIB, 4) } },
	  { 1, 1 }, { NULL }, 2, { { 0 } }, 0 },
	{ "another vendor: error naming the odd one, not the first host",
	  { { G("0000:41:00.0", AMD, 0x73a1, 32 * GIB, 0) },
	    { G("0000:81:00.0", NV, A16, 16 * GIB, 4) },
	    { G("0000:01:00.0", NV, A16, 16 * GIB, 4) } },
	  { 1, 1, 1 }, { NULL }, 3,
	  { { "cluster-mixed-vendors", "host-a: GPU 0000:41:00.0" } }, 1 },
	{ "same vendor, another model: error",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 4), G("0000:42:00.0", NV, A16, 16 * GIB, 4) },
	    { G("0000:81:00.0", NV, L4, 24 * GIB, 4) } },
	  { 2, 1 }, { NULL }, 2,
	  { { "cluster-mixed-models", "host-b: GPU 0000:81:00.0" } }, 1 },
	{ "same model, another size: error",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 4), G("0000:42:00.0", NV, A16, 16 * GIB, 4) },
	    { G("0000:81:00.0", NV, A16, 8 * GIB, 4) } },
	  { 2, 1 }, { NULL }, 2,
	  { { "cluster-mixed-models", "8192 MiB" } }, 1 },
	{ "a size unknown is no mismatch",
	  { { G("0000:41:00.0", NV, A16, U, 4) }, { G("0000:81:00.0", NV, A16, 16 * GIB, 4) } },
	  { 1, 1 }, { NULL }, 2, { { 0 } }, 0 },
	{ "counts differ: warning against the most common count",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 8) },
	    { G("0000:81:00.0", NV, A16, 16 * GIB, 4), G("0000:82:00.0", NV, A16, 16 * GIB, 4) } },
	  { 1, 2 }, { NULL }, 2,
	  { { "cluster-partition-counts-differ", "host-a: GPU 0000:41:00.0 has 8 partitions, the "
						 "set's GPUs have 4" } },
	  1 },
	{ "partially configured: warning with the command",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 4) }, { G("0000:81:00.0", NV, A16, 16 * GIB, 0) } },
	  { 1, 1 }, { NULL }, 2,
	  { { "cluster-partially-configured", "gpupart set-count 0000:81:00.0 4" } }, 1 },
	{ "none partitioned: nothing to warn about",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 0) }, { G("0000:81:00.0", NV, A16, 16 * GIB, 0) } },
	  { 1, 1 }, { NULL }, 2, { { 0 } }, 0 },
	{ "an unreachable host: error naming it, the others still checked",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 4) }, { G("0000:81:00.0", NV, A16, 16 * GIB, 4) },
	    { G("0000:01:00.0", NV, A16, 16 * GIB, 2) } },
	  { 1, 1, 1 }, { NULL, "connection refused" }, 3,
	  { { "cluster-host-unreachable", "host-b: cannot be read: connection refused" },
	    { "cluster-partition-counts-differ", "host-c: GPU 0000:01:00.0" } },
	  2 },
	{ "the unreachable host's GPUs are not the reference",
	  { { G("0000:41:00.0", NV, L4, 24 * GIB, 4) },
	    { G("0000:81:00.0", NV, A16, 16 * GIB, 4), G("0000:82:00.0", NV, A16, 16 * GIB, 4) } },
	  { 1, 2 }, { NULL, "timed out" }, 2,
	  { { "cluster-host-unreachable", "host-b" } }, 1 },
	{ "count unknown (no inventory): info",
	  { { G("0000:41:00.0", NV, A16, 16 * GIB, 4) }, { G("0000:81:00.0", NV, A16, 16 * GIB, U) } },
	  { 1, 1 }, { NULL }, 2,
	  { { "cluster-count-unknown", "host-b: GPU 0000:81:00.0" } }, 1 },
	{ "no GPU anywhere: warning",
	  { { { 0 } } }, { 0, 0 }, { NULL }, 2, { { "cluster-no-gpus", "no GPU" } }, 1 },
};

Test(cluster, table)
{
	size_t i, h, k;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *w = &rows[i];
		struct gp_cluster_host hosts[3];
		struct gp_findings f = { 0 };

		for (h = 0; h < w->n_hosts; h++)
			hosts[h] = (struct gp_cluster_host){ names[h], w->error[h], w->g[h],
							     w->n_gpus[h] };
		cr_assert_eq(gp_policy_cluster_check(hosts, w->n_hosts, &f), 0, "%s", w->name);
		cr_expect_eq(f.n, w->n_want, "%s: %zu findings, first %s", w->name, f.n,
			     f.n ? f.v[0].detail : "-");
		for (k = 0; k < f.n && k < w->n_want; k++) {
			cr_expect_str_eq(f.v[k].code, w->want[k].code, "%s", w->name);
			cr_expect(strstr(f.v[k].detail, w->want[k].in_detail), "%s: %s", w->name,
				  f.v[k].detail);
		}
		gp_findings_clear(&f);
	}
}

/* The severities the header promises: an error is what makes `cluster check` exit 3. */
Test(cluster, severities)
{
	const struct gp_cluster_gpu a[] = { G("0000:41:00.0", NV, A16, 16 * GIB, 4) },
				    b[] = { G("0000:81:00.0", AMD, 0x73a1, 16 * GIB, 4) },
				    c[] = { G("0000:01:00.0", NV, A16, 16 * GIB, 2),
					    G("0000:02:00.0", NV, A16, 16 * GIB, 4) };
	const struct gp_cluster_host hosts[] = { { "a", NULL, a, 1 }, { "b", NULL, b, 1 },
						 { "c", NULL, c, 2 }, { "d", "down", NULL, 0 } };
	struct gp_findings f = { 0 };
	size_t i, errors = 0, warnings = 0;

	cr_assert_eq(gp_policy_cluster_check(hosts, 4, &f), 0);
	for (i = 0; i < f.n; i++) {
		errors += f.v[i].severity == GP_SEV_ERROR;
		warnings += f.v[i].severity == GP_SEV_WARNING;
	}
	/* d unreachable and b's vendor: errors; c's 2 against the set's 4: a warning */
	cr_expect_eq(errors, 2);
	cr_expect_eq(warnings, 1);
	gp_findings_clear(&f);
}
