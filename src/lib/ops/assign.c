/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * assign, unassign and adapters as operations (gpupart/adapters.h). Hyper-V's rules
 * (seeds/001): a free partition is picked for the VM, one per VM unless asked otherwise, of a
 * configured size; a VM with a GPU must be turned off to change it and must not be saved at
 * host shutdown. Who holds a partition: any domain on the connection that names its device
 * (live or persistent XML), or a reservation record; both count, so neither a domain edited
 * by hand nor a concurrent assign (whose record is written under the host lock before its
 * domain edit) can be given the same partition twice.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <gpupart/adapters.h>
#include <gpupart/layout.h>

#include "base/internal.h"
#include "kinds/domain.h"
#include "kinds/resv.h"
#include "model/vmhost.h"
#include "ops/op.h"
#include "txn/txn.h"

/* NULL when @p's host state lets a VM open it; else why, and what makes it ready. */
static const char *not_ready(const struct gp_gpu_view *v, const struct gp_partition *p)
{
	if (v->backend == GP_BACKEND_NVIDIA_VFIO && !gp_str_eq(p->driver, "nvidia"))
		return "its VF is not on the nvidia driver: 'gpupart apply' puts it back";
	if (v->backend == GP_BACKEND_SRIOV && !gp_policy_is_vfio_driver(p->driver))
		return "its VF is not on vfio-pci: 'gpupart apply' (or 'gpupart set-count') "
		       "binds it";
	return NULL; /* an mdev is there (the scan found it), its parent's driver made it */
}

static int add_view(const struct gp_gpu_view *v, const struct gp_resv *resv, size_t n_resv,
		    const struct gp_op_use *uses, size_t n_uses, struct gp_part **out, size_t *n)
{
	size_t i, k;

	for (i = 0; i < v->n_partitions; i++) {
		const struct gp_partition *p = &v->partitions[i];
		struct gp_part *e = GP_PUSH(*out, *n);

		if (!e)
			return -ENOMEM;
		e->gpu = v->dev;
		if (gp_device_path_id(v->dev, e->instance_path, sizeof(e->instance_path)) < 0)
			e->instance_path[0] = 0;
		e->id = p->id;
		e->backend = v->backend;
		e->vf_address = p->mdev_uuid ? NULL : p->address;
		e->mdev_uuid = p->mdev_uuid;
		e->device = p->mdev_uuid ? p->mdev_uuid : p->address;
		e->vgpu_type = p->vgpu_type;
		e->fb_bytes = p->fb_bytes >= 0 ? p->fb_bytes : v->partition_vram_bytes;
		e->not_ready = not_ready(v, p);
		e->resv = gp_resv_find(resv, n_resv, e->device);
		for (k = 0; k < n_uses; k++) {
			if (strcasecmp(uses[k].device, e->device))
				continue;
			if (!e->n_users++)
				e->use = &uses[k];
		}
	}
	return 0;
}

int gp_parts_build(const struct gp_host *host, bool any_class, const struct gp_resv *resv,
		   size_t n_resv, const struct gp_op_use *uses, size_t n_uses, struct gp_part **out,
		   size_t *n)
{
	size_t i;
	int r = 0;

	*out = NULL;
	*n = 0;
	for (i = 0; r >= 0 && i < host->n_devs; i++) {
		const struct gp_device *dev = host->devs[i];
		struct gp_gpu_view v;

		if (!gp_device_is_gpu_like(dev, any_class) || !dev->full)
			continue;
		r = gp_gpu_view_build(host, dev, 0, &v);
		if (r < 0)
			break;
		if (!v.dda_dismounted)
			r = add_view(&v, resv, n_resv, uses, n_uses, out, n);
		gp_gpu_view_clear(&v);
	}
	if (r < 0) {
		free(*out);
		*out = NULL;
		*n = 0;
	}
	return r;
}

#define add(op, ...) gp_findings_add(&(op)->findings, __VA_ARGS__)

bool gp_op_assign_refused(const struct gp_op_assign *op)
{
	size_t i;

	for (i = 0; i < op->findings.n; i++)
		if (op->findings.v[i].severity == GP_SEV_ERROR)
			return true;
	return false;
}

void gp_op_assign_free(struct gp_op_assign *op)
{
	if (!op)
		return;
	gp_findings_clear(&op->findings);
	free(op->items);
	free(op);
}

/* @use is domain @d's: by UUID where both are known (a name can be reused), else by name. */
static bool use_is(const struct gp_op_use *use, const struct gp_assign_domain *d)
{
	if (use->uuid && *use->uuid && d->uuid && *d->uuid)
		return !strcasecmp(use->uuid, d->uuid);
	return !strcmp(use->domain, d->name);
}

/* The domain refusals every command makes the same way. */
static int check_domain(struct gp_op_assign *op, const struct gp_assign_domain *d,
			const struct gp_assign_req *req)
{
	if (!d->found)
		return add(op, "domain-not-found", GP_SEV_ERROR, "no domain '%s' on the connection",
			   d->name);
	if (d->remote)
		return add(op, "domain-remote", GP_SEV_ERROR,
			   "'%s' is on another host: gpupart changes domains of this host only "
			   "(the partition must be on the host the VM runs on)", d->name);
	if (!d->persistent)
		return add(op, "domain-transient", GP_SEV_ERROR,
			   "'%s' is transient: a partition is given to a defined domain (virsh "
			   "define), which keeps it across its restarts", d->name);
	if (d->active && !req->restart)
		return add(op, "domain-running", GP_SEV_ERROR,
			   "'%s' is running: shut it down first, or --restart (shut down, change, "
			   "start again)", d->name);
	return 0;
}

/* What @dom already holds (by its hostdevs): how many partitions. */
static size_t held_by(const struct gp_part *parts, size_t n, const struct gp_op_use *uses,
		      size_t n_uses, const struct gp_assign_domain *d)
{
	size_t i, k, c = 0;

	for (i = 0; i < n; i++)
		for (k = 0; k < n_uses; k++)
			if (!strcasecmp(uses[k].device, parts[i].device) && use_is(&uses[k], d)) {
				c++;
				break;
			}
	return c;
}

/* --gpu, --partition: what was asked names a partition there is (usage errors otherwise). */
static int check_asked(struct gp_op_assign *op, const struct gp_host *host,
		       const struct gp_part *parts, size_t n, const struct gp_assign_req *req,
		       const char *lost)
{
	struct gp_pci_addr a;
	const struct gp_device *dev;
	size_t i, gpus = 0;
	int r = 0;

	if (req->gpu) {
		dev = gp_pci_addr_parse(req->gpu, &a) == 0 ? gp_host_find(host, &a) : NULL;
		for (i = 0; i < n && parts[i].gpu != dev; i++)
			;
		if (dev && i == n && gp_policy_dda_dismounted(host, dev))
			return add(op, "dismounted-for-dda", GP_SEV_ERROR,
				   "%s is dismounted for Discrete Device Assignment: a whole GPU "
				   "for one VM ('gpupart attach'); 'gpupart mount' it to partition "
				   "it", req->gpu);
		if (i == n && *lost)
			return add(op, "partition-not-ready", GP_SEV_ERROR, "%s", lost);
		if (i == n) {
			op->usage = true;
			return add(op, "gpu-not-partitioned", GP_SEV_ERROR,
				   "%s has no partitions ('gpupart list' shows the GPUs that do; "
				   "'gpupart set-count' makes them)", req->gpu);
		}
	}
	for (i = 0; i < n; i++)
		gpus += !i || parts[i].gpu != parts[i - 1].gpu;
	if (req->partition >= 0 && !req->gpu && gpus > 1) {
		op->usage = true;
		return add(op, "partition-needs-gpu", GP_SEV_ERROR,
			   "--partition %d: several GPUs have partitions: name one with --gpu",
			   req->partition);
	}
	for (i = 0; req->partition >= 0 && i < n; i++)
		if (parts[i].id == req->partition &&
		    (!req->gpu || !strcasecmp(parts[i].gpu->address, req->gpu)))
			break;
	if (req->partition >= 0 && i == n) {
		op->usage = true;
		r = add(op, "no-such-partition", GP_SEV_ERROR, "there is no partition %d%s%s",
			req->partition, req->gpu ? " on " : "", req->gpu ? req->gpu : "");
	}
	return r;
}

/*
 * A GPU partitions.conf gives more partitions than it has now (the driver lost the vGPU
 * types, a reboot before `apply`): the partitions that are missing are not ready rather than
 * not there, so a full host is told from one that is not set up again. Into @why; false when
 * none (or no record to tell).
 */
static bool missing(struct gp_ctx *ctx, const struct gp_host *host, const struct gp_part *parts,
		    size_t n, const struct gp_assign_req *req, char *why, size_t len)
{
	struct gp_layout l = { 0 };
	struct gp_device *dev;
	bool found = false;
	size_t i, k, have;

	if (gp_layout_read(ctx, &l) < 0)
		return false;
	for (i = 0; !found && i < l.n; i++) {
		if (gp_layout_match(host, &l.v[i], &dev) < 0 || !l.v[i].count ||
		    (req->gpu && strcasecmp(dev->address, req->gpu)) ||
		    gp_policy_dda_dismounted(host, dev))
			continue;
		for (k = 0, have = 0; k < n; k++)
			have += parts[k].gpu == dev;
		if (have < (size_t)l.v[i].count) {
			snprintf(why, len, "%s has %zu of the %d partitions partitions.conf gives "
					   "it: 'gpupart apply' makes the others",
				 dev->address, have, l.v[i].count);
			found = true;
		}
	}
	gp_layout_clear(&l);
	return found;
}

static int pick_all(struct gp_op_assign *op, const struct gp_part *parts, size_t n,
		    const struct gp_assign_domain *doms, const int *numa, size_t n_doms,
		    const struct gp_assign_req *req, const char *lost)
{
	struct gp_pick_part *pp = calloc(n + 1, sizeof(*pp));
	struct gp_pick_want w = { .fb_bytes = req->vram, .gpu = req->gpu, .id = req->partition };
	size_t i, d;
	int r = pp ? 0 : -ENOMEM, k;

	for (i = 0; pp && i < n; i++)
		pp[i] = (struct gp_pick_part){ parts[i].gpu->address, parts[i].gpu->numa_node,
					       parts[i].id, parts[i].fb_bytes,
					       !parts[i].not_ready,
					       parts[i].resv || parts[i].n_users };
	for (d = 0; r >= 0 && d < n_doms; d++) {
		struct gp_assign_item *it;

		w.numa = numa[d];
		k = gp_policy_pick(pp, n, &w);
		if (k < 0 && req->partition >= 0 && w.fb_bytes >= 0 &&
		    gp_policy_pick(pp, n, &(struct gp_pick_want){ w.numa, GP_UNKNOWN, w.gpu,
								  w.id }) >= 0) {
			op->usage = true;
			r = add(op, "partition-other-size", GP_SEV_ERROR,
				"partition %d is free but not of the VRAM size asked (--vram)",
				req->partition);
			break;
		}
		if (k < 0 && req->partition >= 0) {
			r = add(op, "partition-taken", GP_SEV_ERROR,
				"partition %d%s%s is held already: 'gpupart adapters' says by whom",
				req->partition, req->gpu ? " of " : "", req->gpu ? req->gpu : "");
			break;
		}
		if (k < 0 && lost) {
			r = add(op, "partition-not-ready", GP_SEV_ERROR,
				"no free partition is ready for '%s': %s", doms[d].name, lost);
			break;
		}
		if (k < 0) {
			bool other = w.fb_bytes >= 0 &&
				     gp_policy_pick(pp, n, &(struct gp_pick_want){
							       w.numa, GP_UNKNOWN, w.gpu, -1 }) >= 0;

			op->full = true;
			r = add(op, "no-free-partition", GP_SEV_ERROR,
				"no free partition%s for '%s': %s", req->gpu ? " on that GPU" : "",
				doms[d].name,
				other ? "the free ones are of another VRAM size than the one asked "
					"(or than the one the call's first domain was given)" :
					"every one is assigned to a domain or held by a reservation");
			break;
		}
		if (parts[k].not_ready) {
			r = add(op, "partition-not-ready", GP_SEV_ERROR,
				"partition %d of %s (%s) is not ready: %s", parts[k].id,
				parts[k].gpu->address, parts[k].device, parts[k].not_ready);
			break;
		}
		pp[k].taken = true;
		/* one size for every domain of the call (Admin Center's one VRAM choice) */
		if (w.fb_bytes < 0 && parts[k].fb_bytes >= 0)
			w.fb_bytes = parts[k].fb_bytes;
		it = GP_PUSH(op->items, op->n_items);
		if (!it)
			r = -ENOMEM;
		else
			*it = (struct gp_assign_item){ .domain = d, .part = &parts[k] };
	}
	free(pp);
	return r;
}

static int assign_new(struct gp_ctx *ctx, struct gp_op_assign *op, const struct gp_host *host,
		      const struct gp_part *parts, size_t n, const struct gp_op_use *uses,
		      size_t n_uses, const struct gp_assign_domain *doms, size_t n_doms,
		      const struct gp_assign_req *req)
{
	char lost[256];
	size_t d, i;
	int r = 0, *numa;

	for (d = 0; r >= 0 && d < n_doms; d++) {
		for (i = 0; i < d && strcmp(doms[i].name, doms[d].name); i++)
			;
		if (i < d) {
			op->usage = true;
			r = add(op, "domain-twice", GP_SEV_ERROR, "'%s' is named twice", doms[d].name);
		}
		if (r >= 0)
			r = check_domain(op, &doms[d], req);
		if (r >= 0 && doms[d].found && !req->allow_multiple &&
		    held_by(parts, n, uses, n_uses, &doms[d]))
			r = add(op, "domain-has-partition", GP_SEV_ERROR,
				"'%s' has a partition already ('gpupart adapters %s'); "
				"--allow-multiple gives it another", doms[d].name, doms[d].name);
	}
	if (r >= 0 && req->partition >= 0 && n_doms > 1) {
		op->usage = true;
		r = add(op, "partition-for-one", GP_SEV_ERROR,
			"--partition names one partition: give it to one domain");
	}
	if (!missing(ctx, host, parts, n, req, lost, sizeof(lost)))
		lost[0] = 0;
	if (r >= 0 && !gp_op_assign_refused(op))
		r = check_asked(op, host, parts, n, req, lost);
	numa = calloc(n_doms + 1, sizeof(*numa));
	for (d = 0; numa && d < n_doms; d++) {
		/* where its memory is bound, else where its vCPUs run (libvirt's numatune and
		 * vcpu cpuset: formatdomain, "NUMA Node Tuning", "CPU Allocation") */
		numa[d] = doms[d].numa_node;
		if (numa[d] < 0 && doms[d].cpuset)
			numa[d] = gp_vmhost_numa_of_cpuset(ctx, doms[d].cpuset);
		if (numa[d] < 0)
			numa[d] = GP_UNKNOWN;
	}
	if (!numa)
		r = -ENOMEM;
	if (r >= 0 && !gp_op_assign_refused(op))
		r = pick_all(op, parts, n, doms, numa, n_doms, req, lost[0] ? lost : NULL);
	free(numa);
	if (r >= 0 && !gp_op_assign_refused(op))
		r = gp_op_warn_guests(ctx, &op->findings);
	return r;
}

static int push_item(struct gp_op_assign *op, const struct gp_part *p, bool named, bool release)
{
	struct gp_assign_item *it = GP_PUSH(op->items, op->n_items);

	if (!it)
		return -ENOMEM;
	*it = (struct gp_assign_item){ 0, p, named, release };
	return 0;
}

static bool asked(const struct gp_part *p, const struct gp_assign_req *req)
{
	return (!req->gpu || !strcasecmp(p->gpu->address, req->gpu)) &&
	       (req->partition < 0 || p->id == req->partition);
}

/* unassign: what @d holds (its hostdevs, its reservation records) among what was asked. */
static int unassign_new(struct gp_op_assign *op, const struct gp_part *parts, size_t n,
			const struct gp_op_use *uses, size_t n_uses,
			const struct gp_assign_domain *d, const struct gp_assign_req *req)
{
	size_t i, k;
	int r = check_domain(op, d, req);

	for (i = 0; r >= 0 && !gp_op_assign_refused(op) && i < n; i++) {
		const struct gp_part *p = &parts[i];
		bool named = false, mine;

		for (k = 0; k < n_uses && !named; k++)
			named = !strcasecmp(uses[k].device, p->device) && use_is(&uses[k], d);
		mine = p->resv && d->uuid && !strcasecmp(p->resv->uuid, d->uuid);
		if (!named && !mine)
			continue;
		if (asked(p, req))
			r = push_item(op, p, named, mine);
	}
	if (r < 0 || gp_op_assign_refused(op))
		return r;
	if (!op->n_items && (req->gpu || req->partition >= 0))
		return add(op, "partition-not-assigned", GP_SEV_ERROR,
			   "'%s' holds no such partition ('gpupart adapters %s' lists its own)",
			   d->name, d->name);
	if (op->n_items > 1 && !req->all && req->partition < 0) {
		op->usage = true;
		return add(op, "which-partition", GP_SEV_ERROR,
			   "'%s' holds %zu partitions%s: name one with --partition (and --gpu), or "
			   "--all", d->name, op->n_items, req->gpu ? " of that GPU" : "");
	}
	return 0;
}

int gp_op_assign_new(struct gp_ctx *ctx, const struct gp_host *host, const struct gp_part *parts,
		     size_t n_parts, const struct gp_op_use *uses, size_t n_uses,
		     const struct gp_assign_domain *doms, size_t n_doms,
		     const struct gp_assign_req *req, bool unassign, struct gp_op_assign **out)
{
	struct gp_op_assign *op = calloc(1, sizeof(*op));
	int r;

	*out = NULL;
	if (!op)
		return -ENOMEM;
	if (unassign)
		r = n_doms == 1 ? unassign_new(op, parts, n_parts, uses, n_uses, doms, req) :
				  -EINVAL;
	else
		r = assign_new(ctx, op, host, parts, n_parts, uses, n_uses, doms, n_doms, req);
	if (r < 0) {
		gp_op_assign_free(op);
		return r;
	}
	*out = op;
	return 0;
}

/* "pci ADDR" or "mdev UUID": what the domain kind and virt/domain.c take. */
static char *part_word(const struct gp_part *p)
{
	char *s;

	return asprintf(&s, "%s %s", p->mdev_uuid ? "mdev" : "pci", p->device) < 0 ? NULL : s;
}

static int resv_change(struct gp_ctx *ctx, struct gp_txn *txn, const struct gp_assign_item *it,
		       const struct gp_assign_domain *d, bool release)
{
	struct gp_resv want = { .domain = (char *)d->name, .partition = it->part->id };
	struct gp_change *c;
	int r;

	snprintf(want.device, sizeof(want.device), "%s", it->part->device);
	for (r = 0; want.device[r]; r++)
		want.device[r] = (char)tolower((unsigned char)want.device[r]);
	snprintf(want.uuid, sizeof(want.uuid), "%s", d->uuid ? d->uuid : "");
	snprintf(want.gpu, sizeof(want.gpu), "%s", it->part->gpu->address);
	r = gp_resv_change_new(ctx, want.device, release ? NULL : &want, &c);
	return r < 0 ? r : gp_txn_add(txn, c);
}

/* long: the two orders (assign: records first; unassign: the domain first) in one place */
int gp_op_assign_run(struct gp_ctx *ctx, const struct gp_op_assign *op, size_t d,
		     const struct gp_assign_domain *doms, const char *uri, bool unassign,
		     bool restart, int shutdown_ms, const char *cmd)
{
	struct gp_domain_want w = { .uri = uri, .name = doms[d].name, .detach = unassign,
				    .restart = restart, .shutdown_ms = shutdown_ms };
	struct gp_txn txn = { 0 };
	struct gp_change *c;
	char **parts = NULL;
	size_t n = 0, i;
	int r = 0;

	for (i = 0; r >= 0 && i < op->n_items; i++) {
		const struct gp_assign_item *it = &op->items[i];
		char *s;

		if (it->domain != d || (unassign && !it->named))
			continue;
		s = part_word(it->part);
		r = s ? gp_strv_push(&parts, &n, s) : -ENOMEM;
	}
	w.parts = (const char *const *)parts;
	w.n_parts = n;
	/* a record before the hostdev, and gone after it: never a hostdev no record holds */
	for (i = 0; !unassign && r >= 0 && i < op->n_items; i++)
		if (op->items[i].domain == d)
			r = resv_change(ctx, &txn, &op->items[i], &doms[d], false);
	if (r >= 0 && n) {
		r = gp_domain_change_new(ctx, &w, &c);
		if (r >= 0)
			r = gp_txn_add(&txn, c);
	}
	for (i = 0; unassign && r >= 0 && i < op->n_items; i++)
		if (op->items[i].domain == d && op->items[i].release)
			r = resv_change(ctx, &txn, &op->items[i], &doms[d], true);
	if (r >= 0)
		r = gp_txn_run(ctx, &txn, cmd);
	gp_txn_clear(&txn);
	gp_strv_free(parts, n);
	return r;
}
