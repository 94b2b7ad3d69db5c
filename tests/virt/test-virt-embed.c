/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The real QEMU driver, embedded in the test process (qemu:///embed?root=DIR): domains are
 * defined with virDomainDefineXML (a PCI hostdev need not exist on this host to be defined;
 * only starting the domain would look for it), then gp_virt_find_users must find exactly the
 * ones that name a device, and forget an undefined one.
 *
 * As root the embedded driver runs privileged and wants the 'libvirt-qemu' user that only
 * libvirt-daemon-system creates; the test drops to 'nobody' instead, which makes it an
 * unprivileged driver whose every file lives under the temp root and $HOME/$XDG_* there.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "helpers.h"

#define UUID_B "22222222-2222-4333-8444-555555555555"
#define UUID_C "33333333-2222-4333-8444-555555555555"

static const char *const pci_q[] = { "0000:43:00.4", "0000:43:00.5" };
static const char *const mdev_q[] = { MDEV_UUID };

static const char dom_a[] =
	"<domain type='qemu'><name>gp-a</name><uuid>" UUID_A "</uuid><memory>65536</memory>"
	"<os><type arch='x86_64'>hvm</type></os><devices>"
	"<hostdev mode='subsystem' type='pci' managed='yes'><source>"
	"<address domain='0x0000' bus='0x43' slot='0x00' function='0x4'/></source></hostdev>"
	"<interface type='hostdev' managed='yes'><mac address='52:54:00:6d:90:02'/><source>"
	"<address type='pci' domain='0x0000' bus='0x43' slot='0x00' function='0x5'/></source>"
	"</interface></devices></domain>";
static const char dom_b[] =
	"<domain type='qemu'><name>gp-b</name><uuid>" UUID_B "</uuid><memory>65536</memory>"
	"<os><type arch='x86_64'>hvm</type></os><devices>"
	"<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
	"<address uuid='C2177883-F1BB-47F0-914D-32A22E3A8804'/></source></hostdev>"
	"</devices></domain>";
static const char dom_c[] =
	"<domain type='qemu'><name>gp-c</name><uuid>" UUID_C "</uuid><memory>65536</memory>"
	"<os><type arch='x86_64'>hvm</type></os></domain>";

static char uri[128];

static void embed_setup(void)
{
	static const char *const sub[][2] = {
		{ "HOME", "home" }, { "XDG_CACHE_HOME", "home/.cache" },
		{ "XDG_CONFIG_HOME", "home/.config" }, { "XDG_DATA_HOME", "home/.local/share" },
		{ "XDG_RUNTIME_DIR", "home/run" },
	};
	char path[128];
	size_t i;

	if (geteuid() == 0) {
		struct passwd *pw = getpwnam("nobody");
		uid_t uid = pw ? pw->pw_uid : 65534;
		gid_t gid = pw ? pw->pw_gid : 65534;

		cr_assert(setgroups(0, NULL) == 0 && setgid(gid) == 0 && setuid(uid) == 0,
			  "cannot drop to nobody: %s", strerror(errno));
	}
	mk_tmpdir();
	for (i = 0; i < N(sub); i++) {
		snprintf(path, sizeof(path), "%s/%s", tmpdir, sub[i][1]);
		setenv(sub[i][0], path, 1);
	}
	snprintf(uri, sizeof(uri), "qemu:///embed?root=%s/root", tmpdir);
}

static void *app_loop(void *data)
{
	for (;;)
		virEventRunDefaultImpl();
	return NULL;
}

static void define(virConnectPtr c, const char *xml)
{
	virDomainPtr d = virDomainDefineXML(c, xml);

	cr_assert(d, "define: %s", virGetLastErrorMessage());
	virDomainFree(d);
}

/*
 * The library registers the event loop itself (nothing else here did), and nothing is
 * printed, whether by gpupart, libvirt or the QEMU driver in this process.
 */
Test(virt, embed_define_find_undefine, .init = embed_setup, .fini = rm_tmpdir, .timeout = 90)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u;
	virConnectPtr conn;
	virDomainPtr d;
	double t0, t_open, t_def, t_find;
	struct cap cap;
	char *err;
	int n;

	cap_begin(&cap);
	t0 = now();
	n = gp_virt_find_users(ctx, uri, 0, pci_q, N(pci_q), mdev_q, N(mdev_q), &u);
	t_open = now() - t0;
	cr_assert_eq(n, 0, "n=%d log: %s", n, logbuf);
	gp_virt_uses_free(u, n);

	/* a second, writable connection: the driver is already up in this process */
	conn = virConnectOpen(uri);
	cr_assert(conn, "open %s: %s", uri, virGetLastErrorMessage());
	t0 = now();
	define(conn, dom_a);
	t_def = now() - t0; /* the first define probes the emulator's capabilities */
	define(conn, dom_b);
	define(conn, dom_c);

	t0 = now();
	n = gp_virt_find_users(ctx, uri, 0, pci_q, N(pci_q), mdev_q, N(mdev_q), &u);
	t_find = now() - t0;
	cr_assert_eq(n, 3, "n=%d log: %s", n, logbuf);
	cr_expect_str_eq(find_use(u, n, "gp-a", "0000:43:00.4") ?: "", UUID_A);
	cr_expect_str_eq(find_use(u, n, "gp-a", "0000:43:00.5") ?: "", UUID_A);
	cr_expect_str_eq(find_use(u, n, "gp-b", MDEV_UUID) ?: "", UUID_B);
	for (int i = 0; i < n; i++)
		cr_expect_not(u[i].active, "%s is only defined", u[i].domain);
	gp_virt_uses_free(u, n);

	d = virDomainLookupByName(conn, "gp-a");
	cr_assert(d);
	cr_assert_eq(virDomainUndefine(d), 0, "%s", virGetLastErrorMessage());
	virDomainFree(d);
	n = gp_virt_find_users(ctx, uri, 0, pci_q, N(pci_q), mdev_q, N(mdev_q), &u);
	cr_assert_eq(n, 1, "n=%d log: %s", n, logbuf);
	cr_expect_str_eq(u[0].domain, "gp-b");
	cr_expect_str_eq(u[0].device, MDEV_UUID);
	gp_virt_uses_free(u, n);
	virConnectClose(conn);

	err = cap_end(&cap);
	cr_expect_str_empty(err, "stderr: %s", err);
	cr_log_info("embed: first find_users (driver start, empty root) %.0f ms, first define "
		    "(capability probe) %.0f ms, find_users over 3 domains %.1f ms",
		    t_open * 1e3, t_def * 1e3, t_find * 1e3);
	gp_ctx_free(ctx);
}

/* The application runs its own event loop: the library uses it and registers none. */
Test(virt, embed_app_event_loop, .init = embed_setup, .fini = rm_tmpdir, .timeout = 90)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u;
	virConnectPtr conn;
	pthread_t th;
	int n;

	cr_assert_eq(virEventRegisterDefaultImpl(), 0);
	cr_assert_eq(pthread_create(&th, NULL, app_loop, NULL), 0);
	conn = virConnectOpen(uri);
	cr_assert(conn, "open %s: %s", uri, virGetLastErrorMessage());
	define(conn, dom_b);
	n = gp_virt_find_users(ctx, uri, 0, NULL, 0, mdev_q, N(mdev_q), &u);
	cr_assert_eq(n, 1, "n=%d log: %s", n, logbuf);
	cr_expect_str_eq(u[0].uuid, UUID_B);
	gp_virt_uses_free(u, n);
	virConnectClose(conn);
	gp_ctx_free(ctx);
}

/*
 * A driver that cannot start (its root cannot be created) is an error, not "no libvirt", and
 * libvirt's own log line about it ("Initialization of QEMU state driver failed") stays off
 * stderr.
 */
Test(virt, embed_failure_is_eio_and_silent, .timeout = 30)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u = (void *)1;
	struct cap cap;
	char *err;
	int r;

	cap_begin(&cap);
	r = gp_virt_find_users(ctx, "qemu:///embed?root=/dev/null/gp", 0, pci_q, N(pci_q), NULL, 0,
			       &u);
	err = cap_end(&cap);
	cr_expect_eq(r, -EIO, "r=%d log: %s", r, logbuf);
	cr_expect_null(u);
	cr_expect(strstr(logbuf, "<3>libvirt: cannot connect to qemu:///embed"), "log: %s", logbuf);
	cr_expect_str_empty(err, "stderr: %s", err);
	gp_ctx_free(ctx);
}
