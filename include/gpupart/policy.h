/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Policy: pure functions from the host model to Hyper-V-style statuses, partition counts and
 * SurveyDDA-style findings. No I/O; every rule is table-tested in tests/unit/test-policy.c.
 */
#ifndef GPUPART_POLICY_H
#define GPUPART_POLICY_H

#include <gpupart/model.h>

enum gp_status {
	GP_STATUS_PARTITIONED,        /* "partitioned": can be partitioned on this host now */
	GP_STATUS_PARAVIRTUALIZATION, /* partition-capable, but SR-IOV or IOMMU not enabled */
	GP_STATUS_READY_FOR_DDA,      /* not partitionable, a PCIe endpoint the host can hand over */
	GP_STATUS_NOT_ASSIGNABLE,     /* conventional PCI, bridge/port, or no IOMMU */
};

enum gp_backend {
	GP_BACKEND_NONE,
	GP_BACKEND_NVIDIA_VFIO, /* vendor-specific VFIO: VFs carry nvidia/creatable_vgpu_types */
	GP_BACKEND_NVIDIA_MDEV, /* mdev types on the PF or on each VF */
	GP_BACKEND_SRIOV,       /* any other SR-IOV function: VFs go to vfio-pci */
};

/* How the NVIDIA driver shares the GPU (real-hosts/11: equal-size is the default mode). */
enum gp_vgpu_mode {
	GP_VGPU_MODE_NONE,  /* no NVIDIA vGPU backend: JSON null */
	GP_VGPU_MODE_EQUAL, /* "equal-size": every vGPU has the same framebuffer size */
	GP_VGPU_MODE_MIXED, /* "mixed-size": time-sliced vGPUs of different sizes */
	GP_VGPU_MODE_MIG,   /* "mig": MIG-backed vGPUs on GPU instances */
};

enum gp_severity { GP_SEV_INFO, GP_SEV_WARNING, GP_SEV_ERROR };

enum gp_verdict { GP_VERDICT_ASSIGNABLE, GP_VERDICT_WITH_WARNINGS, GP_VERDICT_NOT_ASSIGNABLE };

const char *gp_status_str(enum gp_status s);
const char *gp_backend_str(enum gp_backend b); /* NULL for GP_BACKEND_NONE */
const char *gp_vgpu_mode_str(enum gp_vgpu_mode m); /* NULL for GP_VGPU_MODE_NONE */
const char *gp_severity_str(enum gp_severity s);
const char *gp_verdict_str(enum gp_verdict v);

struct gp_finding {
	const char *code;             /* stable kebab-case code, see man/gpupart.8 */
	enum gp_severity severity;
	char *detail;
};

struct gp_findings {
	struct gp_finding *v;
	size_t n;
};

void gp_findings_clear(struct gp_findings *f);
/* Adds a finding; returns 0 or -ENOMEM. */
int gp_findings_add(struct gp_findings *f, const char *code, enum gp_severity sev,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
bool gp_findings_has(const struct gp_findings *f, const char *code);

/* One partition in force (Hyper-V PartitionId = id). */
struct gp_partition {
	int id;
	const struct gp_device *vf;   /* the VF, or NULL for an mdev on the PF */
	const char *address;          /* VF address, or the mdev's parent address */
	const char *driver;
	const char *vgpu_type;        /* type name, NULL for plain SR-IOV */
	int vgpu_type_id;             /* GP_UNKNOWN when none */
	char series;                  /* its type's series, 0 when unknown */
	const char *mdev_uuid;
	enum gp_mdev_owner owner;     /* an mdev's maker (gpupart, mdevctl); UNKNOWN otherwise */
	int iommu_group;              /* the VF's, or the mdev's own */
	int64_t fb_bytes;             /* framebuffer of its type, GP_UNKNOWN */
	/* Who holds it (list): the domain libvirt names it in, else a reservation record's;
	 * NULL when nobody (or nobody was asked). Filled by the CLI, which owns the strings;
	 * never by gp_gpu_view_build, never freed by gp_gpu_view_clear. */
	const char *domain;
	const char *domain_uuid;
};

/* What `list` reports for one GPU. Pointers borrow from the host model. */
struct gp_gpu_view {
	const struct gp_device *dev;
	enum gp_status status;
	enum gp_backend backend;
	enum gp_vgpu_mode vgpu_mode;
	char series;                  /* the vGPU series the counts are for: the one asked for,
				       * else the partitions', else the default; 0 for none */
	int *valid_counts;            /* descending; none in mixed-size mode */
	size_t n_valid_counts;
	int partition_count;
	int64_t vram_bytes;           /* GP_UNKNOWN */
	int64_t partition_vram_bytes; /* GP_UNKNOWN */
	struct gp_partition *partitions;
	size_t n_partitions;
	bool dda_dismounted;          /* handed whole to vfio (gp_policy_dda_dismounted) */
	char **dda_domains;           /* the libvirt domains naming its functions: filled by a
				       * caller that asked libvirt (NULL: none, or not asked);
				       * freed by gp_gpu_view_clear */
	size_t n_dda_domains;
};

/* @series: 'Q','C','B','A', or 0 for the series of the partitions in force, else the series
 * with the most types. Returns 0 / -ENOMEM. */
int gp_gpu_view_build(const struct gp_host *host, const struct gp_device *dev, char series,
		      struct gp_gpu_view *out);
void gp_gpu_view_clear(struct gp_gpu_view *v);

enum gp_backend gp_policy_backend(const struct gp_host *host, const struct gp_device *dev);
enum gp_status gp_policy_status(const struct gp_host *host, const struct gp_device *dev);
/* Distinct max-instance counts of one series (non-MIG types), descending. */
int gp_policy_valid_counts(const struct gp_vgpu_type *types, size_t n, char series,
			   int cap, int **out, size_t *n_out);
/* The vGPU type of @series (0: the default series) whose max instances per GPU equal @count:
 * never a MIG type; the largest framebuffer when several. A shallow copy (names borrowed from
 * the model). -ERANGE when there is none. */
int gp_policy_type_for_count(const struct gp_host *host, const struct gp_device *dev,
			     char series, int count, struct gp_vgpu_type *out);
/* The series with the most (non-MIG) types; ties go to Q, C, B, A in that order. */
char gp_policy_default_series(const struct gp_vgpu_type *types, size_t n);
/* The series every partition in force whose type is known has; 0 when none, or two differ. */
char gp_policy_partitions_series(const struct gp_gpu_view *v);
/* @count is the NVIDIA GPU's count in force: that many partitions, not in mixed-size mode, none
 * of another series than the view's. set-count then changes nothing (it changes counts, not
 * the size of partitions already made). */
bool gp_policy_count_in_force(const struct gp_gpu_view *v, int count);

/* SurveyDDA */
int gp_survey_host(const struct gp_host *host, struct gp_findings *out);
int gp_survey_device(const struct gp_host *host, const struct gp_device *dev,
		     struct gp_findings *out);
/* The verdict from device findings plus host findings: any error -> not-assignable, else any
 * warning -> assignable-with-warnings, else assignable. Info never counts. */
enum gp_verdict gp_verdict_from(const struct gp_findings *host, const struct gp_findings *dev);
/* The reset the kernel will use: first entry of reset_method, else derived from config. */
const char *gp_policy_reset_method(const struct gp_device *dev);
/* Sum of the 64-bit memory BAR sizes (0..5), rounded up to a power of two; GP_UNKNOWN. */
int64_t gp_policy_mmio64_required(const struct gp_device *dev);
/* NVIDIA's published MMIO requirement for this model (seeds/003), or GP_UNKNOWN. */
int64_t gp_policy_mmio_table_lookup(const struct gp_device *dev, const char **model);

/*
 * Discrete Device Assignment (policy/dda.c). The functions a dismount moves to vfio-pci with
 * @gpu: the GPU first, then the other endpoints of its slot in its IOMMU group (never a
 * bridge, never a VF). *out is malloc'ed (free it; the devices are borrowed). 0 / -ENOMEM.
 */
int gp_policy_dda_functions(const struct gp_host *host, const struct gp_device *gpu,
			    struct gp_device ***out, size_t *n_out);
/* Every one of those functions is on a vfio driver: the GPU is dismounted, by gpupart or by
 * hand (driverctl, virsh nodedev-detach). */
bool gp_policy_dda_dismounted(const struct gp_host *host, const struct gp_device *gpu);
/* vfio-pci or a vendor variant driver built on vfio-pci-core ("*_vfio_pci"). */
bool gp_policy_is_vfio_driver(const char *driver);

/*
 * Homogeneity, as Windows Admin Center enforces it: two GPUs are of one configuration when
 * vendor, device and subsystem IDs, VRAM (BAR-derived framebuffer) and the vGPU type list
 * match. Pure.
 */
bool gp_policy_same_config(const struct gp_host *host, const struct gp_device *a,
			   const struct gp_device *b);
/* Partitions gpus[0..n) into homogeneous sets: set_of[i] gets the index (0..k-1, numbered in
 * order of first appearance) of the set gpus[i] belongs to. Returns k, or -ENOMEM. Pure. */
int gp_policy_homogeneous_sets(const struct gp_host *host, const struct gp_device *const *gpus,
			       size_t n, int *set_of);

/* For every homogeneous set among the views' GPUs whose members have different partition
 * counts, adds one warning finding (uneven-partition-counts) to @out naming the GPUs and their
 * counts. Returns the number added, or -ENOMEM. Pure. */
int gp_policy_uneven_counts(const struct gp_host *host, const struct gp_gpu_view *views,
			    size_t n, struct gp_findings *out);

#endif
