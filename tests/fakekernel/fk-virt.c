/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Faults at libvirt domain steps, for the suites that kill or fail gpupart half way through a
 * domain change (assign, unassign, attach): the context's libvirt (gp_ctx_virt) wrapped, the
 * real one still doing the work. GP_FAKE_FAIL_DOMAIN=K: the K-th domain step (1-based, the
 * undoing's steps counted too) fails with EIO without being run; GP_FAKE_KILL_DOMAIN=K: the
 * tool is killed (SIGKILL) just before the K-th runs. Reads are never faulted: a fault there
 * is a libvirt that cannot be asked, which the refusal tests cover with real URIs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <gpupart/gpupart.h>

#include "fake-kernel.h"

static const struct gp_ctx_virt *real;
static int fail_k, kill_k, seen;

static int wrapped_read(struct gp_ctx *ctx, const char *uri, const char *name, char **xml,
			bool *active)
{
	return real->read(ctx, uri, name, xml, active);
}

static int wrapped_step(struct gp_ctx *ctx, const char *name, const char *value)
{
	seen++;
	if (seen == kill_k) {
		fprintf(stderr, "fakekernel: killed at domain step %d (%s)\n", seen, name);
		kill(getpid(), SIGKILL);
	}
	if (seen == fail_k) {
		fprintf(stderr, "fakekernel: domain step %d (%s) fails\n", seen, name);
		return -EIO;
	}
	return real->step(ctx, name, value);
}

static const struct gp_ctx_virt wrapped = { wrapped_read, wrapped_step };

void fk_virt_install(struct gp_ctx *ctx)
{
	const char *f = getenv("GP_FAKE_FAIL_DOMAIN"), *k = getenv("GP_FAKE_KILL_DOMAIN");

	real = gp_ctx_virt(ctx);
	if (!real || ((!f || !*f) && (!k || !*k)))
		return;
	fail_k = f && *f ? atoi(f) : 0;
	kill_k = k && *k ? atoi(k) : 0;
	gp_ctx_set_virt(ctx, &wrapped, gp_ctx_virt_timeout(ctx));
}
