/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * assign, unassign and adapters as library operations (ops/assign.c): Hyper-V's
 * Add-VMGpuPartitionAdapter, Remove-VMGpuPartitionAdapter and Get-VMGpuPartitionAdapter over
 * libvirt domains. The caller asks libvirt (one bounded conversation per domain, before the
 * host lock) and passes the answer in as data; the operation reads the reservation records
 * under the lock, picks (gpupart/assign.h), makes the refusals (findings with stable codes,
 * gpupart(8) REFUSALS) and runs each domain's change as one transaction: its reservation
 * records and its domain edit (kinds/resv.c, kinds/domain.c). Nothing here prints.
 */
#ifndef GPUPART_ADAPTERS_H
#define GPUPART_ADAPTERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpupart/assign.h>
#include <gpupart/ops.h>
#include <gpupart/resv.h>

/* A partition of the host, with who holds it. Strings borrow from the host's model, the
 * records and the uses given to gp_parts_build. */
struct gp_part {
	const struct gp_device *gpu;
	char instance_path[128];   /* the GPU's stable PCI path (gp_device_path_id), "" unknown */
	int id;                    /* PartitionId */
	enum gp_backend backend;
	const char *device;        /* VF address or mdev UUID: what the hostdev names */
	const char *vf_address;    /* the VF, NULL for an mdev */
	const char *mdev_uuid;     /* NULL for a VF */
	const char *vgpu_type;
	int64_t fb_bytes;          /* GP_UNKNOWN */
	const char *not_ready;     /* NULL: ready; else why, with the command that makes it ready */
	const struct gp_resv *resv;        /* its reservation record, NULL none */
	const struct gp_op_use *use;       /* the first domain naming it, NULL none */
	size_t n_users;                    /* how many domains name it */
};

/* Every partition of every GPU of @host (display-class PFs; SR-IOV PFs of any class with
 * @any_class) that has partitions in force, in GPU address then id order, with @resv's records
 * and @uses' domains matched to them. 0 / -ENOMEM. Free with free(). */
int gp_parts_build(const struct gp_host *host, bool any_class, const struct gp_resv *resv,
		   size_t n_resv, const struct gp_op_use *uses, size_t n_uses, struct gp_part **out,
		   size_t *n);

/* One domain of the command, as libvirt said (strings borrowed). */
struct gp_assign_domain {
	const char *name;
	bool found, persistent, active, remote;
	const char *uuid;
	int numa_node;             /* <numatune>'s node, -1 none */
	const char *cpuset;        /* <vcpu cpuset>, NULL none: its node where numatune says none */
};

struct gp_assign_req {
	const char *gpu;           /* --gpu, NULL any */
	int partition;             /* --partition, -1 any */
	bool all;                  /* unassign --all */
	int64_t vram;              /* --vram, GP_UNKNOWN any */
	bool allow_multiple, restart, dry_run;
};

/* What assign gives a domain, or unassign takes away. */
struct gp_assign_item {
	size_t domain;             /* index into the domains given */
	const struct gp_part *part;
	bool named;                /* unassign: the domain's <hostdev> names it (it goes) */
	bool release;              /* unassign: the reservation is this domain's, removed too */
};

struct gp_op_assign {
	struct gp_findings findings;   /* errors refuse; in the order the checks ran */
	struct gp_assign_item *items;
	size_t n_items;
	bool full;                     /* refused for no-free-partition (the CLI's exit status 5) */
	bool usage;                    /* refused because of what was asked (exit 2) */
};

/*
 * assign: a free partition (gp_policy_pick) for each of @doms[0..n) from @parts; unassign
 * (@unassign): the partitions @doms[0] holds that @req names. -ENOMEM, else 0 with *out
 * (refused when it holds an error finding).
 */
int gp_op_assign_new(struct gp_ctx *ctx, const struct gp_host *host, const struct gp_part *parts,
		     size_t n_parts, const struct gp_op_use *uses, size_t n_uses,
		     const struct gp_assign_domain *doms, size_t n_doms,
		     const struct gp_assign_req *req, bool unassign, struct gp_op_assign **out);
bool gp_op_assign_refused(const struct gp_op_assign *op);
void gp_op_assign_free(struct gp_op_assign *op);

/*
 * Runs the change of domain @d of @op (its items): one transaction, journaled with @cmd: the
 * reservation records, then the domain's <hostdev>s (unassign: the other way round), through
 * the context's libvirt at @uri. @restart, @shutdown_ms: --restart. The caller holds the host
 * lock. 0 or -errno (GP_APPLY_STUCK: the journal is kept).
 */
int gp_op_assign_run(struct gp_ctx *ctx, const struct gp_op_assign *op, size_t d,
		     const struct gp_assign_domain *doms, const char *uri, bool unassign,
		     bool restart, int shutdown_ms, const char *cmd);

#endif
