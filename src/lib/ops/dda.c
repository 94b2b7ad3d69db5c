/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Discrete Device Assignment as operations (gpupart/ops.h): dismount, mount, and apply's
 * re-dismount after a reboot. Dismount-VMHostAssignableDevice and
 * Mount-VMHostAssignableDevice on Linux: the GPU's functions (policy/dda.c) move between
 * their native drivers and vfio-pci through the binding primitive (kinds/binding.h), and
 * dismounted.conf (conf/dismounted.c) remembers where each came from. One transaction: the
 * GPU's idle NVIDIA VFs disabled (a gpu change), the functions' drivers (a binding change),
 * the record (a dda-record change, last, so an unwind puts it back first). Never prints.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/dismounted.h>

#include "base/internal.h"
#include "kinds/binding.h"
#include "kinds/dda-record.h"
#include "kinds/gpu.h"
#include "ops/op.h"

/* The GPU @dev as op->gpus[*i] (views grow with the operation). 0 / -ENOMEM. */
static int add_gpu(struct gp_op *op, struct gp_device *dev, enum gp_op_action action, size_t *i)
{
	struct gp_op_gpu *g = realloc(op->gpus, (op->n + 1) * sizeof(*g));
	struct gp_change **c;
	int r;

	if (!g)
		return -ENOMEM;
	op->gpus = g;
	c = realloc(op->change, (op->n + 1) * sizeof(*c));
	if (!c)
		return -ENOMEM;
	op->change = c;
	memset(&op->gpus[op->n], 0, sizeof(*g));
	op->change[op->n] = NULL;
	op->gpus[op->n].action = action;
	r = gp_gpu_view_build(op->host, dev, 0, &op->gpus[op->n].view);
	if (r < 0)
		return r;
	*i = op->n++;
	op->n_views = op->n;
	return 0;
}

/* Appends copies of @src's steps: a DDA GPU's plan is its own (gpu change, then binding). */
static int plan_copy(struct gp_plan *dst, const struct gp_plan *src)
{
	size_t k;

	for (k = 0; k < src->n; k++) {
		const struct gp_step *s = &src->steps[k];

		if (!gp_plan_add(dst, s->op, s->device, s->path, s->value))
			return -ENOMEM;
	}
	return 0;
}

/* What the survey handles another way here. */
static bool handled_elsewhere(const char *code)
{
	return !strcmp(code, "vfs-enabled-idle") || /* the plan disables them */
	       !strcmp(code, "in-use-by-host");     /* held-open, console-on-gpu below */
}

/*
 * SurveyDDA's verdict, as Dismount-VMHostAssignableDevice takes it: an error refuses, always
 * (no IOMMU, no interrupt remapping, a group shared with another device, partitions in
 * force: --force changes none of them); a warning refuses unless --force, which makes it a
 * warning again.
 */
static int check_survey(struct gp_op *op, size_t i, bool force)
{
	struct gp_findings host = { 0 }, dev = { 0 };
	const struct gp_device *d = op->gpus[i].view.dev;
	size_t k;
	int r;

	r = gp_survey_host(op->host, &host);
	if (r >= 0)
		r = gp_survey_device(op->host, d, &dev);
	for (k = 0; r >= 0 && k < host.n + dev.n; k++) {
		const struct gp_finding *f = k < host.n ? &host.v[k] : &dev.v[k - host.n];
		enum gp_severity sev = f->severity;

		if (sev == GP_SEV_INFO || handled_elsewhere(f->code))
			continue;
		if (sev == GP_SEV_WARNING && force) {
			r = gp_op_add(op, i, f->code, GP_SEV_WARNING, "%s: %s (--force)", d->address,
				      f->detail);
			continue;
		}
		r = gp_op_add(op, i, f->code, GP_SEV_ERROR, "%s: %s%s", d->address, f->detail,
			      sev == GP_SEV_WARNING ? " (--force dismounts it anyway)" : "");
	}
	gp_findings_clear(&host);
	gp_findings_clear(&dev);
	return r < 0 ? -ENOMEM : 0;
}

/*
 * The host console draws on this function: fbcon is bound to the VTs (the scan's
 * fbcon_bound) and the function has a framebuffer of its own (its driver's fbdev) or is the
 * boot VGA (efifb/simpledrm on its memory, which vfio-pci removes:
 * aperture_remove_conflicting_pci_devices). Where nothing tells (no sys/class/vtconsole),
 * the boot VGA on a native driver is taken to carry it.
 */
static bool carries_console(const struct gp_host *h, const struct gp_device *f)
{
	if (!f->driver)
		return false;
	if (h->fbcon_bound == GP_TRI_UNKNOWN)
		return f->boot_vga == GP_TRI_YES;
	return h->fbcon_bound == GP_TRI_YES && (f->has_fb || f->boot_vga == GP_TRI_YES);
}

/*
 * Never unbind a device something holds open: the driver's remove() waits for its users
 * (nvidia's for /dev/nvidiaN; DRM drivers tear the card down under an open fd), so the write
 * blocks or the host loses its display. The scan found the holders of the /dev/dri nodes
 * (/dev/nvidiaN and the vfio nodes are the guard's). The boot VGA on a native driver carries the
 * console (efifb/simpledrm hand it to the driver's fbdev): --force only.
 */
static int check_host_users(struct gp_op *op, size_t i, struct gp_device *const *fns, size_t n,
			    bool force)
{
	size_t k;
	int r = 0;

	for (k = 0; r == 0 && k < n; k++) {
		const struct gp_device *f = fns[k];

		if (gp_policy_is_vfio_driver(f->driver))
			continue;
		if (f->open_by_host == GP_TRI_YES)
			r = gp_op_add(op, i, "held-open", GP_SEV_ERROR, "%s is held open: %s",
				      f->address, f->open_by ? f->open_by : "a process");
		else if (carries_console(op->host, f))
			r = gp_op_add(op, i, "console-on-gpu", force ? GP_SEV_WARNING : GP_SEV_ERROR,
				      "%s (%s%s) carries the host console: it draws on it%s",
				      f->address, f->boot_vga == GP_TRI_YES ? "the boot VGA device, on " :
									   "on ",
				      f->driver,
				      force ? " and goes dark (--force)" :
					      "; give the host another console, or --force");
	}
	return r;
}

/* NVIDIA VFs enabled and idle go first (sriov-manage -d): the survey refused VFs that carry
 * a vGPU, and a whole GPU with its VFs still enabled cannot be handed to a VM. */
static int plan_vfs_off(struct gp_op *op, size_t i, struct gp_plan *plan)
{
	struct gp_op_gpu *g = &op->gpus[i];
	struct gp_change *c = NULL;
	int r;

	if (!g->view.dev->n_vfs || (g->view.backend != GP_BACKEND_NVIDIA_VFIO &&
				    g->view.backend != GP_BACKEND_NVIDIA_MDEV))
		return 0;
	r = gp_gpu_change_new(op->ctx, op->host, &g->view, 0, &c);
	if (r == 0)
		r = plan_copy(plan, gp_change_plan(c));
	if (r == 0) {
		r = gp_txn_add(&op->txn, c);
		op->change[i] = r == 0 ? c : NULL;
		return r;
	}
	gp_change_free(c);
	if (r == -ENOMEM)
		return r;
	return gp_op_add(op, i, "plan-failed", GP_SEV_ERROR,
			 "%s: cannot plan disabling its VFs: %s", g->view.dev->address,
			 strerror(-r));
}

static int plan_binding(struct gp_op *op, size_t i, struct gp_device *const *fns, size_t n,
			const char *const *drivers, const char *const *overrides,
			struct gp_plan *plan)
{
	struct gp_change *c = NULL;
	int r = gp_binding_change_new(op->ctx, (const struct gp_device *const *)fns, n, drivers,
				      overrides, &c);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return gp_op_add(op, i, "plan-failed", GP_SEV_ERROR, "%s: cannot plan: %s",
				 fns[0]->address, strerror(-r));
	r = plan_copy(plan, gp_change_plan(c));
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	return gp_txn_add(&op->txn, c);
}

/* The record: what the command leaves in dismounted.conf (@next; @rec is the file as read)
 * as the last change, only when its lines differ. */
static int add_record(struct gp_op *op, const struct gp_dda_record *rec,
		      const struct gp_dda_record *next)
{
	struct gp_change *c = NULL;
	char *was, *now;
	int r;

	/* the same lines: the file is left as the admin wrote it (comments, spacing), never
	 * rewritten in gpupart's form by a command that records nothing new */
	was = gp_dda_record_format(rec);
	now = gp_dda_record_format(next);
	r = !was || !now ? -ENOMEM : strcmp(was, now) == 0 ? 1 : 0;
	free(was);
	free(now);
	if (r != 0)
		return r < 0 ? r : 0;
	r = gp_dda_record_change_new(op->ctx, next, &c);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return gp_op_add(op, GP_OP_NO_GPU, "dismounted-unreadable", GP_SEV_ERROR,
				 "cannot read the dismounted-devices record: %s; nothing changed",
				 strerror(-r));
	if (!gp_change_plan(c)->n) {
		gp_change_free(c);
		return 0;
	}
	return gp_txn_add(&op->txn, c);
}

static int read_record(struct gp_op *op, struct gp_dda_record *rec)
{
	char where[512];
	int r = gp_dda_record_read(op->ctx, rec);

	if (r == 0 || r == -ENOMEM)
		return r;
	if (gp_dda_record_file_path(op->ctx, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "%s", GP_DISMOUNTED_FILE);
	return gp_op_add(op, GP_OP_NO_GPU, "dismounted-unreadable", GP_SEV_ERROR,
			 "%s cannot be read (see above): fix or remove it; nothing changed", where);
}

static const struct gp_dda_entry *line_of(const struct gp_dda_record *rec,
					  const struct gp_device *fn);

static bool all_on_vfio(struct gp_device *const *fns, size_t n)
{
	size_t k;

	for (k = 0; k < n; k++)
		if (!gp_policy_is_vfio_driver(fns[k]->driver))
			return false;
	return true;
}

/*
 * apply's re-dismount also takes the functions the record says went with the GPU, where the
 * kernel's grouping no longer puts them together (after a rescan, a function whose header
 * lacks the multifunction bit is grouped alone until pci_scan_slot marks it): the record is
 * the admin's decision, and "dismounted" must not be said with one of them on the host. A
 * recorded companion must be a function of the GPU's own slot with the IDs recorded: the
 * record is not trusted to name any other device. 1: a line was skipped (the GPU too).
 */
static int add_recorded(struct gp_op *op, size_t i, const struct gp_dda_record *rec,
			struct gp_device ***fns, size_t *n)
{
	const struct gp_device *gpu = op->gpus[i].view.dev;
	const struct gp_dda_entry *own = line_of(rec, gpu);
	size_t k, j;
	int r;

	for (k = 0; own && k < rec->n; k++) {
		const struct gp_dda_entry *e = &rec->v[k];
		struct gp_device *d = NULL, **slot;
		int m;

		if (e == own || strcmp(e->gpu_path, own->path))
			continue;
		m = gp_dda_entry_match(op->host, e, &d);
		if (m == 0 && !gp_pci_addr_same_slot(&d->addr, &gpu->addr))
			m = -ESTALE;
		if (m < 0) {
			/* like a GPU line that names no GPU: skipped, the others go on */
			r = gp_op_skip(op, m == -ENODEV ? "dda-no-device" : "dda-hardware-changed",
				       "%s line %d: the function recorded with %s at %s is %s: not "
				       "dismounting %s by half (edit or remove the line)",
				       GP_DISMOUNTED_FILE, e->line, gpu->address, e->path,
				       m == -ENODEV ? "gone" : "another device now", gpu->address);
			return r < 0 ? r : 1;
		}
		for (j = 0; j < *n && (*fns)[j] != d; j++)
			;
		if (j < *n)
			continue;
		if (!(slot = GP_PUSH(*fns, *n)))
			return -ENOMEM;
		*slot = d;
	}
	return 0;
}

/*
 * Dismounting GPU @i: checks, then the plan; @rec is dismounted.conf now, @next what it
 * becomes (lines added for the functions it moves, a line already there kept: the driver a
 * function had before the first dismount is the one it goes back to). @boot: apply's
 * re-dismount of a recorded GPU (the admin decided, warnings and the console included).
 */
static int plan_dismount(struct gp_op *op, size_t i, const struct gp_dda_record *rec,
			 struct gp_dda_record *next, bool boot)
{
	struct gp_op_gpu *g = &op->gpus[i];
	bool force = boot || (op->flags & GP_OP_FORCE);
	struct gp_device **fns = NULL;
	const char **drivers = NULL;
	size_t n = 0, k;
	int r;

	r = gp_policy_dda_functions(op->host, g->view.dev, &fns, &n);
	if (r == 0 && boot)
		r = add_recorded(op, i, rec, &fns, &n);
	if (r != 0 || op->refused) {
		free(fns);
		return r < 0 ? r : 0; /* skipped: not planned, and said */
	}
	g->planned = true;
	if (all_on_vfio(fns, n)) {
		/* by gpupart, or by hand (driverctl, virsh nodedev-detach): no invented record */
		g->noop_dismounted = true;
		free(fns);
		return 0;
	}
	r = check_survey(op, i, force);
	if (r == 0)
		r = check_host_users(op, i, fns, n, force);
	if (r < 0 || op->refused)
		goto out;
	drivers = calloc(n, sizeof(*drivers));
	if (!drivers) {
		r = -ENOMEM;
		goto out;
	}
	for (k = 0; r == 0 && k < n; k++) {
		struct gp_dda_entry e;
		char path[512];

		drivers[k] = "vfio-pci";
		if (gp_device_path_id(fns[k], path, sizeof(path)) == 0 &&
		    gp_dda_record_find(rec, path))
			continue;
		r = gp_dda_entry_for(fns[k], g->view.dev, fns[k]->driver, &e);
		if (r == -ENOMEM)
			goto out;
		if (r < 0) {
			r = gp_op_add(op, i, "dda-path-unknown", GP_SEV_ERROR,
				      "%s: cannot name its stable PCI path (or its IDs are "
				      "unreadable) for the record: nothing changed",
				      fns[k]->address);
			goto out;
		}
		r = gp_dda_record_set(next, &e);
		gp_dda_entry_clear(&e);
	}
	if (r == 0)
		r = plan_vfs_off(op, i, &g->plan);
	if (r == 0 && !op->refused)
		r = plan_binding(op, i, fns, n, drivers, drivers, &g->plan);
out:
	free(drivers);
	free(fns);
	return r;
}

static int record_copy(const struct gp_dda_record *src, struct gp_dda_record *dst)
{
	size_t k;
	int r = 0;

	memset(dst, 0, sizeof(*dst));
	for (k = 0; r == 0 && k < src->n; k++)
		r = gp_dda_record_set(dst, &src->v[k]);
	return r;
}

/* The recorded line of function @fn, or NULL. */
static const struct gp_dda_entry *line_of(const struct gp_dda_record *rec,
					  const struct gp_device *fn)
{
	char path[512];

	if (gp_device_path_id(fn, path, sizeof(path)) < 0)
		return NULL;
	return gp_dda_record_find(rec, path);
}

/*
 * Mounting GPU @i: each function with a line goes back to its recorded driver (none: it
 * stays unbound), the GPU to @driver when given; a function with neither stays where it is.
 * The override is cleared ("\n", read back as "(null)") so the driver core's ID matching
 * binds the native driver on drivers_probe (drivers/pci/pci-driver.c, pci_match_device).
 */
static int plan_mount(struct gp_op *op, size_t i, const char *driver,
		      const struct gp_dda_record *rec, struct gp_dda_record *next)
{
	struct gp_op_gpu *g = &op->gpus[i];
	const struct gp_device *gpu = g->view.dev;
	const struct gp_dda_entry *own = line_of(rec, gpu);
	const char **drivers = NULL, **overrides = NULL;
	struct gp_device **fns = NULL;
	size_t n = 0, k;
	int r;

	g->planned = true;
	if (!own && !driver) {
		if (!gp_policy_is_vfio_driver(gpu->driver))
			return 0; /* not dismounted: nothing to do */
		return gp_op_add(op, i, "mount-driver-unknown", GP_SEV_ERROR,
				 "%s is on %s but gpupart did not dismount it (no line in %s): say "
				 "where it goes with --driver NAME",
				 gpu->address, gpu->driver, GP_DISMOUNTED_FILE);
	}
	r = gp_policy_dda_functions(op->host, gpu, &fns, &n);
	if (r < 0)
		return r;
	drivers = calloc(n, sizeof(*drivers));
	overrides = calloc(n, sizeof(*overrides));
	if (!drivers || !overrides) {
		r = -ENOMEM;
		goto out;
	}
	for (k = 0; r == 0 && k < n; k++) {
		const struct gp_dda_entry *e = line_of(rec, fns[k]);

		if (e && (e->vendor != fns[k]->vendor || e->device != fns[k]->device ||
			  e->subsystem_vendor != fns[k]->subsystem_vendor ||
			  e->subsystem_device != fns[k]->subsystem_device)) {
			r = gp_op_add(op, i, "dda-hardware-changed", GP_SEV_ERROR,
				      "%s line %d: the device at %s is not the %04x:%04x (subsystem "
				      "%04x:%04x) that was dismounted: the hardware changed; edit or "
				      "remove the line (--driver says where the GPU goes)",
				      GP_DISMOUNTED_FILE, e->line, fns[k]->address, e->vendor,
				      e->device, e->subsystem_vendor, e->subsystem_device);
			break;
		}
		if (k == 0 && driver)
			drivers[k] = driver;
		else if (e)
			drivers[k] = e->driver;
		else {
			/* not ours to move: as it is */
			drivers[k] = fns[k]->driver;
			overrides[k] = gp_policy_is_vfio_driver(fns[k]->driver) ? fns[k]->driver :
										  NULL;
			continue;
		}
		if (drivers[k] && !gp_binding_driver_registered(op->ctx, drivers[k]))
			r = gp_op_add(op, i, "driver-not-loaded", GP_SEV_ERROR,
				      "%s goes back to %s, which is not loaded: `modprobe %s` first",
				      fns[k]->address, drivers[k], drivers[k]);
	}
	if (r == 0 && !op->refused)
		r = plan_binding(op, i, fns, n, drivers, overrides, &g->plan);
	if (r == 0 && !op->refused && own)
		gp_dda_record_unset_gpu(next, own->gpu_path);
out:
	free(overrides);
	free(drivers);
	free(fns);
	return r;
}

/* dismount and mount of one GPU: its view, the record read and copied, the plan, the record
 * as the last change. @driver: mount's --driver. */
static int op_dda_new(struct gp_ctx *ctx, struct gp_host *host, struct gp_device *gpu,
		      enum gp_op_action action, const char *driver, unsigned flags,
		      struct gp_op **out)
{
	struct gp_op *op = gp_op_alloc(ctx, host, flags);
	struct gp_dda_record rec = { 0 }, next = { 0 };
	size_t i;
	int r = op ? add_gpu(op, gpu, action, &i) : -ENOMEM;

	if (r == 0)
		r = read_record(op, &rec);
	if (r == 0 && !op->refused)
		r = record_copy(&rec, &next);
	if (r == 0 && !op->refused)
		r = action == GP_OP_DISMOUNT ? plan_dismount(op, i, &rec, &next, false) :
					       plan_mount(op, i, driver, &rec, &next);
	if (r == 0 && !op->refused)
		r = add_record(op, &rec, &next);
	gp_dda_record_clear(&rec);
	gp_dda_record_clear(&next);
	if (r < 0) {
		gp_op_free(op);
		op = NULL;
	}
	*out = op;
	return r;
}

int gp_op_dismount_new(struct gp_ctx *ctx, struct gp_host *host, struct gp_device *gpu,
		       unsigned flags, struct gp_op **out)
{
	return op_dda_new(ctx, host, gpu, GP_OP_DISMOUNT, NULL, flags, out);
}

int gp_op_mount_new(struct gp_ctx *ctx, struct gp_host *host, struct gp_device *gpu,
		    const char *driver, unsigned flags, struct gp_op **out)
{
	return op_dda_new(ctx, host, gpu, GP_OP_MOUNT, driver, flags, out);
}

/* Why a GPU line of dismounted.conf names no GPU to dismount again. */
static int skip_line(struct gp_op *op, const struct gp_dda_entry *e, int r)
{
	if (r == -ENODEV)
		return gp_op_skip(op, "dda-no-device",
				  "%s line %d: no device at %s%s%s%s: skipped", GP_DISMOUNTED_FILE,
				  e->line, e->path, *e->address ? " (was " : "", e->address,
				  *e->address ? ")" : "");
	return gp_op_skip(op, "dda-hardware-changed",
			  "%s line %d: the device at %s is not the %04x:%04x (subsystem "
			  "%04x:%04x) that was dismounted: the hardware changed; refusing to "
			  "dismount it (edit or remove the line)",
			  GP_DISMOUNTED_FILE, e->line, e->path, e->vendor, e->device,
			  e->subsystem_vendor, e->subsystem_device);
}

int gp_op_apply_dda(struct gp_op *op)
{
	struct gp_dda_record rec = { 0 }, next = { 0 };
	size_t k, i;
	int r = read_record(op, &rec);

	if (r == 0 && !op->refused)
		r = record_copy(&rec, &next);
	for (k = 0; r == 0 && !op->refused && k < rec.n; k++) {
		const struct gp_dda_entry *e = &rec.v[k];
		struct gp_device *d = NULL;
		int m;

		if (strcmp(e->path, e->gpu_path))
			continue; /* a companion: it goes with its GPU's line */
		m = gp_dda_entry_match(op->host, e, &d);
		if (m < 0 && op->only)
			continue; /* not one of the GPUs asked for */
		if (m < 0) {
			r = skip_line(op, e, m);
			continue;
		}
		if (!gp_op_applies_to(op, d))
			continue;
		r = add_gpu(op, d, GP_OP_DISMOUNT, &i);
		if (r == 0)
			r = plan_dismount(op, i, &rec, &next, true);
	}
	if (r == 0 && !op->refused)
		r = add_record(op, &rec, &next);
	gp_dda_record_clear(&rec);
	gp_dda_record_clear(&next);
	return r;
}
