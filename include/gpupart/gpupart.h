/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libgpupart: the context every call takes.
 *
 * Conventions (kmod's): functions returning int give 0 (or a count) on success and -errno on
 * failure; objects come back through the last out-parameter; getters return borrowed pointers,
 * NULL meaning "absent". The library never prints and never exits: diagnostics go through the
 * context's log callback.
 */
#ifndef GPUPART_GPUPART_H
#define GPUPART_GPUPART_H

#include <stdarg.h>
#include <stdbool.h>

struct gp_ctx;

enum gp_log_level {
	GP_LOG_ERR = 3,
	GP_LOG_WARNING = 4,
	GP_LOG_INFO = 6,
	GP_LOG_DEBUG = 7,
};

typedef void (*gp_log_fn)(void *data, enum gp_log_level level, const char *fmt, va_list ap);

/*
 * Create a context whose host filesystem is rooted at @root ("/" or NULL for the live host).
 * The root must be a directory; it is opened once and every host path is resolved beneath it.
 * Returns 0, -ENOENT/-ENOTDIR/-EACCES when the root cannot be opened, -ENOMEM.
 */
int gp_ctx_new(const char *root, struct gp_ctx **out);
void gp_ctx_free(struct gp_ctx *ctx);

void gp_ctx_set_log(struct gp_ctx *ctx, gp_log_fn fn, void *data);
void gp_ctx_set_log_level(struct gp_ctx *ctx, enum gp_log_level level);

/* Bound, in milliseconds, on each kernel write that can block (unbind, sriov_numvfs, mdev
 * remove); 0 restores the default (30 s). */
void gp_ctx_set_write_timeout(struct gp_ctx *ctx, int ms);

/*
 * libvirt for the transaction's domain steps (kinds/domain.c, GP_STEP_DOMAIN): the virt room
 * fills it (gp_virt_ctx_ops, gpupart/virt.h) and the CLI hands it over; a context without it
 * (the qemu hook) refuses domain changes. Every call is bounded by @timeout_ms.
 *   read  the domain's inactive XML into *xml (free it) and whether it runs: 0, -ENOENT (no
 *         such domain), -errno;
 *   step  one step's @value on domain @name: 0 or -errno (logged).
 */
struct gp_ctx_virt {
	int (*read)(struct gp_ctx *ctx, const char *uri, const char *name, char **xml,
		    bool *active);
	int (*step)(struct gp_ctx *ctx, const char *name, const char *value);
};
void gp_ctx_set_virt(struct gp_ctx *ctx, const struct gp_ctx_virt *virt, int timeout_ms);
const struct gp_ctx_virt *gp_ctx_virt(const struct gp_ctx *ctx);
int gp_ctx_virt_timeout(const struct gp_ctx *ctx);

/* The root as given (never NULL; "/" for the live host). */
const char *gp_ctx_root(const struct gp_ctx *ctx);

#endif
