/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's qemu hook (gpupart/hook.h). Each operation first looks at what the domain names
 * without the lock (most starts need nothing: the partition is there and the record is the
 * domain's), and only then takes the host lock, reads everything again under it and acts:
 * a lost partition or DDA binding is recreated by apply's own operation restricted to that
 * GPU (journaled, verified, unwound on failure), reservation records are one transaction of
 * the resv kind. libvirt is never called (docs/hooks.rst): the domain is the XML given.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/adapters.h>
#include <gpupart/dismounted.h>
#include <gpupart/hook.h>
#include <gpupart/layout.h>
#include <gpupart/ops.h>
#include <gpupart/plan.h>
#include <gpupart/resv.h>
#include <gpupart/step.h>

#include "base/internal.h"
#include "kinds/resv.h"
#include "model/pci-addr.h"
#include "txn/txn.h"

/* The partitions a GPU may have, at most, for telling its lost mdevs' UUIDs (gpupart makes
 * them from the GPU's identity and the partition id: gp_partition_uuid). */
#define HOOK_MAX_PARTITIONS 64

enum gp_hook_op gp_hook_op_parse(const char *operation, const char *subop)
{
	static const struct {
		const char *op, *sub;
		enum gp_hook_op hook;
	} ops[] = {
		{ "prepare", "begin", GP_HOOK_PREPARE },
		{ "release", "end", GP_HOOK_RELEASE },
		{ "migrate", "begin", GP_HOOK_MIGRATE },
		{ "reconnect", "begin", GP_HOOK_RECONNECT },
	};
	size_t i;

	for (i = 0; operation && subop && i < ARRAY_SIZE(ops); i++)
		if (!strcmp(operation, ops[i].op) && !strcmp(subop, ops[i].sub))
			return ops[i].hook;
	return GP_HOOK_OTHER;
}

void gp_hook_result_clear(struct gp_hook_result *res)
{
	gp_findings_clear(&res->findings);
	memset(res, 0, sizeof(*res));
}

/* One device of the domain that is gpupart's. */
struct item {
	const struct gp_hook_dev *dev;
	const struct gp_part *part;   /* the partition it is, NULL: not on the host now */
	struct gp_device *gpu;        /* the GPU it belongs to, NULL unknown */
	const struct gp_resv *resv;   /* its reservation record */
	bool dda;                     /* a function dismounted.conf names */
	bool fix;                     /* its GPU must be made as the records say (apply) */
};

/* What the host says of the domain's devices. */
struct state {
	struct gp_resv *resv;
	size_t n_resv;
	struct gp_layout layout;
	struct gp_dda_record dda;
	struct gp_host *host;
	struct gp_part *parts;
	size_t n_parts;
	struct gp_device **layout_gpus; /* the GPUs partitions.conf names that are here */
	int *layout_counts;             /* and the count it records for each */
	size_t n_layout_gpus;
	struct item *items;
	size_t n_items;
};

static void state_clear(struct state *s)
{
	gp_resvs_free(s->resv, s->n_resv);
	gp_layout_clear(&s->layout);
	gp_dda_record_clear(&s->dda);
	free(s->parts);
	free(s->layout_gpus);
	free(s->layout_counts);
	free(s->items);
	gp_host_free(s->host);
	memset(s, 0, sizeof(*s));
}

#define add(res, ...) gp_findings_add(&(res)->findings, __VA_ARGS__)

static bool refused(const struct gp_hook_result *res)
{
	size_t i;

	for (i = 0; i < res->findings.n; i++)
		if (res->findings.v[i].severity == GP_SEV_ERROR)
			return true;
	return false;
}

static int push_target(struct gp_pci_addr **v, size_t *n, const char *addr)
{
	struct gp_pci_addr a, *slot;
	size_t i;

	if (!*addr || gp_pci_addr_parse(addr, &a) < 0)
		return 0;
	for (i = 0; i < *n; i++)
		if (!gp_pci_addr_cmp(&(*v)[i], &a))
			return 0;
	slot = GP_PUSH(*v, *n);
	if (!slot)
		return -ENOMEM;
	*slot = a;
	return 0;
}

/* The dismounted.conf line of the GPU that line @e went with. */
static const struct gp_dda_entry *dda_gpu_line(const struct gp_dda_record *r,
					       const struct gp_dda_entry *e)
{
	return gp_dda_record_find(r, e->gpu_path);
}

/* The GPUs to read: those the domain's devices belong to, by sysfs links, their records and
 * dismounted.conf's last-seen addresses; every GPU the records name when a device is not on
 * the host (a partition lost with a reboot: which GPU made it is told after the scan). */
static int targets_of(struct gp_ctx *ctx, const struct gp_hook_domain *d, const struct state *s,
		      struct gp_pci_addr **v, size_t *n)
{
	bool lost = false;
	size_t i, k;
	int r = 0;

	for (i = 0; r == 0 && i < d->n_devs; i++) {
		const char *dev = d->devs[i].device;
		const struct gp_resv *rv = gp_resv_find(s->resv, s->n_resv, dev);
		char gpu[GP_ADDR_LEN];

		if (gp_device_gpu_of(ctx, dev, gpu) == 0)
			r = push_target(v, n, gpu);
		else
			lost = true;
		if (r == 0 && rv)
			r = push_target(v, n, rv->gpu);
		for (k = 0; r == 0 && k < s->dda.n; k++) {
			const struct gp_dda_entry *g = dda_gpu_line(&s->dda, &s->dda.v[k]);

			if (!strcasecmp(s->dda.v[k].address, dev) && g)
				r = push_target(v, n, g->address);
		}
	}
	for (i = 0; r == 0 && lost && i < s->layout.n; i++)
		r = push_target(v, n, s->layout.v[i].address);
	for (i = 0; r == 0 && lost && i < s->dda.n; i++)
		r = push_target(v, n, s->dda.v[i].address);
	return r;
}

/* The layout GPU that made (or would make) lost device @dev, or NULL. */
static struct gp_device *maker_of(const struct state *s, const char *dev)
{
	size_t i;
	int k;

	/* only the partitions its recorded count makes: apply makes VFs 0..count-1 (or mdevs
	 * of ids 0..count-1), never a device beyond them */
	for (i = 0; i < s->n_layout_gpus; i++) {
		struct gp_device *g = s->layout_gpus[i];
		int count = s->layout_counts[i];
		char path[128], vf[GP_ADDR_LEN];

		if (count > HOOK_MAX_PARTITIONS)
			count = HOOK_MAX_PARTITIONS;
		if (strlen(dev) == 36) {
			if (gp_device_path_id(g, path, sizeof(path)) == 0 &&
			    gp_partition_uuid_id(path, g, dev, count) >= 0)
				return g;
			continue;
		}
		for (k = 0; k < g->sriov_total_vfs && k < count; k++)
			if (gp_vf_addr_at(g, k, vf) == 0 && !strcasecmp(vf, dev))
				return g;
	}
	return NULL;
}

static bool in_layout(const struct state *s, const struct gp_device *g)
{
	size_t i;

	for (i = 0; i < s->n_layout_gpus; i++)
		if (s->layout_gpus[i] == g)
			return true;
	return false;
}

/* The function dismounted.conf names at @dev, and its GPU: true with *gpu. */
static bool dismounted_fn(const struct state *s, const char *dev, struct gp_device **gpu)
{
	size_t k;

	for (k = 0; k < s->dda.n; k++) {
		const struct gp_dda_entry *e = &s->dda.v[k], *g = dda_gpu_line(&s->dda, e);
		struct gp_device *fn = NULL;

		*gpu = NULL;
		if (!g || gp_dda_entry_match(s->host, e, &fn) < 0 || strcasecmp(fn->address, dev))
			continue;
		if (gp_dda_entry_match(s->host, g, gpu) < 0)
			*gpu = NULL;
		return true;
	}
	return false;
}

/* One device: whether it is gpupart's, what it is and whether its GPU needs apply. */
static int assess_dev(const struct gp_hook_domain *d, struct state *s, size_t i)
{
	const struct gp_hook_dev *hd = &d->devs[i];
	struct item it = { .dev = hd }, *slot;
	const char *dev = hd->device;
	size_t k;

	it.resv = gp_resv_find(s->resv, s->n_resv, dev);
	for (k = 0; k < s->n_parts && !it.part; k++)
		if (!strcasecmp(s->parts[k].device, dev))
			it.part = &s->parts[k];
	if (it.part) {
		it.gpu = gp_host_find(s->host, &it.part->gpu->addr);
		if (!hd->gpupart && !it.resv && !in_layout(s, it.gpu))
			return 0; /* a VF gpupart never partitioned (an SR-IOV NIC's): not ours */
		it.fix = it.part->not_ready && in_layout(s, it.gpu);
	} else if (dismounted_fn(s, dev, &it.gpu)) {
		it.dda = true;
		it.fix = !it.gpu || !gp_policy_dda_dismounted(s->host, it.gpu);
	} else if ((it.gpu = maker_of(s, dev))) {
		it.fix = true; /* lost: apply makes it again */
	} else if (!hd->gpupart && !it.resv) {
		return 0; /* nobody's partition: not ours */
	}
	slot = GP_PUSH(s->items, s->n_items);
	if (!slot)
		return -ENOMEM;
	*slot = it;
	return 0;
}

/* Reads what @d's devices need, without the lock or under it (the caller says which). */
static int assess(struct gp_ctx *ctx, const struct gp_hook_domain *d, struct state *s,
		  struct gp_hook_result *res)
{
	struct gp_pci_addr *targets = NULL;
	size_t n_targets = 0, i;
	int r;

	if (gp_resv_read_all(ctx, &s->resv, &s->n_resv) < 0)
		return add(res, "hook-records-unreadable", GP_SEV_ERROR,
			   "the reservation records cannot be read (see above): refusing");
	if (gp_layout_read(ctx, &s->layout) < 0 || gp_dda_record_read(ctx, &s->dda) < 0)
		return add(res, "hook-records-unreadable", GP_SEV_ERROR,
			   "partitions.conf or dismounted.conf cannot be read (see above): "
			   "refusing");
	r = targets_of(ctx, d, s, &targets, &n_targets);
	if (r == 0 && n_targets)
		r = gp_host_scan(ctx, GP_SCAN_ANY_CLASS | GP_SCAN_TARGETS_OPTIONAL, targets,
				 n_targets, &s->host);
	free(targets);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return add(res, "hook-scan-failed", GP_SEV_ERROR,
			   "the host's devices cannot be read: %s", strerror(-r));
	if (!s->host) {
		/* no GPU to read: a device assign's alias or a record names is then lost, and
		 * nothing recorded makes it again (any other device is nobody's partition) */
		for (i = 0; i < d->n_devs; i++) {
			const struct gp_resv *rv = gp_resv_find(s->resv, s->n_resv,
								d->devs[i].device);
			struct item *slot;

			if (!d->devs[i].gpupart && !rv)
				continue;
			slot = GP_PUSH(s->items, s->n_items);
			if (!slot)
				return -ENOMEM;
			*slot = (struct item){ .dev = &d->devs[i], .resv = rv };
		}
		return 0;
	}
	for (i = 0; i < s->layout.n; i++) {
		struct gp_device *g = NULL, **slot;

		int *count;
		size_t n;

		if (gp_layout_match(s->host, &s->layout.v[i], &g) < 0 || !g->full)
			continue;
		n = s->n_layout_gpus;
		count = GP_PUSH(s->layout_counts, n);
		slot = count ? GP_PUSH(s->layout_gpus, s->n_layout_gpus) : NULL;
		if (!slot)
			return -ENOMEM;
		*slot = g;
		*count = s->layout.v[i].count;
	}
	r = gp_parts_build(s->host, true, s->resv, s->n_resv, NULL, 0, &s->parts, &s->n_parts);
	for (i = 0; r == 0 && i < d->n_devs; i++)
		r = assess_dev(d, s, i);
	return r;
}

static bool owned(const struct gp_hook_domain *d, const struct gp_resv *rv)
{
	return rv && *d->uuid && !strcasecmp(rv->uuid, d->uuid);
}

/* Another domain's record on one of the domain's partitions: the start is refused. */
static int check_records(const struct gp_hook_domain *d, const struct state *s,
			 struct gp_hook_result *res, const char *code, enum gp_severity sev)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < s->n_items; i++) {
		const struct item *it = &s->items[i];

		if (!it->resv || owned(d, it->resv))
			continue;
		r = add(res, code, sev,
			"%s (partition %d of %s) is reserved by domain %s (%s): 'gpupart unassign "
			"%s' frees it, or 'gpupart assign %s' gives this domain another",
			it->dev->device, it->resv->partition, it->resv->gpu, it->resv->domain,
			it->resv->uuid, it->resv->domain, d->name);
	}
	return r;
}

/* The partitions that are gone and no record makes again, or not ready and not fixable. */
static int check_ready(const struct state *s, struct gp_hook_result *res, bool after_fix)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < s->n_items; i++) {
		const struct item *it = &s->items[i];

		if (it->dda && (after_fix || !it->gpu) && it->fix)
			r = add(res, "hook-dda-not-ready", GP_SEV_ERROR,
				"%s is dismounted for DDA (dismounted.conf) but %s: 'gpupart apply' "
				"or 'gpupart dismount' puts it on vfio-pci",
				it->dev->device, it->gpu ? "is not on vfio-pci" : "is not on the host");
		else if (!it->dda && !it->part && (after_fix || !it->gpu))
			r = add(res, "hook-partition-lost", GP_SEV_ERROR,
				"%s is none of the host's partitions (gone, or never made), and "
				"partitions.conf makes none of that name: 'gpupart apply' recreates "
				"a recorded layout; 'gpupart unassign' and 'gpupart assign' give the "
				"domain a partition that is there",
				it->dev->device);
		else if (it->part && it->part->not_ready && (after_fix || !it->fix))
			r = add(res, "hook-partition-not-ready", GP_SEV_ERROR, "%s: %s",
				it->dev->device, it->part->not_ready);
	}
	return r;
}

/* The reservation records the domain lacks (@take) or holds (@release) as one transaction. */
static int run_records(struct gp_ctx *ctx, const struct gp_hook_domain *d, const struct state *s,
		       bool release, const char *cmd, struct gp_hook_result *res)
{
	struct gp_txn txn = { 0 };
	struct gp_change *c;
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && !release && i < s->n_items; i++) {
		const struct item *it = &s->items[i];
		struct gp_resv want = { .partition = it->part ? it->part->id : -1 };

		if (!it->part || it->resv || !*d->uuid)
			continue;
		snprintf(want.device, sizeof(want.device), "%s", it->part->device);
		snprintf(want.uuid, sizeof(want.uuid), "%s", d->uuid);
		snprintf(want.gpu, sizeof(want.gpu), "%s", it->part->gpu->address);
		want.domain = (char *)d->name;
		r = gp_resv_change_new(ctx, want.device, &want, &c);
		if (r == 0)
			r = gp_txn_add(&txn, c);
	}
	for (i = 0; r == 0 && release && i < s->n_resv; i++) {
		if (!owned(d, &s->resv[i]))
			continue;
		r = gp_resv_change_new(ctx, s->resv[i].device, NULL, &c);
		if (r == 0)
			r = gp_txn_add(&txn, c);
	}
	if (r == 0 && !gp_txn_empty(&txn)) {
		r = gp_txn_run(ctx, &txn, cmd);
		res->wrote = true;
	}
	gp_txn_clear(&txn);
	if (r < 0 && r != -ENOMEM)
		r = add(res, "hook-records-failed", GP_SEV_ERROR,
			"the reservation records could not be %s: %s", release ? "removed" :
			"written", strerror(-r));
	return r;
}

/* The GPUs whose partitions (or DDA binding) apply must make again. */
static int fix_gpus(const struct state *s, const struct gp_device ***out, size_t *n)
{
	size_t i, k;

	*out = calloc(s->n_items ? s->n_items : 1, sizeof(**out));
	*n = 0;
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < s->n_items; i++) {
		if (!s->items[i].fix || !s->items[i].gpu)
			continue;
		for (k = 0; k < *n && (*out)[k] != s->items[i].gpu; k++)
			;
		if (k == *n)
			(*out)[(*n)++] = s->items[i].gpu;
	}
	return 0;
}

/* Copies @op's errors into the hook's findings under @code. */
static int copy_refusals(const struct gp_findings *f, struct gp_hook_result *res, const char *code)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < f->n; i++)
		if (f->v[i].severity == GP_SEV_ERROR)
			r = add(res, code, GP_SEV_ERROR, "%s (%s)", f->v[i].detail, f->v[i].code);
	return r;
}

/* apply, for the GPUs of the domain's devices only, with this domain's records its own. */
static int recreate(struct gp_ctx *ctx, const struct gp_hook_domain *d, struct state *s,
		    const char *cmd, struct gp_hook_result *res)
{
	const struct gp_virt_answer answer = { .kind = GP_VIRT_SKIPPED };
	const struct gp_device **gpus = NULL;
	struct gp_op *op = NULL;
	size_t n, i;
	int r = fix_gpus(s, &gpus, &n);

	if (r == 0 && n)
		r = gp_op_apply_some_new(ctx, s->host, &s->layout, gpus, n, 0, &op);
	for (i = 0; r == 0 && op && i < s->n_resv; i++)
		if (owned(d, &s->resv[i]))
			r = gp_op_guard_exempt(op, s->resv[i].device);
	if (r == 0 && op && gp_op_verdict(op) == GP_OP_GO)
		r = gp_op_guard(ctx, op, &answer);
	if (r == 0 && op && gp_op_verdict(op) != GP_OP_GO)
		r = copy_refusals(gp_op_findings(op), res, "hook-recreate-refused");
	else if (r == 0 && op && gp_op_changes(op)) {
		r = gp_op_run(ctx, op, cmd);
		res->wrote = true;
		res->recreated = r == 0;
		if (r < 0 && r != -ENOMEM)
			r = add(res, "hook-recreate-failed", GP_SEV_ERROR,
				"recreating the domain's partitions failed (%s): %s", strerror(-r),
				r == GP_APPLY_STUCK ? "a device is stuck; 'gpupart repair' later" :
						      "the host was put back as it was");
	}
	gp_op_free(op);
	free(gpus);
	return r;
}

/* A pending journal: undone first when it needs no libvirt, else the hook will not act. */
static int settle_journal(struct gp_ctx *ctx, struct gp_hook_result *res)
{
	int r = gp_journal_needs_libvirt(ctx);

	if (r == 2)
		return add(res, "hook-journal-needs-libvirt", GP_SEV_ERROR,
			   "an interrupted change that edited a domain is pending: the hook cannot "
			   "undo it without libvirt; run 'gpupart repair' first");
	if (r < 0)
		return add(res, "hook-journal-unreadable", GP_SEV_ERROR,
			   "the journal of an interrupted change cannot be read (see above): "
			   "'gpupart repair' says more");
	/* no journal, or one without a domain edit: undone first, as every changing command
	 * does; that also refuses while a kernel write of an earlier gpupart is in flight (its
	 * write would land after ours: txn/run.c, journal_open) */
	r = gp_journal_recover(ctx);
	if (r == GP_APPLY_STUCK)
		return add(res, "hook-write-stuck", GP_SEV_ERROR,
			   "a kernel write of an earlier gpupart is still blocked: nothing is touched "
			   "until it returns ('gpupart repair' then)");
	if (r < 0)
		return add(res, "hook-journal-unreadable", GP_SEV_ERROR,
			   "an interrupted change could not be undone (see above): 'gpupart "
			   "repair'");
	return 0;
}

static bool needs_write(const struct gp_hook_domain *d, const struct state *s, bool take)
{
	size_t i;

	for (i = 0; i < s->n_items; i++)
		if (s->items[i].fix || (take && s->items[i].part && !s->items[i].resv && *d->uuid))
			return true;
	return false;
}

static int prepare(struct gp_ctx *ctx, const struct gp_hook_domain *d, int lock_ms,
		   struct gp_hook_result *res)
{
	struct state s = { 0 };
	char cmd[256];
	int lock = -1, r;

	snprintf(cmd, sizeof(cmd), "hook qemu %s prepare begin", d->name);
	/* without the lock, the common case: everything is right, nothing is written */
	r = assess(ctx, d, &s, res);
	if (r == 0 && !refused(res))
		r = check_records(d, &s, res, "hook-reserved", GP_SEV_ERROR);
	if (r == 0 && !refused(res))
		r = check_ready(&s, res, false);
	/* a pending journal (an interrupted assign's record, say) is no state to trust, for a
	 * domain that names something of gpupart's */
	if (r < 0 || (!refused(res) && !needs_write(d, &s, true) &&
		      (!s.n_items || !gp_journal_pending(ctx))))
		goto out;
	/* anything else is decided under the lock: what was read without it may have been
	 * another hook's change half made (a record being given back, a VF being created) */
	lock = gp_lock_take(ctx, lock_ms);
	if (lock < 0) {
		/* the reason found without the lock stands; else the lock is the reason */
		if (!refused(res))
			r = add(res, "hook-lock-busy", GP_SEV_ERROR,
				"the host lock is held (another gpupart command runs): the start is "
				"refused rather than kept waiting; start the domain again");
		goto out;
	}
	gp_findings_clear(&res->findings);
	r = settle_journal(ctx, res);
	if (r < 0 || refused(res))
		goto out;
	/* everything again, under the lock */
	state_clear(&s);
	r = assess(ctx, d, &s, res);
	if (r == 0 && !refused(res))
		r = check_records(d, &s, res, "hook-reserved", GP_SEV_ERROR);
	if (r == 0 && !refused(res))
		r = check_ready(&s, res, false);
	if (r == 0 && !refused(res) && needs_write(d, &s, false)) {
		r = recreate(ctx, d, &s, cmd, res);
		if (r == 0 && !refused(res)) {
			state_clear(&s);
			r = assess(ctx, d, &s, res);
		}
		if (r == 0 && !refused(res))
			r = check_ready(&s, res, true);
	}
	if (r == 0 && !refused(res))
		r = run_records(ctx, d, &s, false, cmd, res);
out:
	gp_lock_release(ctx, lock);
	state_clear(&s);
	return r;
}

/* release and reconnect: the records only, never a refusal. */
static int records_only(struct gp_ctx *ctx, const struct gp_hook_domain *d, bool release,
			int lock_ms, struct gp_hook_result *res)
{
	struct state s = { 0 };
	char cmd[256];
	size_t i;
	int lock = -1, r, jr;
	bool any = false;

	snprintf(cmd, sizeof(cmd), "hook qemu %s %s", d->name,
		 release ? "release end" : "reconnect begin");
	if (!*d->uuid)
		return 0;
	r = release ? gp_resv_read_all(ctx, &s.resv, &s.n_resv) : assess(ctx, d, &s, res);
	for (i = 0; r == 0 && release && i < s.n_resv; i++)
		any |= owned(d, &s.resv[i]);
	if (r == 0 && !release)
		r = check_records(d, &s, res, "hook-reserved", GP_SEV_WARNING);
	if (r < 0 || refused(res) || (release ? !any : !needs_write(d, &s, true)))
		goto out;
	lock = gp_lock_take(ctx, lock_ms);
	jr = lock < 0 ? 0 : gp_journal_needs_libvirt(ctx);
	if (lock >= 0 && jr == 0 && gp_journal_recover(ctx) != 0)
		jr = 1; /* a kernel write still in flight (or a journal after all) */
	if (lock < 0 || jr != 0) {
		r = add(res, "hook-records-kept", GP_SEV_WARNING,
			"the reservation records were left as they are (%s)",
			lock < 0 ? "the host lock is held" :
				   "an interrupted change is pending: 'gpupart repair'");
		goto out;
	}
	state_clear(&s);
	r = release ? gp_resv_read_all(ctx, &s.resv, &s.n_resv) : assess(ctx, d, &s, res);
	if (r == 0 && !refused(res))
		r = run_records(ctx, d, &s, release, cmd, res);
out:
	gp_lock_release(ctx, lock);
	state_clear(&s);
	return r;
}

/* migrate begin, on the destination: read only. */
static int migrate(struct gp_ctx *ctx, const struct gp_hook_domain *d, struct gp_hook_result *res)
{
	struct state s = { 0 };
	size_t i, free_parts = 0;
	int r = assess(ctx, d, &s, res);

	for (i = 0; r == 0 && i < s.n_parts; i++)
		free_parts += !s.parts[i].resv && !s.parts[i].not_ready;
	if (r == 0 && d->dda_recorded)
		r = add(res, "migrate-dda", GP_SEV_ERROR,
			"%s has a whole GPU (Discrete Device Assignment): no live migration with "
			"DDA; shut it down and move it, or 'gpupart detach' first", d->name);
	for (i = 0; r == 0 && i < s.n_items && !refused(res); i++) {
		const struct item *it = &s.items[i];

		if (it->dda)
			r = add(res, "migrate-dda", GP_SEV_ERROR,
				"%s names %s, a GPU dismounted for DDA here: no live migration with "
				"DDA", d->name, it->dev->device);
		else if (!it->part)
			r = add(res, "migrate-no-partition", GP_SEV_ERROR,
				"%s is not a partition on this host (%zu free on the GPUs read): "
				"migrate with an XML naming a free one of the same type ('gpupart "
				"list')",
				it->dev->device, free_parts);
		else if (it->part->not_ready)
			r = add(res, "migrate-no-partition", GP_SEV_ERROR, "%s: %s",
				it->dev->device, it->part->not_ready);
	}
	if (r == 0 && !refused(res))
		r = check_records(d, &s, res, "migrate-partition-reserved", GP_SEV_ERROR);
	state_clear(&s);
	return r;
}

int gp_hook_run(struct gp_ctx *ctx, enum gp_hook_op op, const struct gp_hook_domain *d,
		int lock_timeout_ms, struct gp_hook_result *res)
{
	int r = 0;

	memset(res, 0, sizeof(*res));
	if (!d->n_devs && !(op == GP_HOOK_MIGRATE && d->dda_recorded) &&
	    op != GP_HOOK_RELEASE)
		return 0; /* nothing named: nothing read, nothing written */
	switch (op) {
	case GP_HOOK_PREPARE:
		r = prepare(ctx, d, lock_timeout_ms, res);
		break;
	case GP_HOOK_RELEASE:
		r = records_only(ctx, d, true, lock_timeout_ms, res);
		break;
	case GP_HOOK_RECONNECT:
		r = records_only(ctx, d, false, lock_timeout_ms, res);
		break;
	case GP_HOOK_MIGRATE:
		r = migrate(ctx, d, res);
		break;
	case GP_HOOK_OTHER:
		break;
	}
	/* a failure that made no finding of its own still says something */
	if (r < 0 && r != -ENOMEM && !refused(res))
		r = add(res, "hook-failed", GP_SEV_ERROR, "%s", strerror(-r));
	return r == -ENOMEM ? r : 0;
}
