/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one reader of processes: who holds which device node open (ROOT/proc/PID/fd/N, under
 * the context's root, so a fixture tree can plant holders), and the start time of one of our
 * own processes (the live /proc: a pid with its start time names one process).
 */
#ifndef GPUPART_HOST_PROCFD_H
#define GPUPART_HOST_PROCFD_H

#include <stddef.h>

#include "base/internal.h"

/* How a node pattern matches the target of a /proc/PID/fd/N link. */
enum gp_node_match {
	GP_NODE_EXACT,  /* the target is @path */
	GP_NODE_NUMBER, /* @path followed by decimal digits only, whose value is @number
			 * (any value when @number < 0): "/dev/vfio/" 12, "/dev/nvidia" 0 */
	GP_NODE_PREFIX, /* the target starts with @path */
};

struct gp_node_pattern {
	const char *path;
	enum gp_node_match match;
	long number;
};

/* One process holding a node: what gp_procfd_holders hands its callback. */
struct gp_holder {
	const char *pid;    /* the /proc entry's name */
	const char *comm;   /* its command name ("?" when unreadable) */
	const char *target; /* the node held, as the fd link names it */
	size_t pattern;     /* index of the first pattern it matched */
};

/*
 * Calls @fn for every open file of every process under ROOT/proc whose target matches one of
 * @patterns (the first that matches, in order: put an exact pattern before a wider one, and
 * a pattern whose callback ignores it before a wider one to stop it there). @fn returns 0 to
 * go on, 1 to skip the rest of that process, <0 to stop. Returns the number of processes seen
 * (0: no /proc under this root, so nobody can be seen holding anything), or @fn's error.
 */
typedef int (*gp_holder_fn)(void *data, const struct gp_holder *h);
int gp_procfd_holders(struct gp_ctx *ctx, const struct gp_node_pattern *patterns, size_t n,
		      gp_holder_fn fn, void *data);

/* The start time of process @pid (field 22 of /proc/PID/stat, clock ticks since boot), or 0
 * when it does not exist: a pid with its start time names one process, never a reuse. */
unsigned long long gp_proc_start_time(int pid);

#endif
