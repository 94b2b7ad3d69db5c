/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Native drivers of a GPU's functions (nvidia on a PF, snd_hda_intel on its HDMI audio): what
 * their remove() waits for, and what their probe creates below the device and their remove
 * takes away again.
 *
 * remove() waits for users, so an unbind blocks while a process holds the device:
 *   nvidia         nv_pci_remove() (kernel-open/nvidia/nv-pci.c, open-gpu-kernel-modules)
 *                  prints "NVRM: Attempting to remove device ... with non-zero usage count!"
 *                  and loops on os_delay(500) until usage_count is 0: every open of
 *                  /dev/nvidiaN counts, and so does nvidia-drm's hold on the GPU while its
 *                  /dev/dri/cardN or renderDN is open (nvidia-drm -> nvidia-modeset ->
 *                  nvidia; a compositor holding card2 wedges the unbind so)
 *   snd_hda_intel  azx_remove() -> snd_card_free() (sound/core/init.c) waits on
 *                  card->release_completion, which fires when the last file of the card is
 *                  closed: /dev/snd/controlCN, pcmCNDx[pc], hwCNDx (a sound server keeps
 *                  controlCN open all the time)
 * A VF on nvidia has none of these (its users are vfio's: the group wait in fk-pci.c).
 *
 * What goes with the driver: the DRM card (drm_dev_unregister: DEVICE/drm/ and the
 * sys/class/drm links), the ALSA card (DEVICE/sound/ and sys/class/sound), nvidia's
 * /proc/driver/nvidia/gpus/ADDR (nv_procfs_remove_gpu). They are kept aside in
 * FK_DIR/gone/ADDR/DRIVER/ and come back when the same driver binds the function again,
 * as its probe would make them: the same card numbers, since nothing else took them here.
 */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fk-internal.h"

struct fk_node {
	char path[64];
	bool prefix; /* a node family: path then a digit (pcmC0D3p, hwC0D0) */
};

/* The device nodes whose holders @drv's remove() on @addr waits for; how many. */
static size_t fk_native_nodes(struct fk *fk, const char *addr, const char *drv,
			      struct fk_node *out, size_t max)
{
	char *dir = fk_dev_dir(fk, addr), rel[PATH_MAX], *p;
	struct dirent *e;
	size_t n = 0;
	DIR *d;

	if (!dir)
		return 0;
	snprintf(rel, sizeof(rel), "%s/physfn", dir);
	if (!strcmp(drv, "nvidia") && !fk_exists(fk, rel)) {
		char *info, *m;

		snprintf(rel, sizeof(rel), "proc/driver/nvidia/gpus/%s/information", addr);
		info = fk_read_all(fk, rel, NULL);
		m = info ? strstr(info, "Device Minor:") : NULL;
		if (m && n < max) {
			snprintf(out[n].path, sizeof(out[n].path), "/dev/nvidia%d",
				 atoi(m + strlen("Device Minor:")));
			out[n++].prefix = false;
		}
		free(info);
		snprintf(rel, sizeof(rel), "%s/drm", dir);
		p = fk_path(fk, rel);
		d = opendir(p);
		free(p);
		while (d && (e = readdir(d)) && n < max) {
			if (strncmp(e->d_name, "card", 4) && strncmp(e->d_name, "renderD", 7))
				continue;
			snprintf(out[n].path, sizeof(out[n].path), "/dev/dri/%s", e->d_name);
			out[n++].prefix = false;
		}
		if (d)
			closedir(d);
	} else if (!strcmp(drv, "snd_hda_intel")) {
		snprintf(rel, sizeof(rel), "%s/sound", dir);
		p = fk_path(fk, rel);
		d = opendir(p);
		free(p);
		while (d && (e = readdir(d)) && n + 3 <= max) {
			int c;

			if (sscanf(e->d_name, "card%d", &c) != 1)
				continue;
			snprintf(out[n].path, sizeof(out[n].path), "/dev/snd/controlC%d", c);
			out[n++].prefix = false;
			snprintf(out[n].path, sizeof(out[n].path), "/dev/snd/pcmC%dD", c);
			out[n++].prefix = true;
			snprintf(out[n].path, sizeof(out[n].path), "/dev/snd/hwC%dD", c);
			out[n++].prefix = true;
		}
		if (d)
			closedir(d);
	}
	free(dir);
	return n;
}

static bool fk_node_match(const struct fk_node *nd, const char *target)
{
	size_t l = strlen(nd->path);

	if (!nd->prefix)
		return !strcmp(target, nd->path);
	return !strncmp(target, nd->path, l) && isdigit((unsigned char)target[l]);
}

/* Some ROOT/proc/PID/fd/N links to one of @nodes (what the library reads too). */
static bool fk_nodes_held(struct fk *fk, const struct fk_node *nodes, size_t n)
{
	char *p = fk_path(fk, "proc"), target[256];
	DIR *proc = opendir(p), *fds;
	struct dirent *pe, *fe;
	bool held = false;

	while (n && proc && !held && (pe = readdir(proc))) {
		char *fdp;

		if (!isdigit((unsigned char)pe->d_name[0]) || asprintf(&fdp, "%s/%s/fd", p, pe->d_name) < 0)
			continue;
		fds = opendir(fdp);
		while (fds && !held && (fe = readdir(fds))) {
			char *lp;
			ssize_t len;

			if (asprintf(&lp, "%s/%s", fdp, fe->d_name) < 0)
				abort();
			len = readlink(lp, target, sizeof(target) - 1);
			free(lp);
			if (len <= 0)
				continue;
			target[len] = '\0';
			for (size_t k = 0; k < n && !held; k++)
				held = fk_node_match(&nodes[k], target);
		}
		if (fds)
			closedir(fds);
		free(fdp);
	}
	if (proc)
		closedir(proc);
	free(p);
	return held;
}

bool fk_native_held(struct fk *fk, const char *addr, const char *drv)
{
	struct fk_node nodes[32];
	size_t n = fk_native_nodes(fk, addr, drv, nodes, 32);

	return fk_nodes_held(fk, nodes, n);
}

void fk_native_wait(struct fk *fk, const char *addr, const char *drv)
{
	const struct timespec tick = { 0, 20 * 1000 * 1000 };
	bool logged = false;

	while (fk_native_held(fk, addr, drv)) {
		if (!logged) {
			fprintf(stderr, "fakekernel: %s: %s's remove() waits for the device's users\n",
				addr, drv);
			fk_log(fk, "%s = blocked\n", fk->what);
			logged = true;
		}
		fk_unlock(fk);
		nanosleep(&tick, NULL);
		if (!fk_exists(fk, FK_DIR))
			_exit(0); /* the tree is gone: nobody is left to return to */
		fk_lock(fk);
	}
}

/* "a/b/c" <-> "a%b%c": one file name per kept path */
static void fk_flat(char *s, char from, char to)
{
	for (; *s; s++)
		if (*s == from)
			*s = to;
}

static void fk_keep(struct fk *fk, const char *gone, const char *rel)
{
	char flat[PATH_MAX], to[PATH_MAX], *a, *b;

	if (!fk_exists(fk, rel))
		return;
	snprintf(flat, sizeof(flat), "%s", rel);
	fk_flat(flat, '/', '%');
	snprintf(to, sizeof(to), "%s/%s", gone, flat);
	fk_mkdir(fk, gone);
	a = fk_path(fk, rel);
	b = fk_path(fk, to);
	if (rename(a, b) < 0) {
		perror("fakekernel: keep");
		abort();
	}
	free(a);
	free(b);
}

/* The links in sys/class/CLASS that lead into @dir (the device's own cards). */
static void fk_keep_class(struct fk *fk, const char *gone, const char *cls, const char *dir)
{
	char rel[PATH_MAX], *p = fk_path(fk, cls), *to;
	struct dirent *e;
	DIR *d = opendir(p);

	free(p);
	while (d && (e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s/%s", cls, e->d_name);
		to = fk_resolve(fk, rel);
		if (to && !strncmp(to, dir, strlen(dir)) && to[strlen(dir)] == '/')
			fk_keep(fk, gone, rel);
		free(to);
	}
	if (d)
		closedir(d);
}

void fk_native_gone(struct fk *fk, const char *addr, const char *drv)
{
	char *dir = fk_dev_dir(fk, addr), gone[PATH_MAX], rel[PATH_MAX];

	if (!dir)
		return;
	snprintf(rel, sizeof(rel), "%s/physfn", dir);
	if (!fk_exists(fk, rel) && strcmp(drv, "vfio-pci")) {
		snprintf(gone, sizeof(gone), FK_DIR "/gone/%s/%s", addr, drv);
		fk_keep_class(fk, gone, "sys/class/drm", dir);
		fk_keep_class(fk, gone, "sys/class/sound", dir);
		snprintf(rel, sizeof(rel), "%s/drm", dir);
		fk_keep(fk, gone, rel);
		snprintf(rel, sizeof(rel), "%s/sound", dir);
		fk_keep(fk, gone, rel);
		if (!strcmp(drv, "nvidia")) {
			snprintf(rel, sizeof(rel), "proc/driver/nvidia/gpus/%s", addr);
			fk_keep(fk, gone, rel);
		}
	}
	free(dir);
}

void fk_native_back(struct fk *fk, const char *addr, const char *drv)
{
	char gone[PATH_MAX], *p;
	struct dirent *e;
	DIR *d;

	snprintf(gone, sizeof(gone), FK_DIR "/gone/%s/%s", addr, drv);
	p = fk_path(fk, gone);
	d = opendir(p);
	while (d && (e = readdir(d))) {
		char rel[PATH_MAX], *a, *b;

		if (e->d_name[0] == '.')
			continue;
		snprintf(rel, sizeof(rel), "%s", e->d_name);
		fk_flat(rel, '%', '/');
		if (asprintf(&a, "%s/%s", p, e->d_name) < 0)
			abort();
		b = fk_path(fk, rel);
		if (rename(a, b) < 0) {
			perror("fakekernel: back");
			abort();
		}
		free(a);
		free(b);
	}
	if (d)
		closedir(d);
	free(p);
	fk_rm(fk, gone);
	/* and the function's own directory, once no other driver's cards wait there */
	snprintf(gone, sizeof(gone), FK_DIR "/gone/%s", addr);
	p = fk_path(fk, gone);
	rmdir(p);
	free(p);
}
