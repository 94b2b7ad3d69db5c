/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt's qemu hook as library operations (hook/hook.c). libvirt runs
 * the executables in /etc/libvirt/hooks/qemu.d synchronously at every VM start, stop, migration and daemon
 * restart (src/util/virhook.c, virHookCall; docs/hooks.rst), with the domain XML on stdin and
 * no timeout, and a hook must not call back into libvirt: the daemon is waiting for it
 * (docs/hooks.rst: "calling libvirt functions from within a hook script can cause a
 * deadlock"). So the hook gets the domain as data (what the caller parsed from stdin) and
 * reads only what that domain names: its devices' GPUs, their reservation records, the
 * recorded layout. gpupart(8), LIBVIRT HOOK.
 *
 * A device is gpupart's when its <hostdev> carries assign's alias, a reservation record
 * names it, it is a partition (or a lost one) of a GPU partitions.conf names, or a function
 * dismounted.conf names. Devices of nobody's concern (a NIC's VF) are left alone.
 */
#ifndef GPUPART_HOOK_H
#define GPUPART_HOOK_H

#include <stdbool.h>
#include <stddef.h>

#include <gpupart/gpupart.h>
#include <gpupart/policy.h>

enum gp_hook_op {
	GP_HOOK_PREPARE,   /* "prepare begin": make what the domain names ready, and its own */
	GP_HOOK_RELEASE,   /* "release end": give back this domain's reservations */
	GP_HOOK_MIGRATE,   /* "migrate begin" (on the destination): can it run here? */
	GP_HOOK_RECONNECT, /* "reconnect begin": take this running domain's reservations again */
	GP_HOOK_OTHER,     /* anything else: nothing to do */
};

/* Pure: what libvirt's OPERATION and SUB-OPERATION arguments ask of the hook. */
enum gp_hook_op gp_hook_op_parse(const char *operation, const char *subop);

/* A device the domain XML names (borrowed strings). */
struct gp_hook_dev {
	const char *device; /* a PCI address "dddd:bb:dd.f" or an mdev UUID, lowercase */
	bool gpupart;       /* its <hostdev> carries assign's alias (GP_VIRT_ALIAS_PREFIX) */
};

/* The domain, as its XML says (borrowed). */
struct gp_hook_domain {
	const char *name;
	const char *uuid;              /* lowercase; "" unknown (then nothing is reserved) */
	const struct gp_hook_dev *devs;
	size_t n_devs;
	bool dda_recorded;             /* gpupart's record of an attach in its <metadata> */
};

struct gp_hook_result {
	struct gp_findings findings;   /* an error refuses prepare and migrate (codes: gpupart(8),
					* LIBVIRT HOOK); warnings are said and do not */
	bool wrote;                    /* the host changed (records, recreated partitions) */
	bool recreated;                /* a lost partition or DDA binding was made again */
};
void gp_hook_result_clear(struct gp_hook_result *res);

/*
 * Runs @op for domain @d. Takes the host lock (waiting at most @lock_timeout_ms) only when
 * something must be written; nothing to do writes nothing at all. Never uses libvirt: a
 * pending journal holding a domain edit refuses prepare (nothing recovered). Returns 0 with
 * res->findings (refused when it holds an error), or -ENOMEM.
 */
int gp_hook_run(struct gp_ctx *ctx, enum gp_hook_op op, const struct gp_hook_domain *d,
		int lock_timeout_ms, struct gp_hook_result *res);

#endif
