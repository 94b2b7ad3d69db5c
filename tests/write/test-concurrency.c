/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Many set-count processes at once, released together behind a barrier (a pipe they all wait
 * to see closed): the host lock serialises them, none is lost, and the end state is one that
 * some command asked for, never a mix.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wrun.h"

TestSuite(write_concurrency, .init = wsetup, .fini = wteardown, .timeout = 120);

struct job {
	const char *addr, *count;
	pid_t pid;
	int status;
	char errf[4096];
	char *err;
};

static void run_together(const char *root, struct job *j, int n)
{
	int gate[2];

	cr_assert_eq(pipe(gate), 0);
	for (int i = 0; i < n; i++) {
		snprintf(j[i].errf, sizeof(j[i].errf), "%s/gpw-cc-%d-%d", test_tmpbase(), (int)getpid(),
			 i);
		j[i].pid = fork();
		cr_assert_geq(j[i].pid, 0);
		if (j[i].pid == 0) {
			char c;
			int fd = open(j[i].errf, O_WRONLY | O_CREAT | O_TRUNC, 0644);

			close(gate[1]);
			while (read(gate[0], &c, 1) > 0)
				;
			dup2(fd, 2);
			dup2(open("/dev/null", O_WRONLY), 1);
			execl(fake_bin(), fake_bin(), "-r", root, "set-count", j[i].addr, j[i].count,
			      (char *)NULL);
			_exit(127);
		}
	}
	close(gate[0]);
	close(gate[1]); /* go */
	for (int i = 0; i < n; i++) {
		int st;

		waitpid(j[i].pid, &st, 0);
		j[i].status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
		j[i].err = slurp(j[i].errf);
		unlink(j[i].errf);
	}
}

static int typed(const char *root, const char *pf, int *type)
{
	char *nv = rd(root, "sys/bus/pci/devices/%s/sriov_numvfs", pf), vf[16];
	int n = 0, total = atoi(nv);

	*type = 0;
	for (int i = 0; i < total; i++) {
		char *t;

		vf_addr(root, pf, i, vf);
		t = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
		cr_assert_not_null(t);
		if (atoi(t)) {
			cr_assert(*type == 0 || *type == atoi(t), "two types on %s: %d and %d", pf,
				  *type, atoi(t));
			*type = atoi(t);
			n++;
		}
		free(t);
	}
	free(nv);
	return n;
}

static int gpus(const char *root, char addrs[][16])
{
	struct run r;
	int n = 0;

	cr_assert_eq(gpf(&r, root, "list", NULL), 0, "%s", r.err);
	for (char *p = r.out; (p = strstr(p, "Address               : ")); p++) {
		p += strlen("Address               : ");
		if (strncmp(p, "0000:c1", 7))
			snprintf(addrs[n++], 16, "%.12s", p);
	}
	run_free(&r);
	return n;
}

Test(write_concurrency, sixteen_gpus_at_once)
{
	char *root = wtree("sixteen-sriov"), addrs[20][16], *conf;
	struct job j[16];
	int n = gpus(root, addrs), lines = 0, type;

	cr_assert_eq(n, 16);
	memset(j, 0, sizeof(j));
	for (int i = 0; i < 16; i++) {
		j[i].addr = addrs[i];
		j[i].count = "4";
	}
	run_together(root, j, 16);
	for (int i = 0; i < 16; i++) {
		cr_assert_eq(j[i].status, 0, "%s: exit %d\n%s", j[i].addr, j[i].status, j[i].err);
		free(j[i].err);
	}
	for (int i = 0; i < 16; i++)
		cr_assert_eq(typed(root, addrs[i], &type), 4, "%s", addrs[i]);
	cr_assert_not(journal_present(root));
	conf = conf_of(root);
	for (char *p = conf; (p = strstr(p, "\npci")); p++) {
		cr_assert(strncmp(strstr(p, "count="), "count=4", 7) == 0, "%s", conf);
		lines++;
	}
	cr_assert_eq(lines, 16, "%s", conf);
	for (int i = 0; i < 16; i++) {
		char want[40];

		snprintf(want, sizeof(want), "address=%s", addrs[i]);
		cr_assert(strstr(conf, want), "%s missing:\n%s", addrs[i], conf);
	}
	free(conf);
}

/*
 * Eight counts for one A16 GPU (valid: 16, 8, 4, 2, 1 and 0). Once a type is in force the
 * driver offers only it (homogeneous mode), so a different count is refused as invalid (exit
 * 2) until the GPU is back at 0: that is the only refusal allowed here.
 */
Test(write_concurrency, eight_counts_one_gpu)
{
	static const char *const counts[] = { "4", "2", "16", "0", "8", "1", "4", "0" };
	char *root = wtree("sixteen-sriov"), addrs[20][16], *conf, *c;
	struct job j[8];
	int ok = 0, final, type, want_type = -1;
	char finals[8];

	cr_assert_eq(gpus(root, addrs), 16);
	/* 0 disables the VFs (sriov-manage -d), a count after it enables them again */
	with_sriov_manage(root);
	memset(j, 0, sizeof(j));
	for (int i = 0; i < 8; i++) {
		j[i].addr = addrs[5];
		j[i].count = counts[i];
	}
	run_together(root, j, 8);
	for (int i = 0; i < 8; i++) {
		cr_assert(j[i].status == 0 ||
				  (j[i].status == 2 && strstr(j[i].err, "is not a valid partition count")),
			  "count %s: exit %d\n%s", j[i].count, j[i].status, j[i].err);
		free(j[i].err);
		finals[i] = j[i].status == 0;
		ok += finals[i];
	}
	cr_assert_gt(ok, 0);
	cr_assert_not(journal_present(root));
	final = typed(root, addrs[5], &type);
	{
		bool requested = false;

		for (int i = 0; i < 8; i++)
			requested |= finals[i] && atoi(counts[i]) == final;
		cr_assert(requested, "ended with %d partitions, which no successful command asked for",
			  final);
	}
	/* the whole state is that count's: exactly the first `final` VFs, one type, whose
	 * framebuffer is the GPU's over the count */
	{
		char vf[16], *t;

		for (int i = 0; i < final; i++) {
			vf_addr(root, addrs[5], i, vf);
			t = rd(root, "sys/bus/pci/devices/%s/nvidia/current_vgpu_type", vf);
			cr_assert(t && atoi(t) == type, "VF %d of %d carries %s", i, final, t);
			free(t);
		}
	}
	if (final) {
		/* 16 GiB per A16 GPU: 16/final GiB per partition, a Q type */
		char other[16], suffix[8];

		snprintf(suffix, sizeof(suffix), "-%dQ", 16 / final);
		/* another, untouched GPU still lists every type: read the name there */
		vf_addr(root, addrs[6], 0, other);
		{
			char *p, *all;

			cr_assert_geq(asprintf(&p, "%s/sys/bus/pci/devices/%s/nvidia/creatable_vgpu_types",
					       root, other), 0);
			all = slurp(p);
			free(p);
			for (char *l = strtok(all, "\n"); l; l = strtok(NULL, "\n"))
				if (atoi(l) == type)
					want_type = strstr(l, suffix) ? type : -2;
			free(all);
		}
		cr_assert_eq(want_type, type, "type %d is not the A16%s type", type, suffix);
	}
	conf = conf_of(root);
	c = strstr(conf, "count=");
	c = strstr(c + 1, "count="); /* past the header's count=N */
	cr_assert_not_null(c, "%s", conf);
	cr_assert_eq(atoi(c + 6), final, "the layout says %d, the host has %d", atoi(c + 6), final);
	free(conf);
}
