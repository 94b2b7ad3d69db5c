/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What set-count and apply share: refuse what is unsafe, plan, print or apply the plan, and
 * record the layout. Every refusal happens before the first write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/layout.h>
#include <gpupart/plan.h>
#include <gpupart/virt.h>

#include "cli.h"
#include "kinds/gpu.h"
#include "kinds/layout.h"
#include "partition.h"

void *gp_cli_push(void *v, size_t *n, size_t sz)
{
	void **vp = v;
	char *nv = realloc(*vp, (*n + 1) * sz);

	if (!nv)
		return NULL;
	*vp = nv;
	nv += *n * sz;
	memset(nv, 0, sz);
	(*n)++;
	return nv;
}

int gp_cli_lock(struct gp_cli *cli, int *lock_fd)
{
	int r;

	*lock_fd = -1;
	r = gp_lock_take(cli->ctx, 120 * 1000);
	if (r < 0) {
		gp_cli_err("cannot take the host lock (%s/run/gpupart/lock): %s",
			   strcmp(gp_ctx_root(cli->ctx), "/") ? gp_ctx_root(cli->ctx) : "",
			   r == -EWOULDBLOCK ? "another gpupart command holds it" : strerror(-r));
		return EXIT_FAIL;
	}
	*lock_fd = r;
	r = gp_journal_recover(cli->ctx);
	if (r == GP_APPLY_STUCK)
		return EXIT_STUCK;
	if (r < 0)
		return EXIT_FAIL;
	return EXIT_OK;
}

static bool is_vfio_driver(const char *drv)
{
	return drv && strncmp(drv, "vfio", 4) == 0;
}

/* Refusals that need only the model: the GPU as a whole. */
static int check_gpu(const struct gp_gpu_view *v, int count)
{
	const struct gp_device *d = v->dev;
	size_t i;

	if (is_vfio_driver(d->driver)) {
		gp_cli_err("%s is dismounted for DDA (bound whole to %s): a GPU is either handed "
			   "whole to a VM or partitioned, never both",
			   d->address, d->driver);
		return EXIT_FAIL;
	}
	if (v->status != GP_STATUS_PARTITIONED) {
		gp_cli_err("%s cannot be partitioned on this host (status %s); see `gpupart "
			   "survey %s`",
			   d->address, gp_status_str(v->status), d->address);
		return EXIT_FAIL;
	}
	if (count == 0)
		return EXIT_OK;
	if (!v->n_valid_counts && d->sriov_num_vfs == 0 && d->sriov_total_vfs >= count &&
	    (v->backend == GP_BACKEND_NVIDIA_VFIO || v->backend == GP_BACKEND_NVIDIA_MDEV)) {
		/* NVIDIA lists its types on VFs only: the count is checked once they exist,
		 * and a count no type has is undone with them */
		gp_cli_warn("%s: the driver lists its vGPU types only once VFs are enabled; %d is "
			    "checked after enabling them",
			    d->address, count);
		return EXIT_OK;
	}
	for (i = 0; i < v->n_valid_counts; i++)
		if (v->valid_counts[i] == count)
			return EXIT_OK;
	{
		char list[512] = "";
		size_t len = 0;

		for (i = 0; i < v->n_valid_counts && len < sizeof(list) - 16; i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d",
						i ? ", " : "", v->valid_counts[i]);
		gp_cli_err("%d is not a valid partition count for %s; valid counts: %s%s0", count,
			   d->address, list, *list ? ", " : "");
	}
	return EXIT_USAGE;
}

/* Devices whose users block the change: the PF, every VF and every mdev of the GPU. */
struct users {
	char **names;
	size_t n;
	int *groups;
	size_t n_groups;
};

static void users_clear(struct users *u)
{
	gp_strv_free(u->names, u->n);
	free(u->groups);
	memset(u, 0, sizeof(*u));
}

static int users_add(struct users *u, const char *name, int group)
{
	char **s;

	s = GP_CLI_PUSH(u->names, u->n);
	if (!s || !(*s = strdup(name)))
		return -ENOMEM;
	if (group >= 0) {
		int *g = GP_CLI_PUSH(u->groups, u->n_groups);

		if (!g)
			return -ENOMEM;
		*g = group;
	}
	return 0;
}

static int collect_users(const struct gp_device *pf, struct users *u)
{
	size_t i, k;
	int r;

	r = users_add(u, pf->address, -1);
	for (i = 0; r == 0 && i < pf->n_mdevs; i++)
		r = users_add(u, pf->mdevs[i].uuid, pf->mdevs[i].iommu_group);
	for (i = 0; r == 0 && i < pf->n_vfs; i++) {
		const struct gp_device *vf = pf->vfs[i];

		r = users_add(u, vf->address, vf->iommu_group);
		for (k = 0; r == 0 && k < vf->n_mdevs; k++)
			r = users_add(u, vf->mdevs[k].uuid, vf->mdevs[k].iommu_group);
	}
	return r;
}

static bool plan_has_exec(const struct gp_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (p->steps[i].op == GP_STEP_EXEC)
			return true;
	return false;
}

static bool plan_writes(const struct gp_plan *p, const char *attr)
{
	size_t i, n = strlen(attr);

	for (i = 0; i < p->n; i++) {
		size_t len = strlen(p->steps[i].path);

		if (p->steps[i].op == GP_STEP_WRITE && len >= n &&
		    strcmp(p->steps[i].path + len - n, attr) == 0)
			return true;
	}
	return false;
}

static void print_why(char **why, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gp_cli_err("  %s", why[i]);
}

/*
 * What libvirt says about every GPU of the command, asked once: one connection (and one
 * warning when nobody answers) however many GPUs a command names.
 */
struct virt_answer {
	bool asked;
	int r;                    /* 0, or the error that stops every GPU */
	struct gp_virt_use *uses;
	size_t n;
};

static int ask_libvirt(struct gp_cli *cli, const struct gp_gpu_view *views, size_t n,
		       struct virt_answer *a)
{
	struct users all = { 0 };
	size_t i;
	int r = 0;

	if (a->asked)
		return a->r;
	a->asked = true;
	/*
	 * --no-libvirt (gpupart-apply.service): before libvirt starts no domain runs, and a
	 * socket-activated libvirt asked from a unit ordered before it would wait for that
	 * unit, for ever. Reservation records and open device nodes still guard.
	 */
	if (cli->no_libvirt)
		return a->r = 0;
	if (!cli->connect && strcmp(gp_ctx_root(cli->ctx), "/") != 0) {
		gp_cli_warn("not asking libvirt (--root without --connect): only reservation "
			    "records under the root say whether a partition is assigned");
		return a->r = 0;
	}
	for (i = 0; r == 0 && i < n; i++)
		r = collect_users(views[i].dev, &all);
	if (r == 0)
		r = gp_virt_find_users(cli->ctx, cli->connect, cli->libvirt_timeout_ms,
				       (const char *const *)all.names, all.n,
				       (const char *const *)all.names, all.n, &a->uses);
	users_clear(&all);
	if (r == -ECONNREFUSED && !cli->connect) {
		/* only the default URI may be absent: a host without libvirt */
		gp_cli_warn("no libvirt reachable at the default URI: only reservation records "
			    "under %s say whether a partition is assigned",
			    gp_cli_path(cli, "/run/gpupart/reservations"));
		r = 0;
	} else if (r == -ECONNREFUSED) {
		/* the library said why, naming the URI */
		gp_cli_err("--connect names a libvirt that cannot be reached: nothing changed");
	} else if (r == -ETIMEDOUT) {
		gp_cli_err("libvirt did not answer in time (--libvirt-timeout): nothing changed; "
			   "--no-libvirt skips it where no VM can be running");
	} else if (r > 0) {
		a->n = (size_t)r;
		r = 0;
	}
	return a->r = r;
}

static void virt_answer_clear(struct virt_answer *a)
{
	if (a->n)
		gp_virt_uses_free(a->uses, a->n);
	memset(a, 0, sizeof(*a));
}

static bool named(const struct users *u, const char *device)
{
	size_t i;

	for (i = 0; i < u->n; i++)
		if (strcasecmp(u->names[i], device) == 0)
			return true;
	return false;
}

/* Who else has these devices: libvirt domains, reservation records, open device nodes. */
static int check_users(struct gp_cli *cli, const struct gp_device *pf, const struct gp_plan *plan,
		       const struct virt_answer *virt)
{
	struct users u = { 0 };
	char **why = NULL;
	size_t n_why = 0, i;
	int found = 0, r;

	if (collect_users(pf, &u) < 0) {
		users_clear(&u);
		gp_cli_err("out of memory");
		return EXIT_FAIL;
	}
	if (virt->r < 0) {
		gp_cli_err("cannot ask libvirt which VMs hold %s: %s", pf->address,
			   strerror(-virt->r));
		users_clear(&u);
		return EXIT_FAIL;
	}
	for (i = 0; i < virt->n; i++) {
		const struct gp_virt_use *use = &virt->uses[i];
		char *msg, **slot;

		if (!named(&u, use->device))
			continue;
		found++;
		if (asprintf(&msg, "%s is assigned to VM %s (%s)", use->device, use->domain,
			     use->active ? "running" : "defined") < 0)
			continue;
		slot = GP_CLI_PUSH(why, n_why);
		if (slot)
			*slot = msg;
		else
			free(msg);
	}
	r = gp_guard_reservations(cli->ctx, (const char *const *)u.names, u.n, &why, &n_why);
	if (r < 0) {
		/* a record we cannot read may name the device (the log says where) */
		gp_cli_err("%s: refusing: cannot tell whether its partitions are reserved (see "
			   "above); nothing changed",
			   pf->address);
		goto refuse;
	}
	found += r;
	if (found) {
		gp_cli_err("%s: refusing: partitions are assigned (Hyper-V refuses the same; "
			   "remove them from their VMs first):",
			   pf->address);
		goto refuse;
	}
	/* sriov-manage waits for users of this GPU's /dev/nvidiaN only */
	found = gp_guard_holders(cli->ctx, (const char *const *)u.names, u.n, u.groups,
				 u.n_groups, plan_has_exec(plan) ? pf->address : NULL, &why, &n_why);
	if (found < 0) {
		gp_cli_err("%s: refusing: cannot tell which processes hold its devices: %s",
			   pf->address, strerror(-found));
		goto refuse;
	}
	if (found) {
		gp_cli_err("%s: refusing: processes hold its devices open, and the kernel would "
			   "block behind them:",
			   pf->address);
		goto refuse;
	}
	users_clear(&u);
	return EXIT_OK;
refuse:
	print_why(why, n_why);
	gp_strv_free(why, n_why);
	users_clear(&u);
	return EXIT_FAIL;
}

static int check_pf_driver(const struct gp_gpu_view *v, const struct gp_plan *plan)
{
	const struct gp_device *d = v->dev;

	if (v->backend != GP_BACKEND_SRIOV || !plan_writes(plan, "/sriov_numvfs"))
		return EXIT_OK;
	if (!d->driver) {
		gp_cli_err("%s has no driver: the kernel changes VF counts only through the "
			   "physical function's driver (sriov_numvfs would fail with ENOENT)",
			   d->address);
		return EXIT_FAIL;
	}
	if (strcmp(d->driver, "nvidia") == 0) {
		gp_cli_err("%s is on nvidia without NVIDIA's vGPU manager: nvidia has no "
			   "sriov_configure, so its VFs cannot be enabled here",
			   d->address);
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* Builds one change: the states and the plan a dry run prints (@txn owns it, @plan borrows
 * its plan). */
static int build_change(struct gp_cli *cli, struct gp_host *h, const struct gp_request *rq,
			const struct gp_gpu_view *v, struct gp_txn *txn, struct gp_plan *plan)
{
	struct gp_change *c = NULL;
	int r;

	r = gp_gpu_change_new(cli->ctx, h, v, rq->count, &c);
	if (r == 0 && (r = gp_txn_add(txn, c)) == 0)
		*plan = *gp_change_plan(c);
	if (r == -ERANGE) {
		gp_cli_err("%s: no %c-series vGPU type has %d instances", v->dev->address,
			   v->series ? v->series : '?', rq->count);
		return EXIT_USAGE;
	}
	if (r < 0) {
		gp_cli_err("%s: cannot plan the change: %s", v->dev->address, strerror(-r));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

/* The layout entries the requests mean (free with entries_free). */
static int layout_entries(const struct gp_request *rq, size_t n, struct gp_layout_entry **out)
{
	struct gp_layout_entry *v = calloc(n ? n : 1, sizeof(*v));
	size_t i;
	int r = 0;

	*out = v;
	if (!v)
		return -ENOMEM;
	for (i = 0; r == 0 && i < n; i++)
		r = gp_layout_entry_for(rq[i].dev, rq[i].count, rq[i].series, &v[i]);
	return r;
}

static void entries_free(struct gp_layout_entry *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}

int gp_cli_partition(struct gp_cli *cli, struct gp_host *h, const struct gp_request *rq,
		     size_t n, bool record, const char *cmd)
{
	struct gp_gpu_view *views = calloc(n ? n : 1, sizeof(*views));
	struct gp_txn txn = { 0 };
	struct gp_plan *plans = calloc(n ? n : 1, sizeof(*plans));
	struct gp_layout layout = { 0 };
	struct gp_layout_entry *entries = NULL;
	struct virt_answer virt = { 0 };
	size_t i, n_views = 0;
	int ret = EXIT_FAIL, r;

	if (!views || !plans) {
		gp_cli_err("out of memory");
		goto out;
	}
	if (record && !cli->dry_run && gp_layout_read(cli->ctx, &layout) < 0) {
		gp_cli_err("%s cannot be read (see above): fix it, or use --runtime; nothing "
			   "changed", gp_cli_path(cli, "/etc/gpupart/partitions.conf"));
		goto out;
	}
	for (i = 0; i < n; i++, n_views++) {
		if (gp_gpu_view_build(h, rq[i].dev, rq[i].series, &views[i]) < 0) {
			gp_cli_err("out of memory");
			goto out;
		}
	}
	for (i = 0; i < n; i++) {
		ret = check_gpu(&views[i], rq[i].count);
		if (ret == EXIT_OK)
			ret = build_change(cli, h, &rq[i], &views[i], &txn, &plans[i]);
		if (ret == EXIT_OK)
			ret = check_pf_driver(&views[i], &plans[i]);
		if (ret == EXIT_OK && plans[i].n) { /* a dry run says what would be refused */
			ask_libvirt(cli, views, n, &virt);
			ret = check_users(cli, views[i].dev, &plans[i], &virt);
		}
		if (ret != EXIT_OK)
			goto out;
	}
	if (cli->dry_run) {
		ret = gp_cli_print_plans(cli, views, plans, rq, n, false);
		goto out;
	}
	if (record && layout_entries(rq, n, &entries) < 0) {
		gp_cli_err("%s: cannot name the GPU's stable PCI path for the layout; use "
			   "--runtime", rq[0].dev->address);
		goto out;
	}
	if (record) {
		/* the layout is the transaction's last change: recorded once every GPU is
		 * verified, before the journal goes, and put back first by an undo */
		struct gp_change *lc = NULL;

		r = gp_layout_change_new(cli->ctx, entries, n, &lc);
		if (r == 0)
			r = gp_txn_add(&txn, lc);
		if (r < 0) {
			gp_cli_err("cannot read the layout before the change: %s; nothing changed",
				   strerror(-r));
			goto out;
		}
	}
	/* a transaction with nothing to do writes nothing, not even a journal */
	r = gp_txn_run(cli->ctx, &txn, cmd);
	if (r == GP_APPLY_STUCK) {
		ret = EXIT_STUCK;
		goto out;
	}
	if (r < 0) {
		gp_cli_err("the change failed (%s); %s", strerror(-r),
			   gp_journal_pending(cli->ctx) ?
				   "the journal stays: run `gpupart repair`" :
				   "every device is back as it was");
		ret = EXIT_FAIL;
		goto out;
	}
	/* success is said only once it is true: the host changed, the layout recorded, the
	 * journal gone */
	ret = gp_cli_print_plans(cli, views, plans, rq, n, true);
out:
	entries_free(entries, n);
	gp_txn_clear(&txn); /* the plans borrowed theirs */
	for (i = 0; i < n_views; i++)
		gp_gpu_view_clear(&views[i]);
	free(views);
	free(plans);
	gp_layout_clear(&layout);
	virt_answer_clear(&virt);
	return ret;
}
