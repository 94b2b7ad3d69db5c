/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libvirt, read-only: which domains name a device. virt.c is the only file that includes
 * <libvirt/libvirt.h>.
 */
#ifndef GPUPART_VIRT_H
#define GPUPART_VIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpupart/gpupart.h>

struct gp_virt_use {
	char *domain;   /* domain name */
	char uuid[37];  /* domain UUID */
	bool active;    /* running (its live XML was read) or only defined */
	char *device;   /* what it names: a PCI address "dddd:bb:dd.f" or an mdev UUID */
	bool gpupart;   /* the <hostdev> carries gpupart's alias (ua-gpupart-...): assign's */
};

/* The alias assign gives a partition's <hostdev> (libvirt keeps "ua-" user aliases in the
 * persistent definition): "ua-gpupart-" and the device with ':' and '.' as '-'. */
#define GP_VIRT_ALIAS_PREFIX "ua-gpupart-"

/* As n_pci and n_mdev (the arrays NULL): every PCI function and mdev any domain names, so that
 * one question needs nothing of the host read first (assign asks before its scan). */
#define GP_VIRT_EVERY ((size_t)-1)

/* How long the whole conversation with libvirt may take unless the caller says (ms). */
#define GP_VIRT_TIMEOUT_MS_DEFAULT 10000

/*
 * Every domain on @uri (NULL: libvirt's default URI for this user), running or only defined,
 * whose configuration (live XML for running domains, persistent XML too when it differs)
 * names one of @pci_addrs (canonical "dddd:bb:dd.f") as a <hostdev type='pci'> or
 * <interface type='hostdev'> source, or one of @mdev_uuids as a <hostdev type='mdev'> source.
 *
 * The whole conversation (connect, list, every domain's XML) takes at most @timeout_ms
 * (<= 0: GP_VIRT_TIMEOUT_MS_DEFAULT): it runs in a child process that loads libvirt, so the
 * caller never does, and that is killed when the time is up. Only where libvirt is already
 * loaded in the calling process (an application that uses libvirt itself, whose driver state
 * and threads a child would not have) does it run in the caller, without a bound.
 *
 * Returns the number of uses (*out, free with gp_virt_uses_free), or -errno:
 *   -ECONNREFUSED  no libvirt reachable at @uri, or none installed (logged at info for the
 *                  default URI, where that is unremarkable; as an error for a named @uri);
 *   -ETIMEDOUT     no complete answer within the time (logged as an error);
 *   -EIO           libvirt answered with an error (logged);
 *   -ENOMEM.
 * libvirt's own error printing is silenced: everything goes through the context's log.
 */
int gp_virt_find_users(struct gp_ctx *ctx, const char *uri, int timeout_ms,
		       const char *const *pci_addrs, size_t n_pci, const char *const *mdev_uuids,
		       size_t n_mdev, struct gp_virt_use **out);
void gp_virt_uses_free(struct gp_virt_use *v, size_t n);

/* Pure: the uses in one domain XML document (for tests and the hook path). -EINVAL on XML
 * that does not parse. */
int gp_virt_parse_domain_xml(const char *xml, const char *const *pci_addrs, size_t n_pci,
			     const char *const *mdev_uuids, size_t n_mdev, struct gp_virt_use **out,
			     size_t *n_out);

/* ---- Discrete Device Assignment: one domain, read and edited (virt/domain.c) ---- */

/* A domain, as attach and detach need it. */
struct gp_virt_domain {
	bool found;          /* the domain exists on the connection */
	bool persistent;     /* defined (not transient) */
	bool active;         /* running (or paused) */
	bool remote;         /* the connection is to another host than this one */
	char *hostname;      /* libvirt's host name (virConnectGetHostname), NULL unknown */
	int n_snapshots;     /* -1: unknown */
	int n_checkpoints;   /* -1: unknown */
	char *xml;           /* the inactive XML (VIR_DOMAIN_XML_INACTIVE) */
	/* every domain naming one of the functions asked about (this one too) */
	struct gp_virt_use *uses;
	size_t n_uses;
	/* from the inactive XML (gp_virt_domain_facts) */
	bool q35;            /* machine type q35 (PCI Express: a pcie-root, root ports) */
	bool ovmf;           /* UEFI firmware: <os firmware='efi'> or a <loader> naming OVMF */
	bool recorded;       /* gpupart's record of an attach is in its <metadata> */
	size_t n_named;      /* how many of the functions asked about its <hostdev>s name */
	int64_t pcihole64_kib; /* the root controller's <pcihole64>, -1 none */
	int maxphys_bits;    /* <cpu><maxphysaddr bits=...>, -1 none */
	bool maxphys_passthrough; /* mode='passthrough' (the host's width) */
	int64_t memory_kib;  /* <memory> (or <maxMemory>, the larger), -1 unknown */
	int64_t fwcfg_mb;    /* an opt/ovmf/X-PciMmio64Mb already on its qemu:commandline, -1 */
	char uuid[37];       /* its UUID, lowercase ("" unknown) */
	int numa_node;       /* <numatune><memory nodeset>'s first node, -1 none */
	char *cpuset;        /* <vcpu cpuset=...>, NULL none */
};
void gp_virt_domain_clear(struct gp_virt_domain *d);

/*
 * Reads domain @name on @uri (NULL: libvirt's default URI) and every domain's use of
 * @fns[0..n) (canonical "dddd:bb:dd.f") and of the mdevs @mdevs[0..n_mdevs), in one child
 * bounded by @timeout_ms (see gp_virt_find_users). 0 with *d filled (found false when there
 * is no such domain), or the -errno of gp_virt_find_users. The XML facts are filled with
 * gp_virt_domain_facts (@fns only).
 */
int gp_virt_domain_inspect(struct gp_ctx *ctx, const char *uri, int timeout_ms,
			   const char *name, const char *const *fns, size_t n_fns,
			   const char *const *mdevs, size_t n_mdevs, struct gp_virt_domain *d);
/* Pure: the XML facts of @d->xml into @d (gp_virt_domain_inspect calls it). */
int gp_virt_domain_facts(struct gp_virt_domain *d, const char *const *fns, size_t n_fns);

/* What attach (or detach) does to a domain. */
struct gp_virt_dda {
	const char *domain;
	const char *const *fns; /* the host functions, the GPU's first (one guest slot) */
	size_t n_fns;
	uint64_t window_bytes;  /* the 64-bit MMIO window wanted, a power of two (0: none) */
	int phys_bits;          /* the guest physical address width wanted (0: leave it) */
	bool restart;           /* a running domain is shut down, edited and started again */
	int shutdown_ms;        /* how long a graceful shutdown may take before it is forced */
	/* partitions (assign, unassign) instead of a whole GPU: each "pci ADDR" or "mdev UUID",
	 * one <hostdev> with gpupart's alias each, attached (or detached) and nothing else */
	const char *const *parts;
	size_t n_parts;
};

/*
 * Pure: the lines "ELEMENT: BEFORE -> AFTER" attach (or, @detach, detach) would change in
 * @xml, for the plan. Free with gp_strv_free. 0 or -errno (-ENOENT: detach without record).
 */
int gp_virt_dda_plan(const char *xml, const struct gp_virt_dda *a, bool detach, char ***lines,
		     size_t *n_lines);

/* What happened. */
struct gp_virt_dda_result {
	int bus;              /* the guest bus the functions are on (slot 0), -1 */
	bool restarted;       /* it was running and runs again */
	bool undone;          /* a step failed and the domain's definition was put back */
	bool start_failed;    /* with --restart: the edited domain did not start (undone) */
	char **lines;         /* the changes made, as gp_virt_dda_plan's */
	size_t n_lines;
	char *state_xml;      /* the inactive XML the change left (read right after it), NULL */
	bool state_active;    /* and whether the domain ran then */
};
void gp_virt_dda_result_clear(struct gp_virt_dda_result *r);

/*
 * Attaches (@detach false) or detaches: with @a->restart a running domain is shut down
 * (virDomainShutdown, then virDomainDestroy after @a->shutdown_ms); the MMIO edits and
 * gpupart's record through virDomainDefineXML of the edited inactive XML, the hostdevs through
 * virDomainAttachDeviceFlags / virDomainDetachDeviceFlags (VIR_DOMAIN_AFFECT_CONFIG); started
 * again when it ran. Any failure puts the original definition back (and starts it as it was):
 * r->undone. All in one child bounded by @timeout_ms. 0, or -errno (logged): -ECONNREFUSED,
 * -ETIMEDOUT (the domain may be half edited: the definition before is in the log), -EIO,
 * -EBUSY (running without @a->restart), -ENOENT (no domain; detach: no record).
 */
int gp_virt_dda_change(struct gp_ctx *ctx, const char *uri, int timeout_ms,
		       const struct gp_virt_dda *a, bool detach, struct gp_virt_dda_result *r);

/* The context's libvirt (gp_ctx_set_virt): the domain kind's reads and steps. */
extern const struct gp_ctx_virt gp_virt_ctx_ops;
/* What the last attach or detach step did (its lines, bus, restart, undo), moved into @out
 * (free with gp_virt_dda_result_clear). */
void gp_virt_dda_last(struct gp_virt_dda_result *out);

/*
 * Maps libvirt (and libxml2) into this process without calling into it: no virInitialize, no
 * connection, no thread, so the bounded children forked afterwards (each still asks in a child
 * of its own, see gp_virt_find_users) start with the libraries loaded instead of loading some
 * 50 shared objects each (assign and unassign fork several: bench/RESULTS.md). 0, or the
 * -ECONNREFUSED of a host without libvirt (logged at info; the children will say it again).
 */
int gp_virt_preload(struct gp_ctx *ctx);

/* Whether @uri (NULL: the default) names this host: no host part, or localhost. */
bool gp_virt_uri_is_local(const char *uri);

/* ---- A host's PCI devices from libvirt's node-device API (virt/nodedev.c) ---- */

/* One PCI device as virNodeDeviceGetXMLDesc describes it (docs/formatnode.rst). */
struct gp_virt_nodedev {
	char address[16];    /* "dddd:bb:dd.f" */
	long vendor, device; /* PCI IDs */
	long pci_class;      /* <class>, -1 absent (libvirt before 5.x) */
	char *vendor_name, *product_name;
	char *driver;        /* <driver><name>, NULL: unbound */
	bool is_vf;          /* has a phys_function capability */
	int n_vfs;           /* addresses under virt_functions */
	int max_vfs;         /* its maxCount, -1 absent */
	int n_mdev_types;    /* types under mdev_types */
	int iommu_group;     /* -1 absent */
	int numa_node;       /* -1 absent */
};

/* Pure: one node device's XML. 0; -EINVAL for XML that does not parse or is no PCI device
 * with an address and IDs; -ENOMEM; -ENOTSUP without libxml2. */
int gp_virt_nodedev_parse(const char *xml, struct gp_virt_nodedev *d);
void gp_virt_nodedev_clear(struct gp_virt_nodedev *d);
void gp_virt_nodedevs_free(struct gp_virt_nodedev *v, size_t n);

/*
 * Every PCI device of the host at @uri (a read-only connection, in one child bounded by
 * @timeout_ms, <= 0: GP_VIRT_TIMEOUT_MS_DEFAULT) and libvirt's name for the host in
 * *@hostname ("" when it gives none). 0; -ECONNREFUSED (nothing there), -ETIMEDOUT, -EIO.
 */
int gp_virt_nodedevs_read(struct gp_ctx *ctx, const char *uri, int timeout_ms, char **hostname,
			  struct gp_virt_nodedev **out, size_t *n_out);

#endif
