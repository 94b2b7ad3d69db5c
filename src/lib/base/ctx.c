/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The context's settings and its log. Creating and freeing it opens and closes host handles:
 * that is host/context.c. */
#include "base/internal.h"

void gp_ctx_set_log(struct gp_ctx *ctx, gp_log_fn fn, void *data)
{
	ctx->log_fn = fn;
	ctx->log_data = data;
}

void gp_ctx_set_log_level(struct gp_ctx *ctx, enum gp_log_level level)
{
	ctx->log_level = level;
}

void gp_ctx_set_write_timeout(struct gp_ctx *ctx, int ms)
{
	ctx->write_timeout_ms = ms > 0 ? ms : GP_WRITE_TIMEOUT_MS_DEFAULT;
}

void gp_ctx_set_virt(struct gp_ctx *ctx, const struct gp_ctx_virt *virt, int timeout_ms)
{
	ctx->virt = virt;
	ctx->virt_timeout_ms = timeout_ms;
}

const struct gp_ctx_virt *gp_ctx_virt(const struct gp_ctx *ctx)
{
	return ctx->virt;
}

int gp_ctx_virt_timeout(const struct gp_ctx *ctx)
{
	return ctx->virt_timeout_ms;
}

const char *gp_ctx_root(const struct gp_ctx *ctx)
{
	return ctx->root;
}

void gp_log(struct gp_ctx *ctx, enum gp_log_level level, const char *fmt, ...)
{
	va_list ap;

	if (!ctx || !ctx->log_fn || level > ctx->log_level)
		return;
	va_start(ap, fmt);
	ctx->log_fn(ctx->log_data, level, fmt, ap);
	va_end(ap);
}
