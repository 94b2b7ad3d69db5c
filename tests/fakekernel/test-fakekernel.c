/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake kernel itself, through the library's own bounded write path (gp_kernel_write forks
 * a child per write, as the tool does): every modelled rule, the fault markers and variables,
 * the loud failure on unmodelled writes, and the equivalence that matters most: VFs the fake
 * enables look, to gpupart and to lspci, like VFs the fixture builder lays out.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <json-c/json.h>

#include "fake-kernel.h"
#include "fixture.h"
#include "host/kernel.h" /* gp_kernel_write/gp_kernel_exec: the tool's own write path */

#include "fktest.h"

TestSuite(fakekernel, .fini = cleanup);

/* ---- equivalence: fake-enabled VFs against fixture-built VFs ------------------------- */

/* sriov-off with VFs the way the fixture lays them out: the reference */
static char *tree_reference(void)
{
	char *dir = scratch_dir("fk-ref");
	struct fx_tree *t = fx_scenario_build("sriov-off");
	struct fx_dev *g;

	cr_assert_not_null(t);
	cr_assert_eq(fx_sriov_enable(fx_dev_find(t, "0000:03:00.0"), 4, "nvme"), 0);
	cr_assert_eq(fx_sriov_enable(fx_dev_find(t, "0000:02:00.0"), 3, "i915"), 0);
	g = fx_dev_find(t, "0000:01:00.0");
	cr_assert_eq(fx_sriov_enable(g, 32, "nvidia"), 0);
	for (int i = 0; i < 32; i++) {
		g->vfs[i]->vgpu = FX_VGPU_VENDOR;
		g->vfs[i]->catalog = g->catalog;
	}
	cr_assert_eq(fx_tree_write(t, dir), 0);
	fx_tree_free(t);
	return dir;
}

static char *tree_faked(void)
{
	char *r = tree("sriov-off");
	char *argv[] = { "/usr/lib/nvidia/sriov-manage", "-e", "0000:01:00.0", NULL };

	cr_assert_eq(fkw(r, DEV "0000:03:00.0/sriov_numvfs", "4"), 0);
	cr_assert_eq(fkw(r, DEV "0000:02:00.0/sriov_numvfs", "3"), 0);
	cr_assert_eq(fk_run(r, NULL, NULL, argv, FK_BOUND_MS, NULL), 0);
	return r;
}

static char *run_out(char *const argv[])
{
	char *buf = NULL;
	size_t len = 0;
	int fds[2], st;
	pid_t pid;
	FILE *in, *out;
	int c;

	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	in = fdopen(fds[0], "r");
	out = open_memstream(&buf, &len);
	while ((c = fgetc(in)) != EOF)
		fputc(c, out);
	fclose(in);
	fclose(out);
	waitpid(pid, &st, 0);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s failed", argv[0]);
	return buf;
}

/* IOMMU group numbers may legitimately differ: blank out the digits after the keys */
static void normalise_groups(char *s)
{
	static const char *const keys[] = { "\"iommu_group\": ", "IOMMU group: ", "\"group\": " };

	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
		for (char *p = s; (p = strstr(p, keys[k])); ) {
			p += strlen(keys[k]);
			while (*p >= '0' && *p <= '9')
				*p++ = '#';
		}
}

Test(fakekernel, enabled_vfs_match_fixture_vfs, .timeout = 120)
{
	char *a = tree_faked(), *b = tree_reference(), *ga, *gb, *cmd;
	const char *bin = getenv("GPUPART_BIN"), *lspci = getenv("LSPCI");

	cr_assert(bin && *bin, "GPUPART_BIN not set");
	{
		char *av[] = { (char *)bin, "--root", a, "--json", "--any-class", "list", NULL };
		char *bv[] = { (char *)bin, "--root", b, "--json", "--any-class", "list", NULL };

		ga = run_out(av);
		gb = run_out(bv);
	}
	cr_assert(strstr(ga, "0000:03:00.4") && strstr(ga, "\"num_vfs\": 32"), "VFs missing: %s", ga);
	normalise_groups(ga);
	normalise_groups(gb);
	cr_assert_str_eq(ga, gb, "gpupart list differs between the faked and the fixture tree");
	if (lspci && *lspci) {
		char *oa, *ob;
		char *la, *lb;

		cr_assert_geq(asprintf(&oa, "sysfs.path=%s/sys/bus/pci", a), 0);
		cr_assert_geq(asprintf(&ob, "sysfs.path=%s/sys/bus/pci", b), 0);
		{
			char *av[] = { (char *)lspci, "-vvv", "-nn", "-D", "-A", "linux-sysfs", "-O", oa, NULL };
			char *bv[] = { (char *)lspci, "-vvv", "-nn", "-D", "-A", "linux-sysfs", "-O", ob, NULL };

			la = run_out(av);
			lb = run_out(bv);
		}
		cr_assert(strstr(la, "0000:03:00.1 Non-Volatile memory controller [0108]"), "%s", la);
		cr_assert(strstr(la, "Number of VFs: 4,"), "lspci sees no NumVFs 4");
		normalise_groups(la);
		normalise_groups(lb);
		cr_assert_str_eq(la, lb, "lspci differs between the faked and the fixture tree");
		free(oa);
		free(ob);
		free(la);
		free(lb);
	}
	free(ga);
	free(gb);
	/* and byte for byte, files and links alike (run/ holds the library's in-flight lock,
	 * not kernel state) */
	cr_assert_geq(asprintf(&cmd, "diff -r --no-dereference -x .fakekernel -x run %s %s >&2",
			       a, b), 0);
	cr_assert_eq(system(cmd), 0, "trees differ: %s", cmd);
	free(cmd);
}

/* ---- sriov_numvfs ---------------------------------------------------------------------- */

#define NVME "0000:03:00.0"

Test(fakekernel, numvfs_einval_erange)
{
	char *r = tree("sriov-off");

	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "abc"), -EINVAL);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "4x"), -EINVAL);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "-1"), -EINVAL);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "33"), -ERANGE);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "70000"), -ERANGE);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "0\n");
	cr_assert_not(ex(r, DEV NVME "/virtfn0"));
	/* sriov-zero: the capability says 32, the kernel's limit is 0 */
	r = tree("sriov-zero");
	cr_assert_eq(fkw(r, DEV "0000:01:00.0/sriov_numvfs", "1"), -ERANGE);
}

Test(fakekernel, numvfs_same_value_is_a_noop)
{
	char *r = tree("sriov-off");

	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "0"), 0);
	cr_assert_not(ex(r, DEV NVME "/virtfn0"));
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "2"), 0);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "2\n"), 0);
	cr_assert_str_eq(lnk(r, DEV NVME "/virtfn1"), "0000:03:00.2");
	cr_assert_not(ex(r, DEV NVME "/virtfn2"));
}

Test(fakekernel, numvfs_enoent_without_sriov_configure)
{
	char *r = tree("sriov-off");

	/* nvidia.ko has no sriov_configure: only sriov-manage can do it */
	cr_assert_eq(fkw(r, DEV "0000:01:00.0/sriov_numvfs", "4"), -ENOENT);
	cr_assert_not(ex(r, DEV "0000:01:00.0/virtfn0"));
	/* no PF driver at all */
	cr_assert_eq(fkw(r, DEV NVME "/driver/unbind", NVME), 0);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "4"), -ENOENT);
	/* an attribute the function does not have: open(2) fails */
	cr_assert_eq(fkw(r, DEV "0000:00:17.0/sriov_numvfs", "1"), -ENOENT);
}

Test(fakekernel, numvfs_enable_lays_out_vfs)
{
	char *r = tree("sriov-off");
	char *groups[4];

	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "4"), 0);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "4\n");
	for (int i = 0; i < 4; i++) {
		char vf[16];

		snprintf(vf, sizeof(vf), "0000:03:00.%d", i + 1); /* offset 1, stride 1 */
		cr_assert_str_eq(lnk(r, DEV NVME "/virtfn%d", i), vf);
		cr_assert_str_eq(lnk(r, DEV "%s/physfn", vf), NVME);
		cr_assert_str_eq(rd(r, DEV "%s/vendor", vf), "0x144d\n");
		cr_assert_str_eq(rd(r, DEV "%s/device", vf), "0xa824\n");
		cr_assert_str_eq(rd(r, DEV "%s/class", vf), "0x010802\n");
		cr_assert_str_eq(lnk(r, DEV "%s/driver", vf), "nvme");
		cr_assert(ex(r, "sys/bus/pci/drivers/nvme/%s", vf));
		groups[i] = lnk(r, DEV "%s/iommu_group", vf);
		cr_assert_not_null(groups[i]);
		cr_assert(ex(r, "sys/kernel/iommu_groups/%s/devices/%s", groups[i], vf));
		for (int k = 0; k < i; k++)
			cr_assert_str_neq(groups[i], groups[k], "VFs share a group");
	}
	cr_assert_not(ex(r, DEV NVME "/virtfn4"));
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "2"), -EBUSY);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "4\n");
}

Test(fakekernel, numvfs_zero_then_n_recreates_vfs)
{
	char *r = tree("sriov-off"), *g0;

	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "3"), 0);
	g0 = lnk(r, DEV "0000:03:00.1/iommu_group");
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver_override", "vfio-pci"), 0);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "0"), 0);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "0\n");
	for (int i = 1; i <= 3; i++) {
		cr_assert_not(ex(r, DEV "0000:03:00.%d", i));
		cr_assert_not(ex(r, "sys/devices/pci0000:00/0000:00:03.0/0000:03:00.%d", i));
		cr_assert_not(ex(r, "sys/bus/pci/drivers/nvme/0000:03:00.%d", i));
	}
	cr_assert_not(ex(r, DEV NVME "/virtfn0"));
	cr_assert_not(ex(r, "sys/kernel/iommu_groups/%s", g0), "the VF's group outlived it");
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "2"), 0);
	/* a new pci_dev: the override did not survive, and it has a group of its own again */
	cr_assert_str_eq(rd(r, DEV "0000:03:00.1/driver_override"), "(null)\n");
	cr_assert(ex(r, "sys/kernel/iommu_groups/%s/devices/0000:03:00.1",
		     lnk(r, DEV "0000:03:00.1/iommu_group")));
	cr_assert_not(ex(r, DEV "0000:03:00.3"));
}

Test(fakekernel, numvfs_limit_marker_enables_fewer)
{
	char *r = tree("sriov-off");

	put(r, ".fakekernel/sriov-limit/" NVME, "2\n");
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "4"), 0);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "2\n");
	cr_assert_not(ex(r, DEV NVME "/virtfn2"));
}

Test(fakekernel, autoprobe_zero_leaves_vfs_unbound)
{
	char *r = tree("sriov-off");

	cr_assert_eq(fkw(r, DEV NVME "/sriov_drivers_autoprobe", "2"), -EINVAL);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_drivers_autoprobe", "x"), -EINVAL);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_drivers_autoprobe", "0"), 0);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_drivers_autoprobe"), "0\n");
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "2"), 0);
	cr_assert_null(lnk(r, DEV "0000:03:00.1/driver"));
	cr_assert_null(lnk(r, DEV "0000:03:00.2/driver"));
	/* E810 with autoprobe on: iavf is loaded for the new VFs (udev's modalias load) */
	cr_assert_eq(fkw(r, DEV "0000:04:00.0/sriov_numvfs", "1"), 0);
	cr_assert_str_eq(lnk(r, DEV "0000:04:01.0/driver"), "iavf"); /* offset 8 */
}

/* ---- binding ----------------------------------------------------------------------------- */

Test(fakekernel, override_and_probe_bind_vfio)
{
	char *r = tree("sriov-off"), *g;

	cr_assert_eq(fkw(r, DEV NVME "/sriov_drivers_autoprobe", "0"), 0);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "2"), 0);
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver_override", "vfio-pci"), 0);
	cr_assert_str_eq(rd(r, DEV "0000:03:00.1/driver_override"), "vfio-pci\n");
	cr_assert_null(lnk(r, DEV "0000:03:00.1/driver"), "driver_override must not bind");
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", "0000:03:00.1"), 0);
	g = lnk(r, DEV "0000:03:00.1/iommu_group");
	cr_assert_str_eq(lnk(r, DEV "0000:03:00.1/driver"), "vfio-pci");
	cr_assert(ex(r, "sys/bus/pci/drivers/vfio-pci/0000:03:00.1"));
	cr_assert(ex(r, DEV "0000:03:00.1/vfio-dev/vfio%s", g));
	cr_assert(ex(r, "dev/vfio/%s", g));
	cr_assert_null(lnk(r, DEV "0000:03:00.2/driver"), "probe bound the other VF");
	/* a bound device: drivers_probe leaves it alone, the override write does not unbind */
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver_override", "\n"), 0);
	cr_assert_str_eq(rd(r, DEV "0000:03:00.1/driver_override"), "(null)\n");
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", "0000:03:00.1"), 0);
	cr_assert_str_eq(lnk(r, DEV "0000:03:00.1/driver"), "vfio-pci");
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", "0000:09:00.0"), -ENODEV);
}

Test(fakekernel, unbind_and_default_driver)
{
	char *r = tree("sriov-off");

	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "1"), 0);
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers/nvme/unbind", "0000:00:17.0"), -ENODEV, "not nvme's");
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver/unbind", "0000:03:00.2"), -ENODEV);
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver/unbind", "0000:03:00.1"), 0);
	cr_assert_null(lnk(r, DEV "0000:03:00.1/driver"));
	cr_assert_not(ex(r, "sys/bus/pci/drivers/nvme/0000:03:00.1"));
	cr_assert_str_eq(rd(r, DEV "0000:03:00.1/enable"), "0\n");
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver/unbind", "0000:03:00.1"), -ENOENT);
	/* no override: ID matching brings the native driver back */
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", "0000:03:00.1"), 0);
	cr_assert_str_eq(lnk(r, DEV "0000:03:00.1/driver"), "nvme");
	/* an override naming a driver that is not loaded: success, nothing bound */
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver/unbind", "0000:03:00.1"), 0);
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver_override", "nosuchdrv"), 0);
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", "0000:03:00.1"), 0);
	cr_assert_null(lnk(r, DEV "0000:03:00.1/driver"));
}

Test(fakekernel, probe_fail_marker_binds_nothing)
{
	char *r = tree("sriov-off");

	cr_assert_eq(fkw(r, DEV NVME "/sriov_drivers_autoprobe", "0"), 0);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "1"), 0);
	put(r, ".fakekernel/probe-fail/0000:03:00.1", "");
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver_override", "vfio-pci"), 0);
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", "0000:03:00.1"), 0);
	cr_assert_null(lnk(r, DEV "0000:03:00.1/driver"));
}

/* ---- blocking remove() ------------------------------------------------------------------- */

/* The timeouts guard against a hang only: writing the sixteen-sriov tree alone took 15 s of
 * system time on a loaded CI disk (2026-12-02), and a 30 s bound failed a run that way. */

Test(fakekernel, blocking_unbind_is_abandoned, .timeout = 120)
{
	char *r = tree("sriov-off");
	int stuck = 0;

	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "1"), 0);
	put(r, ".fakekernel/block/0000:03:00.1", "");
	cr_assert_eq(fk_run(r, DEV "0000:03:00.1/driver/unbind", "0000:03:00.1", NULL, 300, &stuck),
		     -ETIMEDOUT);
	cr_assert_gt(stuck, 0);
	cr_assert_str_eq(lnk(r, DEV "0000:03:00.1/driver"), "nvme", "a blocked remove changed it");
	/* the user lets go: the remove completes behind the tool's back, as in the kernel */
	rm(r, ".fakekernel/block/0000:03:00.1");
	cr_assert(wait_gone(r, DEV "0000:03:00.1/driver"));
	cr_assert(wait_log(r, "driver/unbind 0000:03:00.1 = 0\n"));
}

Test(fakekernel, held_vfio_group_blocks_and_refuses, .timeout = 120)
{
	char *r = tree("sixteen-sriov"), *g, *p, *held;
	int stuck = 0;
	const char *vf = "0000:12:00.4";

	/* a VM (pid 4242) holds the VF's group */
	g = lnk(r, DEV "%s/iommu_group", vf);
	cr_assert_geq(asprintf(&held, "/dev/vfio/%s", g), 0);
	cr_assert_geq(asprintf(&p, "%s/proc/4242/fd", r), 0);
	cr_assert_eq(fx_mkdirs(p, "."), 0);
	free(p);
	cr_assert_geq(asprintf(&p, "%s/proc/4242/fd/17", r), 0);
	cr_assert_eq(symlink(held, p), 0);
	{
		char path[128];

		snprintf(path, sizeof(path), DEV "%s/nvidia/current_vgpu_type", vf);
		/* nv_vfio_pci_remove() on an idle VF: "No vGPU exists", -EPERM (real-hosts/06) */
		cr_assert_eq(fkw(r, path, "0"), -EPERM, "an idle VF refuses 0");
		cr_assert_eq(fkw(r, path, "684"), 0);
		cr_assert_eq(fkw(r, path, "0"), -EPERM);
		cr_assert_str_eq(rd(r, DEV "%s/nvidia/current_vgpu_type", vf), "684\n");
		snprintf(path, sizeof(path), DEV "%s/driver/unbind", vf);
		cr_assert_eq(fk_run(r, path, vf, NULL, 300, &stuck), -ETIMEDOUT);
	}
	unlink(p);
	free(p);
	free(held);
	cr_assert(wait_gone(r, DEV "0000:12:00.4/driver"));
	cr_assert(wait_log(r, "driver/unbind 0000:12:00.4 = 0\n"));
}

/* ---- loud failure, log, fault injection ------------------------------------------------- */

static void expect_unmodelled(const char *path, const char *val)
{
	char *r = tree("sriov-off"), *log;

	/* the child aborts: the library sees it die without an answer */
	cr_assert_eq(fkw(r, path, val), -EIO, "%s", path);
	log = rd(r, ".fakekernel/log");
	cr_assert(log && strstr(log, "= unmodelled"), "%s: log %s", path, log);
	cr_assert(ex(r, ".fakekernel/unmodelled"));
}

Test(fakekernel, unmodelled_writes_abort)
{
	expect_unmodelled("sys/bus/pci/drivers/vfio-pci/new_id", "10de 26b9");
	expect_unmodelled("sys/bus/pci/drivers/vfio-pci/remove_id", "10de 26b9");
	expect_unmodelled("sys/bus/pci/drivers/vfio-pci/bind", NVME);
	expect_unmodelled(DEV NVME "/reset", "1");
	expect_unmodelled(DEV NVME "/remove", "1");
	expect_unmodelled("sys/bus/pci/rescan", "1");
	expect_unmodelled(DEV NVME "/power_state", "D3hot");
	expect_unmodelled("etc/gpupart/x", "1");
	expect_unmodelled("sys/../etc/x", "1");
}

Test(fakekernel, unmodelled_exec_aborts)
{
	char *r = tree("sriov-off");
	char *other[] = { "/usr/bin/nvidia-smi", "-q", NULL };
	char *all[] = { "/usr/lib/nvidia/sriov-manage", "-e", "ALL", NULL };

	/* exec's child dies on SIGABRT: 128 + 6 */
	cr_assert_eq(fk_run(r, NULL, NULL, other, FK_BOUND_MS, NULL), 128 + SIGABRT);
	cr_assert_eq(fk_run(r, NULL, NULL, all, FK_BOUND_MS, NULL), 128 + SIGABRT);
	cr_assert(strstr(rd(r, ".fakekernel/log"), "exec /usr/lib/nvidia/sriov-manage -e ALL = unmodelled"));
}

Test(fakekernel, log_lines)
{
	char *r = tree("sriov-off");

	cr_assert_not(ex(r, ".fakekernel/log"));
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "4"), 0);
	cr_assert_eq(fkw(r, DEV NVME "/sriov_numvfs", "2"), -EBUSY);
	cr_assert_eq(fkw(r, DEV "0000:03:00.1/driver_override", "\n"), 0);
	cr_assert_str_eq(rd(r, ".fakekernel/log"),
			 "write " DEV NVME "/sriov_numvfs 4 = 0\n"
			 "write " DEV NVME "/sriov_numvfs 2 = -16\n"
			 "write " DEV "0000:03:00.1/driver_override \\n = 0\n");
}

Test(fakekernel, fail_write_injection)
{
	char *r = tree("sriov-off");
	struct gp_ctx *ctx;
	int stuck;

	setenv("GP_FAKE_FAIL_WRITE", "2", 1);
	cr_assert_eq(gp_ctx_new(r, &ctx), 0);
	fk_install(ctx);
	cr_assert_eq(gp_kernel_write(ctx, DEV NVME "/sriov_drivers_autoprobe", "0", &stuck), 0);
	cr_assert_eq(gp_kernel_write(ctx, DEV NVME "/sriov_numvfs", "2", &stuck), -EIO);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "0\n", "a failed write changed the tree");
	cr_assert_eq(gp_kernel_write(ctx, DEV NVME "/sriov_numvfs", "2", &stuck), 0);
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "2\n");
	cr_assert(strstr(rd(r, ".fakekernel/log"), "sriov_numvfs 2 = -5 (injected)"));
	gp_ctx_free(ctx);
	unsetenv("GP_FAKE_FAIL_WRITE");
}

Test(fakekernel, kill_after_injection)
{
	char *r = tree("sriov-off"), *log;
	int st, lines = 0;
	pid_t tool = fork();

	if (tool == 0) {
		struct gp_ctx *ctx;
		int stuck;

		setenv("GP_FAKE_KILL_AFTER", "2", 1);
		if (gp_ctx_new(r, &ctx) < 0)
			_exit(1);
		fk_install(ctx);
		gp_kernel_write(ctx, DEV NVME "/sriov_drivers_autoprobe", "0", &stuck);
		gp_kernel_write(ctx, DEV NVME "/sriov_numvfs", "2", &stuck);
		gp_kernel_write(ctx, DEV NVME "/sriov_drivers_autoprobe", "1", &stuck);
		_exit(0);
	}
	cr_assert_eq(waitpid(tool, &st, 0), tool);
	cr_assert(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the tool was not killed");
	/* the second write was performed, the third never happened */
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_numvfs"), "2\n");
	cr_assert_str_eq(rd(r, DEV NVME "/sriov_drivers_autoprobe"), "0\n");
	log = rd(r, ".fakekernel/log");
	for (char *p = log; (p = strchr(p, '\n')); p++)
		lines++;
	cr_assert_eq(lines, 2, "%s", log);
}

/* ---- NVIDIA vendor-specific VFIO ---------------------------------------------------------- */

static int set_type(const char *r, const char *vf, const char *id)
{
	char path[128];

	snprintf(path, sizeof(path), DEV "%s/nvidia/current_vgpu_type", vf);
	return fkw(r, path, id);
}

static bool creatable(const char *r, const char *vf, const char *id)
{
	char *txt = rd(r, DEV "%s/nvidia/creatable_vgpu_types", vf), want[32];

	cr_assert_not_null(txt);
	snprintf(want, sizeof(want), "\n%-5s : ", id);
	return strstr(txt, want) != NULL;
}

/* Equal-size mode (real-hosts/11): once a vGPU exists, every type of its framebuffer size, of
 * any series, stays creatable while one more fits; no other size is. */
Test(fakekernel, current_vgpu_type_equal_size)
{
	char *r = tree("sixteen-sriov");
	/* GPU 0000:12:00.0, VFs 12:00.4 .. 12:02.3; the 4 GiB types of an A16 (16 GiB, so 4 per
	 * GPU): 684 A16-4Q, 689 A16-4A, 692 A16-4C; 683 is A16-2Q */
	const char *vfs[] = { "0000:12:00.4", "0000:12:00.5", "0000:12:00.6", "0000:12:00.7",
			      "0000:12:01.0" };

	cr_assert(creatable(r, vfs[1], "683") && creatable(r, vfs[1], "684"));
	cr_assert_eq(set_type(r, vfs[0], "abc"), -EINVAL);
	cr_assert_eq(set_type(r, vfs[0], "99999"), -EINVAL, "not in creatable_vgpu_types");
	cr_assert_eq(set_type(r, vfs[0], "684"), 0);
	cr_assert_str_eq(rd(r, DEV "%s/nvidia/current_vgpu_type", vfs[0]), "684\n");
	cr_assert_eq(set_type(r, vfs[0], "683"), -EPERM, "a configured VF");
	/* siblings now offer the 4 GiB types of every series; another GPU is untouched */
	cr_assert(creatable(r, vfs[1], "684") && creatable(r, vfs[1], "689") &&
		  creatable(r, vfs[1], "692"));
	cr_assert_not(creatable(r, vfs[1], "683"));
	cr_assert(creatable(r, "0000:13:00.4", "683"));
	cr_assert_eq(set_type(r, vfs[1], "683"), -EINVAL);
	/* another series of the same size shares the GPU */
	cr_assert_eq(set_type(r, vfs[1], "689"), 0);
	for (int i = 2; i < 4; i++)
		cr_assert_eq(set_type(r, vfs[i], "684"), 0);
	cr_assert_str_eq(rd(r, DEV "%s/nvidia/creatable_vgpu_types", vfs[4]), "ID    : vGPU Name\n",
			 "a full GPU offers nothing");
	cr_assert_eq(set_type(r, vfs[4], "684"), -EINVAL);
	cr_assert_eq(set_type(r, vfs[0], "0"), 0);
	cr_assert_str_eq(rd(r, DEV "%s/nvidia/current_vgpu_type", vfs[0]), "0\n");
	cr_assert(creatable(r, vfs[4], "684") && creatable(r, vfs[4], "689"));
	cr_assert_not(creatable(r, vfs[4], "683"));
	/* and an idle VF cannot be cleared (nv_vfio_pci_remove: -EPERM) */
	cr_assert_eq(set_type(r, vfs[0], "0"), -EPERM);
}

/* Mixed-size mode: any type whose framebuffer still fits, whatever the sizes in force. */
Test(fakekernel, current_vgpu_type_mixed_size)
{
	char *r = tree("mixed-size");
	/* L40S (48 GiB) 0000:01:00.0 with 1152 L40S-8Q on VF 0 and 1154 L40S-16Q on VF 1: 24 GiB
	 * left, so 1155 L40S-24Q fits, 1159 L40S-48Q does not */
	const char *vf2 = "0000:01:00.6", *vf3 = "0000:01:00.7";

	cr_assert(creatable(r, vf2, "1147") && creatable(r, vf2, "1152") &&
		  creatable(r, vf2, "1155") && creatable(r, vf2, "1175"));
	cr_assert_not(creatable(r, vf2, "1159"));
	cr_assert_eq(set_type(r, vf2, "1155"), 0);
	cr_assert_str_eq(rd(r, DEV "%s/nvidia/creatable_vgpu_types", vf3), "ID    : vGPU Name\n",
			 "48 GiB used: nothing fits");
	cr_assert_eq(set_type(r, "0000:01:00.5", "0"), 0);
	cr_assert(creatable(r, vf3, "1154") && !creatable(r, vf3, "1155"), "16 GiB left");
}

Test(fakekernel, sriov_manage_enable_disable)
{
	char *r = tree("sriov-off");
	char *en[] = { "/usr/lib/nvidia/sriov-manage", "-e", "0000:01:00.0", NULL };
	char *dis[] = { "/usr/lib/nvidia/sriov-manage", "-d", "0000:01:00.0", NULL };

	cr_assert_eq(fk_run(r, NULL, NULL, en, FK_BOUND_MS, NULL), 0);
	cr_assert_str_eq(rd(r, DEV "0000:01:00.0/sriov_numvfs"), "32\n");
	cr_assert_str_eq(lnk(r, DEV "0000:01:00.0/driver"), "nvidia");
	cr_assert_str_eq(lnk(r, DEV "0000:01:04.3/driver"), "nvidia"); /* VF 31: 01:00.4 + 31 */
	cr_assert_str_eq(rd(r, DEV "0000:01:00.4/nvidia/current_vgpu_type"), "0\n");
	cr_assert(creatable(r, "0000:01:00.4", "1155"));
	cr_assert(ex(r, DEV "0000:01:00.4/vfio-dev"));
	/* idempotent */
	cr_assert_eq(fk_run(r, NULL, NULL, en, FK_BOUND_MS, NULL), 0);
	cr_assert_str_eq(rd(r, DEV "0000:01:00.0/sriov_numvfs"), "32\n");
	put(r, ".fakekernel/unbindlock-busy/0000:01:00.0", "");
	cr_assert_eq(fk_run(r, NULL, NULL, dis, FK_BOUND_MS, NULL), 1);
	cr_assert_str_eq(rd(r, DEV "0000:01:00.0/sriov_numvfs"), "32\n");
	rm(r, ".fakekernel/unbindlock-busy/0000:01:00.0");
	cr_assert_eq(set_type(r, "0000:01:00.4", "1155"), 0);
	cr_assert_eq(fk_run(r, NULL, NULL, dis, FK_BOUND_MS, NULL), 0);
	cr_assert_str_eq(rd(r, DEV "0000:01:00.0/sriov_numvfs"), "0\n");
	cr_assert_not(ex(r, DEV "0000:01:00.4"));
	cr_assert_not(ex(r, DEV "0000:01:00.0/virtfn0"));
	/* and back: the type did not survive */
	cr_assert_eq(fk_run(r, NULL, NULL, en, FK_BOUND_MS, NULL), 0);
	cr_assert_str_eq(rd(r, DEV "0000:01:00.4/nvidia/current_vgpu_type"), "0\n");
	cr_assert(creatable(r, "0000:01:00.5", "1147"));
}

Test(fakekernel, a16_pf_numvfs_is_enoent)
{
	char *r = tree("a16-vfio");

	cr_assert_eq(fkw(r, DEV "0000:03:00.0/sriov_numvfs", "0"), -ENOENT);
	cr_assert_str_eq(rd(r, DEV "0000:03:00.0/sriov_numvfs"), "16\n");
}

/* ---- mdev ---------------------------------------------------------------------------------- */

#define TYPES(vf, ty) DEV vf "/mdev_supported_types/" ty

static const char *uuid_of(int i)
{
	static char u[8][37];

	snprintf(u[i], sizeof(u[i]), "0000000%d-1111-4222-8333-444455556666", i);
	return u[i];
}

Test(fakekernel, mdev_create_remove_on_vfs)
{
	char *r = tree("a40-mdev-vf");
	/* VF0 and VF1 hold 8Q (562, 6 per GPU); VF2 is free */
	const char *vf2 = "0000:17:00.6", *vf3 = "0000:17:00.7";

	cr_assert_str_eq(rd(r, TYPES("0000:17:00.6", "nvidia-562/available_instances")), "1\n");
	cr_assert_str_eq(rd(r, TYPES("0000:17:00.6", "nvidia-557/available_instances")), "0\n");
	cr_assert_eq(fkw(r, TYPES("0000:17:00.6", "nvidia-562/create"), "not-a-uuid"), -EINVAL);
	cr_assert_eq(fkw(r, TYPES("0000:17:00.6", "nvidia-562/create"),
			 "aa618089-8b16-4d01-a136-25a0f3c73123"), -EEXIST);
	cr_assert_eq(fkw(r, TYPES("0000:17:00.6", "nvidia-557/create"), uuid_of(0)), -EUSERS);
	cr_assert_eq(fkw(r, TYPES("0000:17:00.6", "nvidia-562/create"), uuid_of(0)), 0);
	cr_assert(ex(r, "sys/bus/mdev/devices/%s", uuid_of(0)));
	cr_assert_str_eq(lnk(r, "sys/bus/mdev/devices/%s/mdev_type", uuid_of(0)), "nvidia-562");
	cr_assert_not_null(lnk(r, "sys/bus/mdev/devices/%s/iommu_group", uuid_of(0)));
	cr_assert(ex(r, "sys/bus/mdev/devices/%s/remove", uuid_of(0)));
	cr_assert(ex(r, TYPES("0000:17:00.6", "nvidia-562/devices/%s"), uuid_of(0)));
	/* one vGPU per VF; the GPU has 3 of 6 8Q now */
	cr_assert_str_eq(rd(r, DEV "%s/mdev_supported_types/nvidia-562/available_instances", vf2), "0\n");
	cr_assert_str_eq(rd(r, DEV "%s/mdev_supported_types/nvidia-562/available_instances", vf3), "1\n");
	for (int i = 1; i <= 3; i++) {
		char path[160], vf[16];

		snprintf(vf, sizeof(vf), "0000:17:0%d.%d", (7 + i) / 8, (7 + i) % 8);
		snprintf(path, sizeof(path), DEV "%s/mdev_supported_types/nvidia-562/create", vf);
		cr_assert_eq(fkw(r, path, uuid_of(i)), 0, "%s", vf);
	}
	/* 6 of 6: nothing left anywhere */
	cr_assert_str_eq(rd(r, TYPES("0000:17:01.3", "nvidia-562/available_instances")), "0\n");
	cr_assert_eq(fkw(r, TYPES("0000:17:01.3", "nvidia-562/create"), uuid_of(5)), -EUSERS);
	/* remove */
	{
		char path[128];

		snprintf(path, sizeof(path), "sys/bus/mdev/devices/%s/remove", uuid_of(0));
		cr_assert_eq(fkw(r, path, "x"), -EINVAL);
		cr_assert_eq(fkw(r, path, "1"), 0);
		cr_assert_not(ex(r, "sys/bus/mdev/devices/%s", uuid_of(0)));
		cr_assert_not(ex(r, DEV "%s/%s", vf2, uuid_of(0)));
		cr_assert_eq(fkw(r, path, "1"), -ENOENT);
	}
	cr_assert_str_eq(rd(r, DEV "%s/mdev_supported_types/nvidia-562/available_instances", vf2), "1\n");
	cr_assert_str_eq(rd(r, TYPES("0000:17:01.3", "nvidia-562/available_instances")), "1\n");
	cr_assert_str_eq(rd(r, TYPES("0000:17:01.3", "nvidia-557/available_instances")), "0\n");
}

Test(fakekernel, mdev_on_pf)
{
	char *r = tree("t4-mdev-pf");

	/* T4-4Q (232): 4 per GPU, one in use */
	cr_assert_str_eq(rd(r, TYPES("0000:3b:00.0", "nvidia-232/available_instances")), "3\n");
	cr_assert_eq(fkw(r, TYPES("0000:3b:00.0", "nvidia-232/create"), uuid_of(1)), 0);
	cr_assert_str_eq(rd(r, TYPES("0000:3b:00.0", "nvidia-232/available_instances")), "2\n");
	cr_assert_str_eq(rd(r, TYPES("0000:3b:00.0", "nvidia-230/available_instances")), "0\n");
}
