/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Text renderers: `Get-VMHostPartitionableGpu | FL` style, colour only on a terminal. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "partition.h"

#define GIB (1024LL * 1024 * 1024)
#define MIB (1024LL * 1024)

/*
 * Strings from sysfs and /proc (type names, drivers, a process's comm that any user can set)
 * go to a terminal: control characters become '?', so nobody can move the cursor or retitle
 * the admin's window. A few rotating buffers let one printf take several.
 */
static const char *clean(const char *s)
{
	static char bufs[8][512];
	static unsigned next;
	char *b = bufs[next++ % 8];
	size_t i;

	if (!s)
		return "";
	for (i = 0; s[i] && i < sizeof(bufs[0]) - 1; i++)
		b[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
	b[i] = 0;
	return b;
}

static void id4(FILE *out, int v)
{
	if (v < 0)
		fputs("????", out);
	else
		fprintf(out, "%04x", (unsigned)v);
}

static const char *color(const struct gp_cli *cli, const char *code)
{
	return cli->color ? code : "";
}
#define RESET(cli) color(cli, "\033[0m")

static const char *status_color(const struct gp_cli *cli, enum gp_status s)
{
	switch (s) {
	case GP_STATUS_PARTITIONED:
		return color(cli, "\033[32m");
	case GP_STATUS_PARAVIRTUALIZATION:
		return color(cli, "\033[33m");
	case GP_STATUS_READY_FOR_DDA:
		return color(cli, "\033[36m");
	case GP_STATUS_NOT_ASSIGNABLE:
		break;
	}
	return color(cli, "\033[31m");
}

static void bytes(FILE *out, int64_t b)
{
	if (b < 0)
		fputs("unknown", out);
	else if (b % GIB == 0)
		fprintf(out, "%lld GiB", (long long)(b / GIB));
	else
		fprintf(out, "%lld MiB", (long long)(b / MIB));
}

static const char *tri_str(enum gp_tri t, const char *yes, const char *no)
{
	return t == GP_TRI_YES ? yes : t == GP_TRI_NO ? no : "unknown";
}

static void host_line(FILE *out, const struct gp_host *h)
{
	fprintf(out, "IOMMU: %s (%d groups), interrupt remapping: %s\n",
		h->iommu_enabled ? "enabled" : "disabled", h->n_iommu_groups,
		tri_str(h->interrupt_remapping, "on", "off"));
}

#define FIELD(out, label) fprintf(out, "%-22s: ", label)

/* Get-VMAssignableDevice: a dismounted GPU and the VMs it is assigned to (only shown when
 * dismounted: the rest of the list is unchanged for GPUs the host keeps). */
static void dda_lines(FILE *out, char *const *domains, size_t n)
{
	size_t i;

	FIELD(out, "Dismounted");
	fputs("True\n", out);
	FIELD(out, "AssignedTo");
	if (!n)
		fputs("(none)", out);
	for (i = 0; i < n; i++)
		fprintf(out, "%s%s", i ? ", " : "", clean(domains[i]));
	fputc('\n', out);
}


/* long: one block per GPU in the order the man page documents the text form; split, the
 * fields would be spread over helpers that each print a few lines */
static void list_doc(FILE *out, const struct gp_cli *cli, const struct gp_host *h,
		     const struct gp_gpu_view *views, size_t n)
{
	size_t i, k;

	if (!n) {
		fprintf(out, "No %s found on this host.\n",
			cli->any_class ? "GPUs or SR-IOV functions" : "GPUs");
		host_line(out, h);
		return;
	}
	for (i = 0; i < n; i++) {
		const struct gp_gpu_view *v = &views[i];
		const struct gp_device *d = v->dev;

		if (i)
			fputc('\n', out);
		FIELD(out, "Name");
		fprintf(out, "%s%s%s\n", color(cli, "\033[1m"), d->name ? clean(d->name) : "(unknown)",
			RESET(cli));
		FIELD(out, "Address");
		fprintf(out, "%s\n", d->address);
		FIELD(out, "Id");
		id4(out, d->vendor);
		fputc(':', out);
		id4(out, d->device);
		fputs(" subsystem ", out);
		id4(out, d->subsystem_vendor);
		fputc(':', out);
		id4(out, d->subsystem_device);
		fputc('\n', out);
		FIELD(out, "Status");
		fprintf(out, "%s%s%s\n", status_color(cli, v->status), gp_status_str(v->status),
			RESET(cli));
		FIELD(out, "Backend");
		fprintf(out, "%s\n", gp_backend_str(v->backend) ? gp_backend_str(v->backend) : "none");
		FIELD(out, "Driver");
		fprintf(out, "%s\n", d->driver ? clean(d->driver) : "(none)");
		FIELD(out, "IommuGroup");
		if (d->iommu_group >= 0)
			fprintf(out, "%d\n", d->iommu_group);
		else
			fputs("none\n", out);
		if (v->dda_dismounted)
			dda_lines(out, v->dda_domains, v->n_dda_domains);
		FIELD(out, "ValidPartitionCounts");
		fputc('{', out);
		for (k = 0; k < v->n_valid_counts; k++)
			fprintf(out, "%s%d", k ? ", " : "", v->valid_counts[k]);
		fputc('}', out);
		if (v->vgpu_mode == GP_VGPU_MODE_MIXED)
			fputs(" (mixed-size mode: counts of equal partitions do not apply)", out);
		else if (v->series)
			fprintf(out, " (%c series)", v->series);
		fputc('\n', out);
		if (gp_catalogue_source_str(d->catalogue_source)) {
			FIELD(out, "VgpuCatalogue");
			fprintf(out, "%s\n", gp_catalogue_source_str(d->catalogue_source));
		}
		FIELD(out, "PartitionCount");
		fprintf(out, "%d\n", v->partition_count);
		FIELD(out, "FreePartitions");
		fprintf(out, "%zu\n", gp_cli_free_partitions(v));
		if (d->sriov_total_vfs >= 0) {
			FIELD(out, "VirtualFunctions");
			if (d->sriov_num_vfs < 0)
				fprintf(out, "unknown of %d enabled\n", d->sriov_total_vfs);
			else
				fprintf(out, "%d of %d enabled\n", d->sriov_num_vfs,
					d->sriov_total_vfs);
		}
		FIELD(out, "VRAM");
		bytes(out, v->vram_bytes);
		fputc('\n', out);
		FIELD(out, "PartitionVRAM");
		bytes(out, v->partition_vram_bytes);
		fputc('\n', out);
		for (k = 0; k < v->n_partitions; k++) {
			const struct gp_partition *p = &v->partitions[k];

			if (k)
				fprintf(out, "%24s", "");
			else
				FIELD(out, "Partitions");
			fprintf(out, "%d  %s  %s  %s", p->id, p->address,
				p->driver ? clean(p->driver) : "-", p->domain ? clean(p->domain) : "-");
			if (p->vgpu_type)
				fprintf(out, "  %s", clean(p->vgpu_type));
			else if (p->vgpu_type_id > 0)
				fprintf(out, "  type %d", p->vgpu_type_id);
			if (p->mdev_uuid)
				fprintf(out, "  %s  owner %s", clean(p->mdev_uuid),
					p->owner ? gp_mdev_owner_str(p->owner) : "unknown");
			fputc('\n', out);
		}
	}
}

static void findings(FILE *out, const struct gp_cli *cli, const struct gp_findings *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		const char *c = f->v[i].severity == GP_SEV_ERROR   ? "\033[31m" :
				f->v[i].severity == GP_SEV_WARNING ? "\033[33m" :
								     "";
		fprintf(out, "  %s%-7s%s %s: %s\n", color(cli, c),
			gp_severity_str(f->v[i].severity), RESET(cli), f->v[i].code,
			clean(f->v[i].detail));
	}
}

static void survey_host(FILE *out, const struct gp_cli *cli, const struct gp_host *h,
			const struct gp_findings *f)
{
	fputs("Host: ", out);
	host_line(out, h);
	findings(out, cli, f);
}

static void survey_device(FILE *out, const struct gp_cli *cli, const struct gp_survey_item *it)
{
	const char *c = it->verdict == GP_VERDICT_ASSIGNABLE     ? "\033[32m" :
			it->verdict == GP_VERDICT_WITH_WARNINGS ? "\033[33m" :
								  "\033[31m";

	fprintf(out, "\n%s  %s\n  verdict: %s%s%s\n", it->dev->address, clean(it->dev->name),
		color(cli, c), gp_verdict_str(it->verdict), RESET(cli));
	findings(out, cli, &it->findings);
	if (it->dda_dismounted) {
		size_t i;

		fputs("  dismounted, assigned to: ", out);
		if (!it->n_dda_domains)
			fputs("(none)", out);
		for (i = 0; i < it->n_dda_domains; i++)
			fprintf(out, "%s%s", i ? ", " : "", clean(it->dda_domains[i]));
		fputc('\n', out);
	}
	fprintf(out, "  reset: %s, 64-bit MMIO needed: ",
		it->reset_method ? it->reset_method : "unknown");
	bytes(out, it->mmio64_bytes);
	fputc('\n', out);
}

/* Text is written into a memory stream and then to stdout in one piece, so that a failure
 * half way prints nothing (as a JSON document that cannot be built). */
struct text_doc {
	char *buf;
	size_t len;
	FILE *out;
};

static FILE *doc_open(struct text_doc *t)
{
	t->buf = NULL;
	t->len = 0;
	t->out = open_memstream(&t->buf, &t->len);
	return t->out;
}

static int doc_emit(struct text_doc *t)
{
	int r;

	fclose(t->out);
	r = gp_cli_emit(t->buf, t->len);
	free(t->buf);
	return r;
}

static int text_list(const struct gp_cli *cli, const struct gp_host *h,
		     const struct gp_gpu_view *views, size_t n)
{
	struct text_doc t;

	if (!doc_open(&t))
		return EXIT_FAIL;
	list_doc(t.out, cli, h, views, n);
	return doc_emit(&t);
}

static int text_survey(const struct gp_cli *cli, const struct gp_host *h,
		       const struct gp_findings *hf, const struct gp_survey_item *items, size_t n)
{
	struct text_doc t;
	size_t i;

	if (!doc_open(&t))
		return EXIT_FAIL;
	survey_host(t.out, cli, h, hf);
	for (i = 0; i < n; i++)
		survey_device(t.out, cli, &items[i]);
	return doc_emit(&t);
}

const struct gp_render gp_render_text = {
	.list = text_list,
	.survey = text_survey,
	.plans = gp_cli_text_plans,
	.repair = gp_cli_text_repair,
};
