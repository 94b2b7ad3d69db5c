/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One domain, read and edited for Discrete Device Assignment (see virt.h): the only libvirt
 * calls that write. Each question runs whole in one child bounded in time
 * (virt-bounded.c): libvirt's client has no call timeout, and a define or a shutdown that
 * never returns must not hold the host lock for ever.
 *
 * Why a failed attach is undone by defining the original inactive XML again: that document
 * is the whole persistent definition (virDomainDefineXML replaces it), so it takes back the
 * MMIO edits, the record and every hostdev attached so far in one call, whatever step failed.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <gpupart/virt.h>

#include "base/internal.h"
#include "host/dl.h"
#include "virt/domxml.h"
#include "virt/virt-bounded.h"
#include "virt/virt-internal.h"

#define DOM_SYMBOLS(X)                                                                       \
	X(virConnectOpen) X(virConnectClose) X(virConnectGetHostname) X(virConnectGetURI)      \
	X(virDomainLookupByName) X(virDomainFree) X(virDomainIsActive)                         \
	X(virDomainIsPersistent) X(virDomainGetXMLDesc) X(virDomainDefineXML)                  \
	X(virDomainAttachDeviceFlags) X(virDomainDetachDeviceFlags) X(virDomainShutdown)       \
	X(virDomainDestroy) X(virDomainCreate) X(virDomainSnapshotNum)                         \
	X(virDomainListAllCheckpoints) X(virDomainCheckpointFree) X(virDomainGetUUIDString)

DOM_SYMBOLS(GP_DL_POINTER)

#define virConnectOpen (*dl_virConnectOpen)
#define virConnectClose (*dl_virConnectClose)
#define virConnectGetHostname (*dl_virConnectGetHostname)
#define virConnectGetURI (*dl_virConnectGetURI)
#define virDomainLookupByName (*dl_virDomainLookupByName)
#define virDomainFree (*dl_virDomainFree)
#define virDomainIsActive (*dl_virDomainIsActive)
#define virDomainIsPersistent (*dl_virDomainIsPersistent)
#define virDomainGetXMLDesc (*dl_virDomainGetXMLDesc)
#define virDomainDefineXML (*dl_virDomainDefineXML)
#define virDomainAttachDeviceFlags (*dl_virDomainAttachDeviceFlags)
#define virDomainDetachDeviceFlags (*dl_virDomainDetachDeviceFlags)
#define virDomainShutdown (*dl_virDomainShutdown)
#define virDomainDestroy (*dl_virDomainDestroy)
#define virDomainCreate (*dl_virDomainCreate)
#define virDomainSnapshotNum (*dl_virDomainSnapshotNum)
#define virDomainListAllCheckpoints (*dl_virDomainListAllCheckpoints)
#define virDomainCheckpointFree (*dl_virDomainCheckpointFree)
#define virDomainGetUUIDString (*dl_virDomainGetUUIDString)

static int dl_status = -ECONNREFUSED;
static char dl_error[256];

static void dl_once(void)
{
	/* the library virt.c loaded: one file loads it (tests/unit/test-layers.py) */
	const char *soname = "libvirt";
	void *handle = gp_virt_handle();
	bool ok = handle != NULL;

	if (!ok)
		snprintf(dl_error, sizeof(dl_error), "libvirt is not loaded");
	DOM_SYMBOLS(GP_DL_RESOLVE)
	if (ok)
		dl_status = 0;
}

/* libvirt loaded (virt.c) and these symbols resolved; a connection in *conn. */
static int open_conn(struct gp_ctx *ctx, const char *uri, virConnectPtr *conn)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int r = gp_virt_prepare(ctx, uri);

	*conn = NULL;
	if (r < 0)
		return r;
	pthread_once(&once, dl_once);
	if (dl_status < 0) {
		ERR(ctx, "libvirt: %s", dl_error);
		return dl_status;
	}
	*conn = virConnectOpen(uri);
	if (!*conn)
		return gp_virt_open_error(ctx, uri);
	gp_virt_quiet(*conn);
	return 0;
}

void gp_virt_domain_clear(struct gp_virt_domain *d)
{
	free(d->hostname);
	free(d->xml);
	free(d->cpuset);
	gp_virt_uses_free(d->uses, d->n_uses);
	memset(d, 0, sizeof(*d));
}

int gp_virt_domain_facts(struct gp_virt_domain *d, const char *const *fns, size_t n_fns)
{
	return gp_domxml_facts(d->xml, fns, n_fns, d);
}

struct ask {
	const char *uri, *name;
	const char *const *fns;
	size_t n_fns;
	const struct gp_virt_dda *a;
	bool detach;
	const char *const *mdevs;
	size_t n_mdevs;
};

static int count_checkpoints(virDomainPtr d)
{
	virDomainCheckpointPtr *c = NULL;
	int n = virDomainListAllCheckpoints(d, &c, 0), i;

	for (i = 0; i < n; i++)
		virDomainCheckpointFree(c[i]);
	free(c);
	return n;
}

/* In the child: the domain's facts as "key=value" strings (see gp_virt_domain_inspect). */
static int inspect_child(struct gp_ctx *ctx, void *data, char ***v, size_t *n)
{
	const struct ask *q = data;
	struct gp_virt_use *u = NULL;
	size_t nu = 0, i;
	virConnectPtr conn;
	virDomainPtr d;
	char *host, *uri, me[256] = "", *xml;
	int r = open_conn(ctx, q->uri, &conn);

	if (r < 0)
		return r;
	host = virConnectGetHostname(conn);
	uri = virConnectGetURI(conn);
	gethostname(me, sizeof(me) - 1);
	/* another host: the URI names one, and libvirt there is not this machine */
	r = gp_strv_pushf(v, n, "remote=%d", !gp_virt_uri_is_local(uri ? uri : q->uri) &&
					    !(host && !strcmp(host, me)));
	if (r >= 0 && host)
		r = gp_strv_pushf(v, n, "hostname=%s", host);
	free(host);
	free(uri);
	d = r >= 0 ? virDomainLookupByName(conn, q->name) : NULL;
	if (r >= 0 && d) {
		xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
		r = gp_strv_pushf(v, n, "found=1");
		if (r >= 0)
			r = gp_strv_pushf(v, n, "persistent=%d", virDomainIsPersistent(d) == 1);
		if (r >= 0)
			r = gp_strv_pushf(v, n, "active=%d", virDomainIsActive(d) == 1);
		if (r >= 0)
			r = gp_strv_pushf(v, n, "snapshots=%d", virDomainSnapshotNum(d, 0));
		if (r >= 0)
			r = gp_strv_pushf(v, n, "checkpoints=%d", count_checkpoints(d));
		if (r >= 0 && xml)
			r = gp_strv_pushf(v, n, "xml=%s", xml);
		else if (r >= 0) {
			ERR(ctx, "libvirt: cannot read the XML of domain %s: %s", q->name, gp_virt_msg());
			r = -EIO;
		}
		free(xml);
		virDomainFree(d);
	}
	virConnectClose(conn);
	if (r >= 0)
		r = gp_virt_find_users_here(ctx, q->uri, q->fns, q->n_fns, q->mdevs, q->n_mdevs, &u,
					    &nu);
	for (i = 0; r >= 0 && i < nu; i++)
		r = gp_strv_pushf(v, n, "use=%d %s %s %s", u[i].active | u[i].gpupart << 1,
			 u[i].uuid[0] ? u[i].uuid : "-", u[i].device, u[i].domain);
	gp_virt_uses_free(u, nu);
	return r;
}

static const char *val(const char *s, const char *key)
{
	size_t l = strlen(key);

	return !strncmp(s, key, l) && s[l] == '=' ? s + l + 1 : NULL;
}

int gp_virt_domain_inspect(struct gp_ctx *ctx, const char *uri, int timeout_ms,
			   const char *name, const char *const *fns, size_t n_fns,
			   const char *const *mdevs, size_t n_mdevs, struct gp_virt_domain *d)
{
	const struct ask q = { uri, name, fns, n_fns, NULL, false, mdevs, n_mdevs };
	char **v = NULL;
	size_t n = 0, i;
	int r;

	memset(d, 0, sizeof(*d));
	d->n_snapshots = d->n_checkpoints = -1;
	d->numa_node = -1;
	if (timeout_ms <= 0)
		timeout_ms = GP_VIRT_TIMEOUT_MS_DEFAULT;
	r = gp_virt_bounded_strings(ctx, uri ? uri : "the default URI", timeout_ms, inspect_child,
				    (void *)&q, &v, &n);
	for (i = 0; r >= 0 && i < n; i++) {
		const char *s;

		if ((s = val(v[i], "remote")))
			d->remote = *s == '1';
		else if ((s = val(v[i], "hostname")))
			r = (d->hostname = strdup(s)) ? 0 : -ENOMEM;
		else if ((s = val(v[i], "found")))
			d->found = true;
		else if ((s = val(v[i], "persistent")))
			d->persistent = *s == '1';
		else if ((s = val(v[i], "active")))
			d->active = *s == '1';
		else if ((s = val(v[i], "snapshots")))
			d->n_snapshots = atoi(s);
		else if ((s = val(v[i], "checkpoints")))
			d->n_checkpoints = atoi(s);
		else if ((s = val(v[i], "xml")))
			r = (d->xml = strdup(s)) ? 0 : -ENOMEM;
		else if ((s = val(v[i], "use"))) {
			struct gp_virt_use *e = GP_PUSH(d->uses, d->n_uses);
			char uuid[40], dev[64];
			int off = 0;

			if (!e || sscanf(s, "%*d %39s %63s %n", uuid, dev, &off) < 2 || !off) {
				r = -ENOMEM;
				break;
			}
			e->active = (*s - '0') & 1;
			e->gpupart = (*s - '0') & 2;
			snprintf(e->uuid, sizeof(e->uuid), "%s", strcmp(uuid, "-") ? uuid : "");
			e->device = strdup(dev);
			e->domain = strdup(s + off);
			if (!e->device || !e->domain)
				r = -ENOMEM;
		}
	}
	gp_strv_free(v, n);
	if (r >= 0 && d->xml)
		r = gp_virt_domain_facts(d, n_fns == GP_VIRT_EVERY ? NULL : fns,
					 n_fns == GP_VIRT_EVERY ? 0 : n_fns);
	if (r < 0)
		gp_virt_domain_clear(d);
	return r < 0 ? r : 0;
}

/* ---- the change ---- */

int gp_virt_dda_plan(const char *xml, const struct gp_virt_dda *a, bool detach, char ***lines,
		     size_t *n_lines)
{
	_cleanup_(freep) char *out = NULL;
	int port;

	if (detach)
		return gp_domxml_detach(xml, &out, lines, n_lines);
	port = gp_domxml_free_port(xml);
	if (port < 0 && port != -ENOENT)
		return port;
	return gp_domxml_attach(xml, a, port, port == -ENOENT, &out, lines, n_lines);
}

void gp_virt_dda_result_clear(struct gp_virt_dda_result *r)
{
	gp_strv_free(r->lines, r->n_lines);
	free(r->state_xml);
	memset(r, 0, sizeof(*r));
	r->bus = -1;
}

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Graceful first (ACPI power button: the guest shuts itself down), forced after @ms. */
static int stop(struct gp_ctx *ctx, virDomainPtr d, const char *name, int ms)
{
	double end = now_s() + ms / 1000.0;

	if (virDomainShutdown(d) < 0)
		DBG(ctx, "libvirt: %s: graceful shutdown refused: %s", name, gp_virt_msg());
	while (virDomainIsActive(d) == 1 && now_s() < end)
		usleep(100 * 1000);
	if (virDomainIsActive(d) != 1)
		return 0;
	INFO(ctx, "libvirt: %s did not shut down within %d s: forcing it off", name, ms / 1000);
	if (virDomainDestroy(d) < 0 && virDomainIsActive(d) == 1) {
		ERR(ctx, "libvirt: cannot stop %s: %s", name, gp_virt_msg());
		return -EIO;
	}
	return 0;
}

static int define(struct gp_ctx *ctx, virConnectPtr conn, const char *xml, const char *name)
{
	virDomainPtr d = virDomainDefineXML(conn, xml);

	if (!d) {
		ERR(ctx, "libvirt: cannot define %s: %s", name, gp_virt_msg());
		return -EIO;
	}
	virDomainFree(d);
	return 0;
}

static char *inactive_xml(struct gp_ctx *ctx, virDomainPtr d, const char *name)
{
	char *x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);

	if (!x)
		ERR(ctx, "libvirt: cannot read the XML of domain %s: %s", name, gp_virt_msg());
	return x;
}

static int hostdev(struct gp_ctx *ctx, virDomainPtr d, const char *fn, int bus, bool multi,
		   bool detach, const char *name)
{
	_cleanup_(freep) char *x = NULL;
	int r = gp_domxml_hostdev(fn, detach ? -1 : bus, multi, &x);

	if (r < 0)
		return r;
	r = detach ? virDomainDetachDeviceFlags(d, x, VIR_DOMAIN_AFFECT_CONFIG) :
		     virDomainAttachDeviceFlags(d, x, VIR_DOMAIN_AFFECT_CONFIG);
	if (r < 0) {
		ERR(ctx, "libvirt: cannot %s %s %s %s: %s", detach ? "detach" : "attach", fn,
		    detach ? "from" : "to", name, gp_virt_msg());
		return -EIO;
	}
	return 0;
}

/* The edits of an attach, from the definition @orig; the lines and the bus pushed onto @v. */
static int attach_edits(struct gp_ctx *ctx, virConnectPtr conn, virDomainPtr d,
			const char *orig, const struct gp_virt_dda *a, char ***v, size_t *n)
{
	_cleanup_(freep) char *withport = NULL, *edited = NULL;
	const char *xml = orig;
	char **lines = NULL;
	size_t nl = 0, i;
	int port, r;

	port = gp_domxml_free_port(xml);
	if (port == -ENOENT) {
		/* every root port is taken: one more, numbered by libvirt, is gpupart's */
		r = gp_domxml_add_port(orig, &edited);
		if (r >= 0)
			r = define(ctx, conn, edited, a->domain);
		if (r < 0)
			return r;
		if (!(withport = inactive_xml(ctx, d, a->domain)))
			return -EIO;
		xml = withport;
		port = gp_domxml_free_port(xml);
		free(edited);
		edited = NULL;
	}
	if (port < 0) {
		ERR(ctx, "libvirt: %s: no PCI Express root port for the GPU", a->domain);
		return port == -ENOENT ? -EIO : port;
	}
	r = gp_domxml_attach(xml, a, port, withport != NULL, &edited, &lines, &nl);
	if (r == -EEXIST)
		ERR(ctx, "libvirt: %s holds gpupart's record of an attach already", a->domain);
	if (r >= 0)
		r = define(ctx, conn, edited, a->domain);
	/* tests only: a window to kill gpupart in with the domain half edited */
	if (r >= 0 && getenv("GPUPART_TEST_DDA_PAUSE_MS"))
		usleep((useconds_t)atoi(getenv("GPUPART_TEST_DDA_PAUSE_MS")) * 1000);
	for (i = 0; r >= 0 && i < a->n_fns; i++)
		r = hostdev(ctx, d, a->fns[i], port, i == 0 && a->n_fns > 1, false, a->domain);
	if (r >= 0)
		r = gp_strv_pushf(v, n, "bus=%d", port);
	for (i = 0; r >= 0 && i < nl; i++)
		r = gp_strv_pushf(v, n, "line=%s", lines[i]);
	gp_strv_free(lines, nl);
	return r;
}

static int detach_edits(struct gp_ctx *ctx, virConnectPtr conn, virDomainPtr d,
			const char *orig, const struct gp_virt_dda *a, char ***v, size_t *n)
{
	struct gp_virt_domain f = { 0 };
	_cleanup_(freep) char *now = NULL, *edited = NULL;
	char **lines = NULL;
	size_t nl = 0, i;
	int r;

	/* the other functions first, function 0 (multifunction='on') last */
	for (i = a->n_fns, r = 0; i-- > 0 && r >= 0;) {
		f.n_named = 0;
		r = gp_domxml_facts(orig, &a->fns[i], 1, &f);
		if (r >= 0 && f.n_named)
			r = hostdev(ctx, d, a->fns[i], -1, false, true, a->domain);
	}
	if (r < 0 || !(now = inactive_xml(ctx, d, a->domain)))
		return r < 0 ? r : -EIO;
	r = gp_domxml_detach(now, &edited, &lines, &nl);
	if (r == -ENOENT)
		return 0; /* hostdevs attached by other means: nothing of gpupart's to put back */
	if (r >= 0)
		r = define(ctx, conn, edited, a->domain);
	for (i = 0; r >= 0 && i < nl; i++)
		r = gp_strv_pushf(v, n, "line=%s", lines[i]);
	gp_strv_free(lines, nl);
	return r;
}

/* A partition's <hostdev> each (assign) or without them (unassign), nothing else. */
static int part_edits(struct gp_ctx *ctx, virDomainPtr d, const struct gp_virt_dda *a,
		      bool detach, char ***v, size_t *n)
{
	size_t i;
	int r = 0;

	for (i = 0; r >= 0 && i < a->n_parts; i++) {
		_cleanup_(freep) char *x = NULL;

		r = gp_domxml_part_hostdev(a->parts[i], &x);
		if (r >= 0 && (detach ? virDomainDetachDeviceFlags(d, x, VIR_DOMAIN_AFFECT_CONFIG) :
					virDomainAttachDeviceFlags(d, x, VIR_DOMAIN_AFFECT_CONFIG)) < 0) {
			ERR(ctx, "libvirt: cannot %s %s %s %s: %s", detach ? "detach" : "attach",
			    a->parts[i], detach ? "from" : "to", a->domain, gp_virt_msg());
			r = -EIO;
		}
		if (r >= 0)
			r = gp_strv_pushf(v, n, "line=hostdev %s %s", a->parts[i],
				 detach ? "removed" : "added");
	}
	return r;
}

/* long: the whole change in one child, with its undoing on every path */
static int change_child(struct gp_ctx *ctx, void *data, char ***v, size_t *n)
{
	const struct ask *q = data;
	const struct gp_virt_dda *a = q->a;
	_cleanup_(freep) char *orig = NULL;
	virConnectPtr conn;
	virDomainPtr d;
	bool active;
	int r = open_conn(ctx, q->uri, &conn), u;

	if (r < 0)
		return r;
	d = virDomainLookupByName(conn, a->domain);
	if (!d) {
		ERR(ctx, "libvirt: no domain %s", a->domain);
		virConnectClose(conn);
		return -ENOENT;
	}
	active = virDomainIsActive(d) == 1;
	if (active && !a->restart) {
		ERR(ctx, "libvirt: %s is running", a->domain);
		r = -EBUSY;
		goto out;
	}
	if (!(orig = inactive_xml(ctx, d, a->domain))) {
		r = -EIO;
		goto out;
	}
	/* where a kill leaves it half edited, this is the definition to put back */
	DBG(ctx, "libvirt: %s: the definition before: %s", a->domain, orig);
	if (active && (r = stop(ctx, d, a->domain, a->shutdown_ms)) < 0)
		goto out;
	if (a->n_parts)
		r = part_edits(ctx, d, a, q->detach, v, n);
	else
		r = q->detach ? detach_edits(ctx, conn, d, orig, a, v, n) :
				attach_edits(ctx, conn, d, orig, a, v, n);
	if (r >= 0 && active && virDomainCreate(d) < 0) {
		ERR(ctx, "libvirt: %s does not start with the change: %s", a->domain, gp_virt_msg());
		gp_strv_pushf(v, n, "start_failed=1");
		r = -EIO;
	}
	if (r < 0) {
		/* the whole definition as it was: the edits and every hostdev taken back */
		u = define(ctx, conn, orig, a->domain);
		gp_strv_pushf(v, n, "undone=%d", u == 0);
		if (u == 0 && active && virDomainCreate(d) < 0)
			ERR(ctx, "libvirt: %s does not start again as it was: %s", a->domain,
			    gp_virt_msg());
		else if (u == 0 && active)
			gp_strv_pushf(v, n, "restarted=1");
	} else if (active) {
		gp_strv_pushf(v, n, "restarted=1");
	}
	if (r >= 0) {
		/* the state it left, read on the same connection: the transaction's verify */
		char *after = inactive_xml(ctx, d, a->domain);

		if (after && gp_strv_pushf(v, n, "state_active=%d", virDomainIsActive(d) == 1) >= 0)
			gp_strv_pushf(v, n, "state_xml=%s", after);
		free(after);
	}
out:
	virDomainFree(d);
	virConnectClose(conn);
	return r;
}

int gp_virt_dda_change(struct gp_ctx *ctx, const char *uri, int timeout_ms,
		       const struct gp_virt_dda *a, bool detach, struct gp_virt_dda_result *res)
{
	const struct ask q = { uri, a->domain, a->fns, a->n_fns, a, detach };
	char **v = NULL;
	size_t n = 0, i;
	int r, rr = 0;

	memset(res, 0, sizeof(*res));
	res->bus = -1;
	if (timeout_ms <= 0)
		timeout_ms = GP_VIRT_TIMEOUT_MS_DEFAULT;
	/* a few calls (define, one attach per function, start) and the shutdown's wait */
	timeout_ms = 3 * timeout_ms + (a->restart ? a->shutdown_ms : 0);
	r = gp_virt_bounded_strings(ctx, uri ? uri : "the default URI", timeout_ms, change_child,
				    (void *)&q, &v, &n);
	for (i = 0; i < n && rr >= 0; i++) {
		const char *s;

		if ((s = val(v[i], "bus")))
			res->bus = atoi(s);
		else if ((s = val(v[i], "restarted")))
			res->restarted = true;
		else if ((s = val(v[i], "undone")))
			res->undone = *s == '1';
		else if ((s = val(v[i], "start_failed")))
			res->start_failed = true;
		else if ((s = val(v[i], "state_active")))
			res->state_active = *s == '1';
		else if ((s = val(v[i], "state_xml")))
			rr = (res->state_xml = strdup(s)) ? 0 : -ENOMEM;
		else if ((s = val(v[i], "line")))
			rr = gp_strv_pushf(&res->lines, &res->n_lines, "%s", s);
	}
	gp_strv_free(v, n);
	return r < 0 ? r : rr;
}

/* ---- the context's libvirt (gp_ctx_virt): the transaction's domain kind reads and steps ---- */

struct read_args {
	const char *uri, *name;
};

static int read_child(struct gp_ctx *ctx, void *data, char ***v, size_t *n)
{
	const struct read_args *a = data;
	virConnectPtr conn;
	virDomainPtr d;
	char *xml;
	int r = open_conn(ctx, a->uri, &conn);

	if (r < 0)
		return r;
	d = virDomainLookupByName(conn, a->name);
	if (!d) {
		virConnectClose(conn);
		return -ENOENT;
	}
	xml = inactive_xml(ctx, d, a->name);
	r = xml ? gp_strv_pushf(v, n, "active=%d", virDomainIsActive(d) == 1) : -EIO;
	if (r >= 0)
		r = gp_strv_pushf(v, n, "xml=%s", xml);
	free(xml);
	virDomainFree(d);
	virConnectClose(conn);
	return r;
}

/*
 * The last state read or left by a step, for the read that follows at once: a transaction
 * reads a domain three times around its one step (the original to journal, the state its run
 * starts from, the verify), each a child that loads libvirt and connects again
 * (bench/RESULTS.md). The next read of the same domain within CACHE_MS takes this one
 * instead; any step drops it before it runs, and a step that changed the domain leaves the
 * state it read right after, on its own connection. The original is always read under the
 * host lock, never taken from a question asked before it: a failed change is undone by
 * defining the journaled definition again, which must be the one the domain had when it was
 * changed, or an admin's edit made meanwhile would be undone with it.
 */
#define CACHE_MS 1000
static struct {
	char *uri, *name, *xml;
	bool active;
	double at;
} cache;

static void cache_drop(void)
{
	free(cache.uri);
	free(cache.name);
	free(cache.xml);
	memset(&cache, 0, sizeof(cache));
}

static void cache_set(const char *uri, const char *name, const char *xml, bool active)
{
	cache_drop();
	cache.uri = uri ? strdup(uri) : NULL;
	cache.name = strdup(name);
	cache.xml = strdup(xml);
	cache.active = active;
	cache.at = now_s();
	if (!cache.name || !cache.xml || (uri && !cache.uri))
		cache_drop();
}

static bool cache_get(const char *uri, const char *name, char **xml, bool *active)
{
	if (!cache.name || strcmp(cache.name, name) || !gp_str_eq(cache.uri, uri) ||
	    now_s() - cache.at > CACHE_MS / 1000.0)
		return false;
	*xml = strdup(cache.xml);
	*active = cache.active;
	return *xml != NULL;
}

static int ctx_read(struct gp_ctx *ctx, const char *uri, const char *name, char **xml,
		    bool *active)
{
	const struct read_args a = { uri, name };
	char **v = NULL;
	size_t n = 0, i;
	int r, t = gp_ctx_virt_timeout(ctx);

	*xml = NULL;
	*active = false;
	if (cache_get(uri, name, xml, active))
		return 0;
	r = gp_virt_bounded_strings(ctx, uri ? uri : "the default URI",
				    t > 0 ? t : GP_VIRT_TIMEOUT_MS_DEFAULT, read_child, (void *)&a,
				    &v, &n);
	for (i = 0; r >= 0 && i < n; i++) {
		const char *s;

		if ((s = val(v[i], "active")))
			*active = *s == '1';
		else if ((s = val(v[i], "xml")) && !(*xml = strdup(s)))
			r = -ENOMEM;
	}
	gp_strv_free(v, n);
	if (r >= 0 && !*xml)
		r = -EIO;
	if (r < 0) {
		free(*xml);
		*xml = NULL;
	} else {
		cache_set(uri, name, *xml, *active);
	}
	return r;
}

struct put_args {
	const char *uri, *name, *xml;
	bool active;
};

/* The journal's definition back, and the domain running or not as it was. */
static int put_back_child(struct gp_ctx *ctx, void *data, char ***v, size_t *n)
{
	const struct put_args *a = data;
	virConnectPtr conn;
	virDomainPtr d;
	int r = open_conn(ctx, a->uri, &conn), now;

	(void)v;
	(void)n;
	if (r < 0)
		return r;
	d = virDomainLookupByName(conn, a->name);
	now = d ? virDomainIsActive(d) == 1 : 0;
	/* a running domain's next start takes the definition: stop it first when it must */
	if (d && now && !a->active && virDomainDestroy(d) < 0)
		r = -EIO;
	if (r >= 0)
		r = define(ctx, conn, a->xml, a->name);
	if (r >= 0 && d && a->active && !now && virDomainCreate(d) < 0) {
		ERR(ctx, "libvirt: cannot start %s again: %s", a->name, gp_virt_msg());
		r = -EIO;
	}
	if (d)
		virDomainFree(d);
	virConnectClose(conn);
	return r;
}

static struct gp_virt_dda_result last;

void gp_virt_dda_last(struct gp_virt_dda_result *out)
{
	*out = last;
	memset(&last, 0, sizeof(last));
	last.bus = -1;
}

static int ctx_step(struct gp_ctx *ctx, const char *name, const char *value)
{
	char verb[16], uri[512], **fns = NULL;
	const char *body = strchr(value, '\n');
	struct gp_virt_dda a = { .domain = name };
	size_t n = 0;
	int active = 0, r, t = gp_ctx_virt_timeout(ctx);

	cache_drop();
	if (!body || sscanf(value, "%15s %511s %d", verb, uri, &active) < 2)
		return -EINVAL;
	body++;
	if (!strcmp(verb, "define")) {
		const struct put_args p = { strcmp(uri, "-") ? uri : NULL, name, body, active == 1 };
		char **v = NULL;
		size_t nv = 0;

		r = gp_virt_bounded_strings(ctx, p.uri ? p.uri : "the default URI",
					    2 * (t > 0 ? t : GP_VIRT_TIMEOUT_MS_DEFAULT),
					    put_back_child, (void *)&p, &v, &nv);
		gp_strv_free(v, nv);
		return r;
	}
	if (!strcmp(verb, "assign") || !strcmp(verb, "unassign"))
		r = gp_virt_payload_parts(body, &a, &fns, &n);
	else if (!strcmp(verb, "attach") || !strcmp(verb, "detach"))
		r = gp_virt_payload_dda(body, &a, &fns, &n);
	else
		return -EINVAL;
	if (r >= 0) {
		gp_virt_dda_result_clear(&last);
		r = gp_virt_dda_change(ctx, strcmp(uri, "-") ? uri : NULL, t, &a,
				       !strcmp(verb, "detach") || !strcmp(verb, "unassign"), &last);
		if (r >= 0 && last.state_xml)
			cache_set(strcmp(uri, "-") ? uri : NULL, name, last.state_xml,
				  last.state_active);
	}
	gp_strv_free(fns, n);
	return r;
}

const struct gp_ctx_virt gp_virt_ctx_ops = { ctx_read, ctx_step };
