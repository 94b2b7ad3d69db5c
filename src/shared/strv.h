/* SPDX-License-Identifier: GPL-2.0-or-later */
/* String vectors: an array of owned strings and its count (the guards' "why" lists). */
#ifndef GPUPART_SHARED_STRV_H
#define GPUPART_SHARED_STRV_H

#include <stddef.h>

/* Frees the n strings of v and v itself (NULL is fine). Also declared for library users in
 * <gpupart/plan.h>, which hands such vectors out. */
void gp_strv_free(char **v, size_t n);
/* Appends @s (taking it: freed on failure) to *v; -ENOMEM when @s is NULL (a failed asprintf
 * or strdup passed straight in) or the array cannot grow. */
int gp_strv_push(char ***v, size_t *n, char *s);
/* Appends the formatted string; 0 or -ENOMEM. */
int gp_strv_pushf(char ***v, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
