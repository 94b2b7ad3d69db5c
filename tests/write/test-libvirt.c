/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A VF assigned to a libvirt domain blocks the change. The domain is defined through libvirt's
 * own API in the QEMU driver embedded at qemu:///embed?root=DIR (no daemon, no virsh), in a
 * process that then exits; gpupart-fake opens the same embedded root after it (an embedded
 * root is usable by one process at a time, one after another is fine). As root the embedded
 * driver wants the 'libvirt-qemu' user, so both run as 'nobody' (see tests/virt).
 *
 * And a libvirt that never answers (a socket that accepts and stays silent, as a
 * socket-activated libvirtd waiting for the boot unit does) or is not there at all, named by
 * --connect: exit 1 within --libvirt-timeout and nothing changed; --no-libvirt asks nothing.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
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

/* ---- a libvirt that never answers, or is not there ---- */

static char sockdir[32];

static void rm_sockdir(void)
{
	char p[64];

	snprintf(p, sizeof(p), "%s/sock", sockdir);
	unlink(p);
	rmdir(sockdir);
	wteardown();
}

/* A unix socket that listens and never accepts: connect() succeeds through the backlog, and
 * libvirt's first call is never answered. The fd, and its URI in uri. */
static int silent_libvirt(char *uri, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sockdir, "/tmp/gpls.XXXXXX"); /* short: sun_path has 108 bytes */
	cr_assert_not_null(mkdtemp(sockdir));
	cr_assert_geq(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", sockdir);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	cr_assert_eq(listen(fd, 16), 0);
	snprintf(uri, len, "qemu+unix:///system?socket=%s", a.sun_path);
	return fd;
}

/* @args on @root: exit 1 within @max_s seconds, @needle on stderr, the host untouched (a dry
 * run: the whole tree, byte for byte; else all but the lock file a real run creates). */
static void refused_untouched(const char *root, const char *const *args, double max_s,
			      const char *needle)
{
	int mode = strcmp(args[0], "-n") == 0 ? M_STRICT : M_STATE;
	char *before = manifest(root, mode), *after;
	struct run r;
	double t0 = t_now(), t;

	fklog_reset(root);
	gpf_v(&r, NULL, root, args);
	t = t_now() - t0;
	cr_assert_eq(r.status, 1, "%s %s: exit %d\n%s", args[0], args[1], r.status, r.err);
	cr_assert(strstr(r.err, needle), "stderr should say '%s': %s", needle, r.err);
	cr_assert(t < max_s, "%s: %.1f s, more than %.1f", args[0], t, max_s);
	cr_log_info("%s ... %s: exit 1 after %.2f s", args[0], needle, t);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "a write happened:\n%s", fklog(root));
	after = manifest(root, mode);
	assert_manifest_eq(after, before, "after the libvirt failure");
	free(before);
	free(after);
}

/*
 * The boot deadlock of issue 8: a libvirt socket that accepts and never answers. set-count
 * and apply (dry run or not) give up after --libvirt-timeout with exit 1, changing nothing;
 * apply --no-libvirt (what gpupart-apply.service runs) never asks and does its work.
 */
Test(write_libvirt, connect_that_never_answers, .fini = rm_sockdir)
{
	char *root = wtree("sriov-off"), uri[160], *numvfs;
	struct run r;
	int fd = silent_libvirt(uri, sizeof(uri));

	/* a recorded count of 2 that the host does not have: apply has work to do */
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", "--no-libvirt", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.err, "libvirt"), "--no-libvirt says nothing: %s", r.err);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "0", "--runtime", "--no-libvirt", NULL), 0,
		     "%s", r.err);
	run_free(&r);
	numvfs = rd(root, "sys/bus/pci/devices/" NVME "/sriov_numvfs");
	cr_assert_str_eq(numvfs, "0");
	free(numvfs);

	{
		const char *a[] = { "--connect", uri, "--libvirt-timeout", "0.5", "set-count", NVME,
				    "4", NULL };
		refused_untouched(root, a, 5, "did not answer in time");
	}
	{
		const char *a[] = { "-n", "--connect", uri, "--libvirt-timeout=0.3", "set-count",
				    NVME, "4", NULL };
		refused_untouched(root, a, 5, "did not answer in time");
	}
	{
		const char *a[] = { "apply", "--connect", uri, "--libvirt-timeout", "0.5", NULL };
		refused_untouched(root, a, 5, "did not answer in time");
	}
	cr_assert_eq(gpf(&r, root, "apply", "--no-libvirt", NULL), 0, "%s", r.err);
	cr_assert_null(strstr(r.err, "libvirt"), "--no-libvirt says nothing: %s", r.err);
	run_free(&r);
	numvfs = rd(root, "sys/bus/pci/devices/" NVME "/sriov_numvfs");
	cr_assert_str_eq(numvfs, "2");
	free(numvfs);
	close(fd);
}

/* A libvirt named by --connect that is not there is an error, not the warning the default
 * URI gets: the user asked that libvirt, and it cannot say who holds the partitions. */
Test(write_libvirt, connect_unreachable_is_an_error)
{
	char *root = wtree("sriov-off");
	const char *a[] = { "--connect", "qemu+unix:///system?socket=/nonexistent/gp.sock",
			    "set-count", NVME, "2", NULL };
	const char *dry[] = { "-n", "--connect", "qemu+unix:///system?socket=/nonexistent/gp.sock",
			      "set-count", NVME, "2", NULL };

	refused_untouched(root, a, 10, "cannot be reached");
	refused_untouched(root, dry, 10, "/nonexistent/gp.sock");
}
