/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * MIG-backed vGPU. In MIG mode a vGPU lives on a GPU instance the admin created beforehand
 * (`nvidia-smi mig -cgi PROFILES -C`), of the one MIG-backed type the instance's profile
 * hosts (H200X-1-18C on a 1g.18gb instance: NVIDIA AI Enterprise vGPU tables, "Corresponding
 * GPU Instance Profile"); the driver then lists on an idle VF exactly the MIG-backed types a
 * free instance can take, and no time-sliced type at all. So the GPU instances, not the
 * framebuffer, decide the partitions: a count is any number of vGPUs of one hosted type up to
 * what NVIDIA allows per GPU ("Maximum vGPUs per GPU"), the instances there are (one vGPU per
 * 1g instance on H200: 7 x 1-18C on 7 instances) and the VFs. Without GPU instances nothing
 * is offered (ops/partition.c refuses, naming the step). Pure.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "policy/mig.h"

static bool in_force(const struct gp_device *dev, const struct gp_vgpu_type *t)
{
	size_t i;

	for (i = 0; i < dev->n_vfs; i++)
		if (t->type_id > 0 && dev->vfs[i]->current_vgpu_type == t->type_id)
			return true;
	return false;
}

/* The GPU instances host @t: an idle VF lists it now, or a VF has it in force. */
static bool hosted(const struct gp_device *dev, const struct gp_vgpu_type *t)
{
	size_t i, j;

	if (!t->mig || !t->series)
		return false;
	if (in_force(dev, t))
		return true;
	for (i = 0; i < dev->n_vfs; i++)
		for (j = 0; j < dev->vfs[i]->n_creatable; j++)
			if (dev->vfs[i]->creatable[j].type_id == t->type_id)
				return true;
	/* the mdev shapes: a type with an instance still available, or one an mdev has */
	return t->available > 0;
}

/* How many vGPUs of @t the GPU can hold now: 0 when the instances do not host it. */
static int type_cap(const struct gp_device *dev, const struct gp_vgpu_type *t, int cap)
{
	int m = t->max_instances > 0 ? t->max_instances : INT_MAX;

	if (!hosted(dev, t) || dev->n_gpu_instances == 0)
		return 0;
	if (dev->n_gpu_instances > 0 && dev->n_gpu_instances < m)
		m = dev->n_gpu_instances;
	if (cap > 0 && cap < m)
		m = cap;
	return m == INT_MAX ? 0 : m;
}

/*
 * A type in force that no list names (every instance is taken, so every list is empty, and a
 * catalogue from the lists lost it): its id and how many VFs hold it, 0 when there is none.
 * Those vGPUs can be kept or lowered, nothing more: a count up to the number held.
 */
static int unnamed_in_force(const struct gp_device *dev, const struct gp_vgpu_type *cat,
			    size_t n_cat, int *held)
{
	int id = 0;
	size_t i, j;

	*held = 0;
	for (i = 0; i < dev->n_vfs; i++) {
		int cur = dev->vfs[i]->current_vgpu_type;

		for (j = 0; cur > 0 && j < n_cat && cat[j].type_id != cur; j++)
			;
		if (cur <= 0 || j < n_cat)
			continue;
		if (id && cur != id)
			return 0; /* two unknown types: nothing to say */
		id = cur;
		(*held)++;
	}
	return id;
}

char gp_policy_mig_series(const struct gp_device *dev, const struct gp_vgpu_type *cat,
			  size_t n_cat)
{
	static const char order[] = "QCBA";
	int count[4] = { 0 }, best = -1, k;
	size_t i;

	for (i = 0; i < n_cat; i++)
		if (cat[i].mig && in_force(dev, &cat[i]))
			return cat[i].series;
	for (i = 0; i < n_cat; i++) {
		const char *p = cat[i].series ? strchr(order, cat[i].series) : NULL;

		if (p && hosted(dev, &cat[i]))
			count[p - order]++;
	}
	for (k = 0; k < 4; k++)
		if (count[k] && (best < 0 || count[k] > count[best]))
			best = k;
	return best < 0 ? 0 : order[best];
}

int gp_policy_mig_counts(const struct gp_device *dev, const struct gp_vgpu_type *cat,
			 size_t n_cat, char series, int cap, int **out, size_t *n_out)
{
	int most = 0, k;
	size_t i;

	*out = NULL;
	*n_out = 0;
	for (i = 0; i < n_cat; i++) {
		int m = cat[i].series == series ? type_cap(dev, &cat[i], cap) : 0;

		if (m > most)
			most = m;
	}
	if (!most && dev->n_gpu_instances != 0)
		unnamed_in_force(dev, cat, n_cat, &most);
	if (!most)
		return 0;
	*out = calloc((size_t)most, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (k = 0; k < most; k++)
		(*out)[k] = most - k;
	*n_out = (size_t)most;
	return 0;
}

int gp_policy_mig_type_for_count(const struct gp_device *dev, const struct gp_vgpu_type *cat,
				 size_t n_cat, char series, int cap, int count,
				 struct gp_vgpu_type *out)
{
	const struct gp_vgpu_type *best = NULL;
	size_t i;

	if (!series)
		series = gp_policy_mig_series(dev, cat, n_cat);
	for (i = 0; i < n_cat; i++) {
		const struct gp_vgpu_type *t = &cat[i];

		if (t->series != series || count <= 0 || type_cap(dev, t, cap) < count)
			continue;
		/* the type in force stays: its partitions are kept, the rest are added */
		if (in_force(dev, t)) {
			best = t;
			break;
		}
		if (!best || t->fb_bytes > best->fb_bytes)
			best = t;
	}
	if (!best) {
		int held, id = unnamed_in_force(dev, cat, n_cat, &held);

		if (!id || count > held)
			return -ERANGE;
		/* the type in force, known by its id alone: kept on @count of its VFs */
		*out = (struct gp_vgpu_type){ .type_id = id, .series = series, .mig = true,
					      .fb_bytes = GP_UNKNOWN,
					      .max_instances = GP_UNKNOWN,
					      .available = GP_UNKNOWN };
		return 0;
	}
	*out = *best;
	return 0;
}
