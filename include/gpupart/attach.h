/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attach and detach as library operations (ops/attach.c): a whole, dismounted GPU into a
 * libvirt domain (Hyper-V's Add-VMAssignableDevice) and out again (Remove-VMAssignableDevice).
 * The builder makes the refusals (findings with stable codes: gpupart(8), REFUSALS) and
 * chooses what changes (the functions, the 64-bit MMIO window, the guest's address width);
 * libvirt's answer about the domain comes in as data (the CLI copies it from
 * gp_virt_domain_inspect), and the CLI makes the change through virt.h. Nothing here prints.
 */
#ifndef GPUPART_ATTACH_H
#define GPUPART_ATTACH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpupart/ops.h>
#include <gpupart/policy.h>

/* The domain, as libvirt said (strings borrowed). */
struct gp_op_domain {
	const char *name;
	bool found, persistent, active, remote;
	const char *hostname;
	int n_snapshots, n_checkpoints;   /* -1 unknown */
	const struct gp_op_use *uses;     /* every domain naming one of the GPU's functions */
	size_t n_uses;
	bool q35, ovmf, recorded;
	size_t n_named;                   /* the GPU's functions this domain names */
	int64_t pcihole64_kib, memory_kib, fwcfg_mb; /* -1: none, unknown */
	int maxphys_bits;                 /* -1 none; 0 passthrough */
};

enum gp_dda_flags {
	GP_DDA_DETACH = 1 << 0,  /* detach (Remove-VMAssignableDevice) */
	GP_DDA_RESTART = 1 << 1, /* --restart: a running domain is stopped and started again */
};

struct gp_op_dda {
	struct gp_findings findings; /* errors refuse; in the order the checks ran */
	char **fns;                  /* the GPU's functions, the GPU first */
	size_t n_fns;
	bool nothing;                /* already attached (attach) or not attached (detach) */
	uint64_t window;             /* the 64-bit window chosen, bytes (0: none needed) */
	int64_t bars;                /* the survey's mmio64_bytes_required, -1 unknown */
	int64_t table;               /* the seed's per-model table, -1: not in it */
	const char *table_model;
	bool overridden;             /* --mmio-high */
	int phys_bits;               /* the guest width to set (0: leave it) */
	int host_phys_bits;          /* -1 unknown */
};

/* The window for @gpu (bytes): the larger of its BARs' power-of-two sum and the table's. */
uint64_t gp_op_dda_window(const struct gp_device *gpu);
/* The guest physical address width that holds @mem_bytes of RAM (above 4 GiB) and, above it,
 * a naturally aligned @window as OVMF places it. */
int gp_op_dda_phys_bits(uint64_t mem_bytes, uint64_t window);
/* "64G", "512GiB", "1T", "4096" (bytes), "4096M": 0, -EINVAL, -ERANGE. Powers of 1024. */
int gp_op_parse_size(const char *s, uint64_t *out);

/*
 * Builds the operation for GPU @gpu of @host and domain @dom (NULL: libvirt could not be
 * asked; the caller reports why and nothing is built). @mmio_high: --mmio-high (0: none).
 * 0 with *out, or -ENOMEM.
 */
int gp_op_dda_new(struct gp_ctx *ctx, struct gp_host *host, const struct gp_device *gpu,
		  const struct gp_op_domain *dom, uint64_t mmio_high, unsigned flags,
		  struct gp_op_dda **out);
void gp_op_dda_free(struct gp_op_dda *op);

/*
 * Runs @op on domain @domain at @uri as a transaction (kinds/domain.c): the domain's whole
 * definition is journaled before the first step, the change goes through the context's
 * libvirt (gp_ctx_set_virt), and a failure, a kill or `repair` puts the definition back.
 * @restart, @shutdown_ms: --restart. @cmd is recorded in the journal. The caller holds the
 * host lock. 0 or -errno (GP_APPLY_STUCK: journal kept).
 */
int gp_op_dda_run(struct gp_ctx *ctx, const struct gp_op_dda *op, const char *uri,
		  const char *domain, bool detach, bool restart, int shutdown_ms, const char *cmd);
bool gp_op_dda_refused(const struct gp_op_dda *op);

#endif
