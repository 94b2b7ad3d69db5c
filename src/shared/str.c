/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>

#include "shared/str.h"

char *gp_strdup_trim(const char *s)
{
	size_t len;
	char *r;

	while (*s == ' ' || *s == '\t' || *s == '\n')
		s++;
	len = strlen(s);
	while (len && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	r = malloc(len + 1);
	if (!r)
		return NULL;
	memcpy(r, s, len);
	r[len] = 0;
	return r;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int gp_parse_hexn(const char **s, size_t n, unsigned *out)
{
	unsigned v = 0;
	size_t i;
	int d;

	for (i = 0; i < n; i++) {
		d = hex_digit((unsigned char)(*s)[i]);
		if (d < 0)
			return -EINVAL;
		v = v * 16 + (unsigned)d;
	}
	*s += n;
	*out = v;
	return 0;
}

int gp_parse_dec(const char *s, unsigned long long max, unsigned flags, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!s || !*s || ((flags & GP_DEC_CANONICAL) && s[0] == '0' && s[1]))
		return -EINVAL;
	for (p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (d > max || v > (max - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

int gp_parse_dec_int(const char *s, int max, unsigned flags, int *out)
{
	unsigned long long v;
	int r;

	if (max < 0)
		return -EINVAL;
	r = gp_parse_dec(s, (unsigned long long)max, flags, &v);
	if (r < 0)
		return r;
	*out = (int)v;
	return 0;
}

bool gp_str_is_name(const char *s)
{
	size_t n;

	for (n = 0; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("_-.", s[n]))
			return false;
	return n > 0 && n < 64 && strcmp(s, ".") && strcmp(s, "..");
}

int gp_cpulist_parse(const char *s, unsigned char *cpus, size_t n)
{
	const char *p = s;
	size_t i;
	int set = 0;

	while (p && *p && *p != '\n') {
		bool excl = *p == '^';
		unsigned long a, b;
		char *end;

		if (excl)
			p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		a = b = strtoul(p, &end, 10);
		if (*end == '-' && !excl) {
			if (!isdigit((unsigned char)end[1]))
				return -EINVAL;
			b = strtoul(end + 1, &end, 10);
		}
		if (a > b || b >= n || (*end && *end != ',' && *end != '\n'))
			return -EINVAL;
		for (i = a; i <= b; i++)
			cpus[i] = !excl;
		p = *end == ',' ? end + 1 : end;
	}
	for (i = 0; i < n; i++)
		set += cpus[i] != 0;
	return set;
}
