/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The library's context and its log; never installed. Everything else a room offers lives in
 * that room's header (host/kernel.h, host/procfd.h, model/pci-addr.h, ...) or in src/shared
 * (arrays, string vectors, parsers, line records), which this header brings along because
 * every file of the library uses them.
 */
#ifndef GPUPART_INTERNAL_H
#define GPUPART_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/gpupart.h>

#include "shared/array.h"
#include "shared/str.h"
#include "shared/strv.h"

struct gp_pciacc;
struct gp_udev;

struct gp_kernel_ops;

/* The bound on one blocking kernel write unless gp_ctx_set_write_timeout says otherwise. */
#define GP_WRITE_TIMEOUT_MS_DEFAULT 30000

struct gp_ctx {
	char *root;
	const struct gp_kernel_ops *kops; /* the live kernel unless a test set a fake */
	void *kops_data;
	int write_timeout_ms;             /* bound on one blocking kernel write */
	int lock_fd;                      /* the host lock while held, else -1 */
	int rootfd;
	gp_log_fn log_fn;
	void *log_data;
	enum gp_log_level log_level;
	struct gp_pciacc *pci; /* created on first use */
	struct gp_udev *udev;  /* created on first use */
	const struct gp_ctx_virt *virt; /* libvirt for domain steps; NULL: none (the hook) */
	int virt_timeout_ms;
};

void gp_log(struct gp_ctx *ctx, enum gp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define ERR(ctx, ...) gp_log(ctx, GP_LOG_ERR, __VA_ARGS__)
#define WARN(ctx, ...) gp_log(ctx, GP_LOG_WARNING, __VA_ARGS__)
#define INFO(ctx, ...) gp_log(ctx, GP_LOG_INFO, __VA_ARGS__)
#define DBG(ctx, ...) gp_log(ctx, GP_LOG_DEBUG, __VA_ARGS__)

#endif
