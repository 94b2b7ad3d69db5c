/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A GPU's stable identity, pure over the model: its PCI path from the root bus (what
 * partitions.conf records) and the deterministic UUIDs of its partitions (what the mdevs
 * gpupart makes are called, and how an mdev gpupart did not make is told apart).
 */
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <gpupart/model.h>

#include "base/internal.h"

#define IDENTITY_MAX_HOPS 64 /* bridges between a root bus and a device: a loop beyond */

/* Whether a sysfs path component is "pciDDDD:BB" naming this domain and bus. */
static bool is_root_bus(const char *comp, size_t len, uint32_t domain, unsigned bus)
{
	char want[32];
	int n = snprintf(want, sizeof(want), "pci%04x:%02x", domain, bus);

	return n > 0 && (size_t)n == len && strncasecmp(comp, want, len) == 0;
}

/* The syspath holds the root bus component (a path below sys/devices, maybe "devices/..."). */
static bool syspath_has_root_bus(const char *syspath, uint32_t domain, unsigned bus)
{
	const char *p = syspath;

	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (is_root_bus(p, len, domain, bus))
			return true;
		if (!slash)
			break;
		p = slash + 1;
	}
	return false;
}

int gp_device_path_id(const struct gp_device *dev, char *buf, size_t len)
{
	const struct gp_device *hops[IDENTITY_MAX_HOPS], *d, *top;
	size_t n = 0, used;
	int w;

	if (!dev || !buf || !len)
		return -EINVAL;
	/* from the device up while in its PCI domain: a VMD's domain starts at its own root
	 * bus, whatever the controller's own path is */
	for (d = dev; d; d = d->parent) {
		if (d->addr.domain != dev->addr.domain)
			break;
		if (n == IDENTITY_MAX_HOPS)
			return -EINVAL; /* a loop, or an absurd depth */
		hops[n++] = d;
	}
	top = hops[n - 1];
	/* the topmost function in the domain sits on the root bus: the sysfs path must say so
	 * (a chain that stops short, say an unread bridge, is not a stable identity) */
	if (dev->syspath && !syspath_has_root_bus(dev->syspath, top->addr.domain, top->addr.bus))
		return -EINVAL;
	w = snprintf(buf, len, "pci%04x:%02x", top->addr.domain, top->addr.bus);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	used = (size_t)w;
	while (n--) {
		w = snprintf(buf + used, len - used, "/%02x.%x", hops[n]->addr.dev, hops[n]->addr.fn);
		if (w < 0 || (size_t)w >= len - used)
			return -ENAMETOOLONG;
		used += (size_t)w;
	}
	return 0;
}

/* FNV-1a from two bases, then mixed: 128 bits that must be stable and distinct, not secret. */
void gp_partition_uuid(const char *path_id, const struct gp_device *dev, int id, char out[37])
{
	char key[256];
	uint64_t h[2] = { 0xcbf29ce484222325ull, 0x84222325cbf29ce4ull };
	uint8_t b[16];
	size_t i, k;

	snprintf(key, sizeof(key), "gpupart partition|%s|%04x:%04x:%04x:%04x|%d", path_id,
		 dev->vendor & 0xffff, dev->device & 0xffff, dev->subsystem_vendor & 0xffff,
		 dev->subsystem_device & 0xffff, id);
	for (k = 0; k < 2; k++)
		for (i = 0; key[i]; i++) {
			h[k] ^= (uint8_t)key[i];
			h[k] *= 0x100000001b3ull;
		}
	for (k = 0; k < 2; k++) { /* splitmix64's finaliser: every input bit moves every output bit */
		h[k] ^= h[k] >> 30;
		h[k] *= 0xbf58476d1ce4e5b9ull;
		h[k] ^= h[k] >> 27;
		h[k] *= 0x94d049bb133111ebull;
		h[k] ^= h[k] >> 31;
	}
	for (i = 0; i < 8; i++) {
		b[i] = (uint8_t)(h[0] >> (56 - 8 * i));
		b[8 + i] = (uint8_t)(h[1] >> (56 - 8 * i));
	}
	b[6] = (uint8_t)((b[6] & 0x0f) | 0x80); /* version 8: custom */
	b[8] = (uint8_t)((b[8] & 0x3f) | 0x80); /* RFC variant */
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
		 b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
		 b[14], b[15]);
}

int gp_partition_uuid_id(const char *path_id, const struct gp_device *dev, const char *uuid,
			 int limit)
{
	char u[37];
	int id;

	for (id = 0; id < limit; id++) {
		gp_partition_uuid(path_id, dev, id, u);
		if (strcasecmp(u, uuid) == 0)
			return id;
	}
	return -ENOENT;
}
