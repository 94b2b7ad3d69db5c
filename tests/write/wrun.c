/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fake-kernel.h"
#include "fixture.h"
#include "wrun.h"

const char *fake_bin(void)
{
	const char *b = getenv("GPUPART_FAKE_BIN");

	cr_assert_not_null(b, "GPUPART_FAKE_BIN is not set (run through meson test)");
	return b;
}

/* ---- trees and their cleanup ---- */

/* removed by wteardown (a test's .fini), before its children are killed; scratch space is
 * $TMPDIR, which meson.build points into the build tree */
static char **made;
static int n_made;

static char *fresh_dir(const char *tag)
{
	char *d;

	cr_assert_geq(asprintf(&d, "%s/gpw-%s-XXXXXX", test_tmpbase(), tag), 0);
	cr_assert_not_null(mkdtemp(d), "mkdtemp %s: %s", d, strerror(errno));
	made = realloc(made, (size_t)(n_made + 1) * sizeof(*made));
	cr_assert_not_null(made);
	made[n_made++] = d;
	return d;
}

char *wtree(const char *scenario)
{
	char *d = fresh_dir(scenario);

	cr_assert_eq(fx_scenario_write(scenario, d), 0, "fixture %s", scenario);
	return d;
}

char *wtree_of(struct fx_tree *t, const char *name)
{
	char *d = fresh_dir(name);

	cr_assert_eq(fx_tree_write(t, d), 0, "fixture %s", name);
	return d;
}

char *wcopy(const char *src)
{
	char *d = fresh_dir("copy"), *from;
	struct run r;

	cr_assert_geq(asprintf(&from, "%s/.", src), 0);
	{
		char *argv[] = { "/bin/cp", "-a", from, d, NULL };

		cr_assert_eq(run_argv(&r, argv), 0, "cp: %s", r.err);
	}
	run_free(&r);
	free(from);
	return d;
}

void with_sriov_manage(const char *root)
{
	mkdirs(root, "usr/lib/nvidia");
	put(root, "usr/lib/nvidia/sriov-manage", "");
}

void wsetup(void)
{
	/* a stuck write's child outlives the tool: it must come back to us to be reaped, or
	 * kill(pid, 0) would see a zombie forever where no init reaps */
	prctl(PR_SET_CHILD_SUBREAPER, 1);
	signal(SIGPIPE, SIG_IGN);
}

static void kill_children(void)
{
	char path[64], buf[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	f = fopen(path, "r");
	if (!f)
		return;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (char *t = strtok(buf, " \n"); t; t = strtok(NULL, " \n"))
		kill((pid_t)atoi(t), SIGKILL);
}

void wteardown(void)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	int i, st;

	/* a blocked fake write notices its tree is gone and leaves; the rest is killed */
	for (i = 0; i < n_made; i++) {
		if (!getenv("GPW_KEEP"))
			rm_tree(made[i]);
		free(made[i]);
	}
	free(made);
	made = NULL;
	n_made = 0;
	for (i = 0; i < 100 && waitpid(-1, &st, WNOHANG) >= 0; i++)
		nanosleep(&tick, NULL);
	kill_children();
	while (waitpid(-1, &st, WNOHANG) > 0)
		;
}

/* ---- running the tool ---- */

int gpf_v(struct run *r, const char *const *env, const char *root, const char *const *args)
{
	const char *argv[48];
	int n = 0, i, st;

	argv[n++] = fake_bin();
	argv[n++] = "-r";
	argv[n++] = root;
	for (i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	for (i = 0; env && env[i]; i++)
		putenv((char *)env[i]);
	st = run_argv(r, (char *const *)argv);
	for (i = 0; env && env[i]; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(env[i], "="), env[i]);
		unsetenv(name);
	}
	return st;
}

/* gpupart-fake -r ROOT ARGS... into argv (48 slots). */
static void fake_argv(const char **argv, const char *root, const char *const *args)
{
	int n = 0;

	argv[n++] = fake_bin();
	argv[n++] = "-r";
	argv[n++] = root;
	for (int i = 0; args[i] && n < 47; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
}

pid_t gpf_spawn(const char *root, const char *const *args)
{
	const char *argv[48];
	pid_t pid;

	fake_argv(argv, root, args);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	return pid;
}

int gpf_detached(struct run *r, const char *root, const char *const *args, int *pipe_eof_ms)
{
	char err[4096], buf[65536];
	int fe, pfd[2], st;
	const char *argv[48];
	size_t len = 0;
	pid_t pid;

	snprintf(err, sizeof(err), "%s/gpw-err-XXXXXX", test_tmpbase());
	fe = mkstemp(err);
	cr_assert(fe >= 0, "mkstemp %s: %s", err, strerror(errno));
	cr_assert_eq(pipe(pfd), 0);
	fake_argv(argv, root, args);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		/* stdout on a pipe (as in out=$(gpupart ...)), stderr to a file */
		dup2(pfd[1], 1);
		dup2(fe, 2);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	waitpid(pid, &st, 0); /* the output is small: the pipe buffer holds it */
	memset(r, 0, sizeof(*r));
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->err = slurp(err);
	if (pipe_eof_ms)
		*pipe_eof_ms = -1;
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	for (int waited = 0; waited <= 3000; waited += 10) {
		struct pollfd p = { pfd[0], POLLIN, 0 };
		ssize_t k;

		if (poll(&p, 1, 10) <= 0)
			continue;
		k = read(pfd[0], buf + len, sizeof(buf) - 1 - len);
		if (k > 0) {
			len += (size_t)k;
			continue;
		}
		if (k == 0) {
			if (pipe_eof_ms)
				*pipe_eof_ms = waited;
			break;
		}
	}
	buf[len] = 0;
	r->out = strdup(buf);
	close(pfd[0]);
	close(fe);
	unlink(err);
	return r->status;
}

static int gpf_va(struct run *r, const char *const *env, const char *root, va_list ap)
{
	const char *args[40];
	int n = 0;
	const char *a;

	while ((a = va_arg(ap, const char *)) && n < 39)
		args[n++] = a;
	args[n] = NULL;
	return gpf_v(r, env, root, args);
}

int gpf(struct run *r, const char *root, ...)
{
	va_list ap;
	int st;

	va_start(ap, root);
	st = gpf_va(r, NULL, root, ap);
	va_end(ap);
	return st;
}

int gpf_env(struct run *r, const char *const *env, const char *root, ...)
{
	va_list ap;
	int st;

	va_start(ap, root);
	st = gpf_va(r, env, root, ap);
	va_end(ap);
	return st;
}

/* ---- the manifest ---- */

static struct {
	char **lines;
	size_t n, cap;
	size_t rootlen;
	int mode;
} mf;

static uint64_t fnv(const unsigned char *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int mf_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	const char *rel = path + mf.rootlen;
	char *line = NULL, tgt[4096];
	(void)ftw;

	if (*rel == '/')
		rel++;
	if (!*rel)
		return 0;
	if (!strcmp(rel, ".fakekernel/log"))
		return 0;
	if (mf.mode == M_STATE &&
	    (!strncmp(rel, ".fakekernel", 11) || !strcmp(rel, "run/gpupart/lock") ||
	     !strcmp(rel, "run/gpupart/writing") ||
	     !strcmp(rel, "run") || !strcmp(rel, "run/gpupart") ||
	     !strcmp(rel, "dev") || !strcmp(rel, "dev/vfio")))
		return 0;
	if (flag == FTW_SL || S_ISLNK(st->st_mode)) {
		ssize_t n = readlink(path, tgt, sizeof(tgt) - 1);

		tgt[n > 0 ? n : 0] = 0;
		cr_assert_geq(asprintf(&line, "%s l %s", rel, tgt), 0);
	} else if (S_ISDIR(st->st_mode)) {
		cr_assert_geq(asprintf(&line, "%s d %o", rel, st->st_mode & 07777), 0);
	} else if (S_ISREG(st->st_mode)) {
		unsigned char buf[65536];
		uint64_t h = 0xcbf29ce484222325ull;
		size_t total = 0;
		ssize_t n;
		int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

		while (fd >= 0 && (n = read(fd, buf, sizeof(buf))) > 0) {
			h = fnv(buf, (size_t)n, h);
			total += (size_t)n;
		}
		if (fd >= 0)
			close(fd);
		cr_assert_geq(asprintf(&line, "%s f %o %zu %016llx", rel, st->st_mode & 07777,
				       total, (unsigned long long)h), 0);
	} else {
		cr_assert_geq(asprintf(&line, "%s o %o", rel, st->st_mode), 0);
	}
	if (mf.n == mf.cap) {
		mf.cap = mf.cap ? 2 * mf.cap : 1024;
		mf.lines = realloc(mf.lines, mf.cap * sizeof(*mf.lines));
	}
	mf.lines[mf.n++] = line;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char *manifest(const char *root, int mode)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m;

	memset(&mf, 0, sizeof(mf));
	mf.rootlen = strlen(root);
	mf.mode = mode;
	cr_assert_eq(nftw(root, mf_entry, 64, FTW_PHYS), 0, "nftw %s", root);
	qsort(mf.lines, mf.n, sizeof(*mf.lines), cmp_str);
	m = open_memstream(&out, &len);
	for (size_t i = 0; i < mf.n; i++) {
		fprintf(m, "%s\n", mf.lines[i]);
		free(mf.lines[i]);
	}
	fclose(m);
	free(mf.lines);
	return out;
}

bool manifest_eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static char *first_diff(const char *a, const char *b)
{
	static char msg[2048];
	const char *la = a, *lb = b;

	while (*la && *lb) {
		size_t na = strcspn(la, "\n"), nb = strcspn(lb, "\n");

		if (na != nb || memcmp(la, lb, na)) {
			snprintf(msg, sizeof(msg), "got: %.*s\nwant: %.*s", (int)na, la, (int)nb, lb);
			return msg;
		}
		la += na + (la[na] ? 1 : 0);
		lb += nb + (lb[nb] ? 1 : 0);
	}
	snprintf(msg, sizeof(msg), "got extra: %.200s\nwant extra: %.200s", la, lb);
	return msg;
}

void assert_manifest_eq(const char *got, const char *want, const char *what)
{
	cr_assert(manifest_eq(got, want), "%s: the tree differs\n%s", what, first_diff(got, want));
}

/* ---- files ---- */

static char *vpath(const char *root, const char *fmt, va_list ap)
{
	char rel[1024], *p;

	vsnprintf(rel, sizeof(rel), fmt, ap);
	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	return p;
}

char *rd(const char *root, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	char *p;
	FILE *f;

	va_start(ap, fmt);
	p = vpath(root, fmt, ap);
	va_end(ap);
	f = fopen(p, "r");
	free(p);
	if (!f)
		return NULL;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = 0;
	fclose(f);
	buf[strcspn(buf, "\n")] = 0;
	return strdup(buf);
}

char *lnk(const char *root, const char *fmt, ...)
{
	char buf[4096], *s;
	va_list ap;
	ssize_t n;
	char *p;

	va_start(ap, fmt);
	p = vpath(root, fmt, ap);
	va_end(ap);
	n = readlink(p, buf, sizeof(buf) - 1);
	free(p);
	if (n < 0)
		return NULL;
	buf[n] = 0;
	s = strrchr(buf, '/');
	return strdup(s ? s + 1 : buf);
}

bool ex(const char *root, const char *fmt, ...)
{
	struct stat st;
	va_list ap;
	char *p;
	bool r;

	va_start(ap, fmt);
	p = vpath(root, fmt, ap);
	va_end(ap);
	r = lstat(p, &st) == 0;
	free(p);
	return r;
}

void mkdirs(const char *root, const char *rel)
{
	char *p;
	struct run r;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	{
		char *argv[] = { "/bin/mkdir", "-p", p, NULL };

		cr_assert_eq(run_argv(&r, argv), 0);
	}
	run_free(&r);
	free(p);
}

void put(const char *root, const char *rel, const char *text)
{
	char *p;
	FILE *f;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	f = fopen(p, "w");
	cr_assert_not_null(f, "%s: %s", p, strerror(errno));
	fputs(text, f);
	fclose(f);
	free(p);
}

char *fklog(const char *root)
{
	char *p, *s;

	cr_assert_geq(asprintf(&p, "%s/.fakekernel/log", root), 0);
	s = slurp(p);
	free(p);
	return s ? s : strdup("");
}

int fklog_ops(const char *root)
{
	char *log = fklog(root), *l = log;
	int n = 0;

	while (*l) {
		if (!strncmp(l, "write ", 6) || !strncmp(l, "exec ", 5))
			n++;
		l += strcspn(l, "\n");
		if (*l)
			l++;
	}
	free(log);
	return n;
}

void fklog_reset(const char *root)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/.fakekernel/log", root), 0);
	unlink(p);
	free(p);
}

char *conf_of(const char *root)
{
	char *p, *s;

	cr_assert_geq(asprintf(&p, "%s/etc/gpupart/partitions.conf", root), 0);
	s = slurp(p);
	free(p);
	cr_assert_not_null(s, "no partitions.conf");
	return s;
}

bool journal_present(const char *root)
{
	return ex(root, "run/gpupart/journal");
}

void vf_addr(const char *root, const char *pf, int i, char out[16])
{
	unsigned dom, bus, dev, fn, rid;
	char *off = rd(root, "sys/bus/pci/devices/%s/sriov_offset", pf);
	char *stride = rd(root, "sys/bus/pci/devices/%s/sriov_stride", pf);

	cr_assert(off && stride, "%s has no SR-IOV offset/stride", pf);
	cr_assert_eq(sscanf(pf, "%x:%x:%x.%x", &dom, &bus, &dev, &fn), 4);
	rid = (bus << 8 | dev << 3 | fn) + (unsigned)atoi(off) + (unsigned)i * (unsigned)atoi(stride);
	snprintf(out, 16, "%04x:%02x:%02x.%x", dom, (rid >> 8) & 0xff, (rid >> 3) & 0x1f, rid & 7);
	free(off);
	free(stride);
}

void mkproc(const char *root, const char *pid, const char *comm, const char *fd,
	    const char *target)
{
	char rel[256], *p, *c;

	snprintf(rel, sizeof(rel), "proc/%s/fd", pid);
	mkdirs(root, rel);
	snprintf(rel, sizeof(rel), "proc/%s/comm", pid);
	cr_assert_geq(asprintf(&c, "%s\n", comm), 0);
	put(root, rel, c);
	free(c);
	cr_assert_geq(asprintf(&p, "%s/proc/%s/fd/%s", root, pid, fd), 0);
	cr_assert_eq(symlink(target, p), 0, "symlink %s: %s", p, strerror(errno));
	free(p);
}

void admin_write(const char *root, const char *path, const char *value)
{
	int r = fk_admin_write(root, path, value);

	cr_assert_eq(r, 0, "echo %s > /%s: %s", value, path, strerror(-r));
}

void admin_remove_mdev(const char *root, const char *uuid)
{
	char *p;

	cr_assert_geq(asprintf(&p, "sys/bus/mdev/devices/%s/remove", uuid), 0);
	admin_write(root, p, "1");
	free(p);
}

bool first_mdev(const char *root, char out[37])
{
	char *p;
	DIR *d;
	struct dirent *de;
	bool found = false;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/mdev/devices", root), 0);
	d = opendir(p);
	free(p);
	while (d && (de = readdir(d)))
		if (strlen(de->d_name) == 36 && (!found || strcmp(de->d_name, out) < 0)) {
			snprintf(out, 37, "%s", de->d_name);
			found = true;
		}
	if (d)
		closedir(d);
	return found;
}

int mdevs(const char *root, struct mdev *out, int max)
{
	char *p;
	DIR *d;
	struct dirent *de;
	int n = 0;

	cr_assert_geq(asprintf(&p, "%s/sys/bus/mdev/devices", root), 0);
	d = opendir(p);
	while (d && (de = readdir(d))) {
		char tgt[512], *s, *t;
		ssize_t k;
		char *lp;

		if (de->d_name[0] == '.')
			continue;
		cr_assert_lt(n, max);
		snprintf(out[n].uuid, sizeof(out[n].uuid), "%s", de->d_name);
		cr_assert_geq(asprintf(&lp, "%s/%s", p, de->d_name), 0);
		k = readlink(lp, tgt, sizeof(tgt) - 1);
		cr_assert_gt(k, 0);
		tgt[k] = 0;
		free(lp);
		s = strrchr(tgt, '/');
		*s = 0;
		s = strrchr(tgt, '/');
		snprintf(out[n].parent, sizeof(out[n].parent), "%s", s ? s + 1 : tgt);
		t = lnk(root, "sys/bus/mdev/devices/%s/mdev_type", de->d_name);
		cr_assert_not_null(t);
		snprintf(out[n].type, sizeof(out[n].type), "%s", t);
		free(t);
		n++;
	}
	if (d)
		closedir(d);
	free(p);
	return n;
}

void refused(const char *root, int status, const char *const *needles, const char *const *args)
{
	char *before, *after;
	struct run r;

	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
	fklog_reset(root);
	before = manifest(root, M_STRICT);
	gpf_v(&r, NULL, root, args);
	cr_assert_eq(r.status, status, "exit %d, expected %d\n%s", r.status, status, r.err);
	for (int i = 0; needles[i]; i++)
		cr_assert(strstr(r.err, needles[i]), "no '%s' in:\n%s", needles[i], r.err);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "a refusal wrote:\n%s", fklog(root));
	after = manifest(root, M_STRICT);
	assert_manifest_eq(after, before, "after a refusal");
	free(before);
	free(after);
}
