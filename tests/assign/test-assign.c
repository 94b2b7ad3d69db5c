/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * assign, adapters and unassign on real libvirt, one backend each: the CLI over the fake
 * kernel on fixture trees, a libvirt daemon of the suite's own (alib.h). What must hold,
 * read back from libvirt (virDomainGetXMLDesc) and from the tree, never from what gpupart
 * printed:
 *   - the hostdev is the backend's form (nvidia-vfio and sriov: a PCI hostdev of the VF,
 *     managed='no'; nvidia-mdev: an mdev hostdev of the UUID, model vfio-pci), with the
 *     alias ua-gpupart-DEV, and nothing else of the definition changes;
 *   - the reservation record is exactly the line of include/gpupart/resv.h;
 *   - the host is not touched (no kernel write: the VF stays on its driver with its type);
 *   - adapters --json shows it, and a hostdev an admin added by hand as not gpupart's;
 *   - unassign gives back the definition and the tree as they were before assign.
 * The partitions' addresses, IDs and sizes are the fixtures' (tests/fixture/fx-scenarios.c),
 * worked out by hand in alib.h.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/virterror.h>

#include "alib.h"

TestSuite(assign, .init = a_init, .fini = a_fini, .timeout = 120);

/* ---- adapters --json ---- */

static json_object *adapters_of(const char *root, const char *domain)
{
	struct run r;
	json_object *o, *a, *v;

	if (domain)
		cr_assert_eq(a_gp(&r, NULL, root, "--json", "adapters", domain, NULL), 0,
			     "adapters: exit %d\n%s", r.status, r.err);
	else
		cr_assert_eq(a_gp(&r, NULL, root, "--json", "adapters", NULL), 0,
			     "adapters: exit %d\n%s", r.status, r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "not JSON:\n%s", r.out);
	cr_assert(json_object_object_get_ex(o, "schema_version", &v) && json_object_get_int(v) == 1,
		  "%s", r.out);
	cr_assert(json_object_object_get_ex(o, "adapters", &a) &&
			  json_object_is_type(a, json_type_array),
		  "%s", r.out);
	run_free(&r);
	return o;
}

static json_object *adapters_array(json_object *o)
{
	json_object *a;

	cr_assert(json_object_object_get_ex(o, "adapters", &a));
	return a;
}

/* @key's value as a string ("null" for JSON null) */
static const char *sval(json_object *e, const char *key)
{
	json_object *v;

	cr_assert(json_object_object_get_ex(e, key, &v), "no key %s in %s", key,
		  json_object_to_json_string(e));
	return v ? json_object_get_string(v) : "null";
}

/* The adapter of @domain whose VF address or mdev UUID is @device. */
static json_object *adapter(json_object *o, const char *domain, const char *device)
{
	json_object *a = adapters_array(o);

	for (size_t i = 0; i < json_object_array_length(a); i++) {
		json_object *e = json_object_array_get_idx(a, i);

		if (strcmp(sval(e, "domain"), domain))
			continue;
		if (!strcmp(sval(e, "vf_address"), device) || !strcmp(sval(e, "mdev_uuid"), device))
			return e;
	}
	cr_assert_fail("no adapter of %s for %s in %s", domain, device,
		       json_object_to_json_string(o));
	return NULL;
}

struct want {
	const char *domain, *gpu, *backend, *vf, *mdev, *type;
	int id;
	long long vram; /* -1: null */
	bool reserved, ours;
};

static void expect_adapter(json_object *o, const struct want *w)
{
	json_object *e = adapter(o, w->domain, w->mdev ? w->mdev : w->vf), *v;

	cr_expect_str_eq(sval(e, "domain_uuid"), a_uuid(w->domain));
	cr_expect_str_eq(sval(e, "gpu"), w->gpu);
	cr_expect_str_eq(sval(e, "backend"), w->backend);
	cr_expect_str_eq(sval(e, "vf_address"), w->vf ? w->vf : "null");
	cr_expect_str_eq(sval(e, "mdev_uuid"), w->mdev ? w->mdev : "null");
	cr_expect_str_eq(sval(e, "vgpu_type"), w->type ? w->type : "null");
	/* the GPU's stable identity: a path, never empty */
	cr_expect(json_object_object_get_ex(e, "instance_path", &v) &&
			  json_object_is_type(v, json_type_string) && json_object_get_string_len(v) > 0,
		  "%s", json_object_to_json_string(e));
	cr_expect(json_object_object_get_ex(e, "partition_id", &v) &&
			  json_object_is_type(v, json_type_int) && json_object_get_int(v) == w->id,
		  "partition_id %d expected: %s", w->id, json_object_to_json_string(e));
	cr_assert(json_object_object_get_ex(e, "partition_vram_bytes", &v));
	if (w->vram < 0)
		cr_expect_null(v, "%s", json_object_to_json_string(e));
	else
		cr_expect(v && json_object_get_int64(v) == w->vram, "%lld expected: %s", w->vram,
			  json_object_to_json_string(e));
	cr_expect(json_object_object_get_ex(e, "reserved", &v) &&
			  json_object_is_type(v, json_type_boolean) &&
			  json_object_get_boolean(v) == w->reserved,
		  "reserved %d expected: %s", w->reserved, json_object_to_json_string(e));
	cr_expect(json_object_object_get_ex(e, "assigned_by_gpupart", &v) &&
			  json_object_is_type(v, json_type_boolean) &&
			  json_object_get_boolean(v) == w->ours,
		  "assigned_by_gpupart %d expected: %s", w->ours, json_object_to_json_string(e));
}

/* ---- list: who has what ---- */

/* list --json GPU: partition w->id's domain is @holder (NULL: null), and the GPU's free count
 * is its partitions less the held ones */
static void expect_list(const char *root, const struct want *w, const char *holder)
{
	json_object *o, *gpus, *g = NULL, *parts, *v;
	int n_held = 0, n;
	struct run r;

	cr_assert_eq(a_gp(&r, NULL, root, "--json", "list", w->gpu, NULL), 0, "list: %s", r.err);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "%s", r.out);
	run_free(&r);
	cr_assert(json_object_object_get_ex(o, "gpus", &gpus));
	for (size_t i = 0; i < json_object_array_length(gpus); i++)
		if (!strcmp(sval(json_object_array_get_idx(gpus, i), "address"), w->gpu))
			g = json_object_array_get_idx(gpus, i);
	cr_assert_not_null(g, "%s not listed", w->gpu);
	cr_assert(json_object_object_get_ex(g, "partitions", &parts));
	n = (int)json_object_array_length(parts);
	for (int i = 0; i < n; i++) {
		json_object *p = json_object_array_get_idx(parts, i), *d;
		int id;

		cr_assert(json_object_object_get_ex(p, "id", &v));
		id = json_object_get_int(v);
		cr_assert(json_object_object_get_ex(p, "domain", &d), "%s",
			  json_object_to_json_string(p));
		n_held += d != NULL;
		if (id != w->id)
			continue;
		if (!holder) {
			cr_expect_null(d, "%s", json_object_to_json_string(p));
			continue;
		}
		cr_assert_not_null(d, "partition %d has no domain", id);
		cr_expect_str_eq(sval(d, "name"), holder);
		cr_expect_str_eq(sval(d, "uuid"), a_uuid(holder));
	}
	cr_expect_eq(n_held, holder ? 1 : 0, "%s", json_object_to_json_string(g));
	cr_expect(json_object_object_get_ex(g, "free_partitions", &v) &&
			  json_object_get_int(v) == n - n_held,
		  "free_partitions: %s", json_object_to_json_string(g));
	json_object_put(o);
}

/* adapters DOMAIN in text (Get-VMGpuPartitionAdapter | Format-List): the same facts */
static void expect_adapters_text(const char *root, const struct want *w)
{
	char line[160];
	struct run r;

	cr_assert_eq(a_gp(&r, NULL, root, "adapters", w->domain, NULL), 0, "%s", r.err);
#define LINE(...)                                                                           \
	do {                                                                                \
		snprintf(line, sizeof(line), __VA_ARGS__);                                  \
		cr_expect(strstr(r.out, line), "no \"%s\" in:\n%s", line, r.out);           \
	} while (0)
	LINE("VMId             : %s\n", a_uuid(w->domain));
	LINE("GPU              : %s\n", w->gpu);
	LINE("PartitionId      : %d\n", w->id);
	LINE("%s: %s\n", w->mdev ? "MdevUuid         " : "VFAddress        ", w->mdev ? w->mdev : w->vf);
	LINE("Backend          : %s\n", w->backend);
	LINE("VGPUType         : %s\n", w->type ? w->type : "-");
	if (w->vram < 0)
		LINE("PartitionVRAM    : -\n");
	else
		LINE("PartitionVRAM    : %lld MiB\n", w->vram >> 20);
	LINE("Reserved         : True\n");
	LINE("AssignedByGpupart: True\n");
#undef LINE
	run_free(&r);
}

/* ---- a round trip per backend ---- */

/*
 * assign DOMAIN ARGS... on a fresh domain: the backend's hostdev for @device and nothing else
 * new in the definition, the record, no kernel write, adapters shows it; then unassign puts
 * the definition and the tree back exactly.
 */
static void round_trip(const char *root, const struct want *w, const char *const *assign_args)
{
	char *orig = a_state(root), *before = a_define(w->domain, NULL), *after, *resv;
	const char *dev = w->mdev ? w->mdev : w->vf;
	const char *unassign[] = { "unassign", w->domain, NULL };
	struct a_hostdev h[4];
	json_object *o;

	fklog_reset(root);
	a_ok(root, assign_args);
	after = a_xml(w->domain);
	cr_assert_eq(a_hostdevs(after, h, 4), 1, "one hostdev expected:\n%s", after);
	a_expect_hostdev(after, w->backend, dev);
	cr_expect(!strstr(before, "<hostdev"), "%s", before);
	resv = a_resv(root, dev);
	cr_assert_not_null(resv, "no reservation record for %s", dev);
	cr_expect_str_eq(resv, a_resv_want(dev, w->domain, w->gpu, w->id));
	cr_expect_eq(a_resv_count(root), 1);
	cr_expect_eq(fklog_ops(root), 0, "assign wrote to the host:\n%s", a_own(fklog(root)));
	cr_expect_not(journal_present(root), "the journal stayed");
	expect_list(root, w, w->domain);
	o = adapters_of(root, w->domain);
	cr_expect_eq(json_object_array_length(adapters_array(o)), 1, "%s",
		     json_object_to_json_string(o));
	expect_adapter(o, w);
	json_object_put(o);
	expect_adapters_text(root, w);

	a_ok(root, unassign);
	cr_expect_str_eq(a_xml(w->domain), before, "unassign did not give the definition back");
	cr_expect_eq(a_resv_count(root), 0, "the record stayed");
	cr_expect_eq(fklog_ops(root), 0, "unassign wrote to the host:\n%s", a_own(fklog(root)));
	cr_expect_str_eq(a_state(root), orig, "the tree changed");
	expect_list(root, w, NULL);
	o = adapters_of(root, w->domain);
	cr_expect_eq(json_object_array_length(adapters_array(o)), 0, "%s",
		     json_object_to_json_string(o));
	json_object_put(o);
}

/* partition 2 of the first A16 GPU: its third 2Q VF, which stays on nvidia with its type */
Test(assign, nvidia_vfio_round_trip)
{
	char *root = a_tree("a16-vfio");
	static const struct want w = { "va", A16_0, "nvidia-vfio", "0000:03:00.6", NULL,
				       "NVIDIA A16-2Q", 2, 2 * GIB, true, true };
	const char *args[] = { "assign", "va", "--gpu", A16_0, "--partition", "2", NULL };

	round_trip(root, &w, args);
	cr_expect_str_eq(a_own(lnk(root, "sys/bus/pci/devices/0000:03:00.6/driver")), "nvidia");
	cr_expect_str_eq(a_own(rd(root, "sys/bus/pci/devices/0000:03:00.6/nvidia/current_vgpu_type")),
			 "683");
}

/* the A40's second mdev (on VF 1, 17:00.5): an mdev hostdev, the record named by the UUID;
 * vf_address is null for an mdev (what the hostdev names is the UUID) */
Test(assign, nvidia_mdev_on_vf_round_trip)
{
	char *root = a_tree("a40-mdev-vf");
	static const struct want w = { "vm", A40_GPU, "nvidia-mdev", NULL, A40_M1,
				       "NVIDIA A40-8Q", 1, 8 * GIB, true, true };
	const char *args[] = { "assign", "vm", "--partition", "1", NULL };

	round_trip(root, &w, args);
}

/* the T4's one mdev on the PF: no VF (null), picked without any narrowing */
Test(assign, nvidia_mdev_on_pf_round_trip)
{
	char *root = a_tree("t4-mdev-pf");
	static const struct want w = { "vt", T4_GPU, "nvidia-mdev", NULL, T4_M0, "GRID T4-4Q", 0,
				       4 * GIB, true, true };
	const char *args[] = { "assign", "vt", NULL };

	round_trip(root, &w, args);
}

/* the Flex 170's first VF on vfio-pci: no vGPU type, no size */
Test(assign, sriov_round_trip)
{
	char *root = a_tree("intel-sriov");
	static const struct want w = { "vs", FLEX_GPU, "sriov", "0000:4e:00.1", NULL, NULL, 0, -1,
				       true, true };
	const char *args[] = { "assign", "vs", "--gpu", FLEX_GPU, NULL };

	round_trip(root, &w, args);
	cr_expect_str_eq(a_own(lnk(root, "sys/bus/pci/devices/0000:4e:00.1/driver")), "vfio-pci");
}

/* ---- the picker on the host ---- */

/* The device of @domain's one gpupart hostdev. */
static const char *given(const char *domain)
{
	struct a_hostdev h[4];
	char *x = a_xml(domain);

	cr_assert_eq(a_hostdevs(x, h, 4), 1, "%s: one hostdev expected:\n%s", domain, x);
	return a_own(strdup(h[0].source));
}

/*
 * a16-vfio: GPU 03 (four 2Q) and GPU 04 (four 4Q), none taken. Least-loaded first, then the
 * lowest address: 03's partition 0, then 04's (03 has one taken), then 03's partition 1.
 * --vram narrows to the size: 4 GiB only on 04.
 */
Test(assign, least_loaded_then_lowest_address_then_size)
{
	char *root = a_tree("a16-vfio");
	const char *const names[] = { "p1", "p2", "p3" };
	const char *const want[] = { "0000:03:00.4", "0000:04:00.4", "0000:03:00.5" };
	const char *args[] = { "assign", NULL, NULL };
	const char *big[] = { "assign", "p4", "--vram", "4G", NULL };

	for (int i = 0; i < 3; i++) {
		a_define(names[i], NULL);
		args[1] = names[i];
		a_ok(root, args);
		cr_expect_str_eq(given(names[i]), want[i], "%s", names[i]);
		cr_expect_not_null(a_resv(root, want[i]), "no record for %s", want[i]);
	}
	a_define("p4", NULL);
	a_ok(root, big);
	cr_expect_str_eq(given("p4"), "0000:04:00.5");
	cr_expect_str_eq(a_resv(root, "0000:04:00.5"), a_resv_want("0000:04:00.5", "p4", A16_1, 1));
	cr_expect_eq(a_resv_count(root), 4);
}

/* several domains in one call: each its own partition, all of one size (Admin Center's one
 * VRAM choice for the selection) */
Test(assign, several_domains_one_call_one_size)
{
	char *root = a_tree("a16-vfio");
	const char *args[] = { "assign", "m1", "m2", "m3", "--vram", "2G", NULL };
	const char *any[] = { "assign", "n1", "n2", NULL };
	const char *a, *b;

	a_define("m1", NULL);
	a_define("m2", NULL);
	a_define("m3", NULL);
	a_ok(root, args);
	cr_expect_str_eq(given("m1"), "0000:03:00.4");
	cr_expect_str_eq(given("m2"), "0000:03:00.5");
	cr_expect_str_eq(given("m3"), "0000:03:00.6");
	cr_expect_eq(a_resv_count(root), 3);
	/* without --vram: any size, but one for both: 03 has one 2Q left, 04 four 4Q */
	a_define("n1", NULL);
	a_define("n2", NULL);
	a_ok(root, any);
	a = given("n1");
	b = given("n2");
	cr_expect_str_neq(a, b);
	cr_expect(strncmp(a, "0000:04:00.", 11) == 0 && strncmp(b, "0000:04:00.", 11) == 0,
		  "not one size: %s and %s", a, b);
}

/* ---- adapters and hostdevs gpupart did not assign ---- */

static void attach_by_hand(const char *domain, const char *vf)
{
	virDomainPtr d = virDomainLookupByName(conn, domain);
	unsigned b, s, f;
	char *x;

	cr_assert_not_null(d);
	cr_assert_eq(sscanf(vf, "0000:%x:%x.%x", &b, &s, &f), 3);
	cr_assert_geq(asprintf(&x, "<hostdev mode='subsystem' type='pci' managed='no'><source>"
				   "<address domain='0x0000' bus='0x%02x' slot='0x%02x' "
				   "function='0x%x'/></source></hostdev>",
			       b, s, f),
		      0);
	cr_assert_eq(virDomainAttachDeviceFlags(d, x, VIR_DOMAIN_AFFECT_CONFIG), 0, "%s",
		     virGetLastErrorMessage());
	free(x);
	virDomainFree(d);
}

/*
 * A hostdev an admin added (virsh attach-device --config) pointing at partition 1 of GPU 04:
 * adapters shows it, not gpupart's, not reserved; assign never picks it; unassigning
 * gpupart's partition of the same domain leaves it.
 */
Test(assign, hand_added_hostdev_shown_kept_and_never_picked)
{
	char *root = a_tree("a16-vfio"), *hand;
	static const struct want w_hand = { "vh", A16_1, "nvidia-vfio", "0000:04:00.5", NULL,
					    "NVIDIA A16-4Q", 1, 4 * GIB, false, false };
	static const struct want w_ours = { "vh", A16_1, "nvidia-vfio", "0000:04:00.4", NULL,
					    "NVIDIA A16-4Q", 0, 4 * GIB, true, true };
	static const struct want w_other = { "vo", A16_1, "nvidia-vfio", "0000:04:00.6", NULL,
					     "NVIDIA A16-4Q", 2, 4 * GIB, true, true };
	const char *mine[] = { "assign", "vh", "--gpu", A16_1, "--allow-multiple", NULL };
	const char *other[] = { "assign", "vo", "--gpu", A16_1, NULL };
	const char *unassign[] = { "unassign", "vh", "--gpu", A16_1, "--partition", "0", NULL };
	json_object *o;

	a_define("vh", NULL);
	a_define("vo", NULL);
	attach_by_hand("vh", "0000:04:00.5");
	hand = a_xml("vh");
	o = adapters_of(root, "vh");
	cr_expect_eq(json_object_array_length(adapters_array(o)), 1, "%s",
		     json_object_to_json_string(o));
	expect_adapter(o, &w_hand);
	json_object_put(o);
	/* --allow-multiple: the hand one is a partition already */
	a_ok(root, mine);
	a_ok(root, other);
	o = adapters_of(root, NULL);
	cr_expect_eq(json_object_array_length(adapters_array(o)), 3, "%s",
		     json_object_to_json_string(o));
	expect_adapter(o, &w_hand);
	expect_adapter(o, &w_ours);
	expect_adapter(o, &w_other);
	json_object_put(o);
	/* gpupart's partition goes, the admin's stays */
	a_ok(root, unassign);
	cr_expect_str_eq(a_without_root_ports(a_xml("vh")), a_without_root_ports(hand),
			 "unassign touched what it did not assign");
	cr_expect_null(a_resv(root, "0000:04:00.4"));
	cr_expect_not_null(a_resv(root, "0000:04:00.6"));
	cr_expect_eq(a_resv_count(root), 1);
}

/* a name with a blank and a '%': the record percent-encodes it (resv.h), adapters gives it back
 * as it is */
Test(assign, domain_name_percent_encoded_in_the_record)
{
	char *root = a_tree("t4-mdev-pf"), *want;
	json_object *o;

	a_define("my vm%1", NULL);
	a_ok(root, (const char *const[]){ "assign", "my vm%1", NULL });
	cr_assert_geq(asprintf(&want, "reservation device=" T4_M0 " uuid=%s domain=my%%20vm%%251 "
				      "gpu=" T4_GPU " partition=0\n",
			       a_uuid("my vm%1")),
		      0);
	cr_expect_str_eq(a_resv(root, T4_M0), a_own(want));
	o = adapters_of(root, "my vm%1");
	cr_expect_eq(json_object_array_length(adapters_array(o)), 1);
	adapter(o, "my vm%1", T4_M0);
	json_object_put(o);
	a_ok(root, (const char *const[]){ "unassign", "my vm%1", NULL });
	cr_expect_eq(a_resv_count(root), 0);
}

/* the hostdev removed by hand (virsh detach-device --config): the record alone still holds
 * the partition, and unassign releases it, the definition left as the admin made it */
Test(assign, unassign_releases_a_record_whose_hostdev_went)
{
	char *root = a_tree("t4-mdev-pf"), *before = a_define("rh", NULL), *x;
	virDomainPtr d;

	a_ok(root, (const char *const[]){ "assign", "rh", NULL });
	d = virDomainLookupByName(conn, "rh");
	cr_assert_eq(virDomainDetachDeviceAlias(d, "ua-gpupart-c0ffee00-0000-4000-8000-000000000001",
						VIR_DOMAIN_AFFECT_CONFIG),
		     0, "%s", virGetLastErrorMessage());
	virDomainFree(d);
	x = a_xml("rh");
	cr_assert_eq(a_hostdevs(x, NULL, 0), 0, "%s", x);
	cr_expect_not_null(a_resv(root, T4_M0));
	a_define("rh2", NULL);
	{
		struct run r;

		cr_expect_eq(a_gp(&r, NULL, root, "assign", "rh2", NULL), 5, "%s", r.err);
		run_free(&r);
	}
	a_ok(root, (const char *const[]){ "unassign", "rh", NULL });
	cr_expect_eq(a_resv_count(root), 0);
	cr_expect_str_eq(a_xml("rh"), x);
	cr_expect_str_eq(a_without_root_ports(x), a_without_root_ports(before));
}

/* --allow-multiple: a second partition (another GPU in the guest); unassign without
 * --partition is then a usage error, --partition takes one, --all the rest */
Test(assign, allow_multiple_then_unassign_one_and_all)
{
	char *root = a_tree("a16-vfio"), *orig = a_state(root), *before = a_define("mm", NULL);
	const char *first[] = { "assign", "mm", "--gpu", A16_0, NULL };
	const char *second[] = { "assign", "mm", "--gpu", A16_1, "--allow-multiple", NULL };
	const char *third[] = { "assign", "mm", "--gpu", A16_1, "--allow-multiple", NULL };
	const char *one[] = { "unassign", "mm", "--gpu", A16_1, "--partition", "0", NULL };
	const char *all[] = { "unassign", "mm", "--all", NULL };
	struct a_hostdev h[4];
	char *x;
	struct run r;

	a_ok(root, first);
	a_ok(root, second);
	a_ok(root, third);
	x = a_xml("mm");
	cr_assert_eq(a_hostdevs(x, h, 4), 3, "%s", x);
	a_expect_hostdev(x, "nvidia-vfio", "0000:03:00.4");
	a_expect_hostdev(x, "nvidia-vfio", "0000:04:00.4");
	a_expect_hostdev(x, "nvidia-vfio", "0000:04:00.5");
	cr_expect_eq(a_resv_count(root), 3);
	cr_expect_eq(a_gp(&r, NULL, root, "unassign", "mm", NULL), 2, "exit %d: %s", r.status,
		     r.err);
	run_free(&r);
	cr_expect_str_eq(a_xml("mm"), x, "a usage error changed the domain");
	a_ok(root, one);
	x = a_xml("mm");
	cr_assert_eq(a_hostdevs(x, h, 4), 2, "%s", x);
	cr_expect_null(a_resv(root, "0000:04:00.4"));
	a_expect_hostdev(x, "nvidia-vfio", "0000:03:00.4");
	a_expect_hostdev(x, "nvidia-vfio", "0000:04:00.5");
	a_ok(root, all);
	/* three hostdevs took more ports than the definition had free: libvirt's stay */
	cr_expect_str_eq(a_without_root_ports(a_xml("mm")), a_without_root_ports(before));
	cr_expect_eq(a_resv_count(root), 0);
	cr_expect_str_eq(a_state(root), orig);
}

/*
 * set-count's guard sees what assign did: the domain naming the VF (libvirt asked) and, where
 * libvirt is not asked (the boot unit), the record; after unassign the count changes.
 */
Test(assign, set_count_refuses_while_assigned)
{
	char *root = a_tree_copy("a16-vfio"), *line;
	struct run r;

	a_define("sc", NULL);
	a_ok(root, (const char *const[]){ "assign", "sc", "--gpu", A16_0, "--partition", "2", NULL });
	line = a_resv(root, "0000:03:00.6");
	cr_assert_not_null(line);
	line[strcspn(line, "\n")] = 0;
	cr_expect_eq(gpf(&r, root, "set-count", A16_0, "2", "--no-libvirt", NULL), 1, "%s", r.err);
	cr_expect(strstr(r.err, "refusing: partitions are assigned"), "%s", r.err);
	cr_expect(strstr(r.err, line), "the record's line not in:\n%s", r.err);
	run_free(&r);
	cr_expect_eq(a_gp(&r, NULL, root, "set-count", A16_0, "2", NULL), 1, "%s", r.err);
	cr_expect(strstr(r.err, "0000:03:00.6 is assigned to VM sc"), "the domain not named:\n%s",
		  r.err);
	run_free(&r);
	cr_expect_eq(fklog_ops(root), 0, "a refused set-count wrote:\n%s", a_own(fklog(root)));
	a_ok(root, (const char *const[]){ "unassign", "sc", NULL });
	cr_expect_eq(gpf(&r, root, "set-count", A16_0, "2", "--no-libvirt", NULL), 0, "%s", r.err);
	run_free(&r);
}

/* --dry-run: the plan, nothing changed (domain, records, tree) */
Test(assign, dry_run_changes_nothing)
{
	char *root = a_tree("a16-vfio"), *orig = manifest(root, M_STATE);
	char *before = a_define("dr", NULL);
	struct run r;
	json_object *o;

	a_own(orig);
	cr_expect_eq(a_gp(&r, NULL, root, "--json", "assign", "dr", "--dry-run", NULL), 0, "%s",
		     r.err);
	o = json_tokener_parse(r.out);
	cr_expect_not_null(o, "not JSON: %s", r.out);
	json_object_put(o);
	run_free(&r);
	cr_expect_str_eq(a_xml("dr"), before);
	cr_expect_eq(a_resv_count(root), 0);
	assert_manifest_eq(a_own(manifest(root, M_STATE)), orig, "assign --dry-run");
	/* and unassign --dry-run of what a real assign gave */
	a_ok(root, (const char *const[]){ "assign", "dr", NULL });
	before = a_xml("dr");
	orig = a_own(manifest(root, M_STATE));
	cr_expect_eq(a_gp(&r, NULL, root, "unassign", "dr", "--dry-run", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_expect_str_eq(a_xml("dr"), before);
	cr_expect_eq(a_resv_count(root), 1);
	assert_manifest_eq(a_own(manifest(root, M_STATE)), orig, "unassign --dry-run");
}
