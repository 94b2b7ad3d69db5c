/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The host's facts attach needs (vmhost.h): its CPU's physical address width, which bounds
 * the guest's (QEMU refuses, or KVM faults, a guest width above the host's: target/i386/
 * cpu.c, "phys-bits"), and what libvirt-guests does to running VMs at host shutdown
 * (tools/libvirt-guests.sh.in: ON_SHUTDOWN=suspend by default, a managed save that a VM
 * with an assigned device cannot make).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "model/vmhost.h"
#include "shared/str.h"

#define MAX_CPUS 8192 /* the kernel's NR_CPUS ceiling on x86-64 (arch/x86/Kconfig) */

int gp_vmhost_phys_bits(struct gp_ctx *ctx)
{
	_cleanup_(freep) char *buf = NULL;
	const char *p;
	int bits;

	if (gp_hostfs_read_bounded(ctx, GP_HP_CPUINFO, NULL, 16 << 20, &buf) < 0)
		return -1;
	/* x86: "address sizes\t: 46 bits physical, 48 bits virtual", the same on every CPU */
	p = strstr(buf, "address sizes");
	if (!p || !(p = strchr(p, ':')) || sscanf(p + 1, " %d bits physical", &bits) != 1 ||
	    bits < 32 || bits > 64)
		return -1;
	return bits;
}

/* One shell word as libvirt-guests' sourcing reads simple values: VALUE, "VALUE", 'VALUE'. */
static void unquote(const char *v, char *out, size_t len)
{
	size_t n = strcspn(v, " \t#\n");
	char q = *v;

	if (q == '"' || q == '\'') {
		v++;
		n = strcspn(v, q == '"' ? "\"\n" : "'\n");
	}
	snprintf(out, len, "%.*s", (int)n, v);
}

int gp_vmhost_guests_on_shutdown(struct gp_ctx *ctx, char *action, size_t len, int *line)
{
	_cleanup_(freep) char *buf = NULL;
	ssize_t r = gp_hostfs_read_bounded(ctx, GP_HP_LIBVIRT_GUESTS, NULL, 1 << 20, &buf);
	char *p, *next;
	int ln = 0;

	*line = 0;
	snprintf(action, len, "suspend");
	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return (int)r;
	for (p = buf; p && *p; p = next) {
		next = strchr(p, '\n');
		if (next)
			*next++ = '\0';
		ln++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!strncmp(p, "ON_SHUTDOWN=", 12)) {
			unquote(p + 12, action, len);
			*line = ln;
		}
	}
	return 1;
}

int gp_vmhost_numa_of_cpuset(struct gp_ctx *ctx, const char *cpuset)
{
	_cleanup_(freep) unsigned char *want = calloc(MAX_CPUS, 1);
	_cleanup_(freep) unsigned char *node = calloc(MAX_CPUS, 1);
	int best = -1, best_n = 0, id, n, dfd;
	struct dirent *e;
	DIR *dir;

	if (!want || !node || gp_cpulist_parse(cpuset, want, MAX_CPUS) <= 0)
		return -1;
	dfd = gp_hostfs_open_dir(ctx, GP_HP_NUMA_NODES, NULL);
	dir = dfd >= 0 ? gp_hostfs_opendir_at(dfd, NULL) : NULL;
	while (dir && (e = readdir(dir))) {
		char path[300], text[4096];
		size_t i;

		if (strncmp(e->d_name, "node", 4) || gp_parse_dec_int(e->d_name + 4, 4095, 0, &id))
			continue;
		snprintf(path, sizeof(path), "%s/cpulist", e->d_name);
		if (gp_hostfs_read_at(dfd, path, text, sizeof(text)) < 0)
			continue;
		memset(node, 0, MAX_CPUS);
		if (gp_cpulist_parse(text, node, MAX_CPUS) < 0)
			continue;
		for (i = 0, n = 0; i < MAX_CPUS; i++)
			n += want[i] && node[i];
		if (n > best_n || (n == best_n && n && id < best)) {
			best = id;
			best_n = n;
		}
	}
	if (dir)
		closedir(dir);
	if (dfd >= 0)
		close(dfd);
	return best;
}
