/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VF assigned to a libvirt domain blocks the change. The domain is defined through libvirt's
 * own API in the QEMU driver embedded at qemu:///embed?root=DIR (no daemon, no virsh), in a
 * process that then exits; gpupart-fake opens the same embedded root after it (an embedded
 * root is usable by one process at a time, one after another is fine). As root the embedded
 * driver wants the 'libvirt-qemu' user, so both run as 'nobody' (see tests/virt).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <criterion/logging.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "wrun.h"

TestSuite(write_libvirt, .init = wsetup, .fini = wteardown, .timeout = 90);

static const char dom_xml[] =
	"<domain type='qemu'><name>gp-vm</name><uuid>44444444-2222-4333-8444-555555555555</uuid>"
	"<memory>65536</memory><os><type arch='x86_64'>hvm</type></os><devices>"
	"<hostdev mode='subsystem' type='pci' managed='no'><source>"
	"<address domain='0x0000' bus='0x03' slot='0x00' function='0x1'/></source></hostdev>"
	"</devices></domain>";

static void become_nobody(const char *home)
{
	static const char *const sub[][2] = {
		{ "HOME", "" }, { "XDG_CACHE_HOME", "/.cache" }, { "XDG_CONFIG_HOME", "/.config" },
		{ "XDG_DATA_HOME", "/.local/share" }, { "XDG_RUNTIME_DIR", "/run" },
	};
	char path[512];

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		uid_t uid = pw ? pw->pw_uid : 65534;
		gid_t gid = pw ? pw->pw_gid : 65534;

		if (setgroups(0, NULL) || setgid(gid) || setuid(uid))
			_exit(120);
	}
	for (size_t i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", home, sub[i][1]);
		setenv(sub[i][0], path, 1);
	}
}

/* Drops the manifest lines of home/ (libvirt's state) in place. */
static void strip_home(char *m)
{
	char *w = m;

	for (char *l = m; *l;) {
		size_t n = strcspn(l, "\n") + 1;

		if (strncmp(l, "home", 4) != 0) {
			memmove(w, l, n);
			w += n;
		}
		l += n;
		if (l[-1] == 0)
			break;
	}
	*w = 0;
}

static double t_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int wait_status(pid_t pid)
{
	int st;

	cr_assert_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

Test(write_libvirt, vf_of_a_defined_domain)
{
	char *root = wtree("sriov-off"), *home = NULL, *uri = NULL, *cmd, *before, *after;
	char errf[] = "/tmp/gpw-lv-XXXXXX";
	struct run r;
	pid_t pid;
	int st, fd;
	double t0;

	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	/* a short home: the driver puts sockets beneath it */
	home = strdup("/tmp/gpl.XXXXXX");
	cr_assert_not_null(mkdtemp(home));
	cr_assert_geq(asprintf(&uri, "qemu:///embed?root=%s/lv", home), 0);
	cr_assert_geq(asprintf(&cmd, "mkdir -p %s/run && chown -R nobody %s", home, home), 0);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	/* everything below the tree becomes nobody's: the tool writes its lock there */
	cr_assert_geq(asprintf(&cmd, "chown -R nobody '%s' && chmod 755 '%s'", root, root), 0);
	cr_assert_eq(system(cmd), 0);
	free(cmd);

	t0 = t_now();
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		virConnectPtr c;
		virDomainPtr d;

		become_nobody(home);
		if (virEventRegisterDefaultImpl() < 0)
			_exit(3);
		c = virConnectOpen(uri);
		if (!c) {
			fprintf(stderr, "open %s: %s\n", uri, virGetLastErrorMessage());
			_exit(1);
		}
		d = virDomainDefineXML(c, dom_xml);
		if (!d) {
			fprintf(stderr, "define: %s\n", virGetLastErrorMessage());
			_exit(2);
		}
		virDomainFree(d);
		virConnectClose(c);
		_exit(0);
	}
	st = wait_status(pid);
	cr_assert_eq(st, 0, "defining the domain failed (%d)", st);
	/* ~40 s in this container, in open or define (the virt suite's first define is as slow
	 * in a fresh root); the tool's own look afterwards takes milliseconds */
	cr_log_info("define (driver start, capability probe): %.1f s", t_now() - t0);
	t0 = t_now();

	before = manifest(root, M_STATE);
	fd = mkstemp(errf);
	cr_assert_geq(fd, 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		become_nobody(home);
		dup2(fd, 2);
		dup2(open("/dev/null", O_WRONLY), 1);
		execl(fake_bin(), fake_bin(), "-r", root, "--connect", uri, "set-count", NVME, "4",
		      (char *)NULL);
		_exit(127);
	}
	st = wait_status(pid);
	cr_log_info("gpupart-fake --connect: %.1f s", t_now() - t0);
	close(fd);
	{
		char *err = slurp(errf);

		unlink(errf);
		cr_assert_eq(st, 1, "exit %d:\n%s", st, err);
		cr_assert(strstr(err, "refusing: partitions are assigned") &&
				  strstr(err, "0000:03:00.1 is assigned to VM gp-vm (defined)"),
			  "%s", err);
		free(err);
	}
	cr_assert_eq(fklog_ops(root), 0);
	after = manifest(root, M_STATE);
	/* the host is untouched; libvirt's own files under home/ may change (its driver state) */
	strip_home(before);
	strip_home(after);
	assert_manifest_eq(after, before, "after the libvirt refusal (home/ aside)");
	free(before);
	free(after);
	cr_assert_geq(asprintf(&cmd, "rm -rf '%s'", home), 0);
	if (system(cmd) != 0)
		cr_log_warn("could not remove %s", home);
	free(cmd);
	free(home);
	free(uri);
}
