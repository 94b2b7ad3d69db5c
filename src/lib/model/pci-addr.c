/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include <gpupart/model.h>

#include "base/internal.h"
#include "model/pci-addr.h"

int gp_pci_addr_parse(const char *s, struct gp_pci_addr *out)
{
	unsigned dom = 0, bus, dev, fn;
	size_t len;

	if (!s)
		return -EINVAL;
	len = strlen(s);
	/* the strict forms only: anything else (paths, "..", spaces) is refused */
	if (len >= 12 && len <= 16) {
		if (gp_parse_hexn(&s, len - 8, &dom) < 0 || *s++ != ':')
			return -EINVAL;
	} else if (len != 7) {
		return -EINVAL;
	}
	if (gp_parse_hexn(&s, 2, &bus) < 0 || *s++ != ':')
		return -EINVAL;
	if (gp_parse_hexn(&s, 2, &dev) < 0 || *s++ != '.')
		return -EINVAL;
	if (*s < '0' || *s > '7' || s[1])
		return -EINVAL;
	fn = (unsigned)(*s - '0');
	if (dev > 0x1f)
		return -EINVAL;
	out->domain = dom;
	out->bus = (uint8_t)bus;
	out->dev = (uint8_t)dev;
	out->fn = (uint8_t)fn;
	return 0;
}

char *gp_pci_addr_format(const struct gp_pci_addr *a, char *buf)
{
	snprintf(buf, GP_ADDR_LEN, "%04x:%02x:%02x.%u", (unsigned)a->domain, a->bus, a->dev & 0x1f,
		 a->fn & 7u);
	return buf;
}

int gp_pci_addr_cmp(const struct gp_pci_addr *a, const struct gp_pci_addr *b)
{
	if (a->domain != b->domain)
		return a->domain < b->domain ? -1 : 1;
	if (a->bus != b->bus)
		return a->bus < b->bus ? -1 : 1;
	if (a->dev != b->dev)
		return a->dev < b->dev ? -1 : 1;
	if (a->fn != b->fn)
		return a->fn < b->fn ? -1 : 1;
	return 0;
}

bool gp_pci_addr_same_slot(const struct gp_pci_addr *a, const struct gp_pci_addr *b)
{
	return a->domain == b->domain && a->bus == b->bus && a->dev == b->dev;
}

int gp_pci_vf_addr(const struct gp_device *pf, int index, struct gp_pci_addr *out)
{
	unsigned rid;

	if (pf->sriov_offset <= 0 || pf->sriov_stride < 0 || index < 0 || index > 0xffff)
		return -EINVAL;
	rid = ((unsigned)pf->addr.bus << 8 | (unsigned)pf->addr.dev << 3 | pf->addr.fn) +
	      (unsigned)pf->sriov_offset + (unsigned)index * (unsigned)pf->sriov_stride;
	if (rid > 0xffff)
		return -ERANGE;
	*out = pf->addr;
	out->bus = (uint8_t)(rid >> 8);
	out->dev = (uint8_t)((rid >> 3) & 0x1f);
	out->fn = (uint8_t)(rid & 7);
	return 0;
}

int gp_vf_addr_at(const struct gp_device *pf, int index, char out[GP_ADDR_LEN])
{
	struct gp_pci_addr a;
	int r = gp_pci_vf_addr(pf, index, &a);

	*out = 0;
	if (r == 0)
		gp_pci_addr_format(&a, out);
	return r;
}
