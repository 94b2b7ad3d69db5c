/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Paths and files on the read side: a kernel without openat2 (here: a seccomp filter that
 * answers it with ENOSYS or EPERM, as some container runtimes do) still never leaves --root,
 * and reads a tree exactly as openat2 does; `capture FILE` into a FIFO or a device writes into
 * it and never replaces it; `--json` is valid UTF-8 whatever bytes sysfs holds.
 */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <json-c/json.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "run.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif

/* ---- scratch directories, removed after each test ---- */

static char *dirs[16];
static int n_dirs;

static char *tdir(const char *tag)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *d;

	cr_assert_geq(asprintf(&d, "%s/gp-paths-%s-XXXXXX", base, tag), 0);
	cr_assert_not_null(mkdtemp(d), "mkdtemp %s: %s", d, strerror(errno));
	if (n_dirs < 16)
		dirs[n_dirs++] = d;
	return d;
}

static char *tree(const char *scenario)
{
	char *d = tdir(scenario);

	cr_assert_eq(fx_scenario_write(scenario, d), 0, "fixture %s", scenario);
	return d;
}

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(p) < 0 ? 0 : 0;
}

static void cleanup(void)
{
	for (int i = 0; i < n_dirs; i++) {
		nftw(dirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS);
		free(dirs[i]);
	}
	n_dirs = 0;
}

TestSuite(paths, .fini = cleanup, .timeout = 120);

static char *path(const char *dir, const char *rel)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/%s", dir, rel), 0);
	return p;
}

/*
 * gpupart ARGS... (NULL-terminated) with openat2 answered by @no_openat2 (ENOSYS, EPERM, or 0
 * for a plain run); stdout and stderr through files in @scratch.
 */
static int run_seccomp(struct run *r, const char *scratch, int no_openat2, const char *const *args)
{
	char *out = path(scratch, "stdout"), *err = path(scratch, "stderr");
	char *argv[32];
	int n = 0, st;
	pid_t pid;

	argv[n++] = (char *)gpupart_bin();
	for (; *args && n < 31; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (fo < 0 || fe < 0)
			_exit(126);
		dup2(fo, 1);
		dup2(fe, 2);
		if (no_openat2) {
			struct sock_filter f[] = {
				BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
				BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat2, 0, 1),
				BPF_STMT(BPF_RET | BPF_K,
					 SECCOMP_RET_ERRNO | ((unsigned)no_openat2 & SECCOMP_RET_DATA)),
				BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
			};
			struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };

			if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
			    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
				_exit(125);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	r->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	r->out = slurp(out);
	r->err = slurp(err);
	cr_assert(r->out && r->err);
	cr_assert_neq(r->status, 125, "seccomp filter refused");
	free(out);
	free(err);
	return r->status;
}

/* The filter really takes openat2 away: a probe under it sees the errno. */
static void check_filter_works(const char *scratch)
{
	(void)scratch;
	pid_t pid = fork();
	int st;

	cr_assert_geq(pid, 0);
	if (pid == 0) {
		struct sock_filter f[] = {
			BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
			BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_openat2, 0, 1),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
			BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		};
		struct sock_fprog prog = { sizeof(f) / sizeof(f[0]), f };
		char how[24] = { 0 };

		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
			_exit(2);
		_exit(syscall(__NR_openat2, AT_FDCWD, ".", how, sizeof(how)) < 0 && errno == ENOSYS ?
			      0 :
			      1);
	}
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the seccomp probe failed (%d)", st);
}

static void same_without_openat2(const char *scenario)
{
	char *root = tree(scenario), *scratch = tdir("out");
	static const char *const verbs[][4] = { { "--json", "list", NULL },
						{ "--json", "survey", NULL },
						{ "--any-class", "--json", "list", NULL } };

	check_filter_works(scratch);
	for (size_t v = 0; v < sizeof(verbs) / sizeof(verbs[0]); v++) {
		const char *args[8] = { "--root", root };
		struct run want, got;
		int k = 2;

		for (int i = 0; verbs[v][i]; i++)
			args[k++] = verbs[v][i];
		args[k] = NULL;
		run_seccomp(&want, scratch, 0, args);
		for (int e = 0; e < 2; e++) {
			run_seccomp(&got, scratch, e ? EPERM : ENOSYS, args);
			cr_assert_eq(got.status, want.status, "%s %s: exit %d vs %d\n%s", scenario,
				     verbs[v][1], got.status, want.status, got.err);
			cr_assert_str_eq(got.out, want.out, "%s %s without openat2 (%s)", scenario,
					 verbs[v][1], e ? "EPERM" : "ENOSYS");
			cr_assert_str_eq(got.err, want.err);
			run_free(&got);
		}
		run_free(&want);
	}
}

Test(paths, no_openat2_reads_a16_the_same)
{
	same_without_openat2("a16-vfio");
}

Test(paths, no_openat2_reads_a40_mdev_the_same)
{
	same_without_openat2("a40-mdev-vf");
}

Test(paths, no_openat2_reads_t4_the_same)
{
	same_without_openat2("t4-mdev-pf");
}

/*
 * Links out of the root, relative (climbing with ..) and absolute, in place of files the scan
 * opens: without openat2 they are not followed either (the marker outside never shows).
 */
Test(paths, no_openat2_never_leaves_the_root)
{
	char *outside = tdir("outside"), *root = tree("t4-mdev-pf"), *scratch = tdir("out");
	char *secret = path(outside, "secret"), *p, *up = NULL, *type = NULL;
	const char *args[] = { "--root", root, "--json", "list", NULL };
	const char *sargs[] = { "--root", root, "--json", "survey", NULL };
	struct run plain, got;
	FILE *f;
	int depth = 0;

	f = fopen(secret, "w");
	cr_assert_not_null(f);
	fputs("OUTSIDE-MARKER\n", f);
	fclose(f);
	run_seccomp(&plain, scratch, 0, args);
	cr_assert(strstr(plain.out, "\"vgpu_type\": \"GRID T4-"), "%s", plain.out);
	/* every mdev type's name (T4 type names reach list's JSON): a relative link that climbs
	 * out, one ".." per component of its directory and a few more */
	{
		char *m = path(root, "sys/bus/pci/devices/0000:3b:00.0/mdev_supported_types");
		DIR *d = opendir(m);
		struct dirent *e;

		cr_assert_not_null(d, "%s", m);
		while ((e = readdir(d))) {
			size_t len = 0;
			FILE *mm;

			if (e->d_name[0] == '.')
				continue;
			cr_assert_geq(asprintf(&type, "%s/%s/name", m, e->d_name), 0);
			depth = 0;
			for (const char *c = type; *c; c++)
				depth += *c == '/';
			mm = open_memstream(&up, &len);
			for (int i = 0; i < depth + 4; i++)
				fputs("../", mm);
			fputs(secret + 1, mm);
			fclose(mm);
			cr_assert_eq(unlink(type), 0);
			cr_assert_eq(symlink(up, type), 0);
			free(type);
			free(up);
			type = up = NULL;
		}
		closedir(d);
		free(m);
	}
	/* and an absolute one in place of the GPU's reset_method */
	p = path(root, "sys/bus/pci/devices/0000:3b:00.0/reset_method");
	unlink(p);
	cr_assert_eq(symlink(secret, p), 0);
	free(p);
	run_free(&plain);
	/* with openat2, the reference: the links are refused */
	run_seccomp(&plain, scratch, 0, args);
	cr_assert_eq(plain.status, 0, "%s", plain.err);
	cr_assert_null(strstr(plain.out, "OUTSIDE-MARKER"), "%s", plain.out);
	for (int e = 0; e < 2; e++) {
		run_seccomp(&got, scratch, e ? EPERM : ENOSYS, args);
		cr_assert_eq(got.status, 0, "%s", got.err);
		cr_assert_null(strstr(got.out, "OUTSIDE-MARKER"), "read outside the root:\n%s",
			       got.out);
		cr_assert_null(strstr(got.err, "OUTSIDE-MARKER"), "%s", got.err);
		cr_assert_str_eq(got.out, plain.out, "without openat2 the tree reads differently");
		run_free(&got);
		run_seccomp(&got, scratch, e ? EPERM : ENOSYS, sargs);
		cr_assert_null(strstr(got.out, "OUTSIDE-MARKER"), "read outside the root:\n%s",
			       got.out);
		run_free(&got);
	}
	run_free(&plain);
	free(type);
	free(up);
	free(secret);
}

/* ---- capture FILE: never renamed over a FILE that is not a regular file ---- */

static bool is_tar(const char *file)
{
	char buf[512];
	FILE *f = fopen(file, "r");
	bool ok;

	if (!f)
		return false;
	ok = fread(buf, 1, sizeof(buf), f) == sizeof(buf) && memcmp(buf + 257, "ustar", 5) == 0;
	fclose(f);
	return ok;
}

Test(paths, capture_into_a_fifo_writes_the_stream)
{
	char *root = tree("t4-mdev-pf"), *scratch = tdir("cap"), *fifo = path(scratch, "fifo");
	char *got = path(scratch, "got.tar");
	struct stat st;
	struct run r;
	pid_t reader;
	int status;

	cr_assert_eq(mkfifo(fifo, 0600), 0);
	reader = fork();
	cr_assert_geq(reader, 0);
	if (reader == 0) {
		char buf[65536];
		int in = open(fifo, O_RDONLY), out = open(got, O_WRONLY | O_CREAT, 0600);
		ssize_t n;

		if (in < 0 || out < 0)
			_exit(1);
		while ((n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				_exit(1);
		_exit(n < 0);
	}
	run_gpupart(&r, root, "capture", fifo, NULL);
	cr_assert_eq(lstat(fifo, &st), 0);
	if (!S_ISFIFO(st.st_mode)) {
		/* renamed over: the reader waits for a writer that never comes */
		kill(reader, SIGKILL);
		waitpid(reader, &status, 0);
		cr_assert_fail("the FIFO was replaced (mode %o)", st.st_mode);
	}
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(waitpid(reader, &status, 0), reader);
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	cr_assert(is_tar(got), "the reader got no tar");
	free(fifo);
	free(got);
}

Test(paths, capture_into_a_character_device)
{
	char *root = tree("t4-mdev-pf"), *scratch = tdir("cap"), *node = path(scratch, "null");
	struct stat st;
	struct run r;

	if (mknod(node, S_IFCHR | 0666, makedev(1, 3)) < 0)
		cr_skip_test("mknod: %s", strerror(errno));
	run_gpupart(&r, root, "capture", node, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(lstat(node, &st), 0);
	cr_assert(S_ISCHR(st.st_mode), "the device node was replaced (mode %o)", st.st_mode);
	cr_assert_eq(major(st.st_rdev), 1);
	free(node);
}

/* /dev/stdout is a link: written through, the link itself stays */
Test(paths, capture_through_a_link)
{
	char *root = tree("t4-mdev-pf"), *scratch = tdir("cap"), *target = path(scratch, "real.tar");
	char *link = path(scratch, "stdout");
	struct stat st;
	struct run r;
	FILE *f = fopen(target, "w");

	cr_assert_not_null(f);
	fputs("old contents, longer than nothing\n", f);
	fclose(f);
	cr_assert_eq(symlink("real.tar", link), 0);
	run_gpupart(&r, root, "capture", link, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(lstat(link, &st), 0);
	cr_assert(S_ISLNK(st.st_mode), "the link was replaced (mode %o)", st.st_mode);
	cr_assert(is_tar(target), "the link's target holds no tar");
	free(target);
	free(link);
}

Test(paths, capture_onto_a_block_device_is_refused)
{
	char *root = tree("t4-mdev-pf"), *scratch = tdir("cap"), *node = path(scratch, "disk");
	struct stat st;
	struct run r;

	/* loop7's numbers; nothing is ever opened through it */
	if (mknod(node, S_IFBLK | 0600, makedev(7, 7)) < 0)
		cr_skip_test("mknod: %s", strerror(errno));
	run_gpupart(&r, root, "capture", node, NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "refusing to write a capture onto a block device"), "%s", r.err);
	run_free(&r);
	cr_assert_eq(lstat(node, &st), 0);
	cr_assert(S_ISBLK(st.st_mode), "the device node was replaced (mode %o)", st.st_mode);
	free(node);
}

/* a regular FILE is still replaced atomically (a new inode, the old one untouched) */
Test(paths, capture_replaces_a_regular_file)
{
	char *root = tree("t4-mdev-pf"), *scratch = tdir("cap"), *file = path(scratch, "c.tar");
	struct stat before, after;
	struct run r;
	FILE *f = fopen(file, "w");

	cr_assert_not_null(f);
	fputs("old\n", f);
	fclose(f);
	cr_assert_eq(stat(file, &before), 0);
	run_gpupart(&r, root, "capture", file, NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	run_free(&r);
	cr_assert_eq(stat(file, &after), 0);
	cr_assert_neq(before.st_ino, after.st_ino, "not renamed into place");
	cr_assert(is_tar(file));
	free(file);
}

/* ---- --json is UTF-8 whatever bytes the host holds ---- */

/* An independent check: every code point well-formed (no overlong form, no surrogate, none
 * past U+10FFFF). */
static bool valid_utf8(const char *text)
{
	const unsigned char *s = (const unsigned char *)text;

	while (*s) {
		unsigned cp, n, i;

		if (*s < 0x80) {
			s++;
			continue;
		}
		n = (*s & 0xe0) == 0xc0 ? 2 : (*s & 0xf0) == 0xe0 ? 3 : (*s & 0xf8) == 0xf0 ? 4 : 0;
		if (!n)
			return false;
		cp = *s & (0x7f >> n);
		for (i = 1; i < n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n;
	}
	return true;
}

static void json_ok(const char *out, const char *what)
{
	struct json_object *o;

	cr_assert(valid_utf8(out), "%s: stdout is not UTF-8:\n%s", what, out);
	o = json_tokener_parse(out);
	cr_assert_not_null(o, "%s: stdout is not JSON", what);
	json_object_put(o);
}

Test(paths, json_mends_invalid_utf8_in_vgpu_type_names)
{
	char *root = tree("t4-mdev-pf");
	char *m = path(root, "sys/bus/pci/devices/0000:3b:00.0/mdev_supported_types");
	DIR *d = opendir(m);
	struct dirent *e;
	struct run r;

	cr_assert_not_null(d, "%s", m);
	while ((e = readdir(d))) {
		char *name, *rel, *text;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		cr_assert_geq(asprintf(&rel, "%s/%s/name", m, e->d_name), 0);
		text = slurp(rel);
		cr_assert_not_null(text);
		/* a lone byte, a truncated sequence, a surrogate, a valid e-acute, past U+10FFFF,
		 * an overlong NUL, a valid 4-byte U+1F600 */
		cr_assert_geq(asprintf(&name, "\xff\xe2\x82 \xed\xa0\x80\xc3\xa9\xf4\x90\x80\x80"
					      "\xc0\x80\xf0\x9f\x98\x80%s",
				       text),
			      0);
		f = fopen(rel, "w");
		cr_assert_not_null(f);
		fputs(name, f);
		fclose(f);
		free(name);
		free(text);
		free(rel);
	}
	closedir(d);
	free(m);
	run_gpupart(&r, root, "--json", "list", NULL);
	cr_assert_eq(r.status, 0, "%s", r.err);
	json_ok(r.out, "list");
#define FFFD "\xef\xbf\xbd"
	cr_assert(strstr(r.out, "\"vgpu_type\": \"" FFFD FFFD " " FFFD FFFD FFFD "\xc3\xa9" FFFD FFFD
				FFFD FFFD FFFD FFFD "\xf0\x9f\x98\x80GRID T4-"),
		  "each ill-formed sequence is one U+FFFD, the rest is kept:\n%s", r.out);
	run_free(&r);
	run_gpupart(&r, root, "--json", "survey", NULL);
	json_ok(r.out, "survey");
	run_free(&r);
}

Test(paths, json_mends_invalid_utf8_in_a_driver_name)
{
	char *root = tree("a16-vfio"), *link = path(root, "sys/bus/pci/devices/0000:00:01.0/driver");
	char target[512];
	ssize_t n = readlink(link, target, sizeof(target) - 8);
	struct run r;

	cr_assert_gt(n, 0, "%s", link);
	target[n] = 0;
	strcat(target, "\xc0\xaf"); /* an overlong '/' */
	cr_assert_eq(unlink(link), 0);
	cr_assert_eq(symlink(target, link), 0);
	run_gpupart(&r, root, "--any-class", "--json", "survey", NULL);
	json_ok(r.out, "survey");
	run_free(&r);
	run_gpupart(&r, root, "--any-class", "--json", "list", "0000:00:01.0", NULL);
	json_ok(r.out, "list");
	cr_assert(strstr(r.out, "\xef\xbf\xbd\xef\xbf\xbd\""), "%s", r.out);
	run_free(&r);
	free(link);
}
