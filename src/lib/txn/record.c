/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Line records: "tag field key=value ...", one per line, tokens separated by spaces. The
 * journal's framing and every kind's records are read with these, so "exactly the form we
 * print" is one set of rules. Small and self-contained on purpose (no PCI, no host).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "txn/txn.h"

int gp_rec_printf(struct gp_rec_out *out, const char *fmt, ...)
{
	char *line = NULL;
	va_list ap;
	int n;

	if (out->err)
		return out->err;
	va_start(ap, fmt);
	n = vasprintf(&line, fmt, ap);
	va_end(ap);
	if (n < 0)
		return out->err = -ENOMEM;
	/* one record, one line: a value that would start a record of its own is refused */
	if (strchr(line, '\n')) {
		free(line);
		return out->err = -EINVAL;
	}
	fputs(line, out->f);
	fputc('\n', out->f);
	free(line);
	return 0;
}

int gp_rec_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int gp_rec_int(const char *s, int max, int *out)
{
	unsigned long long v;

	if (max < 0 || gp_rec_uint(s, (unsigned long long)max, &v) < 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

int gp_rec_kv(const char *tok, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(tok, key, n) != 0 || tok[n] != '=' || !tok[n + 1])
		return -EINVAL;
	*val = strcmp(tok + n + 1, "-") == 0 ? NULL : tok + n + 1;
	return 0;
}

int gp_rec_split(char *line, struct gp_rec *rec)
{
	char *save = NULL, *t;

	rec->n = 0;
	for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (rec->n == GP_REC_MAX_TOK)
			return -E2BIG;
		rec->tok[rec->n++] = t;
	}
	return 0;
}
