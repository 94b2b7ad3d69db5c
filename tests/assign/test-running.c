/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A domain started for real (no disk: it sits in SeaBIOS under TCG, the daemon hides
 * /dev/kvm). Without --restart a running domain is refused (test-refusals.c); with it, gpupart
 * shuts it down (forced after GPUPART_SHUTDOWN_TIMEOUT seconds: a guest without an OS ignores
 * the power button), assigns, and starts it. The start fails here: the partition's device does
 * not exist on this machine (no such PCI function, no such mdev). So the assignment is undone
 * and the domain started as it was: running, its definition byte-identical, no hostdev live,
 * no record, the tree as it was, exit 1.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alib.h"

TestSuite(assign_running, .init = a_init, .fini = a_fini, .timeout = 180);

static void restart_start_fails(const char *scenario, const char *name, const char *device)
{
	char *root = a_tree(scenario), *orig = a_state(root), *before = a_define(name, NULL), *live;
	const char *env[] = { "GPUPART_SHUTDOWN_TIMEOUT=1", NULL };
	struct run r;

	a_start(name);
	cr_assert(a_active(name));
	cr_expect_eq(a_gp(&r, env, root, "assign", name, "--restart", NULL), 1, "exit %d\n%s%s",
		     r.status, r.out, r.err);
	run_free(&r);
	cr_expect(a_active(name), "the domain does not run again");
	cr_expect_str_eq(a_xml(name), before, "the definition was not put back");
	live = a_live_xml(name);
	cr_expect(!strstr(live, "<hostdev"), "%s", live);
	cr_expect(!strstr(live, device), "%s", live);
	cr_expect_eq(a_resv_count(root), 0, "the record stayed");
	cr_expect_not(journal_present(root), "the journal stayed");
	cr_expect_str_eq(a_state(root), orig, "the tree changed");
}

Test(assign_running, restart_vfio_start_fails_runs_as_before)
{
	/* no 0000:03:00.4 on this machine: libvirt cannot start it */
	cr_assert_neq(access("/sys/bus/pci/devices/0000:03:00.4", F_OK), 0,
		      "this machine has a 0000:03:00.4: the start would not fail");
	restart_start_fails("a16-vfio", "rr1", "0000:03:00.4");
}

Test(assign_running, restart_mdev_start_fails_runs_as_before)
{
	cr_assert_neq(access("/sys/bus/mdev/devices/" T4_M0, F_OK), 0);
	restart_start_fails("t4-mdev-pf", "rr2", T4_M0);
}

/* a shut-off domain with --restart: assigned, left shut off (nothing to restart) */
Test(assign_running, restart_of_a_shut_off_domain_only_assigns)
{
	char *root = a_tree("t4-mdev-pf");
	struct run r;

	a_define("rr3", NULL);
	cr_expect_eq(a_gp(&r, NULL, root, "assign", "rr3", "--restart", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_expect_not(a_active("rr3"));
	a_expect_hostdev(a_xml("rr3"), "nvidia-mdev", T4_M0);
	cr_expect_not_null(a_resv(root, T4_M0));
}
