/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The picker (gp_policy_pick, policy/assign.c) by table: one row per rule of gpupart/assign.h,
 * each built so that the rule under test is the only one that decides (the expected index is
 * read off the row by hand, never from a run), and rows where two rules disagree to pin their
 * order: ready, NUMA, load, address, id.
 */
#include <criterion/criterion.h>
#include <errno.h>

#include <gpupart/assign.h>

#define A "0000:01:00.0"
#define B "0000:41:00.0"
#define C "0000:81:00.0"
#define GIB (1LL << 30)
#define U GP_UNKNOWN

/* Partition shorthands: on GPU g (node numa), id i, fb, ready, taken. */
#define P(g, numa, i, fb, r, t) { g, numa, i, fb, r, t }
#define FREE(g, i) P(g, U, i, 2 * GIB, true, false)
#define TAKEN(g, i) P(g, U, i, 2 * GIB, true, true)
#define ANY { U, U, NULL, -1 }

struct row {
	const char *name;
	struct gp_pick_part p[8];
	size_t n;
	struct gp_pick_want w;
	int want;                 /* index, or -ENOSPC */
};

static const struct row rows[] = {
	{ "taken is skipped", { TAKEN(A, 0), FREE(A, 1) }, 2, ANY, 1 },
	{ "all taken: -ENOSPC", { TAKEN(A, 0), TAKEN(B, 0) }, 2, ANY, -ENOSPC },
	{ "n = 0: -ENOSPC", { FREE(A, 0) }, 0, ANY, -ENOSPC },

	/* --vram: exact size; a partition of unknown size never matches a size asked, and any
	 * size (unknown included) does when none is asked */
	{ "vram exact match", { P(A, U, 0, 1 * GIB, true, false), P(A, U, 1, 2 * GIB, true, false),
				P(A, U, 2, 4 * GIB, true, false) }, 3, { U, 2 * GIB, NULL, -1 }, 1 },
	{ "vram: a larger one is not a match", { P(A, U, 0, 4 * GIB, true, false) }, 1,
	  { U, 2 * GIB, NULL, -1 }, -ENOSPC },
	{ "vram: unknown fb never matches", { P(A, U, 0, U, true, false),
					      P(B, U, 0, 2 * GIB, true, false) }, 2,
	  { U, 2 * GIB, NULL, -1 }, 1 },
	{ "vram: only unknown fb: -ENOSPC", { P(A, U, 0, U, true, false) }, 1,
	  { U, 2 * GIB, NULL, -1 }, -ENOSPC },
	{ "no vram asked: unknown fb is fine", { P(A, U, 0, U, true, false) }, 1, ANY, 0 },

	/* --gpu, --partition */
	{ "--gpu narrows", { FREE(A, 0), FREE(B, 0), FREE(C, 0) }, 3, { U, U, B, -1 }, 1 },
	{ "--gpu of no partition: -ENOSPC", { FREE(A, 0) }, 1, { U, U, C, -1 }, -ENOSPC },
	{ "--partition narrows", { FREE(A, 0), FREE(A, 1), FREE(A, 2) }, 3, { U, U, NULL, 2 }, 2 },
	{ "--partition on every GPU: lowest address", { FREE(B, 1), FREE(A, 1), FREE(A, 0) }, 3,
	  { U, U, NULL, 1 }, 1 },
	{ "--gpu and --partition", { FREE(A, 1), FREE(B, 0), FREE(B, 1) }, 3, { U, U, B, 1 }, 2 },
	{ "--partition taken: -ENOSPC", { TAKEN(A, 1), FREE(A, 0) }, 2, { U, U, A, 1 }, -ENOSPC },

	/* ready before not ready, even against every later rule */
	{ "ready first", { P(A, U, 0, 2 * GIB, false, false), P(A, U, 1, 2 * GIB, true, false) }, 2,
	  ANY, 1 },
	{ "ready beats NUMA and address", { P(A, 0, 0, 2 * GIB, false, false),
					    P(B, 1, 0, 2 * GIB, true, false) }, 2,
	  { 0, U, NULL, -1 }, 1 },
	{ "only not-ready: it is picked (the caller refuses)", { P(A, U, 0, 2 * GIB, false, false) },
	  1, ANY, 0 },

	/* NUMA: only when both are known */
	{ "NUMA: the domain's node", { P(A, 0, 0, 2 * GIB, true, false),
				       P(B, 1, 0, 2 * GIB, true, false) }, 2,
	  { 1, U, NULL, -1 }, 1 },
	{ "NUMA unknown for the domain: address", { P(A, 0, 0, 2 * GIB, true, false),
						    P(B, 1, 0, 2 * GIB, true, false) }, 2,
	  ANY, 0 },
	{ "NUMA unknown for a GPU is not near", { P(A, U, 0, 2 * GIB, true, false),
						  P(B, 1, 0, 2 * GIB, true, false) }, 2,
	  { 1, U, NULL, -1 }, 1 },
	{ "NUMA: no GPU on the node: address", { P(A, 0, 0, 2 * GIB, true, false),
						 P(B, 0, 0, 2 * GIB, true, false) }, 2,
	  { 3, U, NULL, -1 }, 0 },
	{ "NUMA beats load", { P(A, 0, 0, 2 * GIB, true, true), P(A, 0, 1, 2 * GIB, true, true),
			       P(A, 0, 2, 2 * GIB, true, false), P(B, 1, 0, 2 * GIB, true, false) },
	  4, { 0, U, NULL, -1 }, 2 },

	/* least-loaded GPU (its taken partitions, counted in the array) over lower address */
	{ "least loaded over lower address", { TAKEN(A, 0), FREE(A, 1), FREE(B, 0), FREE(B, 1) }, 4,
	  ANY, 2 },
	{ "load counts only taken ones", { FREE(A, 0), FREE(A, 1), FREE(A, 2), TAKEN(B, 0),
					   FREE(B, 1) }, 5, ANY, 0 },
	{ "load: fewest of three", { TAKEN(A, 0), TAKEN(A, 1), FREE(A, 2), TAKEN(B, 0), FREE(B, 1),
				     TAKEN(C, 0), TAKEN(C, 1), FREE(C, 2) }, 8, ANY, 4 },
	{ "load counts a size not asked", { P(A, U, 0, 1 * GIB, true, true),
					    P(A, U, 1, 2 * GIB, true, false),
					    P(B, U, 0, 2 * GIB, true, false) }, 3,
	  { U, 2 * GIB, NULL, -1 }, 2 },

	/* then lowest address, then lowest id, whatever the array's order */
	{ "lowest address", { FREE(C, 0), FREE(B, 0), FREE(A, 0) }, 3, ANY, 2 },
	{ "lowest id", { FREE(A, 3), FREE(A, 1), FREE(A, 2) }, 3, ANY, 1 },
	{ "address before id", { FREE(B, 0), FREE(A, 5) }, 2, ANY, 1 },
};

Test(assign, pick_table)
{
	size_t i;

	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];

		cr_expect_eq(gp_policy_pick(r->p, r->n, &r->w), r->want, "row \"%s\": got %d, want %d",
			     r->name, gp_policy_pick(r->p, r->n, &r->w), r->want);
	}
}

/* The picker is pure: the input is left as it was, and the same input gives the same pick. */
Test(assign, pick_is_pure)
{
	struct gp_pick_part p[] = { TAKEN(A, 0), FREE(A, 1), FREE(B, 0) };
	struct gp_pick_want w = ANY;
	struct gp_pick_part copy[3];

	memcpy(copy, p, sizeof(p));
	cr_assert_eq(gp_policy_pick(p, 3, &w), 2);
	cr_assert_eq(gp_policy_pick(p, 3, &w), 2);
	cr_assert_eq(memcmp(copy, p, sizeof(p)), 0);
}
