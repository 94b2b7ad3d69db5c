/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `list` shows who has what (issue 12, item 4): each partition's "domain" ({name, uuid} or
 * null) and each GPU's "free_partitions", from the reservation records under the tree's
 * run/gpupart/reservations (written here by hand in gpupart/resv.h's format) and from real
 * libvirt (its test driver, test:///FILE: a node of domains read from a file, no daemon).
 * An unreadable record makes list fail (exit 1) rather than call a held partition free.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "jsonq.h"
#include "run.h"

#define OWNER "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
#define VM_A "11111111-2222-4333-8444-555555555555"
#define VM_B "22222222-3333-4444-8555-666666666666"
#define T4_MDEV "c0ffee00-0000-4000-8000-000000000001"

static void put(const char *root, const char *rel, const char *text)
{
	char *p;
	FILE *f;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(text, f);
	fclose(f);
	free(p);
}

/* A record for @device (its file's name too), as gp_resv_format writes it. */
static void reserve(const char *root, const char *device, const char *uuid, const char *name,
		    const char *gpu, int id)
{
	static const char *const dirs[] = { "run", "run/gpupart", "run/gpupart/reservations" };
	char *rel, *text;
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		cr_assert_geq(asprintf(&rel, "%s/%s", root, dirs[i]), 0);
		mkdir(rel, 0755);
		free(rel);
	}
	cr_assert_geq(asprintf(&rel, "run/gpupart/reservations/%s", device), 0);
	cr_assert_geq(asprintf(&text, "reservation device=%s uuid=%s domain=%s gpu=%s partition=%d\n",
			       device, uuid, name, gpu, id), 0);
	put(root, rel, text);
	free(text);
	free(rel);
}

static struct json_object *list_json(const char *root, const char *extra1, const char *extra2)
{
	struct json_object *j;
	struct run r;

	run_gpupart(&r, root, "list", "--json", extra1, extra2, NULL);
	cr_assert_eq(r.status, 0, "list: %s", r.err);
	j = json_tokener_parse(r.out);
	cr_assert_not_null(j, "%s", r.out);
	run_free(&r);
	return j;
}

/* Partition @id of @g's "domain": NULL for a JSON null (fails when the key is missing). */
static struct json_object *domain_of(struct json_object *g, int id)
{
	struct json_object *parts, *p, *d;

	cr_assert(json_object_object_get_ex(g, "partitions", &parts));
	p = json_object_array_get_idx(parts, (size_t)id);
	cr_assert_not_null(p, "no partition %d", id);
	cr_assert_eq(jq_num(p, "id"), id);
	cr_assert(json_object_object_get_ex(p, "domain", &d), "partition %d has no domain key", id);
	return d;
}

static void holds(struct json_object *g, int id, const char *name, const char *uuid)
{
	struct json_object *d = domain_of(g, id);

	cr_assert_not_null(d, "partition %d: domain null, want %s", id, name);
	cr_assert_str_eq(jq_str(d, "name"), name);
	cr_assert_str_eq(jq_str(d, "uuid"), uuid);
}

static void is_free(struct json_object *g, int id)
{
	cr_assert_null(domain_of(g, id), "partition %d should be free", id);
}

/* A record alone (no libvirt asked: --root without --connect) names the holder; its name is
 * decoded ("my%20vm" is "my vm"); the GPU's free count is one less, the other GPU's not. */
Test(holders, record_names_the_domain)
{
	char *root = test_scenario("a16-vfio");
	struct json_object *j, *g;
	struct run r;

	j = list_json(root, NULL, NULL);
	cr_assert_eq(jq_num(jq_gpu(j, "0000:03:00.0"), "free_partitions"), 4);
	json_object_put(j);

	reserve(root, "0000:03:00.5", OWNER, "my%20vm", "0000:03:00.0", 1);
	j = list_json(root, NULL, NULL);
	g = jq_gpu(j, "0000:03:00.0");
	cr_assert_eq(jq_num(g, "free_partitions"), 3);
	is_free(g, 0);
	holds(g, 1, "my vm", OWNER);
	is_free(g, 2);
	is_free(g, 3);
	g = jq_gpu(j, "0000:04:00.0");
	cr_assert_eq(jq_num(g, "free_partitions"), 4);
	is_free(g, 1);
	/* a GPU with no partition has none free */
	cr_assert_eq(jq_num(jq_gpu(j, "0000:05:00.0"), "free_partitions"), 0);
	json_object_put(j);

	/* text: the Domain column after the driver, "-" when none; the free count */
	cr_assert_eq(run_gpupart(&r, root, "list", "0000:03:00.0", NULL), 0, "%s", r.err);
	cr_assert(strstr(r.out, "FreePartitions        : 3\n"), "%s", r.out);
	cr_assert(strstr(r.out, "1  0000:03:00.5  nvidia  my vm  NVIDIA A16-2Q\n"), "%s", r.out);
	cr_assert(strstr(r.out, "0  0000:03:00.4  nvidia  -  NVIDIA A16-2Q\n"), "%s", r.out);
	run_free(&r);
}

/* An mdev partition's record is named by the mdev's UUID. */
Test(holders, mdev_record)
{
	char *root = test_scenario("t4-mdev-pf");
	struct json_object *j, *g;

	reserve(root, T4_MDEV, OWNER, "t4-guest", "0000:3b:00.0", 0);
	j = list_json(root, NULL, NULL);
	g = jq_gpu(j, "0000:3b:00.0");
	cr_assert_eq(jq_num(g, "free_partitions"), 0);
	holds(g, 0, "t4-guest", OWNER);
	json_object_put(j);
}

/* A record gpupart cannot read may hold a partition: list says which file and why, prints
 * nothing and exits 1 rather than call the partition free. */
Test(holders, unreadable_record_fails_list)
{
	static const char *const bad[][2] = {
		{ "0000:03:00.5", "reservation device=0000:03:00.5 uuid=not-a-uuid domain=x "
				  "gpu=0000:03:00.0 partition=1\n" },
		{ "0000:03:00.6", "reservation device=0000:03:00.5 uuid=" OWNER " domain=x "
				  "gpu=0000:03:00.0 partition=1\n" },
		{ "0000:03:00.7", "garbage\n" },
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *root = test_scenario("a16-vfio"), *rel;
		struct run r;

		reserve(root, "0000:03:00.4", OWNER, "ok", "0000:03:00.0", 0);
		cr_assert_geq(asprintf(&rel, "run/gpupart/reservations/%s", bad[i][0]), 0);
		put(root, rel, bad[i][1]);
		free(rel);
		run_gpupart(&r, root, "list", "--json", NULL);
		cr_assert_eq(r.status, 1, "%s: exit %d: %s", bad[i][0], r.status, r.err);
		cr_assert_str_eq(r.out, "", "%s", r.out);
		cr_assert(strstr(r.err, bad[i][0]) && strstr(r.err, "not a reservation record"),
			  "stderr must name the file: %s", r.err);
		run_free(&r);
		rm_tree(root);
	}
}

/* Domains of libvirt's test driver: vm-a names a VF (pci hostdev) no record holds, vm-b the VF
 * a stale record gives to another domain (libvirt's word wins: the domain's XML is what the
 * VM gets), and the a40's mdev by UUID. */
static char *node_file(const char *dir)
{
#define DOM "  <domain type='test'>\n" \
	"    <name>%s</name><uuid>%s</uuid><memory>1048576</memory>\n" \
	"    <os><type>hvm</type></os>\n" \
	"    <devices>%s</devices>\n" \
	"  </domain>\n"
	char *path, *a, *b, *c, *text;

	cr_assert_geq(asprintf(&a, DOM, "vm-a", VM_A,
			       "<hostdev mode='subsystem' type='pci' managed='no'><source>"
			       "<address domain='0x0000' bus='0x04' slot='0x00' function='0x6'/>"
			       "</source></hostdev>"), 0);
	cr_assert_geq(asprintf(&b, DOM, "vm-b", VM_B,
			       "<hostdev mode='subsystem' type='pci' managed='no'><source>"
			       "<address domain='0x0000' bus='0x03' slot='0x00' function='0x5'/>"
			       "</source></hostdev>"), 0);
	cr_assert_geq(asprintf(&c, DOM, "vm-c", OWNER,
			       "<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
			       "<address uuid='3b0e1c3e-7f2a-4b8e-9d55-1c2e6f7a8b90'/>"
			       "</source></hostdev>"), 0);
	cr_assert_geq(asprintf(&text, "<node>\n%s%s%s</node>\n", a, b, c), 0);
	cr_assert_geq(asprintf(&path, "%s/node.xml", dir), 0);
	put("", path, text);
	free(a);
	free(b);
	free(c);
	free(text);
	return path;
}

Test(holders, libvirt_names_the_domain)
{
	char *root = test_scenario("a16-vfio"), *root40 = test_scenario("a40-mdev-vf");
	char *dir = test_tmpdir("node"), *node = node_file(dir), *uri;
	struct json_object *j, *g;

	cr_assert_geq(asprintf(&uri, "--connect=test://%s", node), 0);
	reserve(root, "0000:03:00.5", OWNER, "stale", "0000:03:00.0", 1);
	j = list_json(root, uri, NULL);
	g = jq_gpu(j, "0000:04:00.0");
	holds(g, 2, "vm-a", VM_A);
	cr_assert_eq(jq_num(g, "free_partitions"), 3);
	is_free(g, 0);
	g = jq_gpu(j, "0000:03:00.0");
	holds(g, 1, "vm-b", VM_B);
	cr_assert_eq(jq_num(g, "free_partitions"), 3);
	json_object_put(j);

	/* --no-libvirt: only the record speaks */
	j = list_json(root, "--no-libvirt", NULL);
	holds(jq_gpu(j, "0000:03:00.0"), 1, "stale", OWNER);
	g = jq_gpu(j, "0000:04:00.0");
	is_free(g, 2);
	cr_assert_eq(jq_num(g, "free_partitions"), 4);
	json_object_put(j);

	/* an mdev hostdev names the partition by its UUID */
	j = list_json(root40, uri, NULL);
	g = jq_gpu(j, "0000:17:00.0");
	is_free(g, 0);
	holds(g, 1, "vm-c", OWNER);
	cr_assert_eq(jq_num(g, "free_partitions"), 1);
	json_object_put(j);
	free(uri);
	free(node);
}

/* An explicit --connect nobody answers is an error, as for the dismounted GPUs' domains. */
Test(holders, unreachable_connect_fails)
{
	char *root = test_scenario("a16-vfio");
	struct run r;

	run_gpupart(&r, root, "list", "--json", "--connect=qemu+unix:///system?socket=/nonexistent",
		    NULL);
	cr_assert_eq(r.status, 1, "exit %d: %s", r.status, r.err);
	cr_assert_str_eq(r.out, "");
	cr_assert(strstr(r.err, "cannot ask libvirt"), "%s", r.err);
	run_free(&r);
}
