/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The question to libvirt, bounded in time: a child process asks, the parent waits for its
 * answer until the deadline and kills it after (see virt-bounded.h). No libvirt here: the
 * child runs virt.c's query, which loads libvirt itself.
 *
 * The answer is a stream of records on a pipe:
 *   'L' level(u8) text                  a log line of the child, replayed through the context
 *   'U' flags(u8) uuid domain device    one use (flags: 1 active, 2 gpupart's alias)
 *   'R' result(i32)                     the last record: 0 or -errno
 * where text and strings are a u32 length and the bytes (a domain name may hold anything).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>

#include "base/child.h"
#include "base/internal.h"
#include "virt/virt-bounded.h"

static int put_str(int fd, const char *s)
{
	uint32_t len = (uint32_t)strlen(s);

	return gp_write_all(fd, &len, sizeof(len)) < 0 ? -1 : gp_write_all(fd, s, len);
}

static void child_log(void *data, enum gp_log_level level, const char *fmt, va_list ap)
{
	int fd = *(int *)data;
	uint8_t lv = (uint8_t)level;
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0)
		return;
	if (gp_write_all(fd, "L", 1) == 0 && gp_write_all(fd, &lv, 1) == 0)
		put_str(fd, msg);
	free(msg);
}

struct question {
	gp_virt_query_fn fn;
	void *data;
};

/* In the child (base/child.c set it up): ask, send the uses and the result. */
static void child_main(struct gp_ctx *ctx, void *data, int fd)
{
	const struct question *q = data;
	struct gp_virt_use *v = NULL;
	size_t n = 0, i;
	int32_t res;

	ctx->log_fn = child_log;
	ctx->log_data = &fd;
	res = q->fn(ctx, q->data, &v, &n);
	for (i = 0; res >= 0 && i < n; i++) {
		uint8_t active = (uint8_t)(v[i].active | v[i].gpupart << 1);

		if (gp_write_all(fd, "U", 1) < 0 || gp_write_all(fd, &active, 1) < 0 ||
		    put_str(fd, v[i].uuid) < 0 || put_str(fd, v[i].domain) < 0 ||
		    put_str(fd, v[i].device) < 0)
			_exit(1);
	}
	if (gp_write_all(fd, "R", 1) < 0 || gp_write_all(fd, &res, sizeof(res)) < 0)
		_exit(1);
	_exit(0);
}

static char *get_str(struct gp_reader *rd)
{
	uint32_t len;
	char *s;

	if (gp_reader_get(rd, &len, sizeof(len)) < 0 || (size_t)(rd->end - rd->p) < len)
		return NULL;
	s = strndup(rd->p, len);
	rd->p += len;
	return s;
}

/*
 * Replays the child's log and collects its uses. 1 with *res set when the answer is complete
 * (ends with its result), 0 when it stops short (the child died or was killed), -ENOMEM.
 */
static int decode(struct gp_ctx *ctx, const char *buf, size_t len, struct gp_virt_use **v,
		  size_t *n, int *res)
{
	struct gp_reader rd = { buf, buf + len };
	char type;

	while (gp_reader_get(&rd, &type, 1) == 0) {
		if (type == 'L') {
			uint8_t lv;
			char *msg;

			if (gp_reader_get(&rd, &lv, 1) < 0 || !(msg = get_str(&rd)))
				return 0;
			gp_log(ctx, (enum gp_log_level)lv, "%s", msg);
			free(msg);
		} else if (type == 'U') {
			_cleanup_(freep) char *uuid = NULL;
			struct gp_virt_use *e;
			uint8_t active;

			if (gp_reader_get(&rd, &active, 1) < 0 || !(uuid = get_str(&rd)))
				return 0;
			e = GP_PUSH(*v, *n);
			if (!e)
				return -ENOMEM;
			/* the child made them one per (domain, device) already */
			e->active = active & 1;
			e->gpupart = active & 2;
			snprintf(e->uuid, sizeof(e->uuid), "%s", uuid);
			if (!(e->domain = get_str(&rd)) || !(e->device = get_str(&rd)))
				return 0;
		} else if (type == 'R') {
			int32_t r;

			if (gp_reader_get(&rd, &r, sizeof(r)) < 0)
				return 0;
			*res = r;
			return 1;
		} else {
			return 0;
		}
	}
	return 0;
}

int gp_virt_bounded(struct gp_ctx *ctx, const char *what, int timeout_ms, gp_virt_query_fn fn,
		    void *data, struct gp_virt_use **out, size_t *n_out)
{
	struct question q = { fn, data };
	struct gp_child_answer a;
	int res = -EIO, d, r;

	*out = NULL;
	*n_out = 0;
	r = gp_child_ask(ctx, child_main, &q, timeout_ms, &a);
	if (r < 0) {
		ERR(ctx, "libvirt: cannot start the process that asks it: %s", strerror(-r));
		return r;
	}
	if (a.error)
		res = a.error;
	d = decode(ctx, a.buf, a.len, out, n_out, &res);
	free(a.buf);
	if (d < 0)
		return d;
	if (a.timed_out) {
		ERR(ctx, "libvirt: no answer from %s within %d.%03d s", what, timeout_ms / 1000,
		    timeout_ms % 1000);
		return -ETIMEDOUT;
	}
	if (d == 0 && a.complete) {
		if (WIFSIGNALED(a.status))
			ERR(ctx, "libvirt: the process asking %s died (signal %d)", what,
			    WTERMSIG(a.status));
		else
			ERR(ctx, "libvirt: the process asking %s ended without an answer", what);
		return -EIO;
	}
	return d ? res : (res < 0 ? res : -EIO);
}

/* ---- the same bound for any question whose answer is a list of strings ---- */

struct strings_question {
	gp_virt_strings_fn fn;
	void *data;
};

static void strings_child(struct gp_ctx *ctx, void *data, int fd)
{
	const struct strings_question *q = data;
	char **v = NULL;
	size_t n = 0, i;
	int32_t res;

	ctx->log_fn = child_log;
	ctx->log_data = &fd;
	res = q->fn(ctx, q->data, &v, &n);
	for (i = 0; i < n; i++)
		if (gp_write_all(fd, "S", 1) < 0 || put_str(fd, v[i] ? v[i] : "") < 0)
			_exit(1);
	if (gp_write_all(fd, "R", 1) < 0 || gp_write_all(fd, &res, sizeof(res)) < 0)
		_exit(1);
	_exit(0);
}

static int strings_decode(struct gp_ctx *ctx, const char *buf, size_t len, char ***v,
			  size_t *n, int *res)
{
	struct gp_reader rd = { buf, buf + len };
	char type;

	while (gp_reader_get(&rd, &type, 1) == 0) {
		if (type == 'L') {
			uint8_t lv;
			char *msg;

			if (gp_reader_get(&rd, &lv, 1) < 0 || !(msg = get_str(&rd)))
				return 0;
			gp_log(ctx, (enum gp_log_level)lv, "%s", msg);
			free(msg);
		} else if (type == 'S') {
			char *str = get_str(&rd);

			if (!str)
				return 0;
			if (gp_strv_push(v, n, str) < 0)
				return -ENOMEM;
		} else if (type == 'R') {
			int32_t r;

			if (gp_reader_get(&rd, &r, sizeof(r)) < 0)
				return 0;
			*res = r;
			return 1;
		} else {
			return 0;
		}
	}
	return 0;
}

int gp_virt_bounded_strings(struct gp_ctx *ctx, const char *what, int timeout_ms,
			    gp_virt_strings_fn fn, void *data, char ***out, size_t *n_out)
{
	struct strings_question q = { fn, data };
	struct gp_child_answer a;
	int res = -EIO, d, r;

	*out = NULL;
	*n_out = 0;
	r = gp_child_ask(ctx, strings_child, &q, timeout_ms, &a);
	if (r < 0) {
		ERR(ctx, "libvirt: cannot start the process that asks it: %s", strerror(-r));
		return r;
	}
	if (a.error)
		res = a.error;
	d = strings_decode(ctx, a.buf, a.len, out, n_out, &res);
	free(a.buf);
	if (d < 0)
		return d;
	if (a.timed_out) {
		ERR(ctx, "libvirt: no answer from %s within %d.%03d s", what, timeout_ms / 1000,
		    timeout_ms % 1000);
		return -ETIMEDOUT;
	}
	if (d == 0) {
		ERR(ctx, "libvirt: the process asking %s ended without an answer", what);
		return -EIO;
	}
	return res;
}
