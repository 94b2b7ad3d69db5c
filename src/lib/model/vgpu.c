/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vGPU type text: mdev `description` lines, NVIDIA type names and the vendor-VFIO
 * `creatable_vgpu_types` table. Pure parsers, lenient the way NVIDIA's own tools are
 * (key=value in any order, optional "M" suffix, "ID : Name" or "ID Name").
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>

#include <gpupart/model.h>

#include "base/internal.h"

#define MIB (1024LL * 1024)
#define GIB (1024LL * MIB)

int gp_parse_mdev_description(const char *desc, int64_t *fb_bytes, int *max_instance)
{
	const char *p = desc;
	int found = 0;

	*fb_bytes = GP_UNKNOWN;
	*max_instance = GP_UNKNOWN;
	if (!desc)
		return -EINVAL;
	while (*p) {
		const char *key = p, *eq, *end;
		size_t klen;
		char *num_end;
		long long v;

		while (*key == ' ' || *key == ',' || *key == '\n')
			key++;
		if (!*key)
			break;
		end = key + strcspn(key, ",\n");
		eq = memchr(key, '=', (size_t)(end - key));
		p = end;
		if (!eq)
			continue;
		klen = (size_t)(eq - key);
		errno = 0;
		v = strtoll(eq + 1, &num_end, 10);
		if (errno || num_end == eq + 1 || v < 0)
			continue;
		if (klen == 11 && strncmp(key, "framebuffer", 11) == 0) {
			/* the driver prints MiB with an "M" suffix; older builds omit it */
			/* no framebuffer is a pebibyte; keeps the multiplication in range */
			if (v > (*num_end == 'G' ? (1LL << 20) : (1LL << 30)))
				continue;
			if (*num_end == 'G')
				*fb_bytes = v * GIB;
			else
				*fb_bytes = v * MIB;
			found++;
		} else if (klen == 12 && strncmp(key, "max_instance", 12) == 0) {
			/* a count that does not fit is garbage, not a huge GPU */
			if (v > 0 && v <= 0x7fffffff) {
				*max_instance = (int)v;
				found++;
			}
		}
	}
	return found ? 0 : -ENOENT;
}

/*
 * NVIDIA type names, every form the drivers print (tests/unit/test-names.c has one of each):
 *   time-sliced  "[vendor prefix] GPU-<GB><S>"            NVIDIA A40-8Q, GRID T4-2B, DC-48C
 *   MIG-backed   "[vendor prefix] GPU-<G>-<GB><S>"        NVIDIA H100-1-10C, DC-1-24Q
 * where S is the series letter and G the GPU instance's slice count (NVIDIA vgpu-device-manager
 * pkg/types/vgpu_type.go: migBackedRegex; Blackwell's RTX Pro boards call their GPU "DC", NVIDIA
 * AI Enterprise vGPU types reference, Blackwell: DC-2-32C is "MIG 2g.32gb", DC-32C time-sliced).
 * After the series letter may come one attribute suffix, stripped before reading: the MIG
 * profile attributes ME (media extensions, "1g.10gb+me"), NOME, MEALL and GFX
 * (vgpu-device-manager pkg/vgpu/vfio/vfio.go: "a MIG attribute suffix (ME, NOME, MEALL, GFX)";
 * its StripAttributeSuffix tests strip the longest: MEALL before ME), or the 4 of a four-head
 * B-series type (GRID T4-2B4, NVIDIA vGPU user guide, T4 and M60 vPC types). A type is
 * MIG-backed by its slice count alone: a suffix says which engines, not whether MIG backs it.
 * We keep the last whitespace-separated token (as NVIDIA's go-nvlib does) and read it from the
 * right. "0" GB means 512 MiB (M60-0Q).
 */
static const char *strip_attribute(const char *tok, const char *end)
{
	static const char *const suffix[] = { "MEALL", "NOME", "GFX", "ME" };
	size_t i, n;

	for (i = 0; i < ARRAY_SIZE(suffix); i++) {
		n = strlen(suffix[i]);
		if ((size_t)(end - tok) > n + 1 && memcmp(end - n, suffix[i], n) == 0 &&
		    strchr("QCBA", end[-n - 1]))
			return end - n;
	}
	/* four heads: "2B4", the B right after its size */
	if (end - tok > 3 && end[-1] == '4' && end[-2] == 'B' && isdigit((unsigned char)end[-3]))
		return end - 1;
	return end;
}

int gp_vgpu_type_parse_name(const char *name, char *series, bool *mig, int64_t *fb_bytes)
{
	const char *tok, *p, *dash, *end;
	long gb;
	char s;

	*series = 0;
	*mig = false;
	*fb_bytes = GP_UNKNOWN;
	if (!name)
		return -EINVAL;
	tok = strrchr(name, ' ');
	tok = tok ? tok + 1 : name;
	end = tok + strlen(tok);
	while (end > tok && isspace((unsigned char)end[-1]))
		end--;
	end = strip_attribute(tok, end);
	if (end <= tok)
		return -EINVAL;
	s = end[-1];
	if (s != 'Q' && s != 'C' && s != 'B' && s != 'A')
		return -EINVAL;
	p = end - 1;
	while (p > tok && isdigit((unsigned char)p[-1]))
		p--;
	if (p == end - 1 || p == tok || p[-1] != '-')
		return -EINVAL;
	errno = 0;
	gb = strtol(p, NULL, 10);
	if (errno || gb > (1L << 20)) /* a pebibyte GPU is garbage, and would overflow */
		return -EINVAL;
	/* a second "-<digits>" before it means a MIG slice count: GPU-<G>-<GB><S> */
	dash = p - 1;
	if (dash > tok) {
		const char *q = dash;
		while (q > tok && isdigit((unsigned char)q[-1]))
			q--;
		if (q < dash && q > tok && q[-1] == '-')
			*mig = true;
	}
	*series = s;
	*fb_bytes = gb == 0 ? 512 * MIB : gb * GIB;
	return 0;
}

void gp_vgpu_types_free(struct gp_vgpu_type *types, size_t n)
{
	size_t i;

	for (i = 0; types && i < n; i++) {
		free(types[i].key);
		free(types[i].name);
	}
	free(types);
}

const struct gp_vgpu_type *gp_vgpu_types_find(const struct gp_vgpu_type *t, size_t n, int id)
{
	size_t i;

	for (i = 0; id > 0 && i < n; i++)
		if (t[i].type_id == id)
			return &t[i];
	return NULL;
}

int gp_parse_creatable_types(const char *text, struct gp_vgpu_type **out)
{
	struct gp_vgpu_type *v = NULL, *t;
	size_t n = 0;
	const char *line = text;

	*out = NULL;
	if (!text)
		return -EINVAL;
	while (*line) {
		const char *eol = strchr(line, '\n'), *p;
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char buf[256], *num_end;
		long id;

		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = 0;
		line = eol ? eol + 1 : line + strlen(line);

		p = buf;
		while (*p == ' ' || *p == '\t')
			p++;
		errno = 0;
		id = strtol(p, &num_end, 10);
		/* the "ID    : vGPU Name" header and blank lines have no number */
		if (num_end == p || errno || id <= 0 || id > 0x7fffffff)
			continue;
		p = num_end;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == ':')
			p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p)
			continue;
		t = GP_PUSH(v, n);
		if (!t)
			goto oom;
		t->type_id = (int)id;
		t->max_instances = GP_UNKNOWN;
		t->available = GP_UNKNOWN;
		if (asprintf(&t->key, "%ld", id) < 0) {
			t->key = NULL;
			goto oom;
		}
		t->name = gp_strdup_trim(p);
		if (!t->name)
			goto oom;
		gp_vgpu_type_parse_name(t->name, &t->series, &t->mig, &t->fb_bytes);
	}
	*out = v;
	return (int)n;
oom:
	gp_vgpu_types_free(v, n);
	return -ENOMEM;
}
