/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart cluster check` (issue 13, item 2): this host is a fixture tree (l40s-8a: one L40S,
 * 10de:26b9, one partition in force, and the BMC's ASPEED VGA, which is no partitionable GPU),
 * the other hosts are libvirt's real test driver (test:///FILE, node devices written by hand
 * in docs/formatnode.rst's form), a URI nothing answers on, and inventories (a host's `list
 * --json`, written by hand here with the keys list writes). The expected findings are read
 * off the rules of gpupart/cluster.h by hand.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonq.h"
#include "run.h"

/* libvirt writes (and its test driver reads) the bus in decimal, the addresses in hex */
#define PF(bus, bus_dec, dev, product)                                                       \
	"<device><name>pci_0000_" bus "_00_0</name><driver><name>nvidia</name></driver>"     \
	"<capability type='pci'><class>0x030200</class><domain>0</domain><bus>" bus_dec     \
	"</bus><slot>0</slot><function>0</function><product id='0x" dev "'>" product         \
	"</product><vendor id='0x10de'>NVIDIA Corporation</vendor>"                          \
	"<capability type='virt_functions' maxCount='32'><address domain='0x0000' bus='0x" bus \
	"' slot='0x00' function='0x4'/></capability></capability></device>"

/* A BMC VGA on the remote host: no SR-IOV, no mdev types, so not in the set. */
#define ASPEED                                                                               \
	"<device><name>pci_0000_c1_00_0</name><capability type='pci'><class>0x030000</class>" \
	"<domain>0</domain><bus>193</bus><slot>0</slot><function>0</function>"              \
	"<product id='0x2000'>ASPEED Graphics Family</product>"                              \
	"<vendor id='0x1a03'>ASPEED Technology, Inc.</vendor></capability></device>"

#define INV_GPU(dev, parts)                                                                  \
	"{\"address\": \"0000:01:00.0\", \"vendor_id\": \"10de\", \"device_id\": \"" dev       \
	"\", \"name\": \"NVIDIA L40S\", \"vram_bytes\": null, \"partition_count\": " parts     \
	", \"backend\": \"nvidia-vfio\"}"

static char *dir;
static char *root;

static void setup(void)
{
	dir = test_tmpdir("cluster");
	root = test_scenario("l40s-8a");
}

static char *file(const char *name, const char *text)
{
	return test_file(dir, name, text);
}

/* test:///DIR/NAME holding @devices */
static char *node_uri(const char *name, const char *devices)
{
	return test_driver_uri(dir, name, devices);
}

static char *inventory(const char *name, const char *gpus)
{
	char *text, *p;

	cr_assert_geq(asprintf(&text, "{\"schema_version\": 1, \"host\": {}, \"gpus\": [%s]}",
			       gpus), 0);
	p = file(name, text);
	free(text);
	return p;
}

static struct json_object *check_json(struct run *r, int status, const char *a, const char *b,
				      const char *c, const char *d)
{
	struct json_object *j;

	run_gpupart(r, root, "cluster", "check", "--json", a, b, c, d, NULL);
	cr_assert_eq(r->status, status, "exit %d\n%s%s", r->status, r->out, r->err);
	j = json_tokener_parse(r->out);
	cr_assert_not_null(j, "%s", r->out);
	return j;
}

/* The codes of the findings, space-separated, in order. */
static void codes(struct json_object *j, char *buf, size_t len)
{
	struct json_object *f;
	size_t i;

	*buf = 0;
	cr_assert(json_object_object_get_ex(j, "findings", &f));
	for (i = 0; i < json_object_array_length(f); i++) {
		struct json_object *o = json_object_array_get_idx(f, i);

		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", i ? " " : "",
			 jq_str(o, "code"));
	}
}

static struct json_object *host(struct json_object *j, size_t i)
{
	struct json_object *h;

	cr_assert(json_object_object_get_ex(j, "hosts", &h));
	cr_assert_gt(json_object_array_length(h), i);
	return json_object_array_get_idx(h, i);
}

static size_t n_gpus(struct json_object *h)
{
	struct json_object *g;

	cr_assert(json_object_object_get_ex(h, "gpus", &g));
	return json_object_array_length(g);
}

TestSuite(cluster, .init = setup);

/* Alike everywhere: no error, exit 0; libvirt's host has no count, an info says so. */
Test(cluster, homogeneous)
{
	char *uri = node_uri("b.xml", PF("41", "65", "26b9", "AD102GL [L40S]") ASPEED),
	     *inv = inventory("c.json", INV_GPU("26b9", "1"));
	struct json_object *j, *h;
	char c[512];
	struct run r;

	j = check_json(&r, 0, uri, "--inventory", inv, NULL);
	codes(j, c, sizeof(c));
	cr_expect_str_eq(c, "cluster-count-unknown", "%s", r.out);
	h = host(j, 0);
	cr_expect_str_eq(jq_str(h, "name"), "this host");
	cr_expect_eq(n_gpus(h), 1, "the ASPEED VGA is no member: %s", r.out);
	cr_expect_eq(jq_num(json_object_array_get_idx(json_object_object_get(h, "gpus"), 0),
			    "partition_count"), 1);
	cr_expect_str_eq(jq_str(host(j, 1), "name"), uri);
	cr_expect_eq(n_gpus(host(j, 1)), 1, "the remote ASPEED is no member either");
	cr_expect_str_eq(jq_str(host(j, 2), "name"), inv);
	json_object_put(j);
	run_free(&r);
	free(uri);
	free(inv);
}

/* Another model on the remote host: an error naming that host and GPU, exit 3. */
Test(cluster, mismatched_model)
{
	char *uri = node_uri("b.xml", PF("41", "65", "25b6", "GA107GL [A2 / A16]"));
	struct json_object *j, *f;
	char c[512];
	struct run r;

	j = check_json(&r, 3, uri, NULL, NULL, NULL);
	codes(j, c, sizeof(c));
	cr_expect(strstr(c, "cluster-mixed-models"), "%s", c);
	f = json_object_array_get_idx(json_object_object_get(j, "findings"), 0);
	cr_expect(strstr(jq_str(f, "detail"), uri) && strstr(jq_str(f, "detail"), "0000:41:00.0"),
		  "%s", jq_str(f, "detail"));
	cr_expect_str_eq(jq_str(f, "severity"), "error");
	json_object_put(j);
	run_free(&r);
	free(uri);
}

/* Another count in an inventory: a warning with the set-count to run there, exit 0. */
Test(cluster, mismatched_counts)
{
	char *a = inventory("a.json", INV_GPU("26b9", "1")),
	     *b = inventory("b.json", INV_GPU("26b9", "4"));
	struct json_object *j, *f;
	char c[512];
	struct run r;

	j = check_json(&r, 0, "--inventory", a, "--inventory", b);
	codes(j, c, sizeof(c));
	cr_expect_str_eq(c, "cluster-partition-counts-differ", "%s", r.out);
	f = json_object_array_get_idx(json_object_object_get(j, "findings"), 0);
	cr_expect(strstr(jq_str(f, "detail"), b), "the odd one (4 against two 1s): %s",
		  jq_str(f, "detail"));
	cr_expect(strstr(jq_str(f, "detail"), "gpupart set-count 0000:01:00.0 1"), "%s",
		  jq_str(f, "detail"));
	cr_expect_str_eq(jq_str(f, "severity"), "warning");
	json_object_put(j);
	run_free(&r);
	free(a);
	free(b);
}

/* A host nothing answers for: an error naming it, exit 3, the others still reported. */
Test(cluster, unreachable_host)
{
	char *dead, *uri = node_uri("b.xml", PF("41", "65", "25b6", "GA107GL [A2 / A16]"));
	struct json_object *j, *h;
	char c[512];
	struct run r;

	cr_assert_geq(asprintf(&dead, "qemu+unix:///system?socket=%s/no-such.sock", dir), 0);
	j = check_json(&r, 3, dead, uri, NULL, NULL);
	codes(j, c, sizeof(c));
	cr_expect(!strncmp(c, "cluster-host-unreachable ", 25), "%s", c);
	cr_expect(strstr(c, "cluster-mixed-models"), "the other host still checked: %s", c);
	h = host(j, 1);
	cr_expect_str_eq(jq_str(h, "name"), dead);
	cr_expect_not_null(jq_str(h, "error"));
	cr_expect_eq(n_gpus(h), 0);
	cr_expect_eq(n_gpus(host(j, 2)), 1);
	json_object_put(j);
	run_free(&r);
	free(dead);
	free(uri);
}

/* An inventory that is not list's JSON is a host that cannot be read, named by its file. */
Test(cluster, bad_inventories)
{
	static const char *const bad[] = {
		"not json",
		"{\"schema_version\": 2, \"gpus\": []}",
		"{\"schema_version\": 1, \"gpus\": [{\"address\": \"0000:01:00.0\"}]}",
		"{\"schema_version\": 1, \"gpus\": [{\"address\": \"0000:01:00.0\", \"vendor_id\": "
		"\"10de\", \"device_id\": \"26b9\", \"vram_bytes\": -5, \"partition_count\": 1, "
		"\"backend\": \"nvidia-vfio\"}]}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *inv = file("bad.json", bad[i]), c[512];
		struct json_object *j;
		struct run r;

		j = check_json(&r, 3, "--inventory", inv, NULL, NULL);
		codes(j, c, sizeof(c));
		cr_expect_str_eq(c, "cluster-host-unreachable", "%zu: %s", i, r.out);
		cr_expect_not_null(jq_str(host(j, 1), "error"), "%zu", i);
		json_object_put(j);
		run_free(&r);
		free(inv);
	}
}

Test(cluster, usage)
{
	struct run r;

	run_gpupart(&r, root, "cluster", "verify", NULL);
	cr_expect_eq(r.status, 2, "%s", r.err);
	cr_expect(strstr(r.err, "check"), "%s", r.err);
	run_free(&r);
	run_gpupart(&r, root, "cluster", NULL);
	cr_expect_eq(r.status, 2, "%s", r.err);
	run_free(&r);
}
