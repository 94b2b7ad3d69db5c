/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Changing a GPU's partitions: states and their plans (steps, plans and the journal's entry
 * points are in gpupart/step.h; the transaction that runs them is src/lib/txn).
 *
 * A mutation is always the same four moves. Read the state of every device it touches
 * (struct gp_gpu_state); derive the state wanted; diff the two into a plan (an ordered list of
 * sysfs writes, waits and checks, the same object --dry-run prints); journal the original
 * state, run the plan, verify the result. Undoing is the same diff in the other direction:
 * from whatever state the host is in now back to the journaled one, so a failure at step k, a
 * kill at step k and a reboot all unwind with one piece of code.
 */
#ifndef GPUPART_PLAN_H
#define GPUPART_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/model.h>
#include <gpupart/policy.h>
#include <gpupart/step.h>

/* One VF as far as partitioning is concerned. */
struct gp_vf_state {
	int index;                 /* N of virtfnN */
	char address[GP_ADDR_LEN];
	char *driver;              /* bound driver, NULL = none */
	char *override;            /* driver_override, NULL = none */
	int vgpu_type;             /* nvidia/current_vgpu_type; GP_UNKNOWN when no nvidia/ */
};

struct gp_mdev_state {
	char uuid[37];
	char parent[GP_ADDR_LEN];
	char *type_key;            /* "nvidia-555" */
};

/* Everything about one GPU that a partition-count change may alter. */
struct gp_gpu_state {
	char address[GP_ADDR_LEN]; /* the physical function */
	enum gp_backend backend;
	int numvfs;                /* sriov_numvfs, GP_UNKNOWN when not SR-IOV */
	int autoprobe;             /* sriov_drivers_autoprobe, GP_UNKNOWN when absent */
	bool vfio_pci;             /* vfio-pci is registered (sys/bus/pci/drivers/vfio-pci): a
				    * precondition the plan may load, never a state it undoes (not
				    * journaled, not compared) */
	struct gp_vf_state *vfs;   /* the enabled VFs, index order */
	size_t n_vfs;
	struct gp_mdev_state *mdevs; /* mdevs on the PF or its VFs, by UUID */
	size_t n_mdevs;
};

void gp_gpu_state_clear(struct gp_gpu_state *s);
int gp_gpu_state_copy(const struct gp_gpu_state *src, struct gp_gpu_state *dst);
/* True when two states are the same as far as the host is concerned (what verify checks). */
bool gp_gpu_state_equal(const struct gp_gpu_state *a, const struct gp_gpu_state *b);
/* The mdev of @s with @m's UUID, parent and type, or NULL. */
const struct gp_mdev_state *gp_mdev_state_find(const struct gp_gpu_state *s,
					       const struct gp_mdev_state *m);

/* Reads the state of the PF at @addr fresh from sysfs (not from a scan). -errno. */
int gp_gpu_state_read(struct gp_ctx *ctx, const char *addr, enum gp_backend backend,
		      struct gp_gpu_state *out);

/*
 * The state @count partitions mean for the GPU @view describes (@cur is its state now):
 *   sriov        @count VFs, each bound to vfio-pci through driver_override;
 *   nvidia-vfio  @count VFs carrying the type of the view's series whose max instances equal
 *                @count (vGPUs in force of that type's size and series are kept where they
 *                are), the other VFs 0;
 *   nvidia-mdev  @count mdevs of that type (those in force of its size and series kept), the
 *                others with UUIDs derived from the GPU's identity and the partition id
 *                (gp_partition_uuid), on the PF or one per VF;
 *   either       at 0, no mdev and no VF (sriov-manage -d where VFs are enabled).
 * On NVIDIA's backends the count in force (gp_policy_count_in_force) is @cur itself. Returns 0;
 * -ERANGE when no type of the view's series has @count instances; -EAGAIN when the NVIDIA VFs
 * must be enabled first (the driver publishes its types only on VFs): the target then only
 * asks for the VFs, and the plan ends with a rescan step.
 */
int gp_gpu_state_target(const struct gp_host *host, const struct gp_gpu_view *view,
			const struct gp_gpu_state *cur, int count, struct gp_gpu_state *out);


/* Appends the steps that take the GPU from @cur to @want (same PF) to @plan. 0 / -errno. */
int gp_plan_diff(const struct gp_gpu_state *cur, const struct gp_gpu_state *want,
		 struct gp_plan *plan);

/*
 * The host lock: an exclusive flock on ROOT/run/gpupart/lock held by every mutating command
 * for its whole run (readers never take it). Waits up to @timeout_ms; -EWOULDBLOCK after.
 * Returns the fd to pass to gp_lock_release.
 */
int gp_lock_take(struct gp_ctx *ctx, int timeout_ms);
void gp_lock_release(struct gp_ctx *ctx, int fd);

/*
 * Guards: facts a refusal is made of. Each returns the number of problems found and appends a
 * one-line reason per problem to @why (free with gp_strv_free), or -errno when it cannot tell
 * (the log says why): the caller refuses then too.
 */
/*
 * Processes holding /dev/vfio/<group> of the given groups, the iommufd cdev
 * /dev/vfio/devices/vfioN of any of @devices (PCI addresses or mdev UUIDs: their vfio-dev/
 * entries), or, when @nvidia_gpu (the address of a GPU sriov-manage runs on) is not NULL, that
 * GPU's /dev/nvidiaN (any /dev/nvidiaN when its minor is unknown). Holders of NVIDIA's other
 * nodes (nvidiactl, nvidia-uvm...) are only warned about.
 */
int gp_guard_holders(struct gp_ctx *ctx, const char *const *devices, size_t n_devices,
		     const int *groups, size_t n_groups, const char *nvidia_gpu, char ***why,
		     size_t *n_why);
/* Reservation records under ROOT/run/gpupart/reservations/ naming any of @devices; a
 * directory that exists but cannot be read is an error, not "none". */
int gp_guard_reservations(struct gp_ctx *ctx, const char *const *devices, size_t n,
			  char ***why, size_t *n_why);
void gp_strv_free(char **v, size_t n);

#endif
