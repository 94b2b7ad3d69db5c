/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart migrate-check DOMAIN --to URI` (issue 13, item 3): this host is a fixture tree
 * (a16-vfio: four A16-2Q on GPU 03:00.0, 10de:25b6, NVIDIA driver 550.163.02 as the fixture
 * writes it, or 570.124.03 where a test sets it), the domain lives in libvirt's real test
 * driver (test:///FILE), the destination is another test:/// file with node devices, a URI
 * nothing answers on, and inventories (a host's `list --json`, written by hand with the keys
 * list writes). The expected codes are read off gpupart/migrate.h's rules by hand.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonq.h"
#include "run.h"

#define A16_PF(bus, bus_dec)                                                                 \
	"<device><name>pci_0000_" bus "_00_0</name><driver><name>nvidia</name></driver>"     \
	"<capability type='pci'><class>0x030200</class><domain>0</domain><bus>" bus_dec     \
	"</bus><slot>0</slot><function>0</function><product id='0x25b6'>GA107GL [A2 / A16]" \
	"</product><vendor id='0x10de'>NVIDIA Corporation</vendor>"                          \
	"<capability type='virt_functions' maxCount='16'><address domain='0x0000' bus='0x"  \
	bus "' slot='0x00' function='0x4'/></capability></capability></device>"
#define L4_PF                                                                                \
	"<device><name>pci_0000_81_00_0</name><driver><name>nvidia</name></driver>"         \
	"<capability type='pci'><class>0x030200</class><domain>0</domain><bus>129</bus>"    \
	"<slot>0</slot><function>0</function><product id='0x27b8'>AD104GL [L4]</product>"   \
	"<vendor id='0x10de'>NVIDIA Corporation</vendor><capability type='virt_functions' " \
	"maxCount='32'><address domain='0x0000' bus='0x81' slot='0x00' function='0x4'/>"    \
	"</capability></capability></device>"

#define HOSTDEV_03_00_4                                                                      \
	"<hostdev mode='subsystem' type='pci' managed='no'><source><address domain='0x0000' " \
	"bus='0x03' slot='0x00' function='0x4'/></source>"                                    \
	"<alias name='ua-gpupart-0000-03-00-4'/></hostdev>"
#define DDA_METADATA                                                                         \
	"<metadata><gpupart:dda xmlns:gpupart='https://gpupart.org/xmlns/dda/1' version='1' " \
	"bus='1'><gpupart:function address='0000:65:00.0'/></gpupart:dda></metadata>"

static char *dir, *root;

static void setup(void)
{
	dir = test_tmpdir("migrate");
	root = test_scenario("a16-vfio");
}

TestSuite(migrate_check, .init = setup);

static char *file(const char *name, const char *text)
{
	return test_file(dir, name, text);
}

/* test:///DIR/NAME holding @body in its <node> */
static char *test_uri(const char *name, const char *body)
{
	return test_driver_uri(dir, name, body);
}

/* The source: one domain "vm1" with @extra (metadata) and @devices. */
static char *source(const char *extra, const char *devices)
{
	char *body, *uri;

	cr_assert_geq(asprintf(&body,
			       "<domain type='test'><name>vm1</name>"
			       "<uuid>11111111-2222-3333-4444-555555555555</uuid>%s"
			       "<memory>131072</memory><os><type>hvm</type></os>"
			       "<devices>%s</devices></domain>",
			       extra, devices), 0);
	uri = test_uri("src.xml", body);
	free(body);
	return uri;
}

/* A destination inventory: driver @drv (NULL: null), one A16 with partitions @parts. */
static char *inventory(const char *drv, const char *parts)
{
	char *text, *p, d[64];

	snprintf(d, sizeof(d), drv ? "\"%s\"" : "null", drv);
	cr_assert_geq(asprintf(&text,
			       "{\"schema_version\": 1, \"host\": {\"nvidia_driver_version\": %s},"
			       " \"gpus\": [{\"address\": \"0000:41:00.0\", \"vendor_id\": \"10de\","
			       " \"device_id\": \"25b6\", \"backend\": \"nvidia-vfio\","
			       " \"partitions\": [%s]}]}",
			       d, parts), 0);
	p = file("dst.json", text);
	free(text);
	return p;
}

#define FREE(type) "{\"id\": 0, \"vgpu_type\": \"" type "\", \"domain\": null}"
#define HELD(type) "{\"id\": 1, \"vgpu_type\": \"" type "\", \"domain\": {\"name\": \"x\"}}"

static void set_driver(const char *version)
{
	char p[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s/sys/module/nvidia/version", root);
	cr_assert_not_null((f = fopen(p, "w")), "%s", p);
	fprintf(f, "%s\n", version);
	fclose(f);
}

/* migrate-check --json from @src to @to (with the inventory @inv, or none): its codes. */
static void check(int status, const char *want, const char *src, const char *to,
		  const char *inv)
{
	struct json_object *j, *f;
	char got[512] = "";
	struct run r;
	size_t i;

	/* without @inv the list ends at --to's URI */
	run_gpupart(&r, root, "migrate-check", "vm1", "--json", "--connect", src, "--to", to,
		    inv ? "--inventory" : NULL, inv, NULL);
	cr_assert_eq(r.status, status, "exit %d\n%s%s", r.status, r.out, r.err);
	j = json_tokener_parse(r.out);
	cr_assert_not_null(j, "%s", r.out);
	cr_assert(json_object_object_get_ex(j, "findings", &f));
	for (i = 0; i < json_object_array_length(f); i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			 jq_str(json_object_array_get_idx(f, i), "code"));
	cr_assert_str_eq(got, want, "%s", r.out);
	json_object_put(j);
	run_free(&r);
}

Test(migrate_check, ready_with_a_free_partition_of_its_type_and_r570_on_both)
{
	char *src = source("", HOSTDEV_03_00_4), *to = test_uri("dst.xml", A16_PF("41", "65"));
	char *inv = inventory("570.124.03", FREE("NVIDIA A16-4Q") ", " FREE("NVIDIA A16-2Q"));

	set_driver("570.124.03");
	check(0, "", src, to, inv);
	free(src);
	free(to);
	free(inv);
}

Test(migrate_check, the_fixtures_r550_blocks_and_without_inventory_says_what_is_unknown)
{
	char *src = source("", HOSTDEV_03_00_4), *to = test_uri("dst.xml", A16_PF("41", "65"));

	check(3, "migrate-free-unknown migrate-driver-unsupported migrate-driver-unknown", src, to,
	      NULL);
	free(src);
	free(to);
}

Test(migrate_check, no_free_partition_of_its_type_there)
{
	char *src = source("", HOSTDEV_03_00_4), *to = test_uri("dst.xml", A16_PF("41", "65"));
	char *inv = inventory("570.124.03", FREE("NVIDIA A16-4Q") ", " HELD("NVIDIA A16-2Q"));

	set_driver("570.124.03");
	check(3, "migrate-no-free-partition", src, to, inv);
	free(src);
	free(to);
	free(inv);
}

Test(migrate_check, another_model_there)
{
	char *src = source("", HOSTDEV_03_00_4), *to = test_uri("dst.xml", L4_PF);

	set_driver("570.124.03");
	check(3, "migrate-no-matching-gpu migrate-free-unknown migrate-driver-unknown", src, to,
	      NULL);
	free(src);
	free(to);
}

Test(migrate_check, dda_and_an_unreachable_destination)
{
	char *dda = source(DDA_METADATA, ""), *to = test_uri("dst.xml", A16_PF("41", "65"));
	char *src;

	check(3, "migrate-dda", dda, to, NULL);
	src = source("", HOSTDEV_03_00_4);
	check(3, "migrate-destination-unreachable", src, "unix:///nothing-answers-here", NULL);
	free(dda);
	free(src);
	free(to);
}

Test(migrate_check, a_domain_without_partitions_and_usage)
{
	char *src = source("", ""), *to = test_uri("dst.xml", A16_PF("41", "65"));
	struct run r;

	check(0, "migrate-no-partitions", src, to, NULL);
	run_gpupart(&r, root, "migrate-check", "vm1", "--connect", src, NULL);
	cr_assert_eq(r.status, 2, "no --to: %d %s", r.status, r.err);
	run_free(&r);
	run_gpupart(&r, root, "migrate-check", "nosuch", "--connect", src, "--to", to, NULL);
	cr_assert_eq(r.status, 1, "no such domain: %d %s", r.status, r.err);
	cr_assert(strstr(r.err, "no domain 'nosuch'"), "%s", r.err);
	run_free(&r);
	free(src);
	free(to);
}
