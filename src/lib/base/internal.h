/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Internals shared by the library's files; never installed. */
#ifndef GPUPART_INTERNAL_H
#define GPUPART_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/gpupart.h>
#include <gpupart/model.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define _cleanup_(f) __attribute__((cleanup(f)))

struct gp_pciacc;
struct gp_udev;

struct gp_kernel_ops;

struct gp_ctx {
	char *root;
	const struct gp_kernel_ops *kops; /* the live kernel unless a test set a fake */
	void *kops_data;
	int write_timeout_ms;             /* bound on one blocking kernel write */
	int lock_fd;                      /* the host lock while held, else -1 */
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

/* Exactly n hex digits at *s (advanced past them); -EINVAL otherwise (pci-addr.c). */
int gp_parse_hexn(const char **s, size_t n, unsigned *out);

/* Two optional strings (NULL = absent) are the same. */
static inline bool gp_str_eq(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/*
 * Every open file of every process under ROOT/proc: @fn(data, procfd, pid, target) for each
 * /proc/PID/fd/N link (gp_proc_comm names the process when fn needs it). @fn returns 1 to
 * skip the rest of that process, 0 to go on, <0 to stop. Returns the number of
 * processes seen (0: no /proc to look at), or fn's error.
 */
typedef int (*gp_proc_fd_fn)(void *data, int procfd, const char *pid, const char *target);
int gp_proc_each_fd(struct gp_ctx *ctx, gp_proc_fd_fn fn, void *data);
/* The command name of pid ("?" when unreadable). */
void gp_proc_comm(int procfd, const char *pid, char *buf, size_t len);

/* state.c: the address of VF @index of @pf from its routing ID; -EINVAL when the PF gives
 * no offset/stride, -ERANGE when it falls off the bus range. */
struct gp_device;
int gp_vf_addr_at(const struct gp_device *pf, int index, char out[17]);

/* kernel.c: the bounded write side (see gpupart/kernel.h). */
#define GP_WRITE_TIMEOUT_MS_DEFAULT 30000
/*
 * Runs one kernel write (or program) in a child process and waits at most the context's
 * write timeout. Returns 0, the kernel's -errno, or -ETIMEDOUT with *stuck set to the child
 * (left behind, still blocked in the kernel) when the write did not return in time.
 */
int gp_kernel_write(struct gp_ctx *ctx, const char *path, const char *value, int *stuck);
/* Exit status (0..255) of the program, -errno, or -ETIMEDOUT as above. */
int gp_kernel_exec(struct gp_ctx *ctx, char *const argv[], int *stuck);
/*
 * Whether a write child (of this command or of one that died) is still in the kernel: every
 * child holds a shared flock on ROOT/run/gpupart/writing for the length of its write, so the
 * answer survives the death of the tool that started it. 1 (and, in @what, "pid N (started at
 * T) writing V to /PATH") when one is, 0 when none, -errno when it cannot be told.
 */
int gp_kernel_inflight(struct gp_ctx *ctx, char *what, size_t len);
/* The start time of process @pid (field 22 of /proc/PID/stat, clock ticks since boot), or 0
 * when it does not exist: a pid with its start time names one process, never a reuse. */
unsigned long long gp_proc_start_time(int pid);

#endif
