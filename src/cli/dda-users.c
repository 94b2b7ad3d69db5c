/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Get-VMAssignableDevice's other half for list and survey: which libvirt domains name the
 * functions of a dismounted GPU. One bounded question to libvirt (gpupart/virt.h), asked only
 * when a GPU is dismounted: a host with none never loads libvirt for list.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gpupart/virt.h>

#include "cli.h"
#include "shared/strv.h"

/* Appends a copy of @s unless it is there already. */
static int push_once(char ***v, size_t *n, const char *s)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return 0;
	return gp_strv_push(v, n, strdup(s));
}

int gp_cli_dda_domains(struct gp_cli *cli, const struct gp_host *h,
		       const struct gp_cli_dda_slot *slots, size_t n)
{
	struct gp_virt_use *uses = NULL;
	char **pci = NULL;
	size_t *owner = NULL; /* the slot each entry of pci[] is a function of */
	size_t n_pci = 0, i, k, u;
	int r = 0, found;

	for (i = 0; i < n; i++) {
		*slots[i].names = NULL;
		*slots[i].n_names = 0;
	}
	for (i = 0; r == 0 && i < n; i++) {
		struct gp_device **fns = NULL;
		size_t nf = 0;

		if (!slots[i].dismounted)
			continue;
		r = gp_policy_dda_functions(h, slots[i].dev, &fns, &nf);
		for (k = 0; r == 0 && k < nf; k++) {
			size_t *o = realloc(owner, (n_pci + 1) * sizeof(*o));

			if (!o) {
				r = -ENOMEM;
				break;
			}
			owner = o;
			owner[n_pci] = i;
			r = gp_strv_push(&pci, &n_pci, strdup(fns[k]->address));
		}
		free(fns);
	}
	if (r < 0 || !n_pci || cli->no_libvirt ||
	    (!cli->connect && strcmp(gp_ctx_root(cli->ctx), "/") != 0))
		goto out;
	found = gp_virt_find_users(cli->ctx, cli->connect, cli->libvirt_timeout_ms,
				   (const char *const *)pci, n_pci, NULL, 0, &uses);
	if (found == -ECONNREFUSED && !cli->connect)
		goto out; /* no libvirt on this host: no domain */
	if (found < 0) {
		gp_cli_err("cannot ask libvirt which VMs the dismounted GPUs are assigned to "
			   "(the library said why above)");
		r = -EIO;
		goto out;
	}
	for (u = 0; r == 0 && u < (size_t)found; u++)
		for (k = 0; r == 0 && k < n_pci; k++)
			if (strcasecmp(pci[k], uses[u].device) == 0)
				r = push_once(slots[owner[k]].names, slots[owner[k]].n_names,
					 uses[u].domain);
	gp_virt_uses_free(uses, (size_t)found);
out:
	gp_strv_free(pci, n_pci);
	free(owner);
	if (r < 0)
		for (i = 0; i < n; i++) {
			gp_strv_free(*slots[i].names, *slots[i].n_names);
			*slots[i].names = NULL;
			*slots[i].n_names = 0;
		}
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}
