/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * XML documents as data: THE ONLY FILE THAT INCLUDES <libxml/...> is host/xml.c, which loads
 * libxml2 with dlopen on first use (linked, it and libvirt tripled `list`'s time:
 * bench/RESULTS.md). Two readers use it: virt/ (domain XML, the qemu hook's stdin) and
 * model/vgpuconfig.c (the vGPU manager's vgpuConfig.xml). Both are untrusted: no network, no
 * DTD loading, no entity substitution, and a document that declares anything in an internal
 * subset is refused (it can only be there to expand entities).
 *
 * Nodes are the document's own and live as long as it does. Strings handed out are copies
 * the caller frees.
 */
#ifndef GPUPART_HOST_XML_H
#define GPUPART_HOST_XML_H

#include <stddef.h>

#include "base/internal.h"

struct gp_xml_doc;
struct gp_xml_node;

enum gp_xml_flags {
	/* refuse any DOCTYPE, even one that only names an external DTD (libvirt never writes
	 * one; vgpuConfig.xml names NVIDIA's, which is never loaded) */
	GP_XML_NO_DOCTYPE = 1 << 0,
};

/* Loads libxml2 once per process: 0, or -ENOTSUP with the reason in gp_xml_load_error(). */
int gp_xml_load(void);
const char *gp_xml_load_error(void);

/*
 * Parses @len bytes as an XML document (libxml2 loaded on first use). @what names it in the
 * debug log, where libxml2's complaints go (never stderr). 0; -ENOTSUP without libxml2;
 * -EINVAL when it is not well-formed, is empty, has a refused DOCTYPE or is over INT_MAX;
 * -ENOMEM.
 */
int gp_xml_parse(struct gp_ctx *ctx, const char *what, const char *buf, size_t len,
		 unsigned flags, struct gp_xml_doc **out);
void gp_xml_free(struct gp_xml_doc *doc);

const struct gp_xml_node *gp_xml_root(const struct gp_xml_doc *doc);
/* The element's name ("domain"). */
const char *gp_xml_name(const struct gp_xml_node *n);
/* The first element child of @n named @name (any element when NULL), or NULL. */
const struct gp_xml_node *gp_xml_child(const struct gp_xml_node *n, const char *name);
/* The next element sibling of @n named @name (any element when NULL), or NULL. */
const struct gp_xml_node *gp_xml_next(const struct gp_xml_node *n, const char *name);
/* A copy of attribute @name; NULL when absent (errno 0) or out of memory (errno ENOMEM). */
char *gp_xml_prop(const struct gp_xml_node *n, const char *name);
/* A copy of the element's text, trimmed; NULL when out of memory. */
char *gp_xml_text(const struct gp_xml_node *n);

/* Calls @fn for every node the XPath expression @xpath selects with @n as the context node,
 * in document order, until @fn returns <0. 0, @fn's error, or -ENOMEM. */
typedef int (*gp_xml_fn)(const struct gp_xml_node *n, void *data);
int gp_xml_each(const struct gp_xml_doc *doc, const struct gp_xml_node *n, const char *xpath,
		gp_xml_fn fn, void *data);

/*
 * Editing (virt/domxml.c edits a domain's inactive XML as a tree, never as text).
 * gp_xml_edit: @n as a node one may change, given its document (NULL when @n is not @doc's).
 * gp_xml_new: an empty document with root element @root. gp_xml_add: a new last child of
 * @parent named @name (in namespace @ns_href, declared on the root with @ns_prefix where not
 * in scope), with text @text taken literally (NULL: none); NULL when out of memory.
 * gp_xml_set: attribute @name to @value (NULL removes it). gp_xml_set_text: the element's
 * content replaced by @text. gp_xml_drop: @n and its subtree removed and freed.
 * gp_xml_ns: the element's namespace URI, NULL for none. gp_xml_dump: the root element as
 * text (no XML declaration), 0 or -errno.
 */
struct gp_xml_node *gp_xml_edit(struct gp_xml_doc *doc, const struct gp_xml_node *n);
int gp_xml_new(const char *root, struct gp_xml_doc **out);
struct gp_xml_node *gp_xml_add(struct gp_xml_node *parent, const char *ns_href,
			       const char *ns_prefix, const char *name, const char *text);
int gp_xml_set(struct gp_xml_node *n, const char *name, const char *value);
int gp_xml_set_text(struct gp_xml_node *n, const char *text);
void gp_xml_drop(struct gp_xml_node *n);
const char *gp_xml_ns(const struct gp_xml_node *n);
int gp_xml_dump(const struct gp_xml_doc *doc, char **out);

#endif
