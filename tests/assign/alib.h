/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Helpers of the assign suite: one libvirt daemon for the whole run (tests/lib/daemon.h,
 * started by the runner before the first test, stopped after the last), a connection per
 * test, domains defined from XML and read back with virDomainGetXMLDesc, gpupart-fake runs
 * against the daemon, the <hostdev> elements of a definition, reservation records and the
 * tree's state. Built on tests/write/wrun.c (trees, manifests) and tests/hosts/run.c.
 *
 * Tests run one at a time (CRITERION_JOBS=1, meson.build) and share the daemon: each test's
 * .fini destroys and undefines every domain, so that no test's domains hold a partition of
 * the next test's tree (the picker asks the whole connection).
 */
#ifndef GP_TEST_ALIB_H
#define GP_TEST_ALIB_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <libvirt/libvirt.h>

#include "wrun.h"

/* the fixture GPUs and partitions the suite uses (by hand from tests/fixture/fx-scenarios.c:
 * a16-vfio's VFs start at function 4, offset 4 stride 1; the mdevs' UUIDs are the fixture's) */
#define A16_0 "0000:03:00.0"  /* 4 x NVIDIA A16-2Q on VFs 03:00.4-7 */
#define A16_1 "0000:04:00.0"  /* 4 x NVIDIA A16-4Q on VFs 04:00.4-7 */
#define A16_2 "0000:05:00.0"  /* no type in force */
#define A40_GPU "0000:17:00.0" /* mdevs on VF 0 and VF 1 */
#define A40_M0 "aa618089-8b16-4d01-a136-25a0f3c73123"
#define A40_M1 "3b0e1c3e-7f2a-4b8e-9d55-1c2e6f7a8b90"
#define T4_GPU "0000:3b:00.0"
#define T4_M0 "c0ffee00-0000-4000-8000-000000000001"
#define FLEX_GPU "0000:4e:00.0" /* 4 VFs on vfio-pci, 4e:00.1-4 */

#define GIB 1073741824LL

extern virConnectPtr conn;

void a_init(void);
void a_fini(void);
/* the suite daemon's URI */
const char *a_uri(void);
/* @s, freed after the test */
char *a_own(char *s);

/* Defines a q35 domain NAME (no disk) with @devices inside <devices> (NULL: none beyond
 * pcie-root) and returns its definition after libvirt's round trip (tests/dda/test-attach.c
 * says why); its UUID is a_uuid(NAME). */
char *a_define(const char *name, const char *devices);
/* The same with @extra inside <domain> (placement: <vcpu>, <numatune>). */
char *a_define_with(const char *name, const char *extra, const char *devices);
/* The UUID a_define gives NAME (a hash of the name: stable, distinct per name). */
const char *a_uuid(const char *name);
/* The inactive XML of NAME (the test fails when there is none). */
char *a_xml(const char *name);
char *a_live_xml(const char *name);
bool a_active(const char *name);
void a_start(const char *name);
/* Every domain's name and inactive XML, sorted by name: what "every domain byte-identical"
 * is checked against. */
char *a_all_xml(void);

/* gpupart-fake -r ROOT ARGS... --connect URI; env "K=V" strings or NULL */
int a_gp(struct run *r, const char *const *env, const char *root, ...);
int a_gp_v(struct run *r, const char *const *env, const char *root, const char *const *args);
/* a_gp_v that must exit 0 (the test stops, saying why, otherwise) */
void a_ok(const char *root, const char *const *args);
/* Returns once gpupart @pid holds ROOT/run/gpupart/lock open: it has asked libvirt (before
 * the lock, ops/assign.c) and now takes or waits for the lock (10 ms polls, 60 s at most). */
void a_wait_at_lock(pid_t pid, const char *root);
/* the argv of such a run, for fork/exec (48 slots) */
void a_argv(const char **argv, const char *root, const char *const *args);

/* A <hostdev> of a definition. */
struct a_hostdev {
	char mode[16], type[16], managed[8], model[16];
	char source[48]; /* "dddd:bb:dd.f" (type pci) or the mdev UUID (type mdev) */
	char alias[96];  /* "" when none */
};
/* The <hostdev>s of @xml into out[0..max); how many. */
int a_hostdevs(const char *xml, struct a_hostdev *out, int max);
/* gpupart's alias for a device: "ua-gpupart-" and the device with ':' and '.' as '-' */
void a_alias(const char *device, char out[96]);
/* Asserts @xml holds exactly one hostdev of @device, in the backend's form. */
void a_expect_hostdev(const char *xml, const char *backend, const char *device);

/* @xml without its pcie-root-port controllers: libvirt adds one for a hostdev when none is
 * free (virDomainAttachDeviceFlags), and a detach leaves it, so a domain given more
 * partitions than it had free ports is compared without them. */
char *a_without_root_ports(const char *xml);

/* ROOT/run/gpupart/reservations/DEVICE's text, or NULL. */
char *a_resv(const char *root, const char *device);
/* How many records ROOT/run/gpupart/reservations holds. */
int a_resv_count(const char *root);
/* The record assign writes (include/gpupart/resv.h), by hand. */
char *a_resv_want(const char *device, const char *domain, const char *gpu, int id);
/* The tree's state (wrun.h's M_STATE) without the reservations directory itself (its
 * records count): what assign then unassign must give back. */
char *a_state(const char *root);

/*
 * The fixture trees, each written once per run (the fixture writer is slow on this disk).
 * a_tree: the run's one tree of @scenario, its run/ directory (records, journal, locks) and
 * the fake kernel's log removed: for tests that change nothing of the host but records, which
 * they check (assign and unassign never write the host: every test asserts no kernel write
 * and the state unchanged). a_tree_copy: a copy of its own, for a test that changes the tree.
 */
char *a_tree(const char *scenario);
char *a_tree_copy(const char *scenario);
/* Like a_tree, for a tree of the run's own named @name: @scenario's with @make's changes,
 * made once (by the first test that asks). */
char *a_tree_made(const char *name, const char *scenario, void (*make)(const char *root));

/* The finding @code is in --json's "findings" (or "refusals") of @json. */
bool a_has_code(const char *json, const char *code);

#endif
