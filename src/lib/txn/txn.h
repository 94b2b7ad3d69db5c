/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The generic transaction. It knows no PCI: it drives "kinds", each a small table of
 * functions over a state of its own (a GPU's partitions, the partitions.conf entries a
 * command records, ...).
 *
 * Why this shape. A change can fail at any step, the tool can be killed at any step, and the
 * host can be rebooted; all three must end with the host in a state someone chose. So there is
 * exactly one way back: read what the host is now, diff it against the state journaled before
 * the first step, run that plan. A failure at step k (gp_txn_run's unwind), a kill at step k
 * (gp_journal_recover at the next command) and `repair` are then the same code, and it is
 * the code every forward change runs too (forward is "converge to want", back is "converge
 * to orig"), so the tests of one are the tests of the other.
 *
 * The contract a kind keeps:
 *   read    the state fresh from the host (never from a cache or a scan made earlier), for
 *           what @like names (its device, its file, its paths). -errno.
 *   equal   (cur, want): the host is in the wanted state as far as this kind is concerned:
 *           what "verified" means. Only what differs is ever touched.
 *   diff    (cur, want) into steps, each followed by what proves it took (a write that
 *           succeeds proves nothing). Pure; the same function plans a change and its undo.
 *           An empty plan means nothing to do.
 *   refine  optional: after a GP_STEP_RESCAN step of the forward plan, the host is read again
 *           and the kind plans the rest (and may replace c->want). Back to the journal no
 *           refine is needed: the journaled state is exact.
 *   encode  the ORIGINAL state (and what check needs) as line records: the first record's tag
 *           is the kind's tag, further records use tags of the kind's own that are no kind's
 *           tag (gpu: "vf", "mdev"). One line each (gp_rec_printf refuses newlines).
 *   decode  exactly what encode wrote, strictly: every token in the form encode prints. It
 *           returns NULL, or why, with the index of the bad record. It sees the changes
 *           decoded before (a device recorded twice is damage).
 *   check   the decoded state against the host before anything acts on it: the journal is
 *           never trusted (`repair` acts as root on what it names). 0, -EUCLEAN with why.
 *   name    what the change acts on, for messages.
 *   free_state, free_data.
 * Flags: GP_KIND_QUIET (its steps are the command's bookkeeping, not shown in the plans the
 * CLI prints: the layout); GP_KIND_NEEDS_LIBVIRT (for kinds that edit domains: a context
 * without libvirt, the qemu hook, refuses them).
 *
 * gp_txn_run journals every original state before the first step (and writes nothing when
 * every plan is empty), converges each change to its want in order, verifies each with a
 * fresh read, and on any failure converges every change back to its journaled state in
 * REVERSE order (a later change may depend on an earlier one: the layout records what the
 * GPUs became, so it goes back first). The journal goes only when the host is in one of the
 * two states; a write that never returns (GP_APPLY_STUCK) keeps it, with the stuck child.
 */
#ifndef GPUPART_TXN_H
#define GPUPART_TXN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <gpupart/gpupart.h>
#include <gpupart/step.h>

#define GP_KIND_QUIET 0x1u         /* its plans are not printed (bookkeeping) */
#define GP_KIND_NEEDS_LIBVIRT 0x2u /* needs a libvirt connection (later kinds) */

/* One journal line, tokenized on spaces. */
#define GP_REC_MAX_TOK 16
struct gp_rec {
	int lineno;
	const char *line;            /* the whole line, as written */
	char *tok[GP_REC_MAX_TOK];   /* its space-separated tokens (tok[0]: the tag) */
	size_t n;
};

/* Where a kind encodes its records. */
struct gp_rec_out {
	FILE *f;
	int err;
};
/* Appends one record (a line; the newline is added). -EINVAL when it would not read back as
 * written (gp_rec_split's rules: a newline, a blank or control character in a field). */
int gp_rec_printf(struct gp_rec_out *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Strict token readers for decoders (record.c): exactly the form encoders print.
 *   gp_rec_uint   a decimal with no sign, space or leading zero, at most @max
 *                 (shared/str.h's gp_parse_dec, GP_DEC_CANONICAL);
 *   gp_rec_int    the same, into an int;
 *   gp_rec_kv     "key=value", *val NULL for "-" (none); -EINVAL otherwise.
 */
int gp_rec_uint(const char *s, unsigned long long max, unsigned long long *out);
int gp_rec_int(const char *s, int max, int *out);
int gp_rec_kv(const char *tok, const char *key, const char **val);
/*
 * A file's bytes as "data HEX" records (1024 hex digits each, lowercase), so that any file,
 * whatever it holds, is journaled and put back as it was: gp_rec_put_hex appends them;
 * gp_rec_add_hex appends one record's bytes to *text (NUL-terminated, *len bytes, at most
 * @max in all) and returns NULL, or why it is not such a record.
 */
int gp_rec_put_hex(struct gp_rec_out *out, const char *text, size_t len);
const char *gp_rec_add_hex(char **text, size_t *len, size_t max, const char *hex);
/*
 * A file journaled whole (the kinds that keep one: catalogue, dda-record, resv): recs[1..n)
 * are its "data HEX" records into a new *text (NUL-terminated, *len bytes, at most @max);
 * @absent (the first record said "-": no file) wants none and leaves *text alone. NULL, or
 * why with the index of the bad record in *bad. gp_rec_file_equal: the same file (NULL: none).
 */
const char *gp_rec_file_decode(const struct gp_rec *recs, size_t n, bool absent, size_t max,
			       char **text, size_t *len, size_t *bad);
bool gp_rec_file_equal(const char *a, size_t alen, const char *b, size_t blen);
/*
 * Reads @line (modified in place; rec->lineno set) as shared/record.h reads a record written
 * by gpupart (one space between fields, none leading or trailing, no control character, no
 * key twice) and splits it into rec->tok. 0 (rec->n 0 for an empty line); -EINVAL with
 * "line N: why" in @why; -E2BIG past GP_REC_MAX_TOK tokens; -ENOMEM.
 */
int gp_rec_split(char *line, struct gp_rec *rec, char *why, size_t why_len);

struct gp_change;
struct gp_txn;

struct gp_kind {
	const char *tag;
	unsigned flags;
	int (*read)(struct gp_ctx *ctx, const void *like, void **cur);
	bool (*equal)(const void *cur, const void *want);
	int (*diff)(const void *cur, const void *want, struct gp_plan *plan);
	int (*refine)(struct gp_ctx *ctx, struct gp_change *c, struct gp_plan *rest);
	int (*encode)(const struct gp_change *c, struct gp_rec_out *out);
	const char *(*decode)(const struct gp_txn *before, const struct gp_rec *recs, size_t n,
			      struct gp_change *c, size_t *bad);
	int (*check)(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c,
		     char *why, size_t why_len);
	const char *(*name)(const void *state);
	void (*free_state)(void *state);
	void (*free_data)(void *data);
};

/* One change of one kind: orig (journaled), want (NULL in a change read back from a
 * journal), the kind's own data (what check and refine need), and the plan orig -> want made
 * when the change was (what a dry run prints; the run plans again from a fresh read). */
struct gp_change {
	const struct gp_kind *kind;
	void *orig;
	void *want;
	void *data;
	struct gp_plan plan;
};

/* An ordered list of changes; owns them. Zero-initialise. */
struct gp_txn {
	struct gp_change **v;
	size_t n;
};

/* A kind's check when the journal's state names nothing check must find on the host (a file
 * of gpupart's own, put back as it was and read strictly whenever it is read). */
struct gp_txn;
struct gp_change;
int gp_kind_check_nothing(struct gp_ctx *ctx, const struct gp_txn *txn, struct gp_change *c,
			  char *why, size_t why_len);

/* A new empty change of @kind (calloc'ed); NULL on ENOMEM. */
struct gp_change *gp_change_new(const struct gp_kind *kind);
void gp_change_free(struct gp_change *c);
const struct gp_plan *gp_change_plan(const struct gp_change *c);

/* Appends @c (the transaction owns it from now, on failure too: it is freed). 0 / -ENOMEM. */
int gp_txn_add(struct gp_txn *txn, struct gp_change *c);
/* Frees every change. */
void gp_txn_clear(struct gp_txn *txn);
/* True when no change has anything to do. */
bool gp_txn_empty(const struct gp_txn *txn);

/*
 * Runs the transaction (see above). 0 when every change reached its want; GP_APPLY_STUCK
 * (journal kept, nothing else touched); or the first error, after unwinding (the journal
 * stays only when the unwinding failed too). @cmd is recorded in the journal. The caller
 * holds the host lock.
 */
int gp_txn_run(struct gp_ctx *ctx, struct gp_txn *txn, const char *cmd);

/* Runs one step (step.c): 0, -errno (logged), or -ETIMEDOUT with *stuck set to the child
 * left blocked in the kernel. */
int gp_step_run(struct gp_ctx *ctx, const struct gp_step *s, int *stuck);

/* gp_journal_recover and the undo half of gp_journal_plan for the kinds in the
 * NULL-terminated @kinds (the ones that may be in a journal). */
int gp_txn_recover(struct gp_ctx *ctx, const struct gp_kind *const *kinds);
/* The journal's changes, each with its undo plan (from the host now back to the journal) in
 * c->plan, in journal order (the unwind runs them last first). Returns 0 (no journal), 1,
 * GP_APPLY_STUCK, -errno (-EUCLEAN: damaged). Writes nothing, takes no lock. */
int gp_txn_undo_plan(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
		     struct gp_txn *out);

#endif
