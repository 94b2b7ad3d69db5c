/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake kernel's entry points: install, the two gp_kernel_ops, the tree lock, the log,
 * fault injection, the blocking remove() model, and the dispatch of a write to the attribute
 * it names. Anything not modelled aborts: a fake that quietly accepted a write the real kernel
 * would act on differently would let a test pass over a bug.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake-kernel.h"
#include "fk-internal.h"

/*
 * What fk_install read from the environment, plus the per-tool write counter. It lives in a
 * MAP_SHARED page because every write runs in a forked child: the children must all count
 * into the same place, and a fresh tool process (another pid) gets a fresh page.
 */
struct fk_state {
	pid_t tool;
	int fail_k, fail_errno, kill_k;
	int count;
};

static struct fk_state *fk_state_page;

void fk_install(struct gp_ctx *ctx)
{
	struct fk_state *st = fk_state_page;
	const char *e;

	if (!st || st->tool != getpid()) {
		st = mmap(NULL, sizeof(*st), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (st == MAP_FAILED) {
			perror("fakekernel: mmap");
			abort();
		}
		memset(st, 0, sizeof(*st));
		st->tool = getpid();
		st->fail_errno = EIO;
		e = getenv("GP_FAKE_FAIL_WRITE");
		if (e && *e) {
			st->fail_k = atoi(e);
			if (strchr(e, ':'))
				st->fail_errno = atoi(strchr(e, ':') + 1);
		}
		e = getenv("GP_FAKE_KILL_AFTER");
		if (e && *e)
			st->kill_k = atoi(e);
		fk_state_page = st;
	}
	gp_ctx_set_kernel_ops(ctx, &fk_ops, st);
	fk_virt_install(ctx);
}

static void fk_init(struct fk *fk, struct gp_ctx *ctx)
{
	const char *root = gp_ctx_root(ctx);
	char *real = realpath(root, NULL);

	if (!real || !strcmp(real, "/")) {
		/* never on the live host, whatever the test did */
		fprintf(stderr, "fakekernel: refusing root %s\n", root);
		abort();
	}
	snprintf(fk->root, sizeof(fk->root), "%s", real);
	free(real);
	fk->lockfd = -1;
	if (fk_mkdir(fk, FK_DIR) < 0) {
		fprintf(stderr, "fakekernel: cannot create %s/" FK_DIR ": %m\n", fk->root);
		abort();
	}
}

void fk_lock(struct fk *fk)
{
	char *p = fk_path(fk, FK_DIR "/lock");

	if (fk->lockfd < 0)
		fk->lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	free(p);
	if (fk->lockfd < 0 || flock(fk->lockfd, LOCK_EX) < 0) {
		perror("fakekernel: lock");
		abort();
	}
}

void fk_unlock(struct fk *fk)
{
	if (fk->lockfd >= 0)
		flock(fk->lockfd, LOCK_UN);
}

void fk_log(struct fk *fk, const char *fmt, ...)
{
	char *p = fk_path(fk, FK_DIR "/log"), *line;
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	free(p);
	if (n < 0 || fd < 0 || write(fd, line, (size_t)n) != n) {
		perror("fakekernel: log");
		abort();
	}
	close(fd);
	free(line);
}

void fk_unmodelled(struct fk *fk, const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		abort();
	va_end(ap);
	fprintf(stderr, "fakekernel: unmodelled %s\n", msg);
	fk_log(fk, "%s = unmodelled\n", fk->what);
	fk_put(fk, FK_DIR "/unmodelled", "%s\n", msg);
	abort();
}

void fk_block_wait(struct fk *fk, const char *name, int group)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	bool logged = false;

	while (fk_marker(fk, "block", name) || (group >= 0 && fk_group_held(fk, group))) {
		if (!logged) {
			/* what vfio_unregister_group_dev() prints while it waits for the user */
			fprintf(stderr, "fakekernel: %s: remove() blocked until the device is released\n",
				name);
			fk_log(fk, "%s = blocked\n", fk->what);
			logged = true;
		}
		fk_unlock(fk);
		nanosleep(&tick, NULL);
		/* the tree is gone (the test cleaned up): nobody is left to return to */
		if (!fk_exists(fk, FK_DIR))
			_exit(0);
		fk_lock(fk);
	}
}

/* The value the way a log line shows it: one line, newlines visible, empty as ''. */
static char *fk_show(const char *v)
{
	size_t n = strlen(v);
	char *s = malloc(2 * n + 3), *w = s;

	if (!s)
		abort();
	if (!n)
		return strcpy(s, "''");
	for (; *v; v++) {
		if (*v == '\n') {
			*w++ = '\\';
			*w++ = 'n';
		} else {
			*w++ = *v;
		}
	}
	*w = '\0';
	return s;
}

static bool fk_is_uuid(const char *s)
{
	static const char pat[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'x' ? !strchr("0123456789abcdefABCDEF", s[i]) : s[i] != '-')
			return false;
	return true;
}

static const char *fk_base(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* A canonical directory that is a PCI function's: .../ADDR, the same as bus/pci/devices/ADDR. */
static bool fk_is_pci_dir(struct fk *fk, const char *dir)
{
	const char *addr = fk_base(dir);
	char *d;
	bool r;

	if (!fk_is_addr(addr))
		return false;
	d = fk_dev_dir(fk, addr);
	r = d && !strcmp(d, dir);
	free(d);
	return r;
}

static bool fk_modelled_name(const char *base)
{
	static const char *const names[] = { "driver_override", "sriov_numvfs",
					     "sriov_drivers_autoprobe", "unbind", "current_vgpu_type",
					     "create", "remove", "drivers_probe" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(base, names[i]))
			return true;
	return false;
}

static int fk_dispatch(struct fk *fk, const char *path, const char *val)
{
	const char *base = fk_base(path);
	char *dirrel, *dir, *up = NULL, *up2 = NULL;
	int r = 1;

	if (strncmp(path, "sys/", 4) || strstr(path, "/../") || strstr(path, "//"))
		fk_unmodelled(fk, "write %s=%s (not a sysfs attribute)", path, val);
	dirrel = strndup(path, (size_t)(base - path - 1));
	dir = fk_resolve(fk, dirrel);
	if (!dir) {
		/* open(2) would fail: the device, its driver link or the mdev is not there */
		free(dirrel);
		if (fk_modelled_name(base) && base > path)
			return -ENOENT;
		fk_unmodelled(fk, "write %s=%s", path, val);
	}
	free(dirrel);
	if (asprintf(&up, "%s", dir) < 0)
		abort();
	*(char *)fk_base(up) = '\0';
	if (*up)
		up[strlen(up) - 1] = '\0'; /* the directory above dir */
	if (asprintf(&up2, "%s", up) < 0)
		abort();
	*(char *)fk_base(up2) = '\0';
	if (*up2)
		up2[strlen(up2) - 1] = '\0';

	if (!strcmp(dir, "sys/bus/pci") && !strcmp(base, "drivers_probe")) {
		r = fk_drivers_probe_store(fk, val);
	} else if (fk_is_pci_dir(fk, dir) && (!strcmp(base, "driver_override") ||
					       !strcmp(base, "sriov_numvfs") ||
					       !strcmp(base, "sriov_drivers_autoprobe"))) {
		char *attr;

		if (asprintf(&attr, "%s/%s", dir, base) < 0)
			abort();
		if (!fk_exists(fk, attr))
			r = -ENOENT; /* e.g. sriov_numvfs of a function without SR-IOV */
		else if (!strcmp(base, "driver_override"))
			r = fk_driver_override_store(fk, fk_base(dir), val);
		else if (!strcmp(base, "sriov_numvfs"))
			r = fk_sriov_numvfs_store(fk, fk_base(dir), val);
		else
			r = fk_sriov_autoprobe_store(fk, fk_base(dir), val);
		free(attr);
	} else if (!strcmp(up, "sys/bus/pci/drivers") && !strcmp(base, "unbind")) {
		r = fk_unbind_store(fk, fk_base(dir), val);
	} else if (!strcmp(fk_base(dir), "nvidia") && fk_is_pci_dir(fk, up) &&
		   !strcmp(base, "current_vgpu_type")) {
		r = fk_nv_current_type_store(fk, fk_base(up), val);
	} else if (!strcmp(fk_base(up), "mdev_supported_types") && fk_is_pci_dir(fk, up2) &&
		   !strcmp(base, "create")) {
		r = fk_mdev_create_store(fk, fk_base(up2), fk_base(dir), val);
	} else if (fk_is_uuid(fk_base(dir)) && fk_is_pci_dir(fk, up) && !strcmp(base, "remove")) {
		char *mt;

		if (asprintf(&mt, "%s/mdev_type", dir) < 0)
			abort();
		if (!fk_exists(fk, mt))
			fk_unmodelled(fk, "write %s=%s (not an mdev)", path, val);
		free(mt);
		r = fk_mdev_remove_store(fk, fk_base(dir), val);
	}
	if (r == 1)
		fk_unmodelled(fk, "write %s=%s", path, val);
	free(dir);
	free(up);
	free(up2);
	return r;
}

/* Counts this write; true when it is the one to fail. */
static int fk_fault_count(struct fk_state *st)
{
	return __atomic_add_fetch(&st->count, 1, __ATOMIC_SEQ_CST);
}

static void fk_fault_kill(struct fk_state *st, int n)
{
	if (st->kill_k && n == st->kill_k)
		kill(st->tool, SIGKILL);
}

static int fk_op_write(void *data, struct gp_ctx *ctx, const char *path, const char *value,
		       size_t len)
{
	struct fk_state *st = data;
	char *val = strndup(value, len), *shown = fk_show(val), *what;
	struct fk fk;
	int n = fk_fault_count(st), r;

	fk_init(&fk, ctx);
	if (asprintf(&what, "write %s %s", path, shown) < 0)
		abort();
	fk.what = what;
	fk_lock(&fk);
	if (st->fail_k && n == st->fail_k) {
		r = -st->fail_errno;
		fk_log(&fk, "%s = %d (injected)\n", what, r);
	} else {
		r = fk_dispatch(&fk, path, val);
		fk_log(&fk, "%s = %d\n", what, r);
	}
	fk_unlock(&fk);
	close(fk.lockfd);
	fk_fault_kill(st, n);
	free(what);
	free(shown);
	free(val);
	return r;
}

static int fk_op_exec(void *data, struct gp_ctx *ctx, char *const argv[])
{
	struct fk_state *st = data;
	char *what = NULL, *tmp;
	struct fk fk;
	int n = fk_fault_count(st), r;

	fk_init(&fk, ctx);
	if (asprintf(&what, "exec") < 0)
		abort();
	for (int i = 0; argv[i]; i++, what = tmp)
		if (asprintf(&tmp, "%s %s", what, argv[i]) < 0)
			abort();
		else
			free(what);
	fk.what = what;
	fk_lock(&fk);
	if (st->fail_k && n == st->fail_k) {
		r = -st->fail_errno;
		fk_log(&fk, "%s = %d (injected)\n", what, r);
	} else {
		if (argv[0] && !strcmp(argv[0], "/sbin/modprobe"))
			r = fk_modprobe(&fk, argv);
		else if (argv[0] && !strcmp(argv[0], "/usr/lib/nvidia/sriov-manage"))
			r = fk_sriov_manage(&fk, argv);
		else
			fk_unmodelled(&fk, "%s", what);
		fk_log(&fk, "%s = %d\n", what, r);
	}
	fk_unlock(&fk);
	close(fk.lockfd);
	fk_fault_kill(st, n);
	free(what);
	return r;
}

static int fk_admin_write_here(const char *root, const char *path, const char *value);

/* In a child, as the library's writes are (host/kernel.c): the fake keeps no state in memory
 * and frees little of what one operation reads. The answer comes back as the exit status. */
int fk_admin_write(const char *root, const char *path, const char *value)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		_exit(-fk_admin_write_here(root, path, value) & 0xff);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -EIO;
	return -WEXITSTATUS(status);
}

static int fk_admin_write_here(const char *root, const char *path, const char *value)
{
	char *real = realpath(root, NULL), *what;
	struct fk fk;
	int r;

	if (!real || !strcmp(real, "/")) {
		fprintf(stderr, "fakekernel: refusing root %s\n", root);
		abort();
	}
	snprintf(fk.root, sizeof(fk.root), "%s", real);
	free(real);
	fk.lockfd = -1;
	if (fk_mkdir(&fk, FK_DIR) < 0 || asprintf(&what, "admin write %s %s", path, value) < 0)
		abort();
	fk.what = what;
	fk_lock(&fk);
	r = fk_dispatch(&fk, path, value);
	fk_unlock(&fk);
	close(fk.lockfd);
	free(what);
	return r;
}

const struct gp_kernel_ops fk_ops = {
	.write = fk_op_write,
	.exec = fk_op_exec,
};
