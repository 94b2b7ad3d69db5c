/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The binding primitive and the binding kind (kinds/binding.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "kinds/binding.h"
#include "kinds/fields.h"
#include "model/pci-addr.h"

/* ---- the primitive ---- */

static struct gp_step *fn_step(struct gp_plan *p, enum gp_step_op op, const char *addr,
			       const char *attr, const char *value)
{
	char dir[128];
	struct gp_step *s;

	if (gp_hostfs_path(GP_HP_PCI_DEVICE, addr, dir, sizeof(dir)) < 0)
		return NULL;
	s = gp_plan_add(p, op, addr, NULL, value);
	if (s && (size_t)snprintf(s->path, sizeof(s->path), "%s/%s", dir, attr) >= sizeof(s->path))
		return NULL;
	return s;
}

int gp_binding_plan_fn(struct gp_plan *p, const char *addr, bool present, const char *cur_driver,
		       const char *cur_override, const char *want_driver, const char *want_override)
{
	bool bound = present && cur_driver;
	struct gp_step *s;

	if (present && gp_str_eq(cur_driver, want_driver) && gp_str_eq(cur_override, want_override))
		return 0;
	if (bound && !gp_str_eq(cur_driver, want_driver)) {
		/* the driver's remove() runs inside this write (drivers/base/dd.c,
		 * device_release_driver): it blocks while the driver waits for its users, which
		 * is why a stuck write is bounded (host/kernel.c) */
		if (!fn_step(p, GP_STEP_WRITE, addr, "driver/unbind", addr) ||
		    !fn_step(p, GP_STEP_VERIFY, addr, "driver", ""))
			return -ENOMEM;
		bound = false;
	}
	if (!gp_str_eq(present ? cur_override : NULL, want_override)) {
		/* "\n" clears: the empty string stopped working in some kernels (1.1) */
		if (!fn_step(p, GP_STEP_WRITE, addr, "driver_override",
			     want_override ? want_override : "\n") ||
		    !fn_step(p, GP_STEP_VERIFY, addr, "driver_override",
			     want_override ? want_override : "(null)"))
			return -ENOMEM;
	}
	if (want_driver && !bound) {
		s = gp_plan_add(p, GP_STEP_WRITE, addr, NULL, addr);
		if (!s || gp_hostfs_path(GP_HP_PCI_DRIVERS_PROBE, NULL, s->path, sizeof(s->path)) < 0)
			return -ENOMEM;
		if (!fn_step(p, GP_STEP_VERIFY, addr, "driver", want_driver))
			return -ENOMEM;
	}
	return 0;
}

int gp_binding_plan_vfio_pci(struct gp_plan *p, const char *device)
{
	struct gp_step *s = gp_plan_add(p, GP_STEP_EXEC, device, NULL, "vfio-pci");

	if (!s || gp_hostfs_path(GP_HP_MODPROBE, NULL, s->path, sizeof(s->path)) < 0)
		return -ENOMEM;
	s = gp_plan_add(p, GP_STEP_WAIT, device, NULL, "1");
	if (!s || gp_hostfs_path(GP_HP_PCI_DRIVER, "vfio-pci", s->path, sizeof(s->path)) < 0)
		return -ENOMEM;
	return 0;
}

/* ---- reading ---- */

/* driver_override reads "(null)" when unset; a trailing newline is not part of it. */
char *gp_binding_read_override(int dfd)
{
	char buf[128];

	if (gp_hostfs_read_at(dfd, "driver_override", buf, sizeof(buf)) <= 0 ||
	    strcmp(buf, "(null)") == 0)
		return NULL;
	return strdup(buf);
}

char *gp_binding_read_driver(int dfd)
{
	char buf[128];

	if (gp_hostfs_link_base_at(dfd, "driver", buf, sizeof(buf)) <= 0)
		return NULL;
	return strdup(buf);
}

/* A driver's directory exists once its module registered it (driver_register(),
 * bus_add_driver). */
bool gp_binding_driver_registered(struct gp_ctx *ctx, const char *name)
{
	char dir[128];

	return !strchr(name, '/') && gp_hostfs_path(GP_HP_PCI_DRIVER, name, dir, sizeof(dir)) == 0 &&
	       gp_hostfs_is_dir_at(gp_hostfs_root_fd(ctx), dir) == 1;
}

bool gp_binding_vfio_pci_loaded(struct gp_ctx *ctx)
{
	return gp_binding_driver_registered(ctx, "vfio-pci");
}

void gp_binding_state_free(struct gp_binding_state *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->v[i].driver);
		free(s->v[i].override);
	}
	free(s->v);
	free(s);
}

static struct gp_binding_state *state_like(const struct gp_binding_state *like)
{
	struct gp_binding_state *s = calloc(1, sizeof(*s));
	size_t i;

	if (!s || !(s->v = calloc(like->n ? like->n : 1, sizeof(*s->v)))) {
		free(s);
		return NULL;
	}
	memcpy(s->gpu, like->gpu, sizeof(s->gpu));
	s->n = like->n;
	for (i = 0; i < like->n; i++) {
		memcpy(s->v[i].address, like->v[i].address, sizeof(s->v[i].address));
		s->v[i].ident = like->v[i].ident;
	}
	return s;
}

int gp_binding_state_read(struct gp_ctx *ctx, const struct gp_binding_state *like,
			  struct gp_binding_state **out)
{
	struct gp_binding_state *s = state_like(like);
	size_t i;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	for (i = 0; i < s->n; i++) {
		int dfd = gp_hostfs_open_dir(ctx, GP_HP_PCI_DEVICE, s->v[i].address);

		if (dfd < 0) {
			ERR(ctx, "%s: %s", s->v[i].address, strerror(-dfd));
			gp_binding_state_free(s);
			return dfd;
		}
		s->v[i].driver = gp_binding_read_driver(dfd);
		s->v[i].override = gp_binding_read_override(dfd);
		close(dfd);
	}
	s->vfio_pci = gp_binding_vfio_pci_loaded(ctx);
	*out = s;
	return 0;
}

/* ---- the kind ---- */

static int state_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	return gp_binding_state_read(ctx, like, (struct gp_binding_state **)cur);
}

static bool state_equal(const void *cur, const void *want)
{
	const struct gp_binding_state *a = cur, *b = want;
	size_t i;

	if (a->n != b->n)
		return false;
	for (i = 0; i < a->n; i++)
		if (strcmp(a->v[i].address, b->v[i].address) ||
		    !gp_str_eq(a->v[i].driver, b->v[i].driver) ||
		    !gp_str_eq(a->v[i].override, b->v[i].override))
			return false;
	return true;
}

/* Functions leave their drivers last first (the companions before the GPU) and come to the
 * wanted ones GPU first: only the order of the plan, the end state is the same. */
static int state_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	const struct gp_binding_state *c = cur, *w = want;
	bool vfio = false;
	size_t i;
	int r = 0;

	if (c->n != w->n)
		return -EINVAL;
	for (i = 0; i < w->n; i++)
		vfio |= gp_str_eq(w->v[i].driver, "vfio-pci") &&
			!gp_str_eq(c->v[i].driver, "vfio-pci");
	if (vfio && !c->vfio_pci)
		r = gp_binding_plan_vfio_pci(plan, w->gpu);
	for (i = 0; r == 0 && i < w->n; i++)
		r = gp_binding_plan_fn(plan, w->v[i].address, true, c->v[i].driver,
				       c->v[i].override, w->v[i].driver, w->v[i].override);
	return r;
}

static const char *state_name(const void *state)
{
	return ((const struct gp_binding_state *)state)->gpu;
}

static void state_free(void *state)
{
	gp_binding_state_free(state);
}

static const char *opt(const char *s)
{
	return s ? s : "-";
}

static int encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct gp_binding_state *s = c->orig;
	size_t i;

	gp_rec_printf(out, "binding %s", s->gpu);
	for (i = 0; i < s->n; i++) {
		const struct gp_fn_binding *f = &s->v[i];

		gp_rec_printf(out, "fn %s driver=%s override=%s id=%04x:%04x subsystem=%04x:%04x "
			      "class=%06llx",
			      f->address, opt(f->driver), opt(f->override), f->ident.vendor & 0xffff,
			      f->ident.device & 0xffff, f->ident.subsystem_vendor & 0xffff,
			      f->ident.subsystem_device & 0xffff,
			      (unsigned long long)f->ident.class_code & 0xffffff);
	}
	return out->err;
}

static const char *parse_fn(const struct gp_rec *rec, struct gp_fn_binding *f)
{
	char *const *tok = rec->tok;
	const char *cls, *p;
	unsigned c;

	if (rec->n != 7 || strcmp(tok[0], "fn"))
		return "an unknown record";
	if (!gp_kind_rec_is_addr(tok[1]))
		return "not a PCI address";
	strcpy(f->address, tok[1]);
	if (gp_kind_rec_name(tok[2], "driver", &f->driver) < 0 ||
	    gp_kind_rec_name(tok[3], "override", &f->override) < 0)
		return "bad driver or override";
	if (gp_kind_rec_idpair(tok[4], "id", &f->ident.vendor, &f->ident.device) < 0 ||
	    gp_kind_rec_idpair(tok[5], "subsystem", &f->ident.subsystem_vendor,
			       &f->ident.subsystem_device) < 0)
		return "bad id or subsystem";
	if (gp_rec_kv(tok[6], "class", &cls) < 0 || !cls || strlen(cls) != 6 ||
	    (p = cls, gp_parse_hexn(&p, 6, &c) < 0) || *p)
		return "bad class";
	f->ident.class_code = c;
	return NULL;
}

/* A function in two changes of one journal is damage: two owners of one binding. */
static bool recorded_before(const struct gp_txn *before, const char *addr)
{
	size_t i, k;

	for (i = 0; i < before->n; i++) {
		const struct gp_binding_state *b = before->v[i]->orig;

		if (before->v[i]->kind != &gp_kind_binding || !b)
			continue;
		for (k = 0; k < b->n; k++)
			if (!strcmp(b->v[k].address, addr))
				return true;
	}
	return false;
}

static const char *decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			  struct gp_change *c, size_t *bad)
{
	struct gp_binding_state *s;
	const char *why = NULL;
	size_t i, k;

	*bad = 0;
	if (recs[0].n != 2 || !gp_kind_rec_is_addr(recs[0].tok[1]))
		return "a binding record that names no GPU";
	if (n < 2)
		return "a binding with no function";
	c->orig = s = calloc(1, sizeof(*s));
	if (!s || !(s->v = calloc(n - 1, sizeof(*s->v))))
		return "out of memory";
	strcpy(s->gpu, recs[0].tok[1]);
	for (i = 1; !why && i < n; i++) {
		*bad = i;
		why = parse_fn(&recs[i], &s->v[s->n]);
		s->n++;
		if (!why && recorded_before(before, s->v[s->n - 1].address))
			why = "a function recorded twice";
		for (k = 0; !why && k + 1 < s->n; k++)
			if (!strcmp(s->v[k].address, s->v[s->n - 1].address))
				why = "a function recorded twice";
	}
	if (!why && strcmp(s->v[0].address, s->gpu))
		why = "the first function is not the GPU";
	return why;
}

/* Every function is on the host with the IDs journaled, and sits in the GPU's slot: the
 * journal is never trusted (repair binds drivers as root on what it names). */
static int check(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c, char *why,
		 size_t why_len)
{
	const struct gp_binding_state *s = c->orig;
	struct gp_pci_addr *a = calloc(s->n, sizeof(*a));
	struct gp_host *host = NULL;
	size_t i;
	int r = 0;

	(void)txn;
	if (!a)
		return -ENOMEM;
	for (i = 0; r == 0 && i < s->n; i++)
		if (gp_pci_addr_parse(s->v[i].address, &a[i]) < 0 ||
		    !gp_pci_addr_same_slot(&a[i], &a[0])) {
			snprintf(why, why_len, "fn %s: not a function of %s's slot",
				 s->v[i].address, s->gpu);
			r = -EUCLEAN;
		}
	if (r == 0)
		r = gp_host_scan(ctx, GP_SCAN_ANY_CLASS, a, s->n, &host);
	if (r == -ENODEV) {
		snprintf(why, why_len, "binding %s: a function is not on this host", s->gpu);
		r = -EUCLEAN;
	}
	for (i = 0; r == 0 && i < s->n; i++) {
		const struct gp_device *d = gp_host_find(host, &a[i]);
		const struct gp_pci_ident *id = &s->v[i].ident;

		if (!d || d->vendor != id->vendor || d->device != id->device ||
		    d->subsystem_vendor != id->subsystem_vendor ||
		    d->subsystem_device != id->subsystem_device || d->class_code != id->class_code) {
			snprintf(why, why_len, "fn %s: the device there is not the %04x:%04x "
				 "(class %06llx) recorded", s->v[i].address, id->vendor, id->device,
				 (unsigned long long)id->class_code);
			r = -EUCLEAN;
		}
	}
	gp_host_free(host);
	free(a);
	return r;
}

const struct gp_kind gp_kind_binding = {
	.tag = "binding",
	.read = state_read,
	.equal = state_equal,
	.diff = state_diff,
	.encode = encode,
	.decode = decode,
	.check = check,
	.name = state_name,
	.free_state = state_free,
};

int gp_binding_change_new(struct gp_ctx *ctx, const struct gp_device *const *fns, size_t n,
			  const char *const *want_drivers, const char *const *want_overrides,
			  struct gp_change **out)
{
	struct gp_binding_state like = { 0 }, *want;
	struct gp_change *c;
	size_t i;
	int r;

	*out = NULL;
	if (!n)
		return -EINVAL;
	like.v = calloc(n, sizeof(*like.v));
	if (!like.v)
		return -ENOMEM;
	like.n = n;
	snprintf(like.gpu, sizeof(like.gpu), "%s", fns[0]->address);
	for (i = 0; i < n; i++) {
		snprintf(like.v[i].address, sizeof(like.v[i].address), "%s", fns[i]->address);
		like.v[i].ident = (struct gp_pci_ident){ fns[i]->vendor, fns[i]->device,
							 fns[i]->subsystem_vendor,
							 fns[i]->subsystem_device, fns[i]->class_code };
	}
	c = gp_change_new(&gp_kind_binding);
	want = state_like(&like);
	free(like.v);
	if (!c || !want) {
		gp_change_free(c);
		gp_binding_state_free(want);
		return -ENOMEM;
	}
	c->want = want;
	for (i = 0; i < n; i++) {
		want->v[i].driver = want_drivers[i] ? strdup(want_drivers[i]) : NULL;
		want->v[i].override = want_overrides[i] ? strdup(want_overrides[i]) : NULL;
		if ((want_drivers[i] && !want->v[i].driver) ||
		    (want_overrides[i] && !want->v[i].override)) {
			gp_change_free(c);
			return -ENOMEM;
		}
	}
	r = gp_binding_state_read(ctx, want, (struct gp_binding_state **)&c->orig);
	if (r == 0)
		r = state_diff(c->orig, c->want, &c->plan);
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	*out = c;
	return 0;
}
