/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The fake kernel suites' helpers (fktest.c). Strings rd() and lnk() return are freed by
 * cleanup(), the suites' .fini, with the scratch trees. */
#ifndef GP_FKTEST_H
#define GP_FKTEST_H

#include <stdbool.h>

/* How long a fake write or sriov-manage may take before it counts as stuck: a bound for a
 * hang, not a speed test. Enabling 32 VFs rewrites thousands of files, and on a disk mounted
 * with `discard` (this CI's) each unlink waits for it: 10 s was seen to run out. */
#define FK_BOUND_MS 60000

#define DEV "sys/bus/pci/devices/"

void cleanup(void);
char *own(char *s);
/* A fresh directory under $TMPDIR (the suite's build directory), removed by cleanup(). */
char *scratch_dir(const char *tag);
/* A fixture scenario written to a scratch directory. */
char *tree(const char *scenario);
/* One write (or, with @argv, one exec) through gp_kernel_write/exec over the fake kernel;
 * *stuck, when not NULL, the abandoned child's pid. */
int fk_run(const char *root, const char *path, const char *val, char *const argv[],
	   int timeout_ms, int *stuck);
int fkw(const char *root, const char *path, const char *val);
char *rd(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool ex(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last component of a link's target (a driver's name), or NULL. */
char *lnk(const char *root, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void put(const char *root, const char *rel, const char *content);
void rm(const char *root, const char *rel);
/* Polls (20 s) until ROOT/REL is gone, or the log holds @line: an abandoned child finished. */
bool wait_gone(const char *root, const char *rel);
bool wait_log(const char *root, const char *line);

#endif
