/* SPDX-License-Identifier: GPL-2.0-or-later */
/* migrate-check's rules (gpupart/migrate.h): pure over the facts given. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/migrate.h>

enum gp_tri gp_policy_nvidia_migration(const char *version)
{
	char *end;
	long major;

	if (!version || !*version || *version < '0' || *version > '9')
		return GP_TRI_UNKNOWN;
	major = strtol(version, &end, 10);
	if (*end != '.' || major <= 0)
		return GP_TRI_UNKNOWN;
	return major >= GP_NVIDIA_MIGRATION_BRANCH ? GP_TRI_YES : GP_TRI_NO;
}

#define add(out, ...) gp_findings_add(out, __VA_ARGS__)

static bool is_nvidia(unsigned vendor)
{
	return vendor == 0x10de;
}

static bool dst_has(const struct gp_migrate_dst *d, const struct gp_migrate_part *p)
{
	size_t i;

	for (i = 0; i < d->n_gpus; i++)
		if (d->gpus[i].vendor == p->vendor && d->gpus[i].device_id == p->device_id)
			return true;
	return false;
}

static size_t count_type(const char *const *v, size_t n, const char *type)
{
	size_t i, c = 0;

	for (i = 0; i < n; i++)
		c += !strcmp(v[i] ? v[i] : "", type ? type : "");
	return c;
}

/* The driver checks, for a domain with NVIDIA partitions. */
static int check_drivers(const struct gp_migrate_src *s, const struct gp_migrate_dst *d,
			 struct gp_findings *out)
{
	const char *ends[2] = { s->nvidia_driver, d->inventory ? d->nvidia_driver : NULL };
	const char *where[2] = { "this host", d->name };
	int r = 0, i;

	for (i = 0; r == 0 && i < 2; i++) {
		enum gp_tri t = gp_policy_nvidia_migration(ends[i]);

		if (t == GP_TRI_NO)
			r = add(out, "migrate-driver-unsupported", GP_SEV_ERROR,
				"%s: NVIDIA driver %s is older than vGPU software 18.x (R%d): vGPU "
				"live migration needs the driver of vGPU 18.0 or later on both hosts",
				where[i], ends[i], GP_NVIDIA_MIGRATION_BRANCH);
		else if (t == GP_TRI_UNKNOWN)
			r = add(out, "migrate-driver-unknown", GP_SEV_WARNING,
				"%s: the NVIDIA driver version is not known (%s): vGPU live migration "
				"needs vGPU software 18.x (R%d) or later",
				where[i], i ? (d->inventory ? "its inventory has none" :
							"give its `gpupart list --json` with --inventory") :
					   "no nvidia module loaded", GP_NVIDIA_MIGRATION_BRANCH);
	}
	return r;
}

int gp_policy_migrate_check(const struct gp_migrate_src *s, const struct gp_migrate_dst *d,
			    struct gp_findings *out)
{
	bool nvidia = false;
	size_t i, k;
	int r = 0;

	if (s->dda)
		r = add(out, "migrate-dda", GP_SEV_ERROR,
			"%s has a whole GPU (Discrete Device Assignment): no live migration with DDA; "
			"shut it down to move it", s->domain);
	if (r == 0 && !s->n_parts && !s->dda)
		return add(out, "migrate-no-partitions", GP_SEV_INFO,
			   "%s has no GPU partition: nothing of gpupart's to check", s->domain);
	if (r == 0 && d->error)
		return add(out, "migrate-destination-unreachable", GP_SEV_ERROR, "%s: %s", d->name,
			   d->error);
	for (i = 0; r == 0 && i < s->n_parts; i++) {
		const struct gp_migrate_part *p = &s->parts[i];
		size_t want = 0, have;

		nvidia |= is_nvidia(p->vendor);
		if (!dst_has(d, p)) {
			r = add(out, "migrate-no-matching-gpu", GP_SEV_ERROR,
				"%s: no %s [%04x:%04x] there, the GPU of partition %s (a homogeneous "
				"GPU is needed: 'gpupart cluster check')", d->name,
				p->model ? p->model : "GPU", p->vendor, p->device_id, p->device);
			continue;
		}
		/* once per type: how many the domain has against how many are free there */
		for (k = 0; k < i && strcmp(s->parts[k].vgpu_type ? s->parts[k].vgpu_type : "",
					    p->vgpu_type ? p->vgpu_type : "");
		     k++)
			;
		if (k < i || !d->inventory)
			continue;
		for (k = 0; k < s->n_parts; k++)
			want += !strcmp(s->parts[k].vgpu_type ? s->parts[k].vgpu_type : "",
					p->vgpu_type ? p->vgpu_type : "");
		have = count_type(d->free_types, d->n_free, p->vgpu_type);
		if (have < want)
			r = add(out, "migrate-no-free-partition", GP_SEV_ERROR,
				"%s: %zu free partition%s of type %s there, the domain has %zu",
				d->name, have, have == 1 ? "" : "s",
				p->vgpu_type ? p->vgpu_type : "(SR-IOV VF)", want);
	}
	if (r == 0 && s->n_parts && !d->inventory)
		r = add(out, "migrate-free-unknown", GP_SEV_WARNING,
			"%s: which partitions are free there is not known (libvirt's node devices "
			"carry no vGPU types on vendor VFIO): give its `gpupart list --json` with "
			"--inventory", d->name);
	if (r == 0 && nvidia)
		r = check_drivers(s, d, out);
	return r;
}
