/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The diff planner: from one GPU state to another, the sysfs writes Linux needs, in the order
 * it needs them, each followed by what proves it took (a successful write to drivers_probe or
 * sriov_numvfs proves nothing: reliability.md 1.2, 1.4). The same function plans a change and
 * its undo, so both are exercised by every test.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include <gpupart/plan.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "kinds/binding.h"

/* path = sys/bus/pci/devices/ADDR/ + attr (attr may be NULL: the device directory) */
static int dev_path(const char *addr, const char *attr, char *buf, size_t len)
{
	char dir[128];
	int r = gp_hostfs_path(GP_HP_PCI_DEVICE, addr, dir, sizeof(dir));

	if (r < 0)
		return r;
	r = snprintf(buf, len, "%s%s%s", dir, attr ? "/" : "", attr ? attr : "");
	return r < 0 || (size_t)r >= len ? -ENAMETOOLONG : 0;
}

static struct gp_step *step(struct gp_plan *p, enum gp_step_op op, const char *device,
			    const char *value_fmt, ...) __attribute__((format(printf, 4, 5)));

static struct gp_step *step(struct gp_plan *p, enum gp_step_op op, const char *device,
			    const char *value_fmt, ...)
{
	struct gp_step *s;
	char *value = NULL;
	va_list ap;
	int n;

	va_start(ap, value_fmt);
	n = vasprintf(&value, value_fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	/* the path is filled in by the caller, which knows what the step acts on */
	s = gp_plan_add(p, op, device, NULL, value);
	free(value);
	return s;
}

/* A step on attribute @attr of PCI function @addr. */
static int dev_step(struct gp_plan *p, enum gp_step_op op, const char *addr, const char *attr,
		    const char *value)
{
	struct gp_step *s = step(p, op, addr, "%s", value);

	if (!s)
		return -ENOMEM;
	return dev_path(addr, attr, s->path, sizeof(s->path));
}

static int wait_vfs(struct gp_plan *p, const char *pf, int n)
{
	struct gp_step *s = step(p, GP_STEP_WAIT, pf, "%d", n);

	if (!s)
		return -ENOMEM;
	return dev_path(pf, "virtfn*", s->path, sizeof(s->path));
}

static int sriov_manage(struct gp_plan *p, const char *pf, bool enable)
{
	struct gp_step *s = step(p, GP_STEP_EXEC, pf, "%s %s", enable ? "-e" : "-d", pf);

	if (!s)
		return -ENOMEM;
	return gp_hostfs_path(GP_HP_SRIOV_MANAGE, NULL, s->path, sizeof(s->path));
}

static const struct gp_vf_state *vf_at(const struct gp_gpu_state *s, int index)
{
	size_t i;

	for (i = 0; i < s->n_vfs; i++)
		if (s->vfs[i].index == index)
			return &s->vfs[i];
	return NULL;
}

/* One VF from its current binding to the wanted one: the binding primitive
 * (kinds/binding.h). */
static int plan_vf_binding(struct gp_plan *p, const struct gp_vf_state *cur,
			   const struct gp_vf_state *want)
{
	return gp_binding_plan_fn(p, want->address, cur != NULL, cur ? cur->driver : NULL,
				  cur ? cur->override : NULL, want->driver, want->override);
}

/*
 * vfio-pci before anything else when the VFs are to be bound to it and it is not loaded
 * (gp_binding_plan_vfio_pci). Never undone: a loaded module is no partition.
 */
static int plan_vfio_pci(const struct gp_gpu_state *cur, const struct gp_gpu_state *want,
			 struct gp_plan *p)
{
	size_t i;
	bool needed = false;

	for (i = 0; i < want->n_vfs; i++)
		needed |= gp_str_eq(want->vfs[i].driver, "vfio-pci");
	if (!needed || cur->vfio_pci)
		return 0;
	return gp_binding_plan_vfio_pci(p, want->address);
}

/* The sriov_numvfs protocol (reliability.md invariant 9). */
static int plan_sriov(const struct gp_gpu_state *cur, const struct gp_gpu_state *want,
		      struct gp_plan *p)
{
	const char *pf = want->address;
	bool recreate = cur->numvfs != want->numvfs;
	int autoprobe = cur->autoprobe;
	char num[16];
	size_t i;
	int r = plan_vfio_pci(cur, want, p);

	if (r == 0 && recreate && cur->numvfs > 0) {
		r = dev_step(p, GP_STEP_WRITE, pf, "sriov_numvfs", "0");
		if (r == 0)
			r = wait_vfs(p, pf, 0);
	}
	if (r == 0 && recreate && want->numvfs > 0) {
		/* new VFs come up unbound, so no default driver claims them before the override
		 * is set; the PF's setting is given back once they are bound */
		if (autoprobe != 0 && autoprobe != GP_UNKNOWN) {
			r = dev_step(p, GP_STEP_WRITE, pf, "sriov_drivers_autoprobe", "0");
			autoprobe = 0;
		}
		snprintf(num, sizeof(num), "%d", want->numvfs);
		if (r == 0)
			r = dev_step(p, GP_STEP_WRITE, pf, "sriov_numvfs", num);
		if (r == 0)
			r = wait_vfs(p, pf, want->numvfs);
		if (r == 0) /* the driver may enable fewer and the write still succeeds */
			r = dev_step(p, GP_STEP_VERIFY, pf, "sriov_numvfs", num);
	}
	for (i = 0; r == 0 && i < want->n_vfs; i++)
		r = plan_vf_binding(p, recreate ? NULL : vf_at(cur, want->vfs[i].index),
				    &want->vfs[i]);
	if (r == 0 && want->autoprobe != GP_UNKNOWN && autoprobe != want->autoprobe) {
		snprintf(num, sizeof(num), "%d", want->autoprobe);
		r = dev_step(p, GP_STEP_WRITE, pf, "sriov_drivers_autoprobe", num);
	}
	return r;
}

/* Vendor-specific VFIO: clear every type that changes first (equal-size mode accepts another
 * size only once no vGPU of the old one is left, real-hosts/11), then set; between two counts
 * the VFs stay. Only a VF that carries a type is written 0: on an idle one the driver fails
 * with -EPERM ("No vGPU exists on current device", real-hosts/06). */
static int plan_nvidia_vfio(const struct gp_gpu_state *cur, const struct gp_gpu_state *want,
			    struct gp_plan *p)
{
	char num[16];
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < cur->n_vfs; i++) {
		const struct gp_vf_state *c = &cur->vfs[i], *w = vf_at(want, c->index);

		if (c->vgpu_type > 0 && (!w || c->vgpu_type != w->vgpu_type)) {
			r = dev_step(p, GP_STEP_WRITE, c->address, "nvidia/current_vgpu_type", "0");
			if (r == 0)
				r = dev_step(p, GP_STEP_VERIFY, c->address,
					     "nvidia/current_vgpu_type", "0");
		}
	}
	for (i = 0; r == 0 && i < want->n_vfs; i++) {
		const struct gp_vf_state *w = &want->vfs[i], *c = vf_at(cur, w->index);

		if (w->vgpu_type <= 0 || (c && c->vgpu_type == w->vgpu_type))
			continue;
		snprintf(num, sizeof(num), "%d", w->vgpu_type);
		r = dev_step(p, GP_STEP_WRITE, w->address, "nvidia/current_vgpu_type", num);
		if (r == 0)
			r = dev_step(p, GP_STEP_VERIFY, w->address, "nvidia/current_vgpu_type", num);
	}
	return r;
}

static int mdev_step(struct gp_plan *p, enum gp_step_op op, const char *uuid, const char *attr,
		     const char *value)
{
	struct gp_step *s = step(p, op, uuid, "%s", value);
	char dir[128];
	int r;

	if (!s)
		return -ENOMEM;
	r = gp_hostfs_path(GP_HP_MDEV_DEVICE, uuid, dir, sizeof(dir));
	if (r == 0 && snprintf(s->path, sizeof(s->path), "%s%s%s", dir, attr ? "/" : "",
			       attr ? attr : "") >= (int)sizeof(s->path))
		r = -ENAMETOOLONG;
	return r;
}

static int plan_mdev(const struct gp_gpu_state *cur, const struct gp_gpu_state *want,
		     struct gp_plan *p)
{
	char attr[192];
	size_t i;
	int r = 0;

	/* removals first: they give back the capacity the creations need */
	for (i = 0; r == 0 && i < cur->n_mdevs; i++) {
		const struct gp_mdev_state *m = &cur->mdevs[i];

		if (gp_mdev_state_find(want, m))
			continue;
		r = mdev_step(p, GP_STEP_WRITE, m->uuid, "remove", "1");
		if (r == 0)
			r = mdev_step(p, GP_STEP_WAIT, m->uuid, NULL, "0");
	}
	for (i = 0; r == 0 && i < want->n_mdevs; i++) {
		const struct gp_mdev_state *m = &want->mdevs[i];

		if (gp_mdev_state_find(cur, m))
			continue;
		snprintf(attr, sizeof(attr), "mdev_supported_types/%s/create", m->type_key);
		r = dev_step(p, GP_STEP_WRITE, m->parent, attr, m->uuid);
		if (r == 0)
			r = mdev_step(p, GP_STEP_VERIFY, m->uuid, "mdev_type", m->type_key);
	}
	return r;
}

/*
 * A state that names its VFs (a journal's: undoing set-count 0, which disabled them) is exact:
 * sriov-manage -e makes those VFs idle on nvidia, so the rest is planned from there, with no
 * rescan (an undo has no target to refine, txn.h).
 */
static int plan_on_new_vfs(const struct gp_gpu_state *want, struct gp_plan *plan)
{
	struct gp_gpu_state idle;
	size_t i, n_mdevs;
	int r = gp_gpu_state_copy(want, &idle);

	if (r < 0)
		return r;
	for (i = 0; i < idle.n_vfs; i++)
		if (idle.vfs[i].vgpu_type != GP_UNKNOWN)
			idle.vfs[i].vgpu_type = 0;
	n_mdevs = idle.n_mdevs;
	idle.n_mdevs = 0;
	r = plan_mdev(&idle, want, plan);
	if (r == 0)
		r = plan_nvidia_vfio(&idle, want, plan);
	idle.n_mdevs = n_mdevs;
	gp_gpu_state_clear(&idle);
	return r;
}

int gp_plan_diff(const struct gp_gpu_state *cur, const struct gp_gpu_state *want,
		 struct gp_plan *plan)
{
	int r = 0;

	switch (want->backend) {
	case GP_BACKEND_SRIOV:
		return plan_sriov(cur, want, plan);
	case GP_BACKEND_NVIDIA_VFIO:
	case GP_BACKEND_NVIDIA_MDEV:
		if (cur->numvfs == 0 && want->numvfs > 0) {
			/* nvidia registers no sriov_configure: only NVIDIA's script can enable
			 * VFs (nvidia-linux.md 2.1); what it creates is planned after a rescan */
			r = sriov_manage(plan, want->address, true);
			if (r == 0)
				r = wait_vfs(plan, want->address, want->numvfs);
			if (r == 0 && want->n_vfs)
				return plan_on_new_vfs(want, plan);
			if (r == 0) {
				struct gp_step *s = step(plan, GP_STEP_RESCAN, want->address, "%s", "");

				r = s ? dev_path(want->address, NULL, s->path, sizeof(s->path)) :
					-ENOMEM;
			}
			return r;
		}
		/* both, whichever backend was recorded: the VFs' shape shows only once they
		 * exist (a state journaled as vendor-VFIO before sriov-manage -e may come back
		 * with mdevs), and each plans nothing for the other shape's state */
		r = plan_mdev(cur, want, plan);
		if (r == 0)
			r = plan_nvidia_vfio(cur, want, plan);
		if (r == 0 && cur->numvfs > 0 && want->numvfs == 0) {
			r = sriov_manage(plan, want->address, false);
			if (r == 0)
				r = wait_vfs(plan, want->address, 0);
		}
		return r;
	default:
		return -EOPNOTSUPP;
	}
}
