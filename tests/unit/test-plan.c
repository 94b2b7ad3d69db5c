/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The diff planner by table: from a hand-built state to another, the exact steps Linux needs
 * (reliability.md 1.1-1.4: override before probe, "\n" to clear, 0 before a new VF count,
 * autoprobe off while VFs appear, every write read back). Also the partition UUIDs and the
 * journal's round trip.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/kernel.h>
#include <gpupart/plan.h>

#include <gpupart/layout.h>

#include "base/internal.h"
#include "kinds/gpu.h"
#include "kinds/kinds.h"
#include "kinds/layout.h"
#include "txn/journal.h"

#define PF "0000:03:00.0"
#define DEV(a, attr) "sys/bus/pci/devices/" a "/" attr

struct vf_init {
	const char *addr, *driver, *override;
	int type;
};

static void state_init(struct gp_gpu_state *s, enum gp_backend b, int numvfs, int autoprobe,
		       const struct vf_init *vfs, size_t n)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	strcpy(s->address, PF);
	s->backend = b;
	s->numvfs = numvfs;
	s->autoprobe = autoprobe;
	s->vfio_pci = true; /* loaded, as on most hosts: nvidia_* tests below say otherwise */
	s->vfs = calloc(n ? n : 1, sizeof(*s->vfs));
	s->n_vfs = n;
	for (i = 0; i < n; i++) {
		s->vfs[i].index = (int)i;
		strcpy(s->vfs[i].address, vfs[i].addr);
		s->vfs[i].driver = vfs[i].driver ? strdup(vfs[i].driver) : NULL;
		s->vfs[i].override = vfs[i].override ? strdup(vfs[i].override) : NULL;
		s->vfs[i].vgpu_type = vfs[i].type;
	}
}

/* "op path value" per step, one per line: what a person would check the plan against */
static char *render(const struct gp_plan *p)
{
	char *buf = NULL;
	size_t len = 0, i;
	FILE *f = open_memstream(&buf, &len);

	for (i = 0; i < p->n; i++)
		fprintf(f, "%s %s %s\n", gp_step_op_str(p->steps[i].op), p->steps[i].path,
			strcmp(p->steps[i].value, "\n") ? p->steps[i].value : "\\n");
	fclose(f);
	return buf;
}

static void expect_plan(const struct gp_gpu_state *cur, const struct gp_gpu_state *want,
			const char *expected)
{
	struct gp_plan p = { 0 };
	char *got;

	cr_assert_eq(gp_plan_diff(cur, want, &p), 0);
	got = render(&p);
	cr_expect_str_eq(got ? got : "", expected);
	free(got);
	gp_plan_clear(&p);
}

static const struct vf_init vfio2[] = {
	{ "0000:03:00.1", "vfio-pci", "vfio-pci", GP_UNKNOWN },
	{ "0000:03:00.2", "vfio-pci", "vfio-pci", GP_UNKNOWN },
};

Test(plan, sriov_enable_binds_each_vf_through_the_override)
{
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_SRIOV, 0, 1, NULL, 0);
	state_init(&want, GP_BACKEND_SRIOV, 2, 1, vfio2, 2);
	expect_plan(&cur, &want,
		    "write " DEV(PF, "sriov_drivers_autoprobe") " 0\n"
		    "write " DEV(PF, "sriov_numvfs") " 2\n"
		    "wait " DEV(PF, "virtfn*") " 2\n"
		    "verify " DEV(PF, "sriov_numvfs") " 2\n"
		    "write " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "verify " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "write sys/bus/pci/drivers_probe 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " vfio-pci\n"
		    "write " DEV("0000:03:00.2", "driver_override") " vfio-pci\n"
		    "verify " DEV("0000:03:00.2", "driver_override") " vfio-pci\n"
		    "write sys/bus/pci/drivers_probe 0000:03:00.2\n"
		    "verify " DEV("0000:03:00.2", "driver") " vfio-pci\n"
		    "write " DEV(PF, "sriov_drivers_autoprobe") " 1\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

/* vfio-pci not registered: loaded first (modprobe, then its driver directory), before any
 * VF is made; an override naming an absent driver would bind nothing. */
Test(plan, sriov_loads_vfio_pci_before_anything)
{
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_SRIOV, 0, 0, NULL, 0);
	state_init(&want, GP_BACKEND_SRIOV, 1, 0, vfio2, 1);
	cur.vfio_pci = false;
	expect_plan(&cur, &want,
		    "exec sbin/modprobe vfio-pci\n"
		    "wait sys/bus/pci/drivers/vfio-pci 1\n"
		    "write " DEV(PF, "sriov_numvfs") " 1\n"
		    "wait " DEV(PF, "virtfn*") " 1\n"
		    "verify " DEV(PF, "sriov_numvfs") " 1\n"
		    "write " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "verify " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "write sys/bus/pci/drivers_probe 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " vfio-pci\n");
	/* and never undone: back to no VFs loads nothing, unloads nothing */
	cur.vfio_pci = true;
	want.vfio_pci = false;
	expect_plan(&want, &cur, "write " DEV(PF, "sriov_numvfs") " 0\n"
				 "wait " DEV(PF, "virtfn*") " 0\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

Test(plan, same_state_is_an_empty_plan)
{
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_SRIOV, 2, 1, vfio2, 2);
	state_init(&want, GP_BACKEND_SRIOV, 2, 1, vfio2, 2);
	cr_expect(gp_gpu_state_equal(&cur, &want));
	expect_plan(&cur, &want, "");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

Test(plan, a_new_count_goes_through_zero)
{
	static const struct vf_init one[] = { { "0000:03:00.1", "vfio-pci", "vfio-pci", -1 } };
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_SRIOV, 2, 1, vfio2, 2);
	state_init(&want, GP_BACKEND_SRIOV, 1, 1, one, 1);
	expect_plan(&cur, &want,
		    "write " DEV(PF, "sriov_numvfs") " 0\n"
		    "wait " DEV(PF, "virtfn*") " 0\n"
		    "write " DEV(PF, "sriov_drivers_autoprobe") " 0\n"
		    "write " DEV(PF, "sriov_numvfs") " 1\n"
		    "wait " DEV(PF, "virtfn*") " 1\n"
		    "verify " DEV(PF, "sriov_numvfs") " 1\n"
		    "write " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "verify " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "write sys/bus/pci/drivers_probe 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " vfio-pci\n"
		    "write " DEV(PF, "sriov_drivers_autoprobe") " 1\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

/* An unwind from a half-done enable: VFs up, autoprobe left at 0, back to none and 1. */
Test(plan, unwind_restores_autoprobe_after_removing_vfs)
{
	struct gp_gpu_state cur, orig;

	state_init(&cur, GP_BACKEND_SRIOV, 2, 0, vfio2, 2);
	state_init(&orig, GP_BACKEND_SRIOV, 0, 1, NULL, 0);
	expect_plan(&cur, &orig,
		    "write " DEV(PF, "sriov_numvfs") " 0\n"
		    "wait " DEV(PF, "virtfn*") " 0\n"
		    "write " DEV(PF, "sriov_drivers_autoprobe") " 1\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&orig);
}

/* VFs recreated to the journaled count come back on their own default driver (no override),
 * which drivers_probe gives them and the driver link proves. */
Test(plan, unwind_rebinds_default_drivers)
{
	static const struct vf_init nvme1[] = { { "0000:03:00.1", "nvme", NULL, -1 } };
	static const struct vf_init vfio3[] = {
		{ "0000:03:00.1", "vfio-pci", "vfio-pci", -1 },
		{ "0000:03:00.2", "vfio-pci", "vfio-pci", -1 },
		{ "0000:03:00.3", "vfio-pci", "vfio-pci", -1 },
	};
	struct gp_gpu_state cur, orig;

	state_init(&cur, GP_BACKEND_SRIOV, 3, 1, vfio3, 3);
	state_init(&orig, GP_BACKEND_SRIOV, 1, 1, nvme1, 1);
	expect_plan(&cur, &orig,
		    "write " DEV(PF, "sriov_numvfs") " 0\n"
		    "wait " DEV(PF, "virtfn*") " 0\n"
		    "write " DEV(PF, "sriov_drivers_autoprobe") " 0\n"
		    "write " DEV(PF, "sriov_numvfs") " 1\n"
		    "wait " DEV(PF, "virtfn*") " 1\n"
		    "verify " DEV(PF, "sriov_numvfs") " 1\n"
		    "write sys/bus/pci/drivers_probe 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " nvme\n"
		    "write " DEV(PF, "sriov_drivers_autoprobe") " 1\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&orig);
}

/* Same count, a VF on its default driver: unbind, override, probe, each checked. */
Test(plan, rebinding_a_bound_vf_unbinds_first)
{
	static const struct vf_init cur_vfs[] = { { "0000:03:00.1", "nvme", NULL, -1 } };
	static const struct vf_init want_vfs[] = { { "0000:03:00.1", "vfio-pci", "vfio-pci", -1 } };
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_SRIOV, 1, 1, cur_vfs, 1);
	state_init(&want, GP_BACKEND_SRIOV, 1, 1, want_vfs, 1);
	expect_plan(&cur, &want,
		    "write " DEV("0000:03:00.1", "driver/unbind") " 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " \n"
		    "write " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "verify " DEV("0000:03:00.1", "driver_override") " vfio-pci\n"
		    "write sys/bus/pci/drivers_probe 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " vfio-pci\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

/* Clearing an override writes "\n" (the empty string stopped clearing in some kernels). */
Test(plan, clearing_an_override_writes_a_newline)
{
	static const struct vf_init cur_vfs[] = { { "0000:03:00.1", "vfio-pci", "vfio-pci", -1 } };
	static const struct vf_init want_vfs[] = { { "0000:03:00.1", "nvme", NULL, -1 } };
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_SRIOV, 1, 1, cur_vfs, 1);
	state_init(&want, GP_BACKEND_SRIOV, 1, 1, want_vfs, 1);
	expect_plan(&cur, &want,
		    "write " DEV("0000:03:00.1", "driver/unbind") " 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " \n"
		    "write " DEV("0000:03:00.1", "driver_override") " \\n\n"
		    "verify " DEV("0000:03:00.1", "driver_override") " (null)\n"
		    "write sys/bus/pci/drivers_probe 0000:03:00.1\n"
		    "verify " DEV("0000:03:00.1", "driver") " nvme\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

/* Homogeneous mode takes a new type only on an empty GPU: every clear before any set. */
Test(plan, vgpu_types_clear_before_they_set)
{
	static const struct vf_init cur_vfs[] = {
		{ "0000:03:00.4", "nvidia", NULL, 1153 }, { "0000:03:00.5", "nvidia", NULL, 1153 },
		{ "0000:03:00.6", "nvidia", NULL, 0 },
	};
	static const struct vf_init want_vfs[] = {
		{ "0000:03:00.4", "nvidia", NULL, 1155 }, { "0000:03:00.5", "nvidia", NULL, 0 },
		{ "0000:03:00.6", "nvidia", NULL, 0 },
	};
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_NVIDIA_VFIO, 3, 1, cur_vfs, 3);
	state_init(&want, GP_BACKEND_NVIDIA_VFIO, 3, 1, want_vfs, 3);
	expect_plan(&cur, &want,
		    "write " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 0\n"
		    "verify " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 0\n"
		    "write " DEV("0000:03:00.5", "nvidia/current_vgpu_type") " 0\n"
		    "verify " DEV("0000:03:00.5", "nvidia/current_vgpu_type") " 0\n"
		    "write " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 1155\n"
		    "verify " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 1155\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

/* nvidia has no sriov_configure: VFs come from NVIDIA's script, types after a rescan. */
Test(plan, nvidia_vfs_come_from_sriov_manage_then_a_rescan)
{
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_NVIDIA_VFIO, 0, 1, NULL, 0);
	state_init(&want, GP_BACKEND_NVIDIA_VFIO, 32, 1, NULL, 0);
	expect_plan(&cur, &want,
		    "exec usr/lib/nvidia/sriov-manage -e " PF "\n"
		    "wait " DEV(PF, "virtfn*") " 32\n"
		    "rescan sys/bus/pci/devices/" PF " \n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

Test(plan, nvidia_unwind_clears_types_then_disables_vfs)
{
	static const struct vf_init cur_vfs[] = {
		{ "0000:03:00.4", "nvidia", NULL, 1153 }, { "0000:03:00.5", "nvidia", NULL, 0 },
	};
	struct gp_gpu_state cur, orig;

	state_init(&cur, GP_BACKEND_NVIDIA_VFIO, 2, 1, cur_vfs, 2);
	state_init(&orig, GP_BACKEND_NVIDIA_VFIO, 0, 1, NULL, 0);
	expect_plan(&cur, &orig,
		    "write " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 0\n"
		    "verify " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 0\n"
		    "exec usr/lib/nvidia/sriov-manage -d " PF "\n"
		    "wait " DEV(PF, "virtfn*") " 0\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&orig);
}

static void add_mdev(struct gp_gpu_state *s, const char *uuid, const char *type)
{
	struct gp_mdev_state *m;

	s->mdevs = realloc(s->mdevs, (s->n_mdevs + 1) * sizeof(*s->mdevs));
	m = &s->mdevs[s->n_mdevs++];
	memset(m, 0, sizeof(*m));
	strcpy(m->uuid, uuid);
	strcpy(m->parent, PF);
	m->type_key = strdup(type);
}

#define U1 "11111111-1111-8111-8111-111111111111"
#define U2 "22222222-2222-8222-8222-222222222222"
#define U3 "33333333-3333-8333-8333-333333333333"

/* Removals give back the capacity creations need; a kept mdev is not touched. */
Test(plan, mdevs_remove_before_they_create)
{
	struct gp_gpu_state cur, want;

	state_init(&cur, GP_BACKEND_NVIDIA_MDEV, GP_UNKNOWN, GP_UNKNOWN, NULL, 0);
	state_init(&want, GP_BACKEND_NVIDIA_MDEV, GP_UNKNOWN, GP_UNKNOWN, NULL, 0);
	add_mdev(&cur, U1, "nvidia-232");
	add_mdev(&cur, U2, "nvidia-233");
	add_mdev(&want, U2, "nvidia-233");
	add_mdev(&want, U3, "nvidia-233");
	expect_plan(&cur, &want,
		    "write sys/bus/mdev/devices/" U1 "/remove 1\n"
		    "wait sys/bus/mdev/devices/" U1 " 0\n"
		    "write " DEV(PF, "mdev_supported_types/nvidia-233/create") " " U3 "\n"
		    "verify sys/bus/mdev/devices/" U3 "/mdev_type nvidia-233\n");
	cr_expect(!gp_gpu_state_equal(&cur, &want));
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&want);
}

/*
 * Undoing set-count 0 (which cleared the types and disabled the VFs): the journal names the
 * VFs, so after sriov-manage -e brings them back idle on nvidia the types are planned at once,
 * with no rescan (an undo has no target to refine).
 */
Test(plan, nvidia_undo_of_disabling_vfs_sets_the_journaled_types)
{
	static const struct vf_init orig_vfs[] = {
		{ "0000:03:00.4", "nvidia", NULL, 1153 }, { "0000:03:00.5", "nvidia", NULL, 0 },
	};
	struct gp_gpu_state cur, orig;

	state_init(&cur, GP_BACKEND_NVIDIA_VFIO, 0, 1, NULL, 0);
	state_init(&orig, GP_BACKEND_NVIDIA_VFIO, 2, 1, orig_vfs, 2);
	expect_plan(&cur, &orig,
		    "exec usr/lib/nvidia/sriov-manage -e " PF "\n"
		    "wait " DEV(PF, "virtfn*") " 2\n"
		    "write " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 1153\n"
		    "verify " DEV("0000:03:00.4", "nvidia/current_vgpu_type") " 1153\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&orig);
}

/* A state recorded as vendor-VFIO (before sriov-manage -e showed mdev-shaped VFs) still
 * removes the mdevs the host has, before sriov-manage -d. */
Test(plan, stray_mdevs_go_on_either_nvidia_backend)
{
	static const struct vf_init cur_vfs[] = {
		{ "0000:03:00.4", "nvidia", NULL, GP_UNKNOWN },
	};
	struct gp_gpu_state cur, orig;

	state_init(&cur, GP_BACKEND_NVIDIA_VFIO, 1, 1, cur_vfs, 1);
	state_init(&orig, GP_BACKEND_NVIDIA_VFIO, 0, 1, NULL, 0);
	add_mdev(&cur, U1, "nvidia-1153");
	strcpy(cur.mdevs[0].parent, "0000:03:00.4");
	expect_plan(&cur, &orig,
		    "write sys/bus/mdev/devices/" U1 "/remove 1\n"
		    "wait sys/bus/mdev/devices/" U1 " 0\n"
		    "exec usr/lib/nvidia/sriov-manage -d " PF "\n"
		    "wait " DEV(PF, "virtfn*") " 0\n");
	gp_gpu_state_clear(&cur);
	gp_gpu_state_clear(&orig);
}

Test(plan, partition_uuids_are_stable_distinct_version_8)
{
	struct gp_device a = { .vendor = 0x10de, .device = 0x1eb8, .subsystem_vendor = 0x10de,
			       .subsystem_device = 0x12a2 };
	struct gp_device b = a;
	char seen[64][37], u[37];
	int i, k;

	b.subsystem_device = 0x12a3;
	for (i = 0; i < 64; i++) {
		gp_partition_uuid("pci0000:3a/00.0/00.0", &a, i, seen[i]);
		cr_assert_eq(strlen(seen[i]), 36);
		cr_expect_eq(seen[i][14], '8', "version nibble of %s", seen[i]);
		cr_expect(strchr("89ab", seen[i][19]), "variant of %s", seen[i]);
		for (k = 0; k < i; k++)
			cr_expect_str_neq(seen[i], seen[k]);
	}
	gp_partition_uuid("pci0000:3a/00.0/00.0", &a, 5, u);
	cr_expect_str_eq(u, seen[5], "the same GPU and id give the same UUID");
	gp_partition_uuid("pci0000:3a/00.0/00.0", &b, 5, u);
	cr_expect_str_neq(u, seen[5], "another card in the same slot gets other UUIDs");
	gp_partition_uuid("pci0000:3a/01.0/00.0", &a, 5, u);
	cr_expect_str_neq(u, seen[5], "the same card in another slot gets other UUIDs");
}

/* Reads the journal file of @dir back as text. */
static char *journal_text(const char *dir, size_t *len)
{
	char path[256], *buf;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/run/gpupart/journal", dir);
	f = fopen(path, "rb");
	cr_assert_not_null(f, "%s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, (size_t)n + 1);
	cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static const struct gp_gpu_state *jgpu(const struct gp_journal *j, size_t i)
{
	cr_assert_lt(i, j->txn.n);
	cr_assert_eq(j->txn.v[i]->kind, &gp_kind_gpu);
	return gp_gpu_change_orig(j->txn.v[i]);
}

/* The number of gpu changes of a journal. */
static size_t n_gpus(const struct gp_journal *j)
{
	size_t i, n = 0;

	for (i = 0; i < j->txn.n; i++)
		n += j->txn.v[i]->kind == &gp_kind_gpu;
	return n;
}

Test(plan, journal_round_trip)
{
	char tmpl[512], cmd[640], why[256] = "", *text;
	struct gp_journal j = { .pid = 4242, .start = 987654321ULL,
				.command = "set-count 0000:03:00.0 2" }, back;
	struct gp_pci_ident ids[2] = { { 0x144d, 0xa80a, 0x144d, 0xa801, 0x010802 },
				       { 0x10de, 0x1eb8, 0x10de, 0x12a2, 0x030200 } };
	struct gp_layout_entry had = { .path = "pci0000:3a/00.0/00.0", .vendor = 0x10de,
				       .device = 0x1eb8, .subsystem_vendor = 0x10de,
				       .subsystem_device = 0x12a2, .count = 4, .series = 'Q' };
	char *absent = "pci0000:00/03.0/00.0";
	struct gp_gpu_state g[2];
	struct gp_layout_state *ls;
	struct gp_change *c;
	static const struct vf_init vfs[] = {
		{ "0000:03:00.1", "nvme", NULL, -1 },
		{ "0000:03:00.2", NULL, "vfio-pci", 1153 },
	};
	struct gp_ctx *ctx;
	size_t len, i;

	/* the suite's scratch directory (TMPDIR, set by meson), not /tmp */
	snprintf(tmpl, sizeof(tmpl), "%s/gp-journal-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	cr_assert(mkdtemp(tmpl));
	cr_assert_eq(gp_ctx_new(tmpl, &ctx), 0);
	state_init(&g[0], GP_BACKEND_SRIOV, 2, 1, vfs, 2);
	state_init(&g[1], GP_BACKEND_NVIDIA_MDEV, GP_UNKNOWN, GP_UNKNOWN, NULL, 0);
	strcpy(g[1].address, "0000:3b:00.0");
	add_mdev(&g[1], U1, "nvidia-233");
	strcpy(g[1].mdevs[0].parent, "0000:3b:00.0");
	for (i = 0; i < 2; i++) {
		cr_assert_eq(gp_gpu_change_of(&g[i], &ids[i], &c), 0);
		cr_assert_eq(gp_txn_add(&j.txn, c), 0);
	}
	c = gp_change_new(&gp_kind_layout);
	cr_assert_not_null(c);
	c->orig = ls = calloc(1, sizeof(*ls));
	cr_assert_not_null(ls);
	cr_assert_eq(gp_layout_set(&ls->had, &had), 0);
	ls->absent = calloc(1, sizeof(char *));
	ls->absent[0] = strdup(absent);
	ls->n_absent = 1;
	cr_assert_eq(gp_txn_add(&j.txn, c), 0);
	j.stuck_pid = 77;
	j.stuck_start = 12345;
	strcpy(j.stuck_path, "sys/bus/pci/devices/0000:03:00.0/sriov_numvfs");
	cr_expect_eq(gp_journal_pending(ctx), 0);
	cr_assert_eq(gp_journal_write(ctx, &j), 0);
	cr_expect_eq(gp_journal_pending(ctx), 1);
	text = journal_text(tmpl, &len);
	cr_assert_eq(gp_journal_parse(text, len, gp_kinds_all, &back, why, sizeof(why)), 0,
		     "%s\n%s", why, text);
	cr_expect_eq(back.pid, 4242);
	cr_expect_eq(back.start, 987654321ULL);
	cr_expect_str_eq(back.command, j.command, "the command text is kept");
	cr_assert_eq(back.txn.n, 3);
	cr_assert_eq(n_gpus(&back), 2);
	cr_expect(gp_gpu_state_equal(jgpu(&back, 0), &g[0]));
	cr_expect(gp_gpu_state_equal(jgpu(&back, 1), &g[1]));
	cr_expect_eq(jgpu(&back, 1)->backend, GP_BACKEND_NVIDIA_MDEV);
	cr_expect_eq(memcmp(&gp_gpu_change_data(back.txn.v[0])->ident, &ids[0], sizeof(ids[0])), 0);
	cr_expect_eq(memcmp(&gp_gpu_change_data(back.txn.v[1])->ident, &ids[1], sizeof(ids[1])), 0);
	cr_assert_eq(back.txn.v[2]->kind, &gp_kind_layout, "the layout is the last change");
	cr_expect(gp_kind_layout.equal(back.txn.v[2]->orig, ls), "the layout comes back");
	ls = back.txn.v[2]->orig;
	cr_assert_eq(ls->had.n, 1);
	cr_expect_str_eq(ls->had.v[0].path, had.path);
	cr_expect_eq(ls->had.v[0].count, 4);
	cr_expect_eq(ls->had.v[0].series, 'Q');
	cr_assert_eq(ls->n_absent, 1);
	cr_expect_str_eq(ls->absent[0], absent);
	cr_expect_eq(back.stuck_pid, 77);
	cr_expect_eq(back.stuck_start, 12345ULL);
	cr_expect_str_eq(back.stuck_path, j.stuck_path);
	/* the end marker is the last line */
	cr_expect_str_eq(text + len - 4, "end\n");
	gp_journal_clear(&back);
	/* on a host without those devices the journal is damaged: never acted on */
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/sys/bus/pci/devices'", tmpl);
	cr_assert_eq(system(cmd), 0);
	cr_expect_eq(gp_journal_read(ctx, gp_kinds_all, &back), -EUCLEAN);
	cr_expect_eq(gp_journal_pending(ctx), 1, "a damaged journal is kept");
	cr_expect_eq(gp_journal_remove(ctx), 0);
	cr_expect_eq(gp_journal_pending(ctx), 0);
	free(text);
	gp_txn_clear(&j.txn);
	gp_gpu_state_clear(&g[0]);
	gp_gpu_state_clear(&g[1]);
	gp_ctx_free(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpl);
	cr_expect_eq(system(cmd), 0);
}

#define JHEAD "# c\njournal 3\npid 10 20\ncommand set-count 0000:03:00.0 2\n"
#define JGPU "gpu 0000:03:00.0 backend=sriov numvfs=2 autoprobe=1 id=144d:a80a " \
	     "subsystem=144d:a801 class=010802\n"
#define JVF "vf 0000:03:00.0 0 0000:03:00.1 driver=nvme override=- type=-\n"

/* Every shape of damage a journal can have: each is refused, never half-read. */
Test(plan, journal_damaged_table)
{
	static const struct {
		const char *text;
		const char *why; /* a piece of the reason */
	} bad[] = {
		{ "", "empty" },
		{ JHEAD JGPU, "end marker" },                  /* truncated before "end" */
		{ JHEAD JGPU "end", "cut short" },             /* no final newline */
		{ JHEAD "end\n", "no change record" },
		{ "journal 3\nend\n", "no change record" },
		{ JGPU "end\n", "header" },
		{ "journal 1\n" JGPU "end\n", "version" },
		{ "journal 2\npid 1 1\n" JGPU "end\n", "version" },
		{ "journal 4\npid 1 1\n" JGPU "end\n", "version" },
		{ JHEAD JGPU "end\n" JVF, "after the end" },
		{ JHEAD JGPU "end\nend\n", "after the end" },
		{ JHEAD JGPU "\nend\n", "empty line" },
		{ JHEAD JGPU "bogus 1\nend\n", "unknown record" },
		{ JHEAD "gpu ../../etc backend=sriov numvfs=2 autoprobe=1 id=144d:a80a "
			"subsystem=144d:a801 class=010802\nend\n", "PCI address" },
		{ JHEAD "gpu 0000:03:00.0 backend=evil numvfs=2 autoprobe=1 id=144d:a80a "
			"subsystem=144d:a801 class=010802\nend\n", "backend" },
		{ JHEAD "gpu 0000:03:00.0 backend=sriov numvfs=+2 autoprobe=1 id=144d:a80a "
			"subsystem=144d:a801 class=010802\nend\n", "numvfs" },
		{ JHEAD "gpu 0000:03:00.0 backend=sriov numvfs=2 autoprobe=7 id=144d:a80a "
			"subsystem=144d:a801 class=010802\nend\n", "autoprobe" },
		{ JHEAD "gpu 0000:03:00.0 backend=sriov numvfs=2 autoprobe=1 id=144d "
			"subsystem=144d:a801 class=010802\nend\n", "id" },
		{ JHEAD "gpu 0000:03:00.0 backend=sriov numvfs=2 autoprobe=1\nend\n", "8 fields" },
		{ JHEAD JGPU JGPU "end\n", "twice" },
		{ JHEAD "vf 0000:03:00.0 0 0000:03:00.1 driver=nvme override=- type=-\n" JGPU
			"end\n", "does not follow" },
		{ JHEAD JGPU "vf 0000:03:00.0 0 0000:00:17.0 driver=../ahci override=- type=-\n"
			"end\n", "driver name" },
		{ JHEAD JGPU "vf 0000:03:00.0 0 0000:03:00.1 driver=nvme override=a/b type=-\n"
			"end\n", "driver name" },
		{ JHEAD JGPU "vf 0000:03:00.0 5 0000:03:00.6 driver=nvme override=- type=-\n"
			"end\n", "beyond" },
		{ JHEAD JGPU "vf 0000:03:00.0 x 0000:03:00.1 driver=nvme override=- type=-\n"
			"end\n", "index" },
		{ JHEAD JGPU JVF JVF "end\n", "order" },
		{ JHEAD JGPU "mdev 0000:03:00.0 " "11111111-1111-8111-8111-11111111111x "
			"parent=0000:03:00.0 type=nvidia-1\nend\n", "UUID" },
		{ JHEAD JGPU "mdev 0000:03:00.0 " "111111111111-1111-8111-8111-11111111 "
			"parent=0000:03:00.0 type=nvidia-1\nend\n", "UUID" },
		{ JHEAD JGPU "mdev 0000:03:00.0 " "11111111-1111-8111-8111-11111111111A "
			"parent=0000:03:00.0 type=nvidia-1\nend\n", "UUID" },
		{ JHEAD JGPU "layout\nentry #x -\nend\n", "layout path" },
		{ JHEAD JGPU "mdev 0000:03:00.0 11111111-1111-8111-8111-111111111111 "
			"parent=0000:03:00.0 type=../../..\nend\n", "path component" },
		{ JHEAD JGPU "mdev 0000:03:00.0 11111111-1111-8111-8111-111111111111 "
			"parent=0000:03:00.0 type=..\nend\n", "path component" },
		{ JHEAD JGPU "mdev 0000:03:00.0 11111111-1111-8111-8111-111111111111 "
			"parent=x type=nvidia-1\nend\n", "parent" },
		{ JHEAD JGPU "layout\nentry garbage\nend\n", "partitions.conf" },
		{ JHEAD JGPU "layout\nentry ../x -\nend\n", "layout path" },
		{ JHEAD JGPU "stuck 12 x sys/x\nend\n", "stuck" },
		{ "# c\njournal 3\npid x 1\n" JGPU "end\n", "pid" },
		{ "# c\njournal 3\n" JGPU "end\n", "no pid" },
	};
	struct gp_journal j;
	char why[256];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		why[0] = 0;
		cr_expect_eq(gp_journal_parse(bad[i].text, strlen(bad[i].text), gp_kinds_all, &j,
					      why, sizeof(why)),
			     -EUCLEAN, "#%zu accepted:\n%s", i, bad[i].text);
		cr_expect(strstr(why, bad[i].why), "#%zu: reason '%s' lacks '%s'", i, why,
			  bad[i].why);
		cr_expect_eq(j.txn.n, 0, "#%zu: a refused journal leaves nothing behind", i);
	}
	/* a NUL inside */
	{
		static const char nul[] = JHEAD JGPU "\0end\n";

		cr_expect_eq(gp_journal_parse(nul, sizeof(nul) - 1, gp_kinds_all, &j, why, sizeof(why)),
			     -EUCLEAN);
		cr_expect(strstr(why, "NUL"), "%s", why);
	}
	/* and the sound one, for contrast */
	{
		static const char good[] = JHEAD JGPU JVF "end\n";

		cr_assert_eq(gp_journal_parse(good, strlen(good), gp_kinds_all, &j, why,
					      sizeof(why)), 0, "%s", why);
		cr_expect_eq(n_gpus(&j), 1);
		cr_expect_eq(jgpu(&j, 0)->n_vfs, 1);
		gp_journal_clear(&j);
	}
}
