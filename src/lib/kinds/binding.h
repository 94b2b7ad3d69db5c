/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one binding primitive, and the binding kind.
 *
 * gp_binding_plan_fn plans one PCI function from its binding now to the wanted one (override,
 * unbind, drivers_probe, verify the driver link; the override cleared with "\n"): SR-IOV
 * partitions bind their VFs with it (kinds/gpu-plan.c), DDA's dismount and mount move a GPU's
 * functions with it (the binding kind below). Never new_id, never drivers/X/bind: both bind
 * by ID tables that outlive the change (reliability.md 1.1).
 *
 * The binding kind: the drivers of a set of PCI functions (a GPU and the other endpoints of
 * its slot in its IOMMU group) as a change of the transaction. Journal records:
 * "binding GPUADDR", then per function "fn ADDR driver=NAME|- override=NAME|- id=VVVV:DDDD
 * subsystem=VVVV:DDDD class=CCCCCC"; check finds each function on the host with those IDs.
 */
#ifndef GPUPART_KINDS_BINDING_H
#define GPUPART_KINDS_BINDING_H

#include <gpupart/plan.h>

#include "kinds/gpu.h"
#include "txn/txn.h"

extern const struct gp_kind gp_kind_binding;

struct gp_fn_binding {
	char address[GP_ADDR_LEN];
	char *driver;               /* bound driver, NULL: none */
	char *override;             /* driver_override, NULL: none */
	struct gp_pci_ident ident;  /* what the function is (journaled, checked) */
};

struct gp_binding_state {
	char gpu[GP_ADDR_LEN];      /* the GPU the functions go with (messages, journal) */
	struct gp_fn_binding *v;
	size_t n;
	bool vfio_pci;              /* vfio-pci registered: a precondition, never compared */
};

/*
 * Appends the steps that take function @addr from (@cur_driver, @cur_override) to
 * (@want_driver, @want_override) to @p: the override first while the function is unbound, so
 * that no other driver can win the probe (reliability.md 1.1, 4.2), then drivers_probe when
 * a driver is wanted; every write followed by what proves it. @present false: the function
 * is new (a VF just enabled), with no binding to undo. 0 / -errno.
 */
int gp_binding_plan_fn(struct gp_plan *p, const char *addr, bool present, const char *cur_driver,
		       const char *cur_override, const char *want_driver, const char *want_override);
/* modprobe vfio-pci (bounded, host/kernel.c) and wait for its driver directory, for @device:
 * a driver_override naming an unregistered driver binds nothing (drivers/base/dd.c). */
int gp_binding_plan_vfio_pci(struct gp_plan *p, const char *device);

/* Readers of one function's directory (@dfd): its driver link's name, its driver_override
 * (NULL for "(null)"); and whether vfio-pci is registered (sys/bus/pci/drivers/vfio-pci). */
char *gp_binding_read_driver(int dfd);
char *gp_binding_read_override(int dfd);
bool gp_binding_vfio_pci_loaded(struct gp_ctx *ctx);
/* sys/bus/pci/drivers/@name exists: the driver is registered (its module loaded). */
bool gp_binding_driver_registered(struct gp_ctx *ctx, const char *name);

/* Reads the binding of each function of @like fresh (driver link, driver_override). */
int gp_binding_state_read(struct gp_ctx *ctx, const struct gp_binding_state *like,
			  struct gp_binding_state **out);
void gp_binding_state_free(struct gp_binding_state *s);

/*
 * The change that binds @fns[0..n) (@fns[0] the GPU) to @want_drivers[i] (NULL: unbound),
 * with driver_override @want_overrides[i] (NULL: none): reads the state now (orig) and plans.
 */
int gp_binding_change_new(struct gp_ctx *ctx, const struct gp_device *const *fns, size_t n,
			  const char *const *want_drivers, const char *const *want_overrides,
			  struct gp_change **out);

#endif
