/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Steps: making them (they own their data: a plan outlives the states it was made from) and
 * running them. Every sysfs write and host program goes through host/kernel (bounded, in a
 * child); record files through hostfs's atomic writer. Waits and verifies read the kernel's
 * answer back: a write that succeeds proves nothing.
 */
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "host/kernel.h"
#include "base/internal.h"
#include "txn/txn.h"

static const char *const op_names[] = {
	[GP_STEP_WRITE] = "write", [GP_STEP_EXEC] = "exec",     [GP_STEP_WAIT] = "wait",
	[GP_STEP_VERIFY] = "verify", [GP_STEP_RESCAN] = "rescan", [GP_STEP_FILE] = "file",
	[GP_STEP_DOMAIN] = "domain",
};

const char *gp_step_op_str(enum gp_step_op op)
{
	return (size_t)op < ARRAY_SIZE(op_names) ? op_names[op] : "?";
}

struct gp_step *gp_plan_add(struct gp_plan *p, enum gp_step_op op, const char *device,
			    const char *path, const char *value)
{
	struct gp_step *s;
	char *v = strdup(value ? value : "");

	if (!v || (path && strlen(path) >= sizeof(s->path))) {
		free(v);
		return NULL;
	}
	s = GP_PUSH(p->steps, p->n);
	if (!s) {
		free(v);
		return NULL;
	}
	s->op = op;
	s->value = v;
	snprintf(s->path, sizeof(s->path), "%s", path ? path : "");
	snprintf(s->device, sizeof(s->device), "%s", device ? device : "");
	return s;
}

int gp_plan_move(struct gp_plan *dst, struct gp_plan *src)
{
	struct gp_step *v;

	if (!src->n)
		return 0;
	v = realloc(dst->steps, (dst->n + src->n) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	memcpy(v + dst->n, src->steps, src->n * sizeof(*v));
	dst->steps = v;
	dst->n += src->n;
	free(src->steps);
	src->steps = NULL;
	src->n = 0;
	return 0;
}

void gp_plan_clear(struct gp_plan *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		free(p->steps[i].value);
	free(p->steps);
	memset(p, 0, sizeof(*p));
}

#define VERIFY_MS 500 /* how long a binding may take to show (Incus waits 10 x 50 ms) */
#define POLL_MS 10

static void pause_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* Entries of dir matching the last component of path (a glob). */
static int count_matches(struct gp_ctx *ctx, const char *path)
{
	char dir[192], *slash;
	struct dirent *de;
	const char *pat;
	int dfd, n = 0;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return -EINVAL;
	*slash = 0;
	pat = slash + 1;
	dfd = gp_hostfs_open_dir_at(gp_hostfs_root_fd(ctx), dir);
	if (dfd < 0)
		return dfd == -ENOENT ? 0 : dfd;
	d = gp_hostfs_opendir_at(dfd, NULL);
	while (d && (de = readdir(d)))
		if (fnmatch(pat, de->d_name, 0) == 0)
			n++;
	if (d)
		closedir(d);
	close(dfd);
	return n;
}

static int wait_count(struct gp_ctx *ctx, const struct gp_step *s)
{
	int want = atoi(s->value), waited = 0, n;

	for (;;) {
		n = count_matches(ctx, s->path);
		if (n == want)
			return 0;
		if (waited >= ctx->write_timeout_ms) {
			ERR(ctx, "waited %d ms for /%s to number %d, found %d", waited, s->path,
			    want, n);
			return -EIO; /* not -ETIMEDOUT: nothing is stuck, the kernel said no */
		}
		pause_ms(POLL_MS);
		waited += POLL_MS;
	}
}

/* What path says now: a link's last component, an attribute's text, "" when absent. */
static int read_back(struct gp_ctx *ctx, const char *path, char *buf, size_t len)
{
	int rootfd = gp_hostfs_root_fd(ctx), r;

	r = gp_hostfs_link_base_at(rootfd, path, buf, len);
	if (r >= 0)
		return 0;
	if (r == -ENOENT) {
		buf[0] = 0;
		return 0;
	}
	r = gp_hostfs_read_at(rootfd, path, buf, len);
	return r < 0 ? r : 0;
}

static int verify(struct gp_ctx *ctx, const struct gp_step *s)
{
	char got[128] = "";
	int waited = 0, r;

	for (;;) {
		r = read_back(ctx, s->path, got, sizeof(got));
		if (r == 0 && strcmp(got, s->value) == 0)
			return 0;
		if (waited >= VERIFY_MS)
			break;
		pause_ms(POLL_MS);
		waited += POLL_MS;
	}
	ERR(ctx, "/%s reads '%s' after the change, not '%s'", s->path, r < 0 ? strerror(-r) : got,
	    s->value);
	return -EIO;
}

static int exec_step(struct gp_ctx *ctx, const struct gp_step *s, int *stuck)
{
	char prog[200], *args, *argv[8], *save = NULL, *t;
	int dfd, r, n = 0;

	dfd = gp_hostfs_root_fd(ctx);
	if (gp_hostfs_exists_at(dfd, s->path) != 1) {
		if (gp_hostfs_path(GP_HP_SRIOV_MANAGE, NULL, prog, sizeof(prog)) == 0 &&
		    strcmp(prog, s->path) == 0)
			ERR(ctx, "/%s is not installed, and the nvidia driver cannot enable VFs "
				 "through sriov_numvfs (it has no sriov_configure): install NVIDIA's "
				 "vGPU host driver package, which ships it",
			    s->path);
		else
			ERR(ctx, "/%s is not installed: cannot run `/%s %s`", s->path, s->path,
			    s->value);
		return -ENOENT;
	}
	snprintf(prog, sizeof(prog), "/%s", s->path);
	args = strdup(s->value);
	if (!args)
		return -ENOMEM;
	argv[n++] = prog;
	for (t = strtok_r(args, " ", &save); t && n < 7; t = strtok_r(NULL, " ", &save))
		argv[n++] = t;
	argv[n] = NULL;
	r = gp_kernel_exec(ctx, argv, stuck);
	free(args);
	if (r > 0) {
		ERR(ctx, "%s %s exited with status %d", prog, s->value, r);
		return -EIO;
	}
	if (r < 0 && r != -ETIMEDOUT)
		ERR(ctx, "cannot run %s: %s", prog, strerror(-r));
	return r;
}

/*
 * The record files gpupart owns (partitions.conf, the recorded vGPU catalogues, later the
 * dismounted-devices record) live in one of the directories hostfs knows; a step names the
 * file by its root-relative path, and only a file directly in one of them is written, with
 * that directory's modes.
 */
static const struct {
	enum gp_hostpath dir;
	mode_t mode, dir_mode;
} owned_dirs[] = {
	/* before run/gpupart, which holds it: the first directory that is a prefix decides */
	{ GP_HP_RESERVATIONS, 0600, 0700 },  /* run/gpupart/reservations: who has which device */
	{ GP_HP_CONFIG_DIR, 0644, 0755 }, /* etc/gpupart: read by people and by apply */
	{ GP_HP_STATE_DIR, 0600, 0700 },  /* run/gpupart: ours alone */
	{ GP_HP_CATALOGUE_DIR, 0644, 0755 }, /* var/lib/gpupart/catalogue: kept across boots */
};

static int file_step(struct gp_ctx *ctx, const struct gp_step *s)
{
	char dir[192];
	size_t i, len;
	int r;

	for (i = 0; i < ARRAY_SIZE(owned_dirs); i++) {
		const char *name;

		if (gp_hostfs_path(owned_dirs[i].dir, NULL, dir, sizeof(dir)) < 0)
			continue;
		len = strlen(dir);
		if (strncmp(s->path, dir, len) != 0 || s->path[len] != '/')
			continue;
		name = s->path + len + 1;
		if (!*name || strchr(name, '/') || name[0] == '.')
			break;
		/* no file gpupart keeps is empty: "" puts back one that was not there */
		if (!*s->value)
			r = gp_hostfs_unlink(ctx, owned_dirs[i].dir, name);
		else
			r = gp_hostfs_write_file(ctx, owned_dirs[i].dir, name, s->value,
						 strlen(s->value), owned_dirs[i].mode,
						 owned_dirs[i].dir_mode);
		if (r < 0)
			ERR(ctx, "writing /%s failed: %s", s->path, strerror(-r));
		return r;
	}
	ERR(ctx, "/%s is not a file gpupart keeps: not writing it", s->path);
	return -EINVAL;
}

int gp_step_run(struct gp_ctx *ctx, const struct gp_step *s, int *stuck)
{
	int r;

	*stuck = 0;
	switch (s->op) {
	case GP_STEP_WRITE:
		r = gp_kernel_write(ctx, s->path, s->value, stuck);
		if (r == -ETIMEDOUT)
			ERR(ctx, "writing '%s' to /%s did not return in %d ms: %s is stuck in the "
				 "kernel (pid %d still waits); nothing else will be changed",
			    s->value, s->path, ctx->write_timeout_ms, s->device, *stuck);
		else if (r < 0)
			ERR(ctx, "writing '%s' to /%s failed: %s", strcmp(s->value, "\n") ? s->value :
				 "\\n", s->path, strerror(-r));
		return r;
	case GP_STEP_EXEC:
		return exec_step(ctx, s, stuck);
	case GP_STEP_WAIT:
		return wait_count(ctx, s);
	case GP_STEP_VERIFY:
		return verify(ctx, s);
	case GP_STEP_RESCAN:
		return 0;
	case GP_STEP_FILE:
		return file_step(ctx, s);
	case GP_STEP_DOMAIN:
		/* libvirt is the virt room's: the transaction only hands the step over */
		if (!ctx->virt) {
			ERR(ctx, "domain %s: no libvirt here to change it", s->path);
			return -ENOTSUP;
		}
		return ctx->virt->step(ctx, s->path, s->value);
	}
	return -EINVAL;
}

