/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake kernel's view of the tree: file helpers beneath the root, config space patches, and
 * loading a PF back from disk into the fixture's model so that VFs can be laid out by the very
 * code that lays out the fixture's own VFs (fx_sriov_enable + fx_dev_write).
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fk-internal.h"

char *fk_path(const struct fk *fk, const char *rel)
{
	char *p;

	if (asprintf(&p, "%s/%s", fk->root, rel) < 0)
		abort();
	return p;
}

bool fk_exists(const struct fk *fk, const char *rel)
{
	char *p = fk_path(fk, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;

	free(p);
	return r;
}

bool fk_marker(const struct fk *fk, const char *kind, const char *name)
{
	char rel[PATH_MAX];

	snprintf(rel, sizeof(rel), FK_DIR "/%s/%s", kind, name);
	return fk_exists(fk, rel);
}

char *fk_read_all(const struct fk *fk, const char *rel, size_t *len)
{
	char *p = fk_path(fk, rel), *buf = NULL;
	size_t n = 0, cap = 0;
	ssize_t got;
	int fd = open(p, O_RDONLY | O_CLOEXEC);

	free(p);
	if (fd < 0)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 8192;
			buf = realloc(buf, cap + 1);
			if (!buf)
				abort();
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (got < 0) {
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static char *fk_vread(const struct fk *fk, const char *fmt, va_list ap)
{
	char *rel, *s, *nl;

	if (vasprintf(&rel, fmt, ap) < 0)
		abort();
	s = fk_read_all(fk, rel, NULL);
	free(rel);
	if (s && (nl = strchr(s, '\n')))
		*nl = '\0';
	return s;
}

char *fk_read(const struct fk *fk, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = fk_vread(fk, fmt, ap);
	va_end(ap);
	return s;
}

int fk_read_int(const struct fk *fk, int def, const char *fmt, ...)
{
	va_list ap;
	char *s, *end;
	long v;

	va_start(ap, fmt);
	s = fk_vread(fk, fmt, ap);
	va_end(ap);
	if (!s)
		return def;
	v = strtol(s, &end, 0);
	if (end == s)
		v = def;
	free(s);
	return (int)v;
}

int fk_put(const struct fk *fk, const char *rel, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n, r;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	r = fx_write_bytes(fk->root, rel, s, (size_t)n);
	free(s);
	return r;
}

char *fk_resolve(const struct fk *fk, const char *rel)
{
	char *p = fk_path(fk, rel), *real = realpath(p, NULL), *out = NULL;
	size_t rl = strlen(fk->root);

	free(p);
	if (!real)
		return NULL;
	/* a link that climbs out of the tree is no device of ours */
	if (!strncmp(real, fk->root, rl) && real[rl] == '/')
		out = strdup(real + rl + 1);
	free(real);
	return out;
}

char *fk_link_name(const struct fk *fk, const char *fmt, ...)
{
	char *rel, *p, buf[PATH_MAX], *slash;
	va_list ap;
	ssize_t n;

	va_start(ap, fmt);
	if (vasprintf(&rel, fmt, ap) < 0)
		abort();
	va_end(ap);
	p = fk_path(fk, rel);
	free(rel);
	n = readlink(p, buf, sizeof(buf) - 1);
	free(p);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	return strdup(slash ? slash + 1 : buf);
}

static int fk_rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(p) < 0 ? -1 : 0;
	return unlink(p) < 0 ? -1 : 0;
}

int fk_rm(const struct fk *fk, const char *rel)
{
	char *p = fk_path(fk, rel);
	struct stat st;
	int r = 0;

	if (lstat(p, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			r = nftw(p, fk_rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0 ? -errno : 0;
		else
			r = unlink(p) < 0 ? -errno : 0;
	}
	free(p);
	return r;
}

int fk_mkdir(const struct fk *fk, const char *rel)
{
	return fx_mkdirs(fk->root, rel);
}

bool fk_is_addr(const char *s)
{
	static const char pat[] = "xxxx:xx:xx.x";

	if (strlen(s) != sizeof(pat) - 1)
		return false;
	for (size_t i = 0; pat[i]; i++)
		if (pat[i] == 'x' ? !isxdigit((unsigned char)s[i]) : s[i] != pat[i])
			return false;
	return s[11] <= '7';
}

char *fk_dev_dir(const struct fk *fk, const char *addr)
{
	char rel[128];

	if (!fk_is_addr(addr))
		return NULL;
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", addr);
	return fk_resolve(fk, rel);
}

static uint8_t *fk_config_read(const struct fk *fk, const char *addr, size_t *len)
{
	char rel[128];

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", addr);
	return (uint8_t *)fk_read_all(fk, rel, len);
}

static unsigned fk_le16(const uint8_t *c, size_t off)
{
	return c[off] | (unsigned)c[off + 1] << 8;
}

static uint32_t fk_le32(const uint8_t *c, size_t off)
{
	return fk_le16(c, off) | (uint32_t)fk_le16(c, off + 2) << 16;
}

int fk_config_ext_cap(const struct fk *fk, const char *addr, unsigned id)
{
	size_t len = 0, off = 0x100;
	uint8_t *c = fk_config_read(fk, addr, &len);
	int found = 0;

	for (int guard = 0; c && off >= 0x100 && off + 4 <= len && guard < 96; guard++) {
		uint32_t h = fk_le32(c, off);

		if ((h & 0xffff) == id) {
			found = (int)off;
			break;
		}
		off = h >> 20;
	}
	free(c);
	return found;
}

int fk_config_patch16(const struct fk *fk, const char *addr, int off, unsigned set, unsigned clear,
		      unsigned *value)
{
	char rel[128];
	size_t len = 0;
	uint8_t *c = fk_config_read(fk, addr, &len);
	unsigned v;
	int r;

	if (!c)
		return -ENOENT;
	/* an unprivileged tree (64-byte config) does not show the register: nothing to change */
	if (off <= 0 || (size_t)off + 2 > len) {
		free(c);
		return 0;
	}
	v = (fk_le16(c, (size_t)off) & ~clear) | set;
	if (value)
		v = *value;
	c[off] = (uint8_t)v;
	c[off + 1] = (uint8_t)(v >> 8);
	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/config", addr);
	r = fx_write_bytes(fk->root, rel, c, len);
	free(c);
	return r;
}

static int fk_msix_size(const uint8_t *c, size_t len)
{
	unsigned off = len > 0x34 ? c[0x34] : 0;

	for (int guard = 0; off >= 0x40 && off + 4 <= len && guard < 48; guard++) {
		if (c[off] == 0x11)
			return (int)(fk_le16(c, off + 2) & 0x7ff) + 1;
		off = c[off + 1];
	}
	return 0;
}

static int fk_speed_code(const char *s)
{
	static const char *const names[] = { "2.5 GT/s", "5.0 GT/s", "8.0 GT/s", "16.0 GT/s",
					     "32.0 GT/s" };

	for (int i = 0; s && i < 5; i++)
		if (!strncmp(s, names[i], strlen(names[i])))
			return i + 1;
	return 0;
}

/* struct resource flags (include/linux/ioport.h) back to the fixture's BAR flags */
static unsigned fk_bar_flags(unsigned long long f)
{
	unsigned b = 0;

	if (f & 0x100ull)
		return FX_BAR_IO;
	if (f & 0x100000ull)
		b |= FX_BAR_MEM64;
	if (f & 0x2000ull)
		b |= FX_BAR_PREF;
	return b;
}

static const struct fx_vgpu_catalog *fk_nv_catalog(uint16_t device)
{
	switch (device) {
	case 0x25b6: return &fx_catalog_a16;
	case 0x2235: return &fx_catalog_a40;
	case 0x1eb8: return &fx_catalog_t4;
	case 0x26b9: return &fx_catalog_l40s;
	case 0x2335: return &fx_catalog_h200;
	}
	return NULL;
}

struct fx_dev *fk_pf_load(const struct fk *fk, struct fx_tree *t, const char *addr)
{
	char *dir = fk_dev_dir(fk, addr), *comp, *save = NULL, *copy, *s, *fxp;
	struct fx_dev *parent = NULL, *d = NULL;
	unsigned dom, bus;
	uint8_t *cfg;
	size_t len = 0;
	int pos;

	if (!dir || sscanf(dir, "sys/devices/pci%x:%x/", &dom, &bus) != 2) {
		fprintf(stderr, "fakekernel: %s: no device directory under sys/devices\n", addr);
		free(dir);
		return NULL;
	}
	/* the bridge chain, so that fx_dev_path() names the directories the tree has */
	copy = strdup(dir + strlen("sys/devices/"));
	strtok_r(copy, "/", &save);
	while ((comp = strtok_r(NULL, "/", &save))) {
		if (!fk_is_addr(comp))
			break;
		if (!strcmp(comp, addr)) {
			d = fx_dev_add(t, parent, addr, (uint16_t)fk_read_int(fk, 0, "%s/vendor", dir),
				       (uint16_t)fk_read_int(fk, 0, "%s/device", dir),
				       (uint32_t)fk_read_int(fk, 0, "%s/class", dir));
			break;
		}
		parent = fx_dev_add(t, parent, comp, 0, 0, 0x060400);
	}
	free(copy);
	fxp = d ? fx_dev_path(d) : NULL;
	if (!fxp || strcmp(fxp, dir)) {
		fprintf(stderr, "fakekernel: %s: cannot model the path %s\n", addr, dir);
		free(fxp);
		free(dir);
		return NULL;
	}
	free(fxp);
	fx_dev_set_subsys(d, (uint16_t)fk_read_int(fk, 0, "%s/subsystem_vendor", dir),
			  (uint16_t)fk_read_int(fk, 0, "%s/subsystem_device", dir));
	d->revision = (uint8_t)fk_read_int(fk, 0, "%s/revision", dir);
	d->numa_node = fk_read_int(fk, -1, "%s/numa_node", dir);
	s = fk_read(fk, "%s/current_link_speed", dir);
	d->link_speed = fk_speed_code(s);
	free(s);
	d->link_width = fk_read_int(fk, 0, "%s/current_link_width", dir);
	d->driver = fk_link_name(fk, "%s/driver", dir);
	d->catalog = d->vendor == 0x10de ? fk_nv_catalog(d->device) : NULL;
	cfg = fk_config_read(fk, addr, &len);
	d->config_size = (int)len;
	d->msix = cfg ? fk_msix_size(cfg, len) : 0;

	/* SR-IOV: the capability when the config shows it, else the kernel's sysfs numbers */
	d->sriov = true;
	d->sriov_total = fk_read_int(fk, 0, "%s/sriov_totalvfs", dir);
	d->sriov_offset = fk_read_int(fk, 0, "%s/sriov_offset", dir);
	d->sriov_stride = fk_read_int(fk, 0, "%s/sriov_stride", dir);
	s = fk_read(fk, "%s/sriov_vf_device", dir);
	d->vf_device = s ? (uint16_t)strtoul(s, NULL, 16) : 0;
	free(s);
	pos = cfg ? fk_config_ext_cap(fk, addr, 0x10) : 0;
	if (pos && (size_t)pos + 0x40 <= len) {
		d->sriov_initial = (int)fk_le16(cfg, (size_t)pos + 0x0c);
		d->sriov_total = (int)fk_le16(cfg, (size_t)pos + 0x0e);
		d->sriov_offset = (int)fk_le16(cfg, (size_t)pos + 0x14);
		d->sriov_stride = (int)fk_le16(cfg, (size_t)pos + 0x16);
		d->vf_device = (uint16_t)fk_le16(cfg, (size_t)pos + 0x1a);
	} else {
		d->sriov_initial = d->sriov_total;
	}
	free(cfg);
	d->sriov_driver_max = fk_read_int(fk, 0, "%s/sriov_totalvfs", dir);
	d->sriov_autoprobe = fk_read_int(fk, 1, "%s/sriov_drivers_autoprobe", dir) != 0;
	{
		/* resource lines 7..12: the VF BAR windows, TotalVFs BARs each */
		char *res, *line, *nl, rel[PATH_MAX];

		snprintf(rel, sizeof(rel), "%s/resource", dir);
		res = line = fk_read_all(fk, rel, NULL);
		for (int i = 0; line && *line && i < 13; i++, line = nl ? nl + 1 : NULL) {
			unsigned long long a, e, f;

			nl = strchr(line, '\n');
			if (i < 7 || sscanf(line, "%llx %llx %llx", &a, &e, &f) != 3 || !e)
				continue;
			d->vf_bars[i - 7].size = (e - a + 1) / (uint64_t)(d->sriov_total ? d->sriov_total : 1);
			d->vf_bars[i - 7].flags = fk_bar_flags(f);
			d->vf_bars[i - 7].addr = a;
		}
		free(res);
	}
	/* host-wide facts the VF files carry */
	s = fk_read(fk, "%s/local_cpulist", dir);
	if (s && strchr(s, '-'))
		t->host.ncpus = atoi(strchr(s, '-') + 1) + 1;
	free(s);
	s = fk_read(fk, "%s/iommu_group/type", dir);
	t->host.group_type = s ? s : "DMA";
	t->host.iommu = fk_dev_group(fk, addr) >= 0;
	d->group = fk_dev_group(fk, addr);
	free(dir);
	return d;
}

int fk_dev_group(const struct fk *fk, const char *addr)
{
	char *g = fk_link_name(fk, "sys/bus/pci/devices/%s/iommu_group", addr);
	int n = g ? atoi(g) : -1;

	free(g);
	return n;
}

int fk_group_alloc(const struct fk *fk)
{
	char *p = fk_path(fk, "sys/kernel/iommu_groups");
	DIR *dir = opendir(p);
	struct dirent *e;
	static unsigned char used[1 << 16];
	int n = -1;

	free(p);
	if (!dir)
		return -1;
	memset(used, 0, sizeof(used));
	while ((e = readdir(dir))) {
		char *end;
		long g = strtol(e->d_name, &end, 10);

		if (isdigit((unsigned char)e->d_name[0]) && !*end && g < (long)sizeof(used))
			used[g] = 1;
	}
	closedir(dir);
	for (int g = 0; g < (int)sizeof(used); g++)
		if (!used[g]) {
			n = g;
			break;
		}
	return n;
}

bool fk_group_held(const struct fk *fk, int group)
{
	char *p = fk_path(fk, "proc"), want[64], *fdp, target[256];
	DIR *proc = opendir(p), *fds;
	struct dirent *pe, *fe;
	bool held = false;

	snprintf(want, sizeof(want), "/dev/vfio/%d", group);
	while (proc && !held && (pe = readdir(proc))) {
		if (!isdigit((unsigned char)pe->d_name[0]))
			continue;
		if (asprintf(&fdp, "%s/%s/fd", p, pe->d_name) < 0)
			abort();
		fds = opendir(fdp);
		while (fds && !held && (fe = readdir(fds))) {
			char *lp;
			ssize_t n;

			if (asprintf(&lp, "%s/%s", fdp, fe->d_name) < 0)
				abort();
			n = readlink(lp, target, sizeof(target) - 1);
			free(lp);
			if (n > 0) {
				target[n] = '\0';
				held = !strcmp(target, want);
			}
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
