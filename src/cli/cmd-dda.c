/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `gpupart dismount ADDR` and `gpupart mount ADDR`: Dismount-VMHostAssignableDevice and
 * Mount-VMHostAssignableDevice. The library builds the operation (ops/dda.c); the pipeline
 * is set-count's (partition.c): refusals, libvirt asked about the functions, the plan printed
 * or run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"
#include "shared/str.h"

int cmd_dda_check(struct gp_cli *cli, int argc, char **argv)
{
	struct gp_pci_addr *addrs = NULL;
	int n = gp_cli_parse_addrs(argc, argv, &addrs);

	free(addrs);
	if (n < 0)
		return n == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	if (cli->driver && !gp_str_is_name(cli->driver)) {
		gp_cli_err("--driver '%s' is not a driver name (as in /sys/bus/pci/drivers)",
			   cli->driver);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

/* The device named, as DDA takes it: a function of its own (not a VF, not a bridge). */
static int find_named(struct gp_cli *cli, int argc, char **argv, struct gp_host **h,
		      struct gp_device **dev)
{
	struct gp_pci_addr *addrs = NULL;
	int n = gp_cli_parse_addrs(argc, argv, &addrs), r;

	if (n < 0)
		return n == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	/* open files: a process holding its /dev/dri nodes refuses the dismount */
	r = gp_host_scan(cli->ctx, GP_SCAN_ANY_CLASS | GP_SCAN_OPEN_FILES | GP_SCAN_COMPANIONS, addrs, 1, h);
	if (r < 0) {
		free(addrs);
		return gp_cli_scan_exit(r);
	}
	*dev = gp_host_find(*h, &addrs[0]);
	free(addrs);
	if ((*dev)->is_vf) {
		gp_cli_err("%s is a virtual function of %s: a partition, not a whole device "
			   "(name the GPU)",
			   (*dev)->address, (*dev)->physfn ? (*dev)->physfn->address : "another device");
		return EXIT_USAGE;
	}
	if ((*dev)->class_code >= 0 && ((*dev)->class_code >> 8) == 0x0604) {
		gp_cli_err("%s is a PCI bridge: only endpoints are handed to VMs", (*dev)->address);
		return EXIT_USAGE;
	}
	return EXIT_OK;
}

static int run(struct gp_cli *cli, int argc, char **argv, bool dismount)
{
	struct gp_host *h = NULL;
	struct gp_device *d = NULL;
	struct gp_op *op = NULL;
	int ret, r;

	ret = find_named(cli, argc, argv, &h, &d);
	if (ret != EXIT_OK)
		goto out;
	if (cli->dry_run && gp_journal_pending(cli->ctx))
		gp_cli_warn("an interrupted change is pending; the next change undoes it first "
			    "(or run `gpupart repair`)");
	r = dismount ? gp_op_dismount_new(cli->ctx, h, d, gp_cli_op_flags(cli, false), &op) :
		       gp_op_mount_new(cli->ctx, h, d, cli->driver, gp_cli_op_flags(cli, false),
				       &op);
	if (r < 0) {
		gp_cli_err("out of memory");
		ret = EXIT_FAIL;
		goto out;
	}
	ret = gp_cli_operate(cli, op, dismount ? "dismount" : "mount");
out:
	gp_op_free(op);
	gp_host_free(h);
	return ret;
}

int cmd_dismount(struct gp_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, true);
}

int cmd_mount(struct gp_cli *cli, int argc, char **argv)
{
	return run(cli, argc, argv, false);
}
