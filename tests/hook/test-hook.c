/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The qemu hook driven exactly as libvirt drives it (src/util/virhook.c: the hook's path,
 * DOMAIN OPERATION SUBOP EXTRA, the domain XML on stdin), on fixture trees through the fake
 * kernel:
 *   - prepare takes a free partition's reservation, writes nothing when it is the domain's
 *     already or the domain names nothing of gpupart's, and refuses (exit 1, one line naming
 *     the device and the fix, the tree unchanged) a partition another domain holds;
 *   - a partition lost with a reboot is recreated from partitions.conf, a DDA GPU put back on
 *     vfio-pci from dismounted.conf; one another domain holds is refused with nothing done;
 *   - release gives back only this domain's records (a stale XML never another's);
 *   - reconnect takes the records again and always exits 0;
 *   - migrate refuses DDA and partitions this host lacks;
 *   - discipline: nothing on stdout ever, 1 MiB of XML, malformed XML, a closed stdout, a stdin
 *     never closed, no libvirt library loaded (LD_DEBUG's list of the files it maps).
 */
#include <criterion/criterion.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hrun.h"
#include "wrun.h"

#define A16 "0000:03:00.0"
#define U1 "11111111-2222-3333-4444-555555555555"
#define U2 "22222222-2222-3333-4444-555555555555"

static void setup(void)
{
	wsetup();
}

static void teardown(void)
{
	h_free_owned();
	wteardown();
}

TestSuite(hook, .init = setup, .fini = teardown, .timeout = 120);

/* A refusal is decided under the host lock, whose file is the one thing it may create (as
 * every changing command's refusal: wrun.h's refused()): made first, so the rest compares. */
static void make_lock(const char *root)
{
	struct run r;

	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
}

/* Nothing reaches stdout, whatever the outcome (libvirt reads it for migrate and restore). */
static void quiet_stdout(const struct hrun *h)
{
	cr_assert_str_empty(h->out, "stdout: %s", h->out);
}

static char *xml1(const char *name, const char *uuid, const char *dev)
{
	const char *devs[] = { dev, NULL };

	return dom_xml(name, uuid, devs, true, 0, false);
}

Test(hook, prepare_takes_a_free_partition_then_writes_nothing)
{
	char *root = wtree("a16-vfio"), *x = xml1("vm1", U1, "pci 0000:03:00.5"), *rec, *before;
	struct hrun h;

	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	quiet_stdout(&h);
	cr_assert_str_empty(h.err, "%s", h.err);
	hrun_free(&h);
	rec = record_of(root, "0000:03:00.5");
	cr_assert_str_eq(rec, "reservation device=0000:03:00.5 uuid=" U1
			      " domain=vm1 gpu=0000:03:00.0 partition=1\n");
	free(rec);
	cr_assert_eq(n_records(root), 1);
	/* started again (the record is its own): nothing is written, not even the lock */
	before = h_own(manifest(root, M_STRICT));
	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	hrun_free(&h);
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "a second prepare");
	free(x);
}

Test(hook, a_domain_naming_nothing_of_gpupart_writes_nothing)
{
	const char *nic[] = { "pci 0000:c2:00.0", "pci 0000:99:00.0", NULL };
	char *root = wtree("a16-vfio"), *before = h_own(manifest(root, M_STRICT));
	char *none = dom_xml("plain", U1, NULL, false, 0, false);
	char *other = dom_xml("nic", U2, nic, false, 0, false);
	struct hrun h;

	cr_assert_eq(hook(&h, root, none, "plain", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	quiet_stdout(&h);
	hrun_free(&h);
	cr_assert_eq(hook(&h, root, other, "nic", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	cr_assert_str_empty(h.err, "%s", h.err);
	hrun_free(&h);
	cr_assert_eq(hook(&h, root, other, "nic", "release", "end", 0, NULL), 0, "%s", h.err);
	hrun_free(&h);
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "domains of no partition");
	cr_assert_not(ex(root, "run/gpupart"), "the hook made run/gpupart");
	free(none);
	free(other);
}

Test(hook, another_domains_partition_refuses_the_start)
{
	char *root = wtree("a16-vfio"), *x = xml1("vm2", U2, "pci 0000:03:00.4"), *before;
	struct hrun h;

	put_record(root, "0000:03:00.4", U1, "vm1", A16, 0);
	make_lock(root);
	before = h_own(manifest(root, M_STRICT));
	cr_assert_eq(hook(&h, root, x, "vm2", "prepare", "begin", 0, NULL), 1, "%s", h.err);
	quiet_stdout(&h);
	/* one line: the device, who has it, the fix */
	cr_assert(strstr(h.err, "0000:03:00.4") && strstr(h.err, "vm1") &&
		  strstr(h.err, "gpupart unassign vm1"), "%s", h.err);
	cr_assert_eq(strchr(h.err, '\n'), strrchr(h.err, '\n'), "more than one line: %s", h.err);
	hrun_free(&h);
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "a refused start");
	cr_assert_eq(fklog_ops(root), 0);
	free(x);
}

Test(hook, a_vf_that_is_no_partition_refuses_naming_the_fix)
{
	/* assign's alias on a VF with no vGPU type: not a partition of this host */
	char *root = wtree("a16-vfio"), *x = xml1("vm1", U1, "pci 0000:03:01.0"), *before;
	struct hrun h;

	make_lock(root);
	before = h_own(manifest(root, M_STRICT));
	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "0000:03:01.0") && strstr(h.err, "gpupart apply"), "%s", h.err);
	hrun_free(&h);
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "a refused start");
	free(x);
}

Test(hook, release_gives_back_only_this_domains_records)
{
	const char *both[] = { "pci 0000:03:00.4", "pci 0000:03:00.5", NULL };
	char *root = wtree("a16-vfio"), *x = dom_xml("vm2", U2, both, true, 0, false), *rec;
	struct hrun h;

	put_record(root, "0000:03:00.4", U1, "vm1", A16, 0);
	put_record(root, "0000:03:00.5", U2, "vm2", A16, 1);
	put_record(root, "0000:04:00.4", U2, "vm2", "0000:04:00.0", 0);
	/* vm2's XML is stale: it still names vm1's partition */
	cr_assert_eq(hook(&h, root, x, "vm2", "release", "end", 0, NULL), 0, "%s", h.err);
	quiet_stdout(&h);
	hrun_free(&h);
	rec = record_of(root, "0000:03:00.4");
	cr_assert(rec && strstr(rec, "uuid=" U1), "vm1's record went: %s", rec ? rec : "none");
	free(rec);
	cr_assert_null(record_of(root, "0000:03:00.5"));
	cr_assert_null(record_of(root, "0000:04:00.4"), "a record of vm2's the XML does not name");
	cr_assert_eq(n_records(root), 1);
	free(x);
}

Test(hook, reconnect_takes_the_records_again_and_always_exits_0)
{
	char *root = wtree("a16-vfio"), *x = xml1("vm1", U1, "pci 0000:03:00.6"), *rec;
	char *y = xml1("vm2", U2, "pci 0000:03:00.6");
	struct hrun h;

	cr_assert_eq(hook(&h, root, x, "vm1", "reconnect", "begin", 0, NULL), 0, "%s", h.err);
	hrun_free(&h);
	rec = record_of(root, "0000:03:00.6");
	cr_assert(rec && strstr(rec, "uuid=" U1) && strstr(rec, "partition=2"), "%s", rec);
	free(rec);
	/* another domain's: said, never a failure (libvirt would kill the running VM) */
	cr_assert_eq(hook(&h, root, y, "vm2", "reconnect", "begin", 0, NULL), 0, "%s", h.err);
	cr_assert(strstr(h.err, "warning") && strstr(h.err, "vm1"), "%s", h.err);
	hrun_free(&h);
	rec = record_of(root, "0000:03:00.6");
	cr_assert(rec && strstr(rec, "uuid=" U1), "%s", rec);
	free(rec);
	free(x);
	free(y);
}

Test(hook, migrate_refuses_dda_and_what_this_host_lacks)
{
	const char *none[] = { NULL };
	char *root = wtree("a16-vfio"), *before, *x;
	struct hrun h;

	x = dom_xml("dda", U1, none, false, 0, true);
	cr_assert_eq(hook(&h, root, x, "dda", "migrate", "begin", 0, NULL), 1, "%s", h.err);
	quiet_stdout(&h);
	cr_assert(strstr(h.err, "Discrete Device Assignment"), "%s", h.err);
	hrun_free(&h);
	free(x);
	x = xml1("away", U1, "pci 0000:03:01.3");
	cr_assert_eq(hook(&h, root, x, "away", "migrate", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "0000:03:01.3") && strstr(h.err, "not a partition"), "%s", h.err);
	hrun_free(&h);
	free(x);
	x = xml1("fits", U1, "pci 0000:03:00.7");
	cr_assert_eq(hook(&h, root, x, "fits", "migrate", "begin", 0, NULL), 0, "%s", h.err);
	quiet_stdout(&h);
	hrun_free(&h);
	put_record(root, "0000:03:00.7", U2, "other", A16, 3);
	before = h_own(manifest(root, M_STRICT));
	cr_assert_eq(hook(&h, root, x, "fits", "migrate", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "reserved by domain other"), "%s", h.err);
	hrun_free(&h);
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "migrate checks");
	free(x);
}

Test(hook, other_operations_do_nothing)
{
	static const char *const ops[][2] = { { "start", "begin" },   { "started", "begin" },
					      { "stopped", "end" },   { "restore", "begin" },
					      { "attach", "begin" },  { "prepare", "end" } };
	char *root = wtree("a16-vfio"), *before = h_own(manifest(root, M_STRICT));
	char *x = xml1("vm1", U1, "pci 0000:03:00.4");
	struct hrun h;
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		cr_assert_eq(hook(&h, root, x, "vm1", ops[i][0], ops[i][1], 0, NULL), 0,
			     "%s %s: %s", ops[i][0], ops[i][1], h.err);
		quiet_stdout(&h);
		hrun_free(&h);
		cr_assert_eq(hook(&h, root, "<not xml", "vm1", ops[i][0], ops[i][1], 0, NULL), 0,
			     "%s %s: %s", ops[i][0], ops[i][1], h.err);
		hrun_free(&h);
	}
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "other operations");
	free(x);
}

Test(hook, discipline_big_malformed_closed_stdout_open_stdin)
{
	const char *dev[] = { "pci 0000:03:00.4", NULL };
	char *root = wtree("a16-vfio"), *big = dom_xml("big", U1, dev, true, 1u << 20, false);
	char *x = xml1("vm2", U2, "pci 0000:03:00.5"), *rec;
	struct hrun h;

	cr_assert_gt(strlen(big), 1u << 20);
	cr_assert_eq(hook(&h, root, big, "big", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	quiet_stdout(&h);
	hrun_free(&h);
	rec = record_of(root, "0000:03:00.4");
	cr_assert(rec && strstr(rec, "domain=big"), "1 MiB of XML: %s", rec ? rec : "no record");
	free(rec);
	/* malformed: a start is refused, a release is not */
	cr_assert_eq(hook(&h, root, "<domain><name>x</name", "x", "prepare", "begin", 0, NULL), 1);
	cr_assert(strstr(h.err, "does not parse"), "%s", h.err);
	hrun_free(&h);
	cr_assert_eq(hook(&h, root, "<domain><name>x</name", "x", "release", "end", 0, NULL), 0);
	hrun_free(&h);
	/* libvirt not reading stdout: the hook never writes there, so a closed one is fine */
	cr_assert_eq(hook(&h, root, x, "vm2", "prepare", "begin", H_STDOUT_CLOSED, NULL), 0,
		     "%s", h.err);
	hrun_free(&h);
	rec = record_of(root, "0000:03:00.5");
	cr_assert(rec && strstr(rec, "domain=vm2"), "closed stdout: %s", rec ? rec : "none");
	free(rec);
	/* a stdin never closed: refused within its bound (5 s), a reconnect still exits 0 */
	cr_assert_eq(hook(&h, root, x, "vm2", "prepare", "begin", H_STDIN_OPEN, NULL), 1);
	cr_assert(strstr(h.err, "no end of it"), "%s", h.err);
	cr_assert_lt(h.ms, 30000, "took %ld ms", h.ms);
	hrun_free(&h);
	cr_assert_eq(hook(&h, root, x, "vm2", "reconnect", "begin", H_STDIN_OPEN, NULL), 0);
	hrun_free(&h);
	free(big);
	free(x);
}

/* LD_DEBUG=files lists every object the dynamic loader maps, dlopen'ed ones included. */
Test(hook, no_libvirt_library_is_loaded)
{
	static const char *const env[] = { "LD_DEBUG=files", NULL };
	static const char *const ops[][2] = { { "prepare", "begin" }, { "release", "end" },
					      { "migrate", "begin" }, { "reconnect", "begin" } };
	char *root = wtree("a16-vfio"), *x = xml1("vm1", U1, "pci 0000:03:00.4");
	struct hrun h;
	size_t i;

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		cr_assert_eq(hook(&h, root, x, "vm1", ops[i][0], ops[i][1], H_REAL, env), 0,
			     "%s", h.err);
		/* the list is there (libxml2 is loaded to read the XML), and libvirt is not in it */
		cr_assert(strstr(h.err, "file=") && strstr(h.err, "libxml2"), "%s", h.err);
		cr_assert_null(strstr(h.err, "libvirt"), "%s %s mapped libvirt", ops[i][0],
			       ops[i][1]);
		hrun_free(&h);
	}
	free(x);
}

/* ---- a reboot: partitions and DDA bindings made again at the start ----------------------- */

#define L40S_VF2 "0000:01:00.6"

/* The L40S of l40s-8a partitioned into 6 (recorded), then "rebooted": the same GPU with its
 * VFs off and nothing in /run, partitions.conf kept. */
static char *rebooted_l40s(void)
{
	char *root = wtree("l40s-8a"), *reboot = wtree("sriov-off");
	struct run r;

	cr_assert_eq(gpf(&r, root, "set-count", L40S, "6", "--no-libvirt", NULL), 0, "%s", r.err);
	run_free(&r);
	with_sriov_manage(reboot);
	mkdirs(reboot, "etc/gpupart");
	put(reboot, "etc/gpupart/partitions.conf", h_own(conf_of(root)));
	return reboot;
}

Test(hook, a_partition_lost_with_a_reboot_is_made_again)
{
	char *root = rebooted_l40s(), vf[16], *x, *rec, *t;
	struct hrun h;

	vf_addr(root, L40S, 2, vf);
	cr_assert_str_eq(vf, L40S_VF2);
	cr_assert_not(ex(root, "sys/bus/pci/devices/%s", vf), "the VF is there before the start");
	x = xml1("vm1", U1, "pci " L40S_VF2);
	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	quiet_stdout(&h);
	hrun_free(&h);
	t = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
	cr_assert(t && strcmp(t, "0"), "VF 2 has no vGPU type: %s", t ? t : "no VF");
	free(t);
	rec = record_of(root, L40S_VF2);
	cr_assert(rec && strstr(rec, "uuid=" U1) && strstr(rec, "partition=2"), "%s", rec);
	free(rec);
	cr_assert_not(journal_present(root));
	free(x);
}

Test(hook, a_lost_partition_another_domain_holds_is_refused_with_nothing_done)
{
	char *root = rebooted_l40s(), *x = xml1("vm2", U2, "pci " L40S_VF2), *before;
	struct hrun h;

	put_record(root, L40S_VF2, U1, "vm1", L40S, 2);
	make_lock(root);
	before = h_own(manifest(root, M_STRICT));
	cr_assert_eq(hook(&h, root, x, "vm2", "prepare", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "reserved by domain vm1"), "%s", h.err);
	hrun_free(&h);
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "a refused start");
	cr_assert_eq(fklog_ops(root), 0);
	free(x);
}

/* ROOT/REL whole (the test fails when it cannot be read). */
static char *slurp_rel(const char *root, const char *rel)
{
	char p[600], *t;

	snprintf(p, sizeof(p), "%s/%s", root, rel);
	t = slurp(p);
	cr_assert_not_null(t, "%s", p);
	return t;
}

#define DDA_GPU "0000:01:00.0"
#define DDA_AUD "0000:01:00.1"

Test(hook, a_dda_gpu_is_put_back_on_vfio_pci)
{
	const char *fns[] = { "pci " DDA_GPU, "pci " DDA_AUD, NULL };
	char *root = wtree("dda-ready"), *reboot = wtree("dda-ready"), *x, *drv, *conf;
	struct hrun h;
	struct run r;

	cr_assert_eq(gpf(&r, root, "dismount", DDA_GPU, "--force", "--no-libvirt", NULL), 0,
		     "%s", r.err);
	run_free(&r);
	mkdirs(reboot, "etc/gpupart");
	conf = slurp_rel(root, "etc/gpupart/dismounted.conf");
	put(reboot, "etc/gpupart/dismounted.conf", conf);
	free(conf);
	drv = lnk(reboot, "sys/bus/pci/devices/%s/driver", DDA_GPU);
	cr_assert_str_eq(drv, "nvidia");
	free(drv);
	x = dom_xml("whole", U1, fns, false, 0, false);
	cr_assert_eq(hook(&h, reboot, x, "whole", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	hrun_free(&h);
	drv = lnk(reboot, "sys/bus/pci/devices/%s/driver", DDA_GPU);
	cr_assert_str_eq(drv, "vfio-pci");
	free(drv);
	drv = lnk(reboot, "sys/bus/pci/devices/%s/driver", DDA_AUD);
	cr_assert_str_eq(drv, "vfio-pci");
	free(drv);
	cr_assert_eq(n_records(reboot), 0, "DDA takes no partition record");
	free(x);
}

#define T4_FIXTURE_MDEV "c0ffee00-0000-4000-8000-000000000001"

/* An mdev partition gone with a driver reload: its UUID is derived from the GPU's identity
 * and the partition id (gp_partition_uuid), so the hook tells which GPU made it and apply
 * makes the same UUID again. */
Test(hook, a_lost_mdev_partition_is_made_again_with_its_uuid)
{
	char *root = wtree("t4-mdev-pf"), *x, *rec, dev[48];
	struct mdev m[4];
	struct hrun h;
	struct run r;
	int n;

	admin_remove_mdev(root, T4_FIXTURE_MDEV);
	cr_assert_eq(gpf(&r, root, "set-count", T4, "2", "--no-libvirt", NULL), 0, "%s", r.err);
	run_free(&r);
	n = mdevs(root, m, 4);
	cr_assert_eq(n, 2);
	admin_remove_mdev(root, m[1].uuid);
	cr_assert_eq(mdevs(root, m + 2, 2), 1, "the mdev is still there");
	snprintf(dev, sizeof(dev), "mdev %s", m[1].uuid);
	x = xml1("vm1", U1, dev);
	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	hrun_free(&h);
	cr_assert(ex(root, "sys/bus/mdev/devices/%s", m[1].uuid), "%s not made again", m[1].uuid);
	rec = record_of(root, m[1].uuid);
	cr_assert(rec && strstr(rec, "uuid=" U1) && strstr(rec, "gpu=" T4), "%s", rec);
	free(rec);
	free(x);
}

/* ---- review findings, each a test that failed before its fix ----------------------------- */

/* assign's alias on a device that is not on the host, with nothing recorded to make it: the
 * start and an incoming migration are refused (they passed silently: no GPU was read). */
Test(hook, a_lost_partition_nothing_recorded_makes_is_refused)
{
	char *root = wtree("sriov-off"), *x = xml1("vm1", U1, "pci 0000:01:00.6");
	struct hrun h;

	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "0000:01:00.6") && strstr(h.err, "gpupart apply"), "%s", h.err);
	hrun_free(&h);
	cr_assert_eq(hook(&h, root, x, "vm1", "migrate", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "not a partition"), "%s", h.err);
	hrun_free(&h);
	free(x);
}

/* A VF beyond the recorded count is no lost partition: refused before anything is written
 * (apply ran, then the start was refused anyway). */
Test(hook, a_vf_beyond_the_recorded_count_is_refused_with_nothing_written)
{
	char *root = rebooted_l40s(), vf[16], dev[24], *x, *before;
	struct hrun h;

	vf_addr(root, L40S, 10, vf);
	snprintf(dev, sizeof(dev), "pci %s", vf);
	x = xml1("vm1", U1, dev);
	make_lock(root);
	before = h_own(manifest(root, M_STRICT));
	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, vf), "%s", h.err);
	hrun_free(&h);
	cr_assert_eq(fklog_ops(root), 0, "kernel writes: %s", h_own(fklog(root)));
	assert_manifest_eq(h_own(manifest(root, M_STRICT)), before, "a refused start");
	free(x);
}

/* A kernel write of an earlier gpupart still in flight (its child holds run/gpupart/writing):
 * the hook touches nothing, as apply would not. */
Test(hook, a_write_still_in_flight_refuses_a_recreate)
{
	char *root = rebooted_l40s(), *x = xml1("vm1", U1, "pci " L40S_VF2), path[600];
	struct hrun h;
	pid_t holder;
	int st;

	make_lock(root);
	snprintf(path, sizeof(path), "%s/run/gpupart/writing", root);
	holder = fork();
	cr_assert_geq(holder, 0);
	if (holder == 0) {
		execlp("flock", "flock", "-s", path, "sleep", "60", (char *)NULL);
		_exit(127);
	}
	for (int i = 0; i < 100 && !ex(root, "run/gpupart/writing"); i++)
		usleep(20000);
	usleep(200000); /* flock has the lock once the file exists and it runs sleep */
	cr_assert_eq(hook(&h, root, x, "vm1", "prepare", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "still blocked"), "%s", h.err);
	hrun_free(&h);
	cr_assert_eq(fklog_ops(root), 0, "kernel writes: %s", h_own(fklog(root)));
	kill(holder, SIGKILL);
	waitpid(holder, &st, 0);
	free(x);
}
