/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A libvirt daemon of the test's own: see daemon.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"

#define LIBVIRTD "/usr/sbin/libvirtd"

static int mkdir_p(const char *path)
{
	char buf[512];
	char *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0777) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0777) < 0 && errno != EEXIST ? -1 : 0;
}

/* In the child: a private mount namespace, /dev/kvm hidden, user nobody, libvirtd. */
static void child(const struct test_daemon *d, const char *cache, uid_t uid, gid_t gid)
{
	static const char *const sub[][2] = {
		{ "HOME", "home" }, { "XDG_CONFIG_HOME", "home/.config" },
		{ "XDG_DATA_HOME", "home/.local/share" }, { "XDG_RUNTIME_DIR", "run" },
	};
	const char *root;
	char path[600];
	size_t i;
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setsid();
	if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		perror("test daemon: private mount namespace");
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/kvm", d->dir);
	if (access("/dev/kvm", F_OK) == 0 && mount(path, "/dev/kvm", NULL, MS_BIND, NULL) < 0) {
		perror("test daemon: hiding /dev/kvm");
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/etc-libvirt", d->dir);
	if (d->hooks[0] && mount(path, "/etc/libvirt", NULL, MS_BIND, NULL) < 0) {
		perror("test daemon: its own /etc/libvirt/hooks");
		_exit(127);
	}
	/*
	 * The daemon sees its directory as /mnt: QEMU's monitor socket lives at
	 * $XDG_CONFIG_HOME/libvirt/qemu/lib/domain-ID-NAME/monitor.sock, which under a
	 * checkout's build directory outgrew sockaddr_un's 108 bytes once the domain ID
	 * reached two digits ("UNIX socket path ... too long": the start failed). The
	 * test reaches the same files through d->dir.
	 */
	root = d->dir;
	if (mount(d->dir, "/mnt", NULL, MS_BIND, NULL) == 0)
		root = "/mnt";
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", root, sub[i][1]);
		setenv(sub[i][0], path, 1);
	}
	setenv("XDG_CACHE_HOME", cache, 1);
	unsetenv("LIBVIRT_DEFAULT_URI");
	snprintf(path, sizeof(path), "%s/log", d->dir);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0666);
	if (fd >= 0) {
		dup2(fd, 1);
		dup2(fd, 2);
		close(fd);
	}
	if (setgroups(0, NULL) < 0 || setgid(gid) < 0 || setuid(uid) < 0) {
		perror("test daemon: becoming nobody");
		_exit(127);
	}
	execl(LIBVIRTD, "libvirtd", (char *)NULL);
	perror("test daemon: " LIBVIRTD);
	_exit(127);
}

static void show_log(const struct test_daemon *d)
{
	char path[600], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/log", d->dir);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return;
	if (lseek(fd, 0, SEEK_END) > (off_t)sizeof(buf) - 1)
		lseek(fd, -(off_t)sizeof(buf) + 1, SEEK_END);
	else
		lseek(fd, 0, SEEK_SET);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n > 0) {
		buf[n] = '\0';
		fprintf(stderr, "test daemon log:\n%s\n", buf);
	}
}

static int start(struct test_daemon *d, const char *base, const char *cache,
		 void (*install)(const char *hooks, void *data), void *data)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	char path[600], own_cache[600];
	struct timespec t = { 0, 50 * 1000 * 1000 };
	int i, fd;

	memset(d, 0, sizeof(*d));
	if (access(LIBVIRTD, X_OK) < 0) {
		fprintf(stderr, "test daemon: no %s (install libvirt-daemon: scripts/deps.sh)\n",
			LIBVIRTD);
		return -1;
	}
	/* short: the socket path must fit sockaddr_un's 108 bytes */
	snprintf(d->dir, sizeof(d->dir), "%s/lvd-XXXXXX", base);
	if (!mkdtemp(d->dir) || chmod(d->dir, 0777) < 0) {
		perror("test daemon: its directory");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/run", d->dir);
	mkdir_p(path);
	snprintf(path, sizeof(path), "%s/home/.config", d->dir);
	mkdir_p(path);
	snprintf(path, sizeof(path), "%s/home", d->dir);
	chmod(path, 0777);
	snprintf(path, sizeof(path), "%s/home/.config", d->dir);
	chmod(path, 0777);
	snprintf(path, sizeof(path), "%s/run", d->dir);
	chmod(path, 0777);
	snprintf(path, sizeof(path), "%s/kvm", d->dir);
	fd = open(path, O_WRONLY | O_CREAT, 0666);
	if (fd >= 0)
		close(fd);
	if (!cache) {
		snprintf(own_cache, sizeof(own_cache), "%s/cache", d->dir);
		cache = own_cache;
	}
	if (mkdir_p(cache) < 0 || chmod(cache, 0777) < 0) {
		perror("test daemon: its cache");
		return -1;
	}
	snprintf(d->uri, sizeof(d->uri),
		 "qemu+unix:///session?socket=%s/run/libvirt/libvirt-sock", d->dir);
	if (install) {
		snprintf(d->hooks, sizeof(d->hooks), "%s/etc-libvirt/hooks/qemu.d", d->dir);
		if (mkdir_p(d->hooks) < 0) {
			perror("test daemon: its hooks directory");
			return -1;
		}
		snprintf(d->hooks, sizeof(d->hooks), "%s/etc-libvirt/hooks", d->dir);
		snprintf(path, sizeof(path), "%s/etc-libvirt", d->dir);
		chmod(path, 0755);
		install(d->hooks, data);
	}
	d->pid = fork();
	if (d->pid < 0)
		return -1;
	if (d->pid == 0)
		child(d, cache, uid, gid);
	snprintf(path, sizeof(path), "%s/run/libvirt/libvirt-sock", d->dir);
	for (i = 0; i < 200; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = 0;
			break;
		}
		nanosleep(&t, NULL);
	}
	fprintf(stderr, "test daemon: no socket at %s\n", path);
	show_log(d);
	test_daemon_stop(d);
	return -1;
}

int test_daemon_start(struct test_daemon *d, const char *base, const char *cache)
{
	return start(d, base, cache, NULL, NULL);
}

int test_daemon_start_hooked(struct test_daemon *d, const char *base, const char *cache,
			     void (*install)(const char *hooks, void *data), void *data)
{
	return start(d, base, cache, install, data);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* QEMU processes the daemon started outlive it (they are daemons): killed by their pid files */
static void kill_guests(const struct test_daemon *d)
{
	char path[600], buf[32];
	struct dirent *e;
	DIR *dir;

	snprintf(path, sizeof(path), "%s/run/libvirt/qemu/run", d->dir);
	dir = opendir(path);
	while (dir && (e = readdir(dir))) {
		size_t l = strlen(e->d_name);
		ssize_t n;
		int fd;

		if (l < 5 || strcmp(e->d_name + l - 4, ".pid"))
			continue;
		snprintf(path, sizeof(path), "%s/run/libvirt/qemu/run/%s", d->dir, e->d_name);
		fd = open(path, O_RDONLY);
		n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
		if (fd >= 0)
			close(fd);
		if (n > 0) {
			buf[n] = '\0';
			if (atoi(buf) > 1)
				kill(atoi(buf), SIGKILL);
		}
	}
	if (dir)
		closedir(dir);
}

void test_daemon_stop(struct test_daemon *d)
{
	struct timespec t = { 0, 50 * 1000 * 1000 };
	int i;

	if (d->dir[0])
		kill_guests(d);
	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		for (i = 0; i < 100 && waitpid(d->pid, NULL, WNOHANG) != d->pid; i++)
			nanosleep(&t, NULL);
		if (i == 100) {
			kill(d->pid, SIGKILL);
			waitpid(d->pid, NULL, 0);
		}
		d->pid = 0;
	}
	if (d->dir[0])
		nftw(d->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	d->dir[0] = '\0';
}
