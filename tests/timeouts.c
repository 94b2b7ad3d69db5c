/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Linked into every Criterion test program. GP_TEST_TIMEOUT_SCALE=N (the `asan` test setup,
 * tests/meson.build) multiplies every suite's and test's .timeout by N: AddressSanitizer makes
 * each process (the tool runs hundreds of times per suite) two to four times slower, and a
 * timeout that fires there is the sanitizer's cost, not a hang. Criterion's own --timeout can
 * only lower a timeout (Criterion 2.4 takes the smaller of the two), hence this hook, which runs
 * in the runner before any test is spawned.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <criterion/internal/ordered-set.h>
#include <stdlib.h>

ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	const char *s = getenv("GP_TEST_TIMEOUT_SCALE");
	double k = s ? strtod(s, NULL) : 0;

	if (!(k > 1 && k <= 100))
		return;
	FOREACH_SET(struct criterion_suite_set *ss, set->suites) {
		if (ss->suite.data)
			ss->suite.data->timeout *= k;
		FOREACH_SET(struct criterion_test *t, ss->tests) {
			if (t->data)
				t->data->timeout *= k;
		}
	}
}
