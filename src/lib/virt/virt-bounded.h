/* SPDX-License-Identifier: GPL-2.0-or-later */
/* virt.c's question to libvirt, asked in a child process bounded in time (virt-bounded.c). */
#ifndef GPUPART_VIRT_BOUNDED_H
#define GPUPART_VIRT_BOUNDED_H

#include <stddef.h>

#include <gpupart/virt.h>

/* Runs in the child: the uses found (*v, *n; never freed, the child exits), 0 or -errno. */
typedef int (*gp_virt_query_fn)(struct gp_ctx *ctx, void *data, struct gp_virt_use **v,
				size_t *n);

/*
 * libvirt's client has no connect or call timeout: a socket that accepts and never answers
 * (socket activation whose daemon waits for us, a hung daemon, an ssh host that is gone)
 * blocks virConnectOpen, or any call, for ever. So @fn runs in a child process that sends its
 * answer (the uses, its log lines, its result) through a pipe; after @timeout_ms the child
 * and everything it started (its process group: an ssh transport's ssh) are killed and
 * reaped. The child also dies with its caller (PR_SET_PDEATHSIG), leaves the host lock and
 * standard output alone, and is the only process that loads libvirt: nothing libvirt holds
 * (threads, locks) is ever copied half-held into a child.
 *
 * The child's log lines go through @ctx's log, in order. @what names the URI in messages.
 * Returns @fn's result, -ETIMEDOUT (logged as an error), -EIO when the child died without an
 * answer (logged), or -ENOMEM; the uses received are in *out, *n_out in every case (free with
 * gp_virt_uses_free).
 */
int gp_virt_bounded(struct gp_ctx *ctx, const char *what, int timeout_ms, gp_virt_query_fn fn,
		    void *data, struct gp_virt_use **out, size_t *n_out);

/* The same bound for a question answered by a list of strings (virt/domain.c's edits):
 * @fn pushes them onto *v (the child exits; nothing is freed there). Returns @fn's result,
 * -ETIMEDOUT, -EIO or -ENOMEM; the strings received are in *out (gp_strv_free). */
typedef int (*gp_virt_strings_fn)(struct gp_ctx *ctx, void *data, char ***v, size_t *n);
int gp_virt_bounded_strings(struct gp_ctx *ctx, const char *what, int timeout_ms,
			    gp_virt_strings_fn fn, void *data, char ***out, size_t *n_out);

#endif
