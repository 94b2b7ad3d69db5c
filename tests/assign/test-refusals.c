/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every refusal of assign and unassign: its exit status, its code in --json's findings and on
 * stderr, every domain's definition byte-identical (after one define round trip: alib.h),
 * the tree's state the same (no record, not even the reservations directory), not one
 * kernel write. Usage errors (2) and the full host (5) likewise change nothing.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libvirt/virterror.h>

#include "alib.h"
#include "fixture.h"

TestSuite(assign_refusals, .init = a_init, .fini = a_fini, .timeout = 120);

/* gpupart --json ARGS...: the exit status, the code in "findings", nothing changed */
static void refusal(const char *root, int status, const char *code, const char *const *args)
{
	char *doms = a_all_xml(), *tree = a_own(manifest(root, M_STATE));
	const char *jargs[40] = { "--json" };
	struct run r;
	int n = 1;

	for (int i = 0; args[i] && n < 39; i++)
		jargs[n++] = args[i];
	jargs[n] = NULL;
	fklog_reset(root);
	cr_expect_eq(a_gp_v(&r, NULL, root, jargs), status, "%s: exit %d, %d expected\n%s%s", code,
		     r.status, status, r.out, r.err);
	if (code)
		cr_expect(a_has_code(r.out, code) && strstr(r.out, "\"findings\": ["),
			  "%s not in findings:\n%s%s", code, r.out, r.err);
	run_free(&r);
	cr_expect_str_eq(a_all_xml(), doms, "%s changed a domain", code);
	assert_manifest_eq(a_own(manifest(root, M_STATE)), tree, code ? code : "usage");
	cr_expect_eq(fklog_ops(root), 0, "%s wrote to the host:\n%s", code, a_own(fklog(root)));
}

#define ARGS(...) ((const char *const[]){ __VA_ARGS__, NULL })

/* a fixture scenario with one function's driver changed (NULL: unbound) */
static char *tree_with_driver(const char *scenario, const char *fn, const char *driver)
{
	struct fx_tree *t = fx_scenario_build(scenario);
	struct fx_dev *d;
	char *root;

	cr_assert_not_null(t, "fixture %s", scenario);
	d = fx_dev_find(t, fn);
	cr_assert_not_null(d, "no %s in %s", fn, scenario);
	d->driver = driver;
	d->driver_override = driver && !strcmp(driver, "vfio-pci") ? "vfio-pci" : NULL;
	root = wtree_of(t, scenario);
	fx_tree_free(t);
	return root;
}

Test(assign_refusals, domains)
{
	char *root = a_tree("a16-vfio");
	virDomainPtr t;

	struct run r;

	a_define("r1", NULL);
	refusal(root, 1, "domain-not-found", ARGS("assign", "nosuch"));
	/* in text: the same status, the message on stderr (no code there, as every verb's) */
	cr_expect_eq(a_gp(&r, NULL, root, "assign", "nosuch", NULL), 1);
	cr_expect(strstr(r.err, "gpupart: no domain 'nosuch'"), "%s", r.err);
	run_free(&r);
	/* one domain of the call missing: the whole call is refused, r1 too */
	refusal(root, 1, "domain-not-found", ARGS("assign", "r1", "nosuch"));
	refusal(root, 1, "domain-not-found", ARGS("unassign", "nosuch"));
	/* Get-VMGpuPartitionAdapter -VMName of no VM is an error too */
	refusal(root, 1, NULL, ARGS("adapters", "r1", "nosuch"));
	/* a transient domain (it exists only while it runs) */
	t = virDomainCreateXML(conn,
			       "<domain type='qemu'><name>tr1</name><memory unit='KiB'>131072"
			       "</memory><os><type arch='x86_64' machine='q35'>hvm</type></os>"
			       "<devices><controller type='pci' model='pcie-root'/></devices>"
			       "</domain>",
			       0);
	cr_assert_not_null(t, "%s", virGetLastErrorMessage());
	refusal(root, 1, "domain-transient", ARGS("assign", "tr1"));
	virDomainDestroy(t);
	virDomainFree(t);
	/* running, without --restart */
	a_start("r1");
	refusal(root, 1, "domain-running", ARGS("assign", "r1"));
}

/*
 * A connection to another host: the URI names a host (not localhost) and libvirt there says
 * another hostname than ours. The suite's daemon is reached as qemu+ext://elsewhere/... (the
 * ext transport runs a command and talks over its stdin and stdout: a relay to the daemon's
 * socket; libvirt refuses a host with the unix transport) by gpupart in a UTS namespace of its
 * own whose hostname is not the daemon's.
 */
Test(assign_refusals, remote_domain)
{
	char *root = a_tree("t4-mdev-pf"), *dir = test_tmpdir("ext"), *uri, *relay, *doms;
	const char *u = a_uri(), *sock = strstr(u, "socket=");
	struct run r;
	FILE *f;

	cr_assert_not_null(sock, "%s", u);
	cr_assert_geq(asprintf(&relay, "%s/relay", dir), 0);
	a_own(relay);
	f = fopen(relay, "w");
	cr_assert_not_null(f);
	fprintf(f, "#!/usr/bin/python3\n"
		   "import os, select, socket\n"
		   "s = socket.socket(socket.AF_UNIX)\n"
		   "s.connect('%s')\n"
		   "while True:\n"
		   "    r = select.select([0, s], [], [])[0]\n"
		   "    if 0 in r:\n"
		   "        d = os.read(0, 65536)\n"
		   "        if not d:\n"
		   "            break\n"
		   "        s.sendall(d)\n"
		   "    if s in r:\n"
		   "        d = s.recv(65536)\n"
		   "        if not d:\n"
		   "            break\n"
		   "        os.write(1, d)\n",
		sock + 7);
	fclose(f);
	cr_assert_eq(chmod(relay, 0755), 0);
	cr_assert_geq(asprintf(&uri, "qemu+ext://elsewhere/session?command=%s", relay), 0);
	a_own(uri);
	a_define("rm1", NULL);
	doms = a_all_xml();
	{
		char *argv[] = { "/usr/bin/unshare", "--uts", "/bin/sh", "-c",
				 "hostname gpupart-test-here && exec \"$0\" \"$@\"",
				 (char *)fake_bin(), "--root", root, "--json", "assign", "rm1",
				 "--connect", uri, NULL };

		run_argv(&r, argv);
	}
	cr_expect_eq(r.status, 1, "exit %d\n%s%s", r.status, r.out, r.err);
	cr_expect(a_has_code(r.out, "domain-remote"), "%s%s", r.out, r.err);
	run_free(&r);
	cr_expect_str_eq(a_all_xml(), doms);
	cr_expect_eq(a_resv_count(root), 0);
}

/* a GPU handed whole to vfio-pci (the Flex 170's PF on vfio-pci, its VFs still there) */
Test(assign_refusals, dismounted_gpu)
{
	char *root = tree_with_driver("intel-sriov", FLEX_GPU, "vfio-pci");

	a_define("d1", NULL);
	refusal(root, 1, "dismounted-for-dda", ARGS("assign", "d1", "--gpu", FLEX_GPU));
}

/* the Flex 170's fourth VF (4e:00.4, partition 3) unbound: not on vfio-pci, not ready; the
 * message says what makes it ready. The picker never gives it while a ready one is free. */
Test(assign_refusals, partition_not_ready)
{
	char *root = tree_with_driver("intel-sriov", "0000:4e:00.4", NULL);
	struct run r;

	a_define("n1", NULL);
	a_define("n2", NULL);
	refusal(root, 1, "partition-not-ready",
		ARGS("assign", "n1", "--gpu", FLEX_GPU, "--partition", "3"));
	cr_expect_eq(a_gp(&r, NULL, root, "assign", "n1", "--gpu", FLEX_GPU, "--partition", "3",
			  NULL),
		     1);
	cr_expect(strstr(r.err, "gpupart ") || strstr(r.err, "driverctl "),
		  "no command that makes it ready in:\n%s", r.err);
	run_free(&r);
	a_ok(root, ARGS("assign", "n1", "n2", "--gpu", FLEX_GPU));
	cr_expect_not_null(a_resv(root, "0000:4e:00.1"));
	cr_expect_not_null(a_resv(root, "0000:4e:00.2"));
	cr_expect_null(a_resv(root, "0000:4e:00.4"));
}

/* --partition held: by another domain's gpupart hostdev, by a record alone (its domain may be
 * on another connection), by a hostdev an admin wrote by hand */
Test(assign_refusals, partition_taken)
{
	char *root = a_tree("a16-vfio");

	a_define("h1", NULL);
	a_define("h2", NULL);
	a_define("h3", "<hostdev mode='subsystem' type='pci' managed='no'><source><address "
		       "domain='0x0000' bus='0x04' slot='0x00' function='0x5'/></source></hostdev>");
	a_ok(root, ARGS("assign", "h1", "--gpu", A16_0, "--partition", "0"));
	refusal(root, 1, "partition-taken", ARGS("assign", "h2", "--gpu", A16_0, "--partition", "0"));
	mkdirs(root, "run/gpupart/reservations");
	put(root, "run/gpupart/reservations/0000:03:00.5",
	    "reservation device=0000:03:00.5 uuid=0badc0de-0000-4000-8000-000000000001 "
	    "domain=elsewhere gpu=0000:03:00.0 partition=1\n");
	refusal(root, 1, "partition-taken", ARGS("assign", "h2", "--gpu", A16_0, "--partition", "1"));
	refusal(root, 1, "partition-taken", ARGS("assign", "h2", "--gpu", A16_1, "--partition", "1"));
	/* and the picker passes over all three */
	a_ok(root, ARGS("assign", "h2", "--gpu", A16_0));
	cr_expect_not_null(a_resv(root, "0000:03:00.6"), "the picker took a held partition");
}

/*
 * partitions.conf gives the T4 one partition (set-count recorded it), and the mdev is gone (an
 * admin removed it; or a reboot before `apply`): not "full" (exit 5) but not ready, 'gpupart
 * apply' named; after apply, assign gives the mdev apply made.
 */
Test(assign_refusals, fewer_partitions_than_the_layout_is_not_ready)
{
	char *root = a_tree_copy("t4-mdev-pf"), uuid[37];
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", T4_GPU, "1", "--no-libvirt", NULL), 0, "%s", r.err);
	run_free(&r);
	admin_remove_mdev(root, T4_M0);
	cr_assert_not(first_mdev(root, uuid), "the mdev %s is still there", uuid);
	a_define("l1", NULL);
	refusal(root, 1, "partition-not-ready", ARGS("assign", "l1"));
	cr_expect_eq(a_gp(&r, NULL, root, "assign", "l1", NULL), 1);
	cr_expect(strstr(r.err, "'gpupart apply'"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "apply", "--no-libvirt", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert(first_mdev(root, uuid), "apply made no mdev");
	a_ok(root, ARGS("assign", "l1"));
	a_expect_hostdev(a_xml("l1"), "nvidia-mdev", uuid);
	cr_expect_not_null(a_resv(root, uuid));
}

Test(assign_refusals, domain_has_partition)
{
	char *root = a_tree("a16-vfio");

	a_define("o1", NULL);
	a_ok(root, ARGS("assign", "o1"));
	refusal(root, 1, "domain-has-partition", ARGS("assign", "o1"));
	refusal(root, 1, "domain-has-partition", ARGS("assign", "o1", "--gpu", A16_1));
}

/* exit 5: the T4's one partition taken; a size no GPU has */
Test(assign_refusals, no_free_partition)
{
	char *root = a_tree("t4-mdev-pf");

	a_define("f1", NULL);
	a_define("f2", NULL);
	a_ok(root, ARGS("assign", "f1"));
	refusal(root, 5, "no-free-partition", ARGS("assign", "f2"));
	root = a_tree("a16-vfio");
	refusal(root, 5, "no-free-partition", ARGS("assign", "f2", "--vram", "8G"));
	/* two domains, one partition free (f1 gone): neither gets it */
	{
		virDomainPtr d = virDomainLookupByName(conn, "f1");

		cr_assert_eq(virDomainUndefine(d), 0);
		virDomainFree(d);
	}
	root = a_tree("t4-mdev-pf");
	a_define("f3", NULL);
	refusal(root, 5, "no-free-partition", ARGS("assign", "f2", "f3"));
}

Test(assign_refusals, usage_errors)
{
	char *root = a_tree("a16-vfio");

	a_define("u1", NULL);
	refusal(root, 2, NULL, ARGS("assign"));
	refusal(root, 2, NULL, ARGS("assign", "u1", "--vram", "lots"));
	refusal(root, 2, NULL, ARGS("assign", "u1", "--partition", "x"));
	refusal(root, 2, NULL, ARGS("assign", "u1", "--gpu", "not-an-address"));
	refusal(root, 2, NULL, ARGS("unassign"));
	refusal(root, 2, NULL, ARGS("unassign", "u1", "--partition", "0", "--all"));
	refusal(root, 2, NULL, ARGS("unassign", "u1", "u2"));
	/* what was asked names no partition there is, or is ambiguous (the lead's codes) */
	a_define("u2", NULL);
	refusal(root, 2, "domain-twice", ARGS("assign", "u1", "u1"));
	refusal(root, 2, "partition-needs-gpu", ARGS("assign", "u1", "--partition", "0"));
	refusal(root, 2, "no-such-partition", ARGS("assign", "u1", "--gpu", A16_0, "--partition", "9"));
	refusal(root, 2, "gpu-not-partitioned", ARGS("assign", "u1", "--gpu", A16_2));
	refusal(root, 2, "partition-for-one",
		ARGS("assign", "u1", "u2", "--gpu", A16_0, "--partition", "0"));
	/* partition 0 of 03 is free, but 2 GiB */
	refusal(root, 2, "partition-other-size",
		ARGS("assign", "u1", "--gpu", A16_0, "--partition", "0", "--vram", "4G"));
	refusal(root, 1, "partition-not-assigned",
		ARGS("unassign", "u1", "--gpu", A16_0, "--partition", "0"));
}

/* libvirt-guests would save the domain at host shutdown: a warning (as attach's), the exact
 * setting named; assign goes on */
Test(assign_refusals, libvirt_guests_saves_warns)
{
	char *root = a_tree_copy("t4-mdev-pf");
	struct run r;

	a_define("w1", NULL);
	mkdirs(root, "etc/default");
	put(root, "etc/default/libvirt-guests", "ON_BOOT=ignore\nON_SHUTDOWN=suspend\n");
	cr_expect_eq(a_gp(&r, NULL, root, "--json", "assign", "w1", "--dry-run", NULL), 0, "%s",
		     r.err);
	cr_expect(a_has_code(r.out, "libvirt-guests-saves"), "%s", r.out);
	cr_expect(strstr(r.out, "ON_SHUTDOWN=shutdown"), "%s", r.out);
	run_free(&r);
	put(root, "etc/default/libvirt-guests", "ON_SHUTDOWN=shutdown\n");
	cr_expect_eq(a_gp(&r, NULL, root, "--json", "assign", "w1", "--dry-run", NULL), 0, "%s",
		     r.err);
	cr_expect(!a_has_code(r.out, "libvirt-guests-saves"), "%s", r.out);
	run_free(&r);
}

/* an explicit --connect that cannot be reached is an error, not "no domain" */
Test(assign_refusals, unreachable_connect)
{
	char *root = a_tree("t4-mdev-pf");
	char *argv[] = { (char *)fake_bin(), "--root", root, "assign", "x", "--connect",
			 "qemu+unix:///session?socket=/nonexistent/sock", NULL };
	struct run r;

	run_argv(&r, argv);
	cr_expect_eq(r.status, 1, "%s", r.err);
	cr_expect(strstr(r.err, "cannot ask libvirt"), "%s", r.err);
	cr_expect_eq(a_resv_count(root), 0);
	run_free(&r);
}
