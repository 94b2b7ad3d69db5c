/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host model: plain facts read from sysfs, /proc and config space. Nothing here judges;
 * policy.h turns facts into statuses and findings.
 *
 * Unknown is a first-class value: tri-states are enum gp_tri, integers use GP_UNKNOWN (-1)
 * where -1 cannot be a real value, and strings are NULL.
 */
#ifndef GPUPART_MODEL_H
#define GPUPART_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gpupart/gpupart.h>

#define GP_UNKNOWN (-1)
#define GP_ADDR_LEN 17 /* "dddd:bb:dd.f" + NUL; VMD domains are wider ("10000:e1:00.0") */

enum gp_tri { GP_TRI_UNKNOWN = -1, GP_TRI_NO = 0, GP_TRI_YES = 1 };

struct gp_pci_addr {
	uint32_t domain;
	uint8_t bus;
	uint8_t dev;
	uint8_t fn;
};

/* Accepts "dddd:bb:dd.f" (4 to 8 domain digits, as Intel VMD's 10000+ domains need) or
 * "bb:dd.f" (domain 0), any case. Returns 0 or -EINVAL. */
int gp_pci_addr_parse(const char *s, struct gp_pci_addr *out);
/* Writes the canonical lowercase form into buf (GP_ADDR_LEN bytes). Returns buf. */
char *gp_pci_addr_format(const struct gp_pci_addr *a, char *buf);
int gp_pci_addr_cmp(const struct gp_pci_addr *a, const struct gp_pci_addr *b);
/* True if the strings name functions of the same physical device (same domain:bus:dev). */
bool gp_pci_addr_same_slot(const struct gp_pci_addr *a, const struct gp_pci_addr *b);

/* PCI Express device/port type (PCIe base spec 7.5.3.2), plus "no PCIe capability". */
enum gp_pcie_type {
	GP_PCIE_UNKNOWN = -1, /* config space unreadable */
	GP_PCIE_NONE = -2,    /* conventional PCI: no PCIe capability */
	GP_PCIE_ENDPOINT = 0x0,
	GP_PCIE_LEGACY_ENDPOINT = 0x1,
	GP_PCIE_RCIEP = 0x9,
	GP_PCIE_RC_EC = 0xa,
	GP_PCIE_ROOT_PORT = 0x4,
	GP_PCIE_UPSTREAM = 0x5,
	GP_PCIE_DOWNSTREAM = 0x6,
	GP_PCIE_PCIE_TO_PCI = 0x7,
	GP_PCIE_PCI_TO_PCIE = 0x8,
};

/* ACS control bits (PCIe base spec 7.7.8.3). */
#define GP_ACS_SV 0x0001 /* source validation */
#define GP_ACS_TB 0x0002 /* translation blocking */
#define GP_ACS_RR 0x0004 /* P2P request redirect */
#define GP_ACS_CR 0x0008 /* P2P completion redirect */
#define GP_ACS_UF 0x0010 /* upstream forwarding */
/* What libvirt (virPCIDeviceIsBehindSwitchLackingACS) requires of a port. */
#define GP_ACS_REQUIRED (GP_ACS_SV | GP_ACS_RR | GP_ACS_CR | GP_ACS_UF)

/* Facts decoded from config space. Everything is unknown when the config is truncated. */
struct gp_config_facts {
	int config_len;          /* bytes we could read; <256 means unprivileged/truncated */
	bool readable;           /* config_len >= 256: capability chains can be trusted */
	bool ext_readable;       /* config_len >= 4096: extended capabilities (ACS, SR-IOV) too */
	uint8_t header_type;     /* 0 endpoint, 1 bridge, 2 cardbus (bit 7 stripped) */
	uint8_t interrupt_pin;   /* 0 = no INTx pin */
	enum gp_pcie_type pcie_type;
	enum gp_tri msi;         /* MSI or MSI-X capability present */
	enum gp_tri flr;         /* PCIe DevCap function-level reset */
	enum gp_tri af_flr;      /* Advanced Features FLR */
	enum gp_tri pm_no_soft_reset; /* PM NoSoftRst (D3hot->D0 keeps state: no PM reset) */
	enum gp_tri acs;         /* ACS extended capability present */
	uint16_t acs_cap;
	uint16_t acs_ctrl;
	bool sriov;              /* SR-IOV extended capability present */
	uint16_t sriov_total_vfs;
	uint16_t sriov_num_vfs;
	uint16_t sriov_offset;
	uint16_t sriov_stride;
	uint16_t sriov_vf_device;
	uint8_t sriov_vf_bars;   /* VF BARs the capability declares, bit i = VF BAR i: those whose
				  * register reads non-zero (64-bit and prefetchable BARs have
				  * read-only type bits even unassigned; a 32-bit one only its
				  * address) */
	uint8_t secondary_bus;   /* bridges */
	uint8_t subordinate_bus;
};

struct gp_bar {
	int index;               /* 0..5 BARs, 6 ROM, 7..12 SR-IOV VF BARs (per-VF size) */
	uint64_t start;
	uint64_t size;
	bool mem64;
	bool prefetch;
	bool io;
};

struct gp_vgpu_type {
	char *key;               /* mdev type dir name ("nvidia-555") or the numeric id ("941") */
	int type_id;             /* NVIDIA numeric vGPU type id, or GP_UNKNOWN */
	char *name;              /* "NVIDIA A40-1B" */
	char series;             /* 'Q','C','B','A' or 0 */
	bool mig;                /* MIG-backed ("H100-1-10C") */
	int64_t fb_bytes;        /* framebuffer, or GP_UNKNOWN */
	int max_instances;       /* per physical GPU, or GP_UNKNOWN */
	bool max_from_driver;    /* max_instances came from the driver (max_instance=) */
	int available;           /* available_instances (mdev), or GP_UNKNOWN */
};

/*
 * Where a GPU's vGPU catalogue came from (model/scan-catalogue.c tries them in this order for
 * the vendor-specific VFIO shape; the mdev shapes read their own complete list). JSON
 * "vgpu_catalogue": gp_catalogue_source_str(), null for NONE.
 */
enum gp_catalogue_source {
	GP_CATALOGUE_NONE,       /* not an NVIDIA vGPU GPU, or nothing lists a type */
	GP_CATALOGUE_VGPUCONFIG, /* ROOT/usr/share/nvidia/vgpu/vgpuConfig.xml (the vGPU manager's) */
	GP_CATALOGUE_NVML,       /* libnvidia-ml.so.1 on the live root */
	GP_CATALOGUE_RECORDED,   /* what gpupart recorded when the sysfs lists were complete */
	GP_CATALOGUE_SYSFS,      /* the VFs' creatable_vgpu_types: a lower bound, said so */
	GP_CATALOGUE_MDEV,       /* mdev_supported_types: the driver's complete list */
};
const char *gp_catalogue_source_str(enum gp_catalogue_source s); /* NULL for NONE */

/* Who made an mdev, as far as the host tells: JSON "owner", gp_mdev_owner_str(). */
enum gp_mdev_owner {
	GP_MDEV_OWNER_UNKNOWN,  /* neither of these: null */
	GP_MDEV_OWNER_GPUPART,  /* "gpupart": one of the GPU's deterministic partition UUIDs */
	GP_MDEV_OWNER_MDEVCTL,  /* "mdevctl": defined in /etc/mdevctl.d (libvirt's too) */
};
const char *gp_mdev_owner_str(enum gp_mdev_owner o); /* NULL for UNKNOWN */

struct gp_mdev {
	char uuid[37];
	enum gp_mdev_owner owner; /* set for the mdevs of the GPUs the scan read in full */
	char *type_key;          /* its mdev_supported_types dir name */
	int type_id;             /* NVIDIA's numeric type id (the name's last part), GP_UNKNOWN */
	char *parent;            /* parent function address */
	int iommu_group;
};

/*
 * One PCI function. The scan reads every function's class; functions that matter (GPUs, their
 * VFs, their IOMMU group companions and upstream ports) are read in full ("detailed").
 */
struct gp_device {
	struct gp_pci_addr addr;
	char address[GP_ADDR_LEN];
	bool detailed;                        /* read beyond its class */
	bool full;                            /* read in full (a GPU or a named function) */

	int vendor, device;                   /* GP_UNKNOWN when unreadable */
	int subsystem_vendor, subsystem_device;
	int64_t class_code;                   /* 24-bit class, GP_UNKNOWN when unreadable */
	char *name;                           /* from the PCI ID database, NULL if unknown */
	char *driver;                         /* bound driver, NULL when none */
	int iommu_group;                      /* GP_UNKNOWN when no group link */
	int numa_node;                        /* GP_UNKNOWN when absent or -1 */
	int bus_siblings;                     /* other functions on its bus */
	char *reset_method;                   /* "flr bus", NULL when absent */
	enum gp_tri boot_vga;
	bool has_fb;                          /* a framebuffer of its own (graphics/fbN: its
					       * driver's fbdev emulation) */
	char *syspath;                        /* realpath below ROOT/sys/devices (relative) */

	struct gp_device *parent;             /* upstream bridge, from the device path */
	bool is_vf;
	struct gp_device *physfn;             /* for VFs */
	int vf_index;                         /* for VFs: the N of the PF's virtfnN */

	/* SR-IOV as sysfs reports it; GP_UNKNOWN when the file is absent */
	int sriov_total_vfs, sriov_num_vfs, sriov_offset, sriov_stride, sriov_vf_device;
	struct gp_device **vfs;               /* enabled VFs in index order */
	size_t n_vfs;

	struct gp_config_facts cfg;
	struct gp_bar *bars;
	size_t n_bars;
	bool bars_known;                      /* the resource file was read */

	struct gp_vgpu_type *mdev_types;      /* mdev_supported_types of this function */
	size_t n_mdev_types;
	char *mdev_type_prefix;               /* the driver its type directories are named after
					       * ("nvidia", "vfio-pci"): also on VFs whose types
					       * are not read; NULL when it lists none */
	struct gp_mdev *mdevs;                /* mdevs whose parent is this function */
	size_t n_mdevs;

	bool has_nvidia_dir;                  /* <VF>/nvidia/: NVIDIA vendor-specific VFIO */
	struct gp_vgpu_type *creatable;       /* nvidia/creatable_vgpu_types */
	size_t n_creatable;
	int current_vgpu_type;                /* nvidia/current_vgpu_type, 0 none, GP_UNKNOWN */

	/* PFs: the driver's vGPU catalogue for this board, every type it supports with its
	 * framebuffer, series and maximum per GPU, whatever is in force (owned copies) */
	struct gp_vgpu_type *catalogue;
	size_t n_catalogue;
	enum gp_catalogue_source catalogue_source;
	char *board_name;                     /* the driver's name for the board, or NULL */
	enum gp_tri mig_mode;                 /* MIG mode on; unknown where nothing tells */
	int n_gpu_instances;                  /* MIG GPU instances, GP_UNKNOWN */
	enum gp_tri mixed_size;               /* the driver says mixed-size (heterogeneous) vGPU
					       * mode; unknown where it does not say */

	char **drm_nodes;                     /* "card0", "renderD128" */
	size_t n_drm_nodes;
	enum gp_tri open_by_host;             /* a process holds one of its device nodes */
	char *open_by;                        /* "pid 123 (Xorg) /dev/dri/card0" */
};

struct gp_iommu_group {
	int id;
	char **members;                       /* addresses, sorted */
	size_t n_members;
};

struct gp_host {
	struct gp_ctx *ctx;

	bool iommu_enabled;                   /* IOMMU units and groups exist */
	int n_iommu_units;
	int n_iommu_groups;
	enum gp_tri interrupt_remapping;
	char *cmdline;                        /* /proc/cmdline, trimmed */
	char *kernel_release;                 /* /proc/sys/kernel/osrelease */
	bool acs_override;                    /* pcie_acs_override= on the cmdline */
	enum gp_tri unsafe_interrupts;        /* vfio_iommu_type1 allow_unsafe_interrupts */
	enum gp_tri fbcon_bound;              /* the framebuffer console draws on the VTs (a
					       * vtconsole "frame buffer device" bound); unknown
					       * without sys/class/vtconsole */
	bool nvidia_vgpu_manager;             /* nvidia_vgpu_vfio module present */
	char *nvidia_driver_version;          /* sys/module/nvidia/version ("570.124.03"), NULL
					       * when the nvidia module is not loaded */

	struct gp_device **devs;              /* every PCI function, sorted by address */
	size_t n_devs;

	struct gp_iommu_group *groups;        /* groups of the detailed devices, sorted by id */
	size_t n_groups;
};

enum gp_scan_flags {
	GP_SCAN_ANY_CLASS = 1 << 0,  /* SR-IOV PFs of any class are "GPU-like" targets */
	GP_SCAN_OPEN_FILES = 1 << 1, /* look in /proc/<pid>/fd for holders of device nodes */
	GP_SCAN_ALL_GPUS = 1 << 2,   /* with targets: detail every GPU-like PF as well */
	GP_SCAN_COMPANIONS = 1 << 3, /* detail the other functions of each target's slot in its
				      * IOMMU group too (DDA: its HDMI audio) */
	GP_SCAN_TARGETS_OPTIONAL = 1 << 4, /* a target that is not there is no error (apply's
					    * recorded addresses: the hardware may be gone) */
};

/*
 * Scan the host. Functions named in @targets (may be NULL/0) are detailed whatever their
 * class, as are all display-class physical functions (and SR-IOV PFs with GP_SCAN_ANY_CLASS).
 * Returns 0; -ENOENT when ROOT/sys/bus/pci/devices is missing (not a Linux host tree);
 * -ENODEV when a named target does not exist (the log names it); -ENOMEM.
 */
int gp_host_scan(struct gp_ctx *ctx, unsigned flags, const struct gp_pci_addr *targets,
		 size_t n_targets, struct gp_host **out);
void gp_host_free(struct gp_host *host);

struct gp_device *gp_host_find(const struct gp_host *host, const struct gp_pci_addr *addr);
const struct gp_iommu_group *gp_host_group(const struct gp_host *host, int id);

bool gp_device_is_display(const struct gp_device *dev);
/* True when ancestor is dev itself or above it (or the chain is broken into a loop). */
bool gp_device_is_below(const struct gp_device *dev, const struct gp_device *ancestor);
/* A display-class physical function, or an SR-IOV PF when @any_class. */
bool gp_device_is_gpu_like(const struct gp_device *dev, bool any_class);

/*
 * The function whose mdev_supported_types are @pf's mdev catalogue: the PF, or when it lists
 * none (an SR-IOV GPU's driver lists them on its VFs) the first VF that lists any; every VF
 * lists the same, so the scan reads them once per GPU. NULL when nothing lists a type.
 */
const struct gp_device *gp_catalogue_mdev_source(const struct gp_device *pf);

/* Sets @pf's catalogue from the lists the scan read of it (its mdev catalogue, else the union
 * of its VFs' creatable_vgpu_types), when it has none yet: the scan's last resort, and how
 * tests give a hand-built model its catalogue. Pure. 0 or -ENOMEM. */
int gp_catalogue_from_lists(struct gp_device *pf);

/*
 * Whether @pf's MIG mode is on, from what it shows (model/scan-mig.c): GPU instances exist, or
 * its lists and the vGPUs in force are MIG-backed (on) or time-sliced (off), or a MIG-capable
 * GPU (@mig_capable: the driver has its capabilities/gpuN/mig) with VFs enabled offers nothing
 * while nothing is in force (on, no GPU instance yet). Unknown otherwise. Pure.
 */
enum gp_tri gp_mig_mode_evidence(const struct gp_device *pf, int n_gpu_instances,
				 bool mig_capable);
/* The stable PCI path of a device: "pci" + domain:root-bus, then "/dev.fn" for every bridge
 * hop down to the device, e.g. "pci0000:40/01.1/00.0" (model/identity.c). -EINVAL when the
 * chain is unknown. */
int gp_device_path_id(const struct gp_device *dev, char *buf, size_t len);
/* A deterministic RFC 9562 version-8 UUID for partition @id of the GPU with stable identity
 * @path_id (gp_device_path_id) and IDs: the same GPU always gets the same mdev UUIDs, so
 * `apply` after a reboot recreates exactly the devices VMs were given. */
void gp_partition_uuid(const char *path_id, const struct gp_device *dev, int id, char out[37]);
/* The partition id (0 .. @limit-1) whose gp_partition_uuid is @uuid (any case): an mdev
 * gpupart made; -ENOENT for any other. */
int gp_partition_uuid_id(const char *path_id, const struct gp_device *dev, const char *uuid,
			 int limit);

/*
 * The physical function a device a domain names belongs to, read from sysfs links alone (no
 * scan; model/owner.c): @device is a PCI address (a VF gives its PF, any other function
 * itself) or an mdev UUID (its parent's PF). 0 with @gpu; -ENOENT when the device is not
 * on the host (a partition lost with a reboot, or never there).
 */
int gp_device_gpu_of(struct gp_ctx *ctx, const char *device, char gpu[GP_ADDR_LEN]);

/* Parse helpers shared with tests (pure). */
int gp_parse_mdev_description(const char *desc, int64_t *fb_bytes, int *max_instance);
int gp_vgpu_type_parse_name(const char *name, char *series, bool *mig, int64_t *fb_bytes);
/* Parses creatable_vgpu_types text into a new array; returns count or -errno. */
int gp_parse_creatable_types(const char *text, struct gp_vgpu_type **out);
/* Interrupt isolation from /proc/interrupts' text (IR- on x86, ITS on arm64); unknown for an
 * architecture it does not read. Pure. */
enum gp_tri gp_interrupts_remapping(const char *text);
void gp_vgpu_types_free(struct gp_vgpu_type *types, size_t n);
/* The type of @t[0..n) with NVIDIA's numeric id @id; NULL when none or @id is not an id (<= 0,
 * as an mdev type without a numeric tail reads). Pure. */
const struct gp_vgpu_type *gp_vgpu_types_find(const struct gp_vgpu_type *t, size_t n, int id);

#endif
