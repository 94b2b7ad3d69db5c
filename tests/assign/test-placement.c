/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Where assign looks, on real libvirt: the domain's NUMA node from its own definition
 * (<numatune><memory nodeset>, else <vcpu cpuset> against the host's
 * sys/devices/system/node/nodeN/cpulist), and the definition it journals read under the host
 * lock, so that an admin's edit made while assign waited for the lock is kept.
 *
 * The a16-vfio fixture (alib.h): A16_0 and A16_1 have four free partitions each, equally
 * loaded, so without a NUMA node the lower address (A16_0, VF 03:00.4) is picked; the tests
 * put A16_1 on node 1 (its numa_node file) and the host's CPUs 4-7 there.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "alib.h"

TestSuite(placement, .init = a_init, .fini = a_fini, .timeout = 120);

/* Two NUMA nodes (CPUs 0-3, 4-7), A16_1 on node 1, A16_0 on node 0: a tree of the run's own
 * (the shared a16-vfio stays as the fixture wrote it) */
static void numa_make(const char *root)
{
	mkdirs(root, "sys/devices/system/node/node0");
	mkdirs(root, "sys/devices/system/node/node1");
	put(root, "sys/devices/system/node/node0/cpulist", "0-3\n");
	put(root, "sys/devices/system/node/node1/cpulist", "4-7\n");
	put(root, "sys/bus/pci/devices/" A16_0 "/numa_node", "0\n");
	put(root, "sys/bus/pci/devices/" A16_1 "/numa_node", "1\n");
}

static char *numa_tree(void)
{
	return a_tree_made("a16-numa", "a16-vfio", numa_make);
}

/* A q35 domain with @extra at the top level (vcpu, numatune), defined. */
static void define_with(const char *name, const char *extra)
{
	a_define_with(name, extra, NULL);
}

static void assign_expect(const char *root, const char *name, const char *vf)
{
	struct run r;
	char *xml;

	cr_assert_eq(a_gp(&r, NULL, root, "assign", name, NULL), 0, "exit %d\n%s", r.status,
		     r.err);
	run_free(&r);
	xml = a_xml(name);
	a_expect_hostdev(xml, "nvidia-vfio", vf);
}

/* Nothing says where the domain runs: the lower address, both GPUs being as loaded. */
Test(placement, no_node_lower_address)
{
	char *root = numa_tree();

	define_with("plain", "<vcpu>2</vcpu>");
	assign_expect(root, "plain", "0000:03:00.4");
}

/* <numatune> names node 1: A16_1, over the lower address. */
Test(placement, numatune_node)
{
	char *root = numa_tree();

	define_with("tuned", "<vcpu>2</vcpu><numatune><memory mode='strict' nodeset='1'/>"
			     "</numatune>");
	assign_expect(root, "tuned", "0000:04:00.4");
}

/* No <numatune>, vCPUs pinned to CPUs 4-7: the node that holds them, node 1. */
Test(placement, vcpu_cpuset_node)
{
	char *root = numa_tree();

	define_with("pinned", "<vcpu placement='static' cpuset='4-7'>2</vcpu>");
	assign_expect(root, "pinned", "0000:04:00.4");
}

/* CPUs 2-5 are half on each node: the lower node on a tie, node 0. */
Test(placement, vcpu_cpuset_tie_lower_node)
{
	char *root = numa_tree();

	define_with("split", "<vcpu placement='static' cpuset='2-5'>2</vcpu>");
	assign_expect(root, "split", "0000:03:00.4");
}

/*
 * The host lock is held while assign asks libvirt; meanwhile an admin redefines the domain
 * (a <description>); then the lock goes. assign journals the definition it reads under the
 * lock: the domain ends with the partition and the admin's edit both; and an assign killed
 * at its domain step (GP_FAKE_KILL_DOMAIN, the same wait) is undone by `repair` to the edited
 * definition, not to the one read before the lock. Returns the admin's definition as libvirt
 * holds it (after one round trip: alib.h).
 */
static char *edit_while_waiting(const char *root, const char *name, const char *const *env,
			       int want_status)
{
	const char *args[] = { "assign", name, NULL }, *argv[48];
	char path[1024], xml[2048], *edited;
	struct stat st;
	virDomainPtr d;
	int fd, status;
	pid_t pid;

	mkdirs(root, "run/gpupart");
	snprintf(path, sizeof(path), "%s/run/gpupart/lock", root);
	fd = open(path, O_RDWR | O_CREAT, 0600);
	cr_assert(fd >= 0 && flock(fd, LOCK_EX) == 0, "%s: %s", path, strerror(errno));
	a_argv(argv, root, args);
	pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		for (int i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	/* it has asked libvirt and waits for the lock: its journal is not there yet */
	a_wait_at_lock(pid, root);
	snprintf(path, sizeof(path), "%s/run/gpupart/journal", root);
	cr_expect(stat(path, &st) != 0, "a journal while the lock was held");
	snprintf(xml, sizeof(xml),
		 "<domain type='qemu'><name>%s</name><uuid>%s</uuid>"
		 "<description>edited by the admin</description>"
		 "<memory unit='KiB'>131072</memory>"
		 "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>",
		 name, a_uuid(name));
	d = virDomainDefineXML(conn, xml);
	cr_assert_not_null(d, "redefine: %s", virGetLastErrorMessage());
	virDomainFree(d);
	d = virDomainDefineXML(conn, a_xml(name));
	cr_assert_not_null(d, "redefine: %s", virGetLastErrorMessage());
	virDomainFree(d);
	edited = a_xml(name);
	flock(fd, LOCK_UN);
	close(fd);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	if (want_status < 0)
		cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == -want_status, "status %d",
			  status);
	else
		cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == want_status, "status %d",
			  status);
	return edited;
}

Test(placement, edit_while_waiting_for_the_lock_is_kept)
{
	char *root = a_tree("a16-vfio"), *xml, *edited;

	define_with("waiter", "");
	edited = edit_while_waiting(root, "waiter", NULL, 0);
	xml = a_xml("waiter");
	cr_expect(strstr(xml, "edited by the admin") != NULL, "the edit was lost:\n%s", xml);
	a_expect_hostdev(xml, "nvidia-vfio", "0000:03:00.4");
	/* what the journal held was the admin's definition: unassign gives back exactly it */
	a_ok(root, (const char *const[]){ "unassign", "waiter", NULL });
	cr_expect_str_eq(a_xml("waiter"), edited, "unassign did not give back the admin's");
	cr_expect_eq(a_resv_count(root), 0);
}

Test(placement, killed_assign_repaired_to_the_edited_definition)
{
	const char *env[] = { "GP_FAKE_KILL_DOMAIN=1", NULL };
	char *root = a_tree("a16-vfio"), *xml;
	struct a_hostdev h[2];
	struct run r;

	define_with("waiter2", "");
	edit_while_waiting(root, "waiter2", env, -SIGKILL);
	cr_assert(journal_present(root), "the kill left no journal");
	/* repair takes no --connect: the journal names the URI */
	cr_assert_eq(run_argv(&r, (char *const[]){ (char *)fake_bin(), "--root", root, "repair",
						  NULL }),
		     0, "repair: exit %d\n%s", r.status, r.err);
	run_free(&r);
	xml = a_xml("waiter2");
	cr_expect(strstr(xml, "edited by the admin") != NULL, "the edit was undone:\n%s", xml);
	cr_expect_eq(a_hostdevs(xml, h, 2), 0, "%s", xml);
	cr_expect_eq(a_resv_count(root), 0);
}
