/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "shared/array.h"

void *gp_array_push(void *v, size_t *n, size_t sz)
{
	void **vp = v;
	char *nv;

	/* grow geometrically: capacity is the next power of two >= n+1 */
	if ((*n & (*n - 1)) == 0 || *n == 0) {
		size_t cap = *n ? *n * 2 : 4;
		nv = realloc(*vp, cap * sz);
		if (!nv)
			return NULL;
		*vp = nv;
	}
	nv = (char *)*vp + *n * sz;
	memset(nv, 0, sz);
	(*n)++;
	return nv;
}
