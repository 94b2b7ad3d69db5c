/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A host's PCI devices through libvirt's node-device API (gp_virt_nodedev_parse,
 * gp_virt_nodedevs_read). The XML is written by hand after libvirt's docs/formatnode.rst (an
 * SR-IOV PF with virt_functions, a VF with phys_function, an mdev parent with mdev_types);
 * the read goes through libvirt's real test driver, which holds the devices of its node file.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "helpers.h"

#define PF_A16                                                                               \
	"<device><name>pci_0000_41_00_0</name><parent>pci_0000_40_01_1</parent>"             \
	"<driver><name>nvidia</name></driver>"                                               \
	"<capability type='pci'><class>0x030200</class><domain>0</domain><bus>65</bus>"     \
	"<slot>0</slot><function>0</function>"                                               \
	"<product id='0x25b6'>GA107GL [A2 / A16]</product>"                                  \
	"<vendor id='0x10de'>NVIDIA Corporation</vendor>"                                    \
	"<capability type='virt_functions' maxCount='16'>"                                   \
	"<address domain='0x0000' bus='0x41' slot='0x00' function='0x4'/>"                   \
	"<address domain='0x0000' bus='0x41' slot='0x00' function='0x5'/>"                   \
	"</capability>"                                                                      \
	"<iommuGroup number='27'><address domain='0x0000' bus='0x41' slot='0x00' "           \
	"function='0x0'/></iommuGroup><numa node='1'/></capability></device>"

#define VF_A16                                                                               \
	"<device><name>pci_0000_41_00_4</name><parent>pci_0000_41_00_0</parent>"             \
	"<capability type='pci'><class>0x030200</class><domain>0</domain><bus>65</bus>"     \
	"<slot>0</slot><function>4</function>"                                               \
	"<product id='0x25b6'>GA107GL [A2 / A16]</product>"                                  \
	"<vendor id='0x10de'>NVIDIA Corporation</vendor>"                                    \
	"<capability type='phys_function'><address domain='0x0000' bus='0x41' slot='0x00' " \
	"function='0x0'/></capability></capability></device>"

#define T4_MDEV                                                                              \
	"<device><name>pci_0000_3b_00_0</name><driver><name>nvidia</name></driver>"          \
	"<capability type='pci'><domain>0</domain><bus>59</bus><slot>0</slot>"               \
	"<function>0</function><product id='0x1eb8'>TU104GL [Tesla T4]</product>"            \
	"<vendor id='0x10de'>NVIDIA Corporation</vendor>"                                    \
	"<capability type='mdev_types'>"                                                     \
	"<type id='nvidia-222'><name>GRID T4-1B</name><deviceAPI>vfio-pci</deviceAPI>"       \
	"<availableInstances>16</availableInstances></type>"                                 \
	"<type id='nvidia-223'><name>GRID T4-2B</name><deviceAPI>vfio-pci</deviceAPI>"       \
	"<availableInstances>8</availableInstances></type>"                                  \
	"</capability></capability></device>"

Test(nodedev, parse_pf_with_vfs)
{
	struct gp_virt_nodedev d;

	cr_assert_eq(gp_virt_nodedev_parse(PF_A16, &d), 0);
	cr_expect_str_eq(d.address, "0000:41:00.0");
	cr_expect_eq(d.vendor, 0x10de);
	cr_expect_eq(d.device, 0x25b6);
	cr_expect_eq(d.pci_class, 0x030200);
	cr_expect_str_eq(d.product_name, "GA107GL [A2 / A16]");
	cr_expect_str_eq(d.driver, "nvidia");
	cr_expect_not(d.is_vf);
	cr_expect_eq(d.n_vfs, 2);
	cr_expect_eq(d.max_vfs, 16);
	cr_expect_eq(d.iommu_group, 27);
	cr_expect_eq(d.numa_node, 1);
	cr_expect_eq(d.n_mdev_types, 0);
	gp_virt_nodedev_clear(&d);
}

Test(nodedev, parse_vf_and_mdev_parent)
{
	struct gp_virt_nodedev d;

	cr_assert_eq(gp_virt_nodedev_parse(VF_A16, &d), 0);
	cr_expect_str_eq(d.address, "0000:41:00.4");
	cr_expect(d.is_vf);
	cr_expect_null(d.driver);
	cr_expect_eq(d.max_vfs, -1);
	cr_expect_eq(d.pci_class, 0x030200);
	gp_virt_nodedev_clear(&d);
	cr_assert_eq(gp_virt_nodedev_parse(T4_MDEV, &d), 0);
	cr_expect_str_eq(d.address, "0000:3b:00.0");
	cr_expect_eq(d.n_mdev_types, 2);
	cr_expect_eq(d.pci_class, -1, "no <class>: -1");
	cr_expect_eq(d.iommu_group, -1);
	gp_virt_nodedev_clear(&d);
}

Test(nodedev, parse_refuses)
{
	static const char *const bad[] = {
		"<device><name>x</name></device>",                     /* no PCI capability */
		"<device><capability type='pci'><domain>0</domain><bus>1</bus><slot>0</slot>"
		"<function>9</function><product id='0x1'/><vendor id='0x10de'/></capability>"
		"</device>",                                            /* function 9 */
		"<device><capability type='pci'><domain>0</domain><bus>1</bus><slot>0</slot>"
		"<function>0</function><vendor id='0x10de'/></capability></device>", /* no product */
		"<device><capability type='pci'><domain>0</domain><bus>1</bus><slot>0</slot>"
		"<function>0</function><product id='zz'/><vendor id='0x10de'/></capability>"
		"</device>",                                            /* product id not a number */
		"<domain><capability type='pci'/></domain>",           /* not a device */
		"<device><capability type='pci'>",                     /* not well-formed */
	};
	struct gp_virt_nodedev d;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_expect_eq(gp_virt_nodedev_parse(bad[i], &d), -EINVAL, "%zu: %s", i, bad[i]);
}

/* libvirt's test driver, devices from its node file: only the PCI ones come back */
Test(nodedev, read_from_test_driver, .fini = rm_tmpdir)
{
	static const char node[] =
		"<node>" PF_A16 VF_A16 T4_MDEV
		"<device><name>net_eth0</name><capability type='net'><interface>eth0</interface>"
		"<capability type='80203'/></capability></device>"
		"</node>";
	char path[128], uri[160], *host;
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_nodedev *d;
	size_t n, i, found = 0;
	FILE *f;

	mk_tmpdir();
	snprintf(path, sizeof(path), "%s/node.xml", tmpdir);
	cr_assert((f = fopen(path, "w")));
	fputs(node, f);
	fclose(f);
	snprintf(uri, sizeof(uri), "test://%s", path);
	cr_assert_eq(gp_virt_nodedevs_read(ctx, uri, 0, &host, &d, &n), 0, "log: %s", logbuf);
	cr_expect_eq(n, 3, "the PF, the VF, the T4: %zu", n);
	for (i = 0; i < n; i++) {
		if (!strcmp(d[i].address, "0000:41:00.0"))
			found += d[i].n_vfs == 2 && d[i].max_vfs == 16 && d[i].numa_node == 1;
		if (!strcmp(d[i].address, "0000:41:00.4"))
			found += d[i].is_vf;
		if (!strcmp(d[i].address, "0000:3b:00.0"))
			found += d[i].n_mdev_types == 2;
	}
	cr_expect_eq(found, 3, "as libvirt gave them back");
	cr_expect_not_null(host);
	gp_virt_nodedevs_free(d, n);
	free(host);
	gp_ctx_free(ctx);
}

Test(nodedev, unreachable)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_nodedev *d;
	char *host;
	size_t n;

	cr_expect_eq(gp_virt_nodedevs_read(ctx, "qemu+unix:///system?socket=/nonexistent/sock", 0,
					   &host, &d, &n),
		     -ECONNREFUSED, "log: %s", logbuf);
	cr_expect_null(d);
	gp_ctx_free(ctx);
}
