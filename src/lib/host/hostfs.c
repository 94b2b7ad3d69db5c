/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The only file that knows where things live on a Linux host. Every path is resolved beneath
 * the context's root directory fd: `--root DIR` redirects all reads and writes. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host/hostfs.h"

static const char *const hostpaths[] = {
	[GP_HP_PCI_DEVICES] = "sys/bus/pci/devices",
	[GP_HP_PCI_DEVICE] = "sys/bus/pci/devices/%s",
	[GP_HP_PCI_DRIVERS] = "sys/bus/pci/drivers",
	[GP_HP_IOMMU_GROUPS] = "sys/kernel/iommu_groups",
	[GP_HP_IOMMU_GROUP] = "sys/kernel/iommu_groups/%s",
	[GP_HP_CLASS_IOMMU] = "sys/class/iommu",
	[GP_HP_VTCONSOLE] = "sys/class/vtconsole",
	[GP_HP_CLASS_MDEV_BUS] = "sys/class/mdev_bus",
	[GP_HP_MDEV_DEVICES] = "sys/bus/mdev/devices",
	[GP_HP_MODULE] = "sys/module/%s",
	[GP_HP_VFIO_UNSAFE_INTR] = "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts",
	[GP_HP_VFIO_PCI_PARAMS] = "sys/module/vfio_pci/parameters",
	[GP_HP_VFIO_T1_PARAMS] = "sys/module/vfio_iommu_type1/parameters",
	[GP_HP_CMDLINE] = "proc/cmdline",
	[GP_HP_INTERRUPTS] = "proc/interrupts",
	[GP_HP_OSRELEASE] = "proc/sys/kernel/osrelease",
	[GP_HP_PROC] = "proc",
	[GP_HP_NVIDIA_GPUS] = "proc/driver/nvidia/gpus",
	[GP_HP_NVIDIA_CAPS] = "proc/driver/nvidia/capabilities",
	[GP_HP_NVIDIA_MIG_CAPS] = "proc/driver/nvidia/capabilities/gpu%s/mig",
	[GP_HP_DEV_DRI] = "dev/dri/%s",
	[GP_HP_DEV_VFIO] = "dev/vfio/%s",
	[GP_HP_SYS_DEVICES] = "sys/devices",
	[GP_HP_STATE_DIR] = "run/gpupart",
	[GP_HP_CONFIG_DIR] = "etc/gpupart",
	[GP_HP_STATE_FILE] = "run/gpupart/%s",
	[GP_HP_CONFIG_FILE] = "etc/gpupart/%s",
	[GP_HP_RESERVATIONS] = "run/gpupart/reservations",
	[GP_HP_PCI_DRIVERS_PROBE] = "sys/bus/pci/drivers_probe",
	[GP_HP_PCI_DRIVER] = "sys/bus/pci/drivers/%s",
	[GP_HP_MDEV_DEVICE] = "sys/bus/mdev/devices/%s",
	[GP_HP_DEV] = "dev",
	[GP_HP_SRIOV_MANAGE] = "usr/lib/nvidia/sriov-manage",
	[GP_HP_VGPU_CONFIG] = "usr/share/nvidia/vgpu/vgpuConfig.xml",
	[GP_HP_CATALOGUE_DIR] = "var/lib/gpupart/catalogue",
	[GP_HP_CATALOGUE_FILE] = "var/lib/gpupart/catalogue/%s",
	/* kmod's; /sbin is usr/sbin on merged-/usr hosts, a relative link that stays beneath */
	[GP_HP_MODPROBE] = "sbin/modprobe",
	/* mdevctl's defined mdevs, etc/mdevctl.d/<parent>/<uuid> (its README, Architecture) */
	[GP_HP_MDEVCTL_PARENT] = "etc/mdevctl.d/%s",
	[GP_HP_CPUINFO] = "proc/cpuinfo", [GP_HP_LIBVIRT_GUESTS] = "etc/default/libvirt-guests",
	[GP_HP_NUMA_NODES] = "sys/devices/system/node",
};

/*
 * Without openat2 (kernels before 5.6, or a seccomp filter answering ENOSYS or EPERM) the same
 * rule is kept by hand, as RESOLVE_BENEATH keeps it: the path is walked one component at a
 * time from @dirfd with O_PATH | O_NOFOLLOW, each symlink is read (readlinkat) and its text
 * walked in its place from the directory that holds it; an absolute target, or a ".." that
 * would climb above @dirfd, is -EXDEV, more than 40 links (the kernel's MAXSYMLINKS) -ELOOP.
 * Sysfs device links are relative and climb with ".." within the tree
 * (sys/bus/pci/devices/X -> ../../../devices/...), which stays beneath a root-relative walk.
 * The final component is opened with the caller's flags and O_NOFOLLOW, so that a link
 * swapped in after it was looked at is refused, never followed. (tests/hosts/test-paths.c
 * runs the tool under a seccomp filter that answers openat2 with ENOSYS or EPERM.)
 *
 * long: one loop over components, links and "..": split, the rule it keeps (never above
 * @dirfd) would be spread over functions that each look harmless alone.
 */
#define BENEATH_MAX_LINKS 40
#define BENEATH_MAX_DEPTH 256

static int walk_beneath(int dirfd, const char *name, int flags)
{
	char path[8192], link[4096];
	int stack[BENEATH_MAX_DEPTH], depth = 0, links = 0, r = -ENOENT;
	size_t len;
	char *p;

	if (*name == '/')
		return -EXDEV;
	if (!*name)
		return -ENOENT;
	len = strlen(name);
	if (len >= sizeof(path))
		return -ENAMETOOLONG;
	memcpy(path, name, len + 1);
	stack[0] = dirfd; /* the caller's: never closed here */
	p = path;
	for (;;) {
		char *comp, *slash;
		bool last;
		int cur = stack[depth], fd;
		struct stat st;
		ssize_t n;

		while (*p == '/')
			p++;
		comp = p;
		slash = strchr(p, '/');
		if (slash) {
			*slash = 0;
			p = slash + 1;
			while (*p == '/')
				p++;
		} else {
			p += strlen(p);
		}
		last = *p == 0;
		if (*comp == 0 || strcmp(comp, ".") == 0 || strcmp(comp, "..") == 0) {
			if (strcmp(comp, "..") == 0) {
				if (depth == 0) {
					r = -EXDEV;
					break;
				}
				close(stack[depth--]);
			}
			if (!last)
				continue;
			fd = openat(stack[depth], ".", flags & ~O_NOFOLLOW);
			r = fd < 0 ? -errno : fd;
			break;
		}
		fd = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0) {
			r = -errno;
			if (fd >= 0)
				close(fd);
			break;
		}
		if (S_ISLNK(st.st_mode) && !(last && (flags & O_NOFOLLOW))) {
			size_t rest = strlen(p), tl;

			n = readlinkat(fd, "", link, sizeof(link) - 1);
			close(fd);
			if (n < 0) {
				r = -errno;
				break;
			}
			if (++links > BENEATH_MAX_LINKS) {
				r = -ELOOP;
				break;
			}
			link[n] = 0;
			tl = (size_t)n;
			if (link[0] == '/') {
				r = -EXDEV;
				break;
			}
			if (tl + 1 + rest + 1 > sizeof(path)) {
				r = -ENAMETOOLONG;
				break;
			}
			/* the link's text takes its place in what is left to walk */
			memmove(path + tl + 1, p, rest + 1);
			memcpy(path, link, tl);
			path[tl] = rest ? '/' : 0;
			p = path;
			continue;
		}
		if (last) {
			if (S_ISLNK(st.st_mode) && !(flags & O_PATH)) {
				r = -ELOOP; /* O_NOFOLLOW on a link, as open(2) says */
			} else if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) {
				r = -ENOTDIR;
			} else if (flags & O_PATH) {
				r = fd; /* the O_PATH fd is what the caller asked for */
				fd = -1;
			} else {
				int real = openat(cur, comp, flags | O_NOFOLLOW);

				r = real < 0 ? -errno : real;
			}
			if (fd >= 0)
				close(fd);
			break;
		}
		if (!S_ISDIR(st.st_mode)) {
			close(fd);
			r = -ENOTDIR;
			break;
		}
		if (depth + 1 >= BENEATH_MAX_DEPTH) {
			close(fd);
			r = -ENAMETOOLONG;
			break;
		}
		stack[++depth] = fd;
	}
	while (depth > 0)
		close(stack[depth--]);
	return r;
}

/*
 * Every open below the root stays below the directory it starts from: a tree handed to
 * --root (a capture from someone else) may hold links to /etc/shadow or /dev/watchdog, and
 * gpupart runs as root. RESOLVE_BENEATH refuses absolute links and ".." escapes (sysfs uses
 * neither); O_NONBLOCK keeps a FIFO from hanging us. Kernels before 5.6 lack openat2: there
 * walk_beneath() keeps the same rule.
 */
static int open_beneath(int dirfd, const char *name, int flags)
{
	/* openat2 refuses O_PATH with any flag but O_DIRECTORY, O_NOFOLLOW and O_CLOEXEC */
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC | ((flags & O_PATH) ? 0 : O_NOCTTY)),
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	static bool has_openat2 = true;
	long fd;

	if (has_openat2) {
		fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
		if (fd >= 0)
			return (int)fd;
		if (errno != ENOSYS && errno != EPERM) /* EPERM: seccomp'd containers */
			return -errno;
		/* EPERM is also an open's own answer (O_NOATIME...): only ENOSYS is sure */
		if (errno == ENOSYS)
			has_openat2 = false;
	}
	return walk_beneath(dirfd, name, (int)how.flags);
}

int gp_hostfs_open_root(struct gp_ctx *ctx)
{
	ctx->rootfd = open(ctx->root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ctx->rootfd < 0)
		return -errno;
	return 0;
}

int gp_hostfs_root_fd(struct gp_ctx *ctx)
{
	return ctx->rootfd;
}

int gp_hostfs_path(enum gp_hostpath hp, const char *arg, char *buf, size_t len)
{
	const char *fmt;
	int n;

	if ((size_t)hp >= ARRAY_SIZE(hostpaths) || !hostpaths[hp])
		return -EINVAL;
	fmt = hostpaths[hp];
	if (strstr(fmt, "%s")) {
		/* an argument is one path component: never let it climb out of the root */
		if (!arg || !*arg || strchr(arg, '/') || strcmp(arg, "..") == 0 ||
		    strcmp(arg, ".") == 0)
			return -EINVAL;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		n = snprintf(buf, len, fmt, arg); /* fmt is one of hostpaths[] */
#pragma GCC diagnostic pop
	} else {
		n = snprintf(buf, len, "%s", fmt);
	}
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int gp_hostfs_abspath(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg, char *buf,
		      size_t len)
{
	char rel[512];
	int r, n;

	r = gp_hostfs_path(hp, arg, rel, sizeof(rel));
	if (r < 0)
		return r;
	n = snprintf(buf, len, "%s%s%s", ctx->root,
		     ctx->root[strlen(ctx->root) - 1] == '/' ? "" : "/", rel);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int gp_hostfs_open_dir(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg)
{
	char rel[512];
	int r;

	r = gp_hostfs_path(hp, arg, rel, sizeof(rel));
	if (r < 0)
		return r;
	return open_beneath(ctx->rootfd, rel, O_PATH | O_DIRECTORY);
}

int gp_hostfs_open_dir_at(int dirfd, const char *name)
{
	return open_beneath(dirfd, name, O_PATH | O_DIRECTORY);
}

DIR *gp_hostfs_opendir_at(int dirfd, const char *name)
{
	int fd;
	DIR *d;

	fd = open_beneath(dirfd, name ? name : ".", O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	d = fdopendir(fd);
	if (!d) {
		int e = errno;
		close(fd);
		errno = e;
	}
	return d;
}

DIR *gp_hostfs_opendir(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg)
{
	char rel[512];
	int r;

	r = gp_hostfs_path(hp, arg, rel, sizeof(rel));
	if (r < 0) {
		errno = -r;
		return NULL;
	}
	return gp_hostfs_opendir_at(ctx->rootfd, rel);
}

ssize_t gp_hostfs_read_bin_at(int dirfd, const char *name, void *buf, size_t len)
{
	size_t got = 0;
	ssize_t n;
	int fd;

	fd = open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	/* sysfs hands back a whole attribute per read; loop only for regular files */
	while (got < len) {
		n = read(fd, (char *)buf + got, len - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			close(fd);
			return n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		/* a sysfs attribute arrives whole in one read: a short read is the end, and
		 * skipping the read that would return 0 halves the syscalls of a scan */
		if (got < len)
			break;
	}
	close(fd);
	return (ssize_t)got;
}

int gp_hostfs_read_at(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;

	if (len == 0)
		return -EINVAL;
	n = gp_hostfs_read_bin_at(dirfd, name, buf, len - 1);
	if (n < 0)
		return (int)n;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	return (int)n;
}

/* Reads fd to its end (or, for an attribute, its first short read); the caller closes fd.
 * attr: a sysfs attribute (at most a page, handed over in one read), so a short read is the
 * end; /proc's seq files hand over a page at a time and need the read that returns 0. */
static ssize_t read_fd_all(int fd, char **out, bool attr)
{
	size_t cap = 4096, got = 0;
	char *buf, *nb;
	ssize_t n;

	buf = malloc(cap + 1);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		if (got == cap) {
			if (cap >= (64u << 20)) /* nothing we read is this big */
				break;
			cap *= 2;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				free(buf);
				return -ENOMEM;
			}
			buf = nb;
		}
		n = read(fd, buf + got, cap - got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			n = -errno;
			free(buf);
			return n;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (attr && got < cap)
			break;
	}
	buf[got] = 0;
	*out = buf;
	return (ssize_t)got;
}

static ssize_t read_all(int dirfd, const char *name, char **out, bool attr)
{
	int fd = open_beneath(dirfd, name, O_RDONLY | O_NONBLOCK);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read_fd_all(fd, out, attr);
	close(fd);
	return n;
}

ssize_t gp_hostfs_read_all_at(int dirfd, const char *name, char **out)
{
	return read_all(dirfd, name, out, false);
}

ssize_t gp_hostfs_read_attr_at(int dirfd, const char *name, char **out)
{
	return read_all(dirfd, name, out, true);
}

ssize_t gp_hostfs_read_all(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg, char **out)
{
	char rel[512];
	int r;

	r = gp_hostfs_path(hp, arg, rel, sizeof(rel));
	if (r < 0)
		return r;
	return gp_hostfs_read_all_at(ctx->rootfd, rel, out);
}

/*
 * A readlink only ever returns a link's text, which we parse as an address or a number: unlike
 * an open, it cannot read a file's contents or wake a device, so it may follow the leading
 * components like any path (the device links, which climb out of sys/bus/pci/devices).
 */
int gp_hostfs_readlink_at(int dirfd, const char *name, char *buf, size_t len)
{
	ssize_t n;

	n = readlinkat(dirfd, name, buf, len - 1);
	if (n < 0)
		return -errno;
	if ((size_t)n >= len - 1)
		return -ENAMETOOLONG;
	buf[n] = 0;
	return (int)n;
}

int gp_hostfs_link_base_at(int dirfd, const char *name, char *buf, size_t len)
{
	char tmp[4096];
	const char *base;
	int r;

	r = gp_hostfs_readlink_at(dirfd, name, tmp, sizeof(tmp));
	if (r < 0)
		return r;
	while (r > 1 && tmp[r - 1] == '/')
		tmp[--r] = 0;
	base = strrchr(tmp, '/');
	base = base ? base + 1 : tmp;
	if (strlen(base) >= len)
		return -ENAMETOOLONG;
	strcpy(buf, base);
	return (int)strlen(buf);
}

int gp_hostfs_exists_at(int dirfd, const char *name)
{
	int fd = open_beneath(dirfd, name, O_PATH | O_NOFOLLOW);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return fd == -ENOENT || fd == -ENOTDIR ? 0 : fd;
}

int gp_hostfs_is_dir_at(int dirfd, const char *name)
{
	int fd = open_beneath(dirfd, name, O_PATH | O_DIRECTORY);

	if (fd >= 0) {
		close(fd);
		return 1;
	}
	return fd == -ENOENT || fd == -ENOTDIR || fd == -EXDEV ? 0 : fd;
}

int gp_hostfs_read_long_at(int dirfd, const char *name, int base, long *out)
{
	char buf[64], *end;
	long v;
	int r;

	r = gp_hostfs_read_at(dirfd, name, buf, sizeof(buf));
	if (r < 0)
		return r;
	if (r == 0)
		return -EINVAL;
	errno = 0;
	v = strtol(buf, &end, base);
	if (errno || end == buf || *end)
		return -EINVAL;
	*out = v;
	return 0;
}

int gp_hostfs_write_attr(struct gp_ctx *ctx, const char *path, const char *value, size_t len)
{
	ssize_t n;
	int fd, r = 0;

	/* O_NOFOLLOW: the attribute itself is never a link; O_NONBLOCK: never wait on a FIFO */
	fd = open_beneath(ctx->rootfd, path, O_WRONLY | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return fd;
	n = write(fd, value, len);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EIO; /* sysfs takes a store whole or not at all */
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/*
 * Each component is made inside its parent as opened beneath the root, then opened beneath the
 * root itself: a parent that is a link out of it (ROOT/run -> /elsewhere) is refused, never
 * followed (mkdirat on a path would follow it and make /elsewhere/gpupart).
 */
int gp_hostfs_mkdirs(struct gp_ctx *ctx, enum gp_hostpath hp, mode_t mode)
{
	char rel[512], *p;
	int r, cur = ctx->rootfd;

	r = gp_hostfs_path(hp, NULL, rel, sizeof(rel));
	if (r < 0)
		return r;
	for (p = rel;; p++) {
		bool last = *p == 0;
		const char *base;
		int fd;

		if (*p != '/' && !last)
			continue;
		*p = 0;
		base = strrchr(rel, '/');
		base = base ? base + 1 : rel;
		if (mkdirat(cur, base, mode) < 0 && errno != EEXIST) {
			r = -errno;
			break;
		}
		fd = open_beneath(ctx->rootfd, rel, O_PATH | O_DIRECTORY);
		if (fd < 0) {
			char abs[1024];

			r = fd;
			if (r == -EXDEV || r == -ELOOP) {
				snprintf(abs, sizeof(abs), "%s%s%s", ctx->root,
					 ctx->root[strlen(ctx->root) - 1] == '/' ? "" : "/", rel);
				ERR(ctx, "%s: a link out of the root: not following it", abs);
			}
			break;
		}
		if (cur != ctx->rootfd)
			close(cur);
		cur = fd;
		if (last)
			break;
		*p = '/';
	}
	if (cur != ctx->rootfd)
		close(cur);
	return r;
}

/* A well-known directory opened for reading, so that it can be fsync'ed (O_PATH cannot). */
static int open_dir_syncable(struct gp_ctx *ctx, enum gp_hostpath dir)
{
	int pfd = gp_hostfs_open_dir(ctx, dir, NULL), fd;

	if (pfd < 0)
		return pfd;
	fd = open_beneath(pfd, ".", O_RDONLY | O_DIRECTORY);
	close(pfd);
	return fd;
}

/* Whether @e is ".NAME.PID", the temp file name of gp_hostfs_write_file. */
static bool is_temp_of(const char *e, const char *name)
{
	size_t n = strlen(name);

	if (e[0] != '.' || strncmp(e + 1, name, n) != 0 || e[n + 1] != '.' || !e[n + 2])
		return false;
	for (e += n + 2; *e; e++)
		if (*e < '0' || *e > '9')
			return false;
	return true;
}

/*
 * Temp files a killed run left behind. Their writers hold the host lock, as the caller does,
 * so none of them is being written now. Only regular files of our exact name pattern go: an
 * unlink removes the name only, never what a planted hard link points to.
 */
static void remove_stale_temps(int dfd, const char *name)
{
	struct dirent *e;
	DIR *d = gp_hostfs_opendir_at(dfd, NULL);

	while (d && (e = readdir(d))) {
		struct stat st;

		if (!is_temp_of(e->d_name, name) ||
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	if (d)
		closedir(d);
}

int gp_hostfs_write_file(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name,
			 const void *data, size_t len, mode_t mode, mode_t dir_mode)
{
	char tmp[64];
	const char *p = data;
	int dfd, fd, r = 0;

	/* 36: an mdev's UUID, the longest name gpupart keeps (a reservation record's) */
	if (!*name || strchr(name, '/') || strlen(name) > 36)
		return -EINVAL;
	r = gp_hostfs_mkdirs(ctx, dir, dir_mode);
	if (r < 0)
		return r;
	dfd = open_dir_syncable(ctx, dir);
	if (dfd < 0)
		return dfd;
	remove_stale_temps(dfd, name);
	snprintf(tmp, sizeof(tmp), ".%s.%d", name, (int)getpid());
	/* O_EXCL: a new file of ours, never one planted under the name (a hard link to
	 * something else would be overwritten and made @mode) */
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		r = -errno;
		close(dfd);
		return r;
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		p += n;
		len -= (size_t)n;
	}
	if (r == 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && renameat(dfd, tmp, dfd, name) < 0)
		r = -errno;
	if (r < 0)
		unlinkat(dfd, tmp, 0);
	else if (fsync(dfd) < 0)
		r = -errno;
	close(dfd);
	return r;
}

int gp_hostfs_unlink(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name)
{
	int dfd, r = 0;

	dfd = open_dir_syncable(ctx, dir);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		r = -errno;
	else if (fsync(dfd) < 0)
		r = -errno;
	close(dfd);
	return r;
}

int gp_hostfs_open_file(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name, mode_t mode)
{
	int dfd, fd;

	if (!*name || strchr(name, '/'))
		return -EINVAL;
	dfd = gp_hostfs_open_dir(ctx, dir, NULL);
	if (dfd < 0)
		return dfd;
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		fd = -errno;
	close(dfd);
	return fd;
}

int gp_hostfs_open_file_ro(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name)
{
	struct stat st;
	int dfd, fd;

	if (!*name || strchr(name, '/'))
		return -EINVAL;
	dfd = gp_hostfs_open_dir(ctx, dir, NULL);
	if (dfd < 0)
		return dfd;
	/* O_NONBLOCK: a FIFO planted in the journal's place must not hang the tool */
	fd = open_beneath(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK);
	close(dfd);
	if (fd == -ELOOP)
		return -EINVAL; /* a symlink */
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

ssize_t gp_hostfs_read_regular(struct gp_ctx *ctx, enum gp_hostpath dir, const char *name,
			       char **out)
{
	int fd = gp_hostfs_open_file_ro(ctx, dir, name);
	ssize_t n;

	if (fd < 0)
		return fd;
	n = read_fd_all(fd, out, false);
	close(fd);
	return n;
}

ssize_t gp_hostfs_read_bounded(struct gp_ctx *ctx, enum gp_hostpath hp, const char *arg,
			       size_t max, char **out)
{
	struct stat st;
	char rel[512];
	ssize_t n;
	int fd = gp_hostfs_path(hp, arg, rel, sizeof(rel));

	*out = NULL;
	if (fd == 0)
		fd = open_beneath(ctx->rootfd, rel, O_RDONLY | O_NONBLOCK);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
		n = -EINVAL;
	else if ((uint64_t)st.st_size > max)
		n = -EFBIG;
	else
		n = read_fd_all(fd, out, false);
	close(fd);
	if (n > (ssize_t)max) { /* it grew after the fstat */
		free(*out);
		*out = NULL;
		n = -EFBIG;
	}
	return n;
}
