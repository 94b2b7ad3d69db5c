/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The gpu kind: a GPU's partitions as a change of the generic transaction. The state reader
 * and the target are gpu-state.c's, the planner gpu-plan.c's; here are the journal records
 * (strict: every token in exactly the form printed) and their check against the host (the
 * PF's IDs and class, TotalVFs, NVIDIA backends only on NVIDIA, each VF record is VF N of its
 * PF, each mdev parent is the PF or a recorded VF and offers the type).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include <gpupart/layout.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "model/pci-addr.h"
#include "kinds/catalogue.h"
#include "kinds/fields.h"
#include "kinds/gpu.h"

/* ---- the state ---- */

static void state_free(void *state)
{
	if (!state)
		return;
	gp_gpu_state_clear(state);
	free(state);
}

static int state_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	const struct gp_gpu_state *l = like;
	struct gp_gpu_state *s = calloc(1, sizeof(*s));
	int r;

	*cur = NULL;
	if (!s)
		return -ENOMEM;
	r = gp_gpu_state_read(ctx, l->address, l->backend, s);
	if (r < 0) {
		free(s);
		return r;
	}
	*cur = s;
	return 0;
}

static bool state_equal(const void *cur, const void *want)
{
	return gp_gpu_state_equal(cur, want);
}

static int state_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	return gp_plan_diff(cur, want, plan);
}

static const char *state_name(const void *state)
{
	return ((const struct gp_gpu_state *)state)->address;
}

/* After sriov-manage -e: the NVIDIA driver publishes its types on the new VFs only, so the
 * target for the count is made now, from a fresh scan. */
static int refine(struct gp_ctx *ctx, struct gp_change *c, struct gp_plan *plan)
{
	struct gp_gpu_state *orig = c->orig, *want = c->want, cur = { 0 }, next = { 0 };
	const struct gp_gpu_change_data *d = c->data;
	struct gp_pci_addr a;
	struct gp_gpu_view view = { 0 };
	struct gp_host *host = NULL;
	struct gp_device *dev;
	int r;

	r = gp_pci_addr_parse(orig->address, &a);
	if (r == 0)
		r = gp_host_scan(ctx, 0, &a, 1, &host);
	if (r < 0)
		return r;
	dev = gp_host_find(host, &a);
	r = dev ? gp_gpu_view_build(host, dev, d->series, &view) : -ENODEV;
	/* with the backend the fresh view shows: the one planned before the VFs existed is a
	 * guess (policy.c, gp_policy_backend) their shape may prove wrong */
	if (r == 0)
		r = gp_gpu_state_read(ctx, orig->address, view.backend, &cur);
	if (r == 0) {
		r = gp_gpu_state_target(host, &view, &cur, d->count, &next);
		if (r == -ERANGE && view.vgpu_mode == GP_VGPU_MODE_MIG && !dev->n_gpu_instances)
			ERR(ctx, "%s: with its VFs enabled the GPU is in MIG mode with no GPU instance: "
				 "create them (nvidia-smi mig -i %s -cgi PROFILES -C), then set the "
				 "count",
			    orig->address, orig->address);
		else if (r == -ERANGE)
			ERR(ctx, "%s: with its VFs enabled, the driver offers no %c-series type for "
				 "%d partitions",
			    orig->address, view.series ? view.series : '?', d->count);
		else if (r == -ENXIO)
			ERR(ctx, "%s: with its VFs enabled, a VF that is to carry a partition lists "
				 "no mdev types",
			    orig->address);
		else if (r == -EAGAIN)
			r = -EIO;
	}
	/* the VFs' lists are the whole catalogue now, before any type consumes capacity: what
	 * the catalogue change records once the GPU is verified (kinds/catalogue.h) */
	if (r == 0 && d->record)
		r = gp_catalogue_decide(ctx, d->record, dev);
	if (r == 0)
		r = gp_plan_diff(&cur, &next, plan);
	if (r == 0) {
		gp_gpu_state_clear(want);
		*want = next;
		memset(&next, 0, sizeof(next));
	}
	gp_gpu_state_clear(&next);
	gp_gpu_state_clear(&cur);
	gp_gpu_view_clear(&view);
	gp_host_free(host);
	return r;
}

/* ---- journal records ---- */

static const char *opt(const char *s)
{
	return s ? s : "-";
}

static void put_int(char *buf, size_t len, const char *key, int v)
{
	if (v == GP_UNKNOWN)
		snprintf(buf, len, " %s=-", key);
	else
		snprintf(buf, len, " %s=%d", key, v);
}

static int encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct gp_gpu_state *s = c->orig;
	const struct gp_pci_ident *id = &((const struct gp_gpu_change_data *)c->data)->ident;
	char nv[32], ap[32], ty[32];
	size_t k;

	put_int(nv, sizeof(nv), "numvfs", s->numvfs);
	put_int(ap, sizeof(ap), "autoprobe", s->autoprobe);
	gp_rec_printf(out, "gpu %s backend=%s%s%s id=%04x:%04x subsystem=%04x:%04x class=%06llx",
		      s->address, opt(gp_backend_str(s->backend)), nv, ap, id->vendor & 0xffff,
		      id->device & 0xffff, id->subsystem_vendor & 0xffff,
		      id->subsystem_device & 0xffff, (unsigned long long)id->class_code & 0xffffff);
	for (k = 0; k < s->n_vfs; k++) {
		const struct gp_vf_state *v = &s->vfs[k];

		put_int(ty, sizeof(ty), "type", v->vgpu_type);
		gp_rec_printf(out, "vf %s %d %s driver=%s override=%s%s", s->address, v->index,
			      v->address, opt(v->driver), opt(v->override), ty);
	}
	for (k = 0; k < s->n_mdevs; k++)
		gp_rec_printf(out, "mdev %s %s parent=%s type=%s", s->address, s->mdevs[k].uuid,
			      s->mdevs[k].parent, opt(s->mdevs[k].type_key));
	return out->err;
}

static int kv_int(const char *tok, const char *key, int max, int *out)
{
	const char *v;

	if (gp_rec_kv(tok, key, &v) < 0)
		return -EINVAL;
	if (!v) {
		*out = GP_UNKNOWN;
		return 0;
	}
	return gp_rec_int(v, max, out);
}

static enum gp_backend backend_from(const char *s)
{
	enum gp_backend b;

	for (b = GP_BACKEND_NVIDIA_VFIO; b <= GP_BACKEND_SRIOV; b++)
		if (s && strcmp(s, gp_backend_str(b)) == 0)
			return b;
	return GP_BACKEND_NONE;
}

static const char *parse_gpu(const struct gp_txn *before, const struct gp_rec *rec,
			     struct gp_gpu_state *g, struct gp_pci_ident *id)
{
	char *const *tok = rec->tok;
	const char *b, *cls, *p;
	unsigned c;
	size_t i;

	if (rec->n != 8)
		return "a gpu record has 8 fields";
	if (!gp_kind_rec_is_addr(tok[1]))
		return "not a PCI address";
	for (i = 0; i < before->n; i++)
		if (before->v[i]->kind == &gp_kind_gpu &&
		    strcmp(gp_gpu_change_orig(before->v[i])->address, tok[1]) == 0)
			return "a GPU recorded twice";
	strcpy(g->address, tok[1]);
	if (gp_rec_kv(tok[2], "backend", &b) < 0 ||
	    (g->backend = backend_from(b)) == GP_BACKEND_NONE)
		return "unknown backend";
	if (kv_int(tok[3], "numvfs", 0xffff, &g->numvfs) < 0 ||
	    kv_int(tok[4], "autoprobe", 1, &g->autoprobe) < 0)
		return "bad numvfs or autoprobe";
	if (gp_kind_rec_idpair(tok[5], "id", &id->vendor, &id->device) < 0 ||
	    gp_kind_rec_idpair(tok[6], "subsystem", &id->subsystem_vendor, &id->subsystem_device) < 0)
		return "bad id or subsystem";
	if (gp_rec_kv(tok[7], "class", &cls) < 0 || !cls || strlen(cls) != 6 ||
	    (p = cls, gp_parse_hexn(&p, 6, &c) < 0) || *p)
		return "bad class";
	id->class_code = c;
	return NULL;
}

static const char *parse_vf(struct gp_gpu_state *g, const struct gp_rec *rec)
{
	char *const *tok = rec->tok;
	struct gp_vf_state *v;
	int r;

	if (rec->n != 7)
		return "a vf record has 7 fields";
	if (strcmp(g->address, tok[1]) != 0)
		return "a vf record that does not follow its gpu record";
	if (!gp_kind_rec_is_addr(tok[3]))
		return "not a PCI address";
	v = GP_PUSH(g->vfs, g->n_vfs);
	if (!v)
		return "out of memory";
	strcpy(v->address, tok[3]);
	if (gp_rec_int(tok[2], 0xffff, &v->index) < 0)
		return "bad VF index";
	if (g->n_vfs > 1 && v->index <= g->vfs[g->n_vfs - 2].index)
		return "VF records out of index order";
	if (g->numvfs == GP_UNKNOWN || v->index >= g->numvfs)
		return "a VF index beyond the recorded numvfs";
	r = gp_kind_rec_name(tok[4], "driver", &v->driver);
	if (r == 0)
		r = gp_kind_rec_name(tok[5], "override", &v->override);
	if (r == -ENOMEM)
		return "out of memory";
	if (r < 0)
		return "a driver or override that is not a driver name";
	if (kv_int(tok[6], "type", 1 << 30, &v->vgpu_type) < 0)
		return "bad vGPU type";
	return NULL;
}

static const char *parse_mdev(struct gp_gpu_state *g, const struct gp_rec *rec)
{
	char *const *tok = rec->tok;
	struct gp_mdev_state *m;
	const char *parent;
	int r;

	if (rec->n != 5)
		return "an mdev record has 5 fields";
	if (strcmp(g->address, tok[1]) != 0)
		return "an mdev record that does not follow its gpu record";
	if (!gp_kind_rec_is_uuid(tok[2]))
		return "not a UUID";
	if (gp_rec_kv(tok[3], "parent", &parent) < 0 || !parent || !gp_kind_rec_is_addr(parent))
		return "bad mdev parent";
	m = GP_PUSH(g->mdevs, g->n_mdevs);
	if (!m)
		return "out of memory";
	strcpy(m->uuid, tok[2]);
	strcpy(m->parent, parent);
	r = gp_kind_rec_name(tok[4], "type", &m->type_key);
	if (r == -ENOMEM)
		return "out of memory";
	if (r < 0 || !m->type_key)
		return "an mdev type that is not one path component";
	return NULL;
}

static const char *decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			  struct gp_change *c, size_t *bad)
{
	struct gp_gpu_change_data *d = calloc(1, sizeof(*d));
	struct gp_gpu_state *g = calloc(1, sizeof(*g));
	const char *why;
	size_t i;

	c->orig = g;
	c->data = d;
	*bad = 0;
	if (!d || !g)
		return "out of memory";
	why = parse_gpu(before, &recs[0], g, &d->ident);
	for (i = 1; !why && i < n; i++) {
		*bad = i;
		if (strcmp(recs[i].tok[0], "vf") == 0)
			why = parse_vf(g, &recs[i]);
		else if (strcmp(recs[i].tok[0], "mdev") == 0)
			why = parse_mdev(g, &recs[i]);
		else
			why = "an unknown record";
	}
	return why;
}

/* ---- checking the records against the host ---- */

static bool ident_matches(const struct gp_device *d, const struct gp_pci_ident *id)
{
	return d->vendor == id->vendor && d->device == id->device &&
	       d->subsystem_vendor == id->subsystem_vendor &&
	       d->subsystem_device == id->subsystem_device && d->class_code == id->class_code;
}

/* The VF record belongs to @pf: its virtfnN link names it, or (the VF is gone) the PF's
 * routing ID arithmetic puts VF N there. */
static bool vf_of(struct gp_ctx *ctx, const struct gp_device *pf, const struct gp_vf_state *v)
{
	char dir[128], rel[160], link[GP_ADDR_LEN + 1], calc[GP_ADDR_LEN];
	int r;

	if (gp_hostfs_path(GP_HP_PCI_DEVICE, pf->address, dir, sizeof(dir)) < 0)
		return false;
	snprintf(rel, sizeof(rel), "%s/virtfn%d", dir, v->index);
	r = gp_hostfs_link_base_at(gp_hostfs_root_fd(ctx), rel, link, sizeof(link));
	if (r >= 0)
		return strcmp(link, v->address) == 0;
	if (r != -ENOENT)
		return false; /* a link there that cannot be read proves nothing */
	return gp_vf_addr_at(pf, v->index, calc) == 0 && strcmp(calc, v->address) == 0;
}

static int check_pf(const struct gp_gpu_state *g, const struct gp_pci_ident *id,
		    const struct gp_device *pf, char *why, size_t why_len)
{
	if (!pf)
		snprintf(why, why_len, "gpu %s: no such device on this host", g->address);
	else if (!ident_matches(pf, id))
		snprintf(why, why_len, "gpu %s: the device there is not the %04x:%04x (class %06llx) "
			 "recorded", g->address, id->vendor, id->device,
			 (unsigned long long)id->class_code);
	else if (pf->is_vf)
		snprintf(why, why_len, "gpu %s: a virtual function, not a GPU", g->address);
	else if (g->numvfs != GP_UNKNOWN &&
		 (pf->sriov_total_vfs == GP_UNKNOWN || g->numvfs > pf->sriov_total_vfs))
		snprintf(why, why_len, "gpu %s: %d VFs recorded, the device has %s %d", g->address,
			 g->numvfs, pf->sriov_total_vfs == GP_UNKNOWN ? "no SR-IOV," : "at most",
			 pf->sriov_total_vfs == GP_UNKNOWN ? 0 : pf->sriov_total_vfs);
	else if (g->backend != GP_BACKEND_SRIOV && pf->vendor != 0x10de)
		snprintf(why, why_len, "gpu %s: backend %s on a device that is not NVIDIA's",
			 g->address, gp_backend_str(g->backend));
	else
		return 0;
	return -EUCLEAN;
}

static int check_mdevs(struct gp_ctx *ctx, const struct gp_gpu_state *g, char *why,
		       size_t why_len)
{
	size_t k, m;

	for (m = 0; m < g->n_mdevs; m++) {
		const struct gp_mdev_state *md = &g->mdevs[m];
		bool ours = strcmp(md->parent, g->address) == 0;
		char dir[128], rel[320];

		for (k = 0; !ours && k < g->n_vfs; k++)
			ours = strcmp(md->parent, g->vfs[k].address) == 0;
		if (!ours) {
			snprintf(why, why_len, "mdev %s: parent %s is neither %s nor one of its VFs",
				 md->uuid, md->parent, g->address);
			return -EUCLEAN;
		}
		/* a parent that exists must offer the type; one that does not (a VF to be
		 * re-created) is checked when the plan writes to it */
		if (gp_hostfs_path(GP_HP_PCI_DEVICE, md->parent, dir, sizeof(dir)) < 0 ||
		    gp_hostfs_exists_at(gp_hostfs_root_fd(ctx), dir) != 1)
			continue;
		snprintf(rel, sizeof(rel), "%s/mdev_supported_types/%s", dir, md->type_key);
		if (gp_hostfs_is_dir_at(gp_hostfs_root_fd(ctx), rel) != 1) {
			snprintf(why, why_len, "mdev %s: %s offers no mdev type %s", md->uuid,
				 md->parent, md->type_key);
			return -EUCLEAN;
		}
	}
	return 0;
}

static int check(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c, char *why,
		 size_t why_len)
{
	const struct gp_gpu_state *g = c->orig;
	struct gp_gpu_change_data *d = c->data;
	struct gp_pci_addr a;
	struct gp_host *host = NULL;
	const struct gp_device *pf;
	size_t k;
	int r;

	(void)txn;
	if (gp_pci_addr_parse(g->address, &a) < 0)
		return -EUCLEAN;
	r = gp_host_scan(ctx, GP_SCAN_ANY_CLASS, &a, 1, &host);
	if (r == -ENODEV) {
		snprintf(why, why_len, "gpu %s: no such device on this host", g->address);
		return -EUCLEAN;
	}
	if (r < 0)
		return r;
	pf = gp_host_find(host, &a);
	r = check_pf(g, &d->ident, pf, why, why_len);
	if (r == 0 && gp_device_path_id(pf, d->path_id, sizeof(d->path_id)) < 0)
		d->path_id[0] = 0; /* no stable path: no layout record may name it */
	for (k = 0; r == 0 && k < g->n_vfs; k++)
		if (!vf_of(ctx, pf, &g->vfs[k])) {
			snprintf(why, why_len, "vf %s: not VF %d of %s", g->vfs[k].address,
				 g->vfs[k].index, g->address);
			r = -EUCLEAN;
		}
	if (r == 0)
		r = check_mdevs(ctx, g, why, why_len);
	gp_host_free(host);
	return r;
}

const struct gp_kind gp_kind_gpu = {
	.tag = "gpu",
	.read = state_read,
	.equal = state_equal,
	.diff = state_diff,
	.refine = refine,
	.encode = encode,
	.decode = decode,
	.check = check,
	.name = state_name,
	.free_state = state_free,
	.free_data = free,
};

/* ---- making changes ---- */

int gp_gpu_change_of(const struct gp_gpu_state *orig, const struct gp_pci_ident *ident,
		     struct gp_change **out)
{
	struct gp_change *c = gp_change_new(&gp_kind_gpu);
	int r = -ENOMEM;

	*out = NULL;
	if (!c)
		return r;
	c->orig = calloc(1, sizeof(struct gp_gpu_state));
	c->data = calloc(1, sizeof(struct gp_gpu_change_data));
	if (c->orig && c->data)
		r = gp_gpu_state_copy(orig, c->orig);
	if (r < 0 && c->orig) {
		free(c->orig);
		c->orig = NULL;
	}
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	((struct gp_gpu_change_data *)c->data)->ident = *ident;
	*out = c;
	return 0;
}

int gp_gpu_change_new(struct gp_ctx *ctx, const struct gp_host *host,
		      const struct gp_gpu_view *view, int count, struct gp_change **out)
{
	const struct gp_device *dev = view->dev;
	struct gp_change *c = gp_change_new(&gp_kind_gpu);
	struct gp_gpu_change_data *d;
	int r;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->orig = calloc(1, sizeof(struct gp_gpu_state));
	c->want = calloc(1, sizeof(struct gp_gpu_state));
	c->data = d = calloc(1, sizeof(*d));
	if (!c->orig || !c->want || !d) {
		gp_change_free(c);
		return -ENOMEM;
	}
	d->ident = (struct gp_pci_ident){ dev->vendor, dev->device, dev->subsystem_vendor,
					  dev->subsystem_device, dev->class_code };
	d->series = view->series;
	d->count = count;
	if (gp_device_path_id(dev, d->path_id, sizeof(d->path_id)) < 0)
		d->path_id[0] = 0;
	r = gp_gpu_state_read(ctx, dev->address, view->backend, c->orig);
	if (r == 0) {
		r = gp_gpu_state_target(host, view, c->orig, count, c->want);
		if (r == -EAGAIN)
			r = 0;
	}
	if (r == 0)
		r = gp_plan_diff(c->orig, c->want, &c->plan);
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	*out = c;
	return 0;
}

bool gp_gpu_change_sets_vf_count(const struct gp_change *c)
{
	const struct gp_gpu_state *cur = c->orig, *want = c->want;

	return want && want->backend == GP_BACKEND_SRIOV && cur->numvfs != want->numvfs;
}

bool gp_gpu_change_enables_vfs(const struct gp_change *c)
{
	const struct gp_gpu_state *cur = c->orig, *want = c->want;

	return want && (cur->numvfs == 0 || cur->numvfs == GP_UNKNOWN) && want->numvfs > 0;
}

bool gp_gpu_change_runs_sriov_manage(const struct gp_change *c)
{
	const struct gp_gpu_state *cur = c->orig, *want = c->want;

	if (!want ||
	    (want->backend != GP_BACKEND_NVIDIA_VFIO && want->backend != GP_BACKEND_NVIDIA_MDEV))
		return false;
	return (cur->numvfs == 0 && want->numvfs > 0) || (cur->numvfs > 0 && want->numvfs == 0);
}
