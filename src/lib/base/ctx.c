/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "host/pciacc.h"
#include "host/udev.h"

int gp_ctx_new(const char *root, struct gp_ctx **out)
{
	struct gp_ctx *ctx;
	int r;

	if (!root || !*root)
		root = "/";
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->log_level = GP_LOG_WARNING;
	ctx->write_timeout_ms = GP_WRITE_TIMEOUT_MS_DEFAULT;
	ctx->lock_fd = -1;
	ctx->root = strdup(root);
	if (!ctx->root) {
		free(ctx);
		return -ENOMEM;
	}
	r = gp_hostfs_open_root(ctx);
	if (r < 0) {
		gp_ctx_free(ctx);
		return r;
	}
	*out = ctx;
	return 0;
}

void gp_ctx_free(struct gp_ctx *ctx)
{
	if (!ctx)
		return;
	gp_pciacc_free(ctx->pci);
	gp_udev_free(ctx);
	if (ctx->rootfd >= 0)
		close(ctx->rootfd);
	free(ctx->root);
	free(ctx);
}

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

void *gp_array_push(void *v, size_t *n, size_t sz)
{
	void **vp = v;
	char *nv;

	/* grow geometrically: capacity is the next power of two >= n+1 */
	if ((*n & (*n - 1)) == 0 || *n == 0) {
		size_t cap = *n ? *n * 2 : 4;
		nv = realloc(*vp, cap * sz);
		if (!nv)
			return NULL;
		*vp = nv;
	}
	nv = (char *)*vp + *n * sz;
	memset(nv, 0, sz);
	(*n)++;
	return nv;
}

char *gp_strdup_trim(const char *s)
{
	size_t len;
	char *r;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	r = malloc(len + 1);
	if (!r)
		return NULL;
	memcpy(r, s, len);
	r[len] = 0;
	return r;
}
