/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Commands as library operations. set-count and apply build one operation: per GPU asked for,
 * its view, the count and series, the change and its plan; and the refusals, as findings with
 * stable codes (gpupart(8), REFUSALS). The caller asks libvirt about the devices the operation
 * names and passes the answer in as data (the CLI from a connection; libvirt's qemu hook will
 * from the domain XML it is given), then prints the refusals or the plan, or runs it. Nothing
 * here prints; every check is made before the first write.
 *
 *   gp_op_partition_new   the model's refusals and the plans (stops at the first refusal)
 *   gp_op_users           what libvirt must be asked about (nothing: no need to ask)
 *   gp_op_guard           libvirt's answer, reservation records, open device nodes
 *   gp_op_run             the change (journaled, verified, undone on failure) and the layout
 */
#ifndef GPUPART_OPS_H
#define GPUPART_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/plan.h>
#include <gpupart/policy.h>

/* One GPU and the count wanted for it. */
struct gp_request {
	struct gp_device *dev; /* the physical function */
	int count;
	char series;           /* 0: the default series */
};

enum gp_op_flags {
	GP_OP_RECORD = 1 << 0,    /* record the counts in partitions.conf (set-count) */
	GP_OP_PLAN_ONLY = 1 << 1, /* a dry run: plan and check, never run (partitions.conf is
				   * then not read either) */
	GP_OP_FORCE = 1 << 2,     /* --force: run sriov-manage over MIG GPU instances (a warning,
				   * not the refusal destroys-gpu-instances) */
};

struct gp_op;

/* What an operation does to one GPU. */
enum gp_op_action {
	GP_OP_SET_COUNT,  /* partition it (set-count, apply's partitions.conf lines) */
	GP_OP_DISMOUNT,   /* hand it whole to vfio-pci (dismount, apply's dismounted.conf) */
	GP_OP_MOUNT,      /* give it back to its drivers (mount) */
};

/* One GPU of an operation. */
struct gp_op_gpu {
	struct gp_gpu_view view;
	enum gp_op_action action;
	int count;
	char series;
	bool noop_dismounted;  /* dismount: already on vfio-pci (by gpupart or by hand) */
	bool planned;          /* the plan below was made (false after an earlier refusal) */
	struct gp_plan plan;   /* empty: nothing to change on this GPU (the operation's) */
};

/*
 * Builds the operation that partitions @rq[0..n) (borrowed from @host, which must outlive the
 * operation): the refusals the model makes (dismounted for DDA, not partitionable, a count
 * the GPU does not offer, no physical-function driver...), each GPU's change and plan. The
 * checks stop at the first GPU refused. Returns 0 with *out (refused or not: see
 * gp_op_verdict), or -ENOMEM.
 */
int gp_op_partition_new(struct gp_ctx *ctx, struct gp_host *host, const struct gp_request *rq,
			size_t n, unsigned flags, struct gp_op **out);
/*
 * The same for `apply`: a request per line of @layout (gp_layout_match). A line whose device
 * is gone or whose IDs changed is skipped with an error finding (layout-no-device,
 * layout-hardware-changed) that does not stop the other lines: see gp_op_skipped.
 */
struct gp_layout;
int gp_op_apply_new(struct gp_ctx *ctx, struct gp_host *host, const struct gp_layout *layout,
		    unsigned flags, struct gp_op **out);
/*
 * The same for the GPUs @gpus[0..n) only (the qemu hook recreating a domain's lost partition):
 * their partitions.conf and dismounted.conf lines, every other line left alone (one whose GPU
 * is gone is not reported either). The GPUs are borrowed from @host.
 */
int gp_op_apply_some_new(struct gp_ctx *ctx, struct gp_host *host,
			 const struct gp_layout *layout, const struct gp_device *const *gpus,
			 size_t n, unsigned flags, struct gp_op **out);
/* The guard does not count @device's reservation record against the change: the caller owns
 * it (the qemu hook's domain, whose own partition is being recreated). 0 / -ENOMEM. */
int gp_op_guard_exempt(struct gp_op *op, const char *device);
void gp_op_free(struct gp_op *op);

/*
 * Discrete Device Assignment (ops/dda.c). dismount: every function of @gpu's slot in its
 * IOMMU group (gp_policy_dda_functions) to vfio-pci, NVIDIA VFs enabled but idle disabled
 * first, the original drivers recorded in dismounted.conf; refused, with the survey's codes,
 * for errors, and for warnings unless GP_OP_FORCE; "partitioned", "console-on-gpu"
 * (GP_OP_FORCE), "held-open". mount: back to the recorded drivers (@driver: where the GPU
 * goes when nothing is recorded; "mount-driver-unknown" without either), the record's lines
 * removed. A GPU already in the state asked for plans nothing. 0 with *out, or -ENOMEM.
 */
int gp_op_dismount_new(struct gp_ctx *ctx, struct gp_host *host, struct gp_device *gpu,
		       unsigned flags, struct gp_op **out);
int gp_op_mount_new(struct gp_ctx *ctx, struct gp_host *host, struct gp_device *gpu,
		    const char *driver, unsigned flags, struct gp_op **out);
/* The lines gp_op_apply_new skipped (the command fails once the others are done). */
size_t gp_op_skipped(const struct gp_op *op);

size_t gp_op_n_gpus(const struct gp_op *op);
const struct gp_op_gpu *gp_op_gpu(const struct gp_op *op, size_t i);
/* True when some GPU's plan has steps. */
bool gp_op_changes(const struct gp_op *op);

/*
 * The findings so far, in the order the checks ran: errors refused the command, warnings and
 * infos say what was not checked (libvirt not asked) or is checked later. Codes are
 * string literals, stable (gpupart(8), REFUSALS).
 */
const struct gp_findings *gp_op_findings(const struct gp_op *op);
#define GP_OP_NO_GPU ((size_t)-1)
/* The GPU (an index for gp_op_gpu) finding @i is about, or GP_OP_NO_GPU. */
size_t gp_op_finding_gpu(const struct gp_op *op, size_t i);

enum gp_op_verdict {
	GP_OP_GO,            /* nothing refused (yet) */
	GP_OP_REFUSED,       /* an error finding: the command must not run */
	GP_OP_REFUSED_USAGE, /* refused because of what was asked (a count the GPU does not
			      * offer): the CLI's usage error */
};
enum gp_op_verdict gp_op_verdict(const struct gp_op *op);
/* Whether findings of this code are about what was asked, not the host (exit status 2). */
bool gp_op_code_is_usage(const char *code);

/*
 * The devices whose users would block the change, of every GPU whose plan has steps (none of
 * a refused operation): the PFs and VFs by PCI address, the mdevs by UUID. Returns how many
 * (0: libvirt need not be asked), or -ENOMEM. Free the vectors with gp_strv_free.
 */
int gp_op_users(const struct gp_op *op, char ***pci, size_t *n_pci, char ***mdev,
		size_t *n_mdev);

/*
 * A device a domain names, as the guard needs it: libvirt's answer is data the caller passes
 * in (the CLI copies it from gp_virt_find_users' struct gp_virt_use; libvirt's qemu hook will
 * from the domain XML it is given), so the operation needs nothing of gpupart/virt.h. The
 * strings are borrowed.
 */
struct gp_op_use {
	const char *domain; /* domain name */
	bool active;        /* running, or only defined */
	const char *device; /* a PCI address "dddd:bb:dd.f" or an mdev UUID */
	const char *uuid;   /* the domain's UUID (NULL or "": unknown) */
	bool gpupart;       /* its <hostdev> carries gpupart's alias: assign made it */
};

/* What libvirt said, as data. */
enum gp_virt_answer_kind {
	GP_VIRT_ANSWERED,    /* uses[] is the whole answer (none: no domain names a device) */
	GP_VIRT_SKIPPED,     /* not asked on purpose (--no-libvirt): info libvirt-skipped */
	GP_VIRT_NOT_ASKED,   /* cannot be asked here (--root without --connect): a warning */
	GP_VIRT_ABSENT,      /* nothing answers at the default URI (a host without libvirt) */
	GP_VIRT_UNREACHABLE, /* the URI named cannot be reached: refused */
	GP_VIRT_TIMEOUT,     /* no answer in time: refused */
	GP_VIRT_FAILED,      /* libvirt answered with an error (@error): refused */
};

struct gp_virt_answer {
	enum gp_virt_answer_kind kind;
	int error;                      /* -errno, for GP_VIRT_FAILED */
	const struct gp_op_use *uses;   /* borrowed */
	size_t n_uses;
};

/* The answer gp_virt_find_users' result @r means (@uri_named: --connect gave the URI), with
 * @uses the @r devices it found. */
void gp_virt_answer_from(int r, bool uri_named, const struct gp_op_use *uses,
			 struct gp_virt_answer *out);

/*
 * What @answer itself says, as findings: libvirt not asked (a warning; info for
 * GP_VIRT_SKIPPED), or unable to answer (a refusal of the first GPU whose plan has steps).
 * gp_op_guard makes them first when the caller did not; calling this before lets a caller
 * show them before what the guard logs. Nothing when no plan has steps. 0 or -ENOMEM.
 */
int gp_op_answer(struct gp_ctx *ctx, struct gp_op *op, const struct gp_virt_answer *answer);

/*
 * The refusals only the host's users make, for every GPU whose plan has steps, stopping at
 * the first GPU refused: a domain of @answer (NULL: not asked, a warning) names one of its
 * devices, a reservation record does (or the records cannot be read), a process holds one
 * open. Does nothing on an operation already refused. 0 or -ENOMEM.
 */
int gp_op_guard(struct gp_ctx *ctx, struct gp_op *op, const struct gp_virt_answer *answer);

/*
 * Runs an operation that was guarded and not refused: the changes (journaled with @cmd,
 * verified, unwound on failure) and, with GP_OP_RECORD, the layout, recorded inside the
 * change (or alone when nothing on the host changes). Returns 0; GP_APPLY_STUCK when a write
 * never returned (the journal stays; the library logged it); another -errno with a finding
 * that says what failed. The caller holds the host lock.
 */
int gp_op_run(struct gp_ctx *ctx, struct gp_op *op, const char *cmd);

#endif
