/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The bounded write side (kernel.c; the ops a test may replace are in gpupart/kernel.h). */
#ifndef GPUPART_HOST_KERNEL_H
#define GPUPART_HOST_KERNEL_H

#include <stddef.h>

#include "base/internal.h"

/*
 * Runs one kernel write (or program) in a child process and waits at most the context's
 * write timeout. Returns 0, the kernel's -errno, or -ETIMEDOUT with *stuck set to the child
 * (left behind, still blocked in the kernel) when the write did not return in time.
 */
int gp_kernel_write(struct gp_ctx *ctx, const char *path, const char *value, int *stuck);
/* Exit status (0..255) of the program, -errno, or -ETIMEDOUT as above. */
int gp_kernel_exec(struct gp_ctx *ctx, char *const argv[], int *stuck);
/*
 * Whether a write child (of this command or of one that died) is still in the kernel: every
 * child holds a shared flock on ROOT/run/gpupart/writing for the length of its write, so the
 * answer survives the death of the tool that started it. 1 (and, in @what, "pid N (started at
 * T) writing V to /PATH") when one is, 0 when none, -errno when it cannot be told.
 */
int gp_kernel_inflight(struct gp_ctx *ctx, char *what, size_t len);

#endif
