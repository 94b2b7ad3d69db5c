/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "run.h"

const char *gpupart_bin(void)
{
	const char *b = getenv("GPUPART_BIN");

	cr_assert_not_null(b, "GPUPART_BIN is not set (run through meson test)");
	return b;
}

static void drain(int fd, char **buf, size_t *len)
{
	char tmp[65536];
	ssize_t n = read(fd, tmp, sizeof(tmp));

	if (n <= 0)
		return;
	*buf = realloc(*buf, *len + (size_t)n + 1);
	memcpy(*buf + *len, tmp, (size_t)n);
	*len += (size_t)n;
	(*buf)[*len] = 0;
}

int run_argv(struct run *r, char *const argv[])
{
	int out[2], err[2], st;
	size_t lo = 0, le = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	cr_assert_eq(pipe(out), 0);
	cr_assert_eq(pipe(err), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		dup2(out[1], 1);
		dup2(err[1], 2);
		close(out[0]);
		close(err[0]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(out[1]);
	close(err[1]);
	for (;;) {
		struct pollfd p[2] = { { out[0], POLLIN, 0 }, { err[0], POLLIN, 0 } };
		if (poll(p, 2, -1) < 0)
			break;
		if (p[0].revents & (POLLIN | POLLHUP)) {
			size_t before = lo;
			drain(out[0], &r->out, &lo);
			if (before == lo && (p[0].revents & POLLHUP))
				p[0].fd = -1;
		}
		if (p[1].revents & (POLLIN | POLLHUP))
			drain(err[0], &r->err, &le);
		if ((p[0].revents & POLLHUP) && !(p[0].revents & POLLIN))
			break;
	}
	/* collect any stderr left after stdout closed */
	for (;;) {
		size_t before = le;
		drain(err[0], &r->err, &le);
		if (before == le)
			break;
	}
	close(out[0]);
	close(err[0]);
	waitpid(pid, &st, 0);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	if (!r->out)
		r->out = strdup("");
	if (!r->err)
		r->err = strdup("");
	return r->status;
}

int run_gpupart(struct run *r, const char *root, ...)
{
	char *argv[32];
	int n = 0;
	va_list ap;
	char *a;

	argv[n++] = (char *)gpupart_bin();
	if (root) {
		argv[n++] = "--root";
		argv[n++] = (char *)root;
	}
	va_start(ap, root);
	while ((a = va_arg(ap, char *)) && n < 31)
		argv[n++] = a;
	va_end(ap);
	argv[n] = NULL;
	return run_argv(r, argv);
}

void run_free(struct run *r)
{
	free(r->out);
	free(r->err);
}

/*
 * Scratch directories. meson test sets no MESON_BUILD_ROOT, so each suite's meson.build
 * points TMPDIR into the build tree; each directory is removed when the process that made it
 * exits (GP_TEST_KEEP=1 keeps them). A test that crashes or times out leaves its trees there,
 * in the build tree, where they can be looked at.
 */
static char **scratch;
static size_t n_scratch;
static pid_t scratch_owner;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	if (flag == FTW_DNR)
		chmod(path, 0700); /* a test made it unreadable: the next pass gets in */
	remove(path);
	return 0;
}

void rm_tree(const char *path)
{
	struct stat st;

	for (int pass = 0; pass < 3 && lstat(path, &st) == 0; pass++)
		nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void remove_scratch(void)
{
	/* only in the process that made them: a forked child that calls exit() leaves them be */
	if (getpid() != scratch_owner)
		return;
	for (size_t i = 0; i < n_scratch; i++) {
		if (!getenv("GP_TEST_KEEP"))
			rm_tree(scratch[i]);
		free(scratch[i]);
	}
	free(scratch);
	scratch = NULL;
	n_scratch = 0;
}

const char *test_tmpbase(void)
{
	const char *t = getenv("TMPDIR");

	return t && *t ? t : "/tmp";
}

char *test_tmpdir(const char *tag)
{
	char *d;

	cr_assert_geq(asprintf(&d, "%s/gp-test-%s-XXXXXX", test_tmpbase(), tag), 0);
	cr_assert_not_null(mkdtemp(d), "mkdtemp %s: %s", d, strerror(errno));
	if (scratch_owner != getpid()) {
		/* first one in this process (a Criterion worker) */
		scratch_owner = getpid();
		scratch = NULL;
		n_scratch = 0;
		atexit(remove_scratch);
	}
	scratch = realloc(scratch, (n_scratch + 1) * sizeof(*scratch));
	cr_assert_not_null(scratch);
	scratch[n_scratch++] = d;
	return d;
}

char *test_scenario(const char *name)
{
	char *d = test_tmpdir(name);

	cr_assert_eq(fx_scenario_write(name, d), 0, "fixture %s", name);
	return d;
}

char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t len = 0;
	char tmp[4096];
	size_t n;
	FILE *m;

	if (!f)
		return NULL;
	m = open_memstream(&buf, &len);
	while ((n = fread(tmp, 1, sizeof(tmp), f)) > 0)
		fwrite(tmp, 1, n, m);
	fclose(m);
	fclose(f);
	return buf;
}

void capture_into(const char *root, const char *dst)
{
	struct run r;
	char *tarf;

	cr_assert_geq(asprintf(&tarf, "%s/capture.tar", dst), 0);
	cr_assert_eq(run_gpupart(&r, root, "capture", tarf, NULL), 0, "capture: %s", r.err);
	run_free(&r);
	{
		char *argv[] = { "/bin/tar", "-xf", tarf, "-C", (char *)dst, NULL };
		cr_assert_eq(run_argv(&r, argv), 0, "tar: %s", r.err);
		run_free(&r);
	}
	free(tarf);
}

char *test_file(const char *dir, const char *name, const char *text)
{
	char *p;
	FILE *f;

	cr_assert_geq(asprintf(&p, "%s/%s", dir, name), 0);
	cr_assert_not_null((f = fopen(p, "w")), "%s", p);
	fputs(text, f);
	fclose(f);
	return p;
}

char *test_driver_uri(const char *dir, const char *name, const char *body)
{
	char *text, *p, *uri;

	cr_assert_geq(asprintf(&text, "<node>%s</node>", body), 0);
	p = test_file(dir, name, text);
	cr_assert_geq(asprintf(&uri, "test://%s", p), 0);
	free(text);
	free(p);
	return uri;
}
