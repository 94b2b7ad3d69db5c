/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hook as libvirt itself runs it: a libvirtd of the test's own (tests/lib/daemon.c, QEMU
 * driver under TCG) with gpupart's hook in its /etc/libvirt/hooks/qemu.d (a directory of the
 * test's, bound there in the daemon's mount namespace), domains defined and started through
 * libvirt (virsh), the hook's work read back from the fake-kernel tree.
 *
 * The hook runs as the daemon's user (nobody here, root on a host), so the tree is made
 * writable for it. A domain whose hostdev names a partition cannot really start on this
 * machine (there is no such device): libvirt runs "prepare begin", then fails the start at
 * its own passthrough check, then runs "release end" (qemuProcessStop). So a start that
 * fails with libvirt's error, not the hook's, is a prepare that passed.
 *
 *   - 20 domains started at once: every start returns (no deadlock), every hook call exits
 *     0 within its bound, each domain reserved its own partition, and all were given back;
 *   - a partition another domain holds: the start fails with the hook's one line, the record
 *     stays (the failed start's release does not give back another domain's record);
 *   - an assign killed at its domain step leaves a journal with a domain edit: the hook
 *     refuses a start that needs a write, touching nothing;
 *   - and, since the daemon is there, `cluster check` against a libvirt on its own socket
 *     (issue 13's cluster tests: not only the test driver), then against it stopped.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon.h"
#include "hrun.h"
#include "wrun.h"

#define N_DOMS 20

static struct test_daemon dmn;
static virConnectPtr conn;
static char *tree, *logs;

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

/* The hook script: gpupart-fake on the test's tree, each call's status and time logged, and
 * after a prepare the records the domain then held. */
static void install(const char *hooks, void *data)
{
	char path[700];
	FILE *f;

	(void)data;
	snprintf(path, sizeof(path), "%s/qemu.d/gpupart", hooks);
	f = fopen(path, "w");
	cr_assert_not_null(f, "%s", path);
	fprintf(f,
		"#!/bin/sh\n"
		"t0=$(date +%%s%%N)\n"
		"e=%s/err.$1.$$\n"
		"%s --root %s -v hook qemu -- \"$@\" 2>$e\n"
		"rc=$?\n"
		"cat $e >&2\n"
		"echo \"$1 $2 $3 $rc $(( ($(date +%%s%%N) - t0) / 1000000 ))\" >> %s/calls\n"
		"if [ \"$2 $rc\" = 'prepare 0' ]; then\n"
		"  for r in %s/run/gpupart/reservations/*; do\n"
		"    grep -q \" domain=$1 \" \"$r\" 2>/dev/null && echo \"$1 took ${r##*/}\" >> %s/calls\n"
		"  done\n"
		"fi\n"
		"exit $rc\n",
		logs, fake_bin(), tree, logs, tree, logs);
	fclose(f);
	cr_assert_eq(chmod(path, 0755), 0);
}

static void chmod_all(const char *dir)
{
	char *cmd;

	cr_assert_geq(asprintf(&cmd, "chmod -R a+rwX %s", dir), 0);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
}

/* QEMU's capabilities, probed by the first test's daemon and reused by the next ones (the
 * probe is most of a daemon's first define: some 30 s under TCG here); the tests run one at
 * a time (CRITERION_JOBS=1, meson.build), and the runner removes it after the last. */
static void cache_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/lvd-cache-hook", test_tmpbase());
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char cache[512];

	(void)stats;
	cache_dir(cache, sizeof(cache));
	rm_tree(cache);
}

static void start_daemon(void)
{
	char cache[512];

	wsetup();
	virSetErrorFunc(NULL, quiet);
	logs = test_tmpdir("hooklog");
	cr_assert_eq(chmod(logs, 0777), 0);
	cache_dir(cache, sizeof(cache));
	cr_assert_eq(test_daemon_start_hooked(&dmn, test_tmpbase(), cache, install, NULL), 0,
		     "no test libvirt daemon");
	conn = virConnectOpen(dmn.uri);
	cr_assert_not_null(conn, "%s: %s", dmn.uri, virGetLastErrorMessage());
}

static void stop_daemon(void)
{
	if (conn)
		virConnectClose(conn);
	conn = NULL;
	test_daemon_stop(&dmn);
	h_free_owned();
	wteardown();
}

/* a16-vfio with GPUs 05 and 06 partitioned into 16 each (40 partitions), writable by the hook */
static void make_tree(void)
{
	struct run r;

	tree = wtree("a16-vfio");
	cr_assert_eq(gpf(&r, tree, "set-count", "0000:05:00.0", "0000:06:00.0", "16",
			 "--no-libvirt", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(tree); /* the tests count the hook's kernel writes only */
	chmod_all(tree);
}

static void setup(void)
{
	make_tree();
	start_daemon();
}

TestSuite(hook_daemon, .init = setup, .fini = stop_daemon, .timeout = 240);

/* "pci ADDR" devices as one <hostdev> each, with assign's alias. */
static void define(const char *name, int n, const char *uuid, const char *const *devs)
{
	char *xml, *hd = strdup(""), *t;
	virDomainPtr d;
	int i;

	for (i = 0; devs && devs[i]; i++) {
		unsigned dom, bus, slot, fn;
		char alias[64];

		cr_assert_eq(sscanf(devs[i], "%x:%x:%x.%x", &dom, &bus, &slot, &fn), 4);
		snprintf(alias, sizeof(alias), "ua-gpupart-%04x-%02x-%02x-%x", dom, bus, slot, fn);
		cr_assert_geq(asprintf(&t, "%s<hostdev mode='subsystem' type='pci' managed='no'>"
					   "<source><address domain='0x%04x' bus='0x%02x' "
					   "slot='0x%02x' function='0x%x'/></source>"
					   "<alias name='%s'/></hostdev>",
				       hd, dom, bus, slot, fn, alias), 0);
		free(hd);
		hd = t;
	}
	cr_assert_geq(asprintf(&xml,
			       "<domain type='qemu'><name>%s</name>"
			       "<uuid>%s%02d</uuid>"
			       "<memory unit='KiB'>131072</memory>"
			       "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
			       "<devices><controller type='pci' model='pcie-root'/>%s</devices>"
			       "</domain>", name, uuid, n, hd), 0);
	free(hd);
	d = virDomainDefineXML(conn, xml);
	free(xml);
	cr_assert_not_null(d, "define %s: %s", name, virGetLastErrorMessage());
	virDomainFree(d);
}

/* virsh start for each domain at once; their stderr into err[i]. */
static void start_all(const char *const *names, int n, char **err)
{
	pid_t *pid = calloc((size_t)n, sizeof(*pid));
	char path[700];
	int i, st;

	cr_assert_not_null(pid);
	for (i = 0; i < n; i++) {
		pid[i] = fork();
		cr_assert_geq(pid[i], 0);
		if (pid[i] == 0) {
			snprintf(path, sizeof(path), "%s/virsh.%d", logs, i);
			if (!freopen(path, "w", stderr) || !freopen("/dev/null", "w", stdout))
				_exit(126);
			execl("/usr/bin/virsh", "virsh", "-q", "-c", dmn.uri, "start", names[i],
			      (char *)NULL);
			_exit(127);
		}
	}
	for (i = 0; i < n; i++) {
		cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
		snprintf(path, sizeof(path), "%s/virsh.%d", logs, i);
		err[i] = slurp(path);
		cr_assert_not_null(err[i]);
	}
	free(pid);
}

static char *calls(void)
{
	char path[700], *s;

	snprintf(path, sizeof(path), "%s/calls", logs);
	s = slurp(path);
	return s ? s : strdup("");
}

/* A manifest without the line of the reservations directory itself (the records were
 * taken and given back: the empty directory stays). */
static char *without_records_dir(char *m)
{
	char *p = strstr(m, "run/gpupart/reservations d "), *nl;

	if (p && (p == m || p[-1] == '\n') && (nl = strchr(p, '\n')))
		memmove(p, nl + 1, strlen(nl + 1) + 1);
	return m;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

Test(hook_daemon, twenty_domains_started_at_once)
{
	char names[N_DOMS][16], devs[N_DOMS][16], *err[N_DOMS], *before, *log, line[128];
	const char *np[N_DOMS];
	int i, n;

	before = h_own(manifest(tree, M_STATE));
	for (i = 0; i < N_DOMS; i++) {
		const char *one[2] = { devs[i], NULL };

		/* 05's 16 partitions (VFs 05:00.4 - 05:02.3), then 06's first four */
		snprintf(devs[i], sizeof(devs[i]), "0000:%02x:%02x.%x", i < 16 ? 5 : 6,
			 ((i % 16) + 4) / 8, ((i % 16) + 4) % 8);
		snprintf(names[i], sizeof(names[i]), "many%02d", i);
		np[i] = names[i];
		define(names[i], i, "5a5a5a5a-0000-4000-8000-0000000000", one);
	}
	start_all(np, N_DOMS, err);
	log = calls();
	for (i = 0; i < N_DOMS; i++) {
		/* libvirt's own refusal, after the hook's prepare passed */
		cr_assert_null(strstr(err[i], "gpupart"), "%s: %s", names[i], err[i]);
		cr_assert(strstr(err[i], "error"), "%s started: %s", names[i], err[i]);
		snprintf(line, sizeof(line), "%s prepare begin 0 ", names[i]);
		cr_assert(strstr(log, line), "no prepare of %s:\n%s", names[i], log);
		snprintf(line, sizeof(line), "%s took %s\n", names[i], devs[i]);
		cr_assert(strstr(log, line), "%s did not reserve %s:\n%s", names[i], devs[i], log);
		snprintf(line, sizeof(line), "%s release end 0 ", names[i]);
		cr_assert(strstr(log, line), "no release of %s:\n%s", names[i], log);
		free(err[i]);
	}
	n = count(log, " took ");
	cr_assert_eq(n, N_DOMS, "%d reservations taken:\n%s", n, log);
	/* every call within its bound (60 s), and none near it */
	for (char *p = log; *p; p = strchr(p, '\n') + 1) {
		char dom[32], op[32], sub[32];
		int rc, ms;

		if (sscanf(p, "%31s %31s %31s %d %d", dom, op, sub, &rc, &ms) == 5)
			cr_assert_lt(ms, 30000, "%s %s took %d ms", dom, op, ms);
		if (!strchr(p, '\n'))
			break;
	}
	cr_assert_eq(n_records(tree), 0, "records left after every release:\n%s", log);
	assert_manifest_eq(without_records_dir(h_own(manifest(tree, M_STATE))), before, "twenty starts");
	cr_assert_eq(fklog_ops(tree), 0, "a kernel write");
	free(log);
}

Test(hook_daemon, a_start_on_another_domains_partition_fails_with_the_hooks_line)
{
	const char *dev[] = { "0000:05:00.4", NULL };
	const char *np[] = { "thief" };
	char *err[1], *rec, *log;

	put_record(tree, "0000:05:00.4", "77777777-0000-4000-8000-000000000001", "owner",
		   "0000:05:00.0", 0);
	chmod_all(tree);
	define("thief", 1, "66666666-0000-4000-8000-0000000000", dev);
	start_all(np, 1, err);
	cr_assert(strstr(err[0], "gpupart: hook: thief") && strstr(err[0], "0000:05:00.4") &&
		  strstr(err[0], "reserved by domain owner"), "%s", err[0]);
	free(err[0]);
	log = calls();
	cr_assert(strstr(log, "thief prepare begin 1 "), "%s", log);
	free(log);
	rec = record_of(tree, "0000:05:00.4");
	cr_assert(rec && strstr(rec, "domain=owner"), "the owner's record: %s", rec ? rec : "gone");
	free(rec);
}

/* "pci ADDR" of the record the killed assign wrote for the victim (h_own'ed). */
static char *victim_record(void)
{
	char cmd[800], line[700] = "", *dev;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "grep -l ' domain=victim ' %s/run/gpupart/reservations/*",
		 tree);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_not_null(fgets(line, sizeof(line) - 1, p), "no record of the victim");
	pclose(p);
	line[strcspn(line, "\n")] = 0;
	cr_assert_geq(asprintf(&dev, "pci %s", strrchr(line, '/') + 1), 0);
	return h_own(dev);
}

Test(hook_daemon, a_journal_holding_a_domain_edit_refuses_a_start)
{
	static const char *const kill_env[] = { "GP_FAKE_KILL_DOMAIN=1", NULL };
	const char *dev[] = { "0000:06:00.4", NULL };
	const char *np[] = { "later" };
	char *err[1], *before, *x, *victim_dev;
	struct hrun h;
	struct run r;

	define("victim", 1, "88888888-0000-4000-8000-0000000000", NULL);
	define("later", 2, "99999999-0000-4000-8000-0000000000", dev);
	gpf_env(&r, kill_env, tree, "assign", "victim", "--gpu", "0000:05:00.0", "--connect",
		dmn.uri, NULL);
	cr_assert_eq(r.status, 128 + 9, "assign was not killed: %d %s", r.status, r.err);
	run_free(&r);
	cr_assert(journal_present(tree));
	chmod_all(tree);
	before = h_own(manifest(tree, M_STRICT));
	start_all(np, 1, err);
	cr_assert(strstr(err[0], "gpupart: hook: later") && strstr(err[0], "gpupart repair"),
		  "%s", err[0]);
	free(err[0]);
	assert_manifest_eq(h_own(manifest(tree, M_STRICT)), before, "a start refused on a journal");
	cr_assert(journal_present(tree));
	/* the victim's own record may be that edit's: its start is refused too */
	victim_dev = victim_record();
	x = dom_xml("victim", "88888888-0000-4000-8000-000000000001", (const char *const[]){
			    victim_dev, NULL }, true, 0, false);
	cr_assert_eq(hook(&h, tree, x, "victim", "prepare", "begin", 0, NULL), 1, "%s", h.err);
	cr_assert(strstr(h.err, "gpupart repair"), "%s", h.err);
	hrun_free(&h);
	free(x);
	/* a domain that names nothing of gpupart's starts whatever is pending */
	x = dom_xml("nic", "12121212-0000-4000-8000-000000000001",
		    (const char *const[]){ "pci 0000:c2:00.0", NULL }, false, 0, false);
	cr_assert_eq(hook(&h, tree, x, "nic", "prepare", "begin", 0, NULL), 0, "%s", h.err);
	hrun_free(&h);
	free(x);
	assert_manifest_eq(h_own(manifest(tree, M_STRICT)), before, "hooks beside a journal");
}

/* cluster check against a libvirt daemon on its own socket (not only the test driver): the
 * daemon's node devices are this machine's, read over libvirt's remote protocol; this host
 * is the fixture tree. The machine has no partitionable GPU, so the daemon's host is read
 * (no error) with no GPU in the set, and the set's findings are the fixture's alone. */
Test(hook_daemon, cluster_check_reads_a_daemons_node_devices)
{
	struct json_object *j, *hosts, *h, *err, *gpus;
	char uri[sizeof(dmn.uri)];
	struct run r;

	run_gpupart(&r, tree, "cluster", "check", "--json", dmn.uri, NULL);
	cr_assert(r.status == 0 || r.status == 3, "exit %d: %s", r.status, r.err);
	j = json_tokener_parse(r.out);
	cr_assert_not_null(j, "%s", r.out);
	cr_assert(json_object_object_get_ex(j, "hosts", &hosts));
	cr_assert_eq(json_object_array_length(hosts), 2, "%s", r.out);
	h = json_object_array_get_idx(hosts, 1);
	cr_assert(json_object_object_get_ex(h, "error", &err));
	cr_assert_null(err, "the daemon's host could not be read: %s", r.out);
	cr_assert(json_object_object_get_ex(h, "gpus", &gpus));
	cr_assert_eq(json_object_array_length(gpus), 0, "%s", r.out);
	json_object_put(j);
	run_free(&r);
	/* the same daemon stopped: an error naming it, this host still reported */
	snprintf(uri, sizeof(uri), "%s", dmn.uri);
	virConnectClose(conn);
	conn = NULL;
	test_daemon_stop(&dmn);
	run_gpupart(&r, tree, "cluster", "check", "--json", uri, NULL);
	cr_assert_eq(r.status, 3, "exit %d: %s", r.status, r.err);
	j = json_tokener_parse(r.out);
	cr_assert_not_null(j, "%s", r.out);
	cr_assert(json_object_object_get_ex(j, "hosts", &hosts));
	h = json_object_array_get_idx(hosts, 1);
	cr_assert(json_object_object_get_ex(h, "error", &err) && err, "%s", r.out);
	cr_assert(strstr(r.out, "cluster-host-unreachable") && strstr(r.out, "libvirt-sock"),
		  "%s", r.out);
	h = json_object_array_get_idx(hosts, 0);
	cr_assert(json_object_object_get_ex(h, "gpus", &gpus) && json_object_array_length(gpus) > 0,
		  "this host not reported: %s", r.out);
	json_object_put(j);
	run_free(&r);
}
