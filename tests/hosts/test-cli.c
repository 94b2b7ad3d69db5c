/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Bad input: one clear line on stderr naming the thing, the documented exit status, and
 * nothing on stdout. Broken sysfs files degrade one field to null with a warning.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "run.h"

static void expect_refusal(struct run *r, int status, const char *needle)
{
	cr_assert_eq(r->status, status, "exit %d, want %d; stderr: %s", r->status, status,
		     r->err);
	cr_assert_str_eq(r->out, "", "stdout must stay empty on failure: %s", r->out);
	cr_assert(strstr(r->err, needle), "stderr should name '%s': %s", needle, r->err);
	cr_assert(strncmp(r->err, "gpupart: ", 9) == 0, "%s", r->err);
	run_free(r);
}

Test(cli, malformed_address)
{
	char *root = test_scenario("a40-mdev-vf");
	struct run r;

	run_gpupart(&r, root, "list", "0000:17:00.0/../..", NULL);
	expect_refusal(&r, 2, "0000:17:00.0/../..");
	run_gpupart(&r, root, "survey", "--json", "zz:00.0", NULL);
	expect_refusal(&r, 2, "zz:00.0");
}

Test(cli, missing_device)
{
	char *root = test_scenario("a40-mdev-vf");
	struct run r;

	run_gpupart(&r, root, "list", "--json", "0000:99:00.0", NULL);
	expect_refusal(&r, 1, "0000:99:00.0: no such PCI device");
}

Test(cli, not_a_display_device)
{
	char *root = test_scenario("switch-no-acs");
	struct run r;

	/* a switch port is not a GPU; --any-class says what to do */
	run_gpupart(&r, root, "list", "0000:02:08.0", NULL);
	expect_refusal(&r, 2, "--any-class");
}

Test(cli, unreadable_or_foreign_root)
{
	char *empty = test_tmpdir("empty");
	struct run r;

	run_gpupart(&r, "/nonexistent/gpupart-root", "list", NULL);
	expect_refusal(&r, 1, "/nonexistent/gpupart-root");
	run_gpupart(&r, empty, "list", "--json", NULL);
	expect_refusal(&r, 1, "sys/bus/pci/devices");
}

Test(cli, usage)
{
	struct run r;

	run_gpupart(&r, NULL, "frobnicate", NULL);
	expect_refusal(&r, 2, "frobnicate");
	run_gpupart(&r, NULL, "--series", "X", "list", NULL);
	expect_refusal(&r, 2, "--series");
	run_gpupart(&r, NULL, "capture", NULL);
	expect_refusal(&r, 2, "capture");
	run_gpupart(&r, NULL, NULL);
	cr_assert_eq(r.status, 2);
	run_free(&r);
}

static void put(const char *root, const char *rel, const char *text)
{
	char *p;
	FILE *f;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	unlink(p);
	f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	fclose(f);
	free(p);
}

Test(cli, garbage_sysfs_degrades_to_null)
{
	char *root = test_scenario("a40-mdev-vf");
	struct run r;

	put(root, "sys/bus/pci/devices/0000:17:00.0/numa_node", "banana\n");
	put(root, "sys/bus/pci/devices/0000:17:00.0/subsystem_vendor", "");
	put(root, "sys/bus/pci/devices/0000:17:00.0/resource", "0x1 0x2\ngarbage\n");
	cr_assert_eq(run_gpupart(&r, root, "list", "--json", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"numa_node\": null"), "%s", r.out);
	cr_assert(strstr(r.out, "\"subsystem_vendor_id\": null"), "%s", r.out);
	cr_assert(strstr(r.err, "numa_node") && strstr(r.err, "warning"), "%s", r.err);
	run_free(&r);
	/* a dangling iommu_group link is an unknown group, not a crash */
	{
		char *p;
		cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/devices/0000:17:00.0/iommu_group", root), 0);
		unlink(p);
		cr_assert_eq(symlink("../../../kernel/iommu_groups/nonsense", p), 0);
		free(p);
	}
	cr_assert_eq(run_gpupart(&r, root, "survey", "--json", NULL), 3, "%s", r.err);
	run_free(&r);
}

Test(cli, capture_failure_leaves_nothing)
{
	char *root = test_scenario("t4-mdev-pf");
	struct run r;

	run_gpupart(&r, root, "capture", "/nonexistent-dir/x.tar", NULL);
	expect_refusal(&r, 1, "/nonexistent-dir/x.tar");
}

Test(cli, any_class_nvme)
{
	char *root = test_scenario("no-gpu");
	struct run r;

	cr_assert_eq(run_gpupart(&r, root, "--any-class", "list", "--json", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"backend\": \"sriov\""), "an SR-IOV PF is listed: %s", r.out);
	run_free(&r);
}

/* This machine's real host, whatever it has: the command works and says what it found. */
Test(smoke, real_host)
{
	struct run r;

	cr_assert_eq(run_gpupart(&r, NULL, "list", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "IOMMU:") || strstr(r.out, "Status"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, NULL, "list", "--json", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"schema_version\": 1"), "%s", r.out);
	run_free(&r);
	run_gpupart(&r, NULL, "survey", NULL);
	cr_assert(r.status == 0 || r.status == 3, "survey exit %d: %s", r.status, r.err);
	run_free(&r);
}

static void mkproc(const char *root, const char *pid, const char *comm, const char *fd,
		   const char *target)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/proc/%s/fd", root, pid), 0);
	{
		char *argv[] = { "/bin/mkdir", "-p", p, NULL };
		struct run r;
		cr_assert_eq(run_argv(&r, argv), 0);
		run_free(&r);
	}
	free(p);
	cr_assert_geq(asprintf(&p, "%s/proc/%s/comm", root, pid), 0);
	{
		FILE *f = fopen(p, "w");
		fprintf(f, "%s\n", comm);
		fclose(f);
	}
	free(p);
	cr_assert_geq(asprintf(&p, "%s/proc/%s/fd/%s", root, pid, fd), 0);
	cr_assert_eq(symlink(target, p), 0);
	free(p);
}

/* A process holding the GPU's DRM node is seen through /proc/PID/fd, as fuser would. */
Test(cli, in_use_by_host)
{
	char *root = test_scenario("gpu-audio-group");
	struct run r;

	mkproc(root, "4242", "Xorg", "7", "/dev/dri/card0");
	mkproc(root, "77", "bash", "0", "/dev/pts/0");
	cr_assert_eq(run_gpupart(&r, root, "survey", "--json", "0000:01:00.0", NULL), 0, "%s",
		     r.err);
	cr_assert(strstr(r.out, "\"code\": \"in-use-by-host\"") &&
			  strstr(r.out, "pid 4242 (Xorg) holds /dev/dri/card0"),
		  "%s", r.out);
	run_free(&r);
}

Test(cli, series_and_env_root)
{
	char *root = test_scenario("a40-mdev-vf");
	struct run r;

	setenv("GPUPART_ROOT", root, 1);
	cr_assert_eq(run_gpupart(&r, NULL, "--series", "B", "--json", "list", "0000:17:00.0",
				 NULL),
		     0, "%s", r.err);
	/* A40-1B allows 32 vGPUs, A40-2B 24 (research/nvidia-linux.md §1.3) */
	cr_assert(strstr(r.out, "\"vgpu_series\": \"B\""), "%s", r.out);
	cr_assert(strstr(r.out, "\"valid_partition_counts\": [\n        32,\n        24\n      ]"),
		  "%s", r.out);
	run_free(&r);
	unsetenv("GPUPART_ROOT");
}

Test(cli, colour_only_when_asked_or_on_a_tty)
{
	char *root = test_scenario("t4-mdev-pf");
	struct run r;

	run_gpupart(&r, root, "list", NULL);
	cr_assert_null(strchr(r.out, '\033'), "a pipe gets no colour");
	run_free(&r);
	run_gpupart(&r, root, "--color=always", "list", NULL);
	cr_assert_not_null(strstr(r.out, "\033[32mpartitioned"), "%s", r.out);
	run_free(&r);
}

/* The real host survives its own capture: same answers from the extracted tree. */
Test(smoke, real_host_capture_round_trip)
{
	char *dst = test_tmpdir("realcap");
	struct run a, b;

	capture_into(NULL, dst);
	run_gpupart(&a, NULL, "--any-class", "list", "--json", NULL);
	run_gpupart(&b, dst, "--any-class", "list", "--json", NULL);
	cr_assert_eq(a.status, 0, "%s", a.err);
	cr_assert_str_eq(a.out, b.out);
	run_free(&a);
	run_free(&b);
}

/* A tree from someone else: links out of the root, a FIFO, absurd numbers. Nothing outside
 * the root is read, nothing hangs, the odd fields are null. */
Test(cli, hostile_tree)
{
	char *root = test_scenario("a16-vfio"), *outside = test_tmpdir("outside"), *p;
	struct run r;

	cr_assert_geq(asprintf(&p, "%s/secret", outside), 0);
	put(outside, "secret", "0xbeef\n");
	{
		char *v;
		cr_assert_geq(asprintf(&v, "%s/sys/bus/pci/devices/0000:03:00.0/vendor", root), 0);
		unlink(v);
		cr_assert_eq(symlink(p, v), 0); /* absolute: escapes the root */
		free(v);
		cr_assert_geq(asprintf(&v, "%s/sys/bus/pci/devices/0000:04:00.0/device", root), 0);
		unlink(v);
		cr_assert_eq(symlink("../../../../../../../../../../../../../../../../../../..", v), 0);
		free(v);
		cr_assert_geq(asprintf(&v, "%s/sys/bus/pci/devices/0000:05:00.0/class", root), 0);
		unlink(v);
		cr_assert_eq(mkfifo(v, 0600), 0); /* a read would block forever */
		free(v);
	}
	put(root, "sys/bus/pci/devices/0000:06:00.0/resource",
	    "0x0 0x8000000000000000 0x14220c\n0x0 0xffffffffffffffff 0x14220c\n");
	put(root, "sys/bus/pci/devices/0000:06:00.0/sriov_numvfs", "2147483647\n");
	cr_assert_eq(run_gpupart(&r, root, "list", "--json", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.out, "beef"), "read outside the root: %s", r.out);
	cr_assert(strstr(r.out, "\"address\": \"0000:03:00.0\",\n      \"vendor_id\": null"), "%s",
		  r.out);
	cr_assert(strstr(r.err, "warning"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "survey", "--json", NULL), 3, "%s", r.err);
	cr_assert_null(strstr(r.out, "beef"));
	run_free(&r);
	/* the capture of such a tree holds nothing from outside it */
	{
		char *tarf, *argv[5];
		cr_assert_geq(asprintf(&tarf, "%s/c.tar", outside), 0);
		cr_assert_eq(run_gpupart(&r, root, "capture", tarf, NULL), 0, "%s", r.err);
		run_free(&r);
		argv[0] = "/bin/tar";
		argv[1] = "-tvf";
		argv[2] = tarf;
		argv[3] = NULL;
		cr_assert_eq(run_argv(&r, argv), 0);
		cr_assert_null(strstr(r.out, "secret"), "%s", r.out);
		run_free(&r);
		argv[1] = "-xOf";
		cr_assert_eq(run_argv(&r, argv), 0);
		cr_assert_null(strstr(r.out, "beef"), "outside content captured");
		run_free(&r);
		free(tarf);
	}
	free(p);
}

/* 256 bytes of a PCIe port's config (no ECAM): its ACS is unknown, not missing. */
Test(cli, extended_config_unknown_is_not_absent)
{
	char *root = test_scenario("a16-vfio"), *p;
	struct run r;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/devices/0000:02:08.0/config", root), 0);
	cr_assert_eq(truncate(p, 256), 0);
	cr_assert_eq(run_gpupart(&r, root, "survey", "--json", "0000:03:00.0", NULL), 3, "%s",
		     r.err);
	cr_assert_null(strstr(r.out, "acs-missing-upstream"), "%s", r.out);
	cr_assert(strstr(r.out, "config space of a port above 0000:03:00.0 is truncated"), "%s",
		  r.out);
	run_free(&r);
	free(p);
}

/* A named VF gets its IOMMU group checked like any other device. */
Test(cli, named_vf_group)
{
	char *root = test_scenario("intel-sriov"), *l;
	struct run r;

	/* put the SATA controller into the first VF's group */
	cr_assert_geq(asprintf(&l, "%s/sys/kernel/iommu_groups/12/devices/0000:00:17.0", root), 0);
	cr_assert_eq(symlink("../../../../devices/pci0000:00/0000:00:17.0", l), 0);
	cr_assert_eq(run_gpupart(&r, root, "survey", "--json", "0000:4e:00.1", NULL), 3, "%s",
		     r.err);
	cr_assert(strstr(r.out, "iommu-group-shared") && strstr(r.out, "0000:00:17.0"), "%s",
		  r.out);
	run_free(&r);
	free(l);
}

/* The same host gives the same archive, byte for byte. */
Test(cli, capture_is_deterministic)
{
	char *a = test_scenario("a40-mdev-vf"), *b = test_scenario("a40-mdev-vf");
	char *tars = test_tmpdir("tars"), *ta, *tb;
	struct run r;

	cr_assert_geq(asprintf(&ta, "%s/a.tar", tars), 0);
	cr_assert_geq(asprintf(&tb, "%s/b.tar", tars), 0);
	cr_assert_eq(run_gpupart(&r, a, "capture", ta, NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, b, "capture", tb, NULL), 0, "%s", r.err);
	run_free(&r);
	{
		char *argv[] = { "/usr/bin/cmp", ta, tb, NULL };
		cr_assert_eq(run_argv(&r, argv), 0, "archives differ: %s", r.out);
		run_free(&r);
	}
	free(ta);
	free(tb);
}

/* Names from sysfs cannot drive the admin's terminal. */
Test(cli, no_escape_sequences_in_text)
{
	char *root = test_scenario("t4-mdev-pf");
	struct run r;

	put(root, "sys/bus/pci/devices/0000:3b:00.0/mdev_supported_types/nvidia-232/name",
	    "GRID T4-4Q\033]0;pwned\007\n");
	cr_assert_eq(run_gpupart(&r, root, "list", NULL), 0, "%s", r.err);
	cr_assert_null(strchr(r.out, '\033'), "%s", r.out);
	cr_assert(strstr(r.out, "GRID T4-4Q?]0;pwned?"), "%s", r.out);
	run_free(&r);
}

/* The VF files of GPU `bus` of the A16 board: VF i sits at devfn 4 + i (offset 4, stride 1). */
static const char *a16_vf_file(int bus, int vf, const char *file)
{
	static char p[128];

	snprintf(p, sizeof(p), "sys/bus/pci/devices/0000:%02x:%02x.%d/nvidia/%s", bus,
		 (4 + vf) >> 3, (4 + vf) & 7, file);
	return p;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

#define UNEVEN "are one configuration but have different partition counts"

/* Admin Center's homogeneity: GPUs of one configuration left at different partition counts
 * draw one warning per set on stderr, from list and survey alike; stdout is not touched. */
Test(cli, uneven_counts_in_one_set_warn)
{
	char *root = test_scenario("a16-vfio"), *full, *p, *json;
	struct run r;

	/* as built: GPU 0 runs four 2Q, GPU 1 four 4Q, GPUs 2 and 3 idle */
	cr_assert_eq(run_gpupart(&r, root, "list", "--json", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "gpupart: warning: GPUs 0000:03:00.0, 0000:04:00.0, "
				"0000:05:00.0, 0000:06:00.0 " UNEVEN " (4, 4, 0, 0)\n"),
		  "%s", r.err);
	cr_assert_eq(count_of(r.err, UNEVEN), 1, "one warning per set: %s", r.err);
	cr_assert_null(strstr(r.out, "configuration"), "stdout is the inventory only");
	json = strdup(r.out);
	run_free(&r);
	run_gpupart(&r, root, "survey", NULL);
	cr_assert_eq(count_of(r.err, UNEVEN), 1, "%s", r.err);
	cr_assert(strstr(r.err, "(4, 4, 0, 0)"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "-q", "list", "--json", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.err, UNEVEN), "-q: %s", r.err);
	cr_assert_str_eq(r.out, json, "the warning changes nothing on stdout");
	run_free(&r);
	free(json);

	/* every GPU idle, every VF offering the whole catalogue (as GPU 3's do): one set, one
	 * count, no warning */
	p = NULL;
	cr_assert_geq(asprintf(&p, "%s/%s", root, a16_vf_file(6, 0, "creatable_vgpu_types")), 0);
	full = slurp(p);
	cr_assert(full && strstr(full, "NVIDIA A16-16Q"), "%s", full ? full : "(none)");
	free(p);
	for (int bus = 3; bus <= 4; bus++)
		for (int vf = 0; vf < 16; vf++) {
			put(root, a16_vf_file(bus, vf, "creatable_vgpu_types"), full);
			put(root, a16_vf_file(bus, vf, "current_vgpu_type"), "0\n");
		}
	cr_assert_eq(run_gpupart(&r, root, "list", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.err, UNEVEN), "%s", r.err);
	run_free(&r);
	run_gpupart(&r, root, "survey", "--json", NULL);
	cr_assert_null(strstr(r.err, UNEVEN), "%s", r.err);
	run_free(&r);

	/* one vGPU on GPU 2 */
	put(root, a16_vf_file(5, 0, "current_vgpu_type"), "683\n");
	cr_assert_eq(run_gpupart(&r, root, "list", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.err, "gpupart: warning: GPUs 0000:03:00.0, 0000:04:00.0, "
				"0000:05:00.0, 0000:06:00.0 " UNEVEN " (0, 0, 1, 0)\n"),
		  "%s", r.err);
	run_free(&r);
	/* only the GPUs named count */
	cr_assert_eq(run_gpupart(&r, root, "list", "0000:03:00.0", "0000:06:00.0", NULL), 0, "%s",
		     r.err);
	cr_assert_null(strstr(r.err, UNEVEN), "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "list", "0000:05:00.0", "0000:06:00.0", NULL), 0, "%s",
		     r.err);
	cr_assert(strstr(r.err, "GPUs 0000:05:00.0, 0000:06:00.0 " UNEVEN " (1, 0)"), "%s", r.err);
	run_free(&r);
	/* another subsystem ID makes GPU 2 a configuration of its own: the rest agree */
	put(root, "sys/bus/pci/devices/0000:05:00.0/subsystem_device", "0x14aa\n");
	cr_assert_eq(run_gpupart(&r, root, "list", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.err, UNEVEN), "%s", r.err);
	run_free(&r);
	free(full);
}

/* ---- which verb takes which option (issue 8, item 5) ---- */

/*
 * An option a verb does not take is a usage error naming the option and the verb, wherever
 * it stands on the line, and nothing runs: stdout stays empty.
 */
static const struct {
	const char *args[8];
	const char *option, *verb;
} foreign_options[] = {
	{ { "list", "--runtime" }, "--runtime", "list" },
	{ { "list", "-n" }, "--dry-run", "list" },
	{ { "--dry-run", "list" }, "--dry-run", "list" },
	{ { "list", "--all-homogeneous" }, "--all-homogeneous", "list" },
	{ { "list", "--write-timeout", "5" }, "--write-timeout", "list" },
	{ { "list", "--driver", "nvidia" }, "--driver", "list" },
	{ { "list", "--force" }, "--force", "list" },
	{ { "survey", "-n" }, "--dry-run", "survey" },
	{ { "survey", "--runtime" }, "--runtime", "survey" },
	{ { "survey", "--driver=nvidia" }, "--driver", "survey" },
	{ { "dismount", "01:00.0", "--driver", "nvidia" }, "--driver", "dismount" },
	{ { "mount", "01:00.0", "--force" }, "--force", "mount" },
	{ { "mount", "01:00.0", "--runtime" }, "--runtime", "mount" },
	{ { "capture", "-", "--json" }, "--json", "capture" },
	{ { "-j", "capture", "-" }, "--json", "capture" },
	{ { "capture", "-", "--series", "Q" }, "--series", "capture" },
	{ { "capture", "-", "-n" }, "--dry-run", "capture" },
	{ { "capture", "-", "--write-timeout", "1" }, "--write-timeout", "capture" },
	{ { "apply", "--runtime" }, "--runtime", "apply" },
	{ { "apply", "--all-homogeneous" }, "--all-homogeneous", "apply" },
	{ { "apply", "-s", "Q" }, "--series", "apply" },
	{ { "repair", "--connect", "test:///default" }, "--connect", "repair" },
	{ { "repair", "--runtime" }, "--runtime", "repair" },
	{ { "repair", "--all-homogeneous" }, "--all-homogeneous", "repair" },
	{ { "repair", "--no-libvirt" }, "--no-libvirt", "repair" },
	{ { "repair", "--libvirt-timeout", "1" }, "--libvirt-timeout", "repair" },
	{ { "repair", "--series", "Q" }, "--series", "repair" },
};

Test(cli, options_a_verb_does_not_take)
{
	char *root = test_scenario("sriov-off");
	struct run r;

	for (size_t i = 0; i < sizeof(foreign_options) / sizeof(foreign_options[0]); i++) {
		char *argv[16] = { (char *)gpupart_bin(), "--root", root };
		int n = 3;
		char verb[32];

		for (const char *const *a = foreign_options[i].args; *a; a++)
			argv[n++] = (char *)*a;
		run_argv(&r, argv);
		cr_assert_eq(r.status, 2, "%s %s: exit %d; stderr: %s", foreign_options[i].args[0],
			     foreign_options[i].args[1], r.status, r.err);
		cr_assert_str_eq(r.out, "", "%s %s: stdout: %s", foreign_options[i].args[0],
				 foreign_options[i].args[1], r.out);
		snprintf(verb, sizeof(verb), "'%s'", foreign_options[i].verb);
		cr_assert(strstr(r.err, foreign_options[i].option) && strstr(r.err, verb),
			  "stderr should name %s and %s: %s", foreign_options[i].option, verb,
			  r.err);
		cr_assert(strncmp(r.err, "gpupart: ", 9) == 0, "%s", r.err);
		run_free(&r);
	}
}

/* The options a verb does take still work, before or after it. */
Test(cli, options_a_verb_takes)
{
	char *root = test_scenario("sriov-off"), *tar;
	struct run r;

	cr_assert_eq(run_gpupart(&r, root, "-v", "-q", "--color=never", "list", "--json",
				 "--series", "Q", "--any-class", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"schema_version\""), "%s", r.out);
	run_free(&r);
	run_gpupart(&r, root, "survey", "-j", "-a", "-s", "C", NULL);
	cr_assert(r.status == 0 || r.status == 3, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.out, "\"schema_version\""), "%s", r.out);
	run_free(&r);
	cr_assert_geq(asprintf(&tar, "%s/c.tar", root), 0);
	cr_assert_eq(run_gpupart(&r, root, "-q", "--any-class", "capture", tar, "--color=never",
				 NULL), 0, "%s", r.err);
	run_free(&r);
	free(tar);
	cr_assert_eq(run_gpupart(&r, root, "--json", "-n", "set-count", "0000:03:00.0", "2",
				 "--runtime", "--all-homogeneous", "--any-class", "--series", "Q",
				 "--write-timeout", "1.5", "--no-libvirt", "--libvirt-timeout", "2",
				 NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "\"dry_run\": true"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "apply", "-n", "--json", "--write-timeout=0.001",
				 "--no-libvirt", "--libvirt-timeout=0.5", "--any-class", NULL), 0,
		     "%s", r.err);
	cr_assert(strstr(r.out, "\"dry_run\": true"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "repair", "--write-timeout", "3", "-q", NULL), 0, "%s",
		     r.err);
	cr_assert(strstr(r.out, "nothing to repair"), "%s", r.out);
	run_free(&r);
	/* --connect and --no-libvirt contradict each other */
	run_gpupart(&r, root, "set-count", "-n", "0000:03:00.0", "2", "--no-libvirt", "--connect",
		    "test:///default", NULL);
	expect_refusal(&r, 2, "--no-libvirt");
}

/* An empty root is not the live host: a script with an unset variable must not touch it. */
Test(cli, empty_root_is_a_usage_error)
{
	struct run r;

	run_gpupart(&r, "", "list", NULL);
	expect_refusal(&r, 2, "--root");
	{
		char *argv[] = { (char *)gpupart_bin(), "--root=", "survey", NULL };

		run_argv(&r, argv);
		expect_refusal(&r, 2, "--root");
	}
	setenv("GPUPART_ROOT", "", 1);
	run_gpupart(&r, NULL, "list", NULL);
	unsetenv("GPUPART_ROOT");
	expect_refusal(&r, 2, "GPUPART_ROOT");
}

/* COUNT is a plain decimal number: no sign, base prefix, blanks, fraction or exponent. */
Test(cli, count_parses_strictly)
{
	static const char *const bad[] = { "+2", "0x10", " 2", "2 ", "2\n", "1e3", "2.0", "02",
					   "", "4097", "99999999999999999999", "２" };
	char *root = test_scenario("sriov-off");
	struct run r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[64];

		run_gpupart(&r, root, "-n", "set-count", "--", "0000:03:00.0", bad[i], NULL);
		snprintf(want, sizeof(want), "'%s' is not a partition count", bad[i]);
		expect_refusal(&r, 2, want);
	}
	run_gpupart(&r, root, "-n", "set-count", "--", "0000:03:00.0", "-1", NULL);
	expect_refusal(&r, 2, "'-1' is not a partition count");
	cr_assert_eq(run_gpupart(&r, root, "-n", "set-count", "0000:03:00.0", "0", "--no-libvirt",
				 NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "-n", "set-count", "0000:03:00.0", "10",
				 "--no-libvirt", NULL), 0, "%s", r.err);
	run_free(&r);
}

/*
 * --write-timeout and --libvirt-timeout: decimal seconds with at most three decimals
 * (milliseconds), more than 0 and at most 3600.
 */
Test(cli, timeouts_parse_strictly)
{
	static const char *const bad[] = { "+2", "0x10", " 2", "2 ", "0.0001", "0.0009", "1e3",
					   "0", "0.000", "3600.001", "3601", "inf", "nan", "", "1.",
					   ".5", "-1", "1,5", "99999999999999999999" };
	static const char *const good[] = { "0.001", "1", "2.5", "3600", "3600.000", "10.25" };
	static const char *const opts[] = { "--write-timeout", "--libvirt-timeout" };
	char *root = test_scenario("sriov-off");
	struct run r;

	for (size_t o = 0; o < 2; o++) {
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char arg[64];
			char *argv[] = { (char *)gpupart_bin(), "--root", root, "-n", "apply",
					 arg, NULL };

			snprintf(arg, sizeof(arg), "%s=%s", opts[o], bad[i]);
			run_argv(&r, argv);
			cr_assert_eq(r.status, 2, "%s: exit %d: %s", arg, r.status, r.err);
			cr_assert_str_eq(r.out, "", "%s: %s", arg, r.out);
			cr_assert(strstr(r.err, opts[o]), "%s: %s", arg, r.err);
			run_free(&r);
		}
		for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
			cr_assert_eq(run_gpupart(&r, root, "-n", "apply", opts[o], good[i], NULL), 0,
				     "%s %s: %s", opts[o], good[i], r.err);
			run_free(&r);
		}
	}
}

/* Every "/etc/gpupart" (or "/run/gpupart") in @text is preceded by @root. */
static void assert_paths_under(const char *text, const char *root, const char *dir)
{
	size_t lr = strlen(root);
	int n = 0;

	for (const char *p = text; (p = strstr(p, dir)); p++, n++)
		cr_assert((size_t)(p - text) >= lr && strncmp(p - lr, root, lr) == 0,
			  "%s is named without the root %s: %s", dir, root, text);
	cr_assert_gt(n, 0, "no %s named: %s", dir, text);
}

/* Under --root, messages name the files under the root, not the live host's. */
Test(cli, messages_name_paths_under_the_root)
{
	char *root = test_scenario("sriov-off"), *p, *want;
	struct run r;

	/* a partitions.conf that does not parse refuses set-count's record, naming the file */
	for (int i = 0; i < 2; i++) {
		cr_assert_geq(asprintf(&p, "%s/etc%s", root, i ? "/gpupart" : ""), 0);
		cr_assert(mkdir(p, 0755) == 0 || errno == EEXIST, "%s: %s", p, strerror(errno));
		free(p);
	}
	put(root, "etc/gpupart/partitions.conf", "garbage\n");
	run_gpupart(&r, root, "set-count", "0000:03:00.0", "0", NULL);
	cr_assert_eq(r.status, 1, "%s", r.err);
	cr_assert_geq(asprintf(&want, "%s/etc/gpupart/partitions.conf", root), 0);
	assert_paths_under(r.err, root, "/etc/gpupart");
	cr_assert(strstr(r.err, "cannot be read"), "%s", r.err);
	free(want);
	run_free(&r);
}

/* A FILE name too long for capture's temporary name beside it is a usage error (exit 2). */
Test(cli, capture_name_too_long)
{
	char *root = test_scenario("t4-mdev-pf"), *file;
	char name[NAME_MAX + 2];
	struct run r;

	/* the name fits NAME_MAX, its ".tmp.XXXXXX" sibling does not */
	memset(name, 'x', NAME_MAX - 4);
	name[NAME_MAX - 4] = 0;
	cr_assert_geq(asprintf(&file, "%s/%s", root, name), 0);
	run_gpupart(&r, root, "capture", file, NULL);
	expect_refusal(&r, 2, "name too long");
	cr_assert_eq(access(file, F_OK), -1);
	free(file);
	/* a component longer than NAME_MAX anywhere */
	memset(name, 'y', NAME_MAX + 1);
	name[NAME_MAX + 1] = 0;
	cr_assert_geq(asprintf(&file, "%s/%s/x.tar", root, name), 0);
	run_gpupart(&r, root, "capture", file, NULL);
	expect_refusal(&r, 2, "name too long");
	free(file);
}

/*
 * gpupart-apply.service runs before libvirt and must not ask it (a socket-activated libvirt
 * would wait for the unit that waits for it): its command line, run here as a dry run with
 * work to do, never mentions libvirt; the same line without --no-libvirt does.
 */
Test(cli, boot_unit_does_not_ask_libvirt)
{
	char *root = test_scenario("sriov-off"), *unit, *p, *line, *conf, *c;
	char *argv[24] = { (char *)gpupart_bin(), "--root", root, "-n" };
	const char *golden = getenv("GOLDEN_DIR");
	struct run r;
	int n = 4, no_libvirt = -1;

	cr_assert_not_null(golden);
	cr_assert_geq(asprintf(&p, "%s/../../../systemd/gpupart-apply.service.in", golden), 0);
	unit = slurp(p);
	cr_assert_not_null(unit, "%s", p);
	free(p);
	line = strstr(unit, "\nExecStart=@sbindir@/gpupart ");
	cr_assert_not_null(line, "%s", unit);
	line += strlen("\nExecStart=@sbindir@/gpupart ");
	line[strcspn(line, "\n")] = 0;
	for (char *t = strtok(line, " "); t && n < 22; t = strtok(NULL, " ")) {
		if (strcmp(t, "--no-libvirt") == 0)
			no_libvirt = n;
		argv[n++] = t;
	}
	cr_assert_geq(no_libvirt, 0, "the unit must pass --no-libvirt: %s", line);

	/* a recorded count of 2 where the host has none: apply has work to do */
	cr_assert_eq(run_gpupart(&r, root, "set-count", "0000:03:00.0", "0", "--no-libvirt",
				 NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert_geq(asprintf(&p, "%s/etc/gpupart/partitions.conf", root), 0);
	conf = slurp(p);
	cr_assert(conf && (c = strstr(conf, "count=0")), "%s", conf);
	c[6] = '2';
	put(root, "etc/gpupart/partitions.conf", conf);
	free(conf);
	free(p);

	run_argv(&r, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.out, "sriov_numvfs"), "a plan with work: %s", r.out);
	cr_assert_null(strstr(r.err, "libvirt"), "the unit's command asked libvirt: %s", r.err);
	run_free(&r);
	memmove(&argv[no_libvirt], &argv[no_libvirt + 1], sizeof(argv[0]) * (size_t)(n - no_libvirt));
	run_argv(&r, argv);
	cr_assert_eq(r.status, 0, "%s", r.err);
	cr_assert(strstr(r.err, "not asking libvirt"), "%s", r.err);
	run_free(&r);
	free(unit);
}

/* An empty --connect is libvirt's default URI to libvirt: say so rather than guess. */
Test(cli, empty_connect_is_a_usage_error)
{
	char *root = test_scenario("sriov-off");
	struct run r;

	run_gpupart(&r, root, "-n", "set-count", "0000:03:00.0", "2", "--connect", "", NULL);
	expect_refusal(&r, 2, "--connect");
	run_gpupart(&r, root, "-n", "apply", "--connect=", NULL);
	expect_refusal(&r, 2, "--connect");
}
