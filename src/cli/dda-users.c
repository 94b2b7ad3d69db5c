/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Who has what, for list and survey. Get-VMAssignableDevice's other half: which libvirt
 * domains name the functions of a dismounted GPU; and for list, which domain holds each
 * partition (issue 12, item 4: Get-VMGpuPartitionAdapter's answer seen from the host). One
 * bounded question to libvirt (gpupart/virt.h) answers both, asked only when there is
 * something to ask about: a host with no partition and no dismounted GPU never loads libvirt
 * for list. The reservation records (gpupart/resv.h) say who `assign` gave a partition to when
 * libvirt is not asked or does not name it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/resv.h>
#include <gpupart/virt.h>

#include "cli.h"
#include "shared/strv.h"

/* What to ask libvirt about: PCI functions (each a dismounted slot's, or SIZE_MAX: a
 * partition's VF) and mdev UUIDs. */
struct ask {
	char **pci;
	size_t n_pci;
	size_t *owner;
	char **mdev;
	size_t n_mdev;
};

static void ask_clear(struct ask *q)
{
	gp_strv_free(q->pci, q->n_pci);
	gp_strv_free(q->mdev, q->n_mdev);
	free(q->owner);
	*q = (struct ask){ 0 };
}

static int ask_pci(struct ask *q, const char *addr, size_t owner)
{
	size_t *o = realloc(q->owner, (q->n_pci + 1) * sizeof(*o));

	if (!o)
		return -ENOMEM;
	q->owner = o;
	q->owner[q->n_pci] = owner;
	return gp_strv_push(&q->pci, &q->n_pci, strdup(addr));
}

/* Appends a copy of @s unless it is there already. */
static int push_once(char ***v, size_t *n, const char *s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	return gp_strv_push(v, n, strdup(s));
}

static void slots_clear(const struct gp_cli_dda_slot *slots, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		gp_strv_free(*slots[i].names, *slots[i].n_names);
		*slots[i].names = NULL;
		*slots[i].n_names = 0;
	}
}

/* Every function of every dismounted slot into @q. */
static int ask_dda(const struct gp_host *h, const struct gp_cli_dda_slot *slots, size_t n,
		   struct ask *q)
{
	size_t i, k;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++) {
		struct gp_device **fns = NULL;
		size_t nf = 0;

		if (!slots[i].dismounted)
			continue;
		r = gp_policy_dda_functions(h, slots[i].dev, &fns, &nf);
		for (k = 0; r == 0 && k < nf; k++)
			r = ask_pci(q, fns[k]->address, i);
		free(fns);
	}
	return r;
}

/* The one question: the number of uses in *uses (0 when libvirt is not to be asked, or no
 * libvirt answers at the default URI: nobody), or -EIO (said). */
static int ask_libvirt(struct gp_cli *cli, const struct ask *q, struct gp_virt_use **uses)
{
	int found;

	*uses = NULL;
	if (!q->n_pci && !q->n_mdev)
		return 0;
	if (cli->no_libvirt || (!cli->connect && strcmp(gp_ctx_root(cli->ctx), "/") != 0))
		return 0;
	found = gp_virt_find_users(cli->ctx, cli->connect, cli->libvirt_timeout_ms,
				   (const char *const *)q->pci, q->n_pci,
				   (const char *const *)q->mdev, q->n_mdev, uses);
	if (found == -ECONNREFUSED && !cli->connect)
		return 0; /* no libvirt on this host: no domain */
	if (found < 0) {
		gp_cli_err("cannot ask libvirt which VMs use the GPUs (the library said why above)");
		return -EIO;
	}
	return found;
}

/* The domains that name each dismounted slot's functions. */
static int fill_dda(const struct gp_cli_dda_slot *slots, const struct ask *q,
		    const struct gp_virt_use *uses, size_t n_uses)
{
	size_t u, k;
	int r = 0;

	for (u = 0; r == 0 && u < n_uses; u++)
		for (k = 0; r == 0 && k < q->n_pci; k++)
			if (q->owner[k] != SIZE_MAX && strcasecmp(q->pci[k], uses[u].device) == 0)
				r = push_once(slots[q->owner[k]].names, slots[q->owner[k]].n_names,
					      uses[u].domain);
	return r;
}

int gp_cli_dda_domains(struct gp_cli *cli, const struct gp_host *h,
		       const struct gp_cli_dda_slot *slots, size_t n)
{
	struct gp_virt_use *uses = NULL;
	struct ask q = { 0 };
	int r, found = 0;

	slots_clear(slots, n);
	r = ask_dda(h, slots, n, &q);
	if (r == 0)
		r = found = ask_libvirt(cli, &q, &uses);
	if (r >= 0)
		r = fill_dda(slots, &q, uses, (size_t)found);
	gp_virt_uses_free(uses, found > 0 ? (size_t)found : 0);
	ask_clear(&q);
	if (r < 0)
		slots_clear(slots, n);
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

/* What a partition's hostdev names (and its reservation record's file): the mdev's UUID, or
 * the VF's address; NULL for neither. */
static const char *part_device(const struct gp_partition *p)
{
	return p->mdev_uuid ? p->mdev_uuid : p->vf ? p->address : NULL;
}

/*
 * Who holds @p. What libvirt says first: a domain's XML naming the partition is what the VM
 * gets at start, whatever a record says (a record outlives a hostdev removed by hand). Of
 * several domains naming it (only one can run with it), the record's owner, else a running
 * one, else the first. Without libvirt's word, the record's.
 */
static void holder(struct gp_partition *p, const struct gp_cli_holders *hd)
{
	const char *dev = part_device(p);
	const struct gp_resv *rec = gp_resv_find(hd->resv, hd->n_resv, dev);
	const struct gp_virt_use *best = NULL;
	int score, best_score = -1;
	size_t i;

	for (i = 0; dev && i < hd->n_uses; i++) {
		const struct gp_virt_use *u = &hd->uses[i];

		if (strcasecmp(u->device, dev))
			continue;
		score = 2 * (rec && !strcasecmp(u->uuid, rec->uuid)) + u->active;
		if (score > best_score) {
			best = u;
			best_score = score;
		}
	}
	p->domain = best ? best->domain : rec ? rec->domain : NULL;
	p->domain_uuid = best ? best->uuid : rec ? rec->uuid : NULL;
}

/* Each partition's device into @q: VFs with the dismounted functions, mdevs apart. */
static int ask_parts(const struct gp_gpu_view *v, size_t n, struct ask *q)
{
	size_t i, k;
	int r = 0;

	for (i = 0; r == 0 && i < n; i++)
		for (k = 0; r == 0 && k < v[i].n_partitions; k++) {
			const struct gp_partition *p = &v[i].partitions[k];

			if (p->mdev_uuid)
				r = gp_strv_push(&q->mdev, &q->n_mdev, strdup(p->mdev_uuid));
			else if (p->vf)
				r = ask_pci(q, p->address, SIZE_MAX);
		}
	return r;
}

int gp_cli_list_holders(struct gp_cli *cli, const struct gp_host *h, struct gp_gpu_view *v,
			size_t n, struct gp_cli_holders *out)
{
	struct gp_cli_dda_slot *slots = calloc(n ? n : 1, sizeof(*slots));
	struct ask q = { 0 };
	size_t i, k;
	int r = slots ? 0 : -ENOMEM, found = 0;

	*out = (struct gp_cli_holders){ 0 };
	for (i = 0; slots && i < n; i++)
		slots[i] = (struct gp_cli_dda_slot){ v[i].dev, v[i].dda_dismounted,
						     &v[i].dda_domains, &v[i].n_dda_domains };
	if (r == 0 && gp_resv_read_all(cli->ctx, &out->resv, &out->n_resv) < 0) {
		gp_cli_err("cannot tell which partitions are free: a reservation record cannot be "
			   "read (the library said which and why above)");
		r = -EIO;
	}
	if (r == 0) {
		slots_clear(slots, n);
		r = ask_dda(h, slots, n, &q);
	}
	if (r == 0)
		r = ask_parts(v, n, &q);
	if (r == 0)
		r = found = ask_libvirt(cli, &q, &out->uses);
	if (r >= 0) {
		out->n_uses = (size_t)found;
		r = fill_dda(slots, &q, out->uses, out->n_uses);
	}
	for (i = 0; r >= 0 && i < n; i++)
		for (k = 0; k < v[i].n_partitions; k++)
			holder(&v[i].partitions[k], out);
	ask_clear(&q);
	if (r < 0 && slots)
		slots_clear(slots, n);
	free(slots);
	if (r < 0) {
		if (r == -ENOMEM)
			gp_cli_err("out of memory");
		gp_cli_holders_clear(out);
	}
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

void gp_cli_holders_clear(struct gp_cli_holders *hd)
{
	gp_virt_uses_free(hd->uses, hd->n_uses);
	gp_resvs_free(hd->resv, hd->n_resv);
	*hd = (struct gp_cli_holders){ 0 };
}

size_t gp_cli_free_partitions(const struct gp_gpu_view *v)
{
	size_t i, k = 0;

	for (i = 0; i < v->n_partitions; i++)
		k += !v->partitions[i].domain;
	return k;
}
