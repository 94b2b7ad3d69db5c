/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The question to libvirt, bounded in time: a child process asks, the parent waits for its
 * answer until the deadline and kills it after (see virt-bounded.h). No libvirt here: the
 * child runs virt.c's query, which loads libvirt itself.
 *
 * The answer is a stream of records on a pipe:
 *   'L' level(u8) text                  a log line of the child, replayed through the context
 *   'U' active(u8) uuid domain device   one use
 *   'R' result(i32)                     the last record: 0 or -errno
 * where text and strings are a u32 length and the bytes (a domain name may hold anything).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/internal.h"
#include "virt/virt-bounded.h"

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int put_str(int fd, const char *s)
{
	uint32_t len = (uint32_t)strlen(s);

	return write_all(fd, &len, sizeof(len)) < 0 ? -1 : write_all(fd, s, len);
}

static void child_log(void *data, enum gp_log_level level, const char *fmt, va_list ap)
{
	int fd = *(int *)data;
	uint8_t lv = (uint8_t)level;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	if (write_all(fd, "L", 1) == 0 && write_all(fd, &lv, 1) == 0)
		put_str(fd, msg);
	free(msg);
}

static _Noreturn void child_main(struct gp_ctx *ctx, gp_virt_query_fn fn, void *data, int fd,
				 pid_t parent)
{
	struct gp_virt_use *v = NULL;
	size_t n = 0, i;
	int32_t res;
	int devnull;

	/* the child dies with the caller (kill -9, Ctrl-C): it never outlives the question */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/* its own process group, killed whole on timeout (an ssh transport's ssh with it) */
	setpgid(0, 0);
	signal(SIGPIPE, SIG_IGN);
	/* the host lock stays the caller's alone (it keeps its own descriptor), and the
	 * caller's output is the caller's: a JSON answer must not get libvirt's bytes */
	if (ctx->lock_fd >= 0)
		close(ctx->lock_fd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	ctx->log_fn = child_log;
	ctx->log_data = &fd;
	res = fn(ctx, data, &v, &n);
	for (i = 0; res >= 0 && i < n; i++) {
		uint8_t active = v[i].active;

		if (write_all(fd, "U", 1) < 0 || write_all(fd, &active, 1) < 0 ||
		    put_str(fd, v[i].uuid) < 0 || put_str(fd, v[i].domain) < 0 ||
		    put_str(fd, v[i].device) < 0)
			_exit(1);
	}
	if (write_all(fd, "R", 1) < 0 || write_all(fd, &res, sizeof(res)) < 0)
		_exit(1);
	_exit(0);
}

struct reader {
	const char *p, *end;
};

static int get(struct reader *rd, void *out, size_t len)
{
	if ((size_t)(rd->end - rd->p) < len)
		return -1;
	memcpy(out, rd->p, len);
	rd->p += len;
	return 0;
}

static char *get_str(struct reader *rd)
{
	uint32_t len;
	char *s;

	if (get(rd, &len, sizeof(len)) < 0 || (size_t)(rd->end - rd->p) < len)
		return NULL;
	s = strndup(rd->p, len);
	rd->p += len;
	return s;
}

/*
 * Replays the child's log and collects its uses. 1 with *res set when the answer is complete
 * (ends with its result), 0 when it stops short (the child died or was killed), -ENOMEM.
 */
static int decode(struct gp_ctx *ctx, const char *buf, size_t len, struct gp_virt_use **v,
		  size_t *n, int *res)
{
	struct reader rd = { buf, buf + len };
	char type;

	while (get(&rd, &type, 1) == 0) {
		if (type == 'L') {
			uint8_t lv;
			char *msg;

			if (get(&rd, &lv, 1) < 0 || !(msg = get_str(&rd)))
				return 0;
			gp_log(ctx, (enum gp_log_level)lv, "%s", msg);
			free(msg);
		} else if (type == 'U') {
			_cleanup_(freep) char *uuid = NULL;
			struct gp_virt_use *e;
			uint8_t active;

			if (get(&rd, &active, 1) < 0 || !(uuid = get_str(&rd)))
				return 0;
			e = GP_PUSH(*v, *n);
			if (!e)
				return -ENOMEM;
			/* the child made them one per (domain, device) already */
			e->active = active != 0;
			snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
			if (!(e->domain = get_str(&rd)) || !(e->device = get_str(&rd)))
				return 0;
		} else if (type == 'R') {
			int32_t r;

			if (get(&rd, &r, sizeof(r)) < 0)
				return 0;
			*res = r;
			return 1;
		} else {
			return 0;
		}
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Kills the child and everything it started, and reaps it within a second (a child that
 * cannot die is left to its fate rather than waited for). */
static void kill_child(pid_t pid)
{
	int i;

	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	for (i = 0; i < 100; i++) {
		pid_t w = waitpid(pid, NULL, WNOHANG);

		if (w == pid || (w < 0 && errno != EINTR))
			return;
		usleep(10 * 1000);
	}
}

int gp_virt_bounded(struct gp_ctx *ctx, const char *what, int timeout_ms, gp_virt_query_fn fn,
		    void *data, struct gp_virt_use **out, size_t *n_out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int fds[2], res = -EIO, status = 0, d;
	bool timed_out = false, complete = false;
	int64_t deadline;
	pid_t pid, parent = getpid();

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		res = -errno;
		close(fds[0]);
		close(fds[1]);
		ERR(ctx, "libvirt: cannot start the process that asks it: %s", strerror(-res));
		return res;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(ctx, fn, data, fds[1], parent);
	}
	setpgid(pid, pid); /* also done by the child: whichever runs first */
	close(fds[1]);
	deadline = now_ms() + timeout_ms;
	for (;;) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int p;

		if (left <= 0) {
			timed_out = true;
			break;
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
		if (len == cap) {
			char *nb = realloc(buf, cap ? cap * 2 : 65536);

			if (!nb) {
				res = -ENOMEM;
				break;
			}
			buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		n = read(fds[0], buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			res = -errno;
			break;
		}
		if (n == 0) {
			complete = true; /* end of file: the child is done (or dead) */
			break;
		}
		len += (size_t)n;
	}
	close(fds[0]);
	if (complete) {
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	} else {
		kill_child(pid);
	}
	*out = NULL;
	*n_out = 0;
	d = decode(ctx, buf, len, out, n_out, &res);
	free(buf);
	if (d < 0)
		return d;
	if (timed_out) {
		ERR(ctx, "libvirt: no answer from %s within %d.%03d s", what, timeout_ms / 1000,
		    timeout_ms % 1000);
		return -ETIMEDOUT;
	}
	if (d == 0 && complete) {
		if (WIFSIGNALED(status))
			ERR(ctx, "libvirt: the process asking %s died (signal %d)", what,
			    WTERMSIG(status));
		else
			ERR(ctx, "libvirt: the process asking %s ended without an answer", what);
		return -EIO;
	}
	return d ? res : (res < 0 ? res : -EIO);
}

