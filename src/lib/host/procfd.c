/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Processes (host/procfd.h): which of them hold a device node open, read from ROOT/proc (the
 * scan's "in use by host", the guards' "a VM or an agent holds it"), and the start time of
 * one of our own. A holder is seen through its fd links: /proc/PID/fd/N names the node it
 * opened (proc_fd_link() in fs/proc/fd.c gives the file's path).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "base/internal.h"
#include "host/hostfs.h"
#include "host/procfd.h"

static bool matches(const struct gp_node_pattern *p, const char *target)
{
	size_t len = strlen(p->path);
	const char *s;
	long v = 0;

	switch (p->match) {
	case GP_NODE_EXACT:
		return strcmp(target, p->path) == 0;
	case GP_NODE_PREFIX:
		return strncmp(target, p->path, len) == 0;
	case GP_NODE_NUMBER:
		if (strncmp(target, p->path, len) != 0 || !isdigit((unsigned char)target[len]))
			return false;
		for (s = target + len; *s; s++) {
			if (!isdigit((unsigned char)*s))
				return false;
			if (v <= 0x7fffffff)
				v = v * 10 + (*s - '0');
		}
		return p->number < 0 || v == p->number;
	}
	return false;
}

/* The command name of @pid ("?" when unreadable). */
static void proc_comm(int procfd, const char *pid, char *buf, size_t len)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "%s/comm", pid);
	if (gp_hostfs_read_at(procfd, rel, buf, len) <= 0)
		snprintf(buf, len, "?");
}

/* The open files of one process; fn's answer for it (0 when none matched). */
static int one_process(int procfd, const char *pid, const struct gp_node_pattern *patterns,
		       size_t n, gp_holder_fn fn, void *data)
{
	struct dirent *fe;
	char rel[300];
	DIR *fds;
	int r = 0;

	snprintf(rel, sizeof(rel), "%s/fd", pid);
	fds = gp_hostfs_opendir_at(procfd, rel);
	while (r == 0 && fds && (fe = readdir(fds))) {
		char target[256], lrel[320], comm[64];
		struct gp_holder h = { .pid = pid, .comm = comm, .target = target };

		if (fe->d_name[0] == '.')
			continue;
		snprintf(lrel, sizeof(lrel), "%s/fd/%s", pid, fe->d_name);
		if (gp_hostfs_readlink_at(procfd, lrel, target, sizeof(target)) < 0)
			continue;
		for (h.pattern = 0; h.pattern < n; h.pattern++)
			if (matches(&patterns[h.pattern], target))
				break;
		if (h.pattern == n)
			continue;
		proc_comm(procfd, pid, comm, sizeof(comm));
		r = fn(data, &h);
	}
	if (fds)
		closedir(fds);
	return r;
}

int gp_procfd_holders(struct gp_ctx *ctx, const struct gp_node_pattern *patterns, size_t n,
		      gp_holder_fn fn, void *data)
{
	struct dirent *pe;
	int procfd, seen = 0, r = 0;
	DIR *proc;

	procfd = gp_hostfs_open_dir(ctx, GP_HP_PROC, NULL);
	if (procfd < 0)
		return 0;
	proc = gp_hostfs_opendir_at(procfd, NULL);
	while (r >= 0 && proc && (pe = readdir(proc))) {
		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		seen++;
		r = one_process(procfd, pe->d_name, patterns, n, fn, data);
	}
	if (proc)
		closedir(proc);
	close(procfd);
	return r < 0 ? r : seen;
}

unsigned long long gp_proc_start_time(int pid)
{
	/* our own processes, not the host tree under --root: the real /proc */
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	/* "pid (comm) state ppid ...": comm may hold spaces and ')', so count from the last ')' */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (sscanf(p, "%llu", &start) != 1)
		return 0;
	return start;
}
