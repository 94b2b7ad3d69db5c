/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The hook run as libvirt runs it: see hrun.h. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hrun.h"
#include "run.h"
#include "wrun.h"

static long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000L + t.tv_nsec / 1000000L;
}

int hook(struct hrun *h, const char *root, const char *xml, const char *domain, const char *op,
	 const char *subop, unsigned flags, const char *const *env)
{
	char *dir = test_tmpdir("hook"), out[600], err[600];
	const char *argv[16];
	int in[2], n = 0, st, i;
	long t0;
	pid_t pid;

	memset(h, 0, sizeof(*h));
	snprintf(out, sizeof(out), "%s/out", dir);
	snprintf(err, sizeof(err), "%s/err", dir);
	argv[n++] = flags & H_REAL ? gpupart_bin() : fake_bin();
	argv[n++] = "--root";
	argv[n++] = root;
	if (flags & H_VERBOSE)
		argv[n++] = "-v";
	argv[n++] = "hook";
	argv[n++] = "qemu";
	argv[n++] = "--"; /* as the installed script runs it: a domain may be named "-x" */
	argv[n++] = domain;
	argv[n++] = op;
	argv[n++] = subop;
	argv[n++] = "-";
	argv[n] = NULL;
	signal(SIGPIPE, SIG_IGN);
	cr_assert_eq(pipe(in), 0);
	t0 = now_ms();
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		int fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int fe = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		dup2(in[0], 0);
		close(in[0]);
		close(in[1]);
		if (flags & H_STDOUT_CLOSED)
			close(1);
		else
			dup2(fo, 1);
		dup2(fe, 2);
		for (i = 0; env && env[i]; i++)
			putenv((char *)env[i]);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	if (xml) {
		size_t len = strlen(xml), done = 0;

		while (done < len) {
			ssize_t k = write(in[1], xml + done, len - done);

			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break; /* the hook stopped reading: its status says why */
			done += (size_t)k;
		}
	}
	if (!(flags & H_STDIN_OPEN))
		close(in[1]);
	waitpid(pid, &st, 0);
	h->ms = now_ms() - t0;
	if (flags & H_STDIN_OPEN)
		close(in[1]);
	h->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	h->out = slurp(out);
	h->err = slurp(err);
	if (!h->out)
		h->out = strdup("");
	if (!h->err)
		h->err = strdup("");
	return h->status;
}

void hrun_free(struct hrun *h)
{
	free(h->out);
	free(h->err);
	memset(h, 0, sizeof(*h));
}

static void append(char **s, size_t *len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char **s, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *t;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&t, fmt, ap);
	va_end(ap);
	cr_assert_geq(n, 0);
	*s = realloc(*s, *len + (size_t)n + 1);
	cr_assert_not_null(*s);
	memcpy(*s + *len, t, (size_t)n + 1);
	*len += (size_t)n;
	free(t);
}

char *dom_xml(const char *name, const char *uuid, const char *const *devs, bool alias,
	      size_t pad, bool dda)
{
	char *s = NULL;
	size_t len = 0, i;

	append(&s, &len, "<domain type='kvm'>\n  <name>%s</name>\n  <uuid>%s</uuid>\n", name,
	       uuid);
	if (pad) {
		char *text = malloc(pad + 1);

		cr_assert_not_null(text);
		for (i = 0; i < pad; i++)
			text[i] = (char)('a' + (int)(i % 26));
		text[pad] = 0;
		append(&s, &len, "  <description>%s</description>\n", text);
		free(text);
	}
	if (dda)
		append(&s, &len, "  <metadata>\n    <gpupart:dda xmlns:gpupart="
				 "'https://gpupart.org/xmlns/dda/1' version='1' bus='1'>\n"
				 "      <gpupart:function address='0000:65:00.0'/>\n"
				 "    </gpupart:dda>\n  </metadata>\n");
	append(&s, &len, "  <memory unit='KiB'>131072</memory>\n  <vcpu>1</vcpu>\n"
			 "  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n  <devices>\n");
	for (i = 0; devs && devs[i]; i++) {
		const char *d = strchr(devs[i], ' ') + 1;
		char al[96];
		unsigned dom, bus, slot, fn;
		size_t k;

		snprintf(al, sizeof(al), "ua-gpupart-%s", d);
		for (k = 0; al[k]; k++)
			if (al[k] == ':' || al[k] == '.')
				al[k] = '-';
		if (!strncmp(devs[i], "mdev ", 5)) {
			append(&s, &len, "    <hostdev mode='subsystem' type='mdev' managed='no' "
					 "model='vfio-pci' display='off'>\n      <source>\n"
					 "        <address uuid='%s'/>\n      </source>\n", d);
		} else {
			cr_assert_eq(sscanf(d, "%x:%x:%x.%x", &dom, &bus, &slot, &fn), 4, "%s", d);
			append(&s, &len, "    <hostdev mode='subsystem' type='pci' managed='no'>\n"
					 "      <source>\n        <address domain='0x%04x' "
					 "bus='0x%02x' slot='0x%02x' function='0x%x'/>\n"
					 "      </source>\n", dom, bus, slot, fn);
		}
		if (alias)
			append(&s, &len, "      <alias name='%s'/>\n", al);
		append(&s, &len, "    </hostdev>\n");
	}
	append(&s, &len, "  </devices>\n</domain>\n");
	return s;
}

static char **owned;
static size_t n_owned;

char *h_own(char *s)
{
	owned = realloc(owned, (n_owned + 1) * sizeof(*owned));
	cr_assert_not_null(owned);
	owned[n_owned++] = s;
	return s;
}

void h_free_owned(void)
{
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	owned = NULL;
	n_owned = 0;
}

char *record_of(const char *root, const char *device)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/run/gpupart/reservations/%s", root, device);
	return slurp(p);
}

void put_record(const char *root, const char *device, const char *uuid, const char *domain,
		const char *gpu, int partition)
{
	char rel[128], text[512];

	mkdirs(root, "run/gpupart/reservations");
	snprintf(rel, sizeof(rel), "run/gpupart/reservations/%s", device);
	snprintf(text, sizeof(text),
		 "reservation device=%s uuid=%s domain=%s gpu=%s partition=%d\n", device, uuid,
		 domain, gpu, partition);
	put(root, rel, text);
}

int n_records(const char *root)
{
	char cmd[700];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A %s/run/gpupart/reservations 2>/dev/null | wc -l", root);
	p = popen(cmd, "r");
	cr_assert_not_null(p);
	cr_assert_eq(fscanf(p, "%d", &n), 1);
	pclose(p);
	return n;
}
