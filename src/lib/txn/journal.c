/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The journal: ROOT/run/gpupart/journal, the original state of every GPU a change touches
 * (and of the partitions.conf entries it replaces), written atomically before the first sysfs
 * write and removed once the host is in the target state (or back in the original one). Text,
 * one record per line, so an admin can read what a crashed run was doing (format: gpupart(8),
 * FILES). It lives under /run on purpose: a reboot recreates every VF and mdev from scratch,
 * and a journal about devices that no longer exist must not survive to be "restored" onto new
 * ones (reliability.md invariant 25).
 *
 * Nothing in it is trusted: `repair` acts as root on what it names, so a journal that is not
 * exactly what gpupart writes (header, records, end marker last) or that names devices the
 * host does not have in that shape is damaged, and damaged means refused and kept.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <gpupart/layout.h>
#include <gpupart/plan.h>

#include "host/hostfs.h"
#include "base/internal.h"
#include "txn/journal.h"

#define JOURNAL "journal"
#define VERSION "2"

static const char *opt(const char *s)
{
	return s ? s : "-";
}

static void put_int(FILE *f, const char *key, int v)
{
	if (v == GP_UNKNOWN)
		fprintf(f, " %s=-", key);
	else
		fprintf(f, " %s=%d", key, v);
}

/* One partitions.conf entry as the layout writes it (its line, without the newline). */
static char *entry_line(const struct gp_layout_entry *e)
{
	struct gp_layout one = { .v = (struct gp_layout_entry *)e, .n = 1 };
	char *text = gp_layout_format(&one), *line = NULL, *p, *save = NULL;

	if (!text)
		return NULL;
	for (p = strtok_r(text, "\n", &save); p; p = strtok_r(NULL, "\n", &save))
		if (*p != '#') {
			line = strdup(p);
			break;
		}
	free(text);
	return line;
}

int gp_journal_write(struct gp_ctx *ctx, const struct gp_journal *j)
{
	char *buf = NULL;
	size_t len = 0, i, k;
	FILE *f;
	int r;

	f = open_memstream(&buf, &len);
	if (!f)
		return -ENOMEM;
	fputs("# gpupart journal: a change in progress; `gpupart repair` undoes it (gpupart(8))\n"
	      "journal " VERSION "\n", f);
	fprintf(f, "pid %d %llu\n", j->pid, j->start);
	fprintf(f, "command %s\n", j->command ? j->command : "");
	for (i = 0; i < j->n_gpus; i++) {
		const struct gp_gpu_state *s = &j->gpus[i];
		const struct gp_pci_ident *id = &j->idents[i];

		fprintf(f, "gpu %s backend=%s", s->address, opt(gp_backend_str(s->backend)));
		put_int(f, "numvfs", s->numvfs);
		put_int(f, "autoprobe", s->autoprobe);
		fprintf(f, " id=%04x:%04x subsystem=%04x:%04x class=%06llx\n", id->vendor & 0xffff,
			id->device & 0xffff, id->subsystem_vendor & 0xffff,
			id->subsystem_device & 0xffff, (unsigned long long)id->class_code & 0xffffff);
		for (k = 0; k < s->n_vfs; k++) {
			const struct gp_vf_state *v = &s->vfs[k];

			fprintf(f, "vf %s %d %s driver=%s override=%s", s->address, v->index,
				v->address, opt(v->driver), opt(v->override));
			put_int(f, "type", v->vgpu_type);
			fputc('\n', f);
		}
		for (k = 0; k < s->n_mdevs; k++)
			fprintf(f, "mdev %s %s parent=%s type=%s\n", s->address, s->mdevs[k].uuid,
				s->mdevs[k].parent, opt(s->mdevs[k].type_key));
	}
	for (i = 0; i < j->layout_had.n; i++) {
		char *line = entry_line(&j->layout_had.v[i]);

		if (!line) {
			fclose(f);
			free(buf);
			return -ENOMEM;
		}
		fprintf(f, "layout %s\n", line);
		free(line);
	}
	for (i = 0; i < j->n_layout_absent; i++)
		fprintf(f, "layout %s -\n", j->layout_absent[i]);
	if (j->stuck_pid > 0)
		fprintf(f, "stuck %d %llu %s\n", j->stuck_pid, j->stuck_start, j->stuck_path);
	/* last: a journal cut short (a full /run, a torn copy) lacks it and is refused */
	fputs("end\n", f);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	r = gp_hostfs_write_file(ctx, GP_HP_STATE_DIR, JOURNAL, buf, len, 0600, 0700);
	free(buf);
	return r;
}

/* ---- parsing: every token checked, nothing assumed ---- */

/* "key=value" where value is "-" for none. */
static int kv(const char *tok, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(tok, key, n) != 0 || tok[n] != '=' || !tok[n + 1])
		return -EINVAL;
	*val = strcmp(tok + n + 1, "-") == 0 ? NULL : tok + n + 1;
	return 0;
}

/* A decimal number with no sign, space or leading zero (what we print), at most @max. */
static int strict_uint(const char *s, unsigned long long max, unsigned long long *out)
{
	unsigned long long v = 0;
	const char *p;

	if (!s || !*s || (s[0] == '0' && s[1]))
		return -EINVAL;
	for (p = s; *p; p++) {
		unsigned d = (unsigned)(*p - '0');

		if (*p < '0' || *p > '9' || d > max || v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int strict_int(const char *s, int max, int *out)
{
	unsigned long long v;

	if (strict_uint(s, (unsigned long long)max, &v) < 0)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

static int kv_int(const char *tok, const char *key, int max, int *out)
{
	const char *v;

	if (kv(tok, key, &v) < 0)
		return -EINVAL;
	if (!v) {
		*out = GP_UNKNOWN;
		return 0;
	}
	return strict_int(v, max, out);
}

/* Driver names as the kernel's driver core has them: short, no path, no space. */
static bool is_name(const char *s)
{
	size_t n = 0;

	if (!s)
		return true;
	for (; s[n]; n++)
		if (!isalnum((unsigned char)s[n]) && !strchr("_-.", s[n]))
			return false;
	return n > 0 && n < 64 && strcmp(s, ".") && strcmp(s, "..");
}

static int kv_name(const char *tok, const char *key, char **out)
{
	const char *v;

	*out = NULL;
	if (kv(tok, key, &v) < 0 || !is_name(v))
		return -EINVAL;
	if (v && !(*out = strdup(v)))
		return -ENOMEM;
	return 0;
}

/* RFC 9562 text form: 8-4-4-4-12 hex digits. */
static bool is_uuid(const char *s)
{
	int i;

	if (strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		/* lowercase only: sysfs names mdevs so, and a step naming another spelling
		 * would never verify */
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* A PCI address in exactly the form gpupart writes ("0000:4e:00.1"). */
static bool is_addr(const char *s)
{
	struct gp_pci_addr a;
	char canon[GP_ADDR_LEN];

	return strlen(s) < GP_ADDR_LEN && gp_pci_addr_parse(s, &a) == 0 &&
	       strcmp(gp_pci_addr_format(&a, canon), s) == 0;
}

static int hex_pair(const char *tok, const char *key, int *a, int *b)
{
	const char *v, *p;
	unsigned x, y;

	if (kv(tok, key, &v) < 0 || !v || strlen(v) != 9 || v[4] != ':')
		return -EINVAL;
	p = v;
	if (gp_parse_hexn(&p, 4, &x) < 0 || *p++ != ':' || gp_parse_hexn(&p, 4, &y) < 0 || *p)
		return -EINVAL;
	*a = (int)x;
	*b = (int)y;
	return 0;
}

static enum gp_backend backend_from(const char *s)
{
	enum gp_backend b;

	for (b = GP_BACKEND_NVIDIA_VFIO; b <= GP_BACKEND_SRIOV; b++)
		if (s && strcmp(s, gp_backend_str(b)) == 0)
			return b;
	return GP_BACKEND_NONE;
}

static struct gp_gpu_state *gpu_of(struct gp_journal *j, const char *addr)
{
	return j->n_gpus && strcmp(j->gpus[j->n_gpus - 1].address, addr) == 0 ?
		       &j->gpus[j->n_gpus - 1] : NULL;
}

static const char *parse_gpu(struct gp_journal *j, char **tok, size_t n)
{
	struct gp_gpu_state *g;
	struct gp_pci_ident *id;
	const char *b, *cls, *p;
	unsigned c;
	size_t i, n_id;

	if (n != 8)
		return "a gpu record has 8 fields";
	if (!is_addr(tok[1]))
		return "not a PCI address";
	for (i = 0; i < j->n_gpus; i++)
		if (strcmp(j->gpus[i].address, tok[1]) == 0)
			return "a GPU recorded twice";
	n_id = j->n_gpus;
	if (!(id = GP_PUSH(j->idents, n_id)) || !(g = GP_PUSH(j->gpus, j->n_gpus)))
		return "out of memory";
	strcpy(g->address, tok[1]);
	if (kv(tok[2], "backend", &b) < 0 ||
	    (g->backend = backend_from(b)) == GP_BACKEND_NONE)
		return "unknown backend";
	if (kv_int(tok[3], "numvfs", 0xffff, &g->numvfs) < 0 ||
	    kv_int(tok[4], "autoprobe", 1, &g->autoprobe) < 0)
		return "bad numvfs or autoprobe";
	if (hex_pair(tok[5], "id", &id->vendor, &id->device) < 0 ||
	    hex_pair(tok[6], "subsystem", &id->subsystem_vendor, &id->subsystem_device) < 0)
		return "bad id or subsystem";
	if (kv(tok[7], "class", &cls) < 0 || !cls || strlen(cls) != 6 ||
	    (p = cls, gp_parse_hexn(&p, 6, &c) < 0) || *p)
		return "bad class";
	id->class_code = c;
	return NULL;
}

static const char *parse_vf(struct gp_journal *j, char **tok, size_t n)
{
	struct gp_gpu_state *g;
	struct gp_vf_state *v;
	int r;

	if (n != 7)
		return "a vf record has 7 fields";
	g = gpu_of(j, tok[1]);
	if (!g)
		return "a vf record that does not follow its gpu record";
	if (!is_addr(tok[3]))
		return "not a PCI address";
	v = GP_PUSH(g->vfs, g->n_vfs);
	if (!v)
		return "out of memory";
	strcpy(v->address, tok[3]);
	if (strict_int(tok[2], 0xffff, &v->index) < 0)
		return "bad VF index";
	if (g->n_vfs > 1 && v->index <= g->vfs[g->n_vfs - 2].index)
		return "VF records out of index order";
	if (g->numvfs == GP_UNKNOWN || v->index >= g->numvfs)
		return "a VF index beyond the recorded numvfs";
	r = kv_name(tok[4], "driver", &v->driver);
	if (r == 0)
		r = kv_name(tok[5], "override", &v->override);
	if (r == -ENOMEM)
		return "out of memory";
	if (r < 0)
		return "a driver or override that is not a driver name";
	if (kv_int(tok[6], "type", 1 << 30, &v->vgpu_type) < 0)
		return "bad vGPU type";
	return NULL;
}

static const char *parse_mdev(struct gp_journal *j, char **tok, size_t n)
{
	struct gp_gpu_state *g;
	struct gp_mdev_state *m;
	const char *parent;
	int r;

	if (n != 5)
		return "an mdev record has 5 fields";
	g = gpu_of(j, tok[1]);
	if (!g)
		return "an mdev record that does not follow its gpu record";
	if (!is_uuid(tok[2]))
		return "not a UUID";
	if (kv(tok[3], "parent", &parent) < 0 || !parent || !is_addr(parent))
		return "bad mdev parent";
	m = GP_PUSH(g->mdevs, g->n_mdevs);
	if (!m)
		return "out of memory";
	strcpy(m->uuid, tok[2]);
	strcpy(m->parent, parent);
	r = kv_name(tok[4], "type", &m->type_key);
	if (r == -ENOMEM)
		return "out of memory";
	if (r < 0 || !m->type_key)
		return "an mdev type that is not one path component";
	return NULL;
}

/* "layout PATH -" (no entry before the change) or "layout ENTRY" (partitions.conf's line). */
static const char *parse_layout(struct gp_journal *j, const char *rest)
{
	struct gp_layout one = { 0 };
	const char *sp = strchr(rest, ' ');
	char err[128], *text;
	size_t i;

	j->layout = true;
	if (sp && strcmp(sp, " -") == 0) {
		char *path = strndup(rest, (size_t)(sp - rest)), **slot;

		if (!path)
			return "out of memory";
		/* the same rules as the layout's own paths: parse a dummy entry with it */
		if (asprintf(&text, "%s id=0000:0000 subsystem=0000:0000 count=0\n", path) < 0) {
			free(path);
			return "out of memory";
		}
		i = (size_t)gp_layout_parse(text, &one, err, sizeof(err));
		free(text);
		free(path);
		if ((int)i < 0 || one.n != 1) {
			gp_layout_clear(&one);
			return "bad layout path";
		}
		slot = GP_PUSH(j->layout_absent, j->n_layout_absent);
		if (!slot || !(*slot = strdup(one.v[0].path))) {
			gp_layout_clear(&one);
			return "out of memory";
		}
		gp_layout_clear(&one);
		return NULL;
	}
	if (asprintf(&text, "%s\n", rest) < 0)
		return "out of memory";
	if (gp_layout_parse(text, &one, err, sizeof(err)) < 0 || one.n != 1) {
		free(text);
		gp_layout_clear(&one);
		return "a layout record that is not a partitions.conf entry";
	}
	free(text);
	for (i = 0; i < j->layout_had.n; i++)
		if (strcmp(j->layout_had.v[i].path, one.v[0].path) == 0) {
			gp_layout_clear(&one);
			return "a layout path recorded twice";
		}
	one.v[0].line = 0;
	if (gp_layout_set(&j->layout_had, &one.v[0]) < 0) {
		gp_layout_clear(&one);
		return "out of memory";
	}
	gp_layout_clear(&one);
	return NULL;
}

static const char *parse_line(struct gp_journal *j, char *line, int *state)
{
	char *tok[9], *save = NULL, *t, *rest;
	unsigned long long v;
	size_t n = 0;

	if (line[0] == '#')
		return NULL;
	if (*state == 2)
		return "a record after the end marker";
	if (strncmp(line, "command ", 8) == 0 || strcmp(line, "command") == 0) {
		if (*state != 1)
			return "a record before the header";
		free(j->command); /* free text, for people; kept for a rewrite (keep_stuck) */
		j->command = strdup(line[7] ? line + 8 : "");
		return j->command ? NULL : "out of memory";
	}
	if (strncmp(line, "layout ", 7) == 0) {
		rest = line + 7;
		return *state == 1 ? parse_layout(j, rest) : "a record before the header";
	}
	for (t = strtok_r(line, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
		if (n == ARRAY_SIZE(tok))
			return "too many fields";
		tok[n++] = t;
	}
	if (n == 0)
		return "an empty line";
	if (*state == 0) {
		if (strcmp(tok[0], "journal") != 0 || n != 2)
			return "no `journal` header";
		if (strcmp(tok[1], VERSION) != 0)
			return "a journal version this gpupart does not read";
		*state = 1;
		return NULL;
	}
	if (strcmp(tok[0], "end") == 0 && n == 1) {
		*state = 2;
		return NULL;
	}
	if (strcmp(tok[0], "pid") == 0) {
		if (n != 3 || strict_int(tok[1], 1 << 30, &j->pid) < 0 ||
		    strict_uint(tok[2], ~0ULL, &j->start) < 0)
			return "bad pid record";
		return NULL;
	}
	if (strcmp(tok[0], "stuck") == 0) {
		if (n != 4 || strict_int(tok[1], 1 << 30, &j->stuck_pid) < 0 ||
		    strict_uint(tok[2], ~0ULL, &v) < 0 ||
		    strlen(tok[3]) >= sizeof(j->stuck_path))
			return "bad stuck record";
		j->stuck_start = v;
		strcpy(j->stuck_path, tok[3]);
		return NULL;
	}
	if (strcmp(tok[0], "gpu") == 0)
		return parse_gpu(j, tok, n);
	if (strcmp(tok[0], "vf") == 0)
		return parse_vf(j, tok, n);
	if (strcmp(tok[0], "mdev") == 0)
		return parse_mdev(j, tok, n);
	return "an unknown record";
}

int gp_journal_parse(const char *text, size_t len, struct gp_journal *j, char *why,
		     size_t why_len)
{
	char *copy, *line, *next;
	const char *bad = NULL;
	int lineno = 0, state = 0; /* 0: before the header, 1: records, 2: after "end" */

	memset(j, 0, sizeof(*j));
	if (memchr(text, 0, len)) {
		snprintf(why, why_len, "it holds a NUL byte");
		return -EUCLEAN;
	}
	if (len == 0 || text[len - 1] != '\n') {
		snprintf(why, why_len, len ? "its last line is cut short" : "it is empty");
		return -EUCLEAN;
	}
	copy = strndup(text, len);
	if (!copy)
		return -ENOMEM;
	for (line = copy; *line && !bad; line = next) {
		next = strchr(line, '\n');
		*next++ = 0;
		lineno++;
		bad = parse_line(j, line, &state);
	}
	free(copy);
	if (!bad && state != 2)
		bad = state == 0 ? "no `journal` header" : "no end marker (cut short)";
	else if (!bad && j->n_gpus == 0)
		bad = "no gpu record";
	if (!bad && j->pid <= 0)
		bad = "no pid record";
	if (bad) {
		if (!strcmp(bad, "out of memory")) {
			gp_journal_clear(j);
			return -ENOMEM;
		}
		if (state == 2 || !strncmp(bad, "no ", 3))
			snprintf(why, why_len, "%s", bad);
		else
			snprintf(why, why_len, "line %d: %s", lineno, bad);
		gp_journal_clear(j);
		return -EUCLEAN;
	}
	return 0;
}

/* ---- checking the records against the host ---- */

static bool ident_matches(const struct gp_device *d, const struct gp_pci_ident *id)
{
	return d->vendor == id->vendor && d->device == id->device &&
	       d->subsystem_vendor == id->subsystem_vendor &&
	       d->subsystem_device == id->subsystem_device && d->class_code == id->class_code;
}

/* The VF record belongs to @pf: its virtfnN link names it, or (the VF is gone) the PF's
 * routing ID arithmetic puts VF N there. */
static bool vf_of(struct gp_ctx *ctx, const struct gp_device *pf, const struct gp_vf_state *v)
{
	char rel[128], link[GP_ADDR_LEN + 1], calc[GP_ADDR_LEN];
	int r;

	snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/virtfn%d", pf->address, v->index);
	r = gp_hostfs_link_base_at(gp_hostfs_root_fd(ctx), rel, link, sizeof(link));
	if (r >= 0)
		return strcmp(link, v->address) == 0;
	if (r != -ENOENT)
		return false; /* a link there that cannot be read proves nothing */
	return gp_vf_addr_at(pf, v->index, calc) == 0 && strcmp(calc, v->address) == 0;
}

static int check_gpu(struct gp_ctx *ctx, const struct gp_journal *j, size_t i, char *why,
		     size_t why_len, char *path_id, size_t path_len)
{
	const struct gp_gpu_state *g = &j->gpus[i];
	struct gp_pci_addr a;
	struct gp_host *host = NULL;
	const struct gp_device *pf;
	size_t k, m;
	int r;

	if (gp_pci_addr_parse(g->address, &a) < 0)
		return -EUCLEAN;
	r = gp_host_scan(ctx, GP_SCAN_ANY_CLASS, &a, 1, &host);
	if (r == -ENODEV) {
		snprintf(why, why_len, "gpu %s: no such device on this host", g->address);
		return -EUCLEAN;
	}
	if (r < 0)
		return r;
	pf = gp_host_find(host, &a);
	r = -EUCLEAN;
	if (!pf)
		snprintf(why, why_len, "gpu %s: no such device on this host", g->address);
	else if (!ident_matches(pf, &j->idents[i]))
		snprintf(why, why_len, "gpu %s: the device there is not the %04x:%04x (class %06llx) "
			 "recorded", g->address, j->idents[i].vendor, j->idents[i].device,
			 (unsigned long long)j->idents[i].class_code);
	else if (pf->is_vf)
		snprintf(why, why_len, "gpu %s: a virtual function, not a GPU", g->address);
	else if (g->numvfs != GP_UNKNOWN &&
		 (pf->sriov_total_vfs == GP_UNKNOWN || g->numvfs > pf->sriov_total_vfs))
		snprintf(why, why_len, "gpu %s: %d VFs recorded, the device has %s %d", g->address,
			 g->numvfs, pf->sriov_total_vfs == GP_UNKNOWN ? "no SR-IOV," : "at most",
			 pf->sriov_total_vfs == GP_UNKNOWN ? 0 : pf->sriov_total_vfs);
	else if (g->backend != GP_BACKEND_SRIOV && pf->vendor != 0x10de)
		snprintf(why, why_len, "gpu %s: backend %s on a device that is not NVIDIA's",
			 g->address, gp_backend_str(g->backend));
	else
		r = 0;
	if (r == 0 && gp_device_path_id(pf, path_id, path_len) < 0)
		*path_id = 0; /* no stable path: no layout record may name it */
	for (k = 0; r == 0 && k < g->n_vfs; k++)
		if (!vf_of(ctx, pf, &g->vfs[k])) {
			snprintf(why, why_len, "vf %s: not VF %d of %s", g->vfs[k].address,
				 g->vfs[k].index, g->address);
			r = -EUCLEAN;
		}
	for (m = 0; r == 0 && m < g->n_mdevs; m++) {
		const struct gp_mdev_state *md = &g->mdevs[m];
		bool ours = strcmp(md->parent, g->address) == 0;
		char rel[256];
		int e;

		for (k = 0; !ours && k < g->n_vfs; k++)
			ours = strcmp(md->parent, g->vfs[k].address) == 0;
		if (!ours) {
			snprintf(why, why_len, "mdev %s: parent %s is neither %s nor one of its VFs",
				 md->uuid, md->parent, g->address);
			r = -EUCLEAN;
			break;
		}
		/* a parent that exists must offer the type; one that does not (a VF to be
		 * re-created) is checked when the plan writes to it */
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s", md->parent);
		if (gp_hostfs_exists_at(gp_hostfs_root_fd(ctx), rel) != 1)
			continue;
		snprintf(rel, sizeof(rel), "sys/bus/pci/devices/%s/mdev_supported_types/%s",
			 md->parent, md->type_key);
		e = gp_hostfs_is_dir_at(gp_hostfs_root_fd(ctx), rel);
		if (e != 1) {
			snprintf(why, why_len, "mdev %s: %s offers no mdev type %s", md->uuid,
				 md->parent, md->type_key);
			r = -EUCLEAN;
		}
	}
	gp_host_free(host);
	return r;
}

/* A layout record may only name one of the journal's GPUs (by its stable path now): a
 * journal must not rewrite the partitions of a GPU it did not change. */
static bool path_of_ours(char (*ids)[256], size_t n, const char *path)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (ids[i][0] && strcasecmp(ids[i], path) == 0)
			return true;
	return false;
}

int gp_journal_check(struct gp_ctx *ctx, const struct gp_journal *j, char *why, size_t why_len)
{
	char (*ids)[256] = calloc(j->n_gpus ? j->n_gpus : 1, sizeof(*ids));
	size_t i;
	int r = 0;

	if (!ids)
		return -ENOMEM;
	for (i = 0; r == 0 && i < j->n_gpus; i++)
		r = check_gpu(ctx, j, i, why, why_len, ids[i], sizeof(ids[i]));
	for (i = 0; r == 0 && i < j->layout_had.n; i++)
		if (!path_of_ours(ids, j->n_gpus, j->layout_had.v[i].path)) {
			snprintf(why, why_len, "layout %s: not the path of a GPU the journal changed",
				 j->layout_had.v[i].path);
			r = -EUCLEAN;
		}
	for (i = 0; r == 0 && i < j->n_layout_absent; i++)
		if (!path_of_ours(ids, j->n_gpus, j->layout_absent[i])) {
			snprintf(why, why_len, "layout %s: not the path of a GPU the journal changed",
				 j->layout_absent[i]);
			r = -EUCLEAN;
		}
	free(ids);
	return r;
}

int gp_journal_read(struct gp_ctx *ctx, struct gp_journal *j)
{
	char where[512], why[256] = "";
	char *text = NULL;
	ssize_t len;
	int r;

	memset(j, 0, sizeof(*j));
	if (gp_hostfs_abspath(ctx, GP_HP_STATE_FILE, JOURNAL, where, sizeof(where)) < 0)
		snprintf(where, sizeof(where), "run/gpupart/journal");
	len = gp_hostfs_read_regular(ctx, GP_HP_STATE_DIR, JOURNAL, &text);
	if (len == -ENOENT)
		return 0;
	if (len == -EINVAL) {
		snprintf(why, sizeof(why), "it is not a regular file");
		r = -EUCLEAN;
	} else if (len < 0) {
		ERR(ctx, "cannot read the journal %s: %s; not touching anything", where,
		    strerror((int)-len));
		return (int)len;
	} else {
		r = gp_journal_parse(text, (size_t)len, j, why, sizeof(why));
		free(text);
		if (r == 0)
			r = gp_journal_check(ctx, j, why, sizeof(why));
		if (r == -ENOMEM) {
			ERR(ctx, "out of memory reading the journal %s", where);
			gp_journal_clear(j);
			return r;
		}
	}
	if (r < 0) {
		gp_journal_clear(j);
		if (r != -EUCLEAN) {
			ERR(ctx, "cannot check the journal %s against the host: %s; not touching "
				 "anything", where, strerror(-r));
			return r;
		}
		ERR(ctx, "the journal %s is damaged (%s): not acting on it, and keeping it. "
			 "Read it (it lists each device's state before the change), put the devices "
			 "back by hand if needed, then remove it; see gpupart(8), FILES",
		    where, why);
		return -EUCLEAN;
	}
	return 1;
}

void gp_journal_clear(struct gp_journal *j)
{
	size_t i;

	for (i = 0; i < j->n_gpus; i++)
		gp_gpu_state_clear(&j->gpus[i]);
	free(j->gpus);
	free(j->idents);
	free(j->command);
	gp_layout_clear(&j->layout_had);
	for (i = 0; i < j->n_layout_absent; i++)
		free(j->layout_absent[i]);
	free(j->layout_absent);
	memset(j, 0, sizeof(*j));
}

int gp_journal_remove(struct gp_ctx *ctx)
{
	return gp_hostfs_unlink(ctx, GP_HP_STATE_DIR, JOURNAL);
}

int gp_journal_pending(struct gp_ctx *ctx)
{
	int dfd = gp_hostfs_open_dir(ctx, GP_HP_STATE_DIR, NULL), r;

	if (dfd < 0)
		return 0;
	r = gp_hostfs_exists_at(dfd, JOURNAL);
	close(dfd);
	return r == 1;
}
