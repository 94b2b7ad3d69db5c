/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart adapters [DOMAIN...]` (Get-VMGpuPartitionAdapter): per domain, every partition of
 * this host's GPUs its definition names, with the GPU's stable identity (Hyper-V's
 * InstancePath), the PartitionId, the VF or mdev, whether a reservation record of that domain
 * holds it and whether gpupart assigned it (its alias). Hostdevs added by other means are
 * shown, marked, never hidden. Read-only: no lock.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/adapters.h>
#include <gpupart/virt.h>

#include "cli.h"



struct adapter {
	const struct gp_op_use *use;
	const struct gp_part *part;
	bool reserved;
};

static int adapter_cmp(const void *x, const void *y)
{
	const struct adapter *a = x, *b = y;
	int c = strcmp(a->use->domain, b->use->domain);

	if (!c && a->use->uuid && b->use->uuid)
		c = strcmp(a->use->uuid, b->use->uuid);
	if (!c)
		c = gp_pci_addr_cmp(&a->part->gpu->addr, &b->part->gpu->addr);
	return c ? c : a->part->id - b->part->id;
}

static bool wanted(const char *domain, char **names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], domain))
			return true;
	return n == 0;
}

static int print_json(const struct adapter *a, size_t n)
{
	struct json_object *root = json_object_new_object(), *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *o = gp_json_part(a[i].part);

		json_object_object_add(o, "domain", json_object_new_string(a[i].use->domain));
		json_object_object_add(o, "domain_uuid", a[i].use->uuid && *a[i].use->uuid ?
							 json_object_new_string(a[i].use->uuid) :
							 NULL);
		json_object_object_add(o, "reserved", json_object_new_boolean(a[i].reserved));
		json_object_object_add(o, "assigned_by_gpupart",
				       json_object_new_boolean(a[i].use->gpupart));
		json_object_array_add(arr, o);
	}
	json_object_object_add(root, "schema_version", json_object_new_int(1));
	json_object_object_add(root, "adapters", arr);
	return gp_cli_emit_json(root);
}

/* Get-VMGpuPartitionAdapter | Format-List: one block per adapter. */
static int print_text(const struct adapter *a, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		const struct gp_part *p = a[i].part;

		printf("%sVMName           : %s\n", i ? "\n" : "", a[i].use->domain);
		printf("VMId             : %s\n", a[i].use->uuid && *a[i].use->uuid ?
							  a[i].use->uuid : "-");
		printf("InstancePath     : %s\n", p->instance_path[0] ? p->instance_path : "-");
		printf("GPU              : %s\n", p->gpu->address);
		printf("PartitionId      : %d\n", p->id);
		printf("%-17s: %s\n", p->mdev_uuid ? "MdevUuid" : "VFAddress", p->device);
		printf("Backend          : %s\n", gp_backend_str(p->backend));
		printf("VGPUType         : %s\n", p->vgpu_type ? p->vgpu_type : "-");
		if (p->fb_bytes >= 0)
			printf("PartitionVRAM    : %" PRId64 " MiB\n", p->fb_bytes >> 20);
		else
			printf("PartitionVRAM    : -\n");
		printf("Reserved         : %s\n", a[i].reserved ? "True" : "False");
		printf("AssignedByGpupart: %s\n", a[i].use->gpupart ? "True" : "False");
	}
	return EXIT_OK;
}

/* Every domain named exists: a name that is none is an error, as Get-VMGpuPartitionAdapter's
 * -VMName is (one bounded call each; only when names are given). */
static int check_names(struct gp_cli *cli, char **names, size_t n)
{
	struct gp_virt_domain d;
	size_t i;
	int r = 0;

	for (i = 0; r >= 0 && i < n; i++) {
		r = gp_virt_domain_inspect(cli->ctx, cli->connect, cli->libvirt_timeout_ms, names[i],
					   NULL, 0, NULL, 0, &d);
		if (r >= 0 && !d.found) {
			gp_cli_err("no domain '%s' on the connection", names[i]);
			r = -ENOENT;
		} else if (r < 0) {
			gp_cli_err("cannot ask libvirt about domain %s at %s: %s", names[i],
				   cli->connect ? cli->connect : "the default URI", strerror(-r));
		}
		gp_virt_domain_clear(&d);
	}
	return r;
}

/* Every device any domain names (GP_VIRT_EVERY), one bounded call: matched to the partitions
 * afterwards, as assign does. */
static int ask(struct gp_cli *cli, struct gp_virt_use **v, size_t *n)
{
	int r = gp_virt_find_users(cli->ctx, cli->connect, cli->libvirt_timeout_ms, NULL,
				   GP_VIRT_EVERY, NULL, GP_VIRT_EVERY, v);

	if (r < 0) {
		gp_cli_err("cannot ask libvirt at %s: %s",
			   cli->connect ? cli->connect : "the default URI", strerror(-r));
		return r;
	}
	*n = (size_t)r;
	return 0;
}

int cmd_adapters(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_host *h = NULL;
	struct gp_resv *resv = NULL;
	struct gp_part *parts = NULL;
	struct gp_virt_use *v = NULL;
	struct gp_op_use *uses = NULL;
	struct adapter *a = NULL;
	size_t n_resv = 0, n_parts = 0, nv = 0, na = 0, i, k;
	int r, ret = EXIT_FAIL;

	if (cli->no_libvirt) {
		gp_cli_err("adapters asks libvirt which domains have partitions: --no-libvirt does "
			   "not apply");
		return EXIT_USAGE;
	}
	r = gp_host_scan(cli->ctx, GP_SCAN_ALL_GPUS | (cli->any_class ? GP_SCAN_ANY_CLASS : 0),
			 NULL, 0, &h);
	if (r < 0)
		return gp_cli_scan_exit(r);
	if (gp_resv_read_all(cli->ctx, &resv, &n_resv) < 0 ||
	    gp_parts_build(h, cli->any_class, resv, n_resv, NULL, 0, &parts, &n_parts) < 0 ||
	    check_names(cli, argv, (size_t)argc) < 0 || ask(cli, &v, &nv) < 0)
		goto out;
	uses = calloc(nv + 1, sizeof(*uses));
	a = calloc(nv + 1, sizeof(*a));
	if (!uses || !a)
		goto out;
	for (i = 0; i < nv; i++)
		uses[i] = (struct gp_op_use){ v[i].domain, v[i].active, v[i].device, v[i].uuid,
					      v[i].gpupart };
	/* the domains in libvirt's order, each with its partitions in the host's order */
	for (k = 0; k < nv; k++) {
		if (!wanted(uses[k].domain, argv, (size_t)argc))
			continue;
		for (i = 0; i < n_parts; i++) {
			if (strcasecmp(parts[i].device, uses[k].device))
				continue;
			a[na].use = &uses[k];
			a[na].part = &parts[i];
			a[na].reserved = parts[i].resv && uses[k].uuid &&
					 !strcasecmp(parts[i].resv->uuid, uses[k].uuid);
			na++;
		}
	}
	/* a stable order whatever libvirt's: by domain, then as the host lists its partitions */
	qsort(a, na, sizeof(*a), adapter_cmp);
	ret = cli->json ? print_json(a, na) : print_text(a, na);
out:
	free(a);
	free(uses);
	gp_virt_uses_free(v, nv);
	free(parts);
	gp_resvs_free(resv, n_resv);
	gp_host_free(h);
	return ret;
}
