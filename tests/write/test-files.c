/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The files gpupart writes under the root: a state or config directory whose parent is a link
 * out of the root is refused, never followed; the atomic writer's temp file is always a new
 * file (a hard link planted under its name is left as it was) and the temp files a killed run
 * left behind are removed.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wrun.h"

#ifndef __NR_openat2
#define __NR_openat2 437
#endif

TestSuite(write_files, .init = wsetup, .fini = wteardown, .timeout = 60);

static char *at(const char *root, const char *rel)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	return p;
}

Test(write_files, state_dir_parent_links_out_of_the_root)
{
	char *root = wtree("sriov-off"), *run = at(root, "run"), *outside = at(root, "outside");
	struct run r;

	/* absolute: RESOLVE_BENEATH refuses it even though it names a place inside */
	cr_assert_eq(mkdir(outside, 0755), 0);
	cr_assert_eq(symlink(outside, run), 0);
	fklog_reset(root);
	gpf(&r, root, "set-count", NVME, "2", "--runtime", NULL);
	cr_assert_eq(r.status, 1, "exit %d\n%s", r.status, r.err);
	cr_assert(strstr(r.err, "/run: a link out of the root"), "%s", r.err);
	run_free(&r);
	cr_assert_not(ex(root, "outside/gpupart"), "mkdirs followed run/ out of the root");
	cr_assert_eq(fklog_ops(root), 0, "%s", fklog(root));
	free(run);
	free(outside);
}

/* a relative link that stays beneath the root is a directory like any other */
Test(write_files, state_dir_parent_links_within_the_root)
{
	char *root = wtree("sriov-off"), *run = at(root, "run");
	struct run r;

	mkdirs(root, "srv/run");
	cr_assert_eq(symlink("srv/run", run), 0);
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", "--runtime", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert(ex(root, "srv/run/gpupart/lock"));
	free(run);
}

/*
 * Runs gpupart-fake -r ROOT ARGS in a child whose pid is known before it starts: @plant(root,
 * pid), when not NULL, runs first (the temp name is ".NAME.PID"); openat2 answers
 * @no_openat2 (an errno) when it is not 0. Returns the exit status; stderr in *err.
 */
static int run_child(const char *root, void (*plant)(const char *, pid_t),
		     const char *const *args, char **err, int no_openat2)
{
	int go[2], ep[2], st, n = 0;
	const char *argv[32];
	char buf[65536];
	ssize_t got;
	pid_t pid;

	argv[n++] = fake_bin();
	argv[n++] = "-r";
	argv[n++] = root;
	for (; *args && n < 31; args++)
		argv[n++] = *args;
	argv[n] = NULL;
	cr_assert_eq(pipe(go), 0);
	cr_assert_eq(pipe(ep), 0);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char c;

		close(go[1]);
		close(ep[0]);
		dup2(ep[1], 2);
		if (read(go[0], &c, 1) != 1)
			_exit(126);
		if (no_openat2) {
			/* a kernel without openat2, as some container runtimes make it */
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
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(go[0]);
	close(ep[1]);
	if (plant)
		plant(root, pid);
	cr_assert_eq(write(go[1], "x", 1), 1);
	close(go[1]);
	got = read(ep[0], buf, sizeof(buf) - 1);
	buf[got > 0 ? got : 0] = 0;
	close(ep[0]);
	cr_assert_eq(waitpid(pid, &st, 0), pid);
	*err = strdup(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void victim(const char *root, const char *rel)
{
	char *p = at(root, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, "secret\n", 7), 7);
	close(fd);
	cr_assert_eq(chmod(p, 0600), 0);
	free(p);
}

static void hard_link(const char *root, const char *target, const char *rel)
{
	char *t = at(root, target), *l = at(root, rel);

	cr_assert_eq(link(t, l), 0, "link %s: %s", l, strerror(errno));
	free(t);
	free(l);
}

static void plant_links(const char *root, pid_t pid)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "etc/gpupart/.partitions.conf.%d", (int)pid);
	hard_link(root, "victim-conf", rel);
	snprintf(rel, sizeof(rel), "run/gpupart/.journal.%d", (int)pid);
	hard_link(root, "victim-journal", rel);
}

static void untouched(const char *root, const char *rel)
{
	char *p = at(root, rel), *text = rd(root, "%s", rel);
	struct stat st;

	cr_assert_eq(stat(p, &st), 0);
	cr_assert_eq(st.st_mode & 07777, 0600, "%s made %o", rel, st.st_mode & 07777);
	cr_assert_str_eq(text ? text : "", "secret", "%s was overwritten", rel);
	cr_assert_eq(st.st_nlink, 1, "%s: the planted link is still there", rel);
	free(text);
	free(p);
}

Test(write_files, temp_file_never_writes_through_a_planted_hard_link)
{
	static const char *const args[] = { "set-count", NVME, "2", NULL };
	char *root = wtree("sriov-off"), *err, *conf;

	mkdirs(root, "etc/gpupart");
	mkdirs(root, "run/gpupart");
	victim(root, "victim-conf");
	victim(root, "victim-journal");
	cr_assert_eq(run_child(root, plant_links, args, &err, 0), 0, "%s", err);
	free(err);
	untouched(root, "victim-conf");
	untouched(root, "victim-journal");
	conf = rd(root, "etc/gpupart/partitions.conf");
	cr_assert_not_null(conf, "no partitions.conf");
	cr_assert_null(strstr(conf, "secret"));
	free(conf);
}

Test(write_files, stale_temp_files_of_ours_are_removed)
{
	char *root = wtree("sriov-off"), *p;
	struct run r;

	mkdirs(root, "etc/gpupart");
	put(root, "etc/gpupart/.partitions.conf.999999", "stale\n");
	put(root, "etc/gpupart/.partitions.conf.12ab", "not ours\n");
	put(root, "etc/gpupart/.other.conf.999999", "not ours\n");
	p = at(root, "etc/gpupart/.partitions.conf.888888");
	cr_assert_eq(symlink("/dev/null", p), 0);
	free(p);
	mkdirs(root, "etc/gpupart/.partitions.conf.777777");
	cr_assert_eq(gpf(&r, root, "set-count", NVME, "2", NULL), 0, "%s", r.err);
	run_free(&r);
	cr_assert(ex(root, "etc/gpupart/partitions.conf"));
	cr_assert_not(ex(root, "etc/gpupart/.partitions.conf.999999"), "the stale temp file stays");
	/* only regular files of the exact pattern go */
	cr_assert(ex(root, "etc/gpupart/.partitions.conf.12ab"));
	cr_assert(ex(root, "etc/gpupart/.other.conf.999999"));
	cr_assert(ex(root, "etc/gpupart/.partitions.conf.888888"));
	cr_assert(ex(root, "etc/gpupart/.partitions.conf.777777"));
}

/* Without openat2 the write side does exactly what it does with it: the same writes in the
 * fake kernel's log, the same tree after (journal, lock, partitions.conf), both ways. */
Test(write_files, no_openat2_writes_the_same)
{
	static const char *const counts[] = { "4", "2", "0" };
	char *a = wtree("sriov-off"), *b = wtree("sriov-off");

	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		const char *args[] = { "set-count", NVME, counts[i], NULL };
		char *err, *la, *lb, *ma, *mb;

		fklog_reset(a);
		fklog_reset(b);
		cr_assert_eq(run_child(a, NULL, args, &err, 0), 0, "%s", err);
		free(err);
		cr_assert_eq(run_child(b, NULL, args, &err, i == 1 ? EPERM : ENOSYS), 0, "%s", err);
		free(err);
		la = fklog(a);
		lb = fklog(b);
		cr_assert_gt(fklog_ops(a), 0);
		cr_assert_str_eq(lb, la, "set-count %s without openat2", counts[i]);
		ma = manifest(a, M_STATE);
		mb = manifest(b, M_STATE);
		assert_manifest_eq(mb, ma, "without openat2");
		free(la);
		free(lb);
		free(ma);
		free(mb);
	}
}
