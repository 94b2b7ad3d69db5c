/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * kmod's modprobe, for the one module gpupart loads: vfio-pci, which the sriov backend binds
 * VFs to. Loading it registers its PCI driver (sys/bus/pci/drivers/vfio-pci, driver_register())
 * and its module's parameters (sys/module/vfio_pci/parameters, as the fixture writes them
 * for a host that has it loaded). A module already loaded is success with nothing done, as
 * modprobe answers.
 */
#include <stdio.h>
#include <string.h>

#include "fk-internal.h"

int fk_modprobe(struct fk *fk, char *const argv[])
{
	static const char *const params[][2] = {
		{ "enable_sriov", "N" }, { "disable_idle_d3", "N" }, { "disable_vga", "N" },
		{ "disable_denylist", "N" }, { "nointxmask", "N" }, { "ids", "" },
	};
	char rel[128];

	if (!argv[1] || argv[2] || strcmp(argv[1], "vfio-pci"))
		fk_unmodelled(fk, "%s (only modprobe vfio-pci is modelled)", fk->what);
	if (fk_marker(fk, "modprobe-fail", argv[1])) {
		fprintf(stderr, "modprobe: FATAL: Module %s not found in directory "
				"/lib/modules/6.8.0-45-generic\n", argv[1]);
		return 1;
	}
	if (fk_exists(fk, "sys/bus/pci/drivers/vfio-pci"))
		return 0;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		snprintf(rel, sizeof(rel), "sys/module/vfio_pci/parameters/%s", params[i][0]);
		fk_put(fk, rel, "%s\n", params[i][1]);
	}
	fk_put(fk, "sys/bus/pci/drivers/vfio-pci/bind", "%s", "");
	fk_put(fk, "sys/bus/pci/drivers/vfio-pci/unbind", "%s", "");
	fk_put(fk, "sys/bus/pci/drivers/vfio-pci/new_id", "%s", "");
	fk_put(fk, "sys/bus/pci/drivers/vfio-pci/remove_id", "%s", "");
	return 0;
}
