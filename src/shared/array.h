/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Growable arrays and the small idioms every room uses. Knows nothing of PCI or of the
 * library's context: src/shared is compiled on its own (src/shared/meson.build), so it cannot
 * reach the library's headers even by mistake.
 */
#ifndef GPUPART_SHARED_ARRAY_H
#define GPUPART_SHARED_ARRAY_H

#include <stddef.h>
#include <stdlib.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}

/*
 * Grows the array *v (of *n elements of size sz) by one zeroed element at its end; returns
 * that element (and counts it in *n), or NULL with *v and *n unchanged when out of memory.
 * The capacity is not stored: it grows to the next power of two whenever *n reaches one, so
 * an array must be grown through this function alone (or hold room up to the next power of two).
 */
void *gp_array_push(void *v, size_t *n, size_t sz);
#define GP_PUSH(arr, n) ((typeof(arr))gp_array_push(&(arr), &(n), sizeof(*(arr))))

#endif
