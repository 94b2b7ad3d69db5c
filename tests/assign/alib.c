/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The assign suite's helpers: see alib.h. */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "../lib/daemon.h"
#include "alib.h"
#include "fixture.h"

virConnectPtr conn;

/* ---- the suite's daemon: one per run, in the runner ---------------------------------- */

static struct test_daemon dmn;

static void cache_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/lvd-cache", test_tmpbase());
}

/* the fixture trees, written once per run and copied for each test: cp -a is several times
 * faster than the fixture writer on this disk (a16-vfio: 5 s, its copy 0.7 s) */
static void trees_dir(char *buf, size_t len)
{
	snprintf(buf, len, "%s/fx-trees", test_tmpbase());
}

/* Before the first test is spawned (the runner process): the tests inherit its URI. A
 * daemon that does not start leaves the variable unset and every test fails saying so. */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
	char cache[512];

	(void)set;
	cache_dir(cache, sizeof(cache));
	if (test_daemon_start(&dmn, test_tmpbase(), cache) == 0)
		setenv("GP_ASSIGN_URI", dmn.uri, 1);
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char cache[512];

	(void)stats;
	test_daemon_stop(&dmn);
	cache_dir(cache, sizeof(cache));
	rm_tree(cache);
	trees_dir(cache, sizeof(cache));
	rm_tree(cache);
}

const char *a_uri(void)
{
	const char *u = getenv("GP_ASSIGN_URI");

	cr_assert_not_null(u, "the suite's libvirt daemon did not start (see the log above)");
	return u;
}

/* ---- per test ------------------------------------------------------------------------ */

static char **owned;
static size_t n_owned;

char *a_own(char *s)
{
	owned = realloc(owned, (n_owned + 1) * sizeof(*owned));
	cr_assert_not_null(owned);
	owned[n_owned++] = s;
	return s;
}

static void quiet(void *data, virErrorPtr e)
{
	(void)data;
	(void)e;
}

void a_init(void)
{
	wsetup();
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(a_uri());
	cr_assert_not_null(conn, "cannot connect to %s: %s", a_uri(), virGetLastErrorMessage());
}

/* every domain goes: the next test's picker must not see this one's */
static void undefine_all(void)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(conn, &doms, 0);

	for (int i = 0; i < n; i++) {
		if (virDomainIsActive(doms[i]) == 1)
			virDomainDestroy(doms[i]);
		if (virDomainIsPersistent(doms[i]) == 1)
			virDomainUndefine(doms[i]);
		virDomainFree(doms[i]);
	}
	free(doms);
}

void a_fini(void)
{
	if (conn) {
		undefine_all();
		virConnectClose(conn);
	}
	conn = NULL;
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	owned = NULL;
	n_owned = 0;
	wteardown();
}

/* ---- domains ------------------------------------------------------------------------- */

const char *a_uuid(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;
	char *u;

	for (const char *p = name; *p; p++) {
		h ^= (unsigned char)*p;
		h *= 0x100000001b3ull;
	}
	cr_assert_geq(asprintf(&u, "5e1f%04x-%04x-4%03x-8%03x-%012llx", (unsigned)(h >> 48),
			       (unsigned)(h >> 32) & 0xffff, (unsigned)(h >> 20) & 0xfff,
			       (unsigned)(h >> 8) & 0xfff, (unsigned long long)(h & 0xffffffffffffull)),
		      0);
	return a_own(u);
}

char *a_xml(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	char *x;

	cr_assert_not_null(d, "no domain %s", name);
	x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	cr_assert_not_null(x, "%s: %s", name, virGetLastErrorMessage());
	virDomainFree(d);
	return a_own(x);
}

char *a_live_xml(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	char *x;

	cr_assert_not_null(d, "no domain %s", name);
	x = virDomainGetXMLDesc(d, 0);
	cr_assert_not_null(x);
	virDomainFree(d);
	return a_own(x);
}

char *a_define(const char *name, const char *devices)
{
	return a_define_with(name, NULL, devices);
}

char *a_define_with(const char *name, const char *extra, const char *devices)
{
	char *xml, *x;
	virDomainPtr d;

	cr_assert_geq(asprintf(&xml,
			       "<domain type='qemu'><name>%s</name><uuid>%s</uuid>"
			       "<memory unit='KiB'>131072</memory>%s"
			       "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
			       "<devices><controller type='pci' model='pcie-root'/>%s</devices>"
			       "</domain>",
			       name, a_uuid(name), extra ? extra : "", devices ? devices : ""),
		      0);
	d = virDomainDefineXML(conn, xml);
	free(xml);
	cr_assert_not_null(d, "define %s: %s", name, virGetLastErrorMessage());
	x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	virDomainFree(d);
	cr_assert_not_null(x);
	d = virDomainDefineXML(conn, x);
	free(x);
	cr_assert_not_null(d, "define %s again: %s", name, virGetLastErrorMessage());
	virDomainFree(d);
	return a_xml(name);
}

bool a_active(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	bool a = d && virDomainIsActive(d) == 1;

	if (d)
		virDomainFree(d);
	return a;
}

void a_start(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);

	cr_assert_not_null(d, "no domain %s", name);
	cr_assert_eq(virDomainCreate(d), 0, "start %s: %s", name, virGetLastErrorMessage());
	virDomainFree(d);
}

static int by_name(const void *a, const void *b)
{
	return strcmp(virDomainGetName(*(virDomainPtr const *)a),
		      virDomainGetName(*(virDomainPtr const *)b));
}

char *a_all_xml(void)
{
	virDomainPtr *doms = NULL;
	int n = virConnectListAllDomains(conn, &doms, VIR_CONNECT_LIST_DOMAINS_PERSISTENT);
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	cr_assert_geq(n, 0, "%s", virGetLastErrorMessage());
	qsort(doms, (size_t)n, sizeof(*doms), by_name);
	for (int i = 0; i < n; i++) {
		char *x = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);

		fprintf(m, "== %s\n%s\n", virDomainGetName(doms[i]), x ? x : "(unreadable)");
		free(x);
		virDomainFree(doms[i]);
	}
	free(doms);
	fclose(m);
	return a_own(out);
}

/* ---- the tool ------------------------------------------------------------------------ */

void a_argv(const char **argv, const char *root, const char *const *args)
{
	int n = 0;

	argv[n++] = fake_bin();
	argv[n++] = "--root";
	argv[n++] = root;
	for (int i = 0; args[i] && n < 45; i++)
		argv[n++] = args[i];
	argv[n++] = "--connect";
	argv[n++] = a_uri();
	argv[n] = NULL;
}

int a_gp_v(struct run *r, const char *const *env, const char *root, const char *const *args)
{
	const char *argv[48];
	int st, i;

	a_argv(argv, root, args);
	for (i = 0; env && env[i]; i++)
		putenv((char *)env[i]);
	st = run_argv(r, (char *const *)argv);
	for (i = 0; env && env[i]; i++) {
		char name[64];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(env[i], "="), env[i]);
		unsetenv(name);
	}
	return st;
}

void a_ok(const char *root, const char *const *args)
{
	struct run r;

	cr_assert_eq(a_gp_v(&r, NULL, root, args), 0, "%s %s: exit %d\n%s%s", args[0],
		     args[1] ? args[1] : "", r.status, r.out, r.err);
	run_free(&r);
}

void a_wait_at_lock(pid_t pid, const char *root)
{
	char lock[600], dir[64], link[700], tgt[700];
	int i;

	snprintf(lock, sizeof(lock), "%s/run/gpupart/lock", root);
	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	for (i = 0; i < 6000; i++) {
		struct dirent *e;
		bool hit = false;
		DIR *d = opendir(dir);

		while (d && !hit && (e = readdir(d))) {
			ssize_t n;

			snprintf(link, sizeof(link), "%s/%s", dir, e->d_name);
			n = readlink(link, tgt, sizeof(tgt) - 1);
			if (n > 0) {
				tgt[n] = 0;
				hit = !strcmp(tgt, lock);
			}
		}
		if (d)
			closedir(d);
		if (hit)
			return;
		usleep(10 * 1000);
	}
	cr_assert_fail("gpupart (pid %d) never came to the host lock", (int)pid);
}

int a_gp(struct run *r, const char *const *env, const char *root, ...)
{
	const char *args[40];
	va_list ap;
	int n = 0;
	const char *s;

	va_start(ap, root);
	while ((s = va_arg(ap, const char *)) && n < 39)
		args[n++] = s;
	va_end(ap);
	args[n] = NULL;
	return a_gp_v(r, env, root, args);
}

/* ---- hostdevs ------------------------------------------------------------------------ */

/* attribute @name of the tag in [tag, end) into @out ("" when absent) */
static void attr(const char *tag, const char *end, const char *name, char *out, size_t len)
{
	char key[40];
	const char *p;

	snprintf(key, sizeof(key), " %s='", name);
	out[0] = '\0';
	p = strstr(tag, key);
	if (!p || p >= end)
		return;
	p += strlen(key);
	snprintf(out, len, "%.*s", (int)strcspn(p, "'"), p);
}

static void one_hostdev(const char *h, const char *close, struct a_hostdev *d)
{
	const char *tag_end = strchr(h, '>'), *src = strstr(h, "<source>"), *a;
	char v[4][16];

	memset(d, 0, sizeof(*d));
	attr(h, tag_end, "mode", d->mode, sizeof(d->mode));
	attr(h, tag_end, "type", d->type, sizeof(d->type));
	attr(h, tag_end, "managed", d->managed, sizeof(d->managed));
	attr(h, tag_end, "model", d->model, sizeof(d->model));
	a = src && src < close ? strstr(src, "<address ") : NULL;
	if (a && a < close) {
		const char *ae = strstr(a, "/>");

		if (!strcmp(d->type, "mdev")) {
			attr(a, ae, "uuid", d->source, sizeof(d->source));
		} else {
			static const char *const k[] = { "domain", "bus", "slot", "function" };

			for (int i = 0; i < 4; i++)
				attr(a, ae, k[i], v[i], sizeof(v[i]));
			snprintf(d->source, sizeof(d->source), "%04lx:%02lx:%02lx.%lx",
				 strtoul(v[0], NULL, 16), strtoul(v[1], NULL, 16),
				 strtoul(v[2], NULL, 16), strtoul(v[3], NULL, 16));
		}
	}
	a = strstr(h, "<alias ");
	if (a && a < close)
		attr(a, strstr(a, "/>"), "name", d->alias, sizeof(d->alias));
}

int a_hostdevs(const char *xml, struct a_hostdev *out, int max)
{
	const char *p = xml;
	int n = 0;

	while ((p = strstr(p, "<hostdev "))) {
		const char *close = strstr(p, "</hostdev>");

		cr_assert_not_null(close, "a <hostdev> without its end in\n%s", xml);
		if (n < max)
			one_hostdev(p, close, &out[n]);
		n++;
		p = close;
	}
	return n;
}

void a_alias(const char *device, char out[96])
{
	size_t i;

	snprintf(out, 96, "ua-gpupart-%s", device);
	for (i = 11; out[i]; i++)
		if (out[i] == ':' || out[i] == '.')
			out[i] = '-';
}

void a_expect_hostdev(const char *xml, const char *backend, const char *device)
{
	struct a_hostdev h[8];
	char alias[96];
	int n = a_hostdevs(xml, h, 8), hit = -1;

	for (int i = 0; i < n && i < 8; i++)
		if (!strcmp(h[i].source, device)) {
			cr_assert_lt(hit, 0, "two hostdevs of %s in\n%s", device, xml);
			hit = i;
		}
	cr_assert_geq(hit, 0, "no hostdev of %s in\n%s", device, xml);
	cr_expect_str_eq(h[hit].mode, "subsystem", "%s", xml);
	if (!strcmp(backend, "nvidia-mdev")) {
		cr_expect_str_eq(h[hit].type, "mdev", "%s", xml);
		cr_expect_str_eq(h[hit].model, "vfio-pci", "%s", xml);
	} else {
		cr_expect_str_eq(h[hit].type, "pci", "%s", xml);
		cr_expect_str_eq(h[hit].managed, "no", "%s: never managed (libvirt would rebind)", xml);
	}
	a_alias(device, alias);
	cr_expect_str_eq(h[hit].alias, alias, "%s", xml);
}

char *a_without_root_ports(const char *xml)
{
	char *out = a_own(strdup(xml)), *p = out;

	while ((p = strstr(p, "<controller type='pci'"))) {
		char *gt = strchr(p, '>'), *end, *line = p;

		cr_assert_not_null(gt);
		if (!strstr(p, "model='pcie-root-port'") || strstr(p, "model='pcie-root-port'") > gt) {
			p = gt;
			continue;
		}
		end = gt[-1] == '/' ? gt + 1 : strstr(gt, "</controller>") + strlen("</controller>");
		/* the whole line(s), indentation and newline included */
		while (line > out && line[-1] == ' ')
			line--;
		if (*end == '\n')
			end++;
		memmove(line, end, strlen(end) + 1);
		p = line;
	}
	return out;
}

/* ---- reservations and the tree --------------------------------------------------------- */

char *a_resv(const char *root, const char *device)
{
	char *p, *t;

	cr_assert_geq(asprintf(&p, "%s/run/gpupart/reservations/%s", root, device), 0);
	t = slurp(p);
	free(p);
	return t ? a_own(t) : NULL;
}

int a_resv_count(const char *root)
{
	char *p;
	DIR *d;
	struct dirent *e;
	int n = 0;

	cr_assert_geq(asprintf(&p, "%s/run/gpupart/reservations", root), 0);
	d = opendir(p);
	free(p);
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	if (d)
		closedir(d);
	return n;
}

char *a_resv_want(const char *device, const char *domain, const char *gpu, int id)
{
	char *s;

	cr_assert_geq(asprintf(&s, "reservation device=%s uuid=%s domain=%s gpu=%s partition=%d\n",
			       device, a_uuid(domain), domain, gpu, id),
		      0);
	return a_own(s);
}

char *a_state(const char *root)
{
	char *m = manifest(root, M_STATE), *l;
	static const char dir[] = "run/gpupart/reservations d ";

	/* the directory's own line goes (assign makes it); what is in it stays */
	l = strstr(m, dir);
	if (l && (l == m || l[-1] == '\n')) {
		size_t n = strcspn(l, "\n");

		memmove(l, l + n + (l[n] ? 1 : 0), strlen(l + n + (l[n] ? 1 : 0)) + 1);
	}
	return a_own(m);
}

/* @tmp's tree made: from the scenario's fixture, or from @base's tree changed by @make */
static void make_tree(const char *scenario, const char *base, void (*make)(const char *root),
		      const char *tmp)
{
	char from[600];
	struct run r;

	if (!base) {
		cr_assert_eq(fx_scenario_write(scenario, tmp), 0, "fixture %s", scenario);
		return;
	}
	trees_dir(from, sizeof(from));
	snprintf(from + strlen(from), sizeof(from) - strlen(from), "/%s", base);
	{
		char *argv[] = { "/bin/cp", "-a", from, (char *)tmp, NULL };

		cr_assert_eq(run_argv(&r, argv), 0, "cp: %s", r.err);
		run_free(&r);
	}
	make(tmp);
}

/* the run's tree @name in @path, made by the first test that asks (see make_tree) */
static void cached(const char *name, const char *base, void (*make)(const char *root),
		   char *path, size_t len)
{
	char dir[512], tmp[640], unused[640];

	trees_dir(dir, sizeof(dir));
	snprintf(path, len, "%s/%s", dir, name);
	if (access(path, F_OK) == 0)
		return;
	if (base)
		cached(base, NULL, NULL, unused, sizeof(unused));
	/* the name appears whole (rename) */
	cr_assert(mkdir(dir, 0755) == 0 || errno == EEXIST, "%s: %s", dir, strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s/.%s.%d", dir, name, (int)getpid());
	make_tree(name, base, make, tmp);
	/* another test's may have landed first (tests run in parallel outside meson) */
	if (rename(tmp, path) < 0) {
		cr_assert(errno == EEXIST || errno == ENOTEMPTY, "%s: %s", path, strerror(errno));
		rm_tree(tmp);
	}
}

/* what an earlier test left in @root: records, a journal, the locks, the fake's log */
static void clean(const char *root)
{
	char *run;

	cr_assert_geq(asprintf(&run, "%s/run", root), 0);
	rm_tree(run);
	free(run);
	fklog_reset(root);
}

char *a_tree(const char *scenario)
{
	return a_tree_made(scenario, NULL, NULL);
}

char *a_tree_made(const char *name, const char *scenario, void (*make)(const char *root))
{
	char path[600];

	cached(name, scenario, make, path, sizeof(path));
	clean(path);
	return a_own(strdup(path));
}

char *a_tree_copy(const char *scenario)
{
	char path[600], *copy;

	cached(scenario, NULL, NULL, path, sizeof(path));
	copy = wcopy(path);
	clean(copy);
	return copy;
}

bool a_has_code(const char *json, const char *code)
{
	char want[128];

	snprintf(want, sizeof(want), "\"code\": \"%s\"", code);
	return json && strstr(json, want);
}
