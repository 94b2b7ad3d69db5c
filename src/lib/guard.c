/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What makes a mutation unsafe, found before the first write: the host lock that serialises
 * mutating commands, processes holding a device node (an unbind or an sriov_numvfs write would
 * block in the kernel behind them: reliability.md 4.1, 4.4) and reservation records.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <gpupart/plan.h>

#include "hostfs.h"
#include "internal.h"

int gp_lock_take(struct gp_ctx *ctx, int timeout_ms)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int fd, r, waited = 0;

	/* root-only: the journal and reservations say which tenant has which device */
	r = gp_hostfs_mkdirs(ctx, GP_HP_STATE_DIR, 0700);
	if (r < 0)
		return r;
	fd = gp_hostfs_open_file(ctx, GP_HP_STATE_DIR, "lock", 0600);
	if (fd < 0)
		return fd;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			r = -errno;
			close(fd);
			return r;
		}
		if (waited == 0)
			INFO(ctx, "waiting for another gpupart command to finish");
		if (waited >= timeout_ms) {
			close(fd);
			return -EWOULDBLOCK;
		}
		nanosleep(&pause, NULL);
		waited += 20;
	}
	ctx->lock_fd = fd;
	return fd;
}

void gp_lock_release(struct gp_ctx *ctx, int fd)
{
	if (fd < 0)
		return;
	if (ctx->lock_fd == fd)
		ctx->lock_fd = -1;
	close(fd); /* closing the last descriptor drops the flock */
}

void gp_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int strv_add(char ***v, size_t *n, char *s)
{
	char **slot;

	if (!s)
		return -ENOMEM;
	slot = GP_PUSH(*v, *n);
	if (!slot) {
		free(s);
		return -ENOMEM;
	}
	*slot = s;
	return 0;
}

static bool node_matches(const char *target, const int *groups, size_t n_groups, bool nvidia)
{
	const char *vfio = "/dev/vfio/";
	char *end;
	long g;
	size_t i;

	if (nvidia && strncmp(target, "/dev/nvidia", 11) == 0)
		return true;
	if (strncmp(target, vfio, strlen(vfio)) != 0)
		return false;
	g = strtol(target + strlen(vfio), &end, 10);
	if (end == target + strlen(vfio) || *end)
		return false;
	for (i = 0; i < n_groups; i++)
		if (groups[i] == g)
			return true;
	return false;
}

struct holders {
	const int *groups;
	size_t n_groups;
	bool nvidia;
	char ***why;
	size_t *n_why;
	int found;
};

static int note_holder(void *data, int procfd, const char *pid, const char *target)
{
	struct holders *h = data;
	char comm[64], *msg;

	if (!node_matches(target, h->groups, h->n_groups, h->nvidia))
		return 0;
	gp_proc_comm(procfd, pid, comm, sizeof(comm));
	if (asprintf(&msg, "pid %s (%s) holds %s", pid, comm, target) < 0)
		msg = NULL;
	if (strv_add(h->why, h->n_why, msg) < 0)
		return -ENOMEM;
	h->found++;
	return 1; /* one line per process is enough */
}

int gp_guard_holders(struct gp_ctx *ctx, const int *groups, size_t n_groups, bool nvidia,
		     char ***why, size_t *n_why)
{
	struct holders h = { groups, n_groups, nvidia, why, n_why, 0 };

	if (!n_groups && !nvidia)
		return 0;
	/* no /proc under this root: nothing visible, nothing to refuse */
	gp_proc_each_fd(ctx, note_holder, &h);
	return h.found;
}

int gp_guard_reservations(struct gp_ctx *ctx, const char *const *devices, size_t n,
			  char ***why, size_t *n_why)
{
	struct dirent *de;
	int dfd, found = 0;
	DIR *dir;
	size_t i;

	dfd = gp_hostfs_open_dir(ctx, GP_HP_RESERVATIONS, NULL);
	if (dfd < 0)
		return 0;
	dir = gp_hostfs_opendir_at(dfd, NULL);
	while (dir && (de = readdir(dir))) {
		for (i = 0; i < n; i++) {
			char text[256] = "", *msg, *nl;

			if (strcasecmp(de->d_name, devices[i]) != 0)
				continue;
			gp_hostfs_read_at(dfd, de->d_name, text, sizeof(text));
			nl = strchr(text, '\n');
			if (nl)
				*nl = 0;
			if (asprintf(&msg, "%s is reserved (%s)", devices[i],
				     *text ? text : "no details") < 0)
				msg = NULL;
			if (strv_add(why, n_why, msg) == 0)
				found++;
		}
	}
	if (dir)
		closedir(dir);
	close(dfd);
	return found;
}
