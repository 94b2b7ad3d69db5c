/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The journal's records (txn.h) over the one line-record reader and writer,
 * shared/record.h, under its strict rules (no GP_RECORD_* flag: every line a record, fields
 * separated by exactly one space, no control character, no key given twice), and over
 * shared/str.h's canonical decimals. What is left here is the kinds' view of a record: its
 * tokens as written ("key=value" whole), which their decoders match one by one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/record.h"
#include "shared/str.h"
#include "txn/txn.h"

/* @line (one line, no '\n') read as shared/record.h reads a record; its split into @in. The
 * reader's line limit is lifted: the journal never had one, and this is no place to add it. */
static int read_one(const char *line, int lineno, struct gp_record_reader *rd,
		    struct gp_record_in *in, char *why, size_t why_len)
{
	int r;

	gp_record_reader_init(rd, line, strlen(line), 0);
	rd->line_max = SIZE_MAX;
	rd->line = lineno > 0 ? lineno - 1 : 0; /* reasons name the journal's line */
	r = gp_record_next(rd, in, why, why_len);
	if (r > 0 && (r = gp_record_fields(in, why, why_len)) == 0)
		r = 1;
	return r; /* 1: a record, 0: an empty line, <0 */
}

int gp_rec_printf(struct gp_rec_out *out, const char *fmt, ...)
{
	struct gp_record_reader rd;
	struct gp_record_in in;
	char *line = NULL;
	va_list ap;
	int n, r;

	if (out->err)
		return out->err;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return out->err = -ENOMEM;
	/* one record, one line, and only one that reads back as written: a newline would start
	 * a record of its own, a blank or control character in a value would split or refuse
	 * it when `repair` reads the journal */
	if (strchr(line, '\n')) {
		r = -EINVAL;
	} else {
		r = read_one(line, 0, &rd, &in, NULL, 0);
		gp_record_reader_free(&rd);
	}
	if (r <= 0) {
		free(line);
		return out->err = r == -ENOMEM ? -ENOMEM : -EINVAL;
	}
	fputs(line, out->f);
	fputc('\n', out->f);
	free(line);
	return 0;
}

int gp_rec_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	return gp_parse_dec(s, max, GP_DEC_CANONICAL, out) < 0 ? -EINVAL : 0;
}

int gp_rec_int(const char *s, int max, int *out)
{
	return gp_parse_dec_int(s, max, GP_DEC_CANONICAL, out) < 0 ? -EINVAL : 0;
}

int gp_rec_kv(const char *tok, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(tok, key, n) != 0 || tok[n] != '=' || !tok[n + 1])
		return -EINVAL;
	*val = strcmp(tok + n + 1, "-") == 0 ? NULL : tok + n + 1;
	return 0;
}

int gp_rec_split(char *line, struct gp_rec *rec, char *why, size_t why_len)
{
	struct gp_record_reader rd;
	struct gp_record_in in;
	char *t;
	int r;

	rec->n = 0;
	r = read_one(line, rec->lineno, &rd, &in, why, why_len);
	gp_record_reader_free(&rd);
	if (r <= 0)
		return r; /* 0: an empty line, no tokens */
	if (in.n + 1 > GP_REC_MAX_TOK)
		return -E2BIG;
	/* the reader found exactly one space between fields: the tokens are what lies between */
	for (t = line;; *t++ = 0) {
		rec->tok[rec->n++] = t;
		t = strchr(t, ' ');
		if (!t)
			break;
	}
	return 0;
}

#define HEX_PER_RECORD 1024

int gp_rec_put_hex(struct gp_rec_out *out, const char *text, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	char hex[HEX_PER_RECORD + 1];
	size_t i, k = 0;

	for (i = 0; i < len; i++) {
		hex[k++] = digits[(unsigned char)text[i] >> 4];
		hex[k++] = digits[(unsigned char)text[i] & 0xf];
		if (k == HEX_PER_RECORD || i + 1 == len) {
			hex[k] = 0;
			gp_rec_printf(out, "data %s", hex);
			k = 0;
		}
	}
	return out->err;
}

static int unhex(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

const char *gp_rec_add_hex(char **text, size_t *len, size_t max, const char *hex)
{
	size_t n = strlen(hex), i;
	char *t;

	if (!n || n % 2 || n > HEX_PER_RECORD)
		return "a data record that is not hex";
	if (*len + n / 2 > max)
		return "a file record over its size";
	t = realloc(*text, *len + n / 2 + 1);
	if (!t)
		return "out of memory";
	*text = t;
	for (i = 0; i < n; i += 2) {
		int hi = unhex(hex[i]), lo = unhex(hex[i + 1]);

		if (hi < 0 || lo < 0)
			return "a data record that is not hex";
		t[(*len)++] = (char)(hi << 4 | lo);
	}
	t[*len] = 0;
	return NULL;
}

const char *gp_rec_file_decode(const struct gp_rec *recs, size_t n, bool absent, size_t max,
			       char **text, size_t *len, size_t *bad)
{
	const char *why = NULL;
	size_t i;

	*len = 0;
	*bad = 0;
	if (!absent && !(*text = strdup("")))
		return "out of memory";
	for (i = 1; !why && i < n; i++) {
		*bad = i;
		if (absent || strcmp(recs[i].tok[0], "data") || recs[i].n != 2)
			why = "an unknown record";
		else
			why = gp_rec_add_hex(text, len, max, recs[i].tok[1]);
	}
	return why;
}

bool gp_rec_file_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	if (!a || !b)
		return !a && !b;
	return alen == blen && memcmp(a, b, alen) == 0;
}

int gp_kind_check_nothing(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c,
			  char *why, size_t why_len)
{
	(void)ctx;
	(void)txn;
	(void)c;
	(void)why;
	(void)why_len;
	return 0;
}
