/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vGPU catalogue from the vGPU manager's vgpuConfig.xml, on fixture hosts the real binary
 * reads: the counts are NVIDIA's maxima (never the framebuffer divided), whatever is in force;
 * a file gpupart cannot trust is a warning and the next source; capture keeps the file; Name
 * for IDs the local pci.ids lacks. Expectations are typed from NVIDIA's numbers (research
 * real-hosts/07 for the H200: 4C 32, 7C 20, 8C 16, 14C 10, 17C 8, 28C 5, 35C 4, 70C 2, 141C 1),
 * not read back from the fixture's tables.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonq.h"
#include "run.h"

#define GIB (1024LL * 1024 * 1024)
#define VGPUCONFIG "usr/share/nvidia/vgpu/vgpuConfig.xml"

static struct json_object *gpu_of(const char *root, const char *addr, char **err)
{
	struct json_object *o, *g;
	struct run r;

	cr_assert_eq(run_gpupart(&r, root, "list", "--json", addr, NULL), 0, "%s", r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "not JSON: %.200s", r.out);
	if (err)
		*err = strdup(r.err);
	run_free(&r);
	g = json_object_get(jq_gpu(o, addr));
	json_object_put(o);
	return g;
}

static void write_file(const char *root, const char *rel, const char *text, size_t len)
{
	char *p;
	FILE *f;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	free(p);
}

/* Four 8C of 16 in force: the creatable lists offer only 8C now, the catalogue stays. */
Test(catalogue, h200_counts_are_nvidias_maxima)
{
	char *root = test_scenario("h200-vgpuconfig"), c[128];
	struct json_object *g = gpu_of(root, "0000:41:00.0", NULL);

	cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "vgpuconfig");
	cr_assert_str_eq(jq_str(g, "vgpu_series"), "C");
	jq_counts(g, c, sizeof(c));
	/* 16 x 8C and 32 x 4C, where 141 GiB / 8 GiB and / 4 GiB would say 17 and 35 */
	cr_assert_str_eq(c, "32,20,16,10,8,5,4,2,1");
	cr_assert_eq(jq_num(g, "partition_count"), 4);
	/* the whole-GPU type's profile size, 141C: 141 GiB */
	cr_assert_eq(jq_num(g, "vram_bytes"), 141 * GIB);
	cr_assert_eq(jq_num(g, "partition_vram_bytes"), 8 * GIB);
	json_object_put(g);
}

/* set-count follows the catalogue: 16 is the 8C count (in force: only VFs 4..15 written), 17
 * is no count of this GPU. */
Test(catalogue, h200_set_count_16_not_17)
{
	char *root = test_scenario("h200-vgpuconfig");
	struct run r;

	cr_assert_eq(run_gpupart(&r, root, "set-count", "--dry-run", "--no-libvirt", "0000:41:00.0",
				 "16", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "4 -> 16 partitions, 24 steps:"), "%s", r.out);
	cr_assert(strstr(r.out, "0000:41:01.0/nvidia/current_vgpu_type  1422"), "%s", r.out);
	cr_assert_null(strstr(r.out, "0000:41:00.4/nvidia/current_vgpu_type"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "set-count", "--dry-run", "--no-libvirt", "0000:41:00.0",
				 "17", NULL), 2, "%s", r.out);
	cr_assert(strstr(r.err, "valid counts: 32, 20, 16, 10, 8, 5, 4, 2, 1, 0"), "%s", r.err);
	run_free(&r);
}

/* 10de:2bb5 is not in gpupart's framebuffer table: the VRAM is the catalogue's, 96 GiB (the
 * DC-96Q profile), not the 24 GiB of the only type the lists still offer. */
Test(catalogue, rtxpro6000_vram_from_the_catalogue)
{
	char *root = test_scenario("rtxpro6000-vgpuconfig"), c[128];
	struct json_object *g = gpu_of(root, "0000:41:00.0", NULL);

	cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "vgpuconfig");
	jq_counts(g, c, sizeof(c));
	cr_assert_str_eq(c, "24,12,8,4,2,1");
	cr_assert_eq(jq_num(g, "vram_bytes"), 96 * GIB);
	cr_assert_eq(jq_num(g, "partition_vram_bytes"), 24 * GIB);
	json_object_put(g);
}

/* Without the file the VFs' lists are the last resort, and JSON says so. */
Test(catalogue, no_file_is_the_sysfs_fallback)
{
	char *root = test_scenario("h200-vgpuconfig"), *p;
	struct json_object *g;

	cr_assert_geq(asprintf(&p, "%s/" VGPUCONFIG, root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	g = gpu_of(root, "0000:41:00.0", NULL);
	cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "sysfs");
	json_object_put(g);
	/* and a vendor-VFIO fixture without it (large: the manager, no vgpuConfig.xml) */
	root = test_scenario("large");
	g = gpu_of(root, "0000:12:00.0", NULL);
	cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "sysfs");
	json_object_put(g);
}

/* Each of these is refused whole: a warning naming the file, the sysfs lists used, exit 0. */
Test(catalogue, untrusted_file_is_a_warning)
{
	static const char *bad[] = {
		"",
		"<vgpuconfig><vgpuType id=\"1422\" name=\"NVIDIA H200X-8C\">", /* cut short */
		/* an internal subset: entities to expand */
		"<?xml version=\"1.0\"?><!DOCTYPE vgpuconfig [<!ENTITY a \"aaaaaaaa\">"
		"<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;\">]><vgpuconfig>&b;</vgpuconfig>",
		"<notvgpuconfig/>",
		/* ids that are not ids */
		"<vgpuconfig><vgpuType id=\"-3\" name=\"NVIDIA H200X-8C\"><profileSize>0x200000000"
		"</profileSize></vgpuType><pgpu><devId vendorId=\"0x10de\" deviceId=\"0x2335\" "
		"subsystemVendorId=\"0x10de\" subsystemId=\"0x0\"/></pgpu></vgpuconfig>",
		/* a board that supports a type never declared */
		"<vgpuconfig><vgpuType id=\"1422\" name=\"NVIDIA H200X-8C\"><profileSize>0x200000000"
		"</profileSize></vgpuType><pgpu><devId vendorId=\"0x10de\" deviceId=\"0x2335\" "
		"subsystemVendorId=\"0x10de\" subsystemId=\"0x0\"/><supportedVgpu vgpuId=\"9999\">"
		"<maxVgpus>16</maxVgpus></supportedVgpu></pgpu></vgpuconfig>",
		/* a maximum that is not a number */
		"<vgpuconfig><vgpuType id=\"1422\" name=\"NVIDIA H200X-8C\"><profileSize>0x200000000"
		"</profileSize></vgpuType><pgpu><devId vendorId=\"0x10de\" deviceId=\"0x2335\" "
		"subsystemVendorId=\"0x10de\" subsystemId=\"0x0\"/><supportedVgpu vgpuId=\"1422\">"
		"<maxVgpus>16 or so</maxVgpus></supportedVgpu></pgpu></vgpuconfig>",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]) + 1; i++) {
		char *root = test_scenario("h200-vgpuconfig"), *err = NULL;
		struct json_object *g;

		if (i < sizeof(bad) / sizeof(bad[0])) {
			write_file(root, VGPUCONFIG, bad[i], strlen(bad[i]));
		} else {
			/* over the 16 MiB bound: refused unread */
			size_t n = (16u << 20) + 1;
			char *big = malloc(n);

			cr_assert_not_null(big);
			memset(big, ' ', n);
			write_file(root, VGPUCONFIG, big, n);
			free(big);
		}
		g = gpu_of(root, "0000:41:00.0", &err);
		cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "sysfs", "case %zu", i);
		cr_assert(strstr(err, "warning:") && strstr(err, "vgpuConfig.xml"), "case %zu: %s", i,
			  err);
		free(err);
		json_object_put(g);
		rm_tree(root);
	}
}

/* capture keeps the file byte for byte, and the extracted tree gives the same answers. */
Test(catalogue, capture_includes_vgpuconfig)
{
	char *root = test_scenario("h200-vgpuconfig"), *dst = test_tmpdir("extract"), *a, *b;
	struct run x, y;

	capture_into(root, dst);
	cr_assert_geq(asprintf(&a, "%s/" VGPUCONFIG, root), 0);
	cr_assert_geq(asprintf(&b, "%s/" VGPUCONFIG, dst), 0);
	{
		char *wa = slurp(a), *wb = slurp(b);

		cr_assert_not_null(wb, "capture has no %s", VGPUCONFIG);
		cr_assert_str_eq(wa, wb);
		free(wa);
		free(wb);
	}
	run_gpupart(&x, root, "list", "--json", NULL);
	run_gpupart(&y, dst, "list", "--json", NULL);
	cr_assert_str_eq(x.out, y.out);
	cr_assert(strstr(y.out, "\"vgpu_catalogue\": \"vgpuconfig\""), "%s", y.out);
	run_free(&x);
	run_free(&y);
	free(a);
	free(b);
}

/* What lspci prints for the GPU on this host's pci.ids: its name when the database has the
 * ID, "Device 2335" when not. */
static char *lspci_name(const char *root, const char *addr)
{
	char *opt, *p, *name;
	struct run l;

	cr_assert_geq(asprintf(&opt, "sysfs.path=%s/sys/bus/pci", root), 0);
	{
		char *argv[] = { (char *)getenv("LSPCI"), "-D", "-A", "linux-sysfs", "-O", opt,
				 "-s", (char *)addr, NULL };
		cr_assert_eq(run_argv(&l, argv), 0, "lspci: %s", l.err);
	}
	/* "0000:41:00.0 3D controller: NVIDIA Corporation Device 2335 (rev a1)" */
	p = strstr(l.out, ": ");
	cr_assert_not_null(p, "%s", l.out);
	name = strndup(p + 2, strcspn(p + 2, "\n"));
	if (strstr(name, " (rev "))
		*strstr(name, " (rev ") = 0;
	run_free(&l);
	free(opt);
	return name;
}

/* Name: the database's, else the driver's name for the board (its whole-GPU type's name
 * without the size: "NVIDIA H200X-141C" -> "NVIDIA H200X"), else lspci's words. */
Test(catalogue, name_for_ids_the_database_lacks)
{
	char *root = test_scenario("h200-vgpuconfig"), *want = lspci_name(root, "0000:41:00.0");
	bool unknown = strstr(want, "Device 2335") != NULL;
	struct json_object *g = gpu_of(root, "0000:41:00.0", NULL);
	char *p;

	cr_assert_str_eq(jq_str(g, "name"), unknown ? "NVIDIA H200X" : want);
	json_object_put(g);
	/* without the catalogue's name, lspci's own words, never "(unknown)" */
	cr_assert_geq(asprintf(&p, "%s/" VGPUCONFIG, root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	g = gpu_of(root, "0000:41:00.0", NULL);
	cr_assert_str_eq(jq_str(g, "name"), want);
	json_object_put(g);
	free(want);
}
