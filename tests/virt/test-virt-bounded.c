/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gp_virt_find_users is bounded in time: the conversation with libvirt runs in a child that
 * is killed when the time is up. This program does not link libvirt (test-virt does), so the
 * library takes its child path here, as in the gpupart binary: a socket that accepts and
 * never answers times out (nothing printed, no child left, libvirt never loaded in this
 * process), a named URI that is not there is an error and the default one is not, answers
 * (uses and log lines) come back whole from the child, and the child dies with its caller.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers.h"

static const char *const pci_q[] = { "0000:43:00.4", "0000:43:00.5" };
static const char *const mdev_q[] = { MDEV_UUID };

static bool libvirt_loaded(void)
{
	void *h = dlopen("libvirt.so.0", RTLD_NOW | RTLD_NOLOAD);

	if (h)
		dlclose(h);
	return h != NULL;
}

/* No child of this process is left, running or unreaped. */
static void assert_no_children(void)
{
	pid_t w = waitpid(-1, NULL, WNOHANG);

	cr_assert(w < 0 && errno == ECHILD, "a child is left behind (waitpid: %d)", (int)w);
}

/* A unix socket in tmpdir that listens and never accepts: connect() succeeds (the backlog
 * takes it), and nothing ever answers libvirt's first call. Its URI into uri. */
static int hanging_socket(char *uri, size_t len)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s/sock", tmpdir);
	cr_assert_eq(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0, "%s", strerror(errno));
	cr_assert_eq(listen(fd, 8), 0);
	snprintf(uri, len, "qemu+unix:///system?socket=%s", a.sun_path);
	return fd;
}

Test(virt_bounded, hanging_socket_times_out, .init = mk_tmpdir, .fini = rm_tmpdir,
     .timeout = 30)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u = (void *)1;
	char uri[160];
	struct cap cap;
	double t0, t;
	char *err;
	int fd, r;

	fd = hanging_socket(uri, sizeof(uri));
	cap_begin(&cap);
	t0 = now();
	r = gp_virt_find_users(ctx, uri, 500, pci_q, N(pci_q), mdev_q, N(mdev_q), &u);
	t = now() - t0;
	err = cap_end(&cap);
	cr_log_info("hanging socket, 0.5 s bound: gave up after %.3f s", t);
	cr_expect_eq(r, -ETIMEDOUT, "r=%d log: %s", r, logbuf);
	cr_expect_null(u);
	cr_expect(t >= 0.45 && t < 3, "took %.3f s for a 0.5 s bound", t);
	cr_expect(strstr(logbuf, "<3>libvirt: no answer from qemu+unix:///system?socket="),
		  "log: %s", logbuf);
	cr_expect(strstr(logbuf, "within 0.500 s"), "log: %s", logbuf);
	cr_expect_str_empty(err, "stderr: %s", err);
	cr_expect_not(libvirt_loaded(), "the caller loaded libvirt");
	assert_no_children();
	close(fd);
	gp_ctx_free(ctx);
}

/* A URI the caller named that is not there: an error, logged as one. */
Test(virt_bounded, named_uri_unreachable_is_an_error)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u = (void *)1;
	struct cap cap;
	char *err;
	int r;

	cap_begin(&cap);
	r = gp_virt_find_users(ctx, "qemu+unix:///system?socket=/nonexistent/sock", 0, pci_q,
			       N(pci_q), NULL, 0, &u);
	err = cap_end(&cap);
	cr_expect_eq(r, -ECONNREFUSED, "r=%d log: %s", r, logbuf);
	cr_expect_null(u);
	cr_expect(strstr(logbuf, "<3>libvirt: no connection to qemu+unix:///system"), "log: %s",
		  logbuf);
	cr_expect_str_empty(err, "stderr: %s", err);
	cr_expect_not(libvirt_loaded());
	assert_no_children();
	gp_ctx_free(ctx);
}

/* The default URI with nothing behind it: a host without libvirt, said at info only. */
Test(virt_bounded, default_uri_unreachable_is_info)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u = (void *)1;
	int r;

	setenv("LIBVIRT_DEFAULT_URI", "qemu+unix:///system?socket=/nonexistent/default", 1);
	r = gp_virt_find_users(ctx, NULL, 0, pci_q, N(pci_q), NULL, 0, &u);
	unsetenv("LIBVIRT_DEFAULT_URI");
	cr_expect_eq(r, -ECONNREFUSED, "r=%d log: %s", r, logbuf);
	cr_expect_null(u);
	cr_expect(strstr(logbuf, "<6>libvirt: no connection to the default URI"), "log: %s",
		  logbuf);
	cr_expect(strstr(logbuf, "/nonexistent/default"), "log: %s", logbuf);
	cr_expect_null(strstr(logbuf, "<3>"), "log: %s", logbuf);
	gp_ctx_free(ctx);
}

/*
 * What the child finds comes back whole: every use (a domain name with a tab, quotes and
 * UTF-8 in it, active or not) and the child's log lines, through the caller's context.
 */
Test(virt_bounded, answer_comes_back_whole, .init = mk_tmpdir, .fini = rm_tmpdir)
{
	static const char node[] =
		"<node>"
		"<domain type='test'><name>gp run\t\"q\" &amp; \xc3\xbc</name><uuid>" UUID_A
		"</uuid><memory>65536</memory><os><type>hvm</type></os><devices>"
		"<hostdev mode='subsystem' type='pci' managed='yes'><source><address "
		"domain='0x0000' bus='0x43' slot='0x00' function='0x4'/></source></hostdev>"
		"<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source><address uuid='" MDEV_UUID
		"'/></source></hostdev>"
		"</devices></domain>"
		"<domain type='test'><name>gp-plain</name><memory>65536</memory>"
		"<os><type>hvm</type></os><devices><hostdev mode='subsystem' type='pci'>"
		"<source><address bus='0x43' slot='0' function='5'/></source></hostdev>"
		"</devices></domain>"
		"</node>";
	char path[128], uri[160];
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u;
	const char *name = "gp run\t\"q\" & \xc3\xbc";
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/node.xml", tmpdir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(node, f);
	fclose(f);
	snprintf(uri, sizeof(uri), "test://%s", path);
	n = gp_virt_find_users(ctx, uri, 0, pci_q, N(pci_q), mdev_q, N(mdev_q), &u);
	cr_assert_eq(n, 3, "n=%d log: %s", n, logbuf);
	cr_expect_str_eq(find_use(u, n, name, "0000:43:00.4") ?: "", UUID_A);
	cr_expect_str_eq(find_use(u, n, name, MDEV_UUID) ?: "", UUID_A);
	cr_expect_not_null(find_use(u, n, "gp-plain", "0000:43:00.5"));
	for (int i = 0; i < n; i++)
		cr_expect(u[i].active, "%s: the test driver runs its domains", u[i].domain);
	cr_expect(strstr(logbuf, "<7>libvirt: 2 domains on test://"), "log: %s", logbuf);
	cr_expect_not(libvirt_loaded());
	assert_no_children();
	gp_virt_uses_free(u, n);
	gp_ctx_free(ctx);
}

/*
 * The child dies with its caller: a caller killed while libvirt is being asked leaves no
 * process behind talking to libvirt (the connection the listener accepted ends).
 */
Test(virt_bounded, child_dies_with_its_caller, .init = mk_tmpdir, .fini = rm_tmpdir,
     .timeout = 30)
{
	char uri[160], buf[4096];
	int lfd, cfd, st;
	double t0;
	pid_t pid;

	lfd = hanging_socket(uri, sizeof(uri));
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct gp_ctx *ctx;
		struct gp_virt_use *u;

		if (gp_ctx_new("/", &ctx) < 0)
			_exit(2);
		gp_virt_find_users(ctx, uri, 60000, pci_q, N(pci_q), NULL, 0, &u);
		_exit(1);
	}
	/* the libvirt child connects: accept it, then kill its caller */
	{
		struct pollfd p = { .fd = lfd, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, 10000), 1, "libvirt never connected");
	}
	cfd = accept(lfd, NULL, NULL);
	cr_assert_geq(cfd, 0);
	kill(pid, SIGKILL);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	t0 = now();
	for (;;) {
		struct pollfd p = { .fd = cfd, .events = POLLIN };
		ssize_t n;

		cr_assert_eq(poll(&p, 1, 5000), 1, "the libvirt child outlived its caller");
		n = read(cfd, buf, sizeof(buf));
		if (n <= 0)
			break;
	}
	cr_log_info("the connection ended %.0f ms after its caller was killed",
		    (now() - t0) * 1e3);
	close(cfd);
	close(lfd);
}
