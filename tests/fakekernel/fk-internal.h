/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared between the fake kernel's units. Every path is relative to the tree's root. */
#ifndef GP_FK_INTERNAL_H
#define GP_FK_INTERNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "fixture.h"

/* One operation's view: the real root and whether we hold the tree lock. */
struct fk {
	char root[PATH_MAX];
	int lockfd;
	const char *what; /* "write PATH VALUE", for messages */
};

#define FK_DIR ".fakekernel"

/* fake-kernel.c */
void fk_lock(struct fk *fk);
void fk_unlock(struct fk *fk);
/* Appends a line to FK_DIR/log. */
__attribute__((format(printf, 2, 3))) void fk_log(struct fk *fk, const char *fmt, ...);
/* Prints "fakekernel: unmodelled ..." and aborts: a test must never pass over it. */
__attribute__((noreturn, format(printf, 2, 3))) void fk_unmodelled(struct fk *fk, const char *fmt, ...);
/* Waits, with the lock released, while remove() of @name would block (a block/ marker, or a
 * held /dev/vfio group when @group >= 0). */
void fk_block_wait(struct fk *fk, const char *name, int group);

/* fk-sysfs.c: files */
char *fk_path(const struct fk *fk, const char *rel);
bool fk_exists(const struct fk *fk, const char *rel);
bool fk_marker(const struct fk *fk, const char *kind, const char *name);
/* First line of a file without its newline; NULL when unreadable. */
char *fk_read(const struct fk *fk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Whole file; NULL when unreadable. */
char *fk_read_all(const struct fk *fk, const char *rel, size_t *len);
int fk_read_int(const struct fk *fk, int def, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int fk_put(const struct fk *fk, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Resolves links beneath the root: the canonical relative path, or NULL (missing, or outside). */
char *fk_resolve(const struct fk *fk, const char *rel);
/* Basename of a link's target, e.g. the driver name; NULL without the link. */
char *fk_link_name(const struct fk *fk, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int fk_rm(const struct fk *fk, const char *rel);  /* rm -rf; a missing path is fine */
int fk_mkdir(const struct fk *fk, const char *rel);
/* A PCI address "dddd:bb:dd.f" (exactly). */
bool fk_is_addr(const char *s);
/* The device directory of ADDR (canonical); NULL when there is no such device. */
char *fk_dev_dir(const struct fk *fk, const char *addr);
int fk_config_patch16(const struct fk *fk, const char *addr, int off, unsigned set, unsigned clear,
		      unsigned *value);
/* Offset of an extended capability in ADDR's config, 0 when absent or unreadable. */
int fk_config_ext_cap(const struct fk *fk, const char *addr, unsigned id);
/* Loads ADDR (a PF) and its bridge chain into @t, with everything fx_sriov_enable and
 * fx_dev_write need to lay VFs out as the fixture does. NULL (and a message) on failure. */
struct fx_dev *fk_pf_load(const struct fk *fk, struct fx_tree *t, const char *addr);
/* Lowest IOMMU group number not in use, as the kernel's ida hands them out. */
int fk_group_alloc(const struct fk *fk);
/* True when some process in ROOT/proc holds /dev/vfio/GROUP open. */
bool fk_group_held(const struct fk *fk, int group);
int fk_dev_group(const struct fk *fk, const char *addr);

/* fk-pci.c */
int fk_driver_override_store(struct fk *fk, const char *addr, const char *val);
int fk_unbind_store(struct fk *fk, const char *drv, const char *val);
int fk_drivers_probe_store(struct fk *fk, const char *val);
/* Binds ADDR (unbound) to DRV, with the driver's own side effects. */
int fk_pci_bind(struct fk *fk, const char *addr, const char *drv);
/* Releases ADDR's driver (remove() may block); 0 when it had none. */
int fk_pci_release(struct fk *fk, const char *addr);
/* What ID matching would bind (NULL: nothing); *autoload when udev would load the module. */
char *fk_default_driver(struct fk *fk, const char *addr);
bool fk_driver_has_sriov_configure(struct fk *fk, const char *drv);

/* fk-sriov.c */
int fk_sriov_numvfs_store(struct fk *fk, const char *addr, const char *val);
int fk_sriov_autoprobe_store(struct fk *fk, const char *addr, const char *val);
/* Enables N VFs; @drv non-NULL binds them all to it regardless of autoprobe. */
int fk_sriov_enable(struct fk *fk, const char *pf, int n, const char *drv);
int fk_sriov_disable(struct fk *fk, const char *pf);
int fk_sriov_manage(struct fk *fk, char *const argv[]);
/* Takes NAME (a function or an mdev) out of GROUP; the group goes with its last member. */
void fk_group_drop(struct fk *fk, int group, const char *name);
enum fx_vgpu_shape fk_nv_shape(struct fk *fk);
int fk_pci_attach_new(struct fk *fk, const char *addr);

/* fk-native.c: native drivers' remove() and what their probe makes (see there) */
/* True while a process holds a device node whose users @drv's remove() on ADDR waits for. */
bool fk_native_held(struct fk *fk, const char *addr, const char *drv);
/* Waits, with the lock released, while fk_native_held. */
void fk_native_wait(struct fk *fk, const char *addr, const char *drv);
/* Takes away what @drv's probe made for ADDR (DRM and ALSA cards, nvidia's proc entry)... */
void fk_native_gone(struct fk *fk, const char *addr, const char *drv);
/* ...and puts it back when @drv binds ADDR again. */
void fk_native_back(struct fk *fk, const char *addr, const char *drv);

/* fk-modprobe.c: /sbin/modprobe vfio-pci; its exit status */
int fk_modprobe(struct fk *fk, char *const argv[]);

/* fk-nvidia.c */
int fk_nv_current_type_store(struct fk *fk, const char *vf, const char *val);
int fk_mdev_create_store(struct fk *fk, const char *parent, const char *type, const char *val);
int fk_mdev_remove_store(struct fk *fk, const char *uuid, const char *val);
/* nvidia's probe/remove side of a VF: the vGPU files (shape per host). */
int fk_nv_vf_probe(struct fk *fk, const char *vf);
int fk_nv_vf_remove(struct fk *fk, const char *vf);
/* Rewrites the vGPU files (creatable lists, available_instances) of a GPU from its model. */
int fk_nv_gpu_refresh(struct fk *fk, const char *pf);
/*
 * MIG: a GPU is in MIG mode while FK_DIR/mig/PF exists (the driver's persistent state, which
 * no file shows; a test sets it), the file holding the MIG-backed type id each of its GPU
 * instances takes; the instances are the tree's capabilities/gpuN/mig/giM. sriov-manage
 * rebinds the GPU, which destroys them: fk_nv_mig_destroy.
 */
void fk_nv_mig_destroy(struct fk *fk, const char *pf);

#endif
