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

#include "guard/guard.h"
#include "host/hostfs.h"
#include "base/internal.h"
#include "host/procfd.h"
#include "model/scan.h"
#include "shared/record.h"

int gp_lock_take(struct gp_ctx *ctx, int timeout_ms)
{
	/* short: a waiter takes the lock within ~2 ms of its release (32 concurrent assigns hand
	 * it on 31 times) for a flock(2) call each time, which costs nothing */
	struct timespec pause = { 0, 2 * 1000 * 1000 };
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
		waited += 2;
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

/*
 * What a process holding @target means for the change. VFIO hands a VM a device through its
 * group node /dev/vfio/GROUP (the legacy container interface) or, with iommufd (QEMU's
 * `-object iommufd`, libvirt's <iommufd/>), through the device's own cdev
 * /dev/vfio/devices/vfioN (drivers/vfio/device_cdev.c: vfio_device_devnode() names it after
 * the vfio device, "vfio%d" in vfio_init_device()): either blocks an unbind behind the VM.
 * sriov-manage unloads the GPU's VFs through the nvidia driver, which waits for users of that
 * GPU's /dev/nvidiaN; the control nodes (nvidiactl, nvidia-uvm, nvidia-modeset, nvidia-caps/)
 * are held by every monitoring agent (nvidia-smi, DCGM, node exporters) whatever GPU they
 * watch, so a holder of one is worth a warning, not a refusal.
 */
enum hold { HOLD_NONE, HOLD_WARN, HOLD_REFUSE };

struct holders {
	struct gp_node_pattern *pat; /* what to look for, first match wins */
	enum hold *hold;             /* what holding pat[i] means */
	size_t n;
	char **cdevs;       /* "/dev/vfio/devices/vfioN" of the devices */
	size_t n_cdevs;
	bool nvidia;        /* sriov-manage runs: /dev/nvidia* matter */
	int minor;          /* the GPU's /dev/nvidiaN, or -1 when unknown (any refuses) */
	char ***why;
	size_t *n_why;
	int found;
	char warned[32];    /* the last process warned about: one warning per process */
	struct gp_ctx *ctx;
};

static int add_pattern(struct holders *h, const char *path, enum gp_node_match match,
		       long number, enum hold what)
{
	size_t n = h->n;
	struct gp_node_pattern *p = GP_PUSH(h->pat, n);
	enum hold *w;

	if (!p)
		return -ENOMEM;
	w = GP_PUSH(h->hold, h->n);
	if (!w)
		return -ENOMEM; /* h->pat holds one slot more than h->n: freed all the same */
	*p = (struct gp_node_pattern){ .path = path, .match = match, .number = number };
	*w = what;
	return 0;
}

/* The nodes that matter, in matching order (disjoint but for /dev/nvidia*: the GPU's own
 * node, then the other GPUs' (ignored), then NVIDIA's control nodes (a warning)). */
static int build_patterns(struct holders *h, const int *groups, size_t n_groups)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < h->n_cdevs; i++)
		r = add_pattern(h, h->cdevs[i], GP_NODE_EXACT, 0, HOLD_REFUSE);
	for (i = 0; r == 0 && i < n_groups; i++)
		if (groups[i] >= 0)
			r = add_pattern(h, "/dev/vfio/", GP_NODE_NUMBER, groups[i], HOLD_REFUSE);
	if (r == 0 && h->nvidia) {
		r = add_pattern(h, "/dev/nvidia", GP_NODE_NUMBER, h->minor, HOLD_REFUSE);
		if (r == 0 && h->minor >= 0)
			r = add_pattern(h, "/dev/nvidia", GP_NODE_NUMBER, -1, HOLD_NONE);
		if (r == 0)
			r = add_pattern(h, "/dev/nvidia", GP_NODE_PREFIX, 0, HOLD_WARN);
	}
	return r;
}

static int note_holder(void *data, const struct gp_holder *p)
{
	struct holders *h = data;
	enum hold what = h->hold[p->pattern];
	char *msg;

	if (what == HOLD_NONE)
		return 0;
	if (what == HOLD_WARN) {
		if (strcmp(h->warned, p->pid) != 0)
			WARN(h->ctx, "pid %s (%s) holds %s: not refusing (monitoring agents hold "
				     "NVIDIA's control nodes), but sriov-manage may wait for it",
			     p->pid, p->comm, p->target);
		snprintf(h->warned, sizeof(h->warned), "%s", p->pid);
		return 0;
	}
	if (asprintf(&msg, "pid %s (%s) holds %s%s", p->pid, p->comm, p->target,
		     h->nvidia && h->minor < 0 && strncmp(p->target, "/dev/nvidia", 11) == 0 ?
			     " (this GPU's minor is unknown: any /dev/nvidiaN counts)" :
			     "") < 0)
		msg = NULL;
	if (gp_strv_push(h->why, h->n_why, msg) < 0)
		return -ENOMEM;
	h->found++;
	return 1; /* one line per process is enough */
}

/* The vfio cdevs of a PCI function or an mdev: the entries of its vfio-dev/ (absent unless a
 * vfio driver with the cdev interface, CONFIG_VFIO_DEVICE_CDEV, has it). */
static int add_cdevs(struct gp_ctx *ctx, const char *device, struct holders *h)
{
	struct gp_pci_addr a;
	struct dirent *e;
	int dfd, r = 0;
	DIR *dir;

	dfd = gp_hostfs_open_dir(ctx, gp_pci_addr_parse(device, &a) == 0 ? GP_HP_PCI_DEVICE :
									     GP_HP_MDEV_DEVICE,
				 device);
	if (dfd < 0)
		return 0; /* gone already: nothing of it can be held */
	dir = gp_hostfs_opendir_at(dfd, "vfio-dev");
	while (r == 0 && dir && (e = readdir(dir))) {
		char *node;

		if (strncmp(e->d_name, "vfio", 4) != 0 || !isdigit((unsigned char)e->d_name[4]))
			continue;
		if (asprintf(&node, "/dev/vfio/devices/%s", e->d_name) < 0)
			node = NULL;
		r = gp_strv_push(&h->cdevs, &h->n_cdevs, node);
	}
	if (dir)
		closedir(dir);
	close(dfd);
	return r;
}

int gp_guard_holders(struct gp_ctx *ctx, const char *const *devices, size_t n_devices,
		     const int *groups, size_t n_groups, const char *nvidia_gpu, char ***why,
		     size_t *n_why)
{
	struct holders h = { .nvidia = nvidia_gpu != NULL,
			     .minor = -1, .why = why, .n_why = n_why, .ctx = ctx };
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < n_devices; i++)
		r = add_cdevs(ctx, devices[i], &h);
	if (r == 0 && nvidia_gpu) {
		h.minor = gp_nvidia_minor(ctx, nvidia_gpu);
		/* without its minor we cannot tell this GPU's node from another's: any
		 * /dev/nvidiaN holder refuses (the man page says so) */
		if (h.minor < 0)
			INFO(ctx, "%s: no NVIDIA device minor (%s): any /dev/nvidiaN holder "
				  "refuses",
			     nvidia_gpu, strerror(-h.minor));
	}
	if (r == 0)
		r = build_patterns(&h, groups, n_groups);
	/* no /proc under this root: nothing visible, nothing to refuse */
	if (r == 0 && (n_groups || h.n_cdevs || h.nvidia))
		r = gp_procfd_holders(ctx, h.pat, h.n, note_holder, &h);
	free(h.pat);
	free(h.hold);
	gp_strv_free(h.cdevs, h.n_cdevs);
	return r < 0 ? r : h.found;
}

int gp_guard_host_path(struct gp_ctx *ctx, enum gp_guard_path which, char *buf, size_t len)
{
	(void)which; /* the one path so far */
	return gp_hostfs_abspath(ctx, GP_HP_RESERVATIONS, NULL, buf, len);
}

/*
 * What a reservation record says of its holder: its first line, free text (gpupart(8),
 * FILES), read through the line-record reader so that a record with a NUL byte or an
 * overlong first line says so rather than showing a part of itself.
 */
static void resv_details(int dfd, const char *name, char *out, size_t len)
{
	char text[GP_RECORD_LINE_MAX + 2], why[128];
	struct gp_record_reader rd;
	struct gp_record_in rec;
	ssize_t n;
	size_t l;
	int r;

	*out = 0;
	n = gp_hostfs_read_bin_at(dfd, name, text, sizeof(text) - 1);
	if (n <= 0)
		return;
	gp_record_reader_init(&rd, text, (size_t)n, 0);
	r = gp_record_next(&rd, &rec, why, sizeof(why));
	if (r > 0) {
		snprintf(out, len, "%s", rec.raw);
		for (l = strlen(out); l && out[l - 1] == ' '; l--)
			out[l - 1] = 0;
	} else if (r == -EINVAL) {
		snprintf(out, len, "unreadable: %s", why);
	}
	gp_record_reader_free(&rd);
}

int gp_guard_reservations(struct gp_ctx *ctx, const char *const *devices, size_t n,
			  char ***why, size_t *n_why)
{
	char where[4096];
	struct dirent *de;
	int dfd, found = 0, r = 0;
	DIR *dir;
	size_t i;

	/* only "there is none" means none: a record we cannot read may name the device */
	dfd = gp_hostfs_open_dir(ctx, GP_HP_RESERVATIONS, NULL);
	if (dfd == -ENOENT)
		return 0;
	if (dfd >= 0) {
		dir = gp_hostfs_opendir_at(dfd, NULL);
		r = dir ? 0 : -errno;
	} else {
		dir = NULL;
		r = dfd;
	}
	while (dir) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			r = -errno;
			break;
		}
		for (i = 0; i < n; i++) {
			char text[256], *msg;

			if (strcasecmp(de->d_name, devices[i]) != 0)
				continue;
			resv_details(dfd, de->d_name, text, sizeof(text));
			if (asprintf(&msg, "%s is reserved (%s)", devices[i],
				     *text ? text : "no details") < 0)
				msg = NULL;
			if (gp_strv_push(why, n_why, msg) < 0) {
				r = -ENOMEM;
				break;
			}
			found++;
		}
		if (r < 0)
			break;
	}
	if (dir)
		closedir(dir);
	if (dfd >= 0)
		close(dfd);
	if (r < 0) {
		if (gp_hostfs_abspath(ctx, GP_HP_RESERVATIONS, NULL, where, sizeof(where)) < 0)
			snprintf(where, sizeof(where), "the reservation records");
		ERR(ctx, "%s: cannot read the reservation records: %s", where,
		    r == -EXDEV ? "a link out of the root" : strerror(-r));
		return r;
	}
	return found;
}
