/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "shared/array.h"
#include "shared/strv.h"

void gp_strv_free(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int gp_strv_push(char ***v, size_t *n, char *s)
{
	char **slot;

	if (!s)
		return -ENOMEM;
	slot = GP_PUSH(*v, *n);
	if (!slot) {
		free(s);
		return -ENOMEM;
	}
	*slot = s;
	return 0;
}

int gp_strv_pushf(char ***v, size_t *n, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	return r < 0 ? -ENOMEM : gp_strv_push(v, n, s);
}
