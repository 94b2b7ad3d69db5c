/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Cluster homogeneity (gpupart/cluster.h). The reference is the set's most common make and
 * model rather than the first host's: Admin Center selects "a set of homogeneous GPUs if it
 * detects one" (../shared/seeds/003_*), so one odd GPU among many is the one named, whichever
 * host was listed first. Likewise the most common partition count is the one the others are
 * measured against.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <gpupart/cluster.h>

struct walk {
	const struct gp_cluster_host *h;
	size_t n;
};

typedef bool (*same_fn)(const struct gp_cluster_gpu *a, const struct gp_cluster_gpu *b);

/* The GPU (of a readable host) whose class under @same is the largest; ties: first seen. */
static const struct gp_cluster_gpu *most_common(const struct walk *w, same_fn same,
						const struct gp_cluster_gpu *within,
						same_fn within_same)
{
	const struct gp_cluster_gpu *best = NULL;
	size_t best_n = 0, i, j, k, l;

	for (i = 0; i < w->n; i++)
		for (j = 0; !w->h[i].error && j < w->h[i].n_gpus; j++) {
			const struct gp_cluster_gpu *g = &w->h[i].gpus[j];
			size_t c = 0;

			if (!same(g, g) || (within && !within_same(g, within)))
				continue;
			for (k = 0; k < w->n; k++)
				for (l = 0; !w->h[k].error && l < w->h[k].n_gpus; l++) {
					const struct gp_cluster_gpu *o = &w->h[k].gpus[l];

					if ((!within || within_same(o, within)) && same(g, o))
						c++;
				}
			if (c > best_n) {
				best = g;
				best_n = c;
			}
		}
	return best;
}

static bool same_model(const struct gp_cluster_gpu *a, const struct gp_cluster_gpu *b)
{
	return a->vendor == b->vendor && a->device == b->device;
}

/* Among partitioned GPUs only: a count of 0 or unknown is no reference. */
static bool same_count(const struct gp_cluster_gpu *a, const struct gp_cluster_gpu *b)
{
	return a->partitions > 0 && a->partitions == b->partitions;
}

static const char *model_of(const struct gp_cluster_gpu *g, char *buf, size_t len)
{
	if (g->model)
		snprintf(buf, len, "%s [%04x:%04x]", g->model, g->vendor, g->device);
	else
		snprintf(buf, len, "[%04x:%04x]", g->vendor, g->device);
	return buf;
}

static int check_gpu(const struct gp_cluster_host *h, const struct gp_cluster_gpu *g,
		     const struct gp_cluster_gpu *ref, const struct gp_cluster_gpu *count_ref,
		     bool any_partitioned, struct gp_findings *out)
{
	char m[160], rm[160];

	model_of(g, m, sizeof(m));
	model_of(ref, rm, sizeof(rm));
	if (g->vendor != ref->vendor)
		return gp_findings_add(out, "cluster-mixed-vendors", GP_SEV_ERROR,
				       "%s: GPU %s is %s, another vendor than the set's %s: "
				       "partitioning needs one make and model on every host",
				       h->name, g->address, m, rm);
	if (g->device != ref->device)
		return gp_findings_add(out, "cluster-mixed-models", GP_SEV_ERROR,
				       "%s: GPU %s is %s, another model than the set's %s",
				       h->name, g->address, m, rm);
	if (g->vram_bytes != GP_UNKNOWN && ref->vram_bytes != GP_UNKNOWN &&
	    g->vram_bytes != ref->vram_bytes)
		return gp_findings_add(out, "cluster-mixed-models", GP_SEV_ERROR,
				       "%s: GPU %s is %s with %lld MiB of VRAM, the set's has %lld "
				       "MiB",
				       h->name, g->address, m, (long long)(g->vram_bytes >> 20),
				       (long long)(ref->vram_bytes >> 20));
	if (g->partitions == GP_UNKNOWN)
		return gp_findings_add(out, "cluster-count-unknown", GP_SEV_INFO,
				       "%s: GPU %s: its partition count is not in libvirt's node "
				       "devices; give that host's `gpupart list --json` with "
				       "--inventory",
				       h->name, g->address);
	if (g->partitions == 0 && any_partitioned)
		return gp_findings_add(out, "cluster-partially-configured", GP_SEV_WARNING,
				       "%s: GPU %s is not partitioned while other %s GPUs of the "
				       "set are: `gpupart set-count %s %d` on that host",
				       h->name, g->address, rm, g->address,
				       count_ref ? count_ref->partitions : 1);
	if (g->partitions > 0 && count_ref && g->partitions != count_ref->partitions)
		return gp_findings_add(out, "cluster-partition-counts-differ", GP_SEV_WARNING,
				       "%s: GPU %s has %d partitions, the set's GPUs have %d: "
				       "`gpupart set-count %s %d` on that host",
				       h->name, g->address, g->partitions,
				       count_ref->partitions, g->address,
				       count_ref->partitions);
	return 0;
}

int gp_policy_cluster_check(const struct gp_cluster_host *hosts, size_t n,
			    struct gp_findings *out)
{
	const struct walk w = { hosts, n };
	const struct gp_cluster_gpu *ref, *count_ref;
	size_t i, j;
	int r = 0;

	for (i = 0; i < n && r >= 0; i++)
		if (hosts[i].error)
			r = gp_findings_add(out, "cluster-host-unreachable", GP_SEV_ERROR,
					    "%s: cannot be read: %s; the other hosts are checked "
					    "without it",
					    hosts[i].name, hosts[i].error);
	if (r < 0)
		return r;
	ref = most_common(&w, same_model, NULL, NULL);
	if (!ref)
		return gp_findings_add(out, "cluster-no-gpus", GP_SEV_WARNING,
				       "no GPU on any host that could be read");
	count_ref = most_common(&w, same_count, ref, same_model);
	for (i = 0; i < n && r >= 0; i++)
		for (j = 0; !hosts[i].error && j < hosts[i].n_gpus && r >= 0; j++)
			r = check_gpu(&hosts[i], &hosts[i].gpus[j], ref, count_ref,
				      count_ref != NULL, out);
	return r;
}
