/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The journal: ROOT/run/gpupart/journal, the original state of every change of a transaction,
 * written atomically before the first step and removed once the host is in the target state
 * (or back in the original one). Text, one record per line, so an admin can read what a
 * crashed run was doing (format: gpupart(8), FILES):
 *
 *   journal 3                      the header, first
 *   pid PID START                  the writer, by pid and start time
 *   command TEXT                   what it was asked (for people)
 *   TAG ...                        per change, a group its kind's tag introduces, decoded by
 *   ...                              that kind only (gpu: "gpu", "vf", "mdev"; layout:
 *                                    "layout", "entry")
 *   stuck PID START PATH           a write child still blocked in the kernel (optional)
 *   end                            last: a journal cut short lacks it
 *
 * It lives under /run on purpose: a reboot recreates every VF and mdev from scratch, and a
 * journal about devices that no longer exist must not survive to be "restored" onto new
 * ones (reliability.md invariant 25).
 *
 * Nothing in it is trusted: `repair` acts as root on what it names, so a journal that is not
 * exactly what gpupart writes (header, records, end marker last) or whose changes do not
 * match the host (each kind's check) is damaged, and damaged means refused and kept.
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "txn/journal.h"

#define JOURNAL "journal"
#define VERSION "3"

int gp_journal_write(struct gp_ctx *ctx, const struct gp_journal *j)
{
	struct gp_rec_out out = { 0 };
	char *buf = NULL, *cmd;
	size_t len = 0, i;
	int r = 0;

	out.f = open_memstream(&buf, &len);
	if (!out.f)
		return -ENOMEM;
	fputs("# gpupart journal: a change in progress; `gpupart repair` undoes it (gpupart(8))\n"
	      "journal " VERSION "\n", out.f);
	gp_rec_printf(&out, "pid %d %llu", j->pid, j->start);
	/* free text for people: a control character in an argument must not end the line */
	cmd = strdup(j->command ? j->command : "");
	if (!cmd) {
		fclose(out.f);
		free(buf);
		return -ENOMEM;
	}
	for (i = 0; cmd[i]; i++)
		if ((unsigned char)cmd[i] < 0x20 || cmd[i] == 0x7f)
			cmd[i] = '?';
	fprintf(out.f, "command %s\n", cmd);
	free(cmd);
	for (i = 0; r == 0 && i < j->txn.n; i++)
		r = j->txn.v[i]->kind->encode(j->txn.v[i], &out);
	if (j->stuck_pid > 0)
		gp_rec_printf(&out, "stuck %d %llu %s", j->stuck_pid, j->stuck_start, j->stuck_path);
	if (r == 0 && out.err)
		r = out.err;
	/* last: a journal cut short (a full /run, a torn copy) lacks it and is refused */
	fputs("end\n", out.f);
	if (fclose(out.f) != 0 && r == 0)
		r = -ENOMEM;
	if (r == 0)
		r = gp_hostfs_write_file(ctx, GP_HP_STATE_DIR, JOURNAL, buf, len, 0600, 0700);
	free(buf);
	return r;
}

/* ---- parsing: every token checked, nothing assumed ---- */

struct parse {
	const struct gp_kind *const *kinds;
	struct gp_journal *j;
	int state;                  /* 0: before the header, 1: records, 2: after "end" */
	bool in_changes;            /* a change group was seen: the header is over */
	const struct gp_kind *kind; /* of the open group */
	struct gp_rec *group;       /* its records */
	size_t n_group;
	int bad_line;               /* where the reason below happened */
	char split_why[160];        /* the record reader's reason, "line N: why" */
};

static const struct gp_kind *kind_of(const struct gp_kind *const *kinds, const char *tag)
{
	for (; kinds && *kinds; kinds++)
		if (strcmp((*kinds)->tag, tag) == 0)
			return *kinds;
	return NULL;
}

/* Hands the open group to its kind. */
static const char *close_group(struct parse *p)
{
	struct gp_change *c;
	const char *bad;
	size_t at = 0;

	if (!p->kind)
		return NULL;
	c = gp_change_new(p->kind);
	if (!c)
		return "out of memory";
	bad = p->kind->decode(&p->j->txn, p->group, p->n_group, c, &at);
	if (bad) {
		p->bad_line = p->group[at < p->n_group ? at : p->n_group - 1].lineno;
		gp_change_free(c);
	} else if (gp_txn_add(&p->j->txn, c) < 0) {
		bad = "out of memory";
	}
	p->kind = NULL;
	p->n_group = 0;
	return bad;
}

/* A record's tokens (txn/record.c: shared/record.h's rules), or why not. */
static const char *split(struct parse *p, char *work, struct gp_rec *rec)
{
	const char *colon;
	int r = gp_rec_split(work, rec, p->split_why, sizeof(p->split_why));

	if (r == -E2BIG)
		return "too many fields";
	if (r == -ENOMEM)
		return "out of memory";
	if (r == 0)
		return NULL;
	/* the reader's reason, without its "line N: " (the caller adds it) */
	colon = strstr(p->split_why, ": ");
	return colon ? colon + 2 : p->split_why;
}

static const char *parse_line(struct parse *p, const char *line, char *work, int lineno)
{
	struct gp_journal *j = p->j;
	const struct gp_kind *k;
	struct gp_rec rec = { .lineno = lineno, .line = line };
	unsigned long long v;
	const char *bad;

	p->bad_line = lineno;
	if (line[0] == '#')
		return NULL;
	if (p->state == 2)
		return "a record after the end marker";
	if (strncmp(line, "command ", 8) == 0 || strcmp(line, "command") == 0) {
		if (p->state != 1)
			return "a record before the header";
		if (p->in_changes)
			return "a header record after the changes";
		free(j->command); /* free text, for people; kept for a rewrite (keep_stuck) */
		j->command = strdup(line[7] ? line + 8 : "");
		return j->command ? NULL : "out of memory";
	}
	if ((bad = split(p, work, &rec)))
		return bad;
	if (rec.n == 0)
		return "an empty line";
	if (p->state == 0) {
		if (strcmp(rec.tok[0], "journal") != 0 || rec.n != 2)
			return "no `journal` header";
		if (strcmp(rec.tok[1], VERSION) != 0)
			return "a journal version this gpupart does not read";
		p->state = 1;
		return NULL;
	}
	if (strcmp(rec.tok[0], "pid") == 0) {
		if (p->in_changes)
			return "a header record after the changes";
		if (rec.n != 3 || gp_rec_int(rec.tok[1], 1 << 30, &j->pid) < 0 ||
		    gp_rec_uint(rec.tok[2], ~0ULL, &j->start) < 0)
			return "bad pid record";
		return NULL;
	}
	if (strcmp(rec.tok[0], "end") == 0 && rec.n == 1) {
		if ((bad = close_group(p)))
			return bad;
		p->state = 2;
		return NULL;
	}
	if (strcmp(rec.tok[0], "stuck") == 0) {
		if ((bad = close_group(p)))
			return bad;
		p->bad_line = lineno;
		if (rec.n != 4 || gp_rec_int(rec.tok[1], 1 << 30, &j->stuck_pid) < 0 ||
		    gp_rec_uint(rec.tok[2], ~0ULL, &v) < 0 ||
		    strlen(rec.tok[3]) >= sizeof(j->stuck_path))
			return "bad stuck record";
		j->stuck_start = v;
		strcpy(j->stuck_path, rec.tok[3]);
		return NULL;
	}
	k = kind_of(p->kinds, rec.tok[0]);
	if (k) {
		if ((bad = close_group(p)))
			return bad;
		p->bad_line = lineno;
		p->kind = k;
		p->in_changes = true;
	} else if (!p->kind) {
		return "an unknown record, or one that does not follow its change's first record";
	}
	{
		struct gp_rec *slot = GP_PUSH(p->group, p->n_group);

		if (!slot)
			return "out of memory";
		*slot = rec;
	}
	return NULL;
}

int gp_journal_parse(const char *text, size_t len, const struct gp_kind *const *kinds,
		     struct gp_journal *j, char *why, size_t why_len)
{
	struct parse p = { .kinds = kinds, .j = j };
	char *lines, *work, *line, *next, *wline;
	const char *bad = NULL;
	int lineno = 0;

	memset(j, 0, sizeof(*j));
	if (memchr(text, 0, len)) {
		snprintf(why, why_len, "it holds a NUL byte");
		return -EUCLEAN;
	}
	if (len == 0 || text[len - 1] != '\n') {
		snprintf(why, why_len, len ? "its last line is cut short" : "it is empty");
		return -EUCLEAN;
	}
	/* two copies split at the same places: the lines as written (for records that are
	 * free text or another file's format) and their tokens */
	lines = strndup(text, len);
	work = strndup(text, len);
	if (!lines || !work) {
		free(lines);
		free(work);
		return -ENOMEM;
	}
	for (line = lines, wline = work; *line && !bad; line = next, wline = work + (next - lines)) {
		next = strchr(line, '\n');
		*next++ = 0;
		wline[next - 1 - line] = 0;
		lineno++;
		bad = parse_line(&p, line, wline, lineno);
	}
	if (!bad && p.state != 2)
		bad = p.state == 0 ? "no `journal` header" : "no end marker (cut short)";
	else if (!bad && j->txn.n == 0)
		bad = "no change record";
	else if (!bad && j->pid <= 0)
		bad = "no pid record";
	else if (bad)
		snprintf(why, why_len, "line %d: %s", p.bad_line, bad);
	if (bad && !strncmp(bad, "no ", 3))
		snprintf(why, why_len, "%s", bad);
	free(p.group);
	free(lines);
	free(work);
	if (bad) {
		gp_journal_clear(j);
		return strcmp(bad, "out of memory") ? -EUCLEAN : -ENOMEM;
	}
	return 0;
}

int gp_journal_check(struct gp_ctx *ctx, struct gp_journal *j, char *why, size_t why_len)
{
	size_t i;
	int r = 0;

	for (i = 0; r == 0 && i < j->txn.n; i++) {
		struct gp_change *c = j->txn.v[i];

		if (c->kind->check)
			r = c->kind->check(ctx, &j->txn, c, why, why_len);
	}
	return r;
}

static int journal_read(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
			struct gp_journal *j, bool check)
{
	char where[512], why[256] = "";
	char *text = NULL;
	ssize_t len;
	int r;

	memset(j, 0, sizeof(*j));
	/* for messages: the absolute path, else (a root too long to print) the relative one */
	if (gp_hostfs_abspath(ctx, GP_HP_STATE_FILE, JOURNAL, where, sizeof(where)) < 0 &&
	    gp_hostfs_path(GP_HP_STATE_FILE, JOURNAL, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "%s", JOURNAL);
	len = gp_hostfs_read_regular(ctx, GP_HP_STATE_DIR, JOURNAL, &text);
	if (len == -ENOENT)
		return 0;
	if (len == -EINVAL) {
		snprintf(why, sizeof(why), "it is not a regular file");
		r = -EUCLEAN;
	} else if (len < 0) {
		ERR(ctx, "cannot read the journal %s: %s; not touching anything", where,
		    strerror((int)-len));
		return (int)len;
	} else {
		r = gp_journal_parse(text, (size_t)len, kinds, j, why, sizeof(why));
		free(text);
		if (r == 0 && check)
			r = gp_journal_check(ctx, j, why, sizeof(why));
		if (r == -ENOMEM) {
			ERR(ctx, "out of memory reading the journal %s", where);
			gp_journal_clear(j);
			return r;
		}
	}
	if (r < 0) {
		gp_journal_clear(j);
		if (r != -EUCLEAN) {
			ERR(ctx, "cannot check the journal %s against the host: %s; not touching "
				 "anything", where, strerror(-r));
			return r;
		}
		ERR(ctx, "the journal %s is damaged (%s): not acting on it, and keeping it. "
			 "Read it (it lists each device's state before the change), put the devices "
			 "back by hand if needed, then remove it; see gpupart(8), FILES",
		    where, why);
		return -EUCLEAN;
	}
	return 1;
}

int gp_journal_read(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
		    struct gp_journal *j)
{
	return journal_read(ctx, kinds, j, true);
}

int gp_journal_peek(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
		    struct gp_journal *j)
{
	return journal_read(ctx, kinds, j, false);
}

void gp_journal_clear(struct gp_journal *j)
{
	free(j->command);
	gp_txn_clear(&j->txn);
	memset(j, 0, sizeof(*j));
}

int gp_journal_remove(struct gp_ctx *ctx)
{
	return gp_hostfs_unlink(ctx, GP_HP_STATE_DIR, JOURNAL);
}

int gp_journal_pending(struct gp_ctx *ctx)
{
	int dfd = gp_hostfs_open_dir(ctx, GP_HP_STATE_DIR, NULL), r;

	if (dfd < 0)
		return 0;
	r = gp_hostfs_exists_at(dfd, JOURNAL);
	close(dfd);
	return r == 1;
}
