/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The journal: ROOT/run/gpupart/journal, the original state of every GPU a change touches,
 * written atomically before the first sysfs write and removed once the host is in the target
 * state (or back in the original one). Text, one record per line, so an admin can read what
 * a crashed run was doing (format: gpupart(8), FILES). It lives under /run on purpose: a
 * reboot recreates every VF and mdev from scratch, and a journal about devices that no
 * longer exist must not survive to be "restored" onto new ones (reliability.md invariant 25).
 */
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <gpupart/plan.h>

#include "hostfs.h"
#include "internal.h"
#include "journal.h"

#define JOURNAL "journal"

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
	      "journal 1\n", f);
	fprintf(f, "pid %d\n", j->pid);
	fprintf(f, "command %s\n", j->command ? j->command : "");
	for (i = 0; i < j->n_gpus; i++) {
		const struct gp_gpu_state *s = &j->gpus[i];

		fprintf(f, "gpu %s backend=%s", s->address, opt(gp_backend_str(s->backend)));
		put_int(f, "numvfs", s->numvfs);
		put_int(f, "autoprobe", s->autoprobe);
		fputc('\n', f);
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
	if (j->stuck_pid > 0)
		fprintf(f, "stuck %d %s\n", j->stuck_pid, j->stuck_path);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	r = gp_hostfs_write_file(ctx, GP_HP_STATE_DIR, JOURNAL, buf, len, 0600, 0700);
	free(buf);
	return r;
}

/* "key=value" where value is "-" for none. */
static int kv(const char *tok, const char *key, const char **val)
{
	size_t n = strlen(key);

	if (strncmp(tok, key, n) != 0 || tok[n] != '=')
		return -EINVAL;
	*val = strcmp(tok + n + 1, "-") == 0 ? NULL : tok + n + 1;
	return 0;
}

static int kv_int(const char *tok, const char *key, int *out)
{
	const char *v;
	char *end;
	long l;

	if (kv(tok, key, &v) < 0)
		return -EINVAL;
	if (!v) {
		*out = GP_UNKNOWN;
		return 0;
	}
	l = strtol(v, &end, 10);
	if (*end || end == v || l < 0 || l > 1 << 30)
		return -EINVAL;
	*out = (int)l;
	return 0;
}

static int kv_str(const char *tok, const char *key, char **out)
{
	const char *v;

	if (kv(tok, key, &v) < 0)
		return -EINVAL;
	*out = NULL;
	if (v && !(*out = strdup(v)))
		return -ENOMEM;
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

static int parse_line(struct gp_journal *j, char *line)
{
	char *tok[8], *save = NULL, *t;
	struct gp_gpu_state *g;
	size_t n = 0;

	for (t = strtok_r(line, " ", &save); t && n < ARRAY_SIZE(tok);
	     t = strtok_r(NULL, " ", &save))
		tok[n++] = t;
	if (n == 0 || tok[0][0] == '#')
		return 0;
	if (strcmp(tok[0], "journal") == 0)
		return n == 2 && strcmp(tok[1], "1") == 0 ? 0 : -EPROTO;
	if (strcmp(tok[0], "pid") == 0 && n == 2) {
		j->pid = atoi(tok[1]);
		return 0;
	}
	if (strcmp(tok[0], "command") == 0)
		return 0; /* kept for people; the rest of the line is free text */
	if (strcmp(tok[0], "stuck") == 0 && n == 3) {
		j->stuck_pid = atoi(tok[1]);
		snprintf(j->stuck_path, sizeof(j->stuck_path), "%s", tok[2]);
		return 0;
	}
	if (strcmp(tok[0], "gpu") == 0 && n == 5) {
		const char *b;

		if (strlen(tok[1]) >= GP_ADDR_LEN || kv(tok[2], "backend", &b) < 0)
			return -EINVAL;
		g = GP_PUSH(j->gpus, j->n_gpus);
		if (!g)
			return -ENOMEM;
		strcpy(g->address, tok[1]);
		g->backend = backend_from(b);
		if (g->backend == GP_BACKEND_NONE || kv_int(tok[3], "numvfs", &g->numvfs) < 0 ||
		    kv_int(tok[4], "autoprobe", &g->autoprobe) < 0)
			return -EINVAL;
		return 0;
	}
	if (strcmp(tok[0], "vf") == 0 && n == 7) {
		struct gp_vf_state *v;

		g = gpu_of(j, tok[1]);
		if (!g || strlen(tok[3]) >= GP_ADDR_LEN)
			return -EINVAL;
		v = GP_PUSH(g->vfs, g->n_vfs);
		if (!v)
			return -ENOMEM;
		v->index = atoi(tok[2]);
		strcpy(v->address, tok[3]);
		if (kv_str(tok[4], "driver", &v->driver) < 0 ||
		    kv_str(tok[5], "override", &v->override) < 0 ||
		    kv_int(tok[6], "type", &v->vgpu_type) < 0)
			return -EINVAL;
		return 0;
	}
	if (strcmp(tok[0], "mdev") == 0 && n == 5) {
		struct gp_mdev_state *m;
		const char *parent;

		g = gpu_of(j, tok[1]);
		if (!g || strlen(tok[2]) != 36)
			return -EINVAL;
		m = GP_PUSH(g->mdevs, g->n_mdevs);
		if (!m)
			return -ENOMEM;
		strcpy(m->uuid, tok[2]);
		if (kv(tok[3], "parent", &parent) < 0 || !parent || strlen(parent) >= GP_ADDR_LEN ||
		    kv_str(tok[4], "type", &m->type_key) < 0)
			return -EINVAL;
		strcpy(m->parent, parent);
		return 0;
	}
	return -EINVAL;
}

int gp_journal_read(struct gp_ctx *ctx, struct gp_journal *j)
{
	char *text = NULL, *line, *save = NULL;
	int r = 0, lineno = 0;
	ssize_t len;

	memset(j, 0, sizeof(*j));
	len = gp_hostfs_read_all(ctx, GP_HP_STATE_FILE, JOURNAL, &text);
	if (len == -ENOENT)
		return 0;
	if (len < 0)
		return (int)len;
	for (line = strtok_r(text, "\n", &save); line && r == 0;
	     line = strtok_r(NULL, "\n", &save)) {
		lineno++;
		r = parse_line(j, line);
	}
	free(text);
	if (r < 0) {
		ERR(ctx, "the journal (/run/gpupart/journal) is damaged at line %d: not touching "
			 "anything; see gpupart(8), FILES",
		    lineno);
		gp_journal_clear(j);
		return r;
	}
	return 1;
}

void gp_journal_clear(struct gp_journal *j)
{
	size_t i;

	for (i = 0; i < j->n_gpus; i++)
		gp_gpu_state_clear(&j->gpus[i]);
	free(j->gpus);
	free(j->command);
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
