/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by the library's files; never installed. */
#ifndef GPUPART_INTERNAL_H
#define GPUPART_INTERNAL_H

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/gpupart.h>
#include <gpupart/model.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))

struct gp_pciacc;
struct gp_udev;

struct gp_ctx {
	char *root;
	int rootfd;
	gp_log_fn log_fn;
	void *log_data;
	enum gp_log_level log_level;
	struct gp_pciacc *pci; /* created on first use */
	struct gp_udev *udev;  /* created on first use */
};

void gp_log(struct gp_ctx *ctx, enum gp_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
#define ERR(ctx, ...) gp_log(ctx, GP_LOG_ERR, __VA_ARGS__)
#define WARN(ctx, ...) gp_log(ctx, GP_LOG_WARNING, __VA_ARGS__)
#define INFO(ctx, ...) gp_log(ctx, GP_LOG_INFO, __VA_ARGS__)
#define DBG(ctx, ...) gp_log(ctx, GP_LOG_DEBUG, __VA_ARGS__)

static inline void freep(void *p)
{
	free(*(void **)p);
}

/* Grows *v (of *n elements of size sz) by one zeroed element; returns it or NULL. */
void *gp_array_push(void *v, size_t *n, size_t sz);
#define GP_PUSH(arr, n) ((typeof(arr))gp_array_push(&(arr), &(n), sizeof(*(arr))))

char *gp_strdup_trim(const char *s);

#endif
