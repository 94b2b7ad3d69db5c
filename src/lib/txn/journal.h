/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal's records (journal.c); the transaction (run.c) is its only user. */
#ifndef GPUPART_JOURNAL_H
#define GPUPART_JOURNAL_H

#include "txn/txn.h"

struct gp_journal {
	int pid;                    /* the command that wrote it */
	unsigned long long start;   /* and its start time (gp_proc_start_time) */
	char *command;              /* what it was asked (for people) */
	struct gp_txn txn;          /* the changes: their original states */
	int stuck_pid;              /* a child still blocked in a kernel write, 0 = none */
	unsigned long long stuck_start; /* its start time */
	char stuck_path[192];       /* what it was writing */
};

/* Encodes every change's original state through its kind and replaces the journal
 * atomically. */
int gp_journal_write(struct gp_ctx *ctx, const struct gp_journal *j);
/*
 * 1 and *j when a journal exists and is sound, 0 when none. A journal that is not a regular
 * file, holds a NUL, lacks its header, a change record or its end marker, or has a record that
 * does not parse or does not match the host (gp_journal_check) is damaged: -EUCLEAN, logged
 * with the reason; nothing in it is acted on. Other -errno: it cannot be read (logged).
 */
int gp_journal_read(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
		    struct gp_journal *j);
/* The same, parsed strictly but not checked against the host (whose check of a domain change
 * needs libvirt): what a journal holds, for the qemu hook's refusal. Acts on nothing. */
int gp_journal_peek(struct gp_ctx *ctx, const struct gp_kind *const *kinds,
		    struct gp_journal *j);
void gp_journal_clear(struct gp_journal *j);
int gp_journal_remove(struct gp_ctx *ctx);

/* Pure: parses a journal's text into *j, each change group decoded by the kind of @kinds
 * (NULL-terminated) whose tag introduces it. 0, or -EUCLEAN with "line N: why" in @why. */
int gp_journal_parse(const char *text, size_t len, const struct gp_kind *const *kinds,
		     struct gp_journal *j, char *why, size_t why_len);
/* Checks every change against the host through its kind. 0, or -EUCLEAN with why. */
int gp_journal_check(struct gp_ctx *ctx, struct gp_journal *j, char *why, size_t why_len);

#endif
