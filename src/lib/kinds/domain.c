/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The domain kind (kinds/domain.h). The state is the domain's inactive XML and whether it
 * runs; an attach's want is not an XML (libvirt numbers what it adds) but a condition:
 * gpupart's record in its <metadata> and a <hostdev> per function (detach: neither), read with
 * libxml2 through host/xml.h. Back to the journal the want is the exact XML.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "base/internal.h"
#include "host/xml.h"
#include "kinds/domain.h"

#define MAX_BYTES (4 << 20) /* a domain definition is a few KiB; libvirt caps XML at 10 MiB */
#define RECORD_XPATH                                                                         \
	"metadata/*[local-name()='dda' and namespace-uri()='https://gpupart.org/xmlns/dda/1']"

struct dom_state {
	char *uri;       /* NULL: libvirt's default */
	char *name;
	char *xml;       /* the inactive XML; NULL in an attach or detach want */
	bool active;
	char *payload;   /* want only: the GP_STEP_DOMAIN value of the attach or detach */
	char **fns;      /* want only: the functions it names (or, detach, no longer names) */
	size_t n_fns;
	bool detach;
	bool parts;      /* want only: fns are partitions ("pci ADDR", "mdev UUID"), no record */
};

static void state_free(void *state)
{
	struct dom_state *s = state;

	if (!s)
		return;
	free(s->uri);
	free(s->name);
	free(s->xml);
	free(s->payload);
	gp_strv_free(s->fns, s->n_fns);
	free(s);
}

static int state_read(struct gp_ctx *ctx, const void *like, void **cur)
{
	const struct dom_state *l = like;
	struct dom_state *s;
	int r;

	*cur = NULL;
	if (!ctx->virt) {
		ERR(ctx, "domain %s: no libvirt here to read it", l->name);
		return -ENOTSUP;
	}
	s = calloc(1, sizeof(*s));
	if (!s || !(s->name = strdup(l->name)) || (l->uri && !(s->uri = strdup(l->uri)))) {
		state_free(s);
		return -ENOMEM;
	}
	r = ctx->virt->read(ctx, l->uri, l->name, &s->xml, &s->active);
	if (r < 0) {
		state_free(s);
		return r;
	}
	*cur = s;
	return 0;
}

static int count(const struct gp_xml_node *n, void *data)
{
	(void)n;
	(*(int *)data)++;
	return 0;
}

/* How many nodes @xpath selects in @xml's <domain>; -1 when it does not parse. */
static int select_n(const char *xml, const char *xpath)
{
	struct gp_xml_doc *doc;
	int n = 0;

	if (!xml || gp_xml_parse(NULL, "domain XML", xml, strlen(xml), GP_XML_NO_DOCTYPE, &doc) < 0)
		return -1;
	if (gp_xml_each(doc, gp_xml_root(doc), xpath, count, &n) < 0)
		n = -1;
	gp_xml_free(doc);
	return n;
}

/* Whether @xml's <hostdev>s name @fn ("dddd:bb:dd.f"), as libvirt writes the address. */
static bool names(const char *xml, const char *fn)
{
	unsigned d, b, s, f;
	char xp[256];

	if (sscanf(fn, "%x:%x:%x.%x", &d, &b, &s, &f) != 4)
		return false;
	snprintf(xp, sizeof(xp),
		 "devices/hostdev[@type='pci']/source/address[@domain='0x%04x' and @bus='0x%02x' "
		 "and @slot='0x%02x' and @function='0x%x']",
		 d, b, s, f);
	return select_n(xml, xp) > 0;
}

/* Whether @xml's <hostdev>s name partition @part ("pci ADDR" or "mdev UUID"). */
static bool names_part(const char *xml, const char *part)
{
	char xp[256];

	if (strncmp(part, "mdev ", 5))
		return names(xml, part + 4);
	snprintf(xp, sizeof(xp), "devices/hostdev[@type='mdev']/source/address[@uuid='%s']",
		 part + 5);
	return select_n(xml, xp) > 0;
}

static bool state_equal(const void *cur, const void *want)
{
	const struct dom_state *c = cur, *w = want;
	size_t i;

	if (c->active != w->active)
		return false;
	if (w->xml)
		return c->xml && !strcmp(c->xml, w->xml);
	for (i = 0; w->parts && i < w->n_fns; i++)
		if (names_part(c->xml, w->fns[i]) == w->detach)
			return false;
	if (w->parts)
		return true;
	if ((select_n(c->xml, RECORD_XPATH) > 0) == w->detach)
		return false;
	for (i = 0; i < w->n_fns; i++)
		if (names(c->xml, w->fns[i]) == w->detach)
			return false;
	return true;
}

static int state_diff(const void *cur, const void *want, struct gp_plan *plan)
{
	const struct dom_state *w = want;
	_cleanup_(freep) char *value = NULL;

	if (state_equal(cur, want))
		return 0;
	if (w->xml && asprintf(&value, "define %s %d\n%s", w->uri ? w->uri : "-", w->active,
			       w->xml) < 0)
		return -ENOMEM;
	return gp_plan_add(plan, GP_STEP_DOMAIN, "", w->name, w->xml ? value : w->payload) ?
		       0 : -ENAMETOOLONG;
}

static const char *state_name(const void *state)
{
	return ((const struct dom_state *)state)->name;
}

static int encode(const struct gp_change *c, struct gp_rec_out *out)
{
	const struct dom_state *s = c->orig;
	_cleanup_(freep) char *blob = NULL;
	int n;

	n = asprintf(&blob, "%s\n%s\n%d\n%s", s->uri ? s->uri : "-", s->name, s->active, s->xml);
	if (n < 0)
		return -ENOMEM;
	gp_rec_printf(out, "domain");
	gp_rec_put_hex(out, blob, (size_t)n);
	return out->err;
}

/* "URI\nNAME\nACTIVE\nXML" back into @s. */
static const char *split(char *blob, struct dom_state *s)
{
	char *uri = blob, *name, *act, *xml;

	if (!(name = strchr(uri, '\n')) || !(act = strchr(name + 1, '\n')) ||
	    !(xml = strchr(act + 1, '\n')))
		return "a domain record cut short";
	*name++ = *act++ = *xml++ = '\0';
	if (strcmp(act, "0") && strcmp(act, "1"))
		return "a domain record's running state is neither 0 nor 1";
	if (!*name || !*xml)
		return "a domain record without a name or a definition";
	s->active = *act == '1';
	if ((strcmp(uri, "-") && !(s->uri = strdup(uri))) || !(s->name = strdup(name)) ||
	    !(s->xml = strdup(xml)))
		return "out of memory";
	return NULL;
}

static const char *decode(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			  struct gp_change *c, size_t *bad)
{
	_cleanup_(freep) char *blob = NULL;
	struct dom_state *s;
	const char *why = NULL;
	size_t len = 0, i;

	(void)before;
	*bad = 0;
	if (recs[0].n != 1)
		return "a domain record with fields";
	c->orig = s = calloc(1, sizeof(*s));
	if (!s || !(blob = strdup("")))
		return "out of memory";
	for (i = 1; !why && i < n; i++) {
		*bad = i;
		if (strcmp(recs[i].tok[0], "data") || recs[i].n != 2)
			why = "an unknown record";
		else
			why = gp_rec_add_hex(&blob, &len, MAX_BYTES, recs[i].tok[1]);
	}
	if (!why && strlen(blob) != len)
		why = "a NUL in a domain record";
	return why ? why : split(blob, s);
}

/* The domain must still be there: `repair` defines what the journal says only over the
 * domain it was read from, never a new one of the same name made meanwhile... as far as a
 * name can tell (libvirt keeps the UUID in the XML, which the definition put back carries). */
static int check(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c, char *why,
		 size_t why_len)
{
	struct dom_state *now = NULL;
	int r;

	(void)txn;
	r = state_read(ctx, c->orig, (void **)&now);
	if (r == -ENOENT)
		snprintf(why, why_len, "domain %s is gone", state_name(c->orig));
	else if (r < 0)
		snprintf(why, why_len, "domain %s cannot be read: %s", state_name(c->orig),
			 strerror(-r));
	state_free(now);
	return r < 0 ? -EUCLEAN : 0;
}

const struct gp_kind gp_kind_domain = {
	.tag = "domain",
	.flags = GP_KIND_NEEDS_LIBVIRT,
	.read = state_read,
	.equal = state_equal,
	.diff = state_diff,
	.encode = encode,
	.decode = decode,
	.check = check,
	.name = state_name,
	.free_state = state_free,
};

/* "assign URI\nparts=pci/ADDR,mdev/UUID restart=R shutdown=MS" (virt/domain.c reads it) */
static char *parts_payload(const struct gp_domain_want *w)
{
	char *s = NULL, *list = strdup(""), *t;
	size_t i;

	for (i = 0; list && i < w->n_parts; i++) {
		const char *sp = strchr(w->parts[i], ' ');

		t = NULL;
		if (!sp || asprintf(&t, "%s%s%.*s/%s", list, i ? "," : "",
				    (int)(sp - w->parts[i]), w->parts[i], sp + 1) < 0)
			t = NULL;
		free(list);
		list = t;
	}
	if (list && asprintf(&s, "%s %s\nparts=%s restart=%d shutdown=%d",
			     w->detach ? "unassign" : "assign", w->uri ? w->uri : "-", list,
			     w->restart, w->shutdown_ms) < 0)
		s = NULL;
	free(list);
	return s;
}

static char *payload(const struct gp_domain_want *w)
{
	char *s = NULL, *fns = strdup(""), *t;
	size_t i;

	if (w->n_parts) {
		free(fns);
		return parts_payload(w);
	}
	for (i = 0; fns && i < w->n_fns; i++) {
		t = NULL;
		if (asprintf(&t, "%s%s%s", fns, i ? "," : "", w->fns[i]) < 0)
			t = NULL;
		free(fns);
		fns = t;
	}
	if (fns && asprintf(&s, "%s %s\nfns=%s window=%" PRIu64 " bits=%d restart=%d shutdown=%d",
			    w->detach ? "detach" : "attach", w->uri ? w->uri : "-", fns, w->window,
			    w->phys_bits, w->restart, w->shutdown_ms) < 0)
		s = NULL;
	free(fns);
	return s;
}

int gp_domain_change_new(struct gp_ctx *ctx, const struct gp_domain_want *w,
			 struct gp_change **out)
{
	struct gp_change *c = gp_change_new(&gp_kind_domain);
	struct dom_state like = { .uri = (char *)w->uri, .name = (char *)w->name }, *want;
	size_t i;
	int r = 0;

	*out = NULL;
	if (!c)
		return -ENOMEM;
	c->want = want = calloc(1, sizeof(*want));
	if (!want || !(want->name = strdup(w->name)) || (w->uri && !(want->uri = strdup(w->uri))))
		r = -ENOMEM;
	for (i = 0; r >= 0 && i < (w->n_parts ? w->n_parts : w->n_fns); i++) {
		char *f = strdup(w->n_parts ? w->parts[i] : w->fns[i]);

		r = f ? gp_strv_push(&want->fns, &want->n_fns, f) : -ENOMEM;
	}
	if (r >= 0) {
		want->parts = w->n_parts > 0;
		want->detach = w->detach;
		r = state_read(ctx, &like, &c->orig);
	}
	if (r >= 0 && !(want->payload = payload(w)))
		r = -ENOMEM;
	if (r >= 0) {
		/* the domain runs afterwards as it runs now (--restart starts it again) */
		want->active = ((struct dom_state *)c->orig)->active;
		r = state_diff(c->orig, c->want, &c->plan);
	}
	if (r < 0) {
		gp_change_free(c);
		return r;
	}
	*out = c;
	return 0;
}
