/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Line records: the one reader and writer of gpupart's text files (partitions.conf, the
 * journal, record files). One record per line:
 *
 *   TAG FIELD... KEY=VALUE...
 *
 * The first field is the record's tag (partitions.conf: the GPU's PCI path; the journal: the
 * record kind, "gpu", "vf"...). The fields after it are either bare (no '=') or KEY=VALUE
 * (split at the first '='; a value may hold further '='). What the fields mean, which keys a
 * tag takes and in which order the bare ones come is the caller's business; the reader's is
 * that the text is made of lines and fields at all, and it refuses what is not:
 *
 *   - a NUL byte anywhere ("line N: a NUL byte");
 *   - a line longer than the reader's limit (GP_RECORD_LINE_MAX unless set);
 *   - with GP_RECORD_NEWLINE, a text whose last line lacks its '\n' (cut short);
 *   - when the fields are split (gp_record_fields): an empty line, or under the one-space
 *     rule a line that starts or ends with a space or holds two in a row (an empty field),
 *     a control character in a field, more than GP_RECORD_MAX_FIELDS fields, a key given
 *     twice ("line N: duplicate key 'K'");
 *   - on request: a key the caller does not know (gp_record_known), anything else the caller
 *     finds wrong (gp_record_fail formats it).
 *
 * Every error is -EINVAL with "line N: why" written into the caller's buffer, N counting
 * from 1 over every line of the text (blank and comment lines included), so an admin can
 * find it in an editor.
 *
 * Reading is two calls so that a free-text record can be taken whole: gp_record_next gives
 * the tag and the raw rest of the line (the journal's "command ..." is free text, its
 * "layout ..." a partitions.conf line); gp_record_fields then splits the rest.
 *
 *	struct gp_record_reader rd;
 *	struct gp_record_in rec;
 *	while ((r = gp_record_next(&rd, &rec, why, sizeof(why))) > 0) {
 *		if (gp_record_fields(&rec, why, sizeof(why)) < 0 ||
 *		    gp_record_known(&rec, keys, why, sizeof(why)) < 0)
 *			break;
 *		v = gp_record_get(&rec, "count");
 *	}
 *	gp_record_reader_free(&rd);
 *
 * Writing mirrors it: gp_record_begin, gp_record_add / gp_record_kv per field, gp_record_end
 * appends the line (and its '\n') to a stream only when every field can be read back as the
 * same field: not empty, no blank or control character, no '=' in a bare field or a key.
 */
#ifndef GPUPART_SHARED_RECORD_H
#define GPUPART_SHARED_RECORD_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define GP_RECORD_LINE_MAX 4096 /* bytes of one line, without its '\n' */
#define GP_RECORD_MAX_FIELDS 32 /* after the tag */

enum gp_record_flags {
	/* Lines that are empty, blank, or whose first non-blank byte is '#' are skipped, and a
	 * field that starts with '#' ends the record (the rest of the line is a comment): files
	 * people edit (partitions.conf). Without it every line is a record. */
	GP_RECORD_COMMENTS = 1 << 0,
	/* Fields are separated by runs of blanks (space, tab, CR, VT, FF), leading and trailing
	 * blanks ignored: files people edit. Without it fields are separated by exactly one
	 * space, with none leading or trailing: what gpupart writes, read back as written (the
	 * journal), so that a record that differs from it is refused rather than guessed at. */
	GP_RECORD_BLANKS = 1 << 1,
	/* The text ends with '\n': a file cut short (a full disk, a torn copy) is refused
	 * ("line N: cut short"). */
	GP_RECORD_NEWLINE = 1 << 2,
};

struct gp_record_field {
	const char *key; /* NULL for a bare field */
	const char *val; /* the field (bare) or what follows its first '=' (may be "") */
};

/* One record; its strings point into the reader's buffer and live until the next call. */
struct gp_record_in {
	int line;          /* 1-based, over every line of the text */
	unsigned flags;    /* the reader's */
	const char *raw;   /* the whole line, unsplit (free-text records) */
	const char *tag;   /* the first field ("" for an empty line) */
	const char *rest;  /* the raw line after the tag and its separator ("" when none) */
	size_t n;          /* fields after the tag, once gp_record_fields split them */
	struct gp_record_field f[GP_RECORD_MAX_FIELDS];
	char *split_;      /* private: the copy of rest that gp_record_fields splits */
	bool sep_;         /* private: a separator followed the tag */
};

struct gp_record_reader {
	const char *text;
	size_t len, off;
	unsigned flags;
	size_t line_max;   /* GP_RECORD_LINE_MAX unless changed after init */
	int line;
	char *buf;         /* private: the current line and its split copy */
	size_t buf_len;
};

/* A reader over text[0..len) (not necessarily NUL-terminated). Cannot fail. */
void gp_record_reader_init(struct gp_record_reader *rd, const char *text, size_t len,
			   unsigned flags);
/*
 * The next record: 1 with *rec filled (raw, tag and rest; n = 0 until gp_record_fields), 0
 * at the end of the text, -EINVAL with "line N: why" in @why (NUL byte, overlong line, cut
 * short), -ENOMEM. Only whole lines are checked here: what a line holds is checked when its
 * fields are split, so a free-text record can be taken as it is.
 */
int gp_record_next(struct gp_record_reader *rd, struct gp_record_in *rec, char *why,
		   size_t why_len);
void gp_record_reader_free(struct gp_record_reader *rd);

/* Splits rec->rest into rec->f[0..n) under the reader's rules (see the list above): 0,
 * -EINVAL with "line N: why", -ENOMEM. */
int gp_record_fields(struct gp_record_in *rec, char *why, size_t why_len);
/* Every key of rec is one of @known (NULL-terminated): 0, or -EINVAL with "line N: unknown
 * key 'K'" for the first that is not. */
int gp_record_known(const struct gp_record_in *rec, const char *const *known, char *why,
		    size_t why_len);
/* The value of @key (NULL when absent); keys are unique once split. */
const char *gp_record_get(const struct gp_record_in *rec, const char *key);
/* The number of bare fields (key NULL) among rec->f. */
size_t gp_record_n_bare(const struct gp_record_in *rec);
/* Writes "line N: " and the formatted reason into @why; returns -EINVAL (for `return
 * gp_record_fail(...)`). */
int gp_record_fail(const struct gp_record_in *rec, char *why, size_t why_len, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

/* One line being written. */
struct gp_record_out {
	char line[GP_RECORD_LINE_MAX + 1];
	size_t len;
	int err;           /* the first error: -EINVAL (a field that would not read back), -E2BIG */
};

/* Starts a record with @tag (a field like any other). */
void gp_record_begin(struct gp_record_out *o, const char *tag);
/* A bare field. */
void gp_record_add(struct gp_record_out *o, const char *val);
void gp_record_addf(struct gp_record_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* KEY=VALUE; a NULL @val is written "-" (the journal's "none"). */
void gp_record_kv(struct gp_record_out *o, const char *key, const char *val);
void gp_record_kvf(struct gp_record_out *o, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends the line and '\n' to @f: 0, the first field error (nothing written), or -EIO. */
int gp_record_end(struct gp_record_out *o, FILE *f);

#endif
