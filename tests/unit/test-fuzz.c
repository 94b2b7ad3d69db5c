/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hostile text for every parser that reads what sysfs hands us (reliability invariant 24):
 * seeded mutations of real inputs, truncations and random bytes. The parsers must neither
 * crash nor read out of bounds (run under -Db_sanitize=address,undefined to see the latter)
 * and must keep their contracts on the results.
 */
#include <criterion/criterion.h>
#include <string.h>

#include <gpupart/model.h>

static unsigned long long rng = 0x9e3779b97f4a7c15ULL;

static unsigned next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (unsigned)rng;
}

static const char *const seeds[] = {
	"ID    : vGPU Name\n941   : NVIDIA RTX6000-Ada-1Q\n942   : NVIDIA RTX6000-Ada-2Q\n",
	"num_heads=4, frl_config=45, framebuffer=1024M, max_resolution=5120x2880, max_instance=32",
	"NVIDIA H100-1-10CME",
	"0000:e8:1f.7",
	"1414 NVIDIA H200X-1-18C\n",
	"max_instance=99999999999999999999, framebuffer=-1M",
};

/* A mutated copy of a seed, NUL-terminated, at most 511 bytes. */
static void mutate(char *out)
{
	const char *s = seeds[next() % (sizeof(seeds) / sizeof(seeds[0]))];
	size_t len = strlen(s), i, n;

	memcpy(out, s, len + 1);
	n = next() % 8;
	for (i = 0; i < n && len; i++) {
		switch (next() % 4) {
		case 0: /* flip a byte */
			out[next() % len] = (char)(next() % 256 ? next() % 256 : 1);
			break;
		case 1: /* truncate */
			len = next() % len;
			out[len] = 0;
			break;
		case 2: /* duplicate a chunk */
			if (len < 250) {
				size_t at = next() % len;
				memmove(out + len, out + at, len - at);
				len += len - at;
				out[len] = 0;
			}
			break;
		default: /* separators the parsers split on */
			out[next() % len] = "\n:=, -"[next() % 6];
		}
	}
	out[strlen(out)] = 0;
}

Test(fuzz, parsers_survive_hostile_text)
{
	char buf[1024];
	int i;

	for (i = 0; i < 50000; i++) {
		struct gp_vgpu_type *t;
		struct gp_pci_addr a;
		int64_t fb;
		int max, n, k;
		char series;
		bool mig;

		mutate(buf);
		n = gp_parse_creatable_types(buf, &t);
		cr_assert_geq(n, 0);
		for (k = 0; k < n; k++) {
			cr_assert_gt(t[k].type_id, 0);
			cr_assert_not_null(t[k].name);
			cr_assert_not_null(t[k].key);
		}
		gp_vgpu_types_free(t, (size_t)n);
		if (gp_parse_mdev_description(buf, &fb, &max) == 0)
			cr_assert(fb >= 0 || max >= 0, "found means a value: '%s'", buf);
		cr_assert(max == -1 || max > 0, "max_instance %d from '%s'", max, buf);
		if (gp_vgpu_type_parse_name(buf, &series, &mig, &fb) == 0)
			cr_assert(strchr("QCBA", series) && fb > 0, "'%s'", buf);
		if (gp_pci_addr_parse(buf, &a) == 0) {
			char canon[GP_ADDR_LEN];
			cr_assert(strlen(buf) == 12 || strlen(buf) == 7, "'%s'", buf);
			gp_pci_addr_format(&a, canon);
			cr_assert_eq(strlen(canon), 12);
		}
	}
}
