/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every refusal happens before the first write: the exit status, one clear line on stderr, not
 * one write in the fake kernel's log, and the whole tree byte for byte as it was (the lock file
 * is created beforehand by a `repair`, so that even it is compared).
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <json-c/json.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wrun.h"

TestSuite(write_refusals, .init = wsetup, .fini = wteardown, .timeout = 60);

static void nvme_to(const char *root, const char *count)
{
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", NVME, count, "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
}

Test(write_refusals, invalid_count_lists_valid_ones)
{
	static const char *const args[] = { "set-count", NVME, "33", NULL };
	/* sriov_totalvfs is 32: every count up to it, then 0 */
	static const char *const needles[] = {
		"33 is not a valid partition count for " NVME, "valid counts: 32, 31, 30",
		"3, 2, 1, 0", NULL
	};

	refused(wtree("sriov-off"), 2, needles, args);
}

Test(write_refusals, reservation_of_one_vf)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: partitions are assigned",
					       "0000:03:00.2", NULL };
	char *root = wtree("sriov-off");

	nvme_to(root, "4");
	mkdirs(root, "run/gpupart/reservations");
	put(root, "run/gpupart/reservations/0000:03:00.2", "vm-a\n");
	refused(root, 1, needles, args);
}

static void rebind_link(const char *root, const char *addr, const char *from, const char *to)
{
	char *p, *q, tgt[512], *s;
	ssize_t n;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/devices/%s/driver", root, addr), 0);
	n = readlink(p, tgt, sizeof(tgt) - 1);
	cr_assert_gt(n, 0);
	tgt[n] = 0;
	s = strstr(tgt, from);
	cr_assert_not_null(s, "%s", tgt);
	strcpy(s, to);
	cr_assert_eq(unlink(p), 0);
	if (*to)
		cr_assert_eq(symlink(tgt, p), 0);
	free(p);
	/* the driver's side of the binding */
	cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/drivers/%s/%s", root, from, addr), 0);
	unlink(p);
	free(p);
	if (*to) {
		cr_assert_geq(asprintf(&q, "sys/bus/pci/drivers/%s", to), 0);
		mkdirs(root, q);
		free(q);
	}
}

Test(write_refusals, dda_dismounted_gpu)
{
	static const char *const args[] = { "set-count", L40S, "4", NULL };
	static const char *const needles[] = { L40S " is dismounted for DDA", NULL };
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	rebind_link(root, L40S, "nvidia", "vfio-pci");
	refused(root, 1, needles, args);
}

Test(write_refusals, mixed_selection)
{
	static const char *const args[] = { "set-count", L40S, FLEX, "2", NULL };
	static const char *const needles[] = { "are GPUs of different configurations", NULL };
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	refused(root, 1, needles, args);
}

Test(write_refusals, vfio_group_held_open)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "4242", NULL };
	char *root = wtree("sriov-off"), *g, dev[64];

	nvme_to(root, "4");
	g = lnk(root, "sys/bus/pci/devices/0000:03:00.3/iommu_group");
	cr_assert_not_null(g);
	snprintf(dev, sizeof(dev), "/dev/vfio/%s", g);
	mkproc(root, "4242", "qemu-system-x86", "7", dev);
	mkproc(root, "77", "bash", "0", "/dev/pts/0");
	refused(root, 1, needles, args);
	free(g);
}

Test(write_refusals, nvidia_node_held_when_sriov_manage_would_run)
{
	static const char *const args[] = { "set-count", L40S, "4", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "4243", NULL };
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	/* the L40S's own node: minor 1 in its information file */
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia1");
	refused(root, 1, needles, args);
}

/* ...but the same holder does not block a change that runs no sriov-manage: 4 -> 0 */
Test(write_refusals, nvidia_node_held_type_change_goes_on)
{
	char *root = wtree("sriov-off");
	struct run r;

	with_sriov_manage(root);
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia0");
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "0", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
}

Test(write_refusals, pf_without_driver)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { NVME " has no driver", NULL };
	char *root = wtree("sriov-off");

	rebind_link(root, NVME, "nvme", "");
	refused(root, 1, needles, args);
}

Test(write_refusals, a_vf_is_not_a_target)
{
	static const char *const args[] = { "set-count", "0000:03:00.1", "2", NULL };
	static const char *const needles[] = { "is a virtual function of " NVME, NULL };
	char *root = wtree("sriov-off");

	nvme_to(root, "2");
	refused(root, 2, needles, args);
}

/* ---- reservation records that exist but cannot be read: refuse, never "none" ---- */

Test(write_refusals, reservations_is_a_file)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "run/gpupart/reservations: cannot read",
					       "refusing: cannot tell whether its partitions are "
					       "reserved",
					       NULL };
	char *root = wtree("sriov-off");

	nvme_to(root, "4");
	put(root, "run/gpupart/reservations", "0000:03:00.2 vm-a\n");
	refused(root, 1, needles, args);
}

Test(write_refusals, reservations_is_an_absolute_link)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "run/gpupart/reservations: cannot read",
					       "a link out of the root", NULL };
	char *root = wtree("sriov-off"), *p;

	nvme_to(root, "4");
	cr_assert_geq(asprintf(&p, "%s/run/gpupart/reservations", root), 0);
	/* RESOLVE_BENEATH refuses it: whatever it names is outside the tree */
	cr_assert_eq(symlink("/", p), 0);
	free(p);
	refused(root, 1, needles, args);
}

/* the records' own directory, beneath the root through a relative link, is read */
Test(write_refusals, reservations_through_a_relative_link)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: partitions are assigned",
					       "0000:03:00.2 is reserved (vm-a)", NULL };
	char *root = wtree("sriov-off"), *p;

	nvme_to(root, "4");
	mkdirs(root, "run/records");
	put(root, "run/records/0000:03:00.2", "vm-a\n");
	cr_assert_geq(asprintf(&p, "%s/run/gpupart/reservations", root), 0);
	cr_assert_eq(symlink("../records", p), 0);
	free(p);
	refused(root, 1, needles, args);
}

/* ---- iommufd: a VM holds the VF's cdev /dev/vfio/devices/vfioN, not its group ---- */

/* Renames the vfio-dev/ entry of @dev (a sysfs dir relative to root) to vfio@n: the kernel
 * numbers vfio devices on their own (an IDA), not by group. */
static void vfio_dev_as(const char *root, const char *dev, int n)
{
	char *from = NULL, *to, *dir;
	struct dirent *e;
	DIR *d;

	cr_assert_geq(asprintf(&dir, "%s/%s/vfio-dev", root, dev), 0);
	d = opendir(dir);
	cr_assert_not_null(d, "%s: %s", dir, strerror(errno));
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "vfio", 4))
			cr_assert_geq(asprintf(&from, "%s/%s", dir, e->d_name), 0);
	closedir(d);
	cr_assert_not_null(from, "nothing in %s", dir);
	cr_assert_geq(asprintf(&to, "%s/vfio%d", dir, n), 0);
	cr_assert_eq(rename(from, to), 0, "%s: %s", from, strerror(errno));
	free(from);
	free(to);
	free(dir);
}

Test(write_refusals, vfio_cdev_of_a_vf_held_open)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "pid 4244 (qemu-system-x86) holds "
					       "/dev/vfio/devices/vfio77",
					       NULL };
	char *root = wtree("sriov-off"), *drv;

	nvme_to(root, "4");
	drv = lnk(root, "sys/bus/pci/devices/0000:03:00.3/driver");
	cr_assert_str_eq(drv ? drv : "", "vfio-pci");
	free(drv);
	vfio_dev_as(root, "sys/bus/pci/devices/0000:03:00.3", 77);
	mkproc(root, "4244", "qemu-system-x86", "9", "/dev/vfio/devices/vfio77");
	/* another device's cdev is no reason */
	mkproc(root, "78", "qemu-system-x86", "9", "/dev/vfio/devices/vfio78");
	refused(root, 1, needles, args);
}

Test(write_refusals, vfio_cdev_of_an_mdev_held_open)
{
	static const char *const args[] = { "set-count", T4, "2", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "/dev/vfio/devices/vfio5", NULL };
	char *root = wtree("t4-mdev-pf"), uuid[37], *p;
	struct run r;

	/* four mdevs gpupart made (the hand-made one removed by the admin), one held */
	admin_remove_mdev(root, "c0ffee00-0000-4000-8000-000000000001");
	cr_assert_eq(gpf(&r, root, "set-count", T4, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert(first_mdev(root, uuid));
	cr_assert_geq(asprintf(&p, "sys/bus/mdev/devices/%s/vfio-dev/vfio5", uuid), 0);
	mkdirs(root, p);
	free(p);
	mkproc(root, "4245", "qemu-system-x86", "11", "/dev/vfio/devices/vfio5");
	refused(root, 1, needles, args);
}

/* ---- before sriov-manage: only this GPU's /dev/nvidiaN refuses ---- */

/* L40S (bus 01) is minor 1 in the fixture's information file */
Test(write_refusals, nvidia_node_of_another_gpu_goes_on)
{
	char *root = wtree("sriov-off");
	struct run r;

	with_sriov_manage(root);
	cr_assert(ex(root, "proc/driver/nvidia/gpus/%s/information", L40S));
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia0");
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
}

Test(write_refusals, nvidia_control_node_warns_and_goes_on)
{
	char *root = wtree("sriov-off");
	struct run r;

	with_sriov_manage(root);
	mkproc(root, "4246", "dcgm-exporter", "3", "/dev/nvidiactl");
	mkproc(root, "4246", "dcgm-exporter", "4", "/dev/nvidia-uvm");
	cr_assert_eq(gpf(&r, root, "set-count", L40S, "4", "--runtime", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "warning: pid 4246 (dcgm-exporter) holds /dev/nvidiactl: not "
				"refusing"),
		  "%s", r.err);
	/* one warning per process */
	cr_assert_null(strstr(r.err, "/dev/nvidia-uvm"), "%s", r.err);
	run_free(&r);
}

/* no minor to tell this GPU's node from another's: any /dev/nvidiaN refuses */
Test(write_refusals, nvidia_node_held_and_minor_unknown)
{
	static const char *const args[] = { "set-count", L40S, "4", NULL };
	static const char *const needles[] = { "refusing: processes hold its devices open",
					       "holds /dev/nvidia0 (this GPU's minor is unknown",
					       NULL };
	char *root = wtree("sriov-off"), *p;

	with_sriov_manage(root);
	cr_assert_geq(asprintf(&p, "%s/proc/driver/nvidia/gpus/" L40S "/information", root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia0");
	refused(root, 1, needles, args);
}

/* ---- --dry-run --json: the refusals as findings, with stable codes ---- */

/* The refusal with @code in the JSON document @out (the "refusals" array), or NULL. */
static struct json_object *refusal_with(struct json_object *doc, const char *code)
{
	struct json_object *a, *f, *v;

	cr_assert(json_object_object_get_ex(doc, "refusals", &a) &&
		  json_object_is_type(a, json_type_array), "no refusals array");
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		f = json_object_array_get_idx(a, i);
		cr_assert(json_object_object_get_ex(f, "code", &v) &&
			  json_object_is_type(v, json_type_string));
		if (strcmp(json_object_get_string(v), code) == 0)
			return f;
	}
	return NULL;
}

/*
 * `-n --json ARGS...` on @root: exit @status, the same message on stderr as without --json,
 * and on stdout a dry-run document whose refusals hold @code (error, about @addr, its detail
 * containing @needle); nothing written, the tree as it was.
 */
static void refused_json(const char *root, int status, const char *code, const char *addr,
			 const char *needle, const char *const *args)
{
	const char *argv[16] = { "-n", "--json" };
	struct json_object *doc, *f, *v;
	char *before, *after;
	struct run r;
	size_t n = 2;

	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	before = manifest(root, M_STRICT);
	gpf_v(&r, NULL, root, argv);
	cr_assert_eq(r.status, status, "exit %d, expected %d\n%s", r.status, status, r.err);
	cr_assert(strstr(r.err, needle), "no '%s' on stderr:\n%s", needle, r.err);
	doc = json_tokener_parse(r.out);
	cr_assert_not_null(doc, "stdout is not JSON: '%s'", r.out);
	cr_assert(json_object_object_get_ex(doc, "dry_run", &v) && json_object_get_boolean(v));
	cr_assert(json_object_object_get_ex(doc, "changed", &v) && !json_object_get_boolean(v));
	f = refusal_with(doc, code);
	cr_assert_not_null(f, "no refusal %s in %s", code, r.out);
	cr_assert(json_object_object_get_ex(f, "severity", &v) &&
		  !strcmp(json_object_get_string(v), "error"), "%s", r.out);
	cr_assert(json_object_object_get_ex(f, "address", &v) &&
		  !strcmp(json_object_get_string(v), addr), "%s", r.out);
	cr_assert(json_object_object_get_ex(f, "detail", &v) &&
			  strstr(json_object_get_string(v), needle),
		  "the detail does not say '%s': %s", needle, r.out);
	json_object_put(doc);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "a refusal wrote:\n%s", fklog(root));
	after = manifest(root, M_STRICT);
	assert_manifest_eq(after, before, "after a refused dry run");
	free(before);
	free(after);
}

Test(write_refusals, json_invalid_count)
{
	static const char *const args[] = { "set-count", NVME, "33", NULL };

	refused_json(wtree("sriov-off"), 2, "invalid-count", NVME,
		     "33 is not a valid partition count", args);
}

Test(write_refusals, json_reserved)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	char *root = wtree("sriov-off");

	nvme_to(root, "4");
	mkdirs(root, "run/gpupart/reservations");
	put(root, "run/gpupart/reservations/0000:03:00.2", "vm-a\n");
	refused_json(root, 1, "reserved", NVME, "0000:03:00.2 is reserved (vm-a)", args);
}

Test(write_refusals, json_held_open)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	char *root = wtree("sriov-off"), *g, dev[64];

	nvme_to(root, "4");
	g = lnk(root, "sys/bus/pci/devices/0000:03:00.3/iommu_group");
	cr_assert_not_null(g);
	snprintf(dev, sizeof(dev), "/dev/vfio/%s", g);
	mkproc(root, "4242", "qemu-system-x86", "7", dev);
	refused_json(root, 1, "held-open", NVME, "pid 4242 (qemu-system-x86) holds", args);
	free(g);
}

Test(write_refusals, json_dismounted_for_dda)
{
	static const char *const args[] = { "set-count", L40S, "4", NULL };
	char *root = wtree("sriov-off");

	with_sriov_manage(root);
	rebind_link(root, L40S, "nvidia", "vfio-pci");
	refused_json(root, 1, "dismounted-for-dda", L40S, L40S " is dismounted for DDA", args);
}

/* apply refused the same way; and a dry run that is not refused has an empty array (and
 * --root without --connect a warning that libvirt was not asked) */
Test(write_refusals, json_apply_and_no_refusal)
{
	static const char *const args[] = { "apply", NULL };
	char *root = wtree("sriov-off");
	struct json_object *doc, *a, *f;
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "4", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "-n", "--json", "set-count", NVME, "4", NULL), 0, "%s",
		     r.err);
	doc = json_tokener_parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	cr_assert(json_object_object_get_ex(doc, "refusals", &a) &&
		  json_object_array_length(a) == 0, "nothing to do, nothing refused: %s", r.out);
	json_object_put(doc);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "-n", "--json", "set-count", NVME, "3", NULL), 0, "%s",
		     r.err);
	doc = json_tokener_parse(r.out);
	cr_assert_not_null(doc, "%s", r.out);
	f = refusal_with(doc, "libvirt-not-asked");
	cr_assert_not_null(f, "%s", r.out);
	cr_assert(json_object_object_get_ex(f, "severity", &a) &&
		  !strcmp(json_object_get_string(a), "warning"), "%s", r.out);
	json_object_put(doc);
	run_free(&r);
	/* apply would take it back to 2 */
	mkdirs(root, "run/gpupart/reservations");
	put(root, "run/gpupart/reservations/0000:03:00.4", "vm-b\n");
	refused_json(root, 1, "reserved", NVME, "0000:03:00.4 is reserved (vm-b)", args);
}

/* ---- every refusal code the library makes is in gpupart(8), REFUSALS ---- */

static char *source(const char *rel)
{
	char *p, *s, *dir = strdup(__FILE__);

	*strrchr(dir, '/') = 0; /* tests/write */
	cr_assert_geq(asprintf(&p, "%s/../../%s", dir, rel), 0);
	s = slurp(p);
	cr_assert_not_null(s, "%s", p);
	free(p);
	free(dir);
	return s;
}

Test(write_refusals, every_code_is_documented)
{
	static const char *const files[] = { "src/lib/ops/partition.c",
					     "src/lib/ops/guard-users.c" };
	char *man = source("man/gpupart.8"), *refusals = strstr(man, "\n.SH REFUSALS\n");
	int codes = 0;

	cr_assert_not_null(refusals, "no REFUSALS section");
	for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
		char *src = source(files[f]);

		for (char *p = src; (p = strstr(p, "(op, ")); p++) {
			char code[64], want[160], *q = strchr(p, '"'), *w = want;
			size_t n;

			if (strncmp(p - 9, "gp_op_add", 9) && strncmp(p - 7, "op_skip", 7))
				continue;
			cr_assert_not_null(q);
			n = strcspn(q + 1, "\"");
			if (n == 0 || n >= sizeof(code) || !strncmp(q + 1, "%s", 2))
				continue; /* a code passed on */
			memcpy(code, q + 1, n);
			code[n] = 0;
			/* the man page writes ".BR layout\-unreadable " */
			w += sprintf(w, "\n.BR ");
			for (const char *c = code; *c; c++)
				w += sprintf(w, *c == '-' ? "\\-" : "%c", *c);
			sprintf(w, " \" (");
			cr_assert(strstr(refusals, want), "%s: %s is not in gpupart(8), REFUSALS",
				  files[f], code);
			codes++;
		}
		free(src);
	}
	cr_assert_geq(codes, 20, "only %d codes found", codes);
	free(man);
}

/* ---- MIG-backed vGPU (an H200 SXM in MIG mode: tests/fixture/fx-scenarios.c) ---- */
#define H200 "0000:41:00.0"

/* No GPU instance yet: MIG-backed vGPUs need one each; the refusal names the step. On main
 * this GPU showed no MIG at all and the count went on to the driver's EIO. */
Test(write_refusals, mig_without_gpu_instances)
{
	static const char *const args[] = { "set-count", H200, "3", NULL };
	static const char *const needles[] = { H200 " is in MIG mode with no GPU instance",
					       "nvidia-smi mig -i " H200 " -cgi", NULL };

	refused(wtree("h200-mig-no-gi"), 1, needles, args);
}

/* VFs not enabled over 3 GPU instances: sriov-manage -e would destroy them. */
Test(write_refusals, sriov_manage_over_gpu_instances)
{
	static const char *const args[] = { "set-count", H200, "3", NULL };
	static const char *const needles[] = { H200 " has 3 MIG GPU instances",
					       "sriov-manage (run to enable its VFs) destroys",
					       "--force", NULL };
	char *root = wtree("h200-mig-novfs");

	with_sriov_manage(root);
	refused(root, 1, needles, args);
}

/* The boot path: apply of a recorded count over GPU instances is refused the same way (the
 * boot unit never passes --force). The layout is the one set-count records on the same
 * slot with the VFs enabled. */
Test(write_refusals, apply_over_gpu_instances)
{
	static const char *const args[] = { "apply", "--no-libvirt", NULL };
	static const char *const needles[] = { H200 " has 3 MIG GPU instances", NULL };
	char *with_vfs = wtree("h200-mig"), *root = wtree("h200-mig-novfs"), *conf;
	struct run r;

	cr_assert_eq(gpf(&r, with_vfs, "set-count", H200, "2", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_geq(asprintf(&conf, "%s/etc/gpupart/partitions.conf", with_vfs), 0);
	{
		char *path = conf;

		conf = slurp(path);
		free(path);
	}
	cr_assert_not_null(conf);
	cr_assert(strstr(conf, "id=10de:2335 subsystem=10de:18be count=2"), "%s", conf);
	mkdirs(root, "etc/gpupart");
	put(root, "etc/gpupart/partitions.conf", conf);
	free(conf);
	with_sriov_manage(root);
	refused(root, 1, needles, args);
}

/* --force: the same plan goes ahead, with the loss said as a warning. */
Test(write_refusals, sriov_manage_forced)
{
	struct json_object *o, *f, *plan;
	char *root = wtree("h200-mig-novfs");
	struct run r;
	size_t i;
	bool warned = false;

	with_sriov_manage(root);
	cr_assert_eq(gpf(&r, root, "set-count", H200, "3", "--force", "--dry-run", "--json", NULL),
		     0, "%s", r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "%s", r.out);
	cr_assert(json_object_object_get_ex(o, "refusals", &f));
	for (i = 0; i < json_object_array_length(f); i++) {
		struct json_object *e = json_object_array_get_idx(f, i), *c, *s;

		json_object_object_get_ex(e, "code", &c);
		json_object_object_get_ex(e, "severity", &s);
		if (!strcmp(json_object_get_string(c), "destroys-gpu-instances"))
			warned = !strcmp(json_object_get_string(s), "warning");
	}
	cr_assert(warned, "no destroys-gpu-instances warning: %s", r.out);
	cr_assert(json_object_object_get_ex(o, "plan", &plan));
	cr_assert(strstr(json_object_to_json_string(plan), "-e " H200), "%s", r.out);
	json_object_put(o);
	run_free(&r);
}
