/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Shared by the virt tests: stderr capture, a context that logs to a buffer, a temp dir. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"

double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* ---- stderr capture: the library must never print, libvirt and libxml2 included ---- */

void cap_begin(struct cap *c)
{
	int fd;

	fflush(stderr);
	strcpy(c->path, "/tmp/gpv-err.XXXXXX");
	fd = mkstemp(c->path);
	cr_assert(fd >= 0);
	c->saved = dup(2);
	cr_assert(dup2(fd, 2) == 2);
	close(fd);
}

char *cap_end(struct cap *c)
{
	static char buf[8192];
	ssize_t n;
	int fd;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	fd = open(c->path, O_RDONLY);
	n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
	buf[n > 0 ? n : 0] = '\0';
	if (fd >= 0)
		close(fd);
	unlink(c->path);
	return buf;
}

char logbuf[4096];

static void log_to_buf(void *data, enum gp_log_level level, const char *fmt, va_list ap)
{
	size_t l = strlen(logbuf);

	l += snprintf(logbuf + l, sizeof(logbuf) - l, "<%d>", level);
	if (l < sizeof(logbuf))
		l += vsnprintf(logbuf + l, sizeof(logbuf) - l, fmt, ap);
	if (l < sizeof(logbuf) - 1)
		strcat(logbuf, "\n");
}

struct gp_ctx *new_ctx(void)
{
	struct gp_ctx *ctx;

	cr_assert_eq(gp_ctx_new("/", &ctx), 0);
	gp_ctx_set_log(ctx, log_to_buf, NULL);
	gp_ctx_set_log_level(ctx, GP_LOG_DEBUG);
	logbuf[0] = '\0';
	return ctx;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

char tmpdir[64];

void rm_tmpdir(void)
{
	if (tmpdir[0])
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

void mk_tmpdir(void)
{
	strcpy(tmpdir, "/tmp/gpv.XXXXXX"); /* short: the driver puts sockets beneath it */
	cr_assert(mkdtemp(tmpdir));
}

const char *find_use(struct gp_virt_use *u, int n, const char *dom, const char *dev)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(u[i].domain, dom) && !strcmp(u[i].device, dev))
			return u[i].uuid;
	return NULL;
}

