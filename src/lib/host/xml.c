/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libxml2, loaded at run time: THE ONLY FILE THAT INCLUDES <libxml/...> (host/xml.h says why and
 * what the readers get). A gp_xml_doc is libxml2's xmlDoc and a gp_xml_node its xmlNode, cast:
 * the readers never see libxml2's types.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>

#include <libxml/globals.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>

#include "host/dl.h"
#include "host/xml.h"
#include "shared/str.h"

/*
 * The headers still type every call: each function below is called through a pointer of its
 * own declared type, and the names are redirected to those pointers by macros, so the code
 * reads as if linked.
 */
#define XML_SYMBOLS(X)                                                                       \
	X(xmlDocGetRootElement) X(xmlFreeDoc) X(xmlGetProp) X(xmlInitParser)                   \
	X(xmlNodeGetContent) X(xmlReadMemory) X(xmlSetGenericErrorFunc)                        \
	X(xmlSetStructuredErrorFunc) X(xmlXPathEvalExpression) X(xmlXPathFreeContext)          \
	X(xmlXPathFreeObject) X(xmlXPathNewContext) X(__xmlGenericError)                       \
	X(__xmlGenericErrorContext) X(__xmlStructuredError) X(__xmlStructuredErrorContext)     \
	X(xmlNewDocNode) X(xmlAddChild) X(xmlSetProp) X(xmlUnsetProp) X(xmlUnlinkNode)        \
	X(xmlFreeNode) X(xmlNodeAddContent) X(xmlSearchNsByHref) X(xmlNewNs)                   \
	X(xmlBufferCreate) X(xmlBufferFree) X(xmlBufferContent) X(xmlNodeDump) X(xmlNewDoc)    \
	X(xmlDocSetRootElement)

XML_SYMBOLS(GP_DL_POINTER)
static xmlFreeFunc *dl_xmlFree; /* a variable, not a function, in this libxml2 build */

#define xmlDocGetRootElement (*dl_xmlDocGetRootElement)
#define xmlFreeDoc (*dl_xmlFreeDoc)
#define xmlGetProp (*dl_xmlGetProp)
#define xmlInitParser (*dl_xmlInitParser)
#define xmlNodeGetContent (*dl_xmlNodeGetContent)
#define xmlReadMemory (*dl_xmlReadMemory)
#define xmlSetGenericErrorFunc (*dl_xmlSetGenericErrorFunc)
#define xmlSetStructuredErrorFunc (*dl_xmlSetStructuredErrorFunc)
#define xmlXPathEvalExpression (*dl_xmlXPathEvalExpression)
#define xmlXPathFreeContext (*dl_xmlXPathFreeContext)
#define xmlXPathFreeObject (*dl_xmlXPathFreeObject)
#define xmlXPathNewContext (*dl_xmlXPathNewContext)
#define xmlFree (*dl_xmlFree)
#define xmlNewDocNode (*dl_xmlNewDocNode)
#define xmlAddChild (*dl_xmlAddChild)
#define xmlSetProp (*dl_xmlSetProp)
#define xmlUnsetProp (*dl_xmlUnsetProp)
#define xmlUnlinkNode (*dl_xmlUnlinkNode)
#define xmlFreeNode (*dl_xmlFreeNode)
#define xmlNodeAddContent (*dl_xmlNodeAddContent)
#define xmlSearchNsByHref (*dl_xmlSearchNsByHref)
#define xmlNewNs (*dl_xmlNewNs)
#define xmlBufferCreate (*dl_xmlBufferCreate)
#define xmlBufferFree (*dl_xmlBufferFree)
#define xmlBufferContent (*dl_xmlBufferContent)
#define xmlNodeDump (*dl_xmlNodeDump)
#define xmlNewDoc (*dl_xmlNewDoc)
#define xmlDocSetRootElement (*dl_xmlDocSetRootElement)
/* libxml2's error globals are per-thread macros over these accessors (globals.h) */
#define __xmlGenericError (*dl___xmlGenericError)
#define __xmlGenericErrorContext (*dl___xmlGenericErrorContext)
#define __xmlStructuredError (*dl___xmlStructuredError)
#define __xmlStructuredErrorContext (*dl___xmlStructuredErrorContext)

#define DOC(d) ((xmlDocPtr)(d))
#define NODE(n) ((xmlNodePtr)(n))

static int dl_status = -ENOTSUP;
static char dl_error[256];

static void dl_load_once(void)
{
	const char *soname = "libxml2.so.2";
	void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
	bool ok = handle != NULL;

	if (!ok)
		snprintf(dl_error, sizeof(dl_error), "%s", dlerror());
	XML_SYMBOLS(GP_DL_RESOLVE)
	if (ok && !(dl_xmlFree = dlsym(handle, "xmlFree"))) {
		snprintf(dl_error, sizeof(dl_error), "%s has no xmlFree", soname);
		ok = false;
	}
	if (ok) {
		xmlInitParser();
		dl_status = 0;
	}
}

int gp_xml_load(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, dl_load_once);
	return dl_status;
}

const char *gp_xml_load_error(void)
{
	return dl_status < 0 ? dl_error : NULL;
}

/*
 * libxml2 prints parse errors on stderr unless told otherwise. Its handlers are per-thread
 * globals, so each parse saves them, routes errors to the context's debug log (or nowhere),
 * and puts the caller's handlers back.
 */
struct quiet {
	xmlStructuredErrorFunc serror;
	void *sctx;
	xmlGenericErrorFunc gerror;
	void *gctx;
	struct gp_ctx *ctx;
	const char *what;
};

static void structured_error(void *data, xmlErrorPtr e)
{
	const struct quiet *q = data;
	size_t len;

	if (!q || !q->ctx || !e || !e->message)
		return;
	len = strlen(e->message);
	if (len && e->message[len - 1] == '\n')
		len--;
	DBG(q->ctx, "%s: line %d: %.*s", q->what, e->line, (int)len, e->message);
}

/* only reached by code paths without a structured report: nothing useful to keep */
static void generic_error(void *data, const char *msg, ...) {}

static void quiet_begin(struct quiet *q)
{
	q->serror = xmlStructuredError;
	q->sctx = xmlStructuredErrorContext;
	q->gerror = xmlGenericError;
	q->gctx = xmlGenericErrorContext;
	xmlSetStructuredErrorFunc(q, structured_error);
	xmlSetGenericErrorFunc(q, generic_error);
}

static void quiet_end(const struct quiet *q)
{
	xmlSetStructuredErrorFunc(q->sctx, q->serror);
	xmlSetGenericErrorFunc(q->gctx, q->gerror);
}

int gp_xml_parse(struct gp_ctx *ctx, const char *what, const char *buf, size_t len,
		 unsigned flags, struct gp_xml_doc **out)
{
	struct quiet q = { .ctx = ctx, .what = what };
	xmlDocPtr doc;
	int r;

	*out = NULL;
	r = gp_xml_load();
	if (r < 0)
		return r;
	if (!buf || !len || len > INT_MAX)
		return -EINVAL;
	quiet_begin(&q);
	/* no network, no entity substitution (no XML_PARSE_NOENT), no DTD loading (no
	 * XML_PARSE_DTDLOAD): the document is data */
	doc = xmlReadMemory(buf, (int)len, what, NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
	quiet_end(&q);
	if (!doc)
		return -EINVAL;
	/* an internal subset's declarations can only be there to expand entities */
	if (!xmlDocGetRootElement(doc) ||
	    (doc->intSubset && ((flags & GP_XML_NO_DOCTYPE) || doc->intSubset->children)) ||
	    doc->extSubset) {
		DBG(ctx, "%s: a DOCTYPE with declarations, or no root element: refused", what);
		xmlFreeDoc(doc);
		return -EINVAL;
	}
	*out = (struct gp_xml_doc *)doc;
	return 0;
}

void gp_xml_free(struct gp_xml_doc *doc)
{
	if (doc)
		xmlFreeDoc(DOC(doc));
}

const struct gp_xml_node *gp_xml_root(const struct gp_xml_doc *doc)
{
	return (const struct gp_xml_node *)xmlDocGetRootElement(DOC(doc));
}

const char *gp_xml_name(const struct gp_xml_node *n)
{
	return (const char *)NODE(n)->name;
}

static const struct gp_xml_node *element_from(xmlNodePtr c, const char *name)
{
	for (; c; c = c->next)
		if (c->type == XML_ELEMENT_NODE && (!name || !strcmp((const char *)c->name, name)))
			return (const struct gp_xml_node *)c;
	return NULL;
}

const struct gp_xml_node *gp_xml_child(const struct gp_xml_node *n, const char *name)
{
	return element_from(NODE(n)->children, name);
}

const struct gp_xml_node *gp_xml_next(const struct gp_xml_node *n, const char *name)
{
	return element_from(NODE(n)->next, name);
}

char *gp_xml_prop(const struct gp_xml_node *n, const char *name)
{
	xmlChar *s = xmlGetProp(NODE(n), (const xmlChar *)name);
	char *c;

	errno = 0;
	if (!s)
		return NULL;
	c = strdup((const char *)s);
	xmlFree(s);
	if (!c)
		errno = ENOMEM;
	return c;
}

char *gp_xml_text(const struct gp_xml_node *n)
{
	xmlChar *t = xmlNodeGetContent(NODE(n));
	char *s = gp_strdup_trim(t ? (const char *)t : "");

	xmlFree(t);
	return s;
}

int gp_xml_each(const struct gp_xml_doc *doc, const struct gp_xml_node *n, const char *xpath,
		gp_xml_fn fn, void *data)
{
	xmlXPathContextPtr xp = xmlXPathNewContext(DOC(doc));
	xmlXPathObjectPtr o;
	int i, r = 0;

	if (!xp)
		return -ENOMEM;
	xp->node = NODE(n);
	o = xmlXPathEvalExpression((const xmlChar *)xpath, xp);
	if (!o) {
		xmlXPathFreeContext(xp);
		return -ENOMEM;
	}
	for (i = 0; o->nodesetval && i < o->nodesetval->nodeNr && r >= 0; i++)
		r = fn((const struct gp_xml_node *)o->nodesetval->nodeTab[i], data);
	xmlXPathFreeObject(o);
	xmlXPathFreeContext(xp);
	return r < 0 ? r : 0;
}

/* ---- editing (virt/domxml.c: a domain's inactive XML, edited as a tree, never as text) ---- */

struct gp_xml_node *gp_xml_edit(struct gp_xml_doc *doc, const struct gp_xml_node *n)
{
	/* the node is the document's; a caller that holds the document mutably may edit it */
	return doc && n && NODE(n)->doc == DOC(doc) ? (struct gp_xml_node *)n : NULL;
}

const char *gp_xml_ns(const struct gp_xml_node *n)
{
	return NODE(n)->ns ? (const char *)NODE(n)->ns->href : NULL;
}

int gp_xml_new(const char *root, struct gp_xml_doc **out)
{
	xmlDocPtr doc;
	xmlNodePtr r;
	int e = gp_xml_load();

	*out = NULL;
	if (e < 0)
		return e;
	doc = xmlNewDoc((const xmlChar *)"1.0");
	if (!doc)
		return -ENOMEM;
	r = xmlNewDocNode(doc, NULL, (const xmlChar *)root, NULL);
	if (!r) {
		xmlFreeDoc(doc);
		return -ENOMEM;
	}
	xmlDocSetRootElement(doc, r);
	*out = (struct gp_xml_doc *)doc;
	return 0;
}

struct gp_xml_node *gp_xml_add(struct gp_xml_node *parent, const char *ns_href,
			       const char *ns_prefix, const char *name, const char *text)
{
	xmlNodePtr p = NODE(parent), c;
	xmlNsPtr ns = NULL;

	if (ns_href) {
		/* a namespace in scope is reused; else it is declared on the root element, where
		 * libvirt itself writes xmlns:qemu */
		ns = xmlSearchNsByHref(p->doc, p, (const xmlChar *)ns_href);
		if (!ns)
			ns = xmlNewNs(xmlDocGetRootElement(p->doc), (const xmlChar *)ns_href,
				      (const xmlChar *)ns_prefix);
		if (!ns)
			return NULL;
	}
	c = xmlNewDocNode(p->doc, ns, (const xmlChar *)name, NULL);
	if (!c)
		return NULL;
	/* xmlNodeAddContent takes the text as it is (no entity references), escaped on output */
	if (text)
		xmlNodeAddContent(c, (const xmlChar *)text);
	if (!xmlAddChild(p, c)) {
		xmlFreeNode(c);
		return NULL;
	}
	return (struct gp_xml_node *)c;
}

int gp_xml_set(struct gp_xml_node *n, const char *name, const char *value)
{
	if (!value) {
		xmlUnsetProp(NODE(n), (const xmlChar *)name);
		return 0;
	}
	return xmlSetProp(NODE(n), (const xmlChar *)name, (const xmlChar *)value) ? 0 : -ENOMEM;
}

int gp_xml_set_text(struct gp_xml_node *n, const char *text)
{
	xmlNodePtr c = NODE(n)->children, next;

	for (; c; c = next) {
		next = c->next;
		xmlUnlinkNode(c);
		xmlFreeNode(c);
	}
	xmlNodeAddContent(NODE(n), (const xmlChar *)text);
	return 0;
}

void gp_xml_drop(struct gp_xml_node *n)
{
	if (!n)
		return;
	xmlUnlinkNode(NODE(n));
	xmlFreeNode(NODE(n));
}

int gp_xml_dump(const struct gp_xml_doc *doc, char **out)
{
	xmlBufferPtr b = xmlBufferCreate();
	int r;

	*out = NULL;
	if (!b)
		return -ENOMEM;
	/* the root element alone: libvirt takes a document without an XML declaration */
	r = xmlNodeDump(b, DOC(doc), xmlDocGetRootElement(DOC(doc)), 0, 0);
	if (r >= 0)
		*out = strdup((const char *)xmlBufferContent(b));
	xmlBufferFree(b);
	return r < 0 ? -EIO : *out ? 0 : -ENOMEM;
}
