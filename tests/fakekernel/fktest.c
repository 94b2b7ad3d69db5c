/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fake kernel suites' helpers (test-fakekernel.c, test-fakekernel-dda.c): scratch trees,
 * writes through the library's own bounded write path, small readers. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fake-kernel.h"
#include "fixture.h"
#include "fktest.h"
#include "host/kernel.h" /* gp_kernel_write/gp_kernel_exec: the tool's own write path */

/* trees of this test, under $TMPDIR (meson.build: the build tree), removed after it (a
 * blocked child then notices and leaves); and the strings rd() and lnk() returned */
char *made[16];
int n_made;
static char **owned;
static size_t n_owned;

void cleanup(void)
{
	char *cmd;

	for (int i = 0; i < n_made; i++) {
		if (!getenv("FK_KEEP") && asprintf(&cmd, "rm -rf '%s'", made[i]) >= 0 && system(cmd) >= 0)
			free(cmd);
		free(made[i]);
	}
	n_made = 0;
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	owned = NULL;
	n_owned = 0;
}

char *own(char *s)
{
	cr_assert_not_null(s);
	owned = realloc(owned, (n_owned + 1) * sizeof(*owned));
	cr_assert_not_null(owned);
	owned[n_owned++] = s;
	return s;
}

char *scratch_dir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *dir;

	cr_assert_geq(asprintf(&dir, "%s/%s-XXXXXX", base && *base ? base : "/tmp", tag), 0);
	cr_assert_not_null(mkdtemp(dir), "mkdtemp %s: %s", dir, strerror(errno));
	cr_assert_lt(n_made, 16);
	made[n_made++] = dir;
	return dir;
}


char *tree(const char *scenario)
{
	char *dir = scratch_dir("fk");

	cr_assert_eq(fx_scenario_write(scenario, dir), 0, "scenario %s", scenario);
	return dir;
}


int fk_run(const char *root, const char *path, const char *val, char *const argv[],
		  int timeout_ms, int *stuck)
{
	const char *scale = getenv("GP_TEST_TIMEOUT_SCALE"); /* the asan setup: slower children */
	struct gp_ctx *ctx;
	int r, st = 0;

	if (scale && atoi(scale) > 1)
		timeout_ms *= atoi(scale);
	cr_assert_eq(gp_ctx_new(root, &ctx), 0);
	fk_install(ctx);
	gp_ctx_set_write_timeout(ctx, timeout_ms);
	r = argv ? gp_kernel_exec(ctx, argv, &st) : gp_kernel_write(ctx, path, val, &st);
	gp_ctx_free(ctx);
	if (stuck)
		*stuck = st;
	return r;
}

int fkw(const char *root, const char *path, const char *val)
{
	return fk_run(root, path, val, NULL, FK_BOUND_MS, NULL);
}

char *rd(const char *root, const char *fmt, ...)
{
	char rel[1024], *p, buf[65536];
	va_list ap;
	FILE *f;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	f = fopen(p, "r");
	free(p);
	if (!f)
		return NULL;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return own(strdup(buf));
}

bool ex(const char *root, const char *fmt, ...)
{
	char rel[1024], *p;
	struct stat st;
	va_list ap;
	bool r;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	r = lstat(p, &st) == 0;
	free(p);
	return r;
}

char *lnk(const char *root, const char *fmt, ...)
{
	char rel[1024], *p, buf[1024];
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	n = readlink(p, buf, sizeof(buf) - 1);
	free(p);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return own(strdup(strrchr(buf, '/') ? strrchr(buf, '/') + 1 : buf));
}

void put(const char *root, const char *rel, const char *content)
{
	char *p, *slash;
	FILE *f;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	slash = strrchr(p, '/');
	*slash = '\0';
	cr_assert_eq(fx_mkdirs(p, "."), 0);
	*slash = '/';
	f = fopen(p, "w");
	cr_assert_not_null(f, "%s", p);
	fputs(content, f);
	fclose(f);
	free(p);
}

void rm(const char *root, const char *rel)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	unlink(p);
	free(p);
}


bool wait_gone(const char *root, const char *rel)
{
	for (int i = 0; i < 1000; i++) { /* 20 s: under the asan setup a child is slow */
		if (!ex(root, "%s", rel))
			return true;
		usleep(20000);
	}
	return false;
}

/* the abandoned child has finished (so the tree can go): its result line is in the log */
bool wait_log(const char *root, const char *line)
{
	for (int i = 0; i < 1000; i++) {
		char *log = rd(root, ".fakekernel/log");
		bool done = log && strstr(log, line);

		if (done)
			return true;
		usleep(20000);
	}
	return false;
}

