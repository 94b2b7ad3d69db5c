/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The picker `assign` uses (gpupart/assign.h): which free partition a domain gets. Pure, no
 * I/O; table-tested in tests/unit/test-assign.c.
 *
 * Hyper-V's Add-VMGpuPartitionAdapter picks a free partition on its own; Admin Center offers
 * only partitions of the VRAM size chosen. The order after the filters is the (12,
 * item 1): a partition whose host state is ready beats one that is not (the caller then
 * refuses a not-ready pick with the command that makes it ready, rather than "full"); then the
 * GPU on the domain's NUMA node, since a GPU on another node puts every DMA and MMIO access
 * across the interconnect; then the least-loaded GPU, to spread guests over the boards'
 * engines; then the lowest address and the lowest id, so the same host state always gives the
 * same answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/assign.h>

static bool matches(const struct gp_pick_part *p, const struct gp_pick_want *w)
{
	if (p->taken)
		return false;
	/* A size asked is Admin Center's exact choice; a partition of unknown size never is. */
	if (w->fb_bytes != GP_UNKNOWN && (p->fb_bytes == GP_UNKNOWN || p->fb_bytes != w->fb_bytes))
		return false;
	if (w->gpu && (!p->gpu || strcasecmp(p->gpu, w->gpu)))
		return false;
	if (w->id >= 0 && p->id != w->id)
		return false;
	return true;
}

/* How many of p[0..n) on @gpu are taken: the GPU's load, from the array itself. */
static size_t load_of(const struct gp_pick_part *p, size_t n, const char *gpu)
{
	size_t i, k = 0;

	for (i = 0; i < n; i++)
		if (p[i].taken && p[i].gpu && gpu && !strcasecmp(p[i].gpu, gpu))
			k++;
	return k;
}

/* On the domain's node: only when both are known (unknown is neither near nor far). */
static bool near(const struct gp_pick_part *p, const struct gp_pick_want *w)
{
	return w->numa != GP_UNKNOWN && p->gpu_numa != GP_UNKNOWN && p->gpu_numa == w->numa;
}

/* < 0 when @a is the better pick, > 0 when @b is; 0 never for two distinct entries that
 * differ in GPU or id. */
static int better(const struct gp_pick_part *a, size_t la, const struct gp_pick_part *b,
		  size_t lb, const struct gp_pick_want *w)
{
	int c;

	if (a->ready != b->ready)
		return a->ready ? -1 : 1;
	if (near(a, w) != near(b, w))
		return near(a, w) ? -1 : 1;
	if (la != lb)
		return la < lb ? -1 : 1;
	c = strcasecmp(a->gpu ? a->gpu : "", b->gpu ? b->gpu : "");
	if (c)
		return c;
	return (a->id > b->id) - (a->id < b->id);
}

int gp_policy_pick(const struct gp_pick_part *p, size_t n, const struct gp_pick_want *w)
{
	size_t i, best_load = 0, l;
	int best = -ENOSPC;

	for (i = 0; i < n; i++) {
		if (!matches(&p[i], w))
			continue;
		l = load_of(p, n, p[i].gpu);
		if (best < 0 || better(&p[i], l, &p[best], best_load, w) < 0) {
			best = (int)i;
			best_load = l;
		}
	}
	return best;
}
