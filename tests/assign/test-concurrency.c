/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * 32 concurrent `assign`s, one domain each, for 16 free partitions (two A16 GPUs with eight
 * 2Q each): exactly 16 succeed with 16 distinct partitions, 16 exit 5 (no free partition),
 * 16 records, each naming the domain whose one hostdev is that partition; no domain holds
 * two. The claim is the reservation record written under the host lock (resv.h): without it
 * two calls would read the same free partition.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alib.h"
#include "fixture.h"

TestSuite(assign_concurrency, .init = a_init, .fini = a_fini, .timeout = 240);

#define N 32

/* a16-vfio with GPUs 03 and 05 holding eight 2Q each (full: the A16-2Q's maximum), 04 none */
static char *sixteen_free(void)
{
	struct fx_tree *t = fx_scenario_build("a16-vfio");
	static const char *const gpus[] = { A16_0, A16_1, A16_2 };
	char *root;

	cr_assert_not_null(t);
	for (int g = 0; g < 3; g++) {
		struct fx_dev *pf = fx_dev_find(t, gpus[g]);

		cr_assert_not_null(pf);
		for (int v = 0; v < pf->sriov_numvfs; v++)
			pf->vfs[v]->current_vgpu = g != 1 && v < 8 ? 683 : 0;
	}
	root = wtree_of(t, "a16-sixteen");
	fx_tree_free(t);
	return root;
}

/* the GPU and partition ID of a VF of the tree: VF v of GPU 03 or 05 is partition v */
static bool partition_of(const char *root, const char *vf, const char **gpu, int *id)
{
	static const char *const gpus[] = { A16_0, A16_2 };
	char a[16];

	for (int g = 0; g < 2; g++)
		for (int v = 0; v < 8; v++) {
			vf_addr(root, gpus[g], v, a);
			if (!strcmp(a, vf)) {
				*gpu = gpus[g];
				*id = v;
				return true;
			}
		}
	return false;
}

Test(assign_concurrency, thirty_two_assigns_sixteen_partitions)
{
	char *root = sixteen_free(), *out = test_tmpdir("conc"), names[N][8];
	char seen[N][48];
	pid_t pids[N];
	int status[N], n_ok = 0, n_full = 0, n_seen = 0;
	struct timespec t0, t1;

	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "c%02d", i);
		a_define(names[i], NULL);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < N; i++) {
		/* 32 processes asking one daemon on a 2-core machine (4 times slower under ASan):
		 * libvirt's 10 s default is for a hang, not for this queue */
		const char *args[] = { "assign", names[i], "--libvirt-timeout", "120", NULL },
			   *argv[48];
		char path[512];

		a_argv(argv, root, args);
		snprintf(path, sizeof(path), "%s/%s.err", out, names[i]);
		pids[i] = fork();
		cr_assert_geq(pids[i], 0);
		if (pids[i] == 0) {
			int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), null = open("/dev/null", O_RDWR);

			dup2(null, 0);
			dup2(null, 1);
			dup2(fd, 2);
			execv(argv[0], (char *const *)argv);
			_exit(127);
		}
	}
	for (int i = 0; i < N; i++) {
		int st;

		cr_assert_eq(waitpid(pids[i], &st, 0), pids[i]);
		status[i] = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	fprintf(stderr, "32 concurrent assigns: %.2f s\n",
		(double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (int i = 0; i < N; i++) {
		struct a_hostdev h[4];
		char *x = a_xml(names[i]), path[512], *err;
		int n = a_hostdevs(x, h, 4);

		snprintf(path, sizeof(path), "%s/%s.err", out, names[i]);
		err = a_own(slurp(path));
		if (status[i] == 0) {
			const char *gpu;
			int id;

			n_ok++;
			cr_assert_eq(n, 1, "%s got %d hostdevs:\n%s", names[i], n, x);
			a_expect_hostdev(x, "nvidia-vfio", h[0].source);
			cr_assert(partition_of(root, h[0].source, &gpu, &id), "%s: %s is no partition",
				  names[i], h[0].source);
			for (int j = 0; j < n_seen; j++)
				cr_assert_str_neq(seen[j], h[0].source, "%s given twice", h[0].source);
			snprintf(seen[n_seen++], sizeof(seen[0]), "%s", h[0].source);
			cr_expect_str_eq(a_resv(root, h[0].source),
					 a_resv_want(h[0].source, names[i], gpu, id));
		} else {
			cr_expect_eq(status[i], 5, "%s: exit %d\n%s", names[i],
				     status[i], err ? err : "");
			n_full += status[i] == 5;
			cr_expect_eq(n, 0, "%s was refused but holds a hostdev:\n%s", names[i], x);
		}
	}
	cr_expect_eq(n_ok, 16, "%d succeeded", n_ok);
	cr_expect_eq(n_full, 16, "%d got exit 5", n_full);
	cr_expect_eq(a_resv_count(root), 16);
	cr_expect_not(journal_present(root));
}
