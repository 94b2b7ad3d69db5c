/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real binary on fixture hosts. Expectations are derived by hand from each scenario's
 * description (tests/fixture/fx-scenarios.c) and the rules in man/gpupart.8; lspci reads the
 * same trees as the independent judge of IDs and SR-IOV; golden files pin the whole output.
 */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

struct expect {
	char scenario[24];
	char address[16];
	char status[24];
	char backend[16];     /* "" = null */
	int partition_count;
	char counts[96];      /* valid_partition_counts, comma-separated */
	char verdict[32];
	char has[96];         /* finding codes that must be present, comma-separated */
	char hasnt[96];       /* finding codes that must be absent */
};

ParameterizedTestParameters(hosts, expectations)
{
	static struct expect e[] = {
		/* GPU 0 runs four 2Q vGPUs: the lists offer 2Q only, but vgpuConfig.xml's A16
		 * catalogue stands: NVIDIA's Q maxima 1Q 16, 2Q 8, 4Q 4, 8Q 2, 16Q 1 */
		{ "a16-vfio", "0000:03:00.0", "partitioned", "nvidia-vfio", 4, "16,8,4,2,1",
		  "not-assignable", "partitioned,large-bar", "iommu-group-shared" },
		/* GPU 1 is full with four 4Q vGPUs: the lists are headers only, the same counts */
		{ "a16-vfio", "0000:04:00.0", "partitioned", "nvidia-vfio", 4, "16,8,4,2,1",
		  "not-assignable", "partitioned", "acs-missing-upstream" },
		/* GPU 2: its 16 VFs are enabled and idle, no partition: only a warning that
		 * they are in the way (set-count 0 disables them) */
		{ "a16-vfio", "0000:05:00.0", "partitioned", "nvidia-vfio", 0, "16,8,4,2,1",
		  "assignable-with-warnings", "vfs-enabled-idle", "partitioned" },
		{ "a40-mdev-vf", "0000:17:00.0", "partitioned", "nvidia-mdev", 2,
		  "32,24,16,12,8,6,4,3,2,1", "not-assignable", "partitioned,large-bar", "" },
		{ "t4-mdev-pf", "0000:3b:00.0", "partitioned", "nvidia-mdev", 1, "16,8,4,2,1",
		  "not-assignable", "partitioned,no-flr", "large-bar" },
		{ "intel-sriov", "0000:4e:00.0", "partitioned", "sriov", 4, "31,30,29",
		  "not-assignable", "partitioned", "" },
		{ "gpu-audio-group", "0000:01:00.0", "ready-for-dda", "", 0, "",
		  "assignable-with-warnings", "", "iommu-group-shared,partitioned" },
		{ "switch-no-acs", "0000:03:00.0", "ready-for-dda", "", 0, "", "not-assignable",
		  "acs-missing-upstream,iommu-group-shared", "partitioned" },
		{ "sriov-zero", "0000:01:00.0", "paravirtualization", "nvidia-vfio", 0, "",
		  "assignable", "large-bar", "partitioned" },
		/* no VFs enabled yet: the counts are vgpuConfig.xml's for the board, NVIDIA's Q
		 * maxima of a 48 GB A40 / L40S, 1Q to 48Q (nvidia-linux.md §3.2) */
		{ "iommu-off", "0000:01:00.0", "paravirtualization", "nvidia-vfio", 0, "32,24,16,12,8,6,4,3,2,1",
		  "not-assignable", "", "iommu-group-shared" },
		{ "pci-vga", "0000:c1:00.0", "not-assignable", "", 0, "", "not-assignable",
		  "not-pcie,no-msi", "not-endpoint" },
		{ "nonroot-config", "0000:01:00.0", "partitioned", "nvidia-vfio", 0, "32,24,16,12,8,6,4,3,2,1",
		  "assignable-with-warnings", "config-unreadable",
		  "no-flr,not-pcie,no-msi,acs-missing-upstream" },
		{ "insecure-host", "0000:03:00.0", "ready-for-dda", "", 0, "", "not-assignable",
		  "", "" },
		/* arm64: ITS MSIs are isolated, so no interrupt-remapping-disabled; an H100 with
		 * no vGPU manager and no SR-IOV capability is plain DDA */
		{ "arm64-its", "0009:01:00.0", "ready-for-dda", "", 0, "", "assignable", "",
		  "interrupt-remapping-disabled,partitioned" },
		/* an empty mdev_bus is not mdev: no VFs yet and no types of its own, so vendor
		 * VFIO stands until sriov-manage -e shows the VFs; with no VF enabled nothing
		 * is partitioned yet and the whole GPU can still go to a VM (48 GiB BAR1) */
		{ "mdev-bus-empty", "0000:01:00.0", "partitioned", "nvidia-vfio", 0, "32,24,16,12,8,6,4,3,2,1",
		  "assignable", "large-bar", "partitioned" },
		/* one L40S-8A in force: the series is the partition's (A), and vgpuConfig.xml
		 * gives NVIDIA's A maxima, the same as the Q ones (nvidia-linux.md §3.2) */
		{ "l40s-8a", "0000:01:00.0", "partitioned", "nvidia-vfio", 1,
		  "32,24,16,12,8,6,4,3,2,1", "not-assignable", "partitioned", "" },
		/* an 8Q and a 16Q in force: mixed-size, no equal-size counts offered */
		{ "mixed-size", "0000:01:00.0", "partitioned", "nvidia-vfio", 2, "",
		  "not-assignable", "partitioned", "" },
		/* vgpuConfig.xml: NVIDIA's H200X C maxima, four 8C in force (test-catalogue.c) */
		{ "h200-vgpuconfig", "0000:41:00.0", "partitioned", "nvidia-vfio", 4,
		  "32,20,16,10,8,5,4,2,1", "not-assignable", "partitioned,large-bar", "" },
	};
	return cr_make_param_array(struct expect, e, sizeof(e) / sizeof(e[0]));
}

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	cr_assert_not_null(o, "not JSON: %.200s", text);
	return o;
}

static struct json_object *find_by_address(struct json_object *arr, const char *addr)
{
	size_t i;

	for (i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *o = json_object_array_get_idx(arr, i), *a;

		if (json_object_object_get_ex(o, "address", &a) &&
		    strcmp(json_object_get_string(a), addr) == 0)
			return o;
	}
	return NULL;
}

static const char *str_of(struct json_object *o, const char *key)
{
	struct json_object *v;

	cr_assert(json_object_object_get_ex(o, key, &v), "key %s missing", key);
	return v ? json_object_get_string(v) : "";
}

static bool has_code(struct json_object *findings, const char *code)
{
	size_t i;

	for (i = 0; i < json_object_array_length(findings); i++)
		if (strcmp(str_of(json_object_array_get_idx(findings, i), "code"), code) == 0)
			return true;
	return false;
}

static void check_codes(struct json_object *f, struct json_object *hf, const char *list,
			bool want, const char *where)
{
	char buf[96], *tok, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", list);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		cr_assert_eq(has_code(f, tok) || has_code(hf, tok), want, "%s: finding %s %s",
			     where, tok, want ? "missing" : "unexpected");
}

ParameterizedTest(struct expect *e, hosts, expectations)
{
	char *root = test_scenario(e->scenario), counts[256] = "";
	struct json_object *list, *survey, *gpu, *dev, *v, *hf;
	struct run r;
	size_t i;

	cr_assert_eq(run_gpupart(&r, root, "list", "--json", NULL), 0, "%s: %s", e->scenario,
		     r.err);
	list = parse(r.out);
	run_free(&r);
	json_object_object_get_ex(list, "gpus", &v);
	gpu = find_by_address(v, e->address);
	cr_assert_not_null(gpu, "%s: %s not listed", e->scenario, e->address);
	cr_assert_str_eq(str_of(gpu, "status"), e->status, "%s status", e->scenario);
	json_object_object_get_ex(gpu, "backend", &v);
	cr_assert_str_eq(v ? json_object_get_string(v) : "", e->backend, "%s backend",
			 e->scenario);
	json_object_object_get_ex(gpu, "partition_count", &v);
	cr_assert_eq(json_object_get_int(v), e->partition_count, "%s partition_count",
		     e->scenario);
	json_object_object_get_ex(gpu, "partitions", &v);
	cr_assert_eq((int)json_object_array_length(v), e->partition_count,
		     "partitions has partition_count entries");
	json_object_object_get_ex(gpu, "valid_partition_counts", &v);
	for (i = 0; i < json_object_array_length(v) && strlen(counts) < 200; i++)
		snprintf(counts + strlen(counts), sizeof(counts) - strlen(counts), "%s%d",
			 i ? "," : "", json_object_get_int(json_object_array_get_idx(v, i)));
	cr_assert(strncmp(counts, e->counts, strlen(e->counts)) == 0 &&
			  (e->counts[0] || !counts[0]),
		  "%s counts %s, want %s", e->scenario, counts, e->counts);

	r.status = run_gpupart(&r, root, "survey", "--json", NULL);
	survey = parse(r.out);
	cr_assert_eq(r.status, strcmp(e->verdict, "not-assignable") == 0 ? 3 : r.status);
	run_free(&r);
	json_object_object_get_ex(survey, "devices", &v);
	dev = find_by_address(v, e->address);
	cr_assert_not_null(dev);
	json_object_object_get_ex(survey, "host", &hf);
	json_object_object_get_ex(hf, "findings", &hf);
	json_object_object_get_ex(dev, "findings", &v);
	cr_assert_str_eq(str_of(dev, "verdict"), e->verdict, "%s verdict", e->scenario);
	check_codes(v, hf, e->has, true, e->scenario);
	check_codes(v, hf, e->hasnt, false, e->scenario);
	json_object_put(list);
	json_object_put(survey);
}

Test(hosts, insecure_host_findings)
{
	char *root = test_scenario("insecure-host");
	struct json_object *o, *h, *f;
	struct run r;

	run_gpupart(&r, root, "survey", "--json", NULL);
	cr_assert_eq(r.status, 3);
	o = parse(r.out);
	json_object_object_get_ex(o, "host", &h);
	json_object_object_get_ex(h, "findings", &f);
	cr_assert(has_code(f, "interrupt-remapping-disabled"));
	cr_assert(has_code(f, "acs-override"));
	cr_assert(has_code(f, "unsafe-interrupts"));
	json_object_put(o);
	run_free(&r);
}

/* arm64: ITS chips mean isolated MSIs (what VFIO checks), though no chip says "IR-" */
Test(hosts, arm64_its_interrupt_remapping)
{
	char *root = test_scenario("arm64-its");
	struct json_object *o, *h, *v;
	struct run r;

	cr_assert_eq(run_gpupart(&r, root, "list", "--json", NULL), 0, "%s", r.err);
	o = parse(r.out);
	run_free(&r);
	cr_assert(json_object_object_get_ex(o, "host", &h));
	cr_assert(json_object_object_get_ex(h, "interrupt_remapping", &v));
	cr_assert(v && json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v),
		  "interrupt_remapping: %s", v ? json_object_get_string(v) : "null");
	json_object_put(o);
}

/* What the two modes look like (values from the scenarios' descriptions: an L40S is 48 GiB). */
static struct json_object *first_gpu(const char *scenario, struct json_object **list)
{
	char *root = test_scenario(scenario);
	struct json_object *v;
	struct run r;

	cr_assert_eq(run_gpupart(&r, root, "list", "--json", "0000:01:00.0", NULL), 0, "%s",
		     r.err);
	*list = parse(r.out);
	run_free(&r);
	cr_assert(json_object_object_get_ex(*list, "gpus", &v));
	return json_object_array_get_idx(v, 0);
}

Test(hosts, equal_size_and_mixed_size)
{
	struct json_object *list, *gpu, *v;

	/* one 8A in force: its series; each partition 8 GiB */
	gpu = first_gpu("l40s-8a", &list);
	cr_assert_str_eq(str_of(gpu, "vgpu_series"), "A");
	cr_assert_str_eq(str_of(gpu, "vgpu_mode"), "equal-size");
	cr_assert_str_eq(str_of(gpu, "vgpu_catalogue"), "vgpuconfig");
	cr_assert(json_object_object_get_ex(gpu, "partition_vram_bytes", &v));
	cr_assert_eq(json_object_get_int64(v), 8LL << 30);
	json_object_put(list);

	/* an 8Q and a 16Q: mixed-size, no one partition size */
	gpu = first_gpu("mixed-size", &list);
	cr_assert_str_eq(str_of(gpu, "vgpu_mode"), "mixed-size");
	cr_assert(json_object_object_get_ex(gpu, "partition_vram_bytes", &v));
	cr_assert_null(v);
	cr_assert(json_object_object_get_ex(gpu, "vram_bytes", &v));
	cr_assert_eq(json_object_get_int64(v), 48LL << 30);
	json_object_put(list);
}

Test(hosts, no_gpu)
{
	char *root = test_scenario("no-gpu");
	struct run r;

	cr_assert_eq(run_gpupart(&r, root, "list", NULL), 0);
	cr_assert(strstr(r.out, "No GPUs found"), "%s", r.out);
	cr_assert(strstr(r.out, "IOMMU: enabled"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(run_gpupart(&r, root, "list", "--json", NULL), 0);
	cr_assert(strstr(r.out, "\"gpus\": [") && strstr(r.out, "\"iommu_enabled\": true"), "%s",
		  r.out);
	run_free(&r);
}

/* Golden files: the whole output, pinned. Regenerate with GPUPART_UPDATE_GOLDEN=1 and
 * review the diff by hand; the expectations above are the independent check. */
static void golden(const char *scenario, const char *verb)
{
	char *root = test_scenario(scenario), *path, *want;
	struct run r;

	run_gpupart(&r, root, verb, "--json", NULL);
	cr_assert_lt(r.status, 4, "%s %s: %s", scenario, verb, r.err);
	cr_assert_geq(asprintf(&path, "%s/%s.%s.json", getenv("GOLDEN_DIR"), scenario, verb), 0);
	if (getenv("GPUPART_UPDATE_GOLDEN")) {
		FILE *f = fopen(path, "w");
		fputs(r.out, f);
		fclose(f);
	}
	want = slurp(path);
	cr_assert_not_null(want, "missing golden file %s", path);
	cr_assert_str_eq(r.out, want, "%s %s differs from %s", scenario, verb, path);
	run_free(&r);
	free(want);
	free(path);
}

static char scenario_names[][24] = { "no-gpu", "a16-vfio", "a40-mdev-vf", "t4-mdev-pf",
				     "intel-sriov", "gpu-audio-group", "switch-no-acs",
				     "sriov-zero", "iommu-off", "pci-vga", "nonroot-config",
				     "insecure-host", "l40s-8a", "mixed-size", "dda-ready",
				     "dda-console", "dda-shared", "dda-vfio-by-hand",
				     "dda-sriov-idle" };
#define SCENARIOS cr_make_param_array(char[24], scenario_names, \
				      sizeof(scenario_names) / sizeof(scenario_names[0]))

ParameterizedTestParameters(hosts, golden)
{
	return SCENARIOS;
}

ParameterizedTest(char (*name)[24], hosts, golden)
{
	golden(*name, "list");
	golden(*name, "survey");
}

/* capture -> tar -x -> --root gives the same answers */
ParameterizedTestParameters(hosts, capture_round_trip)
{
	return SCENARIOS;
}

ParameterizedTest(char (*name)[24], hosts, capture_round_trip)
{
	char *root = test_scenario(*name), *dst = test_tmpdir("extract");
	const char *verbs[] = { "list", "survey" };
	struct run a, b;
	int i;

	capture_into(root, dst);
	for (i = 0; i < 2; i++) {
		run_gpupart(&a, root, verbs[i], "--json", NULL);
		run_gpupart(&b, dst, verbs[i], "--json", NULL);
		cr_assert_eq(a.status, b.status);
		cr_assert_str_eq(a.out, b.out, "%s %s differs after capture", *name, verbs[i]);
		run_free(&a);
		run_free(&b);
	}
}

/*
 * Independent reader: lspci (pciutils' own sysfs and config decoding) on the same tree must
 * agree with gpupart on IDs, class and the SR-IOV capability of every GPU it lists.
 */
static const char *lspci_block(const char *all, const char *addr)
{
	const char *p = all;

	while ((p = strstr(p, addr))) {
		if (p == all || p[-1] == '\n')
			return p;
		p++;
	}
	return NULL;
}

static bool block_has(const char *block, const char *needle)
{
	const char *end = strstr(block, "\n\n");
	const char *hit = strstr(block, needle);

	return hit && (!end || hit < end);
}

ParameterizedTestParameters(hosts, lspci_agrees)
{
	return SCENARIOS;
}

ParameterizedTest(char (*name)[24], hosts, lspci_agrees)
{
	char *root = test_scenario(*name), *opt;
	struct json_object *o, *gpus;
	struct run l, g;
	size_t i;

	cr_assert_geq(asprintf(&opt, "sysfs.path=%s/sys/bus/pci", root), 0);
	{
		char *argv[] = { (char *)getenv("LSPCI"), "-vvv", "-nn", "-D", "-A",
				 "linux-sysfs", "-O", opt, NULL };
		cr_assert(argv[0] && argv[0][0], "LSPCI not set");
		cr_assert_eq(run_argv(&l, argv), 0, "lspci: %s", l.err);
	}
	run_gpupart(&g, root, "list", "--json", NULL);
	o = parse(g.out);
	json_object_object_get_ex(o, "gpus", &gpus);
	for (i = 0; i < json_object_array_length(gpus); i++) {
		struct json_object *gpu = json_object_array_get_idx(gpus, i), *sr, *v;
		const char *addr = str_of(gpu, "address"), *blk = lspci_block(l.out, addr);
		char want[64];

		cr_assert_not_null(blk, "lspci does not show %s", addr);
		/* "0000:03:00.0 3D controller [0302]: NVIDIA ... [10de:25b6] (rev a1)" */
		snprintf(want, sizeof(want), "[%.4s]: ", str_of(gpu, "class"));
		cr_assert(block_has(blk, want), "%s: class %s", addr, want);
		snprintf(want, sizeof(want), "[%s:%s]", str_of(gpu, "vendor_id"),
			 str_of(gpu, "device_id"));
		cr_assert(block_has(blk, want), "%s: ids %s", addr, want);
		snprintf(want, sizeof(want), "Subsystem: ");
		if (block_has(blk, want)) {
			snprintf(want, sizeof(want), "[%s:%s]", str_of(gpu, "subsystem_vendor_id"),
				 str_of(gpu, "subsystem_device_id"));
			cr_assert(block_has(blk, want), "%s: subsystem %s", addr, want);
		}
		json_object_object_get_ex(gpu, "sriov", &sr);
		/* an unprivileged reader (nonroot-config) cannot see the capability: lspci has
		 * nothing to compare, gpupart still has the kernel's sysfs numbers */
		if (!sr || !block_has(blk, "Single Root I/O Virtualization"))
			continue;
		json_object_object_get_ex(sr, "num_vfs", &v);
		snprintf(want, sizeof(want), "Number of VFs: %d,", json_object_get_int(v));
		cr_assert(block_has(blk, want), "%s: %s", addr, want);
		json_object_object_get_ex(sr, "vf_device_id", &v);
		snprintf(want, sizeof(want), "Device ID: %s", json_object_get_string(v));
		cr_assert(block_has(blk, want), "%s: %s", addr, want);
		/* sysfs sriov_totalvfs is the kernel's limit: it may be below the capability's
		 * TotalVFs (sriov-zero models firmware that leaves the kernel none) */
		json_object_object_get_ex(sr, "total_vfs", &v);
		snprintf(want, sizeof(want), "Total VFs: %d,", json_object_get_int(v));
		if (strcmp(*name, "sriov-zero"))
			cr_assert(block_has(blk, want), "%s: %s", addr, want);
	}
	json_object_put(o);
	run_free(&l);
	run_free(&g);
	free(opt);
}

/* Turns off every ACS control bit of one port by editing its config space, as firmware that
 * leaves ACS disabled would. Returns the capability's offset. */
static int acs_off(const char *root, const char *addr)
{
	char *p;
	unsigned char cfg[4096];
	FILE *f;
	int pos = 0x100, hops = 0;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/devices/%s/config", root, addr), 0);
	f = fopen(p, "r+b");
	cr_assert_not_null(f, "%s", p);
	cr_assert_eq(fread(cfg, 1, sizeof(cfg), f), sizeof(cfg));
	while (pos && hops++ < 64) {
		unsigned hdr = cfg[pos] | cfg[pos + 1] << 8 | cfg[pos + 2] << 16 |
			       (unsigned)cfg[pos + 3] << 24;

		if ((hdr & 0xffff) == 0x000d)
			break;
		pos = (int)(hdr >> 20) & 0xffc;
	}
	cr_assert_gt(pos, 0, "%s has no ACS capability", addr);
	fseek(f, pos + 6, SEEK_SET);
	fputc(0, f);
	fputc(0, f);
	fclose(f);
	free(p);
	return pos;
}

/* The walk goes all the way to the root port, not just to the switch port above. */
Test(hosts, acs_checked_up_to_the_root_port)
{
	char *root = test_scenario("a16-vfio");
	struct run r;

	acs_off(root, "0000:00:01.0");
	/* a warning (the GPU's group holds only itself, acs_severity) beside the idle VFs'
	 * warning: no error, exit 0 */
	cr_assert_eq(run_gpupart(&r, root, "survey", "--json", "0000:05:00.0", NULL), 0, "%s",
		     r.err);
	cr_assert(strstr(r.out, "\"acs-missing-upstream\"") &&
			  strstr(r.out, "0000:00:01.0 lacks ACS SrcValid ReqRedir CmpltRedir"),
		  "%s", r.out);
	run_free(&r);
}
