/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart hook qemu DOMAIN OPERATION SUBOP [EXTRA]`: libvirt's qemu hook (gpupart/hook.h),
 * installed as /etc/libvirt/hooks/qemu.d/gpupart (a two-line script that execs this).
 * libvirt runs it synchronously with no timeout and the domain XML on stdin
 * (src/util/virhook.c, virHookCall: virCommandSetInputBuffer), keeps what it writes on
 * stderr for its error message, and for "migrate" and "restore" reads stdout as replacement
 * XML (qemuMigrationDstPrepareAny: an empty answer keeps the XML). So:
 *   - stdout is /dev/null from the first line: nothing reaches it, whatever happens;
 *   - stdin is read to EOF within GP_HOOK_STDIN_MS, at most GP_HOOK_XML_MAX bytes kept (the
 *     whole document is needed; libvirt itself ignores a hook that stops reading early:
 *     vircommand.c ignores EPIPE on a child's stdin);
 *   - libvirt waits for ever, so every part is bounded: the read of stdin and the parse by
 *     an alarm (GP_HOOK_BOUND_S), the host lock by GP_HOOK_LOCK_MS, each kernel write by the
 *     write timeout (its own child, host/kernel.c). The alarm is off while the operation
 *     runs: ending the process in the middle of a transaction would leave a GPU half made;
 *   - libvirt is never loaded: the context has no libvirt, the XML is parsed with libxml2.
 * Exit status: 1 refuses a start (prepare) or an incoming migration (migrate); every other
 * operation exits 0 whatever happens (reconnect must: a failure makes libvirt kill the VM,
 * qemuProcessReconnect).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <gpupart/hook.h>
#include <gpupart/virt.h>

#include "cli.h"

#define GP_HOOK_STDIN_MS 5000          /* libvirt writes the XML at once */
#define GP_HOOK_XML_MAX (16u << 20)    /* a domain XML is kilobytes; 16 MiB is no domain */
#define GP_HOOK_LOCK_MS 60000          /* another hook recreating a GPU's partitions (sriov-manage
					* alone takes seconds), or any gpupart command */
#define GP_HOOK_BOUND_S 30             /* reading stdin and parsing it */
#define STR_(x) #x
#define STR(x) STR_(x)

static volatile sig_atomic_t alarm_status = 1;

static void on_alarm(int sig)
{
	static const char msg[] = "gpupart: hook: out of time (" STR(GP_HOOK_BOUND_S) " s): giving up\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to say */
	}
	_exit(alarm_status);
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* stdin to EOF within GP_HOOK_STDIN_MS: 0 with *out (NUL-terminated), -ETIMEDOUT, -EFBIG
 * (read to EOF, too much kept), -errno. */
static int read_stdin(char **out, size_t *len)
{
	long long end = now_ms() + GP_HOOK_STDIN_MS;
	size_t cap = 65536, n = 0;
	char *buf = malloc(cap + 1), sink[65536];
	bool big = false;

	*out = NULL;
	*len = 0;
	if (!buf)
		return -ENOMEM;
	for (;;) {
		struct pollfd p = { .fd = 0, .events = POLLIN };
		long long left = end - now_ms();
		ssize_t k;
		int pr;

		if (left <= 0) {
			free(buf);
			return -ETIMEDOUT;
		}
		pr = poll(&p, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			free(buf);
			return -errno;
		}
		if (pr == 0)
			continue;
		if (n == cap && !big) {
			char *t = cap * 2 <= GP_HOOK_XML_MAX ? realloc(buf, cap * 2 + 1) : NULL;

			if (t) {
				buf = t;
				cap *= 2;
			} else {
				big = true;
			}
		}
		k = big ? read(0, sink, sizeof(sink)) : read(0, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			free(buf);
			return -errno;
		}
		if (k == 0)
			break;
		if (!big)
			n += (size_t)k;
	}
	buf[n] = 0;
	if (big) {
		free(buf);
		return -EFBIG;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* The devices the XML names, once each (assign's alias on any of its hostdevs counts). */
static int hook_devs(const struct gp_virt_use *u, size_t n, struct gp_hook_dev **out, size_t *nd)
{
	size_t i, k;

	*out = calloc(n ? n : 1, sizeof(**out));
	*nd = 0;
	if (!*out)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		for (k = 0; k < *nd && strcmp((*out)[k].device, u[i].device); k++)
			;
		if (k == *nd)
			(*out)[(*nd)++] = (struct gp_hook_dev){ u[i].device, u[i].gpupart };
		else
			(*out)[k].gpupart |= u[i].gpupart;
	}
	return 0;
}

/* A refusal or a change, to syslog too (libvirt keeps stderr only in its error message). */
static void say(const struct gp_cli *cli, int prio, const char *domain, const char *detail)
{
	if (prio == LOG_ERR)
		gp_cli_err("hook: %s: %s", domain, detail);
	else if (prio == LOG_WARNING)
		gp_cli_warn("hook: %s: %s", domain, detail);
	else if (cli->verbosity > 0)
		fprintf(stderr, "gpupart: hook: %s: %s\n", domain, detail);
	if (!strcmp(gp_ctx_root(cli->ctx), "/"))
		syslog(prio, "%s: %s", domain, detail);
}

static int refuse(const struct gp_cli *cli, enum gp_hook_op op, const char *domain,
		  const char *detail)
{
	say(cli, op == GP_HOOK_PREPARE || op == GP_HOOK_MIGRATE ? LOG_ERR : LOG_WARNING, domain,
	    detail);
	return op == GP_HOOK_PREPARE || op == GP_HOOK_MIGRATE ? EXIT_FAIL : EXIT_OK;
}

static int run(struct gp_cli *cli, enum gp_hook_op op, const char *domain, char *xml)
{
	struct gp_virt_domain vd = { 0 };
	struct gp_virt_use *uses = NULL;
	struct gp_hook_result res = { 0 };
	struct gp_hook_dev *devs = NULL;
	struct gp_hook_domain d;
	size_t n_uses = 0, n_devs = 0, i;
	int r, status = EXIT_OK;

	r = gp_virt_parse_domain_xml(xml, NULL, GP_VIRT_EVERY, NULL, GP_VIRT_EVERY, &uses,
				     &n_uses);
	vd.xml = xml;
	if (r == 0)
		r = gp_virt_domain_facts(&vd, NULL, 0);
	vd.xml = NULL;
	if (r == 0)
		r = hook_devs(uses, n_uses, &devs, &n_devs);
	if (r < 0) {
		status = refuse(cli, op, domain,
				r == -ENOMEM ? "out of memory" :
					       "the domain XML on stdin does not parse: refusing");
		goto out;
	}
	d = (struct gp_hook_domain){ .name = domain, .uuid = vd.uuid, .devs = devs,
				     .n_devs = n_devs, .dda_recorded = vd.recorded };
	alarm(0); /* bounded by its parts from here (see the top of this file) */
	r = gp_hook_run(cli->ctx, op, &d, GP_HOOK_LOCK_MS, &res);
	if (r < 0) {
		status = refuse(cli, op, domain, "out of memory");
		goto out;
	}
	for (i = 0; i < res.findings.n; i++) {
		const struct gp_finding *f = &res.findings.v[i];

		if (f->severity == GP_SEV_ERROR)
			status = refuse(cli, op, domain, f->detail);
		else if (f->severity == GP_SEV_WARNING)
			say(cli, LOG_WARNING, domain, f->detail);
	}
	if (res.recreated)
		say(cli, LOG_NOTICE, domain, "its lost partitions were made again (the layout)");
out:
	gp_hook_result_clear(&res);
	gp_virt_uses_free(uses, n_uses);
	gp_virt_domain_clear(&vd);
	free(devs);
	return status;
}

int cmd_hook(struct gp_cli *cli, int argc, char **argv)
{
	enum gp_hook_op op;
	char *xml = NULL;
	size_t len;
	int fd, r, status;

	/* first: nothing may reach libvirt's stdout (replacement XML for migrate, restore) */
	fflush(stdout);
	fd = open("/dev/null", O_WRONLY);
	if (fd < 0 || (fd != 1 && dup2(fd, 1) < 0)) {
		gp_cli_err("hook: cannot close stdout: %s", strerror(errno));
		return EXIT_FAIL;
	}
	if (fd != 1) /* a closed stdout: /dev/null took its place */
		close(fd);
	if (strcmp(argv[0], "qemu")) {
		gp_cli_err("hook: only libvirt's qemu driver is hooked, not '%s'", argv[0]);
		return EXIT_USAGE;
	}
	op = gp_hook_op_parse(argv[2], argv[3]);
	alarm_status = op == GP_HOOK_PREPARE || op == GP_HOOK_MIGRATE ? EXIT_FAIL : EXIT_OK;
	signal(SIGALRM, on_alarm);
	alarm(GP_HOOK_BOUND_S);
	openlog("gpupart-hook", LOG_PID, LOG_DAEMON);
	/* libvirt shows all of stderr in its error: the library's own warnings only with -v */
	if (cli->verbosity == 0)
		gp_ctx_set_log_level(cli->ctx, GP_LOG_ERR);
	r = read_stdin(&xml, &len);
	if (r < 0) {
		char why[160];

		snprintf(why, sizeof(why), "the domain XML on stdin: %s",
			 r == -ETIMEDOUT ? "no end of it within 5 s" :
			 r == -EFBIG	 ? "over 16 MiB" :
					   strerror(-r));
		status = op == GP_HOOK_OTHER ? EXIT_OK : refuse(cli, op, argv[1], why);
	} else {
		status = op == GP_HOOK_OTHER ? EXIT_OK : run(cli, op, argv[1], xml);
	}
	free(xml);
	alarm(0);
	closelog();
	return status;
}
