/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt, read-only: which domains name a device. THE ONLY FILE THAT INCLUDES
 * <libvirt/libvirt.h>.
 *
 * Domain XML is parsed here (with libxml2, through host/xml.h) rather than asked of libvirt
 * because the hook path has only the XML on stdin and must never connect back to libvirt
 * (reliability.md section 5).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <strings.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <gpupart/virt.h>

#include "base/internal.h"
#include "host/dl.h"
#include "host/xml.h"
#include "virt/virt-bounded.h"
#include "virt/virt-internal.h"

/*
 * libvirt and libxml2 (host/xml.c) are loaded when first needed, not linked: together they
 * pull in some 50 shared objects (GnuTLS, ICU, GLib, Kerberos...), which tripled the time and
 * quadrupled the memory of every `gpupart list` that never talks to libvirt (bench/RESULTS.md). The
 * headers still type every call: each function below is called through a pointer of its own
 * declared type, and the names are redirected to those pointers by macros, so the code reads
 * as if linked. A host without libvirt is a host where no libvirt is reachable.
 */
#define VIRT_SYMBOLS(X)                                                                      \
	X(virConnSetErrorFunc) X(virConnectClose) X(virConnectListAllDomains)                  \
	X(virConnectOpenReadOnly) X(virDomainFree) X(virDomainGetName)                         \
	X(virDomainGetUUIDString) X(virDomainGetXMLDesc) X(virDomainIsActive)                  \
	X(virDomainIsPersistent) X(virEventAddTimeout) X(virEventRegisterDefaultImpl)          \
	X(virEventRemoveTimeout) X(virEventRunDefaultImpl) X(virGetLastError)                  \
	X(virGetLastErrorMessage) X(virInitialize) X(virSetErrorFunc)

VIRT_SYMBOLS(GP_DL_POINTER)

#define virConnSetErrorFunc (*dl_virConnSetErrorFunc)
#define virConnectClose (*dl_virConnectClose)
#define virConnectListAllDomains (*dl_virConnectListAllDomains)
#define virConnectOpenReadOnly (*dl_virConnectOpenReadOnly)
#define virDomainFree (*dl_virDomainFree)
#define virDomainGetName (*dl_virDomainGetName)
#define virDomainGetUUIDString (*dl_virDomainGetUUIDString)
#define virDomainGetXMLDesc (*dl_virDomainGetXMLDesc)
#define virDomainIsActive (*dl_virDomainIsActive)
#define virDomainIsPersistent (*dl_virDomainIsPersistent)
#define virEventAddTimeout (*dl_virEventAddTimeout)
#define virEventRegisterDefaultImpl (*dl_virEventRegisterDefaultImpl)
#define virEventRemoveTimeout (*dl_virEventRemoveTimeout)
#define virEventRunDefaultImpl (*dl_virEventRunDefaultImpl)
#define virGetLastError (*dl_virGetLastError)
#define virGetLastErrorMessage (*dl_virGetLastErrorMessage)
#define virInitialize (*dl_virInitialize)
#define virSetErrorFunc (*dl_virSetErrorFunc)

static int dl_virt_status = -ECONNREFUSED;
static char dl_error[256];
static void *dl_virt_handle;

void *gp_virt_handle(void)
{
	return dl_virt_status == 0 ? dl_virt_handle : NULL;
}

static bool dl_open(const char *soname, void **handle)
{
	*handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	if (!*handle)
		snprintf(dl_error, sizeof(dl_error), "%s", dlerror());
	return *handle != NULL;
}

/* libvirt apart from libxml2: the domain XML parser (the hook path) needs only libxml2, and
 * a process that only parses must not load libvirt (see gp_virt_find_users) */
static void dl_load_virt_once(void)
{
	const char *soname = "libvirt.so.0";
	void *handle;
	bool ok;

	if (gp_xml_load() < 0)
		return;
	ok = dl_open(soname, &handle);
	VIRT_SYMBOLS(GP_DL_RESOLVE)
	if (ok) {
		dl_virt_handle = handle;
		dl_virt_status = 0;
	}
}

/*
 * 0 when libxml2 (and, with @virt, libvirt) could be loaded; the error is logged. No libvirt
 * to load is no libvirt to reach: at info for the default URI, an error for a named one.
 */
static int dl_load(struct gp_ctx *ctx, bool virt, const char *uri)
{
	static pthread_once_t virt_once = PTHREAD_ONCE_INIT;
	int r = gp_xml_load();

	if (virt)
		pthread_once(&virt_once, dl_load_virt_once);
	if (virt && dl_virt_status < 0) {
		/* libvirt needs libxml2 too: either missing means no libvirt on this host */
		gp_log(ctx, uri ? GP_LOG_ERR : GP_LOG_INFO,
		       "libvirt is not installed (%s): no libvirt to ask%s%s",
		       r < 0 ? gp_xml_load_error() : dl_error, uri ? " at " : "", uri ? uri : "");
		return -ECONNREFUSED;
	}
	if (r < 0)
		ERR(ctx, "cannot load libxml2: %s", gp_xml_load_error());
	return r;
}

struct query {
	const char *const *pci;
	size_t n_pci;
	const char *const *mdev;
	size_t n_mdev;
};

struct uses {
	struct gp_virt_use *v;
	size_t n;
};

void gp_virt_uses_free(struct gp_virt_use *v, size_t n)
{
	size_t i;

	if (!v)
		return;
	for (i = 0; i < n; i++) {
		free(v[i].domain);
		free(v[i].device);
	}
	free(v);
}

/*
 * One use per (domain, device): a running domain's live and persistent XML usually both name
 * it. The domain is keyed by UUID (names are reused over time), by name when there is none.
 */
static int add_use(struct uses *u, const char *name, const char *uuid, bool active,
		   bool gpupart, const char *device)
{
	struct gp_virt_use *e;
	size_t i;

	for (i = 0; i < u->n; i++) {
		e = &u->v[i];
		if (strcmp(e->device, device))
			continue;
		if (*uuid ? !strcmp(e->uuid, uuid) : !strcmp(e->domain, name)) {
			e->active |= active;
			e->gpupart |= gpupart;
			return 0;
		}
	}
	e = GP_PUSH(u->v, u->n);
	if (!e)
		return -ENOMEM;
	e->domain = strdup(name);
	e->device = strdup(device);
	if (!e->domain || !e->device) {
		free(e->domain);
		free(e->device);
		u->n--;
		return -ENOMEM;
	}
	snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
	e->active = active;
	e->gpupart = gpupart;
	return 0;
}

/* ---- domain XML ---- */

/*
 * libvirt reads PCI address attributes with strtoul base 0 (virXMLPropUInt): "0x43", "67"
 * and even "043" (octal) are the same kind of number; a missing one is 0. Anything it would
 * reject (sign, trailing text, out of range) names no device here either.
 */
static int prop_uint(const struct gp_xml_node *n, const char *name, unsigned long max,
		     unsigned *out)
{
	_cleanup_(freep) char *s = gp_xml_prop(n, name);
	unsigned long v;
	char *end;

	*out = 0;
	if (!s)
		return 0;
	errno = 0;
	v = strtoul(s, &end, 0);
	if (strchr(s, '-') || end == s || *end || errno || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* The source @addr names, as the query spells it, into @out (DEVICE_LEN): 1, or 0 when it is
 * none of the query's (every one is, for GP_VIRT_EVERY). */
#define DEVICE_LEN 48

static int match_pci(const struct gp_xml_node *addr, const struct query *q, char *out)
{
	unsigned dom, bus, slot, fn;
	char buf[24];
	size_t i;

	if (prop_uint(addr, "domain", UINT_MAX, &dom) < 0 ||
	    prop_uint(addr, "bus", 0xff, &bus) < 0 ||
	    prop_uint(addr, "slot", 0x1f, &slot) < 0 ||
	    prop_uint(addr, "function", 7, &fn) < 0)
		return 0;
	snprintf(buf, sizeof(buf), "%04x:%02x:%02x.%x", dom, bus, slot, fn);
	if (q->n_pci == GP_VIRT_EVERY) {
		snprintf(out, DEVICE_LEN, "%s", buf);
		return 1;
	}
	for (i = 0; i < q->n_pci; i++) {
		if (q->pci[i] && !strcasecmp(q->pci[i], buf)) {
			snprintf(out, DEVICE_LEN, "%s", q->pci[i]);
			return 1;
		}
	}
	return 0;
}

static int match_mdev(const struct gp_xml_node *addr, const struct query *q, char *out)
{
	_cleanup_(freep) char *uuid = gp_xml_prop(addr, "uuid");
	size_t i;

	if (!uuid || strlen(uuid) >= DEVICE_LEN)
		return 0;
	if (q->n_mdev == GP_VIRT_EVERY) {
		for (i = 0; uuid[i]; i++)
			out[i] = (char)tolower((unsigned char)uuid[i]);
		out[i] = 0;
		return 1;
	}
	for (i = 0; i < q->n_mdev; i++) {
		if (q->mdev[i] && !strcasecmp(q->mdev[i], uuid)) {
			snprintf(out, DEVICE_LEN, "%s", q->mdev[i]);
			return 1;
		}
	}
	return 0;
}

/* Sources, relative to <domain>. A <hostdev> without mode is a subsystem one (libvirt's
 * default); <interface type='hostdev'> sources carry type='pci' on their address. */
#define HOSTDEV "devices/hostdev[(not(@mode) or @mode='subsystem') and "
#define BY_GPUPART "alias[starts-with(@name, '" GP_VIRT_ALIAS_PREFIX "')] and "
static const struct {
	const char *xpath;
	int (*match)(const struct gp_xml_node *addr, const struct query *q, char *out);
	bool gpupart; /* only the hostdevs assign made (its alias) */
} sources[] = {
	{ HOSTDEV "@type='pci']/source/address", match_pci, false },
	{ "devices/interface[@type='hostdev']/source/address[not(@type) or @type='pci']",
	  match_pci, false },
	{ HOSTDEV "@type='mdev']/source/address", match_mdev, false },
	{ HOSTDEV BY_GPUPART "@type='pci']/source/address", match_pci, true },
	{ HOSTDEV BY_GPUPART "@type='mdev']/source/address", match_mdev, true },
};

/* Text of the first child element @name of @parent, trimmed; NULL when absent. */
static char *child_text(const struct gp_xml_node *parent, const char *name)
{
	const struct gp_xml_node *c = gp_xml_child(parent, name);

	return c ? gp_xml_text(c) : NULL;
}

/* One source address: the domain's use of a queried device, when it names one. */
struct scan_one {
	const struct query *q;
	int (*match)(const struct gp_xml_node *addr, const struct query *q, char *out);
	struct uses *u;
	const char *name, *uuid;
	bool active, gpupart;
};

static int scan_address(const struct gp_xml_node *addr, void *data)
{
	const struct scan_one *s = data;
	char device[DEVICE_LEN];

	if (!s->match(addr, s->q, device))
		return 0;
	return add_use(s->u, s->name, s->uuid, s->active, s->gpupart, device);
}

static int scan_domain(const struct gp_xml_doc *doc, const struct gp_xml_node *dom,
		       const struct query *q, bool active, const char *uuid_fallback,
		       struct uses *u)
{
	_cleanup_(freep) char *name = NULL;
	_cleanup_(freep) char *uuid_xml = NULL;
	char uuid[37] = "";
	size_t i;
	int j, r = 0;

	name = child_text(dom, "name");
	uuid_xml = child_text(dom, "uuid");
	if (!name && !(name = strdup("")))
		return -ENOMEM;
	snprintf(uuid, sizeof(uuid), "%s", uuid_xml ? uuid_xml : uuid_fallback ? uuid_fallback : "");
	for (j = 0; uuid[j]; j++)
		uuid[j] = tolower((unsigned char)uuid[j]);
	for (i = 0; i < ARRAY_SIZE(sources) && r >= 0; i++) {
		struct scan_one s = { q, sources[i].match, u, name, uuid, active,
				      sources[i].gpupart };

		r = gp_xml_each(doc, dom, sources[i].xpath, scan_address, &s);
	}
	return r;
}

static int parse_xml(struct gp_ctx *ctx, const char *xml, const struct query *q, bool active,
		     const char *uuid_fallback, struct uses *u)
{
	const struct gp_xml_node *root;
	struct gp_xml_doc *doc;
	int r;

	if (!xml)
		return -EINVAL;
	/* libvirt never writes a DOCTYPE; one here can only be there to expand entities */
	r = gp_xml_parse(ctx, "domain XML", xml, strlen(xml), GP_XML_NO_DOCTYPE, &doc);
	if (r < 0)
		return r;
	root = gp_xml_root(doc);
	/* the status XML libvirt keeps for running domains wraps <domain> in <domstatus> */
	if (!strcmp(gp_xml_name(root), "domstatus"))
		root = gp_xml_child(root, "domain");
	if (!root || strcmp(gp_xml_name(root), "domain"))
		r = -EINVAL;
	else
		r = scan_domain(doc, root, q, active, uuid_fallback, u);
	gp_xml_free(doc);
	return r;
}

int gp_virt_parse_domain_xml(const char *xml, const char *const *pci_addrs, size_t n_pci,
			     const char *const *mdev_uuids, size_t n_mdev, struct gp_virt_use **out,
			     size_t *n_out)
{
	const struct query q = { pci_addrs, n_pci, mdev_uuids, n_mdev };
	struct uses u = { NULL, 0 };
	int r;

	*out = NULL;
	*n_out = 0;
	r = dl_load(NULL, false, NULL);
	if (r < 0)
		return r;
	/* the document alone cannot tell whether the domain runs: active stays false */
	r = parse_xml(NULL, xml, &q, false, NULL, &u);
	if (r < 0) {
		gp_virt_uses_free(u.v, u.n);
		return r;
	}
	*out = u.v;
	*n_out = u.n;
	return 0;
}

/* ---- libvirt ---- */

/* libvirt's default handler prints to stderr; errors are read back with virGetLastError()
 * and logged through the context instead */
static void virt_error_quiet(void *data, virErrorPtr err) {}

static int virt_init_status = -EIO;

static void virt_init_once(void)
{
	/*
	 * libvirt's own log (VIR_WARN/VIR_ERROR inside drivers, e.g. "Initialization of QEMU
	 * state driver failed") goes to stderr by default and has no public switch: it reads
	 * LIBVIRT_LOG_OUTPUTS once, in virInitialize. Unless the user asked for libvirt's log,
	 * send it to /dev/null for that call only; API errors still reach the context.
	 */
	bool quiet = !getenv("LIBVIRT_LOG_OUTPUTS") && !getenv("LIBVIRT_DEBUG");

	if (quiet)
		setenv("LIBVIRT_LOG_OUTPUTS", "4:file:/dev/null", 0);
	virt_init_status = virInitialize() < 0 ? -EIO : 0;
	if (quiet)
		unsetenv("LIBVIRT_LOG_OUTPUTS");
	virSetErrorFunc(NULL, virt_error_quiet);
}

const char *gp_virt_msg(void)
{
	const char *m = virGetLastErrorMessage();

	return m ? m : "unknown libvirt error";
}

/*
 * Embedded drivers (qemu:///embed?root=DIR) run inside this process and refuse to open
 * without an event loop. If the application registered one it runs it; otherwise libvirt's
 * default loop is registered once and run by a thread for the rest of the process, because
 * libvirt does not allow replacing or stopping a registered loop.
 */
static pthread_mutex_t loop_lock = PTHREAD_MUTEX_INITIALIZER;
static bool loop_ready;

static void loop_probe_cb(int timer, void *data) {}

static void *loop_thread(void *data)
{
	while (virEventRunDefaultImpl() >= 0)
		;
	return NULL;
}

static int ensure_event_loop(struct gp_ctx *ctx)
{
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t th;
	int t, r = 0;

	pthread_mutex_lock(&loop_lock);
	if (loop_ready)
		goto out;
	/* virEventAddTimeout fails, silently, only when no implementation is registered */
	t = virEventAddTimeout(-1, loop_probe_cb, NULL, NULL);
	if (t >= 0) {
		virEventRemoveTimeout(t);
		loop_ready = true;
		goto out;
	}
	if (virEventRegisterDefaultImpl() < 0) {
		ERR(ctx, "libvirt: cannot register an event loop: %s", gp_virt_msg());
		r = -EIO;
		goto out;
	}
	/* the loop thread must not take the application's signals */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	r = -pthread_create(&th, &attr, loop_thread, NULL);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r < 0)
		ERR(ctx, "libvirt: cannot start the event loop thread: %s", strerror(-r));
	else
		loop_ready = true;
out:
	pthread_mutex_unlock(&loop_lock);
	return r;
}

static bool uri_is_embed(const char *uri)
{
	const char *p = uri ? strstr(uri, ":///embed") : NULL;

	return p && (p[9] == '\0' || p[9] == '?');
}

/*
 * Connecting failed: "nothing there" (no socket, daemon down, host unreachable) is the
 * common, unremarkable case and becomes -ECONNREFUSED at info; the rest is an error.
 */
int gp_virt_open_error(struct gp_ctx *ctx, const char *uri)
{
	virErrorPtr e = virGetLastError();
	const char *what = uri ? uri : "the default URI";

	/* socket, ssh and daemon-autostart failures are system errors of the RPC layer; a
	 * local (embedded) driver failing to start is not "nothing there". Unremarkable for
	 * the default URI (a host without libvirt); an error for a URI the caller named */
	if (e && (e->code == VIR_ERR_NO_CONNECT ||
		  ((e->code == VIR_ERR_SYSTEM_ERROR || e->code == VIR_ERR_RPC) &&
		   (e->domain == VIR_FROM_RPC || e->domain == VIR_FROM_REMOTE)))) {
		gp_log(ctx, uri ? GP_LOG_ERR : GP_LOG_INFO, "libvirt: no connection to %s: %s",
		       what, gp_virt_msg());
		return -ECONNREFUSED;
	}
	ERR(ctx, "libvirt: cannot connect to %s: %s", what, gp_virt_msg());
	return -EIO;
}

static int scan_xml_of(struct gp_ctx *ctx, virDomainPtr d, unsigned flags, bool active,
		       const struct query *q, struct uses *u)
{
	char uuid[VIR_UUID_STRING_BUFLEN] = "";
	char *xml;
	int r;

	xml = virDomainGetXMLDesc(d, flags);
	if (!xml) {
		virErrorPtr e = virGetLastError();

		/* undefined or stopped between the listing and now: nothing left to name */
		if (e && e->code == VIR_ERR_NO_DOMAIN) {
			DBG(ctx, "libvirt: domain %s went away", virDomainGetName(d));
			return 0;
		}
		ERR(ctx, "libvirt: cannot read the XML of domain %s: %s", virDomainGetName(d),
		    gp_virt_msg());
		return -EIO;
	}
	/* every source this looks for is inside a <hostdev> or an <interface type='hostdev'>:
	 * an XML libvirt wrote without the word names nothing, and most domains have none
	 * (parsing 200 domains was a third of what assign's question cost) */
	if (!strstr(xml, "hostdev")) {
		free(xml);
		return 0;
	}
	virDomainGetUUIDString(d, uuid);
	r = parse_xml(ctx, xml, q, active, uuid, u);
	if (r == -EINVAL) {
		ERR(ctx, "libvirt: domain %s: XML does not parse", virDomainGetName(d));
		r = -EIO;
	}
	free(xml);
	return r;
}

int gp_virt_prepare(struct gp_ctx *ctx, const char *uri)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int r = dl_load(ctx, true, uri);

	if (r < 0)
		return r;
	pthread_once(&once, virt_init_once);
	if (virt_init_status < 0) {
		ERR(ctx, "libvirt: initialization failed: %s", gp_virt_msg());
		return virt_init_status;
	}
	return uri_is_embed(uri) ? ensure_event_loop(ctx) : 0;
}

void gp_virt_quiet(void *conn)
{
	virConnSetErrorFunc(conn, NULL, virt_error_quiet);
}

/* The whole conversation with libvirt, in this process: the uses into @u, 0 or -errno. */
/*
 * Reading every domain's XML is what asking costs (bench/RESULTS.md: 200 domains, ~110 ms of
 * libvirt's own), and libvirtd serves several calls of one client at once (libvirtd.conf,
 * max_client_requests = 5 by default), so READERS threads share the domains, each on the one
 * connection (libvirt's client is thread-safe), each into uses of its own. They log nothing
 * (the child's log is one pipe): a failure is kept with the domain's name and said after.
 */
#define READERS 4

struct reader {
	const struct query *q;
	virDomainPtr *doms;
	int from, to;
	struct uses u;
	int r;
	char err[512];
};

static void *read_domains(void *data)
{
	struct reader *rd = data;
	int i;

	for (i = rd->from; i < rd->to && rd->r >= 0; i++) {
		bool active = virDomainIsActive(rd->doms[i]) == 1;

		/* for a running domain, flags 0 is the live XML (what QEMU has now); the
		 * persistent definition may name other devices for the next boot */
		rd->r = scan_xml_of(NULL, rd->doms[i], 0, active, rd->q, &rd->u);
		if (rd->r >= 0 && active && virDomainIsPersistent(rd->doms[i]) == 1)
			rd->r = scan_xml_of(NULL, rd->doms[i], VIR_DOMAIN_XML_INACTIVE, false,
					    rd->q, &rd->u);
		if (rd->r < 0)
			snprintf(rd->err, sizeof(rd->err), "cannot read the XML of domain %s: %s",
				 virDomainGetName(rd->doms[i]), gp_virt_msg());
	}
	return NULL;
}

/* The domains' uses, read by up to READERS threads, merged into @u in the domains' order. */
static int read_all(struct gp_ctx *ctx, virDomainPtr *doms, int n, const struct query *q,
		    struct uses *u)
{
	struct reader rd[READERS];
	pthread_t th[READERS];
	bool started[READERS] = { false };
	int k, nt = n < 2 * READERS ? 1 : READERS, r = 0;
	size_t i;

	for (k = 0; k < nt; k++) {
		rd[k] = (struct reader){ q, doms, n * k / nt, n * (k + 1) / nt, { NULL, 0 }, 0, "" };
		started[k] = k > 0 && pthread_create(&th[k], NULL, read_domains, &rd[k]) == 0;
		if (k > 0 && !started[k])
			read_domains(&rd[k]); /* no thread: read them here */
	}
	read_domains(&rd[0]);
	for (k = 0; k < nt; k++) {
		if (started[k])
			pthread_join(th[k], NULL);
		if (rd[k].r < 0 && r >= 0) {
			ERR(ctx, "libvirt: %s", rd[k].err);
			r = rd[k].r == -EINVAL ? -EIO : rd[k].r;
		}
		for (i = 0; r >= 0 && i < rd[k].u.n; i++) {
			const struct gp_virt_use *e = &rd[k].u.v[i];

			r = add_use(u, e->domain, e->uuid, e->active, e->gpupart, e->device);
		}
		gp_virt_uses_free(rd[k].u.v, rd[k].u.n);
	}
	return r;
}

static int find_users_here(struct gp_ctx *ctx, const char *uri, const struct query *qp,
			   struct uses *u)
{
	const struct query q = *qp;
	virDomainPtr *doms = NULL;
	virConnectPtr conn;
	int i, n, r = 0;

	r = gp_virt_prepare(ctx, uri);
	if (r < 0)
		return r;
	/* read-only: listing domains and their XML needs no more, and the read-only socket is
	 * open to unprivileged users of the system daemon */
	conn = virConnectOpenReadOnly(uri);
	if (!conn)
		return gp_virt_open_error(ctx, uri);
	virConnSetErrorFunc(conn, NULL, virt_error_quiet);

	n = virConnectListAllDomains(conn, &doms, 0);
	if (n < 0) {
		ERR(ctx, "libvirt: cannot list domains: %s", gp_virt_msg());
		r = -EIO;
		goto out;
	}
	DBG(ctx, "libvirt: %d domains on %s", n, uri ? uri : "the default URI");
	r = read_all(ctx, doms, n, &q, u);
out:
	for (i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	virConnectClose(conn);
	return r < 0 ? r : 0;
}

/* One query of find_users_here, as gp_virt_bounded runs it (in its child). */
struct here_args {
	const char *uri;
	const struct query *q;
};

static int query_here(struct gp_ctx *ctx, void *data, struct gp_virt_use **v, size_t *n)
{
	const struct here_args *a = data;
	struct uses u = { NULL, 0 };
	int r = find_users_here(ctx, a->uri, a->q, &u);

	*v = u.v;
	*n = u.n;
	return r;
}

int gp_virt_find_users_here(struct gp_ctx *ctx, const char *uri, const char *const *pci,
			    size_t n_pci, const char *const *mdev, size_t n_mdev,
			    struct gp_virt_use **v, size_t *n)
{
	const struct query q = { pci, n_pci, mdev, n_mdev };
	struct uses u = { NULL, 0 };
	int r = find_users_here(ctx, uri, &q, &u);

	*v = u.v;
	*n = u.n;
	return r;
}

static bool preloaded;

int gp_virt_preload(struct gp_ctx *ctx)
{
	int r = dl_load(ctx, true, NULL);

	preloaded = r == 0;
	return r;
}

/* libvirt already in this process: the application uses it itself (see virt.h); not when it
 * is only gp_virt_preload's mapping, which nothing here has called into */
static bool libvirt_loaded_here(void)
{
	void *h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL && !preloaded;
}

int gp_virt_find_users(struct gp_ctx *ctx, const char *uri, int timeout_ms,
		       const char *const *pci_addrs, size_t n_pci, const char *const *mdev_uuids,
		       size_t n_mdev, struct gp_virt_use **out)
{
	const struct query q = { pci_addrs, n_pci, mdev_uuids, n_mdev };
	struct uses u = { NULL, 0 };
	int r;

	*out = NULL;
	if (timeout_ms <= 0)
		timeout_ms = GP_VIRT_TIMEOUT_MS_DEFAULT;
	if (libvirt_loaded_here()) {
		DBG(ctx, "libvirt: already loaded in this process: asking it here, unbounded");
		r = find_users_here(ctx, uri, &q, &u);
	} else {
		/* libvirt's client has no connect or call timeout: see virt-bounded.h */
		const struct here_args a = { uri, &q };

		r = gp_virt_bounded(ctx, uri ? uri : "the default URI", timeout_ms, query_here,
				    (void *)&a, &u.v, &u.n);
	}
	if (r < 0) {
		gp_virt_uses_free(u.v, u.n);
		return r;
	}
	*out = u.v;
	return (int)u.n;
}
