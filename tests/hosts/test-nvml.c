/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The NVML source of the vGPU catalogue: the real binary on fixture trees with the fake
 * libnvidia-ml.so.1 (tests/fakenvml) loaded through the test switch GPUPART_TEST_NVML. The
 * data files below model the fixtures' boards with NVIDIA's published maxima (research
 * nvidia-linux.md 3.2: A16 1Q 16, 2Q 8, 4Q 4, 8Q 2, 16Q 1, 4C 4, 8C 2, 16C 1; real-hosts/07:
 * H200X 4C 32, 7C 20, 8C 16, 14C 10, 17C 8, 28C 5, 35C 4, 70C 2, 141C 1, 1-18C 7); the type
 * IDs are the fixtures' (tests/fixture/fx-vgpu.c, fx-vgpuconfig.c). Expectations are worked out by
 * hand from those tables and gpupart(8), PARTITION COUNTS.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jsonq.h"
#include "run.h"

#define GIB (1024LL * 1024 * 1024)

static const char a16_types[] =
	"type 680 max=16 fb=1073741824 gi=none class=NVS name=NVIDIA A16-1B\n"
	"type 681 max=8 fb=2147483648 gi=none class=NVS name=NVIDIA A16-2B\n"
	"type 682 max=16 fb=1073741824 gi=none class=Quadro name=NVIDIA A16-1Q\n"
	"type 683 max=8 fb=2147483648 gi=none class=Quadro name=NVIDIA A16-2Q\n"
	"type 684 max=4 fb=4294967296 gi=none class=Quadro name=NVIDIA A16-4Q\n"
	"type 685 max=2 fb=8589934592 gi=none class=Quadro name=NVIDIA A16-8Q\n"
	"type 686 max=1 fb=17179869184 gi=none class=Quadro name=NVIDIA A16-16Q\n"
	"type 692 max=4 fb=4294967296 gi=none class=Compute name=NVIDIA A16-4C\n"
	"type 693 max=2 fb=8589934592 gi=none class=Compute name=NVIDIA A16-8C\n"
	"type 694 max=1 fb=17179869184 gi=none class=Compute name=NVIDIA A16-16C\n";

static const char h200_types[] =
	"type 1414 max=7 fb=19327352832 gi=19 class=Compute name=NVIDIA H200X-1-18C\n"
	"type 1416 max=4 fb=37580963840 gi=15 class=Compute name=NVIDIA H200X-1-35C\n"
	"type 1420 max=32 fb=4294967296 gi=none class=Compute name=NVIDIA H200X-4C\n"
	"type 1421 max=20 fb=7516192768 gi=none class=Compute name=NVIDIA H200X-7C\n"
	"type 1422 max=16 fb=8589934592 gi=none class=Compute name=NVIDIA H200X-8C\n"
	"type 1423 max=10 fb=15032385536 gi=none class=Compute name=NVIDIA H200X-14C\n"
	"type 1424 max=8 fb=18253611008 gi=none class=Compute name=NVIDIA H200X-17C\n"
	"type 1425 max=5 fb=30064771072 gi=none class=Compute name=NVIDIA H200X-28C\n"
	"type 1426 max=4 fb=37580963840 gi=none class=Compute name=NVIDIA H200X-35C\n"
	"type 1427 max=2 fb=75161927680 gi=none class=Compute name=NVIDIA H200X-70C\n"
	"type 1428 max=1 fb=151397597184 gi=none class=Compute name=NVIDIA H200X-141C\n";

/* Writes a data file, points the fake (and, unless @loaded is false, gpupart) at it. */
static void use_nvml(const char *text, bool loaded)
{
	char *dir = test_tmpdir("nvml"), *path;
	FILE *f;

	cr_assert_geq(asprintf(&path, "%s/fake.data", dir), 0);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fputs(text, f);
	fclose(f);
	cr_assert_eq(setenv("GPUPART_FAKENVML_DATA", path, 1), 0);
	if (loaded)
		cr_assert_eq(setenv("GPUPART_TEST_NVML", getenv("FAKENVML_LIB"), 1), 0);
	else
		unsetenv("GPUPART_TEST_NVML");
	free(path);
}

/* A fixture host whose vgpuConfig.xml is missing (source 1 of the catalogue): NVML, source 2,
 * gives the types then. The modes NVML gives whatever the source. */
static char *without_vgpuconfig(const char *scenario)
{
	char *root = test_scenario(scenario), *path;

	cr_assert_geq(asprintf(&path, "%s/usr/share/nvidia/vgpu/vgpuConfig.xml", root), 0);
	cr_assert_eq(unlink(path), 0, "%s", path);
	free(path);
	return root;
}

static char *a16_data(const char *gpu2_mixed, bool all)
{
	char *s;
	char g[4][2048];

	for (int i = 0; i < 4; i++)
		snprintf(g[i], sizeof(g[i]),
			 "gpu 0000:%02x:00.0 mig=unsupported mixed=%s vgpu=1 name=NVIDIA A16\n%s",
			 3 + i, i == 2 ? gpu2_mixed : "0", a16_types);
	cr_assert_geq(asprintf(&s, "%s%s%s%s", g[0], g[1], g[2], all ? g[3] : ""), 0);
	return s;
}

/* "16,8,4,2,1" */
static void counts_are(struct json_object *g, const char *want)
{
	char got[256];

	jq_counts(g, got, sizeof(got));
	cr_assert_str_eq(got, want, "counts %s, want %s", got, want);
}

static struct json_object *list_json(const char *root, struct run *r)
{
	struct json_object *o;

	cr_assert_eq(run_gpupart(r, root, "list", "--json", NULL), 0, "%s", r->err);
	o = json_tokener_parse(r->out);
	cr_assert_not_null(o, "%s", r->out);
	return o;
}

/* GPU 1 of the A16 board runs four 4Q and is full: its VFs list nothing, so the sysfs lists
 * gave {4} (only the count in force); NVML's supported types do not shrink: every Q maximum,
 * and the partitions' size from the type (A16-4Q: 4 GiB). */
Test(nvml, catalogue_does_not_shrink)
{
	char *data = a16_data("0", true), *root = without_vgpuconfig("a16-vfio");
	struct json_object *o, *g;
	struct run r;

	use_nvml(data, true);
	o = list_json(root, &r);
	g = jq_gpu(o, "0000:04:00.0");
	cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "nvml");
	cr_assert_str_eq(jq_str(g, "vgpu_series"), "Q");
	counts_are(g, "16,8,4,2,1");
	cr_assert_eq(jq_num(g, "partition_count"), 4);
	cr_assert_eq(jq_num(g, "partition_vram_bytes"), 4 * GIB);
	/* and the idle GPU 3 gets the same list as before, from the driver's maxima */
	counts_are(jq_gpu(o, "0000:06:00.0"), "16,8,4,2,1");
	cr_assert_str_eq(jq_str(jq_gpu(o, "0000:06:00.0"), "vgpu_mode"), "equal-size");
	json_object_put(o);
	run_free(&r);
	free(data);
}

/* nvmlDeviceGetVgpuHeterogeneousMode says GPU 2 is in mixed-size mode; the types still come
 * from vgpuConfig.xml, the better source. */
Test(nvml, mixed_size_mode)
{
	char *data = a16_data("1", true), *root = test_scenario("a16-vfio");
	struct json_object *o;
	struct run r;

	use_nvml(data, true);
	o = list_json(root, &r);
	cr_assert_str_eq(jq_str(jq_gpu(o, "0000:05:00.0"), "vgpu_catalogue"), "vgpuconfig");
	cr_assert_str_eq(jq_str(jq_gpu(o, "0000:05:00.0"), "vgpu_mode"), "mixed-size");
	cr_assert_str_eq(jq_str(jq_gpu(o, "0000:06:00.0"), "vgpu_mode"), "equal-size");
	json_object_put(o);
	run_free(&r);
	free(data);
}

/* The H200 with VFs enabled, nothing in force and empty lists reads as MIG on without GPU
 * instances; NVML, the driver's own word, says MIG is off: the time-sliced C maxima (of
 * vgpuConfig.xml, which gives the types; NVML the mode). */
Test(nvml, mig_mode_from_nvml)
{
	char *root = test_scenario("h200-mig-no-gi"), *data;
	struct json_object *o, *g, *mig, *en;
	struct run r;

	cr_assert_geq(asprintf(&data, "gpu 0000:41:00.0 mig=0 mixed=0 vgpu=1 name=NVIDIA H200\n%s",
			       h200_types), 0);
	use_nvml(data, true);
	o = list_json(root, &r);
	g = jq_gpu(o, "0000:41:00.0");
	cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "vgpuconfig");
	cr_assert_str_eq(jq_str(g, "vgpu_mode"), "equal-size");
	cr_assert(json_object_object_get_ex(g, "mig", &mig));
	cr_assert(json_object_object_get_ex(mig, "enabled", &en));
	cr_assert(!json_object_get_boolean(en));
	counts_are(g, "32,20,16,10,8,5,4,2,1");
	json_object_put(o);
	run_free(&r);
	free(data);
}

/* MIG on, 7 instances of 1g.18gb, 2 in force: 1-18C allows 7 per GPU, the instances 7: every
 * count from 7; a partition is H200X-1-18C's 18 GiB. */
Test(nvml, mig_backed_sizes)
{
	char *root = without_vgpuconfig("h200-mig"), *data;
	struct json_object *o, *g;
	struct run r;

	cr_assert_geq(asprintf(&data, "gpu 0000:41:00.0 mig=1 mixed=unsupported vgpu=1 "
				      "name=NVIDIA H200\n%s", h200_types), 0);
	use_nvml(data, true);
	o = list_json(root, &r);
	g = jq_gpu(o, "0000:41:00.0");
	cr_assert_str_eq(jq_str(g, "vgpu_catalogue"), "nvml");
	cr_assert_str_eq(jq_str(g, "vgpu_mode"), "mig");
	counts_are(g, "7,6,5,4,3,2,1");
	cr_assert_eq(jq_num(g, "partition_vram_bytes"), 18 * GIB);
	json_object_put(o);
	run_free(&r);
	free(data);
}

/* A GPU the data does not model: the fake aborts, loudly; gpupart says NVML failed and goes on
 * with the sysfs lists. */
Test(nvml, unmodelled_gpu_fails_loudly)
{
	char *data = a16_data("0", false), *root = without_vgpuconfig("a16-vfio");
	struct json_object *o;
	struct run r;

	use_nvml(data, true);
	o = list_json(root, &r);
	cr_assert(strstr(r.err, "fakenvml: unmodelled: nvmlDeviceGetHandleByPciBusId_v2(0000:06"),
		  "%s", r.err);
	cr_assert(strstr(r.err, "NVML: the process asking it was killed by a signal"), "%s",
		  r.err);
	cr_assert_str_eq(jq_str(jq_gpu(o, "0000:04:00.0"), "vgpu_catalogue"), "sysfs");
	counts_are(jq_gpu(o, "0000:04:00.0"), "4");
	json_object_put(o);
	run_free(&r);
	free(data);
}

/* NVML that fails on the H200 without vgpuConfig.xml: the warning it gives, and the sysfs
 * lists as the catalogue. */
static void nvml_fails(const char *data, const char *warning)
{
	char *root = without_vgpuconfig("h200-mig");
	struct timespec a, b;
	struct json_object *o;
	struct run r;

	use_nvml(data, true);
	clock_gettime(CLOCK_MONOTONIC, &a);
	o = list_json(root, &r);
	clock_gettime(CLOCK_MONOTONIC, &b);
	cr_assert_lt(b.tv_sec - a.tv_sec, 10, "list took %lds", (long)(b.tv_sec - a.tv_sec));
	cr_assert(strstr(r.err, warning), "no '%s' in: %s", warning, r.err);
	cr_assert_str_eq(jq_str(jq_gpu(o, "0000:41:00.0"), "vgpu_catalogue"), "sysfs");
	json_object_put(o);
	run_free(&r);
}

/* A wedged GPU: nvmlInit never returns. `list` waits the bound, not for ever. */
Test(nvml, wedged_gpu_is_bounded)
{
	cr_assert_eq(setenv("GPUPART_TEST_NVML_TIMEOUT_MS", "400", 1), 0);
	nvml_fails("init hang\n", "NVML did not answer within 0.400 s");
}

/* nvmlInit fails (no driver): a warning, the other sources. */
Test(nvml, init_failure)
{
	nvml_fails("init fail\n", "NVML: nvmlInit_v2: Driver Not Loaded: not used");
}

/* Without the switch, under --root, NVML is never loaded (it describes this machine): the
 * data's hang is never reached, nothing is said. And a switch naming no library is a host
 * without NVML: quiet too. */
Test(nvml, not_loaded_under_root)
{
	char *root = without_vgpuconfig("h200-mig");
	struct json_object *o;
	struct run r;

	use_nvml("init hang\n", false);
	o = list_json(root, &r);
	cr_assert_str_eq(r.err, "", "%s", r.err);
	cr_assert_str_eq(jq_str(jq_gpu(o, "0000:41:00.0"), "vgpu_catalogue"), "sysfs");
	json_object_put(o);
	run_free(&r);
	cr_assert_eq(setenv("GPUPART_TEST_NVML", "/nonexistent/libnvidia-ml.so.1", 1), 0);
	o = list_json(root, &r);
	cr_assert_str_eq(r.err, "", "%s", r.err);
	json_object_put(o);
	run_free(&r);
}
