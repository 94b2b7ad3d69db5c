/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attach and detach on real libvirt: the CLI over the fake kernel (gpupart-fake -r TREE) with
 * fixture gpu-audio-group (an RTX A5000 at 0000:01:00.0 and its HDMI audio at 01:00.1, one
 * IOMMU group) dismounted by `gpupart dismount` itself (both on vfio-pci), and a libvirt daemon
 * of the test's own (tests/lib/daemon.h). Every expectation is read back from libvirt
 * (virDomainGetXMLDesc), never from what gpupart printed.
 *
 * "Byte-identical" compares with the definition as libvirt writes it after one round trip
 * (define, read, define again): a first definition is not a fixed point of libvirt's own
 * define (it sorts controllers it added while assigning addresses), and any define, by
 * anyone, makes that change; after it, libvirt's XML of an unchanged definition is stable.
 */
#include <criterion/criterion.h>
#include <criterion/hooks.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include "../lib/daemon.h"
#include "run.h"

#define GPU "0000:01:00.0"
#define AUDIO "0000:01:00.1"
#define DEVDIR "sys/devices/pci0000:00/0000:00:01.0/"

static struct test_daemon dmn;
static virConnectPtr conn;
static char *root;

static void quiet(void *data, virErrorPtr e) {}

/* Both functions on vfio-pci by the lead's `gpupart dismount` over the fake kernel (--force:
 * the fixture's A5000 is the boot VGA with a console, and has no FLR), checked by the
 * kernel's own driver links. */
static void fk(const char *verb, const char *extra)
{
	char *argv[] = { getenv("GPUPART_FAKE_BIN"), "--root", root, (char *)verb, GPU,
			 "--no-libvirt", (char *)extra, NULL };
	struct run r;

	cr_assert_not_null(argv[0], "GPUPART_FAKE_BIN is not set (run through meson test)");
	run_argv(&r, argv);
	cr_assert_eq(r.status, 0, "%s: %s%s", verb, r.out, r.err);
	run_free(&r);
}

static void expect_driver(const char *fn, const char *driver)
{
	char path[1024], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/" DEVDIR "%s/driver", root, fn);
	n = readlink(path, link, sizeof(link) - 1);
	cr_assert_gt(n, 0, "%s has no driver", fn);
	link[n] = '\0';
	cr_assert_str_eq(strrchr(link, '/') + 1, driver, "%s", fn);
}

static void dismounted_tree(void)
{
	char path[1024];
	FILE *f;

	root = test_scenario("gpu-audio-group");
	fk("dismount", "--force");
	expect_driver(GPU, "vfio-pci");
	expect_driver(AUDIO, "vfio-pci");
	snprintf(path, sizeof(path), "%s/proc/cpuinfo", root);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	fprintf(f, "processor\t: 0\naddress sizes\t: 46 bits physical, 48 bits virtual\n");
	fclose(f);
}

static void setup(void)
{
	char cache[512];

	snprintf(cache, sizeof(cache), "%s/lvd-cache", test_tmpbase());
	cr_assert(test_daemon_start(&dmn, test_tmpbase(), cache) == 0, "no test libvirt daemon");
	virSetErrorFunc(NULL, quiet);
	conn = virConnectOpen(dmn.uri);
	cr_assert_not_null(conn, "cannot connect to %s: %s", dmn.uri, virGetLastErrorMessage());
	dismounted_tree();
}

static void teardown(void)
{
	if (conn)
		virConnectClose(conn);
	conn = NULL;
	test_daemon_stop(&dmn);
}

TestSuite(dda, .init = setup, .fini = teardown, .timeout = 240);

/* The daemons' shared capabilities cache goes with the run (in the runner process). */
ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
	char cache[512];

	(void)stats;
	snprintf(cache, sizeof(cache), "%s/lvd-cache", test_tmpbase());
	rm_tree(cache);
}

/* ---- domains ---- */

static char *xml_of(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	char *x;

	cr_assert_not_null(d, "no domain %s", name);
	x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	cr_assert_not_null(x);
	virDomainFree(d);
	return x;
}

static char *live_xml_of(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	char *x = virDomainGetXMLDesc(d, 0);

	virDomainFree(d);
	return x;
}

/* Defines @xml and returns the definition after libvirt's round trip (see the top). */
static char *define(const char *xml)
{
	virDomainPtr d = virDomainDefineXML(conn, xml);
	char *x, *y, name[64];

	cr_assert_not_null(d, "define: %s", virGetLastErrorMessage());
	x = virDomainGetXMLDesc(d, VIR_DOMAIN_XML_INACTIVE);
	snprintf(name, sizeof(name), "%s", virDomainGetName(d));
	virDomainFree(d);
	d = virDomainDefineXML(conn, x);
	cr_assert_not_null(d);
	free(x);
	virDomainFree(d);
	y = xml_of(name);
	return y;
}

static bool active(const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);
	bool a = d && virDomainIsActive(d) == 1;

	if (d)
		virDomainFree(d);
	return a;
}

#define Q35_HEAD(name) "<domain type='qemu'><name>" name "</name><memory unit='KiB'>131072</memory>"
#define Q35_OS "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
#define OVMF_OS                                                                              \
	"<os><type arch='x86_64' machine='q35'>hvm</type>"                                   \
	"<loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE_4M.fd</loader></os>"   \
	"<features><acpi/></features>"
#define ROOT_CTL "<devices><controller type='pci' model='pcie-root'/></devices>"

/* ---- the CLI ---- */

static int gp(struct run *r, const char *a0, ...)
{
	char *argv[32];
	va_list ap;
	int n = 0;
	const char *s;

	argv[n++] = getenv("GPUPART_FAKE_BIN");
	cr_assert_not_null(argv[0], "GPUPART_FAKE_BIN is not set (run through meson test)");
	argv[n++] = "--root";
	argv[n++] = root;
	argv[n++] = "--connect";
	argv[n++] = dmn.uri;
	argv[n++] = (char *)a0;
	va_start(ap, a0);
	while ((s = va_arg(ap, const char *)) && n < 31)
		argv[n++] = (char *)s;
	va_end(ap);
	argv[n] = NULL;
	run_argv(r, argv);
	return r->status;
}

/* The <hostdev> for host function @fn in @xml: its guest address attributes into @guest. */
static bool hostdev(const char *xml, const char *fn, char *guest, size_t len)
{
	char src[160];
	const char *p, *a, *end;
	unsigned b, s, f;

	sscanf(fn, "0000:%x:%x.%x", &b, &s, &f);
	snprintf(src, sizeof(src),
		 "<address domain='0x0000' bus='0x%02x' slot='0x%02x' function='0x%x'/>", b, s, f);
	p = strstr(xml, src);
	if (!p)
		return false;
	a = strstr(p + strlen(src), "<address type='pci'");
	end = a ? strstr(a, "/>") : NULL;
	cr_assert_not_null(end);
	snprintf(guest, len, "%.*s", (int)(end - a), a);
	return true;
}

static void check_attached(const char *xml)
{
	char g0[256], g1[256], bus0[16], bus1[16];

	cr_assert(hostdev(xml, GPU, g0, sizeof(g0)), "no hostdev for the GPU in %s", xml);
	cr_assert(hostdev(xml, AUDIO, g1, sizeof(g1)), "no hostdev for the audio function");
	cr_expect(strstr(xml, "<hostdev mode='subsystem' type='pci' managed='no'>"));
	/* one slot, the host's functions, multifunction on function 0 */
	cr_assert(sscanf(strstr(g0, "bus="), "bus='%15[^']'", bus0) == 1);
	cr_assert(sscanf(strstr(g1, "bus="), "bus='%15[^']'", bus1) == 1);
	cr_expect_str_eq(bus0, bus1);
	cr_expect(strstr(g0, "slot='0x00' function='0x0' multifunction='on'"), "%s", g0);
	cr_expect(strstr(g1, "slot='0x00' function='0x1'") && !strstr(g1, "multifunction"), "%s", g1);
}

Test(dda, attach_detach_seabios_q35)
{
	char *before = define(Q35_HEAD("vm1") Q35_OS ROOT_CTL "</domain>"), *after, *back;
	struct run r;

	/* 1 TiB: the window no longer fits QEMU's default 40-bit guest */
	cr_assert_eq(gp(&r, "--json", "attach", "vm1", GPU, "--mmio-high", "1T", NULL), 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"window_bytes\": 1099511627776"), "%s", r.out);
	cr_expect(strstr(r.out, "\"overridden\": true"), "%s", r.out);
	cr_expect(strstr(r.out, "\"phys_bits\": 41"), "%s", r.out);
	cr_expect(strstr(r.out, "\"host_phys_bits\": 46"), "%s", r.out);
	cr_expect(strstr(r.out, "\"functions\": [\n    \"0000:01:00.0\",\n    \"0000:01:00.1\"\n  ]"),
		  "%s", r.out);
	cr_expect(strstr(r.out, "\"guest_bus\": ") && !strstr(r.out, "\"guest_bus\": null"), "%s", r.out);
	run_free(&r);
	after = xml_of("vm1");
	check_attached(after);
	cr_expect(strstr(after, "<pcihole64 unit='KiB'>1073741824</pcihole64>"), "%s", after);
	/* 4 GiB + 128 MiB of RAM, the window aligned above: ends at 2 TiB, 41 bits */
	cr_expect(strstr(after, "<maxphysaddr mode='emulate' bits='41'/>"), "%s", after);
	cr_expect(!strstr(after, "X-PciMmio64Mb"), "no OVMF, no aperture: %s", after);
	/* the lead's mount sees the domain and refuses (the GPU is the VM's now) */
	cr_expect_eq(gp(&r, "mount", GPU, NULL), 1, "%s", r.out);
	cr_expect(strstr(r.err, AUDIO " is assigned to VM vm1"), "%s%s", r.out, r.err);
	run_free(&r);
	/* list and survey name the domain (Get-VMAssignableDevice), asked on the connection */
	cr_assert_eq(gp(&r, "--json", "list", GPU, NULL), 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"dda\": {\n        \"dismounted\": true,\n        \"domains\": [\n"
				"          \"vm1\"\n        ]"),
		  "%s", r.out);
	run_free(&r);
	cr_assert_eq(gp(&r, "survey", GPU, NULL) & ~3, 0, "%s", r.err);
	cr_expect(strstr(r.out, "dismounted, assigned to: vm1\n"), "%s", r.out);
	run_free(&r);
	/* attached again: nothing to do, nothing changed */
	cr_expect_eq(gp(&r, "attach", "vm1", GPU, NULL), 0);
	cr_expect(strstr(r.out, "nothing to do"), "%s", r.out);
	run_free(&r);
	back = xml_of("vm1");
	cr_expect_str_eq(back, after);
	free(back);
	cr_assert_eq(gp(&r, "detach", "vm1", GPU, NULL), 0, "%s", r.err);
	run_free(&r);
	back = xml_of("vm1");
	cr_expect_str_eq(back, before, "detach did not restore the definition");
	free(before);
	free(after);
	free(back);
}

Test(dda, attach_detach_ovmf)
{
	char *before = define(Q35_HEAD("vm2") OVMF_OS ROOT_CTL "</domain>"), *after, *back;
	struct run r;

	cr_assert_eq(gp(&r, "attach", "vm2", GPU, "--mmio-high", "64GiB", NULL), 0, "%s", r.err);
	run_free(&r);
	after = xml_of("vm2");
	check_attached(after);
	cr_expect(strstr(after, "<pcihole64 unit='KiB'>67108864</pcihole64>"), "%s", after);
	cr_expect(strstr(after, "<qemu:arg value='-fw_cfg'/>\n"
				"    <qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=65536'/>"),
		  "%s", after);
	/* 64 GiB fits the default 40 bits: the guest width is left alone */
	cr_expect(!strstr(after, "maxphysaddr"), "%s", after);
	cr_assert_eq(gp(&r, "detach", "vm2", GPU, NULL), 0, "%s", r.err);
	run_free(&r);
	back = xml_of("vm2");
	cr_expect_str_eq(back, before);
	free(before);
	free(after);
	free(back);
}

/* The admin's larger values stay; detach leaves them as they were. */
Test(dda, admin_larger_values_kept)
{
	char *before = define(
		"<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>"
		"<name>vm3</name><memory unit='KiB'>131072</memory>" OVMF_OS
		"<cpu><maxphysaddr mode='emulate' bits='46'/></cpu><devices>"
		"<controller type='pci' model='pcie-root'><pcihole64 unit='KiB'>2147483648"
		"</pcihole64></controller></devices><qemu:commandline><qemu:arg value='-fw_cfg'/>"
		"<qemu:arg value='name=opt/ovmf/X-PciMmio64Mb,string=2097152'/></qemu:commandline>"
		"</domain>");
	char *after, *back;
	struct run r;

	cr_assert_eq(gp(&r, "attach", "vm3", GPU, "--mmio-high", "1T", NULL), 0, "%s", r.err);
	run_free(&r);
	after = xml_of("vm3");
	check_attached(after);
	cr_expect(strstr(after, "<pcihole64 unit='KiB'>2147483648</pcihole64>"), "%s", after);
	cr_expect(strstr(after, "string=2097152'/>"), "%s", after);
	cr_expect(!strstr(after, "string=1048576"), "%s", after);
	cr_expect(strstr(after, "<maxphysaddr mode='emulate' bits='46'/>"), "%s", after);
	cr_assert_eq(gp(&r, "detach", "vm3", GPU, NULL), 0, "%s", r.err);
	run_free(&r);
	back = xml_of("vm3");
	cr_expect_str_eq(back, before);
	free(before);
	free(after);
	free(back);
}

/* A smaller value of the admin's is raised, and detach puts it back. */
Test(dda, smaller_value_raised_and_restored)
{
	char *before = define(Q35_HEAD("vm4") Q35_OS
			      "<devices><controller type='pci' model='pcie-root'><pcihole64 "
			      "unit='KiB'>1048576</pcihole64></controller></devices></domain>");
	char *after, *back;
	struct run r;

	cr_assert_eq(gp(&r, "attach", "vm4", GPU, "--mmio-high", "8G", NULL), 0, "%s", r.err);
	run_free(&r);
	after = xml_of("vm4");
	cr_expect(strstr(after, "<pcihole64 unit='KiB'>8388608</pcihole64>"), "%s", after);
	cr_assert_eq(gp(&r, "detach", "vm4", GPU, NULL), 0, "%s", r.err);
	run_free(&r);
	back = xml_of("vm4");
	cr_expect_str_eq(back, before);
	free(before);
	free(after);
	free(back);
}

/* Every refusal: exit 1, the code in --json's findings, the domain's XML byte-identical. */
static void refused(const char *dom, const char *code, const char *const *extra)
{
	char *before = dom ? xml_of(dom) : NULL, *after;
	char *argv[32];
	struct run r;
	int n = 0;

	argv[n++] = getenv("GPUPART_FAKE_BIN");
	argv[n++] = "--root";
	argv[n++] = root;
	argv[n++] = "--connect";
	argv[n++] = dmn.uri;
	argv[n++] = "--json";
	argv[n++] = "attach";
	argv[n++] = (char *)(dom ? dom : "nosuch");
	argv[n++] = GPU;
	for (; extra && *extra; extra++)
		argv[n++] = (char *)*extra;
	argv[n] = NULL;
	run_argv(&r, argv);
	cr_expect_eq(r.status, 1, "%s: exit %d: %s", code, r.status, r.err);
	{
		char want[128];

		snprintf(want, sizeof(want), "\"code\": \"%s\"", code);
		cr_expect(strstr(r.out, want), "%s: not in %s", code, r.out);
	}
	run_free(&r);
	if (dom) {
		after = xml_of(dom);
		cr_expect_str_eq(after, before, "%s changed the domain", code);
		free(after);
	}
	free(before);
}

Test(dda, refusals_change_nothing)
{
	virDomainPtr t;

	free(define(Q35_HEAD("r1") Q35_OS ROOT_CTL "</domain>"));
	free(define("<domain type='qemu'><name>pc1</name><memory unit='KiB'>131072</memory>"
		    "<os><type arch='x86_64' machine='pc'>hvm</type></os></domain>"));
	refused(NULL, "domain-not-found", NULL);
	refused("pc1", "domain-not-q35", NULL);
	/* another domain names the audio function */
	free(define(Q35_HEAD("other") Q35_OS "<devices><controller type='pci' model='pcie-root'/>"
		    "<hostdev mode='subsystem' type='pci' managed='no'><source><address "
		    "domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source></hostdev>"
		    "</devices></domain>"));
	refused("r1", "gpu-assigned-elsewhere", NULL);
	{
		virDomainPtr o = virDomainLookupByName(conn, "other");

		cr_assert(virDomainUndefine(o) == 0);
		virDomainFree(o);
	}
	/* a transient domain (running: it exists only while it runs) */
	t = virDomainCreateXML(conn, Q35_HEAD("tr1") Q35_OS ROOT_CTL "</domain>", 0);
	cr_assert_not_null(t, "%s", virGetLastErrorMessage());
	refused("tr1", "domain-transient", NULL);
	virDomainDestroy(t);
	virDomainFree(t);
	/* running, without --restart */
	t = virDomainLookupByName(conn, "r1");
	cr_assert(virDomainCreate(t) == 0, "%s", virGetLastErrorMessage());
	refused("r1", "domain-running", NULL);
	virDomainDestroy(t);
	virDomainFree(t);
	/* mounted back (the lead's `gpupart mount`): not dismounted */
	fk("mount", NULL);
	expect_driver(AUDIO, "snd_hda_intel");
	refused("r1", "not-dismounted", NULL);
}

/*
 * A running domain with --restart: shut down (forced: a guest without an OS ignores the power
 * button), edited, started: the start fails (no such device on this machine, and vfio is not
 * the test's to open), so the definition is put back and the domain runs as before, without
 * the hostdevs.
 */
Test(dda, restart_start_fails_runs_as_before)
{
	char *before = define(Q35_HEAD("run1") Q35_OS ROOT_CTL "</domain>"), *after, *live;
	virDomainPtr d = virDomainLookupByName(conn, "run1");
	struct run r;

	cr_assert(virDomainCreate(d) == 0, "%s", virGetLastErrorMessage());
	virDomainFree(d);
	setenv("GPUPART_SHUTDOWN_TIMEOUT", "1", 1);
	cr_expect_eq(gp(&r, "attach", "run1", GPU, "--restart", NULL), 1, "%s", r.out);
	unsetenv("GPUPART_SHUTDOWN_TIMEOUT");
	cr_expect(strstr(r.err, "put back"), "%s", r.err);
	run_free(&r);
	cr_expect(active("run1"), "the domain does not run again");
	after = xml_of("run1");
	cr_expect_str_eq(after, before);
	live = live_xml_of("run1");
	cr_assert_not_null(live);
	cr_expect(!strstr(live, "<hostdev"), "%s", live);
	free(live);
	free(after);
	free(before);
	d = virDomainLookupByName(conn, "run1");
	virDomainDestroy(d);
	virDomainFree(d);
}

Test(dda, dry_run_changes_nothing)
{
	char *before = define(Q35_HEAD("dr1") OVMF_OS ROOT_CTL "</domain>"), *after;
	struct run r;

	cr_assert_eq(gp(&r, "--json", "attach", "dr1", GPU, "--dry-run", "--mmio-high", "64G", NULL), 0,
		     "%s", r.err);
	cr_expect(strstr(r.out, "pcihole64: none -> 67108864 KiB"), "%s", r.out);
	cr_expect(strstr(r.out, "\"code\": \"fw-cfg-taints\""), "%s", r.out);
	run_free(&r);
	after = xml_of("dr1");
	cr_expect_str_eq(after, before);
	free(after);
	free(before);
}

Test(dda, unreachable_connect_is_an_error)
{
	char *argv[] = { getenv("GPUPART_FAKE_BIN"), "--root", root, "--connect",
			 "qemu+unix:///session?socket=/nonexistent/sock", "attach", "vm", GPU, NULL };
	struct run r;

	run_argv(&r, argv);
	cr_expect_eq(r.status, 1);
	cr_expect(strstr(r.err, "cannot ask libvirt"), "%s", r.err);
	run_free(&r);
}

/* No free root port (none at all): gpupart adds one for the GPU, and detach takes it away. */
Test(dda, root_port_added_and_removed)
{
	char *before = define(Q35_HEAD("np1") Q35_OS
			      "<devices><controller type='pci' model='pcie-root'/>"
			      "<controller type='usb' model='none'/><memballoon model='none'/>"
			      "</devices></domain>");
	char *after, *back;
	struct run r;

	cr_assert(!strstr(before, "pcie-root-port"), "%s", before);
	cr_assert_eq(gp(&r, "attach", "np1", GPU, NULL), 0, "%s", r.err);
	run_free(&r);
	after = xml_of("np1");
	check_attached(after);
	cr_expect(strstr(after, "model='pcie-root-port'"), "%s", after);
	cr_expect(strstr(after, "root-port=\"added\""), "%s", after);
	cr_assert_eq(gp(&r, "detach", "np1", GPU, NULL), 0, "%s", r.err);
	run_free(&r);
	back = xml_of("np1");
	cr_expect_str_eq(back, before);
	free(before);
	free(after);
	free(back);
}

/* The warnings Hyper-V's DDA makes too: snapshots, and a host shutdown that saves the VM. */
Test(dda, warnings_snapshots_and_libvirt_guests)
{
	char path[1024];
	virDomainPtr d;
	virDomainSnapshotPtr snap;
	struct run r;
	FILE *f;

	free(define(Q35_HEAD("w1") Q35_OS ROOT_CTL "</domain>"));
	d = virDomainLookupByName(conn, "w1");
	/* snapshot metadata alone (REDEFINE): the domain has no disk to snapshot */
	{
		char *dx = xml_of("w1"), *sx;

		cr_assert(asprintf(&sx, "<domainsnapshot><name>s1</name><state>shutoff</state>"
					"<creationTime>1700000000</creationTime>%s</domainsnapshot>",
				   dx) > 0);
		snap = virDomainSnapshotCreateXML(d, sx, VIR_DOMAIN_SNAPSHOT_CREATE_REDEFINE);
		free(sx);
		free(dx);
	}
	cr_assert_not_null(snap, "%s", virGetLastErrorMessage());
	snprintf(path, sizeof(path), "%s/etc", root);
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/etc/default", root);
	cr_assert(mkdir(path, 0755) == 0 || errno == EEXIST);
	snprintf(path, sizeof(path), "%s/etc/default/libvirt-guests", root);
	f = fopen(path, "w");
	cr_assert_not_null(f);
	/* the Debian file's form: comments, a commented default, then the setting */
	fprintf(f, "# URIs to check for running guests\n#ON_SHUTDOWN=suspend\nON_BOOT=ignore\n"
		   "ON_SHUTDOWN=\"suspend\"\n");
	fclose(f);
	cr_expect_eq(gp(&r, "--json", "attach", "w1", GPU, "--dry-run", NULL), 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"code\": \"domain-has-snapshots\""), "%s", r.out);
	cr_expect(strstr(r.out, "line 4 sets ON_SHUTDOWN=suspend"), "%s", r.out);
	cr_expect(strstr(r.out, "set ON_SHUTDOWN=shutdown"), "%s", r.out);
	run_free(&r);
	/* set as Hyper-V's TurnOff: no warning */
	f = fopen(path, "w");
	fprintf(f, "ON_SHUTDOWN=shutdown\n");
	fclose(f);
	cr_expect_eq(gp(&r, "--json", "attach", "w1", GPU, "--dry-run", NULL), 0, "%s", r.err);
	cr_expect(!strstr(r.out, "libvirt-guests-saves"), "%s", r.out);
	run_free(&r);
	virDomainSnapshotDelete(snap, VIR_DOMAIN_SNAPSHOT_DELETE_METADATA_ONLY);
	virDomainSnapshotFree(snap);
	virDomainFree(d);
}

/*
 * gpupart killed with the domain half edited (its MMIO settings and record defined, no
 * hostdev yet: GPUPART_TEST_DDA_PAUSE_MS holds the change there): the journal keeps the
 * definition before, and `repair` defines it back.
 */
Test(dda, killed_mid_attach_repair_puts_back)
{
	char *before = define(Q35_HEAD("k1") Q35_OS ROOT_CTL "</domain>"), *now = NULL;
	char journal[1024];
	struct run r;
	pid_t pid;
	int i;

	snprintf(journal, sizeof(journal), "%s/run/gpupart/journal", root);
	pid = fork();
	cr_assert_geq(pid, 0);
	if (pid == 0) {
		char *argv[] = { getenv("GPUPART_FAKE_BIN"), "--root", root, "--connect", dmn.uri,
				 "attach", "k1", GPU, "--mmio-high", "64G", NULL };
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		setenv("GPUPART_TEST_DDA_PAUSE_MS", "30000", 1);
		execv(argv[0], argv);
		_exit(127);
	}
	for (i = 0; i < 300; i++) {
		free(now);
		now = xml_of("k1");
		if (strstr(now, "gpupart:dda") && access(journal, F_OK) == 0)
			break;
		usleep(100 * 1000);
	}
	cr_assert_lt(i, 300, "the attach never reached its pause: %s", now);
	cr_expect(strstr(now, "<pcihole64 unit='KiB'>67108864</pcihole64>"), "%s", now);
	cr_expect(!strstr(now, "<hostdev"), "%s", now);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	free(now);
	cr_assert_eq(access(journal, F_OK), 0, "the kill left no journal");
	{
		/* the URI is the journal's: repair takes no --connect */
		char *argv[] = { getenv("GPUPART_FAKE_BIN"), "--root", root, "repair", NULL };

		run_argv(&r, argv);
		cr_expect_eq(r.status, 0, "%s%s", r.out, r.err);
		run_free(&r);
	}
	now = xml_of("k1");
	cr_expect_str_eq(now, before, "repair did not put the definition back");
	cr_expect_neq(access(journal, F_OK), 0, "the journal stays after repair");
	free(now);
	free(before);
}
