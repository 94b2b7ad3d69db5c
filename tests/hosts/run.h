/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Runs the real gpupart binary (and other programs) and collects what they print. */
#ifndef GP_TEST_RUN_H
#define GP_TEST_RUN_H

#include <stddef.h>

struct run {
	int status; /* exit status, or 128+signal */
	char *out;
	char *err;
};

/* argv[0] is a program path; NULL-terminated. */
int run_argv(struct run *r, char *const argv[]);
/* gpupart with "--root ROOT" prepended when root is non-NULL; the rest NULL-terminated. */
int run_gpupart(struct run *r, const char *root, ...);
void run_free(struct run *r);
/* $TMPDIR (the build tree under meson test) or /tmp. */
const char *test_tmpbase(void);
/* A fresh directory under test_tmpbase(), owned by this file: removed (and freed) when the
 * process exits; the caller must not free it. */
char *test_tmpdir(const char *tag);
/* rm -rf PATH, never following links. */
void rm_tree(const char *path);
/* Builds a fixture scenario into a fresh directory and returns it. */
char *test_scenario(const char *name);
const char *gpupart_bin(void);
/* DIR/NAME with @text written to it (the test fails otherwise); free the path. */
char *test_file(const char *dir, const char *name, const char *text);
/* test:///DIR/NAME: libvirt's test driver reading a <node> holding @body (domains, node
 * devices); free it. */
char *test_driver_uri(const char *dir, const char *name, const char *body);
char *slurp(const char *path);
/* Captures root (NULL: the real host) into DST/capture.tar and extracts it into DST. */
void capture_into(const char *root, const char *dst);

#endif
