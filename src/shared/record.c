/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Line records (record.h): the reader, the field splitter and the writer. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "shared/record.h"

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static int vfail(int line, char *why, size_t why_len, const char *fmt, va_list ap)
{
	int o;

	if (!why || !why_len)
		return -EINVAL;
	o = snprintf(why, why_len, "line %d: ", line);
	if (o > 0 && (size_t)o < why_len)
		vsnprintf(why + o, why_len - (size_t)o, fmt, ap);
	return -EINVAL;
}

static int fail_at(int line, char *why, size_t why_len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail_at(int line, char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(line, why, why_len, fmt, ap);
	va_end(ap);
	return r;
}

int gp_record_fail(const struct gp_record_in *rec, char *why, size_t why_len, const char *fmt,
		   ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vfail(rec->line, why, why_len, fmt, ap);
	va_end(ap);
	return r;
}

void gp_record_reader_init(struct gp_record_reader *rd, const char *text, size_t len,
			   unsigned flags)
{
	memset(rd, 0, sizeof(*rd));
	rd->text = text ? text : "";
	rd->len = text ? len : 0;
	rd->flags = flags;
	rd->line_max = GP_RECORD_LINE_MAX;
}

void gp_record_reader_free(struct gp_record_reader *rd)
{
	free(rd->buf);
	rd->buf = NULL;
	rd->buf_len = 0;
}

/* Room for three copies of the line, NUL-terminated each: raw, tag + rest, split fields. */
static int reserve(struct gp_record_reader *rd, size_t len)
{
	char *b;

	if (rd->buf_len >= 3 * (len + 1))
		return 0;
	b = realloc(rd->buf, 3 * (len + 1));
	if (!b)
		return -ENOMEM;
	rd->buf = b;
	rd->buf_len = 3 * (len + 1);
	return 0;
}

/* A line to skip under GP_RECORD_COMMENTS: blank, or a comment. */
static bool skipped(const char *s)
{
	while (is_blank(*s))
		s++;
	return !*s || *s == '#';
}

int gp_record_next(struct gp_record_reader *rd, struct gp_record_in *rec, char *why,
		   size_t why_len)
{
	bool blanks = rd->flags & GP_RECORD_BLANKS;

	for (;;) {
		const char *p = rd->text + rd->off, *nl;
		size_t left = rd->len - rd->off, len;
		char *line, *s, *e;

		memset(rec, 0, sizeof(*rec));
		if (!left)
			return 0;
		rd->line++;
		nl = memchr(p, '\n', left);
		len = nl ? (size_t)(nl - p) : left;
		if (memchr(p, 0, len))
			return fail_at(rd->line, why, why_len, "a NUL byte");
		if (len > rd->line_max)
			return fail_at(rd->line, why, why_len, "longer than %zu bytes",
				       rd->line_max);
		if (!nl && (rd->flags & GP_RECORD_NEWLINE))
			return fail_at(rd->line, why, why_len, "cut short (no newline at its end)");
		rd->off += len + (nl ? 1 : 0);
		if (reserve(rd, len) < 0)
			return -ENOMEM;
		line = rd->buf;
		memcpy(line, p, len);
		line[len] = 0;
		if ((rd->flags & GP_RECORD_COMMENTS) && skipped(line))
			continue;
		rec->line = rd->line;
		rec->flags = rd->flags;
		rec->raw = rd->buf + len + 1;
		memcpy(rd->buf + len + 1, line, len + 1);
		rec->split_ = rd->buf + 2 * (len + 1);
		s = line;
		if (blanks) {
			while (is_blank(*s))
				s++;
			for (e = s + strlen(s); e > s && is_blank(e[-1]);)
				*--e = 0;
		}
		/* the tag ends at the first separator; rest starts after it */
		for (e = s; *e && !(blanks ? is_blank(*e) : *e == ' '); e++)
			;
		rec->tag = s;
		if (*e) {
			*e++ = 0;
			rec->sep_ = true;
			if (blanks)
				while (is_blank(*e))
					e++;
		}
		rec->rest = e;
		return 1;
	}
}

int gp_record_fields(struct gp_record_in *rec, char *why, size_t why_len)
{
	bool blanks = rec->flags & GP_RECORD_BLANKS;
	char *s = rec->split_, *e;
	size_t i;

	rec->n = 0;
	if (!s)
		return -EINVAL; /* not a record from gp_record_next */
	if (!*rec->tag)
		return gp_record_fail(rec, why, why_len, rec->sep_ ? "a line that starts with a space" :
									"an empty line");
	for (e = (char *)rec->tag; *e; e++)
		if (is_ctl((unsigned char)*e))
			return gp_record_fail(rec, why, why_len, "a control character in a field");
	if (!blanks && rec->sep_ && !*rec->rest)
		return gp_record_fail(rec, why, why_len, "a space at the end");
	strcpy(s, rec->rest);
	while (*s) {
		struct gp_record_field *f;
		char *eq;

		if (blanks)
			while (is_blank(*s))
				s++;
		if (!*s)
			break;
		if ((rec->flags & GP_RECORD_COMMENTS) && *s == '#')
			break;
		for (e = s; *e && !(blanks ? is_blank(*e) : *e == ' '); e++)
			if (is_ctl((unsigned char)*e) && !(blanks && is_blank(*e)))
				return gp_record_fail(rec, why, why_len,
						      "a control character in a field");
		if (e == s)
			return gp_record_fail(rec, why, why_len, "an empty field (two spaces)");
		if (rec->n == GP_RECORD_MAX_FIELDS)
			return gp_record_fail(rec, why, why_len, "more than %d fields",
					      GP_RECORD_MAX_FIELDS);
		f = &rec->f[rec->n++];
		if (*e) {
			*e++ = 0;
			if (!blanks && !*e)
				return gp_record_fail(rec, why, why_len, "a space at the end");
		}
		eq = strchr(s, '=');
		if (eq) {
			*eq = 0;
			f->key = s;
			f->val = eq + 1;
			for (i = 0; i + 1 < rec->n; i++)
				if (rec->f[i].key && strcmp(rec->f[i].key, s) == 0)
					return gp_record_fail(rec, why, why_len,
							      "duplicate key '%s'", s);
		} else {
			f->val = s;
		}
		s = e;
	}
	return 0;
}

int gp_record_known(const struct gp_record_in *rec, const char *const *known, char *why,
		    size_t why_len)
{
	size_t i, k;

	for (i = 0; i < rec->n; i++) {
		if (!rec->f[i].key)
			continue;
		for (k = 0; known[k]; k++)
			if (strcmp(known[k], rec->f[i].key) == 0)
				break;
		if (!known[k])
			return gp_record_fail(rec, why, why_len, "unknown key '%s'",
					      rec->f[i].key);
	}
	return 0;
}

const char *gp_record_get(const struct gp_record_in *rec, const char *key)
{
	size_t i;

	for (i = 0; i < rec->n; i++)
		if (rec->f[i].key && strcmp(rec->f[i].key, key) == 0)
			return rec->f[i].val;
	return NULL;
}

size_t gp_record_n_bare(const struct gp_record_in *rec)
{
	size_t i, n = 0;

	for (i = 0; i < rec->n; i++)
		n += !rec->f[i].key;
	return n;
}

/* ---- writing ---- */

/* A field (or key) that reads back as itself: not empty, no blank, no control byte. */
static bool field_ok(const char *s, bool bare)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (is_ctl((unsigned char)*s) || *s == ' ' || (bare && *s == '='))
			return false;
	return true;
}

static void put(struct gp_record_out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->err)
		return;
	if (o->len + n > GP_RECORD_LINE_MAX) {
		o->err = -E2BIG;
		return;
	}
	memcpy(o->line + o->len, s, n);
	o->len += n;
	o->line[o->len] = 0;
}

void gp_record_begin(struct gp_record_out *o, const char *tag)
{
	o->len = 0;
	o->line[0] = 0;
	o->err = 0;
	if (!field_ok(tag, true))
		o->err = -EINVAL;
	put(o, tag ? tag : "");
}

void gp_record_add(struct gp_record_out *o, const char *val)
{
	if (!o->err && !field_ok(val, true))
		o->err = -EINVAL;
	put(o, " ");
	put(o, val ? val : "");
}

void gp_record_kv(struct gp_record_out *o, const char *key, const char *val)
{
	if (!val)
		val = "-";
	/* the value may hold '=' (split at the first one) but not a blank; an empty value
	 * reads back as "" */
	if (!o->err && (!field_ok(key, true) || (*val && !field_ok(val, false))))
		o->err = -EINVAL;
	put(o, " ");
	put(o, key ? key : "");
	put(o, "=");
	put(o, val);
}

/* Formats into @buf, or marks @o too long (-E2BIG): false then. */
static bool format(struct gp_record_out *o, char *buf, size_t len, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static bool format(struct gp_record_out *o, char *buf, size_t len, const char *fmt, va_list ap)
{
	int n = vsnprintf(buf, len, fmt, ap);

	if (n >= 0 && (size_t)n < len)
		return true;
	if (!o->err)
		o->err = -E2BIG;
	return false;
}

void gp_record_addf(struct gp_record_out *o, const char *fmt, ...)
{
	char buf[GP_RECORD_LINE_MAX + 1];
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	ok = format(o, buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ok)
		gp_record_add(o, buf);
}

void gp_record_kvf(struct gp_record_out *o, const char *key, const char *fmt, ...)
{
	char buf[GP_RECORD_LINE_MAX + 1];
	va_list ap;
	bool ok;

	va_start(ap, fmt);
	ok = format(o, buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (ok)
		gp_record_kv(o, key, buf);
}

int gp_record_end(struct gp_record_out *o, FILE *f)
{
	if (o->err)
		return o->err;
	if (fwrite(o->line, 1, o->len, f) != o->len || fputc('\n', f) == EOF)
		return -EIO;
	return 0;
}
