/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NVML, the NVIDIA driver's management library (libnvidia-ml.so.1): the vGPU types a GPU
 * supports (a list that does not shrink as vGPUs are created, unlike the VFs' creatable lists),
 * with their framebuffer, class, maximum per GPU and MIG backing; the board's name; MIG and
 * mixed-size (heterogeneous) mode. host/nvml.c is THE ONLY FILE THAT LOADS IT: at run time
 * (never linked: a host without it runs as before), only on the live root (NVML describes this
 * machine, never a tree under --root), in a child process bounded in time.
 */
#ifndef GPUPART_HOST_NVML_H
#define GPUPART_HOST_NVML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/internal.h"

/* How long the scan waits for NVML's answers about every GPU together. */
#define GP_NVML_TIMEOUT_MS_DEFAULT 15000

/* Test switch (gpupart(8), ENVIRONMENT): load this file instead of libnvidia-ml.so.1, under
 * any root; only with it, GPUPART_TEST_NVML_TIMEOUT_MS bounds the wait instead. */
#define GP_NVML_TEST_ENV "GPUPART_TEST_NVML"
#define GP_NVML_TEST_TIMEOUT_ENV "GPUPART_TEST_NVML_TIMEOUT_MS"

struct gp_nvml_type {
	unsigned int id;           /* nvmlVgpuTypeId_t: the numeric type id sysfs uses */
	char name[64];             /* "NVIDIA H200X-1-18C" */
	char class_name[64];       /* "Compute", "Quadro", "NVS"...; "" when not given */
	uint64_t fb_bytes;         /* 0 when not given */
	unsigned int max_instances; /* per GPU; 0 when not given */
	bool mig;                  /* backed by a GPU instance profile */
};

struct gp_nvml_gpu {
	int status;                /* 0; -ENODEV: NVML does not know the address; -EIO */
	char error[128];           /* what failed, for the log ("" when nothing did) */
	char board_name[96];       /* nvmlDeviceGetName, "" when not given */
	int mig_mode;              /* 1 on, 0 off (or no MIG), -1 not known */
	int mixed_size;            /* 1 on, 0 off, -1 not known (the library lacks the query) */
	struct gp_nvml_type *types;
	size_t n_types;
};

/*
 * Asks NVML about the GPUs at @addrs[0..n) ("dddd:bb:dd.f"), all in one child process.
 * Returns 0 with *out (n entries, each with its own status); -ENOENT when the library is not
 * on this host; -EOPNOTSUPP under a root other than / (without the test switch); -ETIMEDOUT
 * when NVML did not answer in time (a wedged GPU: the child is killed); -EIO when NVML could
 * not start (logged) or the child died; -ENOMEM.
 */
int gp_nvml_query(struct gp_ctx *ctx, const char *const *addrs, size_t n,
		  struct gp_nvml_gpu **out);
void gp_nvml_free(struct gp_nvml_gpu *v, size_t n);

#endif
