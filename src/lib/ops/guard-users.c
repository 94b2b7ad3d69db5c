/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The refusals of set-count and apply that the host's users make: libvirt domains (their
 * answer given as data, so that the qemu hook can pass what its domain XML says), reservation
 * records and processes holding device nodes. Checked only for GPUs whose plan has steps,
 * in request order, stopping at the first GPU refused.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/internal.h"
#include "guard/guard.h"
#include "ops/op.h"

/* The devices whose users block a change of one GPU: the PF, its VFs and every mdev. */
struct users {
	char **pci, **mdev, **all;
	size_t n_pci, n_mdev, n_all;
	int *groups;       /* the IOMMU groups of the VFs and mdevs */
	size_t n_groups;
};

static void users_clear(struct users *u)
{
	gp_strv_free(u->pci, u->n_pci);
	gp_strv_free(u->mdev, u->n_mdev);
	gp_strv_free(u->all, u->n_all);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

static int strv_push(char ***v, size_t *n, const char *s)
{
	char **slot = GP_PUSH(*v, *n);

	if (!slot)
		return -ENOMEM;
	*slot = strdup(s);
	return *slot ? 0 : -ENOMEM;
}

static int users_add(struct users *u, const char *name, bool mdev, int group)
{
	int r = strv_push(mdev ? &u->mdev : &u->pci, mdev ? &u->n_mdev : &u->n_pci, name);

	if (r == 0)
		r = strv_push(&u->all, &u->n_all, name);
	if (r == 0 && group >= 0) {
		int *g = GP_PUSH(u->groups, u->n_groups);

		if (!g)
			return -ENOMEM;
		*g = group;
	}
	return r;
}

/* DDA moves the functions of the GPU's slot in its group: a domain naming any of them, or a
 * process holding the group's /dev/vfio/N (mount), stands in the way. */
static int collect_dda(const struct gp_op *op, const struct gp_device *gpu, struct users *u)
{
	struct gp_device **fns;
	size_t n, i;
	int r = gp_policy_dda_functions(op->host, gpu, &fns, &n);

	for (i = 0; r == 0 && i < n; i++)
		r = users_add(u, fns[i]->address, false, fns[i]->iommu_group);
	if (r == 0)
		free(fns);
	return r;
}

static int collect_users(const struct gp_op *op, size_t gi, struct users *u)
{
	const struct gp_device *pf = op->gpus[gi].view.dev;
	size_t i, k;
	int r;

	if (op->gpus[gi].action != GP_OP_SET_COUNT) {
		r = collect_dda(op, pf, u);
		if (r < 0 || !pf->n_vfs)
			return r;
	} else {
		r = users_add(u, pf->address, false, -1);
	}
	for (i = 0; r == 0 && i < pf->n_mdevs; i++)
		r = users_add(u, pf->mdevs[i].uuid, true, pf->mdevs[i].iommu_group);
	for (i = 0; r == 0 && i < pf->n_vfs; i++) {
		const struct gp_device *vf = pf->vfs[i];

		r = users_add(u, vf->address, false, vf->iommu_group);
		for (k = 0; r == 0 && k < vf->n_mdevs; k++)
			r = users_add(u, vf->mdevs[k].uuid, true, vf->mdevs[k].iommu_group);
	}
	return r;
}

/* The GPUs the guard looks at: planned, with steps, not after a refusal. */
static bool needs_guard(const struct gp_op *op, size_t i)
{
	return op->gpus[i].planned && op->gpus[i].plan.n > 0;
}

int gp_op_users(const struct gp_op *op, char ***pci, size_t *n_pci, char ***mdev,
		size_t *n_mdev)
{
	struct users u = { 0 };
	size_t i;
	int r = 0;

	*pci = *mdev = NULL;
	*n_pci = *n_mdev = 0;
	for (i = 0; r == 0 && !op->refused && i < op->n; i++)
		if (needs_guard(op, i))
			r = collect_users(op, i, &u);
	if (r < 0) {
		users_clear(&u);
		return r;
	}
	*pci = u.pci;
	*n_pci = u.n_pci;
	*mdev = u.mdev;
	*n_mdev = u.n_mdev;
	u.pci = u.mdev = NULL;
	u.n_pci = u.n_mdev = 0;
	users_clear(&u);
	return (int)(*n_pci + *n_mdev);
}

void gp_virt_answer_from(int r, bool uri_named, const struct gp_op_use *uses,
			 struct gp_virt_answer *out)
{
	memset(out, 0, sizeof(*out));
	if (r >= 0) {
		out->kind = GP_VIRT_ANSWERED;
		out->uses = uses;
		out->n_uses = (size_t)r;
	} else if (r == -ECONNREFUSED) {
		/* only the default URI may be absent: a host without libvirt */
		out->kind = uri_named ? GP_VIRT_UNREACHABLE : GP_VIRT_ABSENT;
	} else if (r == -ETIMEDOUT) {
		out->kind = GP_VIRT_TIMEOUT;
	} else {
		out->kind = GP_VIRT_FAILED;
		out->error = r;
	}
}

/* What the answer itself says, once, at the first GPU the guard looks at (@gpu): what was not
 * asked is about the command; what libvirt could not answer refuses that GPU. */
static int note_answer(struct gp_ctx *ctx, struct gp_op *op, size_t gpu,
		       const struct gp_virt_answer *a)
{
	const char *addr = op->gpus[gpu].view.dev->address;
	char where[4096];

	switch (a ? a->kind : GP_VIRT_NOT_ASKED) {
	case GP_VIRT_ANSWERED:
		return 0;
	case GP_VIRT_SKIPPED:
		/* --no-libvirt (gpupart-apply.service): before libvirt starts no domain runs,
		 * and a socket-activated libvirt asked from a unit ordered before it would wait
		 * for that unit, for ever. Reservation records and open device nodes still
		 * guard. */
		return gp_op_add(op, GP_OP_NO_GPU, "libvirt-skipped", GP_SEV_INFO,
				 "libvirt not asked (--no-libvirt): reservation records and open "
				 "device nodes still guard");
	case GP_VIRT_NOT_ASKED:
		if (!a)
			return gp_op_add(op, GP_OP_NO_GPU, "libvirt-not-asked", GP_SEV_WARNING,
					 "libvirt not asked: only reservation records say whether "
					 "a partition is assigned");
		return gp_op_add(op, GP_OP_NO_GPU, "libvirt-not-asked", GP_SEV_WARNING,
				 "not asking libvirt (--root without --connect): only reservation "
				 "records under the root say whether a partition is assigned");
	case GP_VIRT_ABSENT:
		if (gp_guard_host_path(ctx, GP_GUARD_PATH_RESERVATIONS, where, sizeof(where)) < 0)
			snprintf(where, sizeof(where), "the reservation records");
		return gp_op_add(op, GP_OP_NO_GPU, "libvirt-absent", GP_SEV_WARNING,
				 "no libvirt reachable at the default URI: only reservation "
				 "records under %s say whether a partition is assigned",
				 where);
	case GP_VIRT_UNREACHABLE:
		/* the library said why, naming the URI */
		return gp_op_add(op, gpu, "libvirt-unreachable", GP_SEV_ERROR,
				 "--connect names a libvirt that cannot be reached: nothing "
				 "changed");
	case GP_VIRT_TIMEOUT:
		return gp_op_add(op, gpu, "libvirt-timeout", GP_SEV_ERROR,
				 "libvirt did not answer in time (--libvirt-timeout): nothing "
				 "changed; --no-libvirt skips it where no VM can be running");
	case GP_VIRT_FAILED:
	default:
		return gp_op_add(op, gpu, "libvirt-failed", GP_SEV_ERROR,
				 "cannot ask libvirt which VMs hold %s: %s", addr,
				 strerror(a && a->error < 0 ? -a->error : EIO));
	}
}

static bool named(const struct users *u, const char *device)
{
	size_t i;

	for (i = 0; i < u->n_all; i++)
		if (strcasecmp(u->all[i], device) == 0)
			return true;
	return false;
}

/* One finding per line a guard function gave; consumes @why. */
static int add_lines(struct gp_op *op, size_t gpu, const char *code, char **why, size_t n,
		     size_t from)
{
	size_t i;
	int r = 0;

	for (i = from; r == 0 && i < n; i++)
		r = gp_op_add(op, gpu, code, GP_SEV_ERROR, "%s", why[i]);
	gp_strv_free(why, n);
	return r;
}

/* sriov-manage waits for the users of this GPU's /dev/nvidiaN, and so does nvidia's remove()
 * when dismount unbinds it (nvidia-drm/nvidia.ko refuse to let go of an open GPU). */
static bool nvidia_nodes_matter(const struct gp_op *op, size_t i)
{
	const struct gp_op_gpu *g = &op->gpus[i];

	return gp_op_runs_sriov_manage(op, i) ||
	       (g->action == GP_OP_DISMOUNT && gp_str_eq(g->view.dev->driver, "nvidia"));
}

static bool exempt(const struct gp_op *op, const char *device)
{
	size_t i;

	for (i = 0; i < op->n_exempt; i++)
		if (!strcasecmp(op->exempt[i], device))
			return true;
	return false;
}

/* Who else has GPU @i's devices: libvirt domains, reservation records, open device nodes. */
static int check_users(struct gp_ctx *ctx, struct gp_op *op, size_t i,
		       const struct gp_virt_answer *a)
{
	const char *addr = op->gpus[i].view.dev->address;
	struct users u = { 0 };
	const char **others;
	char **why = NULL;
	size_t n_why = 0, n_others = 0, k;
	int r, found;

	r = collect_users(op, i, &u);
	for (k = 0; r == 0 && a && a->kind == GP_VIRT_ANSWERED && k < a->n_uses; k++) {
		const struct gp_op_use *use = &a->uses[k];

		if (named(&u, use->device))
			r = gp_op_add(op, i, "assigned-to-vm", GP_SEV_ERROR,
				      "%s is assigned to VM %s (%s)", use->device, use->domain,
				      use->active ? "running" : "defined");
	}
	if (r < 0)
		goto out;
	/* the caller's own records (gp_op_guard_exempt) do not stand in the way */
	others = calloc(u.n_all ? u.n_all : 1, sizeof(*others));
	if (!others) {
		r = -ENOMEM;
		goto out;
	}
	for (k = 0; k < u.n_all; k++)
		if (!exempt(op, u.all[k]))
			others[n_others++] = u.all[k];
	found = gp_guard_reservations(ctx, others, n_others, &why, &n_why);
	free(others);
	r = add_lines(op, i, "reserved", why, n_why, 0);
	if (r == 0 && found < 0)
		/* a record we cannot read may name the device (the log says where) */
		r = gp_op_add(op, i, "reservations-unreadable", GP_SEV_ERROR,
			      "%s: refusing: cannot tell whether its partitions are reserved (see "
			      "above); nothing changed",
			      addr);
	if (r < 0 || op->refused)
		goto out;
	/* sriov-manage waits for users of this GPU's /dev/nvidiaN only */
	why = NULL;
	n_why = 0;
	found = gp_guard_holders(ctx, (const char *const *)u.all, u.n_all, u.groups, u.n_groups,
				 nvidia_nodes_matter(op, i) ? addr : NULL, &why, &n_why);
	r = add_lines(op, i, "held-open", why, n_why, 0);
	if (r == 0 && found < 0)
		r = gp_op_add(op, i, "holders-unknown", GP_SEV_ERROR,
			      "%s: refusing: cannot tell which processes hold its devices: %s", addr,
			      strerror(-found));
out:
	users_clear(&u);
	return r;
}

/* The first GPU the guard looks at, or op->n. */
static size_t first_guarded(const struct gp_op *op)
{
	size_t i;

	for (i = 0; i < op->n; i++)
		if (needs_guard(op, i))
			break;
	return i;
}

int gp_op_answer(struct gp_ctx *ctx, struct gp_op *op, const struct gp_virt_answer *answer)
{
	size_t i = first_guarded(op);

	if (op->answered || op->refused || i == op->n)
		return 0;
	op->answered = true;
	return note_answer(ctx, op, i, answer);
}

int gp_op_guard(struct gp_ctx *ctx, struct gp_op *op, const struct gp_virt_answer *answer)
{
	size_t i;
	int r;

	r = gp_op_answer(ctx, op, answer);
	for (i = 0; r == 0 && !op->refused && i < op->n; i++)
		if (needs_guard(op, i))
			r = check_users(ctx, op, i, answer);
	op->guarded = true;
	return r;
}
