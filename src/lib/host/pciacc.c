/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The only file that includes <pci/pci.h>.
 *
 * libpci's default error handler calls exit(1); a tool that will one day be half-way through
 * rebinding a device cannot be allowed to die there. We install a handler that longjmps back
 * into whichever call of ours is active, and we feed libpci config bytes we read ourselves
 * (pci_setup_cache), so the capability walk never touches the filesystem.
 */
#include <errno.h>
#include <setjmp.h>
#include <fcntl.h>
#include <stdio.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pci/pci.h>

#include "host/hostfs.h"
#include "host/pciacc.h"
#include "host/udev.h"

struct gp_pciacc {
	struct pci_access *pacc;
	char sysfs_path[4096];
	const char *ids;          /* pci.ids, mapped on the first name lookup */
	size_t ids_len;
	int ids_err;              /* why it could not be mapped: use libpci */
	int vendor;               /* the last vendor looked up, and its section */
	const char *vendor_line, *section_end;
};

/* libpci's callbacks carry no user pointer; this is per-call state, not a cached root. */
static __thread jmp_buf *active_jmp;
static __thread struct gp_ctx *active_ctx;

static void PCI_NONRET on_pci_error(char *msg, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	if (active_ctx)
		ERR(active_ctx, "libpci: %s", buf);
	if (active_jmp)
		longjmp(*active_jmp, 1);
	/* Only reachable if libpci errors outside a guarded call: abort loudly, never exit(1). */
	abort();
}

static void on_pci_warning(char *msg, ...)
{
	va_list ap;
	char buf[512];

	va_start(ap, msg);
	vsnprintf(buf, sizeof(buf), msg, ap);
	va_end(ap);
	if (active_ctx)
		DBG(active_ctx, "libpci: %s", buf);
}

static void on_pci_debug(char *msg, ...)
{
	(void)msg;
}

void gp_pciacc_free(struct gp_pciacc *pa)
{
	if (!pa)
		return;
	if (pa->ids)
		munmap((void *)pa->ids, pa->ids_len);
	if (pa->pacc)
		pci_cleanup(pa->pacc);
	free(pa);
}

static struct gp_pciacc *pciacc_get(struct gp_ctx *ctx)
{
	struct gp_pciacc *pa;
	jmp_buf jb;

	if (ctx->pci)
		return ctx->pci;
	pa = calloc(1, sizeof(*pa));
	if (!pa)
		return NULL;
	if (gp_hostfs_abspath(ctx, GP_HP_PCI_DEVICES, NULL, pa->sysfs_path,
			      sizeof(pa->sysfs_path)) < 0) {
		free(pa);
		return NULL;
	}
	/* libpci wants the bus directory, not .../devices */
	pa->sysfs_path[strlen(pa->sysfs_path) - strlen("/devices")] = 0;

	pa->pacc = pci_alloc();
	if (!pa->pacc) {
		free(pa);
		return NULL;
	}
	pa->pacc->error = on_pci_error;
	pa->pacc->warning = on_pci_warning;
	pa->pacc->debug = on_pci_debug;
	pa->pacc->method = PCI_ACCESS_SYS_BUS_PCI;
	active_ctx = ctx;
	active_jmp = &jb;
	if (setjmp(jb)) {
		active_jmp = NULL;
		/* pci_cleanup after a failed init is what lspci would do on exit */
		gp_pciacc_free(pa);
		return NULL;
	}
	pci_set_param(pa->pacc, "sysfs.path", pa->sysfs_path);
	pci_init(pa->pacc);
	active_jmp = NULL;
	ctx->pci = pa;
	return pa;
}

static enum gp_tri has_cap(struct pci_dev *d, unsigned id, unsigned type)
{
	return pci_find_cap(d, id, type) ? GP_TRI_YES : GP_TRI_NO;
}

/*
 * The VF BARs (PCI_IOV_BAR_BASE, 6 registers) the SR-IOV capability declares. Their sizes
 * take a write to learn (what the kernel's sriov_init() does); their registers tell without
 * one: a memory BAR's type bits (64-bit, prefetchable) are read-only, so such a BAR reads
 * non-zero even where the firmware assigned it no address. A 64-bit BAR's upper half is
 * part of it.
 */
static uint8_t vf_bars_declared(struct pci_dev *d, int cap)
{
	uint8_t mask = 0;
	int i;

	for (i = 0; i < 6; i++) {
		uint32_t v = pci_read_long(d, cap + PCI_IOV_BAR_BASE + 4 * i);

		if (v)
			mask |= (uint8_t)(1u << i);
		if (!(v & PCI_BASE_ADDRESS_SPACE_IO) &&
		    (v & PCI_BASE_ADDRESS_MEM_TYPE_MASK) == PCI_BASE_ADDRESS_MEM_TYPE_64)
			i++;
	}
	return mask;
}

static void decode_caps(struct pci_dev *d, struct gp_config_facts *f)
{
	struct pci_cap *c;

	pci_fill_info(d, PCI_FILL_CAPS | PCI_FILL_EXT_CAPS);

	c = pci_find_cap(d, PCI_CAP_ID_EXP, PCI_CAP_NORMAL);
	if (c) {
		unsigned flags = pci_read_word(d, c->addr + PCI_EXP_FLAGS);
		unsigned devcap = pci_read_long(d, c->addr + PCI_EXP_DEVCAP);

		f->pcie_type = (enum gp_pcie_type)((flags & PCI_EXP_FLAGS_TYPE) >> 4);
		f->flr = (devcap & PCI_EXP_DEVCAP_FLRESET) ? GP_TRI_YES : GP_TRI_NO;
	} else {
		f->pcie_type = GP_PCIE_NONE;
		f->flr = GP_TRI_NO;
	}

	f->msi = (has_cap(d, PCI_CAP_ID_MSI, PCI_CAP_NORMAL) == GP_TRI_YES ||
		  has_cap(d, PCI_CAP_ID_MSIX, PCI_CAP_NORMAL) == GP_TRI_YES) ?
			 GP_TRI_YES :
			 GP_TRI_NO;

	c = pci_find_cap(d, PCI_CAP_ID_PM, PCI_CAP_NORMAL);
	if (c)
		f->pm_no_soft_reset = (pci_read_word(d, c->addr + PCI_PM_CTRL) &
				       PCI_PM_CTRL_NO_SOFT_RST) ?
					      GP_TRI_YES :
					      GP_TRI_NO;

	c = pci_find_cap(d, PCI_CAP_ID_AF, PCI_CAP_NORMAL);
	f->af_flr = c && (pci_read_byte(d, c->addr + PCI_AF_CAP) & PCI_AF_CAP_FLR) ? GP_TRI_YES :
										     GP_TRI_NO;

	c = pci_find_cap(d, PCI_EXT_CAP_ID_ACS, PCI_CAP_EXTENDED);
	/* 256 bytes of a PCIe function (no ECAM, or a short capture): extended space unknown */
	f->acs = c ? GP_TRI_YES : f->ext_readable || f->pcie_type == GP_PCIE_NONE ? GP_TRI_NO :
								    GP_TRI_UNKNOWN;
	if (c) {
		f->acs_cap = pci_read_word(d, c->addr + PCI_ACS_CAP);
		f->acs_ctrl = pci_read_word(d, c->addr + PCI_ACS_CTRL);
	}

	c = pci_find_cap(d, PCI_EXT_CAP_ID_SRIOV, PCI_CAP_EXTENDED);
	if (c) {
		f->sriov = true;
		f->sriov_total_vfs = pci_read_word(d, c->addr + PCI_IOV_TOTALVF);
		f->sriov_num_vfs = pci_read_word(d, c->addr + PCI_IOV_NUMVF);
		f->sriov_offset = pci_read_word(d, c->addr + PCI_IOV_OFFSET);
		f->sriov_stride = pci_read_word(d, c->addr + PCI_IOV_STRIDE);
		f->sriov_vf_device = pci_read_word(d, c->addr + PCI_IOV_DID);
		f->sriov_vf_bars = vf_bars_declared(d, c->addr);
	}
}

int gp_pciacc_decode(struct gp_ctx *ctx, const struct gp_pci_addr *addr, const uint8_t *cfg,
		     int len, struct gp_config_facts *out)
{
	struct gp_config_facts f = {
		.config_len = len,
		.pcie_type = GP_PCIE_UNKNOWN,
		.msi = GP_TRI_UNKNOWN,
		.flr = GP_TRI_UNKNOWN,
		.af_flr = GP_TRI_UNKNOWN,
		.pm_no_soft_reset = GP_TRI_UNKNOWN,
		.acs = GP_TRI_UNKNOWN,
	};
	/* pci_setup_cache takes a non-const pointer and libpci may write through it; the cache
	 * always spans 4096 bytes (zeros past what we read end every chain) so that libpci never
	 * goes to the config file itself */
	uint8_t buf[4096] = { 0 };
	struct gp_pciacc *pa;
	struct pci_dev *volatile d = NULL;
	jmp_buf jb;

	if (len < 64) {
		*out = f;
		return len < 0 ? len : -EIO;
	}
	if (len > (int)sizeof(buf))
		len = sizeof(buf);
	memcpy(buf, cfg, (size_t)len);
	f.header_type = buf[PCI_HEADER_TYPE] & 0x7f;
	f.interrupt_pin = buf[PCI_INTERRUPT_PIN];
	if (f.header_type == PCI_HEADER_TYPE_BRIDGE) {
		f.secondary_bus = buf[PCI_SECONDARY_BUS];
		f.subordinate_bus = buf[PCI_SUBORDINATE_BUS];
	}
	/* Unprivileged readers get 64 bytes: every capability is unknown, never "absent". */
	f.readable = len >= 256;
	f.ext_readable = len >= 4096;
	if (!f.readable) {
		*out = f;
		return 0;
	}

	pa = pciacc_get(ctx);
	if (!pa)
		return -ENOMEM;
	/* the capabilities are decoded into *out, which is not touched after a longjmp but
	 * reset to the header facts (f is not modified after setjmp, so it is determinate) */
	*out = f;
	active_ctx = ctx;
	active_jmp = &jb;
	if (setjmp(jb)) {
		active_jmp = NULL;
		if (d)
			pci_free_dev(d);
		*out = f;
		out->readable = out->ext_readable = false;
		return -EIO;
	}
	d = pci_get_dev(pa->pacc, addr->domain, addr->bus, addr->dev, addr->fn);
	pci_setup_cache(d, buf, sizeof(buf));
	decode_caps(d, out);
	pci_free_dev(d);
	active_jmp = NULL;
	return 0;
}

static char *line_name(const char *p, const char *end)
{
	const char *e = memchr(p, '\n', (size_t)(end - p));

	p += 4;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return strndup(p, (size_t)((e ? e : end) - p));
}

/* Finds key (e.g. "\n10de " or "\n\t2235 ") in [p, end); returns the match after its '\n'. */
static const char *find_line(const char *p, const char *end, const char *key)
{
	const char *hit = memmem(p, (size_t)(end - p), key, strlen(key));

	return hit ? hit + 1 : NULL;
}

/* The vendor ID of a vendor line ("10de  NVIDIA Corporation"), or -1. */
static int vendor_at(const char *p, const char *end)
{
	int v = 0, i;

	if (end - p < 6 || p[4] != ' ')
		return -1;
	for (i = 0; i < 4; i++) {
		int c = p[i];

		if (c >= '0' && c <= '9')
			v = v * 16 + c - '0';
		else if (c >= 'a' && c <= 'f')
			v = v * 16 + c - 'a' + 10;
		else
			return -1;
	}
	return v;
}

/* The first vendor line starting after p, or NULL (end, or the "C xx" class section). */
static const char *next_vendor_line(const char *p, const char *end)
{
	while (p && p < end) {
		p = memchr(p, '\n', (size_t)(end - p));
		if (!p || ++p >= end)
			return NULL;
		if (vendor_at(p, end) >= 0)
			return p;
		if (p[0] == 'C' && p[1] == ' ')
			return NULL;
	}
	return NULL;
}

/*
 * Vendor sections are sorted by ID: bisect to a window of a few pages, then walk its vendor
 * lines. A name lookup touches a few pages of the 1.3 MB file instead of scanning it. Only lo
 * matters for correctness: it only ever moves to a vendor line below the one we want.
 */
static const char *find_vendor(const char *ids, const char *end, int vendor)
{
	const char *lo = ids, *hi = end, *p;
	int v;

	while (hi - lo > 16384) {
		const char *mid = lo + (hi - lo) / 2;

		p = next_vendor_line(mid, hi);
		if (p && vendor_at(p, end) < vendor)
			lo = p;
		else
			hi = mid;
	}
	for (p = lo; p; p = next_vendor_line(p, end)) {
		v = vendor_at(p, end);
		if (v == vendor)
			return p;
		if (v > vendor)
			return NULL;
	}
	return NULL;
}

static int ids_map(struct gp_pciacc *pa)
{
	const char *file = pa->pacc->id_file_name;
	char plain[4096];
	struct stat st;
	void *map;
	int fd;

	if (pa->ids || pa->ids_err)
		return pa->ids_err;
	fd = open(file, O_RDONLY | O_CLOEXEC);
	/* Debian's libpci names "pci.ids.gz" and, like libpci, we fall back to the plain file */
	if (fd < 0 && strlen(file) > 3 && strlen(file) < sizeof(plain) &&
	    strcmp(file + strlen(file) - 3, ".gz") == 0) {
		snprintf(plain, sizeof(plain), "%.*s", (int)(strlen(file) - 3), file);
		fd = open(plain, O_RDONLY | O_CLOEXEC);
	}
	if (fd < 0)
		return pa->ids_err = -errno;
	if (fstat(fd, &st) < 0 || st.st_size < 2) {
		close(fd);
		return pa->ids_err = -EINVAL;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		return pa->ids_err = -errno;
	if (((unsigned char *)map)[0] == 0x1f && ((unsigned char *)map)[1] == 0x8b) {
		munmap(map, (size_t)st.st_size);
		return pa->ids_err = -ENOTSUP; /* gzip'ed: let libpci do it */
	}
	pa->ids = map;
	pa->ids_len = (size_t)st.st_size;
	pa->vendor = -1;
	return 0;
}

/*
 * libpci would parse and hash all 36 000 lines of pci.ids (most of a scan's CPU time) to
 * answer the two questions we ask. The file is sorted into vendor sections: one memmem finds
 * the vendor line (once per vendor), a second the device line within its section. Falls back
 * to pci_lookup_name when the file is compressed or missing.
 */
static int ids_lookup(struct gp_pciacc *pa, int vendor, int device, char **vn, char **dn)
{
	const char *p, *end, *next;
	char key[16];
	int r = ids_map(pa);

	*vn = *dn = NULL;
	if (r < 0)
		return r;
	end = pa->ids + pa->ids_len;
	if (vendor != pa->vendor) {
		pa->vendor = vendor;
		pa->vendor_line = find_vendor(pa->ids, end, vendor);
		pa->section_end = end;
		/* the section ends at the next line that starts with neither tab nor comment */
		for (next = pa->vendor_line; next && (next = memchr(next, '\n', (size_t)(end - next))) &&
					     next + 1 < end;
		     next++)
			if (next[1] != '\t' && next[1] != '#' && next[1] != '\n') {
				pa->section_end = next + 1;
				break;
			}
	}
	if (!pa->vendor_line)
		return 0;
	*vn = line_name(pa->vendor_line, end);
	snprintf(key, sizeof(key), "\n\t%04x ", (unsigned)device & 0xffff);
	p = find_line(pa->vendor_line, pa->section_end, key);
	if (p)
		*dn = line_name(p + 1, end);
	return 0;
}

/* The vendor's and the device's names in pci.ids (or libpci's reading of it), NULL each one
 * the database lacks. */
static void ids_names(struct gp_ctx *ctx, int vendor, int device, char **vn, char **dn)
{
	struct gp_pciacc *pa = pciacc_get(ctx);
	char vbuf[256], dbuf[256];
	const char *v, *d;
	jmp_buf jb;

	*vn = *dn = NULL;
	if (!pa || ids_lookup(pa, vendor, device, vn, dn) == 0)
		return;
	active_ctx = ctx;
	active_jmp = &jb;
	if (setjmp(jb)) {
		active_jmp = NULL;
		return;
	}
	v = pci_lookup_name(pa->pacc, vbuf, sizeof(vbuf),
			    PCI_LOOKUP_VENDOR | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, vendor);
	d = pci_lookup_name(pa->pacc, dbuf, sizeof(dbuf),
			    PCI_LOOKUP_DEVICE | PCI_LOOKUP_NO_NUMBERS | PCI_LOOKUP_NO_HWDB, vendor,
			    device);
	active_jmp = NULL;
	*vn = v ? strdup(v) : NULL;
	*dn = d ? strdup(d) : NULL;
}

char *gp_pciacc_name(struct gp_ctx *ctx, int vendor, int device, int subvendor, int subdevice)
{
	char *name = NULL, *vn, *dn;

	(void)subvendor;
	(void)subdevice;
	if (vendor < 0 || device < 0)
		return NULL;
	/* udev's hwdb first (mmap'ed, cheap), pci.ids as the fallback: the vendor and device
	 * names lspci prints, never the subsystem's */
	name = gp_udev_pci_name(ctx, vendor, device);
	if (name)
		return name;
	ids_names(ctx, vendor, device, &vn, &dn);
	if (vn && dn && asprintf(&name, "%s %s", vn, dn) < 0)
		name = NULL;
	free(vn);
	free(dn);
	return name;
}

char *gp_pciacc_unknown_name(struct gp_ctx *ctx, int vendor, int device)
{
	char *name = NULL, *vn = NULL, *dn = NULL;
	int r;

	if (vendor < 0 || device < 0)
		return NULL;
	ids_names(ctx, vendor, device, &vn, &dn);
	/* pciutils' lib/names.c: "%s Device %04x" for a known vendor, "Device %04x:%04x" */
	if (vn)
		r = asprintf(&name, "%s Device %04x", vn, (unsigned)device);
	else
		r = asprintf(&name, "Device %04x:%04x", (unsigned)vendor, (unsigned)device);
	free(vn);
	free(dn);
	return r < 0 ? NULL : name;
}
