/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A fake Linux kernel for the write side: a struct gp_kernel_ops that answers sysfs writes
 * (and runs /usr/lib/nvidia/sriov-manage and /sbin/modprobe vfio-pci) by changing a fixture
 * tree on disk the way Linux changes sysfs, and aborts on any write it does not model.
 *
 * State lives in files only (the library calls the ops in a forked child): the tree itself and
 * ROOT/.fakekernel/:
 *   lock                     flock'ed around every operation
 *   log                      one line per write/exec: "write PATH VALUE = RESULT"
 *   unmodelled               present (with the line) once an unmodelled write was seen
 *   block/ADDR|UUID          remove() of that device (unbind, VF removal, mdev remove) blocks
 *                            until the file is deleted, as vfio's remove waits for its user
 *   sriov-limit/PF           the PF driver enables only this many VFs (the write succeeds)
 *   probe-fail/ADDR          drivers_probe returns success but binds nothing
 *   unbindlock-busy/PF       sriov-manage cannot get the NVIDIA unbindLock
 *   modprobe-fail/MODULE     /sbin/modprobe MODULE exits 1 ("Module not found")
 *   default-driver/ADDR      the driver ID matching gives ADDR (empty: none)
 *   vgpu-shape               "mdev" or "vendor": how nvidia exposes vGPU on VFs (default: by
 *                            proc/sys/kernel/osrelease, mdev before Linux 5.16, else
 *                            vendor-specific VFIO, as NVIDIA's driver build decides)
 * A /dev/vfio/N is "held" when some ROOT/proc/PID/fd/FD links to it (what the library reads);
 * so is a native driver's device (fk-native.c): nvidia's remove() waits while /dev/nvidiaN or
 * the GPU's /dev/dri nodes are held, snd_hda_intel's while its card's /dev/snd nodes are. The
 * DRM and ALSA cards and nvidia's proc entry go with the driver (kept in FK_DIR/gone/) and
 * come back when it binds again.
 *
 * Environment read by fk_install (per tool process; exec counts as a write):
 *   GP_FAKE_FAIL_WRITE=K[:ERRNO]  the K-th write fails with -EIO (or -ERRNO), changing nothing
 *   GP_FAKE_KILL_AFTER=K          SIGKILL the tool right after the K-th write is performed
 *   GP_FAKE_FAIL_DOMAIN=K         the K-th libvirt domain step fails with EIO (fk-virt.c)
 *   GP_FAKE_KILL_DOMAIN=K         SIGKILL the tool just before the K-th domain step
 */
#ifndef GP_FAKE_KERNEL_H
#define GP_FAKE_KERNEL_H

#include <gpupart/gpupart.h>
#include <gpupart/kernel.h>

/* Puts the fake kernel under @ctx (its root is the fixture tree). */
void fk_install(struct gp_ctx *ctx);
/* The domain-step faults above (fk_install calls it). */
void fk_virt_install(struct gp_ctx *ctx);

/*
 * A write the admin makes by hand (echo VALUE > /ROOT/PATH) while no tool runs, answered as
 * the kernel would: not counted, not faulted, not in the log (which says what gpupart
 * wrote). Returns the kernel's answer, 0 or -errno.
 */
int fk_admin_write(const char *root, const char *path, const char *value);

/* The operations themselves, for a caller that wants to install them by hand. */
extern const struct gp_kernel_ops fk_ops;

#endif
