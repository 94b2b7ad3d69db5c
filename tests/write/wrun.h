/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the write suite: gpupart-fake runs (with fault variables), fixture trees and
 * copies of them, a manifest of a whole tree (what "nothing changed" is checked against), the
 * fake kernel's log, and small sysfs readers. Built on tests/hosts/run.c.
 */
#ifndef GP_TEST_WRUN_H
#define GP_TEST_WRUN_H

#include <stdbool.h>
#include <sys/types.h>

#include "run.h"

#define NVME "0000:03:00.0"
#define L40S "0000:01:00.0"
#define FLEX "0000:02:00.0"
#define T4 "0000:3b:00.0"
#define A40 "0000:17:00.0"

const char *fake_bin(void);

/* A fixture scenario in a fresh directory (removed after the test). */
char *wtree(const char *scenario);
/* A fixture model a test changed, written to a fresh directory (removed after the test). */
struct fx_tree;
char *wtree_of(struct fx_tree *t, const char *name);
/* A copy (cp -a) of a tree into a fresh directory (removed after the test). */
char *wcopy(const char *src);
/* NVIDIA's sriov-manage, which the tool checks for before running it through the fake. */
void with_sriov_manage(const char *root);
/* Makes this process the reaper of the tool's orphaned write children (a stuck write), and
 * kills and removes what is left at the end of the test. */
void wsetup(void);
void wteardown(void);

/* gpupart-fake -r ROOT ARGS... NULL; env: "K=V" strings (NULL-terminated) or NULL. */
int gpf(struct run *r, const char *root, ...);
int gpf_env(struct run *r, const char *const *env, const char *root, ...);
int gpf_v(struct run *r, const char *const *env, const char *root, const char *const *args);
/*
 * The same with stdout and stderr through files, waiting for the tool only (not for whatever
 * else holds its output open); *pipe_eof_ms, when not NULL, is how long after the tool exited a
 * pipe on its stdout and stderr took to reach end of file (-1: not within 3 s).
 */
int gpf_detached(struct run *r, const char *root, const char *const *args, int *pipe_eof_ms);
/* Starts gpupart-fake -r ROOT ARGS... in the background (output to /dev/null); its pid. */
pid_t gpf_spawn(const char *root, const char *const *args);

/*
 * The manifest of a tree: one sorted line per entry (path, type, mode, a link's target, a file's
 * size and FNV-1a hash), never following links.
 *   M_STRICT  everything but .fakekernel/log (a dry run or a refusal must change nothing else)
 *   M_STATE   the host's state: without .fakekernel/, run/gpupart/lock, run/gpupart/writing
 *             (the in-flight lock) and the run/ and
 *             run/gpupart/ directories (the lock file persists by design), and the dev/ and dev/vfio/ directories themselves (the fake kernel
 *             creates them on first use; a real host always has them) - their contents count
 */
enum { M_STRICT = 0, M_STATE = 1 };
char *manifest(const char *root, int mode);
/* Asserts two manifests are equal, naming the first line that differs. */
void assert_manifest_eq(const char *got, const char *want, const char *what);
bool manifest_eq(const char *a, const char *b);

/* First line of ROOT/REL without its newline, or NULL. */
char *rd(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Last component of the link ROOT/REL, or NULL. */
char *lnk(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool ex(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void put(const char *root, const char *rel, const char *text);
void mkdirs(const char *root, const char *rel);

/* The fake kernel's log ("" when absent), its write/exec lines, and a reset. */
char *fklog(const char *root);
int fklog_ops(const char *root);
void fklog_reset(const char *root);
bool journal_present(const char *root);
/* ROOT/etc/gpupart/partitions.conf (the test fails when there is none). */
char *conf_of(const char *root);

/* The VF address of index I of a PF, from the PF's sriov_offset/sriov_stride files (the routing
 * ID arithmetic of the SR-IOV spec). */
void vf_addr(const char *root, const char *pf, int i, char out[16]);

/* A write the admin makes by hand (echo VALUE > /PATH) through the fake kernel, asserted to
 * succeed; not in the fake kernel's log. */
void admin_write(const char *root, const char *path, const char *value);
/* echo 1 > /sys/bus/mdev/devices/UUID/remove: how an admin removes an mdev gpupart did not
 * create (gpupart refuses to, mdev-not-gpupart). */
void admin_remove_mdev(const char *root, const char *uuid);
/* The UUID of the first mdev on the bus (by name) into @out; false when there is none. */
bool first_mdev(const char *root, char out[37]);

/* An mdev on the bus: its UUID, its parent (the directory it sits in: mdev_device_register()
 * puts it below its parent) and its mdev_type link. */
struct mdev {
	char uuid[40], parent[16], type[64];
};
/* Every mdev on ROOT's bus into @out (at most @max); how many. */
int mdevs(const char *root, struct mdev *out, int max);

/* A refusal: exit @status, every one of @needles on stderr, not one write in the fake
 * kernel's log, the whole tree as it was (a `repair` first creates the lock file, so that
 * even it is compared). */
void refused(const char *root, int status, const char *const *needles, const char *const *args);

/* A fake process in ROOT/proc holding TARGET open as fd FD (what fuser would see). */
void mkproc(const char *root, const char *pid, const char *comm, const char *fd,
	    const char *target);

#endif
