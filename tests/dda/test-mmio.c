/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The MMIO rule against every row of NVIDIA's "MMIO Space Required" table (the seed
 * ../shared/seeds/003, "Large-Memory VMs (64 GB+ MMIO)", copied here row by row so the test
 * does not reach outside the repository): a GPU whose BARs are the row's gets at least the
 * row's window; a GPU whose PCI ID is the row's (where survey.c's table knows the ID) gets it
 * even with BARs that say less. Then the guest address width, --mmio-high's sizes, and which
 * libvirt URIs are this host.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/attach.h>
#include <gpupart/virt.h>

#define GIB (1ULL << 30)
#define MIB (1ULL << 20)

static const struct {
	const char *gpu;
	unsigned gib;    /* the seed's "MMIO Space Required" */
	uint16_t device; /* a PCI device ID survey.c's table has for it; 0: none there */
} seed[] = {
	{ "NVIDIA B300 HGX", 768, 0 },
	{ "NVIDIA B200 HGX", 768, 0x2901 },
	{ "NVIDIA H200 (all variants)", 512, 0x2335 },
	{ "NVIDIA H200 NVL", 512, 0x233b },
	{ "NVIDIA H100 (all variants)", 256, 0x2331 },
	{ "NVIDIA H100 NVL", 256, 0x2321 },
	{ "NVIDIA H100 SXM5", 256, 0x2330 },
	{ "NVIDIA H800 (all variants)", 256, 0 },
	{ "NVIDIA H20 141 GB", 512, 0 },
	{ "NVIDIA H20 96 GB", 256, 0 },
	{ "NVIDIA L40", 128, 0x26b5 },
	{ "NVIDIA L40S", 128, 0x26b9 },
	{ "NVIDIA L20", 128, 0x26ba },
	{ "NVIDIA L4", 64, 0x27b8 },
	{ "NVIDIA L2", 64, 0x27b6 },
	{ "NVIDIA RTX 6000 Ada", 128, 0 },
	{ "NVIDIA RTX 5000 Ada", 64, 0 },
	{ "NVIDIA A40", 128, 0x2235 },
	{ "NVIDIA A30", 64, 0x20b7 },
	{ "NVIDIA A10", 64, 0x2236 },
	{ "NVIDIA A100 80 GB PCIe", 256, 0x20b5 },
	{ "NVIDIA A100 80 GB SXM4", 256, 0x20b2 },
	{ "NVIDIA A100 40 GB PCIe", 128, 0x20f1 },
	{ "NVIDIA A100 40 GB SXM4", 128, 0x20b0 },
	{ "NVIDIA RTX A6000", 128, 0 },
	{ "NVIDIA RTX A5500", 64, 0 },
	{ "NVIDIA RTX A5000", 64, 0 },
	{ "NVIDIA Quadro RTX 8000 Passive", 64, 0 },
	{ "NVIDIA Quadro RTX 6000 Passive", 64, 0 },
	{ "NVIDIA Tesla V100 (all variants)", 64, 0 },
};

/*
 * A GPU with the row's BARs: BAR0 16 MiB (32-bit registers), then 64-bit prefetchable BARs
 * that add up to the row's size, each a power of two as BARs are (768 GiB = 512 + 256), and
 * BAR 5's 32 MiB (the usual third BAR).
 */
static void gpu_with(struct gp_device *d, struct gp_bar *bars, uint16_t device, uint64_t total)
{
	size_t n = 0;
	uint64_t left = total;
	int index = 1;

	memset(d, 0, sizeof(*d));
	d->vendor = 0x10de;
	d->device = device;
	bars[n++] = (struct gp_bar){ .index = 0, .size = 16 * MIB };
	for (uint64_t p = 1ULL << 62; p && left; p >>= 1) {
		if (left >= p) {
			bars[n++] = (struct gp_bar){ .index = index, .size = p, .mem64 = true,
						     .prefetch = true };
			index += 2;
			left -= p;
		}
	}
	bars[n++] = (struct gp_bar){ .index = 5, .size = 32 * MIB, .mem64 = true, .prefetch = true };
	d->bars = bars;
	d->n_bars = n;
	d->bars_known = true;
}

Test(mmio, every_row_by_its_bars)
{
	for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
		struct gp_bar bars[16];
		struct gp_device d;
		uint64_t w;

		gpu_with(&d, bars, 0xffff, seed[i].gib * GIB);
		w = gp_op_dda_window(&d);
		cr_expect_geq(w, seed[i].gib * GIB, "%s: %llu GiB for a %u GiB row", seed[i].gpu,
			      (unsigned long long)(w / GIB), seed[i].gib);
		/* a power of two: the window is carved in naturally aligned pieces */
		cr_expect_eq(w & (w - 1), 0, "%s", seed[i].gpu);
	}
}

Test(mmio, every_row_with_an_id_by_the_table)
{
	for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++) {
		struct gp_bar bars[16];
		struct gp_device d;

		if (!seed[i].device)
			continue;
		/* BARs that say far less (a small BAR1 before the guest driver resizes it) */
		gpu_with(&d, bars, seed[i].device, 256 * MIB);
		cr_expect_geq(gp_op_dda_window(&d), seed[i].gib * GIB, "%s", seed[i].gpu);
		cr_expect_eq(gp_policy_mmio_table_lookup(&d, NULL), (int64_t)seed[i].gib * (int64_t)GIB,
			     "%s: survey.c's table disagrees with the seed", seed[i].gpu);
	}
}

Test(mmio, unknown_bars_no_table_no_window)
{
	struct gp_device d = { .vendor = 0x10de, .device = 0xffff };

	cr_expect_eq(gp_op_dda_window(&d), 0);
}

Test(mmio, guest_address_width)
{
	/* by hand: RAM ends at 4 GiB + RAM; the window sits above, aligned to its size */
	cr_expect_eq(gp_op_dda_phys_bits(16 * GIB, 512 * GIB), 40); /* 512G..1T */
	cr_expect_eq(gp_op_dda_phys_bits(600 * GIB, 512 * GIB), 41); /* 1T..1.5T */
	cr_expect_eq(gp_op_dda_phys_bits(128 * MIB, 1ULL << 40), 41); /* 1T..2T */
	cr_expect_eq(gp_op_dda_phys_bits(0, 64 * GIB), 37);             /* 64G..128G */
	cr_expect_eq(gp_op_dda_phys_bits(0, 0), 0);
}

Test(mmio, sizes)
{
	static const struct {
		const char *s;
		int r;
		uint64_t v;
	} t[] = {
		{ "64G", 0, 64 * GIB }, { "512GiB", 0, 512 * GIB }, { "1T", 0, 1ULL << 40 },
		{ "1TiB", 0, 1ULL << 40 }, { "4096", 0, 4096 }, { "4096M", 0, 4096 * MIB },
		{ "16K", 0, 16384 }, { "0", 0, 0 },
		{ "", -EINVAL, 0 }, { "64g", -EINVAL, 0 }, { "64GB", -EINVAL, 0 },
		{ "064G", -EINVAL, 0 }, { "-1G", -EINVAL, 0 }, { "+1G", -EINVAL, 0 },
		{ " 1G", -EINVAL, 0 }, { "1G ", -EINVAL, 0 }, { "1.5G", -EINVAL, 0 },
		{ "0x10", -EINVAL, 0 }, { "99999999999T", -ERANGE, 0 },
		{ "18446744073709551616", -ERANGE, 0 },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 12345;
		int r = gp_op_parse_size(t[i].s, &v);

		cr_expect_eq(r, t[i].r, "'%s': %d", t[i].s, r);
		if (!t[i].r)
			cr_expect_eq(v, t[i].v, "'%s'", t[i].s);
	}
}

Test(mmio, local_uris)
{
	static const struct {
		const char *uri;
		bool local;
	} t[] = {
		{ NULL, true },
		{ "qemu:///system", true },
		{ "qemu:///session", true },
		{ "qemu:///embed?root=/x", true },
		{ "test:///default", true },
		{ "qemu+unix:///session?socket=/run/x", true },
		{ "qemu+ssh://localhost/system", true },
		{ "qemu+ssh://root@127.0.0.1/system", true },
		{ "qemu+tcp://[::1]:16509/system", true },
		{ "qemu+ssh://root@host2/system", false },
		{ "qemu+tls://host2.example:16514/system", false },
		{ "qemu+tcp://[fe80::1]/system", false },
		{ "qemu+ssh://localhost.evil/system", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_expect_eq(gp_virt_uri_is_local(t[i].uri), t[i].local, "%s",
			     t[i].uri ? t[i].uri : "(default)");
}
