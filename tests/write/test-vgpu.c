/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * NVIDIA vGPU hosts end to end through gpupart-fake: the VFs' shape once sriov-manage has
 * enabled them (planned after the rescan from what they show), mdev type directories named
 * after each parent's driver, mdevs gpupart did not create, set-count 0 giving the VFs back,
 * and the checks made before VFs are enabled. Expected trees are derived by hand from the
 * kernel's and the driver's rules (cited where used).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wrun.h"

TestSuite(write_vgpu, .init = wsetup, .fini = wteardown, .timeout = 300);

/* The mdev on @parent, or NULL. */
static const struct mdev *mdev_on(const struct mdev *m, int n, const char *parent)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(m[i].parent, parent))
			return &m[i];
	return NULL;
}

static void set_count_ok(const char *root, const char *addr, const char *count,
			 const char *series)
{
	struct run r;

	fklog_reset(root);
	/* sriov-manage -e on mdev-shaped VFs rewrites every VF's types per VF it binds: slow
	 * on a loaded machine, and not what these tests time */
	if (series)
		gpf(&r, root, "--series", series, "set-count", addr, count, "--write-timeout",
		    "600", NULL);
	else
		gpf(&r, root, "set-count", addr, count, "--write-timeout", "600", NULL);
	cr_assert_eq(r.status, 0, "set-count %s %s: exit %d\n%s", addr, count, r.status, r.err);
	run_free(&r);
}

/* ---- the shape the VFs get, and the plan made after the rescan ---- */

/*
 * An L40S whose VFs come up mdev-shaped (an NVIDIA driver built for a kernel that still has
 * mdev_set_iommu_device, before 5.16: NV_USE_VFIO_PCI_CORE unset, nv-vgpu-vfio-interface.h).
 * Before sriov-manage -e nothing says so, so the plan starts as vendor-VFIO's; after the
 * rescan the rest must be read and planned as mdev: 48 GiB / 4 = 12Q, one mdev on each of the
 * first four VFs.
 */
Test(write_vgpu, refine_plans_the_shape_the_vfs_show)
{
	char *root = wtree("sriov-off"), vf[16];
	struct mdev m[8];
	int n;

	with_sriov_manage(root);
	mkdirs(root, ".fakekernel");
	put(root, ".fakekernel/vgpu-shape", "mdev\n");
	set_count_ok(root, L40S, "4", "Q");
	n = mdevs(root, m, 8);
	cr_assert_eq(n, 4, "%d mdevs", n);
	for (int i = 0; i < 4; i++) {
		const struct mdev *x;
		char *name;

		vf_addr(root, L40S, i, vf);
		x = mdev_on(m, n, vf);
		cr_assert_not_null(x, "no mdev on VF %d (%s)", i, vf);
		name = rd(root, "sys/bus/pci/devices/%s/mdev_supported_types/%s/name", vf, x->type);
		cr_assert(name && strstr(name, "-12Q"), "%s is a %s", x->uuid, name ? name : "?");
		free(name);
	}

	/* and back to 0: the mdevs go, read as this GPU's whatever the backend recorded */
	set_count_ok(root, L40S, "0", NULL);
	cr_assert_eq(mdevs(root, m, 8), 0);
}

/*
 * The fake kernel gives the VFs the shape of the host's driver build, not one guessed from
 * sys/class/mdev_bus: since Linux 6.5 (commit ff598081e5b9, mdev_init()) that class exists
 * whenever mdev.ko is loaded, with or without parents. The mdev-bus-empty L40S runs 6.8,
 * where NVIDIA's driver uses vfio-pci-core on VFs: sriov-manage -e gives them nvidia/.
 */
Test(write_vgpu, vfs_on_linux_6_8_are_vendor_vfio_with_an_empty_mdev_bus)
{
	char *root = wtree("mdev-bus-empty"), vf[16], *t;
	int set = 0, total;

	with_sriov_manage(root);
	t = rd(root, "sys/bus/pci/devices/" L40S "/sriov_totalvfs");
	total = atoi(t);
	free(t);
	set_count_ok(root, L40S, "4", "Q");
	for (int i = 0; i < total; i++) {
		vf_addr(root, L40S, i, vf);
		cr_assert(ex(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf),
			  "%s has no nvidia/", vf);
		cr_assert_not(ex(root, "sys/bus/pci/devices/%s/mdev_supported_types", vf),
			      "%s is an mdev parent", vf);
		t = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
		set += atoi(t) != 0;
		free(t);
	}
	cr_assert_eq(set, 4);
}

/*
 * The same plan failing at its second mdev (writes: sriov-manage -e, VF 0's create, VF 1's):
 * the journal recorded the GPU as vendor-VFIO with no VFs, yet the undo must find VF 0's mdev
 * and remove it before sriov-manage -d (kinds/gpu-plan.c removes mdevs on either NVIDIA
 * backend). The host ends as it began.
 */
Test(write_vgpu, undo_removes_the_mdevs_of_vfs_the_journal_did_not_know)
{
	char *root = wtree("sriov-off"), *before, *after, *log, line[256];
	static const char *const env[] = { "GP_FAKE_FAIL_WRITE=3", NULL };
	struct mdev m[8];
	struct run r;

	with_sriov_manage(root);
	mkdirs(root, ".fakekernel");
	put(root, ".fakekernel/vgpu-shape", "mdev\n");
	/* mdev.ko is loaded on such a host: its bus and class are there before and after */
	mkdirs(root, "sys/bus/mdev/devices");
	mkdirs(root, "sys/bus/mdev/drivers/vfio_mdev");
	mkdirs(root, "sys/class/mdev_bus");
	before = manifest(root, M_STATE);
	gpf_env(&r, env, root, "--series", "Q", "set-count", L40S, "4", "--write-timeout", "600",
		NULL);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	run_free(&r);
	cr_assert_eq(mdevs(root, m, 8), 0);
	log = fklog(root);
	cr_assert(strstr(log, "/remove 1 = 0\n"), "no mdev removed:\n%s", log);
	snprintf(line, sizeof(line), "exec /usr/lib/nvidia/sriov-manage -d %s = 0\n", L40S);
	cr_assert(strstr(log, line), "%s", log);
	free(log);
	after = manifest(root, M_STATE);
	assert_manifest_eq(after, before, "after the undo");
	free(before);
	free(after);
}

/* ---- mdev types per parent ---- */

/* refused() with one needle */
static void refused1(const char *root, int status, const char *needle, const char *const *args)
{
	const char *const needles[] = { needle, NULL };

	refused(root, status, needles, args);
}

/* A string member of a JSON object, or NULL. */
static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       NULL;
}

static int jint(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int) ?
		       json_object_get_int(v) :
		       -1;
}

/* `list --json ADDR`'s partitions array (the caller puts the returned document). */
static struct json_object *list_partitions(const char *root, const char *addr,
					   struct json_object **doc)
{
	struct json_object *gpus, *parts;
	struct run r;

	cr_assert_eq(gpf(&r, root, "list", "--json", addr, NULL), 0, "%s", r.err);
	*doc = json_tokener_parse(r.out);
	run_free(&r);
	cr_assert_not_null(*doc);
	cr_assert(json_object_object_get_ex(*doc, "gpus", &gpus));
	cr_assert_eq(json_object_array_length(gpus), 1);
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(gpus, 0), "partitions",
					    &parts));
	return parts;
}

/*
 * Two A-series partitions: 48 GiB / 2 = the 24A type, id 575 (its "max_instance=2"). VF 0
 * lists it as nvidia-575, VF 1 (bound to vfio-pci when it registered) as vfio-pci-575: each
 * create goes to the parent's own directory, and `list` names both partitions' type.
 */
Test(write_vgpu, each_parent_gets_its_own_type_directory)
{
	char *root = wtree("a40-vfio-pci-vf"), vf0[16], vf1[16];
	struct json_object *doc, *parts;
	struct mdev m[8];
	const struct mdev *x;
	int n;

	with_sriov_manage(root);
	vf_addr(root, A40, 0, vf0);
	vf_addr(root, A40, 1, vf1);
	set_count_ok(root, A40, "2", "A");
	n = mdevs(root, m, 8);
	cr_assert_eq(n, 2);
	x = mdev_on(m, n, vf0);
	cr_assert(x && !strcmp(x->type, "nvidia-575"), "VF 0: %s", x ? x->type : "none");
	x = mdev_on(m, n, vf1);
	cr_assert(x && !strcmp(x->type, "vfio-pci-575"), "VF 1: %s", x ? x->type : "none");

	parts = list_partitions(root, A40, &doc);
	cr_assert_eq(json_object_array_length(parts), 2);
	for (int i = 0; i < 2; i++) {
		struct json_object *p = json_object_array_get_idx(parts, i);
		const char *t = jstr(p, "vgpu_type");

		cr_assert(t && !strcmp(t, "NVIDIA A40-24A"), "partition %d: %s", i, t ? t : "null");
		cr_assert_eq(jint(p, "vgpu_type_id"), 575);
		cr_assert_str_eq(jstr(p, "driver"), i ? "vfio-pci" : "nvidia");
	}
	json_object_put(doc);

	set_count_ok(root, A40, "0", NULL);
	cr_assert_eq(mdevs(root, m, 8), 0);
}

/*
 * A VF that lists no mdev types (NVIDIA's vGPU manager never made it a parent: here its
 * type directories are gone, as when nvidia let go of it) cannot carry a partition: refused
 * before the first write, naming the VF and its driver.
 */
Test(write_vgpu, a_vf_without_mdev_types_is_refused)
{
	char *root = wtree("a40-vfio-pci-vf"), vf1[16], *p;
	static const char *const args[] = { "--series", "A", "set-count", A40, "2", NULL };
	struct run r;

	vf_addr(root, A40, 1, vf1);
	cr_assert_geq(asprintf(&p, "rm -rf '%s/sys/bus/pci/devices/%s/mdev_supported_types' "
			       "'%s/sys/class/mdev_bus/%s'", root, vf1, root, vf1), 0);
	cr_assert_eq(system(p), 0);
	free(p);
	refused1(root, 1, "lists no mdev types", args);
	gpf(&r, root, "--json", "-n", "--series", "A", "set-count", A40, "2", NULL);
	cr_assert(strstr(r.out, "\"vf-not-mdev-parent\""), "%s", r.out);
	cr_assert(strstr(r.out, vf1) && strstr(r.out, "bound to vfio-pci"), "%s", r.out);
	run_free(&r);
}

/* ---- mdevs gpupart did not create ---- */

/* Each partition's owner in `list --json ADDR`, by id, into @out (NULL for null). */
static int owners(const char *root, const char *addr, char out[][16], int max)
{
	struct json_object *doc, *parts = list_partitions(root, addr, &doc);
	int n = (int)json_object_array_length(parts);

	cr_assert_leq(n, max);
	for (int i = 0; i < n; i++) {
		const char *o = jstr(json_object_array_get_idx(parts, i), "owner");

		snprintf(out[i], 16, "%s", o ? o : "(null)");
	}
	json_object_put(doc);
	return n;
}

#define T4_MDEVCTL_UUID "2f82ee72-3ac5-4615-9c0b-327c12e8c83d"

/*
 * The t4-mdevctl mdev is defined in mdevctl: never removed, whatever the count (2 and 0 would
 * both remove it: the 4Q type has 4 instances), refused naming it and how mdevctl removes it.
 * Undefined, it is still not gpupart's (its UUID is none of the T4's partition UUIDs); removed
 * by the admin, the count goes through and list says the new mdevs are gpupart's.
 */
Test(write_vgpu, mdevs_gpupart_did_not_create_are_never_removed)
{
	char *root = wtree("t4-mdevctl"), *def;
	static const char *const two[] = { "set-count", T4, "2", NULL };
	static const char *const zero[] = { "set-count", T4, "0", NULL };
	char own[8][16];
	struct mdev m[8];
	int n;

	cr_assert_eq(owners(root, T4, own, 8), 1);
	cr_assert_str_eq(own[0], "mdevctl");
	refused1(root, 1, "mdev " T4_MDEVCTL_UUID " on " T4 " is defined by mdevctl", two);
	refused1(root, 1, "mdevctl undefine -u " T4_MDEVCTL_UUID, zero);

	/* `mdevctl undefine`: the definition goes, the device stays */
	cr_assert_geq(asprintf(&def, "%s/etc/mdevctl.d/" T4 "/" T4_MDEVCTL_UUID, root), 0);
	cr_assert_eq(unlink(def), 0, "%s", def);
	free(def);
	cr_assert_eq(owners(root, T4, own, 8), 1);
	cr_assert_str_eq(own[0], "(null)");
	refused1(root, 1, T4_MDEVCTL_UUID " on " T4 " was not created by gpupart", two);

	admin_remove_mdev(root, T4_MDEVCTL_UUID);
	set_count_ok(root, T4, "2", NULL);
	n = mdevs(root, m, 8);
	cr_assert_eq(n, 2);
	cr_assert_eq(owners(root, T4, own, 8), 2);
	for (int i = 0; i < 2; i++)
		cr_assert_str_eq(own[i], "gpupart", "partition %d", i);
	/* gpupart's own: 2 -> 4 (another type) removes both */
	set_count_ok(root, T4, "4", NULL);
	cr_assert_eq(mdevs(root, m, 8), 4);
	cr_assert_eq(owners(root, T4, own, 8), 4);
}

/* One of gpupart's own mdevs that the admin then defined in mdevctl (`mdevctl define -u`) is
 * mdevctl's: kept, and a count that would remove it refused. */
Test(write_vgpu, an_mdev_of_gpupart_defined_in_mdevctl_is_mdevctls)
{
	char *root = wtree("t4-mdev-pf"), uuid[37], *p, own[8][16];
	static const char *const two[] = { "set-count", T4, "2", NULL };

	admin_remove_mdev(root, "c0ffee00-0000-4000-8000-000000000001");
	set_count_ok(root, T4, "4", NULL);
	cr_assert(first_mdev(root, uuid));
	mkdirs(root, "etc/mdevctl.d/" T4);
	cr_assert_geq(asprintf(&p, "etc/mdevctl.d/" T4 "/%s", uuid), 0);
	put(root, p, "{\n  \"mdev_type\": \"nvidia-232\",\n  \"start\": \"auto\",\n  \"attrs\": []\n}\n");
	free(p);
	cr_assert_eq(owners(root, T4, own, 8), 4);
	{
		int mdevctl = 0, gpupart = 0;

		for (int i = 0; i < 4; i++) {
			mdevctl += !strcmp(own[i], "mdevctl");
			gpupart += !strcmp(own[i], "gpupart");
		}
		cr_assert(mdevctl == 1 && gpupart == 3, "%d mdevctl, %d gpupart", mdevctl, gpupart);
	}
	refused1(root, 1, "is defined by mdevctl", two);
}

/* ---- set-count 0 gives the VFs back ---- */

/* The codes of `survey --json ADDR`'s device findings, comma-joined into @out. */
static void survey_codes(const char *root, const char *addr, char *out, size_t len)
{
	struct json_object *doc, *devs, *f;
	struct run r;

	gpf(&r, root, "survey", "--json", addr, NULL);
	doc = json_tokener_parse(r.out);
	run_free(&r);
	cr_assert_not_null(doc);
	cr_assert(json_object_object_get_ex(doc, "devices", &devs));
	cr_assert(json_object_object_get_ex(json_object_array_get_idx(devs, 0), "findings", &f));
	out[0] = 0;
	for (size_t i = 0; i < json_object_array_length(f); i++) {
		const char *c = jstr(json_object_array_get_idx(f, i), "code");

		snprintf(out + strlen(out), len - strlen(out), "%s,", c ? c : "?");
	}
	json_object_put(doc);
}

#define A16_GPU2 "0000:05:00.0"

/*
 * A16 GPU 2 has its 16 VFs enabled (sriov-manage -e ran) and none carries a type: no
 * partition, so survey only warns that they are in the way (vfs-enabled-idle) and names
 * set-count 0, which disables them (sriov-manage -d, nothing else to clear); then survey
 * says neither. While a process holds the GPU's /dev/nvidiaN (minor 5: its information
 * file) sriov-manage would wait for it: refused, nothing written.
 */
Test(write_vgpu, set_count_0_disables_idle_vfs)
{
	char *root = wtree("a16-vfio"), codes[512], *nv;
	static const char *const zero[] = { "set-count", A16_GPU2, "0", NULL };

	with_sriov_manage(root);
	survey_codes(root, A16_GPU2, codes, sizeof(codes));
	cr_assert(strstr(codes, "vfs-enabled-idle,") && !strstr(codes, "partitioned,"), "%s",
		  codes);

	mkproc(root, "4250", "nvidia-persistenced", "5", "/dev/nvidia5");
	refused1(root, 1, "/dev/nvidia5", zero);
	cr_assert_geq(asprintf(&nv, "rm -rf '%s/proc/4250'", root), 0);
	cr_assert_eq(system(nv), 0);
	free(nv);

	set_count_ok(root, A16_GPU2, "0", NULL);
	nv = fklog(root);
	cr_assert_str_eq(nv, "exec /usr/lib/nvidia/sriov-manage -d " A16_GPU2 " = 0\n");
	free(nv);
	nv = rd(root, "sys/bus/pci/devices/" A16_GPU2 "/sriov_numvfs");
	cr_assert_str_eq(nv, "0");
	free(nv);
	survey_codes(root, A16_GPU2, codes, sizeof(codes));
	cr_assert(!strstr(codes, "vfs-enabled-idle,") && !strstr(codes, "partitioned,"), "%s",
		  codes);
}

/* ---- before VFs are enabled: vfio-pci ---- */

/* A host where vfio-pci is not loaded (vfio and its type1 backend are): no driver directory,
 * no module parameters. kmod's modprobe is installed when @modprobe. */
static char *host_without_vfio_pci(bool modprobe)
{
	char *root = wtree("sriov-off"), *p;

	cr_assert_geq(asprintf(&p, "rm -rf '%s/sys/bus/pci/drivers/vfio-pci' '%s/sys/module/vfio_pci'",
			       root, root), 0);
	cr_assert_eq(system(p), 0);
	free(p);
	if (modprobe) {
		mkdirs(root, "sbin");
		put(root, "sbin/modprobe", "");
	}
	return root;
}

/*
 * The sriov backend binds its VFs to vfio-pci through driver_override; a driver that is not
 * registered binds nothing (drivers_probe loads no module), so gpupart loads it first, with
 * modprobe, bounded like every program, and the plan shows it. The rest is the usual.
 */
Test(write_vgpu, vfio_pci_is_loaded_before_vfs_are_bound_to_it)
{
	char *root = host_without_vfio_pci(true), *log, vf[16], *drv;
	struct run r;

	cr_assert_eq(gpf(&r, root, "--json", "-n", "set-count", NVME, "2", "--runtime", NULL), 0,
		     "%s", r.err);
	cr_assert(strstr(r.out, "\"path\": \"/sbin/modprobe\""), "%s", r.out);
	run_free(&r);
	set_count_ok(root, NVME, "2", NULL);
	log = fklog(root);
	cr_assert(!strncmp(log, "exec /sbin/modprobe vfio-pci = 0\n",
			   strlen("exec /sbin/modprobe vfio-pci = 0\n")), "%s", log);
	free(log);
	for (int i = 0; i < 2; i++) {
		vf_addr(root, NVME, i, vf);
		drv = lnk(root, "sys/bus/pci/devices/%s/driver", vf);
		cr_assert(drv && !strcmp(drv, "vfio-pci"), "%s: %s", vf, drv ? drv : "unbound");
		free(drv);
	}
	/* loaded now: the next plan has no modprobe */
	set_count_ok(root, NVME, "3", NULL);
	log = fklog(root);
	cr_assert_null(strstr(log, "modprobe"), "%s", log);
	free(log);
}

/* modprobe failing (no such module for this kernel) or not installed is the first step
 * failing: nothing else was written, the host is as it was, exit 1 with why. */
Test(write_vgpu, vfio_pci_that_cannot_be_loaded_changes_nothing)
{
	for (int k = 0; k < 2; k++) {
		char *root = host_without_vfio_pci(k == 0), *before, *after;
		struct run r;

		if (k == 0) {
			mkdirs(root, ".fakekernel/modprobe-fail");
			put(root, ".fakekernel/modprobe-fail/vfio-pci", "");
		}
		before = manifest(root, M_STATE);
		gpf(&r, root, "set-count", NVME, "2", NULL);
		cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
		cr_assert(strstr(r.err, k == 0 ? "/sbin/modprobe vfio-pci exited with status 1" :
						  "/sbin/modprobe is not installed"),
			  "%s", r.err);
		cr_assert(strstr(r.err, "every device is back as it was"), "%s", r.err);
		run_free(&r);
		after = manifest(root, M_STATE);
		assert_manifest_eq(after, before, "after modprobe failed");
		free(before);
		free(after);
	}
}

/* ---- before VFs are enabled: VF BARs ---- */

/*
 * The L40S's VF BAR 1 and 3 are 64-bit prefetchable (2 GiB and 32 MiB per VF): their type
 * bits read back with no address, and `resource` lines 8 and 10 are zero (VF BAR 0 is 32-bit
 * and reads 0: it cannot be told). sriov-manage -e would fail in sriov_enable() ("not enough
 * MMIO resources for SR-IOV"): refused before the first write, naming the firmware setting
 * and pci=realloc; with pci=realloc booted already, the firmware setting alone.
 */
Test(write_vgpu, unassigned_vf_bars_are_refused_before_the_first_write)
{
	char *root = wtree("l40s-vf-bars-unassigned"), *cmdline, *p;
	static const char *const four[] = { "set-count", L40S, "4", NULL };
	struct run r;

	with_sriov_manage(root);
	refused1(root, 1, "no address to its SR-IOV VF BARs 1, 3 (resource lines 7-12 are zero)",
		four);
	refused1(root, 1, "or boot with pci=realloc", four);
	gpf(&r, root, "--json", "-n", "set-count", L40S, "4", NULL);
	cr_assert(strstr(r.out, "\"vf-bars-unassigned\""), "%s", r.out);
	run_free(&r);

	cmdline = rd(root, "proc/cmdline");
	cr_assert_geq(asprintf(&p, "%s pci=nocrs,realloc\n", cmdline), 0);
	put(root, "proc/cmdline", p);
	free(p);
	free(cmdline);
	refused1(root, 1, "pci=realloc is on the kernel command line already", four);
}

/* A capture carries mdevctl's definitions of the mdev parents it reads, so that the owner
 * reads the same from the capture as from the host. */
Test(write_vgpu, capture_keeps_mdevctl_definitions)
{
	/* the capture goes into a scratch tree (removed at teardown), emptied of its own host */
	char *root = wtree("t4-mdevctl"), *out = wtree("no-gpu"), *tarfile, *cmd, own[8][16];
	struct run r;

	cr_assert_geq(asprintf(&tarfile, "%s/c.tar", out), 0);
	cr_assert_eq(gpf(&r, root, "capture", tarfile, NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_geq(asprintf(&cmd, "rm -rf '%s/sys' '%s/proc' && tar xf '%s' -C '%s'", out, out,
			       tarfile, out), 0);
	cr_assert_eq(system(cmd), 0, "%s", cmd);
	free(cmd);
	free(tarfile);
	cr_assert(ex(out, "etc/mdevctl.d/" T4 "/" T4_MDEVCTL_UUID));
	cr_assert_eq(owners(out, T4, own, 8), 1);
	cr_assert_str_eq(own[0], "mdevctl");
}
