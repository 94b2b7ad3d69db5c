/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Discrete Device Assignment's pure parts: which functions a dismount moves
 * (gp_policy_dda_functions, by table over hand-built IOMMU groups), when a GPU counts as
 * dismounted, the vfio driver names, and dismounted.conf's parser and formatter (the
 * expected texts written by hand from gpupart(8), FILES).
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/dismounted.h>
#include <gpupart/policy.h>

#include "keep.h"

static struct gp_device *mk(const char *addr, int64_t cls, const char *driver, int group)
{
	struct gp_device *d = keep(calloc(1, sizeof(*d)));

	cr_assert_eq(gp_pci_addr_parse(addr, &d->addr), 0, "%s", addr);
	gp_pci_addr_format(&d->addr, d->address);
	d->detailed = d->full = true;
	d->class_code = cls;
	d->driver = driver ? keep(strdup(driver)) : NULL;
	d->iommu_group = group;
	d->vendor = 0x10de;
	d->device = 0x2231;
	d->subsystem_vendor = 0x10de;
	d->subsystem_device = 0x147e;
	return d;
}

/* A host of @n devices (sorted by address, as the scan leaves them) in one IOMMU group 7,
 * except those whose group is given otherwise. */
static struct gp_host *mk_host(struct gp_device **devs, size_t n)
{
	struct gp_host *h = keep(calloc(1, sizeof(*h)));
	struct gp_iommu_group *g = keep(calloc(1, sizeof(*g)));
	size_t i;

	g->id = 7;
	g->members = keep(calloc(n, sizeof(char *)));
	for (i = 0; i < n; i++)
		if (devs[i]->iommu_group == 7)
			g->members[g->n_members++] = devs[i]->address;
	h->devs = devs;
	h->n_devs = n;
	h->groups = g;
	h->n_groups = 1;
	h->iommu_enabled = true;
	return h;
}

static void functions_are(struct gp_host *h, struct gp_device *gpu, const char *want)
{
	struct gp_device **f;
	char got[256] = "";
	size_t n, i;

	cr_assert_eq(gp_policy_dda_functions(h, gpu, &f, &n), 0);
	for (i = 0; i < n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s", i ? " " : "",
			 f[i]->address);
	free(f);
	cr_assert_str_eq(got, want, "%s: got '%s', want '%s'", gpu->address, got, want);
}

Test(dda, functions_gpu_and_audio_not_the_bridge_nor_another_slot)
{
	struct gp_device *devs[] = {
		mk("0000:00:01.0", 0x060400, "pcieport", 7), /* the root port, in the group */
		mk("0000:01:00.0", 0x030000, "nvidia", 7),
		mk("0000:01:00.1", 0x040300, "snd_hda_intel", 7),
		mk("0000:01:00.2", 0x0c0330, "xhci_hcd", 9), /* its own group: stays */
		mk("0000:02:00.0", 0x010802, "nvme", 7),     /* another slot in the group */
	};
	struct gp_host *h = mk_host(devs, 5);

	/* the GPU first, then its slot's endpoints of the same group, in address order */
	functions_are(h, devs[1], "0000:01:00.0 0000:01:00.1");
	/* named from the audio function, the GPU comes second: the named one leads */
	functions_are(h, devs[2], "0000:01:00.1 0000:01:00.0");
	/* the NVMe's slot holds only itself */
	functions_are(h, devs[4], "0000:02:00.0");
}

Test(dda, functions_without_a_group_or_with_vfs)
{
	struct gp_device *devs[] = {
		mk("0000:41:00.0", 0x030200, "nvidia", 7),
		mk("0000:41:00.4", 0x030200, "nvidia", 7), /* a VF (ARI: same slot numbers) */
		mk("0000:41:00.5", 0x030200, NULL, 7),
	};
	struct gp_host *h = mk_host(devs, 3);

	devs[1]->is_vf = devs[2]->is_vf = true;
	functions_are(h, devs[0], "0000:41:00.0");
	/* no IOMMU group at all: the GPU alone (the survey refuses it: iommu-disabled) */
	devs[0]->iommu_group = -1;
	functions_are(h, devs[0], "0000:41:00.0");
}

Test(dda, dismounted_only_when_every_function_is_on_vfio)
{
	struct gp_device *devs[] = {
		mk("0000:01:00.0", 0x030000, "vfio-pci", 7),
		mk("0000:01:00.1", 0x040300, "snd_hda_intel", 7),
	};
	struct gp_host *h = mk_host(devs, 2);

	/* the audio function still on the host: the group cannot be opened by a VM */
	cr_assert_not(gp_policy_dda_dismounted(h, devs[0]));
	devs[1]->driver = keep(strdup("vfio-pci"));
	cr_assert(gp_policy_dda_dismounted(h, devs[0]));
	/* a vendor variant driver counts (built on vfio-pci-core) */
	devs[0]->driver = keep(strdup("nvgrace-gpu-vfio-pci"));
	cr_assert(gp_policy_dda_dismounted(h, devs[0]));
	/* unbound is not dismounted: nothing keeps the host from binding it again */
	devs[0]->driver = NULL;
	cr_assert_not(gp_policy_dda_dismounted(h, devs[0]));
}

Test(dda, vfio_driver_names)
{
	static const struct {
		const char *name;
		bool vfio;
	} t[] = {
		{ "vfio-pci", true },	     { "mlx5_vfio_pci", true },
		{ "nvgrace-gpu-vfio-pci", true }, { "hisi_acc_vfio_pci", true },
		{ "nvidia", false },	     { "snd_hda_intel", false },
		{ "pci-stub", false },	     { "vfio_pci", true }, /* 8 chars: "vfio" prefix */
		{ "xvfio_pcix", false },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		cr_assert_eq(gp_policy_is_vfio_driver(t[i].name), t[i].vfio, "%s", t[i].name);
	cr_assert_not(gp_policy_is_vfio_driver(NULL));
}

/* ---- dismounted.conf ------------------------------------------------------------------- */

static const char good[] =
	"# a comment\n"
	"\n"
	"pci0000:00/01.0/00.0  id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
	"driver=nvidia address=0000:01:00.0\n"
	"PCI0000:00/01.0/00.1\tid=10DE:1aef subsystem=10de:147e driver=- "
	"gpu=pci0000:00/01.0/00.0 # audio\n";

Test(record, parse_good)
{
	struct gp_dda_record r;
	char err[128];
	const struct gp_dda_entry *e;

	cr_assert_eq(gp_dda_record_parse(good, &r, err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(r.n, 2);
	e = gp_dda_record_find(&r, "pci0000:00/01.0/00.1");
	cr_assert_not_null(e, "paths are canonical (lowercase)");
	cr_assert_eq(e->vendor, 0x10de);
	cr_assert_eq(e->device, 0x1aef);
	cr_assert_null(e->driver, "driver=- is none");
	cr_assert_str_eq(e->gpu_path, "pci0000:00/01.0/00.0");
	cr_assert_eq(e->line, 4);
	e = gp_dda_record_find(&r, "pci0000:00/01.0/00.0");
	cr_assert_str_eq(e->driver, "nvidia");
	cr_assert_str_eq(e->address, "0000:01:00.0");
	gp_dda_record_clear(&r);
}

Test(record, format_round_trip)
{
	struct gp_dda_record r, back;
	char *text, *again;

	cr_assert_eq(gp_dda_record_parse(good, &r, NULL, 0), 0);
	text = gp_dda_record_format(&r);
	cr_assert_not_null(text);
	/* sorted by path, canonical, one space, driver "-", the address only where known */
	cr_assert(strstr(text, "\npci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e "
			       "gpu=pci0000:00/01.0/00.0 driver=nvidia address=0000:01:00.0\n"
			       "pci0000:00/01.0/00.1 id=10de:1aef subsystem=10de:147e "
			       "gpu=pci0000:00/01.0/00.0 driver=-\n"),
		  "%s", text);
	cr_assert_eq(gp_dda_record_parse(text, &back, NULL, 0), 0);
	again = gp_dda_record_format(&back);
	cr_assert_str_eq(again, text);
	/* removing the GPU removes its companions too */
	cr_assert_eq(gp_dda_record_unset_gpu(&back, "pci0000:00/01.0/00.0"), 2);
	cr_assert_eq(back.n, 0);
	free(text);
	free(again);
	gp_dda_record_clear(&r);
	gp_dda_record_clear(&back);
}

Test(record, parse_bad)
{
	static const struct {
		const char *text, *why;
	} t[] = {
		{ "pci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e driver=nvidia\n",
		  "line 1: pci0000:00/01.0/00.0: missing or bad gpu=" },
		{ "pci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0\n",
		  "line 1: pci0000:00/01.0/00.0: missing or bad driver=" },
		{ "pci0000:00/01.0/00.0 id=10de:22 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		  "driver=nvidia\n",
		  "line 1: pci0000:00/01.0/00.0: missing or bad id=" },
		{ "pci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		  "driver=../../evil\n",
		  "line 1: pci0000:00/01.0/00.0: missing or bad driver=" },
		{ "0000:01:00.0 id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		  "driver=nvidia\n",
		  "line 1: bad PCI path '0000:01:00.0'" },
		{ "pci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		  "driver=nvidia count=2\n",
		  "line 1: unknown key 'count'" },
		{ "pci0000:00/01.0/00.1 id=10de:1aef subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		  "driver=snd_hda_intel\n",
		  "line 1: gpu=pci0000:00/01.0/00.0 names no line of the file" },
		{ "pci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		  "driver=nvidia\n"
		  "pci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		  "driver=nouveau\n",
		  "line 2: pci0000:00/01.0/00.0 recorded twice (first on line 1)" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct gp_dda_record r = { 0 };
		char err[256];

		cr_assert_eq(gp_dda_record_parse(t[i].text, &r, err, sizeof(err)), -EINVAL,
			     "case %zu", i);
		cr_assert(strncmp(err, t[i].why, strlen(t[i].why)) == 0,
			  "case %zu: got '%s', want '%s...'", i, err, t[i].why);
		cr_assert_eq(r.n, 0);
	}
}
