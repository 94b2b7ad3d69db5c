/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Hand-built models of the unit tests: every block a model helper allocates goes through
 * keep(), and is freed when the test's process exits (Criterion runs each test in its own
 * process; LeakSanitizer looks after the atexit handlers have run). Models point at string
 * literals and at each other freely, so nothing but keep() owns their memory.
 */
#ifndef GP_TEST_KEEP_H
#define GP_TEST_KEEP_H

#include <criterion/criterion.h>
#include <stdlib.h>
#include <unistd.h>

#include <gpupart/model.h>

static void **kept;
static size_t n_kept;
static struct { struct gp_vgpu_type *t; size_t n; } *kept_types;
static size_t n_kept_types;
static pid_t kept_by;

static void free_kept(void)
{
	size_t i;

	if (getpid() != kept_by)
		return;
	for (i = 0; i < n_kept; i++)
		free(kept[i]);
	for (i = 0; i < n_kept_types; i++)
		gp_vgpu_types_free(kept_types[i].t, kept_types[i].n);
	free(kept);
	free(kept_types);
	kept = NULL;
	kept_types = NULL;
	n_kept = n_kept_types = 0;
}

static void keep_start(void)
{
	if (kept_by != getpid()) {
		kept_by = getpid();
		atexit(free_kept);
	}
}

/* Takes p (from malloc, calloc, strdup, asprintf) and returns it; NULL fails the test. */
static inline void *keep(void *p)
{
	cr_assert_not_null(p, "out of memory");
	keep_start();
	kept = realloc(kept, (n_kept + 1) * sizeof(*kept));
	cr_assert_not_null(kept);
	kept[n_kept++] = p;
	return p;
}

/* A vGPU type array the library made (gp_parse_creatable_types): gp_vgpu_types_free at exit. */
static inline void keep_types(struct gp_vgpu_type *t, size_t n)
{
	keep_start();
	kept_types = realloc(kept_types, (n_kept_types + 1) * sizeof(*kept_types));
	cr_assert_not_null(kept_types);
	kept_types[n_kept_types].t = t;
	kept_types[n_kept_types++].n = n;
}

/* A hand-built GPU's catalogue from its lists, as the scan's last resort builds it. */
static inline void keep_catalogue(struct gp_device *pf)
{
	cr_assert_eq(gp_catalogue_from_lists(pf), 0);
	keep_types(pf->catalogue, pf->n_catalogue);
}

#endif
