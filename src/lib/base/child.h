/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A question asked in a child process bounded in time (base/child.c): the one way the library
 * asks something that can block for good, libvirt (virt/virt-bounded.c) and NVML
 * (host/nvml.c). The child answers with a byte stream on a pipe; the parent reads it until the
 * child closes the pipe or the deadline, then kills the child and everything it started.
 */
#ifndef GPUPART_BASE_CHILD_H
#define GPUPART_BASE_CHILD_H

#include <stdbool.h>
#include <stddef.h>

#include "base/internal.h"

/* Runs in the child, with its answer's write end @fd; never returns (it _exits). */
typedef void (*gp_child_fn)(struct gp_ctx *ctx, void *data, int fd);

struct gp_child_answer {
	char *buf;       /* what the child wrote (free it), NUL-free binary */
	size_t len;
	bool complete;   /* the child closed the pipe and was reaped: @status is its */
	bool timed_out;  /* no end by the deadline: killed */
	int status;      /* waitpid()'s, when complete */
	int error;       /* -errno reading the answer (the child was killed), else 0 */
};

/*
 * Forks a child that runs @fn(@ctx, @data, fd): it dies with its caller (PR_SET_PDEATHSIG),
 * leads its own process group (killed whole at the deadline), leaves the host lock to the
 * caller and has /dev/null for stdin and stdout (the caller's output is the caller's; stderr
 * stays, for what the library it loads has to say). The parent reads for at most @timeout_ms;
 * a child stuck in the kernel is killed and not waited for beyond a second. Returns 0 with
 * @out filled, or -errno when the child could not be started (nothing to free).
 */
int gp_child_ask(struct gp_ctx *ctx, gp_child_fn fn, void *data, int timeout_ms,
		 struct gp_child_answer *out);

/* write(2) until done; 0 or -1. */
int gp_write_all(int fd, const void *buf, size_t len);

/* A reader over an answer: gp_reader_get copies @len bytes out, 0, or -1 at its end. */
struct gp_reader {
	const char *p, *end;
};
int gp_reader_get(struct gp_reader *rd, void *out, size_t len);

#endif
