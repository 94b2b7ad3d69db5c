/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart cluster check`'s facts (ops/cluster.c): the GPUs of this host from its scan, and
 * of another host from libvirt's node devices, as gpupart/cluster.h's policy takes them.
 */
#ifndef GPUPART_CLUSTER_OPS_H
#define GPUPART_CLUSTER_OPS_H

#include <stddef.h>

#include <gpupart/cluster.h>
#include <gpupart/model.h>
#include <gpupart/virt.h>

/*
 * This host's partitionable GPUs (gp_device_is_gpu_like, not VFs, with a partitioning
 * backend) with their partition counts and VRAM from gp_gpu_view_build. Strings borrowed from @h. 0 or -ENOMEM; *@out freed by the caller.
 */
int gp_cluster_gpus_of_host(const struct gp_host *h, struct gp_cluster_gpu **out, size_t *n);

/*
 * A remote host's partitionable GPUs from its node devices: display controllers (PCI class
 * 0x03, or a class libvirt does not give) with SR-IOV (virt_functions maxCount) or mdev
 * types, never a VF. libvirt carries no
 * partition count (for NVIDIA every VF exists whether partitioned or not, and which have a
 * vGPU type set is in sysfs only) nor VRAM: those are GP_UNKNOWN (an inventory tells them),
 * except an SR-IOV GPU of another vendor, where the VFs that exist are the partitions.
 * Strings borrowed from @d. 0 or -ENOMEM.
 */
int gp_cluster_gpus_of_nodedevs(const struct gp_virt_nodedev *d, size_t n_d,
				struct gp_cluster_gpu **out, size_t *n);

#endif
