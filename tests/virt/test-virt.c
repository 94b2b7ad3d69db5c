/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpupart/virt.h: the domain XML parser by table; gp_virt_find_users on an unreachable URI and
 * on libvirt's test driver (running, persistent domains from a node XML file). The QEMU driver
 * embedded in this process is in test-virt-embed.c.
 */
#include <criterion/criterion.h>
#include <criterion/logging.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <libxml/globals.h>
#include <libxml/xmlerror.h>

#include "helpers.h"

static const char *const pci_q[] = { "0000:43:00.4", "0000:43:00.5", "0001:02:1f.7" };
static const char *const mdev_q[] = { "c2177883-f1bb-47f0-914d-32a22e3a8804" };

/* ---- the pure parser ---- */

#define DOM(devices) \
	"<domain type='kvm'><name>vm1</name><uuid>" UUID_A "</uuid><devices>" devices \
	"</devices></domain>"

static const struct xml_case {
	const char *name;
	const char *xml;
	int rc;
	const char *devices[3]; /* expected, in document order */
} xml_cases[] = {
	{ "pci hex", DOM("<hostdev mode='subsystem' type='pci' managed='yes'><source>"
			 "<address domain='0x0000' bus='0x43' slot='0x00' function='0x4'/>"
			 "</source></hostdev>"), 0, { "0000:43:00.4" } },
	{ "pci decimal", DOM("<hostdev mode='subsystem' type='pci'><source>"
			     "<address domain='1' bus='2' slot='31' function='7'/></source></hostdev>"),
	  0, { "0001:02:1f.7" } },
	{ "pci octal as strtoul base 0", DOM("<hostdev mode='subsystem' type='pci'><source>"
			"<address domain='0' bus='0103' slot='0' function='5'/></source></hostdev>"),
	  0, { "0000:43:00.5" } },
	{ "pci no domain, no mode", DOM("<hostdev type='pci'><source>"
			"<address bus='0x43' slot='0x00' function='0x5'/></source></hostdev>"),
	  0, { "0000:43:00.5" } },
	{ "interface hostdev", DOM("<interface type='hostdev' managed='yes'>"
			"<mac address='52:54:00:6d:90:02'/><source><address type='pci' "
			"domain='0x0000' bus='0x43' slot='0x00' function='0x5'/></source>"
			"</interface>"), 0, { "0000:43:00.5" } },
	{ "mdev uppercase", DOM("<hostdev mode='subsystem' type='mdev' model='vfio-pci'><source>"
			"<address uuid='C2177883-F1BB-47F0-914D-32A22E3A8804'/></source></hostdev>"),
	  0, { MDEV_UUID } },
	{ "usb hostdev", DOM("<hostdev mode='subsystem' type='usb'><source>"
			"<address domain='0x0000' bus='0x43' slot='0x00' function='0x4'/>"
			"</source></hostdev>"), 0, { NULL } },
	{ "guest-side address", DOM("<hostdev mode='subsystem' type='pci'><source>"
			"<address domain='0x0000' bus='0x01' slot='0x00' function='0x0'/></source>"
			"<address type='pci' domain='0x0000' bus='0x43' slot='0x00' function='0x4'/>"
			"</hostdev>"), 0, { NULL } },
	{ "capabilities mode", DOM("<hostdev mode='capabilities' type='pci'><source>"
			"<address bus='0x43' slot='0' function='4'/></source></hostdev>"),
	  0, { NULL } },
	{ "not asked for", DOM("<hostdev mode='subsystem' type='pci'><source>"
			"<address domain='0x0000' bus='0x43' slot='0x00' function='0x6'/></source>"
			"</hostdev><hostdev mode='subsystem' type='mdev'><source>"
			"<address uuid='c2177883-f1bb-47f0-914d-32a22e3a8805'/></source></hostdev>"),
	  0, { NULL } },
	{ "out of range and junk", DOM("<hostdev type='pci'><source>"
			"<address bus='0x43' slot='0' function='12'/></source></hostdev>"
			"<hostdev type='pci'><source><address bus='0x43' slot='0' function='4x'/>"
			"</source></hostdev><hostdev type='pci'><source>"
			"<address bus='-0x43' slot='0' function='4'/></source></hostdev>"),
	  0, { NULL } },
	{ "twice is once", DOM("<hostdev type='pci'><source><address bus='0x43' slot='0' "
			"function='4'/></source></hostdev><hostdev type='pci'><source><address "
			"domain='0' bus='67' slot='0' function='4'/></source></hostdev>"
			"<hostdev type='mdev'><source><address uuid='" MDEV_UUID "'/></source>"
			"</hostdev>"), 0, { "0000:43:00.4", MDEV_UUID } },
	{ "status XML", "<domstatus state='running'><domain type='kvm'><name>vm1</name><uuid>"
			UUID_A "</uuid><devices><hostdev type='pci'><source><address bus='0x43' "
			"slot='0' function='4'/></source></hostdev></devices></domain></domstatus>",
	  0, { "0000:43:00.4" } },
	{ "malformed", "<domain><name>vm1</name><devices><hostdev type='pci'>", -EINVAL,
	  { NULL } },
	{ "empty", "", -EINVAL, { NULL } },
	{ "not a domain", "<network><name>default</name></network>", -EINVAL, { NULL } },
	{ "doctype", "<!DOCTYPE domain [<!ENTITY a 'aaaa'>]><domain><name>&a;</name></domain>",
	  -EINVAL, { NULL } },
};

static void check_case(const struct xml_case *c)
{
	struct gp_virt_use *u = (void *)1;
	size_t n = 99, want = 0, i;
	int r;

	while (want < N(c->devices) && c->devices[want])
		want++;
	r = gp_virt_parse_domain_xml(c->xml, pci_q, N(pci_q), mdev_q, N(mdev_q), &u, &n);
	cr_assert_eq(r, c->rc, "%s: rc %d, want %d", c->name, r, c->rc);
	if (r < 0) {
		cr_expect_null(u, "%s", c->name);
		cr_expect_eq(n, 0, "%s", c->name);
		return;
	}
	cr_assert_eq(n, want, "%s: %zu uses, want %zu", c->name, n, want);
	for (i = 0; i < n; i++) {
		cr_expect_str_eq(u[i].device, c->devices[i], "%s", c->name);
		cr_expect_str_eq(u[i].domain, "vm1", "%s", c->name);
		cr_expect_str_eq(u[i].uuid, UUID_A, "%s", c->name);
		cr_expect_not(u[i].active, "%s", c->name);
	}
	gp_virt_uses_free(u, n);
}

static void xml_handler(void *data, xmlErrorPtr e)
{
}

Test(virt, parse_table)
{
	struct cap cap;
	char *err;
	size_t i;

	/* a handler of the caller's must survive every parse */
	xmlSetStructuredErrorFunc((void *)0x1234, xml_handler);
	cap_begin(&cap);
	for (i = 0; i < N(xml_cases); i++)
		check_case(&xml_cases[i]);
	err = cap_end(&cap);
	cr_expect_str_empty(err, "stderr: %s", err);
	cr_expect_eq(xmlStructuredError, xml_handler);
	cr_expect_eq(xmlStructuredErrorContext, (void *)0x1234);
}

Test(virt, parse_uppercase_uuid_and_no_name)
{
	static const char xml[] = "<domain><uuid>" "ABCDEF01-2222-4333-8444-555555555555"
		"</uuid><devices><hostdev type='pci'><source><address bus='0x43' slot='0' "
		"function='4'/></source></hostdev></devices></domain>";
	struct gp_virt_use *u;
	size_t n;

	cr_assert_eq(gp_virt_parse_domain_xml(xml, pci_q, 1, NULL, 0, &u, &n), 0);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(u[0].uuid, "abcdef01-2222-4333-8444-555555555555");
	cr_expect_str_eq(u[0].domain, "");
	gp_virt_uses_free(u, n);
}

/* 1 MB of domain (a guest with a thousand disks) with the one match at its end */
Test(virt, parse_1mb)
{
	static const char disk[] = "<disk type='file' device='disk'><driver name='qemu' "
		"type='qcow2'/><source file='/var/lib/libvirt/images/disk-0000000.qcow2'/>"
		"<target dev='vdz' bus='virtio'/><address type='pci' domain='0x0000' bus='0x43' "
		"slot='0x00' function='0x4'/></disk>\n";
	size_t cap = (1 << 20) + 4096, len = 0;
	struct gp_virt_use *u;
	char *xml = malloc(cap);
	double t0;
	size_t n;

	cr_assert(xml);
	len += sprintf(xml, "<domain type='kvm'><name>big</name><uuid>" UUID_A "</uuid><devices>");
	while (len < (1 << 20))
		len += sprintf(xml + len, "%s", disk);
	sprintf(xml + len, "<hostdev mode='subsystem' type='mdev'><source><address uuid='"
		MDEV_UUID "'/></source></hostdev></devices></domain>");
	t0 = now();
	cr_assert_eq(gp_virt_parse_domain_xml(xml, pci_q, N(pci_q), mdev_q, N(mdev_q), &u, &n), 0);
	cr_log_info("parse of %zu bytes: %.1f ms", strlen(xml), (now() - t0) * 1e3);
	cr_assert_eq(n, 1);
	cr_expect_str_eq(u[0].device, MDEV_UUID);
	cr_expect_str_eq(u[0].domain, "big");
	gp_virt_uses_free(u, n);
	free(xml);
}

/* ---- real libvirt ---- */

Test(virt, unreachable_is_econnrefused_and_silent)
{
	struct gp_virt_use *u = (void *)1;
	struct gp_ctx *ctx = new_ctx();
	struct cap cap;
	char *err;
	int r;

	cap_begin(&cap);
	r = gp_virt_find_users(ctx, "qemu+unix:///system?socket=/nonexistent/sock", 0, pci_q,
			       N(pci_q), mdev_q, N(mdev_q), &u);
	err = cap_end(&cap);
	cr_expect_eq(r, -ECONNREFUSED, "r=%d log: %s", r, logbuf);
	cr_expect_null(u);
	cr_expect_str_empty(err, "stderr: %s", err);
	cr_expect(strstr(logbuf, "<3>libvirt: no connection to qemu+unix:///system"),
		  "log: %s", logbuf);
	cr_expect(strstr(logbuf, "/nonexistent/sock"), "log: %s", logbuf);
	gp_ctx_free(ctx);
}

/* libvirt's test driver: domains in a node file are defined and running */
Test(virt, test_driver_running_domains, .fini = rm_tmpdir)
{
	static const char node[] =
		"<node>"
		"<domain type='test'><name>gp-run</name><uuid>" UUID_A "</uuid>"
		"<memory>65536</memory><os><type>hvm</type></os><devices>"
		"<hostdev mode='subsystem' type='pci' managed='yes'><source><address "
		"domain='0x0000' bus='0x43' slot='0x00' function='0x4'/></source></hostdev>"
		"</devices></domain>"
		"<domain type='test'><name>gp-plain</name><memory>65536</memory>"
		"<os><type>hvm</type></os></domain>"
		"</node>";
	char path[128], uri[160];
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u;
	struct cap cap;
	FILE *f;
	char *err;
	int n;

	mk_tmpdir();
	snprintf(path, sizeof(path), "%s/node.xml", tmpdir);
	f = fopen(path, "w");
	cr_assert(f);
	fputs(node, f);
	fclose(f);
	snprintf(uri, sizeof(uri), "test://%s", path);
	cap_begin(&cap);
	n = gp_virt_find_users(ctx, uri, 0, pci_q, N(pci_q), mdev_q, N(mdev_q), &u);
	err = cap_end(&cap);
	cr_assert_eq(n, 1, "n=%d log: %s", n, logbuf);
	cr_expect_str_eq(u[0].domain, "gp-run");
	cr_expect_str_eq(u[0].device, "0000:43:00.4");
	cr_expect_str_eq(u[0].uuid, UUID_A);
	cr_expect(u[0].active);
	cr_expect_str_empty(err, "stderr: %s", err);
	gp_virt_uses_free(u, n);
	gp_ctx_free(ctx);
}

/*
 * A running domain whose persistent definition alone names the device (redefined while it
 * runs): found through the inactive XML, and not active. test:///default is one instance
 * shared by the connections of a process while one stays open.
 */
Test(virt, test_driver_persistent_only)
{
	struct gp_ctx *ctx = new_ctx();
	struct gp_virt_use *u;
	virConnectPtr conn;
	virDomainPtr d;
	char uuid[VIR_UUID_STRING_BUFLEN], *xml, *p, *nx;
	int n;

	conn = virConnectOpen("test:///default");
	cr_assert(conn);
	d = virDomainLookupByName(conn, "test");
	cr_assert(d);
	cr_assert_eq(virDomainIsActive(d), 1);
	virDomainGetUUIDString(d, uuid);
	xml = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	cr_assert(xml && (p = strstr(xml, "</devices>")));
	cr_assert(asprintf(&nx, "%.*s<hostdev mode='subsystem' type='pci'><source><address "
			   "bus='0x43' slot='0x00' function='0x5'/></source></hostdev>%s",
			   (int)(p - xml), xml, p) > 0);
	virDomainFree(d);
	d = virDomainDefineXML(conn, nx);
	cr_assert(d, "%s", virGetLastErrorMessage());

	n = gp_virt_find_users(ctx, "test:///default", 0, pci_q, N(pci_q), NULL, 0, &u);
	cr_assert_eq(n, 1, "n=%d log: %s", n, logbuf);
	cr_expect_str_eq(u[0].domain, "test");
	cr_expect_str_eq(u[0].device, "0000:43:00.5");
	cr_expect_str_eq(u[0].uuid, uuid);
	cr_expect_not(u[0].active);
	gp_virt_uses_free(u, n);
	virDomainFree(d);
	free(xml);
	free(nx);
	virConnectClose(conn);
	gp_ctx_free(ctx);
}
