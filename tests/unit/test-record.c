/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * src/shared: the line-record reader and writer (record.h), the strict number parser and the
 * array push. Expected values are worked out by hand from record.h's rules.
 */
#include <stdarg.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "shared/array.h"
#include "shared/record.h"
#include "shared/str.h"

#define STRICT 0
#define PEOPLE (GP_RECORD_COMMENTS | GP_RECORD_BLANKS)

/* Appends to the dump, cut at its end: the records may be longer than the dump (a line of
 * GP_RECORD_LINE_MAX bytes), and an unclamped offset would write past it. */
static void dump_add(char *dump, size_t dump_len, size_t *used, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void dump_add(char *dump, size_t dump_len, size_t *used, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*used >= dump_len - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(dump + *used, dump_len - *used, fmt, ap);
	va_end(ap);
	if (n > 0)
		*used = *used + (size_t)n < dump_len ? *used + (size_t)n : dump_len - 1;
}

/* Reads every record of text, splitting each; the first error's message or "" and the
 * records as "tag|k=v|bare|..." lines. */
static int read_all(const char *text, size_t len, unsigned flags, const char *const *known,
		    char *why, size_t why_len, char *dump, size_t dump_len)
{
	struct gp_record_reader rd;
	struct gp_record_in rec;
	size_t used = 0, i;
	int r;

	*why = 0;
	*dump = 0;
	gp_record_reader_init(&rd, text, len, flags);
	while ((r = gp_record_next(&rd, &rec, why, why_len)) > 0) {
		r = gp_record_fields(&rec, why, why_len);
		if (r == 0 && known)
			r = gp_record_known(&rec, known, why, why_len);
		if (r < 0)
			break;
		dump_add(dump, dump_len, &used, "%d:%s", rec.line, rec.tag);
		for (i = 0; i < rec.n; i++)
			dump_add(dump, dump_len, &used, "|%s%s%s", rec.f[i].key ? rec.f[i].key : "",
				 rec.f[i].key ? "=" : "", rec.f[i].val);
		dump_add(dump, dump_len, &used, "\n");
	}
	gp_record_reader_free(&rd);
	return r;
}

struct read_case {
	char text[160];
	unsigned flags;
	int known;      /* check keys against a, b, c */
	int ret;        /* 0 or -EINVAL */
	char want[160]; /* the dump, or the error */
};

ParameterizedTestParameters(record, read)
{
	static struct read_case cases[] = {
		/* the journal's rule: one space, every line a record */
		{ "gpu 0000:01:00.0 a=1 b=x=y\nend\n", STRICT, 0, 0,
		  "1:gpu|0000:01:00.0|a=1|b=x=y\n2:end\n" },
		{ "t a=\n", STRICT, 0, 0, "1:t|a=\n" },
		{ "t a=1 a=2\n", STRICT, 0, -EINVAL, "line 1: duplicate key 'a'" },
		{ "t\nu  x\n", STRICT, 0, -EINVAL, "line 2: an empty field (two spaces)" },
		{ "t x \n", STRICT, 0, -EINVAL, "line 1: a space at the end" },
		{ "t \n", STRICT, 0, -EINVAL, "line 1: a space at the end" },
		{ " t\n", STRICT, 0, -EINVAL, "line 1: a line that starts with a space" },
		{ "t\n\nu\n", STRICT, 0, -EINVAL, "line 2: an empty line" },
		{ "t x\ty\n", STRICT, 0, -EINVAL, "line 1: a control character in a field" },
		{ "t\x01 x\n", STRICT, 0, -EINVAL, "line 1: a control character in a field" },
		{ "# a comment is a record here\n", STRICT, 0, 0,
		  "1:#|a|comment|is|a|record|here\n" },
		{ "t a=1 z=2\n", STRICT, 1, -EINVAL, "line 1: unknown key 'z'" },
		{ "t a=1 b=2 bare\n", STRICT, 1, 0, "1:t|a=1|b=2|bare\n" },
		{ "t\nu", STRICT | GP_RECORD_NEWLINE, 0, -EINVAL,
		  "line 2: cut short (no newline at its end)" },
		{ "t\nu", STRICT, 0, 0, "1:t\n2:u\n" },
		/* files people edit: blanks, comments */
		{ "# head\n\n  \t\npci0 a=1\tb=2   # the rest\n", PEOPLE, 0, 0, "4:pci0|a=1|b=2\n" },
		{ "  pci0   x  \r\n", PEOPLE, 0, 0, "1:pci0|x\n" },
		{ "p a=1\np a=2 a=3\n", PEOPLE, 0, -EINVAL, "line 2: duplicate key 'a'" },
		{ "p =1\n", PEOPLE, 1, -EINVAL, "line 1: unknown key ''" },
	};
	return cr_make_param_array(struct read_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct read_case *c, record, read)
{
	static const char *const known[] = { "a", "b", "c", NULL };
	char why[128], dump[512];
	int r = read_all(c->text, strlen(c->text), c->flags, c->known ? known : NULL, why,
			 sizeof(why), dump, sizeof(dump));

	cr_expect_eq(r, c->ret, "%s: returned %d", c->text, r);
	cr_expect_str_eq(r < 0 ? why : dump, c->want, "%s", c->text);
}

Test(record, nul_byte)
{
	static const char text[] = "t a=1\nu\0v\n";
	char why[128], dump[128];

	cr_expect_eq(read_all(text, sizeof(text) - 1, STRICT, NULL, why, sizeof(why), dump,
			      sizeof(dump)),
		     -EINVAL);
	cr_expect_str_eq(why, "line 2: a NUL byte");
}

Test(record, overlong_line)
{
	size_t n = GP_RECORD_LINE_MAX + 1;
	char *text = malloc(n + 8), why[128], dump[128];

	cr_assert_not_null(text);
	memset(text, 'x', n);
	strcpy(text + n, "\n");
	cr_expect_eq(read_all(text, strlen(text), STRICT, NULL, why, sizeof(why), dump,
			      sizeof(dump)),
		     -EINVAL);
	cr_expect_str_eq(why, "line 1: longer than 4096 bytes");
	text[n - 1] = '\n'; /* exactly the limit: fine */
	text[n] = 0;
	cr_expect_eq(read_all(text, strlen(text), STRICT, NULL, why, sizeof(why), dump,
			      sizeof(dump)),
		     0);
	free(text);
}

Test(record, too_many_fields)
{
	char text[256] = "t", why[128], dump[4096];
	int i;

	for (i = 0; i <= GP_RECORD_MAX_FIELDS; i++)
		strcat(text, " x");
	strcat(text, "\n");
	cr_expect_eq(read_all(text, strlen(text), STRICT, NULL, why, sizeof(why), dump,
			      sizeof(dump)),
		     -EINVAL);
	cr_expect_str_eq(why, "line 1: more than 32 fields");
}

Test(record, free_text_rest)
{
	static const char text[] = "command gpupart set-count a=b a=c\nlayout  x\n";
	struct gp_record_reader rd;
	struct gp_record_in rec;
	char why[128];

	gp_record_reader_init(&rd, text, strlen(text), STRICT);
	cr_assert_eq(gp_record_next(&rd, &rec, why, sizeof(why)), 1);
	cr_expect_str_eq(rec.tag, "command");
	cr_expect_str_eq(rec.rest, "gpupart set-count a=b a=c");
	cr_expect_str_eq(rec.raw, "command gpupart set-count a=b a=c");
	/* taken whole, it is fine; split, its keys repeat */
	cr_expect_eq(gp_record_fields(&rec, why, sizeof(why)), -EINVAL);
	cr_assert_eq(gp_record_next(&rd, &rec, why, sizeof(why)), 1);
	cr_expect_str_eq(rec.rest, " x");
	cr_expect_eq(rec.line, 2);
	cr_expect_eq(gp_record_next(&rd, &rec, why, sizeof(why)), 0);
	gp_record_reader_free(&rd);
}

Test(record, write_and_read_back)
{
	struct gp_record_out o;
	struct gp_record_reader rd;
	struct gp_record_in rec;
	char *buf = NULL, why[128];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	cr_assert_not_null(f);
	gp_record_begin(&o, "vf");
	gp_record_add(&o, "0000:01:00.0");
	gp_record_addf(&o, "%d", 3);
	gp_record_kv(&o, "driver", NULL);
	gp_record_kvf(&o, "type", "%d", 562);
	gp_record_kv(&o, "x", "a=b");
	cr_expect_eq(gp_record_end(&o, f), 0);
	/* fields that would not read back as themselves: nothing written */
	gp_record_begin(&o, "bad");
	gp_record_add(&o, "two words");
	cr_expect_eq(gp_record_end(&o, f), -EINVAL);
	gp_record_begin(&o, "bad");
	gp_record_add(&o, "k=v");
	cr_expect_eq(gp_record_end(&o, f), -EINVAL);
	gp_record_begin(&o, "bad");
	gp_record_kv(&o, "", "v");
	cr_expect_eq(gp_record_end(&o, f), -EINVAL);
	gp_record_begin(&o, "bad");
	gp_record_kv(&o, "k", "line\nbreak");
	cr_expect_eq(gp_record_end(&o, f), -EINVAL);
	gp_record_begin(&o, "");
	cr_expect_eq(gp_record_end(&o, f), -EINVAL);
	cr_assert_eq(fclose(f), 0);
	cr_expect_str_eq(buf, "vf 0000:01:00.0 3 driver=- type=562 x=a=b\n");

	gp_record_reader_init(&rd, buf, len, STRICT | GP_RECORD_NEWLINE);
	cr_assert_eq(gp_record_next(&rd, &rec, why, sizeof(why)), 1);
	cr_assert_eq(gp_record_fields(&rec, why, sizeof(why)), 0, "%s", why);
	cr_expect_eq(rec.n, 5);
	cr_expect_eq(gp_record_n_bare(&rec), 2);
	cr_expect_str_eq(gp_record_get(&rec, "driver"), "-");
	cr_expect_str_eq(gp_record_get(&rec, "x"), "a=b");
	cr_expect_null(gp_record_get(&rec, "override"));
	cr_expect_eq(gp_record_next(&rd, &rec, why, sizeof(why)), 0);
	gp_record_reader_free(&rd);
	free(buf);
}

Test(record, write_too_long)
{
	struct gp_record_out o;
	char big[GP_RECORD_LINE_MAX];

	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = 0;
	gp_record_begin(&o, "t");
	gp_record_add(&o, big);
	cr_expect_eq(gp_record_end(&o, stdout), -E2BIG);
}

struct dec_case {
	char in[32];
	unsigned flags;
	unsigned long long max;
	int ret;
	unsigned long long want;
};

ParameterizedTestParameters(record, dec)
{
	static struct dec_case cases[] = {
		{ "0", GP_DEC_CANONICAL, 10, 0, 0 },
		{ "10", GP_DEC_CANONICAL, 10, 0, 10 },
		{ "11", GP_DEC_CANONICAL, 10, -ERANGE, 0 },
		{ "010", GP_DEC_CANONICAL, 10, -EINVAL, 0 },
		{ "010", 0, 10, 0, 10 },
		{ "", 0, 10, -EINVAL, 0 },
		{ "+1", 0, 10, -EINVAL, 0 },
		{ "-1", 0, 10, -EINVAL, 0 },
		{ " 1", 0, 10, -EINVAL, 0 },
		{ "1 ", 0, 10, -EINVAL, 0 },
		{ "18446744073709551615", GP_DEC_CANONICAL, ~0ULL, 0, ~0ULL },
		{ "18446744073709551616", GP_DEC_CANONICAL, ~0ULL, -ERANGE, 0 },
		{ "99999999999999999999x", 0, ~0ULL, -EINVAL, 0 },
	};
	return cr_make_param_array(struct dec_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct dec_case *c, record, dec)
{
	unsigned long long v = 12345;
	int r = gp_parse_dec(c->in, c->max, c->flags, &v);

	cr_expect_eq(r, c->ret, "'%s': %d", c->in, r);
	if (r == 0)
		cr_expect_eq(v, c->want, "'%s': %llu", c->in, v);
}

Test(record, array_push)
{
	int *v = NULL, *slot;
	size_t n = 0, i;

	for (i = 0; i < 1000; i++) {
		slot = GP_PUSH(v, n);
		cr_assert_not_null(slot);
		cr_assert_eq(*slot, 0);
		*slot = (int)i;
	}
	cr_expect_eq(n, 1000);
	for (i = 0; i < n; i++)
		cr_expect_eq(v[i], (int)i);
	free(v);
}
