/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's write side. Every sysfs write gpupart makes and every host program it runs goes
 * through these two operations, chosen per context: the live kernel by default, a fake kernel
 * in tests (tests/fakekernel), so that a test can watch and fault every write without
 * LD_PRELOAD. Reads are never routed here: they go straight to the files under the root, which
 * a fake kernel keeps the way Linux would.
 */
#ifndef GPUPART_KERNEL_H
#define GPUPART_KERNEL_H

#include <stddef.h>

#include <gpupart/gpupart.h>

struct gp_kernel_ops {
	/*
	 * Write @len bytes of @value to the attribute at @path, relative to the context's root
	 * with no leading '/' ("sys/bus/pci/devices/0000:01:00.0/sriov_numvfs"), in one write(2),
	 * the way `echo -n` would. Returns 0, or the kernel's answer as -errno.
	 * The library calls this in a child process it can abandon (a write that blocks in the
	 * kernel must not hang the tool): an implementation keeps no state in memory.
	 */
	int (*write)(void *data, struct gp_ctx *ctx, const char *path, const char *value, size_t len);
	/*
	 * Run the host program argv[0] (an absolute path on the host, e.g.
	 * "/usr/lib/nvidia/sriov-manage") with argv, stdin from /dev/null and its output on our
	 * stderr. Returns its exit status (0..255), or -errno when it could not be run. Also
	 * called in a child process.
	 */
	int (*exec)(void *data, struct gp_ctx *ctx, char *const argv[]);
};

/* Replaces the live kernel with @ops (NULL restores it). @ops must outlive the context. */
void gp_ctx_set_kernel_ops(struct gp_ctx *ctx, const struct gp_kernel_ops *ops, void *data);

/* The live kernel's operations (what a fake may delegate to). */
extern const struct gp_kernel_ops gp_kernel_live_ops;

#endif
