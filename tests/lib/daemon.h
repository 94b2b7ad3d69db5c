/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A libvirt daemon of the test's own (libvirtd's QEMU driver, unprivileged), for suites that
 * need real libvirt to change domains (attach, detach; the issues after it). Why not
 * qemu:///embed or the system daemon: on a machine whose /dev/kvm exists but cannot run
 * guests, libvirt re-probes QEMU's capabilities on every call (about 10 s a call, 48 s a
 * define), embedded or not. This daemon runs in its own mount namespace with an empty file
 * bound over /dev/kvm, so QEMU is probed once, under TCG, and answers in milliseconds; as
 * user nobody, with HOME, XDG_* and its socket in a directory under $TMPDIR (the build tree),
 * so it touches nothing of the host's libvirt. Needs root (unshare, mount) and
 * /usr/sbin/libvirtd (package libvirt-daemon, scripts/deps.sh).
 */
#ifndef GP_TEST_DAEMON_H
#define GP_TEST_DAEMON_H

#include <sys/types.h>

struct test_daemon {
	pid_t pid;
	char dir[256];  /* its directory (removed by test_daemon_stop) */
	char uri[512];  /* qemu+unix:///session?socket=DIR/run/libvirt/libvirt-sock */
	char hooks[300]; /* with test_daemon_start_hooked: DIR/etc-libvirt/hooks, which the
			  * daemon sees as /etc/libvirt/hooks */
};

/* Starts one under @base (a directory of the test's); waits for its socket (10 s). 0, or -1
 * with the reason on stderr (and its log's tail). @cache: a directory shared between daemons
 * for QEMU's capabilities (NULL: its own), so that only the first probes. */
int test_daemon_start(struct test_daemon *d, const char *base, const char *cache);
/*
 * The same with a hooks directory of its own: libvirt reads hooks only from
 * SYSCONFDIR/libvirt/hooks (src/util/virhook.c), so the daemon's mount namespace has
 * DIR/etc-libvirt bound over /etc/libvirt (which must exist). @install(d->hooks, data) runs
 * before the daemon starts (the daemon looks for hooks once, at its start: virHookInitialize),
 * to put the scripts in qemu.d/.
 */
int test_daemon_start_hooked(struct test_daemon *d, const char *base, const char *cache,
			     void (*install)(const char *hooks, void *data), void *data);
/* Stops it (SIGTERM, then SIGKILL after 5 s), and removes its directory. */
void test_daemon_stop(struct test_daemon *d);

#endif
