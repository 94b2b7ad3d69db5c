/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the host says about the VMs it runs, for attach (model/vmhost.c). */
#ifndef GPUPART_MODEL_VMHOST_H
#define GPUPART_MODEL_VMHOST_H

#include "base/internal.h"

/* The host CPU's physical address width ("address sizes : 46 bits physical" in
 * ROOT/proc/cpuinfo): the bits, or -1 when unknown. */
int gp_vmhost_phys_bits(struct gp_ctx *ctx);

/*
 * libvirt-guests' action at host shutdown (ROOT/etc/default/libvirt-guests, a shell file of
 * KEY=VALUE lines: the last ON_SHUTDOWN= wins; unset means the script's default, suspend).
 * 1 with *action (static: "shutdown", "suspend", ...) and *line (the file's line number, 0
 * when unset) when the file exists; 0 when it does not (libvirt-guests not configured);
 * -errno.
 */
int gp_vmhost_guests_on_shutdown(struct gp_ctx *ctx, char *action, size_t len, int *line);

/*
 * The host NUMA node that holds most of the host CPUs in @cpuset (libvirt's syntax:
 * "0-7,16", "^3" excludes), from ROOT/sys/devices/system/node/nodeN/cpulist: a domain's vCPU
 * placement, where its <numatune> says nothing. The lowest such node on a tie; -1 when none
 * holds one (no NUMA information, a malformed set).
 */
int gp_vmhost_numa_of_cpuset(struct gp_ctx *ctx, const char *cpuset);

#endif
