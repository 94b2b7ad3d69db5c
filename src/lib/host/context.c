/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The context's birth and death: it holds the root's fd and the host libraries' handles. */
#include <errno.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/hostfs.h"
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
