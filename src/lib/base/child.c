/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A question asked in a child process bounded in time (base/child.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/child.h"

/* the whole answer is held in memory: a bound against a child that writes for ever */
#define MAX_ANSWER (64u << 20)

int gp_write_all(int fd, const void *buf, size_t len)
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

int gp_reader_get(struct gp_reader *rd, void *out, size_t len)
{
	if ((size_t)(rd->end - rd->p) < len)
		return -1;
	memcpy(out, rd->p, len);
	rd->p += len;
	return 0;
}

static _Noreturn void child_main(struct gp_ctx *ctx, gp_child_fn fn, void *data, int fd,
				 pid_t parent)
{
	int devnull;

	/* the child dies with the caller (kill -9, Ctrl-C): it never outlives the question */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	/* its own process group, killed whole on timeout (an ssh transport's ssh with it) */
	setpgid(0, 0);
	signal(SIGPIPE, SIG_IGN);
	/* the host lock stays the caller's alone (it keeps its own descriptor), and so does the
	 * caller's output: a JSON answer must not get a library's bytes */
	if (ctx->lock_fd >= 0)
		close(ctx->lock_fd);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (devnull >= 0) {
		dup2(devnull, STDIN_FILENO);
		dup2(devnull, STDOUT_FILENO);
		close(devnull);
	}
	fn(ctx, data, fd);
	_exit(1); /* @fn exits itself */
}

static int64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Everything the child sends until it closes the pipe (1), the deadline (0), or -errno. */
static int collect(int fd, int timeout_ms, struct gp_child_answer *a)
{
	int64_t deadline = now_ms() + timeout_ms;
	size_t cap = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		ssize_t n;
		int p;

		if (left <= 0)
			return 0;
		p = poll(&pfd, 1, (int)left);
		if (p < 0 && errno == EINTR)
			continue;
		if (p < 0)
			return -errno;
		if (p == 0)
			continue;
		if (a->len == cap) {
			char *nb = cap >= MAX_ANSWER ? NULL : realloc(a->buf, cap ? cap * 2 : 65536);

			if (!nb)
				return -ENOMEM;
			a->buf = nb;
			cap = cap ? cap * 2 : 65536;
		}
		n = read(fd, a->buf + a->len, cap - a->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 1;
		a->len += (size_t)n;
	}
}

/* Kills the child and everything it started, and reaps it within a second (a child that
 * cannot die, stuck in the kernel, is left to its fate rather than waited for). */
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

int gp_child_ask(struct gp_ctx *ctx, gp_child_fn fn, void *data, int timeout_ms,
		 struct gp_child_answer *out)
{
	pid_t pid, parent = getpid();
	int fds[2], r;

	memset(out, 0, sizeof(*out));
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(fds[0]);
		close(fds[1]);
		return r;
	}
	if (pid == 0) {
		close(fds[0]);
		child_main(ctx, fn, data, fds[1], parent);
	}
	setpgid(pid, pid); /* also done by the child: whichever runs first */
	close(fds[1]);
	r = collect(fds[0], timeout_ms, out);
	close(fds[0]);
	if (r == 1) {
		out->complete = true;
		while (waitpid(pid, &out->status, 0) < 0 && errno == EINTR)
			;
		return 0;
	}
	kill_child(pid);
	out->timed_out = r == 0;
	out->error = r < 0 ? r : 0;
	return 0;
}
