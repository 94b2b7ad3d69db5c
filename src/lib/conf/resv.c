/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Reservation records (gpupart/resv.h): ROOT/run/gpupart/reservations/DEVICE. Formatting and
 * parsing are pure; reading goes through hostfs; writing is the transaction's file step
 * (kinds/resv.c), never here. A record is read strictly (one line, as gpupart writes it):
 * it decides which tenant has a device, so a record that is not one is an error, not a guess.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <strings.h>

#include <gpupart/resv.h>

#include "base/internal.h"
#include "host/hostfs.h"
#include "shared/record.h"
#include "shared/str.h"

#define MAX_BYTES 8192 /* one line of at most GP_RECORD_LINE_MAX */

static const char *const keys[] = { "device", "uuid", "domain", "gpu", "partition", NULL };

void gp_resv_clear(struct gp_resv *r)
{
	free(r->domain);
	memset(r, 0, sizeof(*r));
}

void gp_resvs_free(struct gp_resv *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		gp_resv_clear(&v[i]);
	free(v);
}

/* 36 characters, 8-4-4-4-12 hex digits: a UUID as libvirt and the mdev bus print it. */
static bool is_uuid(const char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

bool gp_resv_device_ok(const char *s)
{
	struct gp_pci_addr a;
	char canon[GP_ADDR_LEN];
	size_t i;

	for (i = 0; s[i]; i++)
		if (isupper((unsigned char)s[i]))
			return false;
	if (is_uuid(s))
		return true;
	return gp_pci_addr_parse(s, &a) == 0 && !strcmp(gp_pci_addr_format(&a, canon), s);
}

/* The name with blanks, control characters, '%' and bytes above 0x7e as %XX. */
static char *encode_name(const char *s)
{
	char *out = malloc(strlen(s) * 3 + 1), *p = out;

	for (; out && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= 0x20 || c >= 0x7f || c == '%')
			p += sprintf(p, "%%%02X", c);
		else
			*p++ = (char)c;
	}
	if (p)
		*p = 0;
	return out;
}

static char *decode_name(const char *s)
{
	char *out = malloc(strlen(s) + 1), *p = out;
	unsigned v;

	for (; out && *s; s++) {
		if (*s != '%') {
			*p++ = *s;
			continue;
		}
		if (gp_parse_hexn(&(const char *){ s + 1 }, 2, &v) < 0 || v == 0) {
			free(out);
			return NULL;
		}
		*p++ = (char)v;
		s += 2;
	}
	if (p)
		*p = 0;
	return out;
}

char *gp_resv_format(const struct gp_resv *r)
{
	struct gp_record_out o;
	_cleanup_(freep) char *name = NULL;
	char *text = NULL;
	size_t len = 0;
	FILE *f;

	if (!gp_resv_device_ok(r->device) || !is_uuid(r->uuid) || !r->domain || !*r->domain ||
	    r->partition < 0 || !(name = encode_name(r->domain)))
		return NULL;
	gp_record_begin(&o, "reservation");
	gp_record_kv(&o, "device", r->device);
	gp_record_kv(&o, "uuid", r->uuid);
	gp_record_kv(&o, "domain", name);
	gp_record_kv(&o, "gpu", r->gpu);
	gp_record_kvf(&o, "partition", "%d", r->partition);
	f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	if (gp_record_end(&o, f) < 0) {
		fclose(f);
		free(text);
		return NULL;
	}
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* long: every field checked in the order the record holds them */
int gp_resv_parse(const char *name, const char *text, struct gp_resv *out, char *err,
		  size_t errlen)
{
	struct gp_record_reader rd;
	struct gp_record_in rec;
	struct gp_pci_addr a;
	const char *v;
	int r;

	memset(out, 0, sizeof(*out));
	gp_record_reader_init(&rd, text, strlen(text), GP_RECORD_NEWLINE);
	r = gp_record_next(&rd, &rec, err, errlen);
	if (r == 0)
		r = (snprintf(err, errlen, "empty"), -EINVAL);
	if (r > 0)
		r = gp_record_fields(&rec, err, errlen);
	if (r >= 0 && strcmp(rec.tag, "reservation"))
		r = gp_record_fail(&rec, err, errlen, "not a reservation record");
	if (r >= 0)
		r = gp_record_known(&rec, keys, err, errlen);
	if (r >= 0 && (gp_record_n_bare(&rec) || rec.n != 5))
		r = gp_record_fail(&rec, err, errlen, "wants device=, uuid=, domain=, gpu=, "
						      "partition=");
	v = r >= 0 ? gp_record_get(&rec, "device") : NULL;
	if (r >= 0 && (!gp_resv_device_ok(v) || strcmp(v, name)))
		r = gp_record_fail(&rec, err, errlen, "device=%s is not the file's name", v);
	if (r >= 0)
		snprintf(out->device, sizeof(out->device), "%s", v);
	v = r >= 0 ? gp_record_get(&rec, "uuid") : NULL;
	if (r >= 0 && !is_uuid(v))
		r = gp_record_fail(&rec, err, errlen, "uuid=%s is not a UUID", v);
	if (r >= 0) {
		size_t i;

		for (i = 0; i < 36; i++)
			out->uuid[i] = (char)tolower((unsigned char)v[i]);
	}
	v = r >= 0 ? gp_record_get(&rec, "domain") : NULL;
	if (r >= 0 && (!*v || !(out->domain = decode_name(v))))
		r = gp_record_fail(&rec, err, errlen, "domain=%s is not a name", v);
	v = r >= 0 ? gp_record_get(&rec, "gpu") : NULL;
	if (r >= 0 && (gp_pci_addr_parse(v, &a) < 0 || !gp_resv_device_ok(v)))
		r = gp_record_fail(&rec, err, errlen, "gpu=%s is not a PCI address", v);
	if (r >= 0)
		snprintf(out->gpu, sizeof(out->gpu), "%s", v);
	v = r >= 0 ? gp_record_get(&rec, "partition") : NULL;
	if (r >= 0 && gp_parse_dec_int(v, 65535, GP_DEC_CANONICAL, &out->partition) < 0)
		r = gp_record_fail(&rec, err, errlen, "partition=%s is not a number", v);
	if (r >= 0 && gp_record_next(&rd, &rec, err, errlen) != 0)
		r = (snprintf(err, errlen, "more than one line"), -EINVAL);
	gp_record_reader_free(&rd);
	if (r < 0)
		gp_resv_clear(out);
	return r < 0 ? r : 0;
}

const struct gp_resv *gp_resv_find(const struct gp_resv *v, size_t n, const char *device)
{
	size_t i;

	for (i = 0; device && i < n; i++)
		if (!strcasecmp(v[i].device, device))
			return &v[i];
	return NULL;
}

static int resv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct gp_resv *)a)->device, ((const struct gp_resv *)b)->device);
}

/* One file of the directory into *slot: -EINVAL (logged) when it is not a record. */
static int read_one(struct gp_ctx *ctx, const char *name, struct gp_resv *slot)
{
	_cleanup_(freep) char *text = NULL;
	char why[256], where[4096];
	ssize_t n = gp_hostfs_read_regular(ctx, GP_HP_RESERVATIONS, name, &text);
	int r = 0;

	/* listed, then removed before it could be read: a reader without the lock (list, the
	 * hook before it locks) racing a release. Gone is not held. */
	if (n == -ENOENT)
		return 1;
	if (n > MAX_BYTES)
		snprintf(why, sizeof(why), "larger than a record");
	else if (n == -EINVAL)
		snprintf(why, sizeof(why), "not a regular file");
	else if (n < 0)
		snprintf(why, sizeof(why), "%s", strerror((int)-n));
	if (n >= 0 && n <= MAX_BYTES && strlen(text) != (size_t)n)
		snprintf(why, sizeof(why), "a NUL byte");
	else if (n >= 0 && n <= MAX_BYTES)
		r = gp_resv_parse(name, text, slot, why, sizeof(why));
	if (n < 0 || n > MAX_BYTES || r < 0) {
		if (gp_hostfs_abspath(ctx, GP_HP_RESERVATIONS, NULL, where, sizeof(where)) < 0)
			snprintf(where, sizeof(where), "the reservation records");
		ERR(ctx, "%s/%s: not a reservation record: %s", where, name, why);
		return n < 0 && n != -EINVAL ? (int)n : -EINVAL;
	}
	return 0;
}

int gp_resv_read_all(struct gp_ctx *ctx, struct gp_resv **out, size_t *n)
{
	struct gp_resv *v = NULL, *slot;
	struct dirent *de;
	size_t nv = 0;
	DIR *dir;
	int r = 0;

	*out = NULL;
	*n = 0;
	dir = gp_hostfs_opendir(ctx, GP_HP_RESERVATIONS, NULL);
	if (!dir && errno == ENOENT)
		return 0;
	if (!dir) {
		r = -errno;
		ERR(ctx, "cannot read the reservation records: %s",
		    r == -EXDEV ? "a link out of the root" : strerror(-r));
		return r;
	}
	while (r >= 0) {
		errno = 0;
		de = readdir(dir);
		if (!de) {
			r = -errno;
			break;
		}
		if (de->d_name[0] == '.')
			continue; /* the file step's temporary files, and . and .. */
		slot = GP_PUSH(v, nv);
		r = slot ? read_one(ctx, de->d_name, slot) : -ENOMEM;
		if (r != 0 && slot)
			nv--;
		if (r > 0)
			r = 0;
	}
	closedir(dir);
	if (r < 0) {
		gp_resvs_free(v, nv);
		return r;
	}
	if (nv > 1)
		qsort(v, nv, sizeof(*v), resv_cmp);
	*out = v;
	*n = nv;
	return 0;
}
