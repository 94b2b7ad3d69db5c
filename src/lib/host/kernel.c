/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The write side of the host, bounded in time. `unbind`, `sriov_numvfs` and an mdev `remove`
 * run the driver's remove() in the writing thread, and vfio's remove() waits uninterruptibly
 * for a user to let go of the device (reliability.md 1.2): a tool that writes in its own
 * thread can hang forever in D state, unkillable. So every write happens in a child process;
 * the parent waits a bounded time, and on timeout it abandons the child (still blocked in the
 * kernel), reports the device as stuck and mutates nothing further.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <gpupart/kernel.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "host/kernel.h"
#include "host/procfd.h"

static int live_write(void *data, struct gp_ctx *ctx, const char *path, const char *value,
		      size_t len)
{
	(void)data;
	return gp_hostfs_write_attr(ctx, path, value, len);
}

static int live_exec(void *data, struct gp_ctx *ctx, char *const argv[])
{
	static char *const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", NULL };
	int devnull;

	(void)data;
	/* a program inside a foreign tree is not ours to run, least of all as root */
	if (strcmp(gp_ctx_root(ctx), "/") != 0)
		return -EOPNOTSUPP;
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		close(devnull);
	}
	dup2(STDERR_FILENO, STDOUT_FILENO);
	execve(argv[0], argv, envp);
	return -errno;
}

const struct gp_kernel_ops gp_kernel_live_ops = {
	.write = live_write,
	.exec = live_exec,
};

void gp_ctx_set_kernel_ops(struct gp_ctx *ctx, const struct gp_kernel_ops *ops, void *data)
{
	ctx->kops = ops;
	ctx->kops_data = data;
}

static const struct gp_kernel_ops *kops(struct gp_ctx *ctx)
{
	return ctx->kops ? ctx->kops : &gp_kernel_live_ops;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The in-flight lock. A child blocked in the kernel outlives the tool when the tool dies
 * (kill -9, Ctrl-C, systemd stopping the unit: a task in D state takes no signal), and its
 * write still lands once the device's user lets go. So the child holds a shared flock on
 * ROOT/run/gpupart/writing for as long as it lives; `repair` and every mutating command test
 * it before acting. A flock belongs to the open file, not to a pid: a reused pid cannot fake
 * it, and it is dropped by the kernel when the last holder exits, whatever killed it.
 */
#define INFLIGHT "writing"

static int inflight_open(struct gp_ctx *ctx)
{
	struct stat st;
	int r = gp_hostfs_mkdirs(ctx, GP_HP_STATE_DIR, 0700), fd;

	if (r < 0)
		return r;
	fd = gp_hostfs_open_file(ctx, GP_HP_STATE_DIR, INFLIGHT, 0600);
	if (fd < 0)
		return fd;
	/* every child rewrites its first bytes: a planted hard link to another file (a tree
	 * from elsewhere under --root) must not be what gets overwritten */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1) {
		close(fd);
		ERR(ctx, "run/gpupart/writing is not a plain file of its own (a link?): not "
			 "writing; remove it");
		return -EINVAL;
	}
	return fd;
}

/* Shared, never waiting on a stranger's exclusive lock for long: only the in-flight test
 * (gp_kernel_inflight, an instant under the host lock) takes it exclusively. */
static int inflight_share(int fd)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 100; i++) {
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return -errno;
		nanosleep(&pause, NULL);
	}
	return -EWOULDBLOCK;
}

/* In the child, under its shared lock: who it is and what it writes, for the message. */
static void inflight_describe(int fd, const char *path, const char *value, char *const argv[])
{
	char buf[512];
	int n;

	if (argv)
		n = snprintf(buf, sizeof(buf), "pid %d (started at %llu) running %s %s\n",
			     (int)getpid(), gp_proc_start_time((int)getpid()), argv[0],
			     argv[1] ? argv[1] : "");
	else
		n = snprintf(buf, sizeof(buf), "pid %d (started at %llu) writing '%s' to /%s\n",
			     (int)getpid(), gp_proc_start_time((int)getpid()),
			     strcmp(value, "\n") ? value : "\\n", path);
	/* one fixed-size record, padded, rewritten in place: truncating would free the file's
	 * block at every write (an online discard on some filesystems, slow enough to show) */
	if (n < 0 || (size_t)n >= sizeof(buf))
		n = (int)sizeof(buf) - 1;
	memset(buf + n, ' ', sizeof(buf) - 1 - (size_t)n);
	buf[sizeof(buf) - 1] = '\n';
	if (pwrite(fd, buf, sizeof(buf), 0) < 0)
		return; /* a message only: the lock is what counts */
}

int gp_kernel_inflight(struct gp_ctx *ctx, char *what, size_t len)
{
	ssize_t n;
	int fd, r;

	if (len)
		*what = 0;
	fd = gp_hostfs_open_file_ro(ctx, GP_HP_STATE_DIR, INFLIGHT);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0)
		return fd;
	/* a writer holds it shared: an exclusive try fails exactly while one lives */
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		close(fd);
		return 0;
	}
	r = errno == EWOULDBLOCK ? 1 : -errno;
	if (r == 1 && len) {
		n = pread(fd, what, len - 1, 0);
		what[n > 0 ? n : 0] = 0;
		what[strcspn(what, "\n")] = 0; /* the record ends with its newline */
		if (!*what)
			snprintf(what, len, "a write child");
	}
	close(fd);
	return r;
}

/*
 * The child reports its result as an int on a pipe. Exit status carries no errno (-errno does
 * not fit in 8 bits), and a pipe also tells "returned" from "still blocked": the read end
 * stays silent until the child writes or dies.
 *
 * long: fork, the child's side, the deadline and the abandoning of a stuck child read as one
 * sequence; each step depends on the fds and the lock the previous one set up.
 */
static int bounded(struct gp_ctx *ctx, const char *path, const char *value, char *const argv[],
		   int *stuck)
{
	int fds[2], res = -EIO, status, lockfd;
	int64_t deadline;
	pid_t pid;
	ssize_t n;

	*stuck = 0;
	/* taken here, before the fork, so that no instant exists where the child writes
	 * without it: the child inherits this open file (and its lock) and the parent lets go
	 * of its copy, so the lock lives exactly as long as the child (and its program) */
	lockfd = inflight_open(ctx);
	if (lockfd < 0)
		return lockfd;
	res = inflight_share(lockfd);
	if (res < 0) {
		close(lockfd);
		return res;
	}
	if (pipe2(fds, O_CLOEXEC) < 0) {
		res = -errno;
		close(lockfd);
		return res;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		res = -errno;
		close(fds[0]);
		close(fds[1]);
		close(lockfd);
		return res;
	}
	if (pid == 0) {
		int r;

		close(fds[0]);
		inflight_describe(lockfd, path, value, argv);
		/* a child stuck in the kernel must not keep the host lock (a shared flock) held:
		 * `repair` has to be able to come and report it */
		if (ctx->lock_fd >= 0)
			close(ctx->lock_fd);
		/* nor the caller's output: out=$(gpupart ...) would wait as long as the write.
		 * A write prints nothing; a program keeps stderr for its diagnostics */
		{
			int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);

			if (devnull >= 0) {
				dup2(devnull, STDOUT_FILENO);
				if (!argv)
					dup2(devnull, STDERR_FILENO);
				close(devnull);
			}
		}
		if (argv) {
			/* exec: a grandchild becomes the program; this child waits for it and
			 * reports its exit status through the pipe */
			pid_t p = fork();

			if (p == 0) {
				close(fds[1]);
				/* the program keeps the in-flight lock across exec: sriov-manage's
				 * own writes block like ours */
				fcntl(lockfd, F_SETFD, 0);
				r = kops(ctx)->exec(ctx->kops_data, ctx, argv);
				_exit(r >= 0 ? r : r == -ENOENT ? 127 : 126);
			}
			r = -errno;
			if (p > 0) {
				while (waitpid(p, &status, 0) < 0 && errno == EINTR)
					;
				r = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			}
		} else {
			r = kops(ctx)->write(ctx->kops_data, ctx, path, value, strlen(value));
		}
		n = write(fds[1], &r, sizeof(r));
		_exit(n == sizeof(r) ? 0 : 1);
	}
	close(fds[1]);
	close(lockfd);
	deadline = now_ms() + ctx->write_timeout_ms;
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int64_t left = deadline - now_ms();
		int p;

		if (left <= 0) {
			*stuck = (int)pid;
			close(fds[0]);
			return -ETIMEDOUT;
		}
		p = poll(&pfd, 1, (int)left);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0) {
			res = -errno;
			break;
		}
		if (p == 0)
			continue;
		n = read(fds[0], &res, sizeof(res));
		if (n != sizeof(res))
			res = -EIO; /* the child died without answering */
		break;
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return res;
}

int gp_kernel_write(struct gp_ctx *ctx, const char *path, const char *value, int *stuck)
{
	int r = bounded(ctx, path, value, NULL, stuck);

	DBG(ctx, "write /%s '%s': %s", path, value, r < 0 ? strerror(-r) : "ok");
	return r;
}

int gp_kernel_exec(struct gp_ctx *ctx, char *const argv[], int *stuck)
{
	int r = bounded(ctx, NULL, NULL, argv, stuck);

	DBG(ctx, "exec %s: %d", argv[0], r);
	return r;
}
