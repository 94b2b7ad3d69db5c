/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * set-count and apply as one operation: what the model refuses (the GPU as a whole, the count,
 * the physical function's driver), each GPU's change and plan, and running them with the
 * layout. The refusals the host's users make are in guard-users.c. Never prints: refusals are
 * findings (codes in gpupart(8), REFUSALS), failures are findings too.
 *
 * Each GPU's change is a change of the gpu kind (kinds/gpu.h) in the operation's transaction
 * (txn/txn.h); running adds the layout's (kinds/layout.h) as the last one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/internal.h"
#include "guard/guard.h"
#include "kinds/catalogue.h"
#include "kinds/gpu.h"
#include "kinds/layout.h"
#include "ops/op.h"

static int op_vadd(struct gp_op *op, size_t gpu, const char *code, enum gp_severity sev,
		   bool refuses, const char *fmt, va_list ap)
{
	struct gp_finding *f;
	size_t *g, n = op->findings.n;
	char *detail;

	if (vasprintf(&detail, fmt, ap) < 0)
		return -ENOMEM;
	g = realloc(op->finding_gpu, (n + 1) * sizeof(*g));
	if (g)
		op->finding_gpu = g;
	f = g ? GP_PUSH(op->findings.v, op->findings.n) : NULL;
	if (!f) {
		free(detail);
		return -ENOMEM;
	}
	f->code = code;
	f->severity = sev;
	f->detail = detail;
	op->finding_gpu[n] = gpu;
	if (sev == GP_SEV_ERROR && refuses) {
		/* the first refusal decides the exit status: the checks stop there */
		if (!op->refused)
			op->usage = gp_op_code_is_usage(code);
		op->refused = true;
	}
	return 0;
}

int gp_op_add(struct gp_op *op, size_t gpu, const char *code, enum gp_severity sev,
	      const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = op_vadd(op, gpu, code, sev, true, fmt, ap);
	va_end(ap);
	return r;
}

int gp_op_skip(struct gp_op *op, const char *code, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = op_vadd(op, GP_OP_NO_GPU, code, GP_SEV_ERROR, false, fmt, ap);
	va_end(ap);
	op->skipped++;
	return r;
}

bool gp_op_code_is_usage(const char *code)
{
	return strcmp(code, "invalid-count") == 0 || strcmp(code, "no-vgpu-type") == 0;
}

bool gp_op_runs_sriov_manage(const struct gp_op *op, size_t i)
{
	return i < op->n && op->change[i] && gp_gpu_change_runs_sriov_manage(op->change[i]);
}

/* ---- the model's refusals ---- */

/* The count is one the GPU offers; else the refusal lists those it does. */
static int check_count(struct gp_op *op, size_t i)
{
	const struct gp_gpu_view *v = &op->gpus[i].view;
	const struct gp_device *d = v->dev;
	int count = op->gpus[i].count;
	char list[512] = "";
	size_t k, len = 0;

	if (count == 0 || gp_policy_count_in_force(v, count))
		return 0; /* removing them all, or the count in force: nothing to check */
	if (v->vgpu_mode == GP_VGPU_MODE_MIXED)
		return gp_op_add(op, i, "mixed-size-mode", GP_SEV_ERROR,
				 "%s is in mixed-size vGPU mode (vGPUs of different framebuffer "
				 "sizes may share it): partition counts are equal sizes and do not "
				 "apply; remove its vGPUs (set-count %s 0) and return it to "
				 "equal-size mode (nvidia-smi vgpu -shm 0) to partition it by count",
				 d->address, d->address);
	if (!v->n_valid_counts && d->sriov_num_vfs == 0 && d->sriov_total_vfs >= count &&
	    (v->backend == GP_BACKEND_NVIDIA_VFIO || v->backend == GP_BACKEND_NVIDIA_MDEV))
		/* NVIDIA lists its types on VFs only: the count is checked once they exist,
		 * and a count no type has is undone with them */
		return gp_op_add(op, i, "count-checked-later", GP_SEV_WARNING,
				 "%s: the driver lists its vGPU types only once VFs are enabled; "
				 "%d is checked after enabling them",
				 d->address, count);
	for (k = 0; k < v->n_valid_counts; k++)
		if (v->valid_counts[k] == count)
			return 0;
	for (k = 0; k < v->n_valid_counts && len < sizeof(list) - 16; k++)
		len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d", k ? ", " : "",
					v->valid_counts[k]);
	return gp_op_add(op, i, "invalid-count", GP_SEV_ERROR,
			 "%d is not a valid partition count for %s; valid counts: %s%s0%s", count,
			 d->address, list, *list ? ", " : "",
			 d->catalogue_source == GP_CATALOGUE_SYSFS && v->n_partitions ?
				 " (the driver's creatable lists name only the types that still "
				 "fit while partitions are in force: set 0 first)" :
				 "");
}

/*
 * MIG mode: a MIG-backed vGPU lives on a GPU instance the admin creates, which gpupart does not
 * (policy/mig.c). None there: say the missing step, in NVIDIA's order (cubecos, on RTX Pro
 * 6000 hardware: MIG mode on, sriov-manage -e, then the instances, then the vGPU types; the
 * vGPU user guide's "Configuring a GPU for MIG-Backed vGPUs" likewise).
 */
static int check_mig(struct gp_op *op, size_t i)
{
	const struct gp_gpu_view *v = &op->gpus[i].view;
	const struct gp_device *d = v->dev;

	if (v->vgpu_mode != GP_VGPU_MODE_MIG || op->gpus[i].count == 0 || d->n_gpu_instances != 0)
		return 0;
	if (d->n_vfs == 0)
		return gp_op_add(op, i, "mig-no-gpu-instances", GP_SEV_ERROR,
				 "%s is in MIG mode with no GPU instance: MIG-backed vGPUs live on "
				 "GPU instances. Enable its VFs first (/usr/lib/nvidia/sriov-manage "
				 "-e %s: it would destroy instances made before), create the "
				 "instances (nvidia-smi mig -i %s -cgi PROFILES -C), then set the "
				 "count",
				 d->address, d->address, d->address);
	return gp_op_add(op, i, "mig-no-gpu-instances", GP_SEV_ERROR,
			 "%s is in MIG mode with no GPU instance: MIG-backed vGPUs live on GPU "
			 "instances. Create them first (nvidia-smi mig -i %s -cgi PROFILES -C), "
			 "then set the count",
			 d->address, d->address);
}

/* The GPU as a whole: handed to a VM whole, or not partitionable here. */
static int check_gpu(struct gp_op *op, size_t i)
{
	const struct gp_gpu_view *v = &op->gpus[i].view;
	const struct gp_device *d = v->dev;

	if (gp_policy_is_vfio_driver(d->driver))
		return gp_op_add(op, i, "dismounted-for-dda", GP_SEV_ERROR,
				 "%s is dismounted for DDA (bound whole to %s): a GPU is either "
				 "handed whole to a VM or partitioned, never both",
				 d->address, d->driver);
	if (v->status != GP_STATUS_PARTITIONED)
		return gp_op_add(op, i, "not-partitionable", GP_SEV_ERROR,
				 "%s cannot be partitioned on this host (status %s); see `gpupart "
				 "survey %s`",
				 d->address, gp_status_str(v->status), d->address);
	if (check_mig(op, i) < 0)
		return -ENOMEM;
	return op->refused ? 0 : check_count(op, i);
}

/* The kernel changes VF counts only through the PF's driver's sriov_configure
 * (drivers/pci/iov.c, sriov_numvfs_store: -ENOENT without a driver, -ENOENT when the driver
 * has no sriov_configure). */
static int check_pf_driver(struct gp_op *op, size_t i)
{
	const struct gp_device *d = op->gpus[i].view.dev;

	if (!op->change[i] || !gp_gpu_change_sets_vf_count(op->change[i]))
		return 0;
	if (!d->driver)
		return gp_op_add(op, i, "pf-no-driver", GP_SEV_ERROR,
				 "%s has no driver: the kernel changes VF counts only through the "
				 "physical function's driver (sriov_numvfs would fail with ENOENT)",
				 d->address);
	if (strcmp(d->driver, "nvidia") == 0)
		return gp_op_add(op, i, "nvidia-no-sriov-configure", GP_SEV_ERROR,
				 "%s is on nvidia without NVIDIA's vGPU manager: nvidia has no "
				 "sriov_configure, so its VFs cannot be enabled here",
				 d->address);
	return 0;
}

/* "pci=realloc" among the kernel's pci= options (comma-separated, any pci= word). */
static bool cmdline_pci_realloc(const char *cmdline)
{
	const char *p = cmdline;

	while (p && (p = strstr(p, "pci=")) != NULL) {
		const char *opt = p + 4, *end = opt + strcspn(opt, " \t\n");

		if (p == cmdline || p[-1] == ' ' || p[-1] == '\t') {
			while (opt < end) {
				size_t n = strcspn(opt, ",");

				if (opt + n > end)
					n = (size_t)(end - opt);
				if ((n == 7 && strncmp(opt, "realloc", 7) == 0) ||
				    (n == 10 && strncmp(opt, "realloc=on", 10) == 0))
					return true;
				opt += n + (opt[n] == ',');
			}
		}
		p = end;
	}
	return false;
}

static bool has_bar(const struct gp_device *d, int index)
{
	size_t k;

	for (k = 0; k < d->n_bars; k++)
		if (d->bars[k].index == index)
			return true;
	return false;
}

/*
 * Before the first VF is enabled: VF BARs the capability declares that the firmware left
 * without an address. The kernel drops such a resource (`resource` lines 7-12 read zero) and
 * sriov_enable() then fails every VF count with "not enough MMIO resources for SR-IOV"
 * (drivers/pci/iov.c: the assigned VF BARs are fewer than sriov_init() sized). A 32-bit VF
 * BAR left at address 0 reads 0 and cannot be told; NVIDIA's large ones are 64-bit.
 */
static int check_vf_bars(struct gp_op *op, size_t i)
{
	const struct gp_device *d = op->gpus[i].view.dev;
	char list[32] = "";
	size_t len = 0;
	int k, n = 0;

	if (!op->change[i] || !gp_gpu_change_enables_vfs(op->change[i]) || !d->bars_known ||
	    !d->cfg.ext_readable)
		return 0;
	for (k = 0; k < 6; k++)
		if ((d->cfg.sriov_vf_bars & (1u << k)) && !has_bar(d, 7 + k)) {
			len += (size_t)snprintf(list + len, sizeof(list) - len, "%s%d",
						len ? ", " : "", k);
			n++;
		}
	if (!len)
		return 0;
	return gp_op_add(op, i, "vf-bars-unassigned", GP_SEV_ERROR,
			 "%s: the firmware assigned no address to its SR-IOV VF BAR%s %s "
			 "(resource lines 7-12 are zero), so enabling VFs would fail with \"not "
			 "enough MMIO resources for SR-IOV\": %s",
			 d->address, n > 1 ? "s" : "", list,
			 cmdline_pci_realloc(op->host->cmdline) ?
				 "pci=realloc is on the kernel command line already, so the windows "
				 "above it have no room: enable SR-IOV and above-4G decoding (large "
				 "or 64-bit MMIO) in the firmware setup" :
				 "enable SR-IOV and above-4G decoding (large or 64-bit MMIO) in the "
				 "firmware setup, or boot with pci=realloc so that the kernel assigns "
				 "them");
}

/*
 * The target put a partition on a VF that lists no mdev types (kinds/gpu-state.c: -ENXIO):
 * NVIDIA's vGPU manager makes a VF an mdev parent when nvidia probes it, and sriov-manage -e
 * binds every VF to nvidia. The VF's driver does not matter otherwise: one bound to vfio-pci
 * when it registered lists "vfio-pci-NNN" types, and its mdev works (research/real-hosts/01:
 * the vfio-pci-575 mdev is the one nvidia-smi shows and a VM was given).
 */
static int refuse_no_mdev_parent(struct gp_op *op, size_t i)
{
	const struct gp_device *d = op->gpus[i].view.dev, *vf = NULL;
	size_t k;

	for (k = 0; !vf && k < d->n_vfs && k < (size_t)op->gpus[i].count; k++)
		if (!d->vfs[k]->mdev_type_prefix)
			vf = d->vfs[k];
	return gp_op_add(op, i, "vf-not-mdev-parent", GP_SEV_ERROR,
			 "%s: VF %s (%s%s) lists no mdev types, so it cannot carry a partition: "
			 "NVIDIA's vGPU manager registers a VF as an mdev parent when nvidia "
			 "probes it; bind it to nvidia (sriov-manage -d, then -e, binds them all)",
			 d->address, vf ? vf->address : "?", vf && vf->driver ? "bound to " : "",
			 vf && vf->driver ? vf->driver : "no driver");
}

/*
 * sriov-manage takes the driver's unbindLock and rebinds the GPU, which destroys every MIG GPU
 * instance on it (MIG mode itself persists: cubecos's hardware notes, research
 * nvidia-linux.md 4): never over instances someone made, unless --force says so.
 */
static int check_gpu_instances(struct gp_op *op, size_t i)
{
	const struct gp_device *d = op->gpus[i].view.dev;
	bool force = op->flags & GP_OP_FORCE;

	if (!gp_op_runs_sriov_manage(op, i) || d->n_gpu_instances <= 0)
		return 0;
	return gp_op_add(op, i, "destroys-gpu-instances", force ? GP_SEV_WARNING : GP_SEV_ERROR,
			 "%s has %d MIG GPU instance%s, which sriov-manage (run to %s its VFs) "
			 "destroys: %s",
			 d->address, d->n_gpu_instances, d->n_gpu_instances == 1 ? "" : "s",
			 d->n_vfs ? "disable" : "enable",
			 force ? "--force: they will be lost; create them again after" :
				 "refusing; NVIDIA's order is VFs first, then the GPU instances "
				 "(rerun with --force to lose them and create them again after)");
}

/*
 * Plans GPU @i: its state now, the state its count means and the plan between them (the
 * transaction owns the change; the GPU's plan is the change's, borrowed). A plan that cannot
 * be made is a refusal.
 */
static int plan_gpu(struct gp_op *op, size_t i)
{
	struct gp_op_gpu *g = &op->gpus[i];
	const char *addr = g->view.dev->address;
	struct gp_change *c = NULL, *rec = NULL;
	int r;

	/* NVIDIA before its VFs exist: the plan ends with a rescan (-EAGAIN handled inside) */
	r = gp_gpu_change_new(op->ctx, op->host, &g->view, g->count, &c);
	if (r == 0) {
		r = gp_txn_add(&op->txn, c);
		if (r < 0)
			return r; /* -ENOMEM; the transaction freed it */
		/* after it, what it may record of the board once its VFs are enabled */
		r = gp_catalogue_change_new(op->ctx, c, &rec);
		if (r == 0 && rec)
			r = gp_txn_add(&op->txn, rec);
		if (r < 0)
			return r;
	}
	if (r == -ERANGE)
		return gp_op_add(op, i, "no-vgpu-type", GP_SEV_ERROR,
				 "%s: no %c-series vGPU type has %d instances", addr,
				 g->view.series ? g->view.series : '?', g->count);
	if (r == -ENOMEM)
		return r;
	if (r == -ENXIO)
		return refuse_no_mdev_parent(op, i);
	if (r < 0)
		return gp_op_add(op, i, "plan-failed", GP_SEV_ERROR,
				 "%s: cannot plan the change: %s", addr, strerror(-r));
	op->change[i] = c;
	g->plan = *gp_change_plan(c);
	g->planned = true;
	return 0;
}

/* The mdev of GPU @pf (on it or a VF) the scan knows by @uuid, or NULL. */
static const struct gp_mdev *gpu_mdev(const struct gp_device *pf, const char *uuid)
{
	size_t i, k;

	for (k = 0; k < pf->n_mdevs; k++)
		if (strcasecmp(pf->mdevs[k].uuid, uuid) == 0)
			return &pf->mdevs[k];
	for (i = 0; i < pf->n_vfs; i++)
		for (k = 0; k < pf->vfs[i]->n_mdevs; k++)
			if (strcasecmp(pf->vfs[i]->mdevs[k].uuid, uuid) == 0)
				return &pf->vfs[i]->mdevs[k];
	return NULL;
}

/*
 * gpupart removes only the mdevs it made (the GPU's deterministic partition UUIDs,
 * gp_partition_uuid), never one defined in mdevctl (which recreates it at boot: libvirt's
 * nodedev-define goes through mdevctl) nor one someone else made: a VM may be about to get
 * it. A plan that would remove one is refused, one finding per mdev.
 */
static int check_mdev_owners(struct gp_op *op, size_t i)
{
	const struct gp_device *pf = op->gpus[i].view.dev;
	const struct gp_gpu_state *cur = op->change[i]->orig, *want = op->change[i]->want;
	size_t k;
	int r = 0;

	for (k = 0; r == 0 && want && k < cur->n_mdevs; k++) {
		const struct gp_mdev_state *m = &cur->mdevs[k];
		const struct gp_mdev *known = gpu_mdev(pf, m->uuid);

		if (gp_mdev_state_find(want, m) || (known && known->owner == GP_MDEV_OWNER_GPUPART))
			continue;
		if (known && known->owner == GP_MDEV_OWNER_MDEVCTL)
			r = gp_op_add(op, i, "mdev-not-gpupart", GP_SEV_ERROR,
				      "%s: mdev %s on %s is defined by mdevctl (/etc/mdevctl.d/%s/%s): "
				      "gpupart never removes an mdev it did not create; `mdevctl stop "
				      "-u %s` and `mdevctl undefine -u %s` remove it",
				      pf->address, m->uuid, m->parent, m->parent, m->uuid, m->uuid,
				      m->uuid);
		else
			r = gp_op_add(op, i, "mdev-not-gpupart", GP_SEV_ERROR,
				      "%s: mdev %s on %s was not created by gpupart (not one of this "
				      "GPU's partition UUIDs): gpupart never removes it; once no VM "
				      "needs it, `echo 1 > /sys/bus/mdev/devices/%s/remove` does",
				      pf->address, m->uuid, m->parent, m->uuid);
	}
	return r;
}

/* partitions.conf can be read: checked before anything (the layout's change reads it again
 * when the command runs). */
static int read_layout(struct gp_op *op)
{
	struct gp_layout layout = { 0 };
	char where[4096];
	int r = gp_layout_read(op->ctx, &layout);

	gp_layout_clear(&layout);
	if (r == 0)
		return 0;
	/* the library logged the line; the message names the file under the root */
	if (gp_layout_file_path(op->ctx, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "partitions.conf");
	return gp_op_add(op, GP_OP_NO_GPU, "layout-unreadable", GP_SEV_ERROR,
			 "%s cannot be read (see above): fix it, or use --runtime; nothing changed",
			 where);
}

struct gp_op *gp_op_alloc(struct gp_ctx *ctx, struct gp_host *host, unsigned flags)
{
	struct gp_op *op = calloc(1, sizeof(*op));

	if (!op)
		return NULL;
	op->ctx = ctx;
	op->host = host;
	op->flags = flags;
	return op;
}

/* The views, the layout (when recording) and the model's checks of @rq[0..n). */
static int op_build(struct gp_op *op, const struct gp_request *rq, size_t n)
{
	size_t i;
	int r = 0;

	op->n = n;
	op->gpus = calloc(n ? n : 1, sizeof(*op->gpus));
	op->change = calloc(n ? n : 1, sizeof(*op->change));
	if (!op->gpus || !op->change)
		return -ENOMEM;
	for (i = 0; r == 0 && i < n; i++) {
		op->gpus[i].count = rq[i].count;
		op->gpus[i].series = rq[i].series;
		r = gp_gpu_view_build(op->host, rq[i].dev, rq[i].series, &op->gpus[i].view);
		if (r == 0) /* one that failed cleared itself */
			op->n_views++;
	}
	if (r < 0)
		return r;
	/* a layout that cannot be read refuses before anything (a dry run does not read it) */
	if ((op->flags & GP_OP_RECORD) && !(op->flags & GP_OP_PLAN_ONLY))
		r = read_layout(op);
	for (i = 0; r == 0 && !op->refused && i < n; i++) {
		r = check_gpu(op, i);
		if (r == 0 && !op->refused)
			r = plan_gpu(op, i);
		if (r == 0 && !op->refused)
			r = check_mdev_owners(op, i);
		if (r == 0 && !op->refused)
			r = check_vf_bars(op, i);
		if (r == 0 && !op->refused)
			r = check_pf_driver(op, i);
		if (r == 0 && !op->refused)
			r = check_gpu_instances(op, i);
	}
	return r;
}

int gp_op_partition_new(struct gp_ctx *ctx, struct gp_host *host, const struct gp_request *rq,
			size_t n, unsigned flags, struct gp_op **out)
{
	struct gp_op *op = gp_op_alloc(ctx, host, flags);
	int r = op ? op_build(op, rq, n) : -ENOMEM;

	if (r < 0) {
		gp_op_free(op);
		op = NULL;
	}
	*out = op;
	return r;
}

/* Why a line of the layout names no GPU to partition. */
static int skip_line(struct gp_op *op, const struct gp_layout_entry *e, int r)
{
	if (r == -ENODEV)
		return gp_op_skip(op, "layout-no-device",
			       "partitions.conf line %d: no device at %s%s%s%s: skipped", e->line,
			       e->path, *e->address ? " (was " : "", e->address,
			       *e->address ? ")" : "");
	return gp_op_skip(op, "layout-hardware-changed",
		       "partitions.conf line %d: the device at %s is not the %04x:%04x "
		       "(subsystem %04x:%04x) the layout was written for: the hardware changed; "
		       "refusing to partition it (edit or remove the line)",
		       e->line, e->path, e->vendor, e->device, e->subsystem_vendor,
		       e->subsystem_device);
}

bool gp_op_applies_to(const struct gp_op *op, const struct gp_device *d)
{
	size_t i;

	if (!op->only)
		return true;
	for (i = 0; i < op->n_only; i++)
		if (op->only[i] == d)
			return true;
	return false;
}

static int apply_new(struct gp_ctx *ctx, struct gp_host *host, const struct gp_layout *layout,
		     const struct gp_device *const *only, size_t n_only, unsigned flags,
		     struct gp_op **out)
{
	struct gp_op *op = gp_op_alloc(ctx, host, flags);
	struct gp_request *rq = calloc(layout->n ? layout->n : 1, sizeof(*rq));
	size_t i, n = 0;
	int r = op && rq ? 0 : -ENOMEM;

	if (op) {
		op->only = only;
		op->n_only = n_only;
	}
	for (i = 0; r == 0 && i < layout->n; i++) {
		struct gp_device *d = NULL;
		int m = gp_layout_match(host, &layout->v[i], &d);

		if (m < 0 && only)
			continue; /* not one of the GPUs asked for */
		if (m < 0) {
			r = skip_line(op, &layout->v[i], m);
			continue;
		}
		if (!gp_op_applies_to(op, d))
			continue;
		rq[n++] = (struct gp_request){ d, layout->v[i].count, layout->v[i].series };
	}
	if (r == 0)
		r = op_build(op, rq, n);
	/* then the GPUs dismounted.conf names, back to vfio-pci after a reboot */
	if (r == 0 && !op->refused)
		r = gp_op_apply_dda(op);
	free(rq);
	if (r < 0) {
		gp_op_free(op);
		op = NULL;
	}
	*out = op;
	return r;
}

int gp_op_apply_new(struct gp_ctx *ctx, struct gp_host *host, const struct gp_layout *layout,
		    unsigned flags, struct gp_op **out)
{
	return apply_new(ctx, host, layout, NULL, 0, flags, out);
}

int gp_op_apply_some_new(struct gp_ctx *ctx, struct gp_host *host,
			 const struct gp_layout *layout, const struct gp_device *const *gpus,
			 size_t n, unsigned flags, struct gp_op **out)
{
	static const struct gp_device *const none[1];

	return apply_new(ctx, host, layout, n ? gpus : none, n, flags, out);
}

int gp_op_guard_exempt(struct gp_op *op, const char *device)
{
	return gp_strv_push(&op->exempt, &op->n_exempt, strdup(device));
}

size_t gp_op_skipped(const struct gp_op *op)
{
	return op->skipped;
}

void gp_op_free(struct gp_op *op)
{
	size_t i;

	if (!op)
		return;
	gp_txn_clear(&op->txn); /* the GPUs' plans borrowed theirs */
	for (i = 0; op->gpus && i < op->n_views; i++)
		gp_gpu_view_clear(&op->gpus[i].view);
	for (i = 0; op->gpus && i < op->n; i++)
		if (op->gpus[i].action != GP_OP_SET_COUNT) /* DDA's own (ops/dda.c) */
			gp_plan_clear(&op->gpus[i].plan);
	free(op->gpus);
	free(op->change);
	gp_strv_free(op->exempt, op->n_exempt);
	gp_findings_clear(&op->findings);
	free(op->finding_gpu);
	free(op);
}

size_t gp_op_n_gpus(const struct gp_op *op)
{
	return op->n;
}

const struct gp_op_gpu *gp_op_gpu(const struct gp_op *op, size_t i)
{
	return i < op->n ? &op->gpus[i] : NULL;
}

bool gp_op_changes(const struct gp_op *op)
{
	size_t i;

	for (i = 0; i < op->n; i++)
		if (op->gpus[i].plan.n)
			return true;
	return false;
}

const struct gp_findings *gp_op_findings(const struct gp_op *op)
{
	return &op->findings;
}

size_t gp_op_finding_gpu(const struct gp_op *op, size_t i)
{
	return i < op->findings.n ? op->finding_gpu[i] : GP_OP_NO_GPU;
}

enum gp_op_verdict gp_op_verdict(const struct gp_op *op)
{
	if (!op->refused)
		return GP_OP_GO;
	return op->usage ? GP_OP_REFUSED_USAGE : GP_OP_REFUSED;
}

/* ---- running ---- */

/* The series a layout entry records: the one asked for; else, when the partitions in force
 * chose another than the catalogue's default (an L40S-8A GPU set to 6), theirs, so that
 * `apply` after a reboot makes the same licence class again. */
static char layout_series(const struct gp_op_gpu *g)
{
	const struct gp_device *d = g->view.dev;

	if (g->series || !g->count ||
	    g->view.series == gp_policy_default_series(d->catalogue, d->n_catalogue))
		return g->series;
	return g->view.series;
}

/* The layout entries the requests mean (free with entries_free). */
static int layout_entries(const struct gp_op *op, struct gp_layout_entry **out)
{
	struct gp_layout_entry *v = calloc(op->n ? op->n : 1, sizeof(*v));
	size_t i;
	int r = 0;

	*out = v;
	if (!v)
		return -ENOMEM;
	for (i = 0; r == 0 && i < op->n; i++)
		r = gp_layout_entry_for(op->gpus[i].view.dev, op->gpus[i].count,
					layout_series(&op->gpus[i]), &v[i]);
	return r;
}

static void entries_free(struct gp_layout_entry *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free(v[i].path);
	free(v);
}

/*
 * The layout's change, the transaction's last: recorded once every GPU's change is verified,
 * before the journal goes, and put back first by an undo. When nothing on the host changes,
 * the GPUs' empty changes still go with it, so the record is journaled with what it names.
 */
static int layout_add(struct gp_ctx *ctx, struct gp_op *op, const struct gp_layout_entry *e,
		      size_t n)
{
	struct gp_change *lc = NULL;
	int r = gp_layout_change_new(ctx, e, n, &lc);

	if (r == 0)
		r = gp_txn_add(&op->txn, lc);
	if (r < 0)
		gp_op_add(op, GP_OP_NO_GPU, "layout-unreadable", GP_SEV_ERROR,
			  "cannot read the layout before the change: %s; nothing changed",
			  strerror(-r));
	return r;
}

int gp_op_run(struct gp_ctx *ctx, struct gp_op *op, const char *cmd)
{
	bool record = op->flags & GP_OP_RECORD;
	struct gp_layout_entry *entries = NULL;
	int r;

	if (op->refused || (op->flags & GP_OP_PLAN_ONLY) || !op->guarded)
		return -EINVAL;
	if (record && layout_entries(op, &entries) < 0) {
		entries_free(entries, op->n);
		gp_op_add(op, GP_OP_NO_GPU, "layout-path-unknown", GP_SEV_ERROR,
			  "%s: cannot name the GPU's stable PCI path for the layout; use --runtime",
			  op->n ? op->gpus[0].view.dev->address : "?");
		return -EINVAL;
	}
	r = record ? layout_add(ctx, op, entries, op->n) : 0;
	entries_free(entries, op->n);
	if (r < 0)
		return r;
	/* a transaction with nothing to do writes nothing, not even a journal */
	r = gp_txn_run(ctx, &op->txn, cmd);
	if (r < 0 && r != GP_APPLY_STUCK)
		gp_op_add(op, GP_OP_NO_GPU, "change-failed", GP_SEV_ERROR,
			  "the change failed (%s); %s", strerror(-r),
			  gp_journal_pending(ctx) ? "the journal stays: run `gpupart repair`" :
						    "every device is back as it was");
	return r;
}
