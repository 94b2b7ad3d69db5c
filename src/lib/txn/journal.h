/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal's records (journal.c); the runner (run.c) is its only user. */
#ifndef GPUPART_JOURNAL_H
#define GPUPART_JOURNAL_H

#include <gpupart/layout.h>
#include <gpupart/plan.h>

struct gp_journal {
	int pid;                    /* the command that wrote it */
	unsigned long long start;   /* and its start time (gp_proc_start_time) */
	char *command;              /* what it was asked (for people) */
	struct gp_gpu_state *gpus;  /* the original states */
	struct gp_pci_ident *idents; /* what each GPU is (checked against the host on reading) */
	size_t n_gpus;
	/* partitions.conf entries the change replaces: as they were (had) or absent */
	bool layout;                /* the change records the layout */
	struct gp_layout layout_had;
	char **layout_absent;
	size_t n_layout_absent;
	int stuck_pid;              /* a child still blocked in a kernel write, 0 = none */
	unsigned long long stuck_start; /* its start time */
	char stuck_path[192];       /* what it was writing */
};

int gp_journal_write(struct gp_ctx *ctx, const struct gp_journal *j);
/*
 * 1 and *j when a journal exists and is sound, 0 when none. A journal that is not a regular
 * file, holds a NUL, lacks its header, a GPU record or its end marker, or has a record that
 * does not parse or does not match the host (gp_journal_check) is damaged: -EUCLEAN, logged
 * with the reason; nothing in it is acted on. Other -errno: it cannot be read (logged).
 */
int gp_journal_read(struct gp_ctx *ctx, struct gp_journal *j);
void gp_journal_clear(struct gp_journal *j);
int gp_journal_remove(struct gp_ctx *ctx);

/* Pure: parses a journal's text into *j. 0, or -EUCLEAN with "line N: why" in @why. */
int gp_journal_parse(const char *text, size_t len, struct gp_journal *j, char *why,
		     size_t why_len);
/* Checks every record against the host (the devices are the ones recorded; VFs belong to
 * their PF; mdev types exist). 0, or -EUCLEAN with the reason in @why. */
int gp_journal_check(struct gp_ctx *ctx, const struct gp_journal *j, char *why, size_t why_len);

#endif
