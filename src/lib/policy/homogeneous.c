/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Homogeneity, as Windows Admin Center enforces it (gpupart/policy.h): GPUs are of one
 * configuration when vendor, device and subsystem IDs, VRAM and the vGPU type list match.
 * Pure: uneven counts come back as findings for the caller to report.
 *
 * VRAM is the gpu view's vram_bytes (policy.c). The type list is the set of type names that
 * policy.c takes as the GPU's catalogue: the mdev types of the PF (or of the first VF that has
 * any), or the union of what the VFs list in nvidia/creatable_vgpu_types. The latter shrinks
 * once vGPUs exist (the driver lists only what can still be created next to them), so for a
 * vendor-VFIO GPU with partitions in force both the list and the VRAM taken from it are only
 * lower bounds: such a GPU matches another when its list is a subset and its VRAM is not
 * above the other's; two such GPUs cannot be told apart by these two criteria at all.
 */
#include <errno.h>
#include <stdio.h>

#include <stdlib.h>
#include <string.h>

#include <gpupart/policy.h>

#include "shared/array.h"

struct config_key {
	const struct gp_device *dev;
	int64_t vram;       /* GP_UNKNOWN */
	bool exact;         /* false: vram and names are lower bounds */
	const char **names; /* sorted, unique; borrowed from the model */
	size_t n_names;
};

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int add_name(struct config_key *k, const char *name)
{
	const char **slot;
	size_t i;

	if (!name)
		return 0;
	for (i = 0; i < k->n_names; i++)
		if (strcmp(k->names[i], name) == 0)
			return 0;
	slot = GP_PUSH(k->names, k->n_names);
	if (!slot)
		return -ENOMEM;
	*slot = name;
	return 0;
}

static int add_type(void *data, const struct gp_vgpu_type *t)
{
	return add_name(data, t->name);
}

static void key_clear(struct config_key *k)
{
	free(k->names);
	memset(k, 0, sizeof(*k));
}

static int key_build(const struct gp_host *host, const struct gp_device *dev,
		     struct config_key *k)
{
	struct gp_gpu_view v;
	size_t i;
	int r;

	memset(k, 0, sizeof(*k));
	k->dev = dev;
	r = gp_gpu_view_build(host, dev, 0, &v);
	if (r < 0)
		return r;
	k->vram = v.vram_bytes;
	k->exact = true;
	/* the catalogue's names (model/scan-catalogue.c says which list that is) */
	r = 0;
	for (i = 0; r == 0 && i < dev->n_catalogue; i++)
		r = add_type(k, &dev->catalogue[i]);
	if (dev->catalogue_source == GP_CATALOGUE_SYSFS) {
		/* a lower bound: the types in force are offered too, where their names are known */
		for (i = 0; r == 0 && i < v.n_partitions; i++)
			r = add_name(k, v.partitions[i].vgpu_type);
		k->exact = v.n_partitions == 0;
	}
	gp_gpu_view_clear(&v);
	if (r < 0) {
		key_clear(k);
		return r;
	}
	if (k->n_names > 1)
		qsort(k->names, k->n_names, sizeof(*k->names), str_cmp);
	return 0;
}

/* Every name of a is in b (both sorted). */
static bool names_subset(const struct config_key *a, const struct config_key *b)
{
	size_t i, j = 0;

	for (i = 0; i < a->n_names; i++) {
		while (j < b->n_names && strcmp(b->names[j], a->names[i]) < 0)
			j++;
		if (j == b->n_names || strcmp(b->names[j], a->names[i]) != 0)
			return false;
	}
	return true;
}

static bool ids_known(const struct gp_device *d)
{
	return d->vendor >= 0 && d->device >= 0 && d->subsystem_vendor >= 0 &&
	       d->subsystem_device >= 0;
}

static bool same_ids(const struct gp_device *a, const struct gp_device *b)
{
	return ids_known(a) && ids_known(b) && a->vendor == b->vendor && a->device == b->device &&
	       a->subsystem_vendor == b->subsystem_vendor &&
	       a->subsystem_device == b->subsystem_device;
}

static bool keys_match(const struct config_key *a, const struct config_key *b)
{
	if (!same_ids(a->dev, b->dev))
		return false;
	if (a->exact && b->exact)
		return a->vram == b->vram && a->n_names == b->n_names && names_subset(a, b);
	if (!a->exact && !b->exact)
		return true;
	if (a->exact) {
		const struct config_key *t = a;

		a = b;
		b = t;
	}
	/* a's facts are lower bounds, b's are exact */
	return a->vram <= b->vram && names_subset(a, b);
}

bool gp_policy_same_config(const struct gp_host *host, const struct gp_device *a,
			   const struct gp_device *b)
{
	struct config_key ka, kb;
	bool same;

	if (a == b)
		return true;
	if (!same_ids(a, b))
		return false;
	if (key_build(host, a, &ka) < 0)
		return false;
	if (key_build(host, b, &kb) < 0) {
		key_clear(&ka);
		return false;
	}
	same = keys_match(&ka, &kb);
	key_clear(&ka);
	key_clear(&kb);
	return same;
}

int gp_policy_homogeneous_sets(const struct gp_host *host, const struct gp_device *const *gpus,
			       size_t n, int *set_of)
{
	struct config_key *keys;
	size_t i, j;
	int k = 0, r = 0, s;

	if (!n)
		return 0;
	keys = calloc(n, sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (i = 0; i < n && r == 0; i++)
		r = key_build(host, gpus[i], &keys[i]);
	if (r < 0)
		goto out;
	/* a GPU joins the first set all of whose members it matches (the lower-bound rule above
	 * is not transitive, so one member is not enough) */
	for (i = 0; i < n; i++) {
		for (s = 0; s < k; s++) {
			bool all = true;

			for (j = 0; j < i && all; j++)
				if (set_of[j] == s && !keys_match(&keys[i], &keys[j]))
					all = false;
			if (all)
				break;
		}
		set_of[i] = s;
		if (s == k)
			k++;
	}
	r = k;
out:
	for (i = 0; i < n; i++)
		key_clear(&keys[i]);
	free(keys);
	return r;
}

int gp_policy_uneven_counts(const struct gp_host *host, const struct gp_gpu_view *views,
			    size_t n, struct gp_findings *out)
{
	const struct gp_device **devs;
	int *set_of, k, s, warned = 0;
	size_t i;

	if (n < 2)
		return 0;
	devs = calloc(n, sizeof(*devs));
	set_of = calloc(n, sizeof(*set_of));
	if (!devs || !set_of) {
		free(devs);
		free(set_of);
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		devs[i] = views[i].dev;
	k = gp_policy_homogeneous_sets(host, devs, n, set_of);
	for (s = 0; s < k; s++) {
		char *addrs = NULL, *counts = NULL;
		size_t la = 0, lc = 0, members = 0;
		FILE *fa, *fc;
		int first = -1;
		bool uneven = false;

		for (i = 0; i < n; i++) {
			if (set_of[i] != s)
				continue;
			members++;
			if (first < 0)
				first = (int)i;
			else if (views[i].partition_count != views[first].partition_count)
				uneven = true;
		}
		if (members < 2 || !uneven)
			continue;
		fa = open_memstream(&addrs, &la);
		fc = open_memstream(&counts, &lc);
		if (!fa || !fc) {
			if (fa)
				fclose(fa);
			if (fc)
				fclose(fc);
			free(addrs);
			free(counts);
			k = -ENOMEM;
			break;
		}
		members = 0;
		for (i = 0; i < n; i++) {
			if (set_of[i] != s)
				continue;
			fprintf(fa, "%s%s", members ? ", " : "", views[i].dev->address);
			fprintf(fc, "%s%d", members ? ", " : "", views[i].partition_count);
			members++;
		}
		fclose(fa);
		fclose(fc);
		if (addrs && counts &&
		    gp_findings_add(out, "uneven-partition-counts", GP_SEV_WARNING,
				    "GPUs %s are one configuration but have different partition "
				    "counts (%s)",
				    addrs, counts) < 0)
			k = -ENOMEM;
		else if (addrs && counts)
			warned++;
		free(addrs);
		free(counts);
	}
	free(devs);
	free(set_of);
	return k < 0 ? k : warned;
}
