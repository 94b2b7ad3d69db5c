/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The fake kernel's rules that dismount and mount meet (fk-pci.c, fk-native.c), through the
 * library's own bounded write path: vfio-pci bound by driver_override + drivers_probe and
 * /dev/vfio/N there while any member of the group is on vfio-pci; native drivers whose
 * remove() waits for a process holding the device (nvidia: /dev/nvidiaN and its DRM nodes;
 * snd_hda_intel: its ALSA card's nodes) and whose cards go with them and come back; new_id and
 * bind, which gpupart never writes, abort.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "fixture.h"
#include "fktest.h"

TestSuite(fakekernel_dda, .fini = cleanup);

#define GPU "0000:01:00.0"
#define AUDIO "0000:01:00.1"

/* A fake process PID in ROOT/proc holding TARGET open as fd 5 (what the kernel counts as a
 * user and the library reads). Returns the link's path, for the test to let go. */
static char *hold(const char *root, const char *pid, const char *target)
{
	char *dir, *link;

	cr_assert_geq(asprintf(&dir, "%s/proc/%s/fd", root, pid), 0);
	cr_assert_eq(fx_mkdirs(dir, "."), 0);
	cr_assert_geq(asprintf(&link, "%s/5", dir), 0);
	cr_assert_eq(symlink(target, link), 0, "%s", link);
	free(dir);
	return own(link);
}

static int unbind(const char *root, const char *addr, int timeout_ms)
{
	char path[128];
	int stuck = 0;

	snprintf(path, sizeof(path), DEV "%s/driver/unbind", addr);
	return fk_run(root, path, addr, NULL, timeout_ms, &stuck);
}

static void to_vfio(const char *r, const char *addr)
{
	char path[128];

	snprintf(path, sizeof(path), DEV "%s/driver_override", addr);
	cr_assert_eq(fkw(r, path, "vfio-pci"), 0);
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", addr), 0);
	cr_assert_str_eq(lnk(r, DEV "%s/driver", addr), "vfio-pci");
}

/* ---- vfio-pci -------------------------------------------------------------------------- */

/* vfio_pci_core_register_device -> vfio_register_group_dev creates the group's cdev with its
 * first vfio member, and vfio_group_put drops it with the last (drivers/vfio/group.c): the
 * node is there while one member is on vfio-pci, the other still on its native driver. */
Test(fakekernel_dda, vfio_group_node_while_any_member_is_on_vfio)
{
	char *r = tree("dda-ready"), *g = lnk(r, DEV GPU "/iommu_group");

	cr_assert_str_eq(lnk(r, DEV AUDIO "/iommu_group"), g);
	cr_assert_not(ex(r, "dev/vfio/%s", g));
	cr_assert_eq(unbind(r, GPU, FK_BOUND_MS), 0);
	cr_assert_eq(fkw(r, DEV GPU "/driver_override", "vfio-pci"), 0);
	cr_assert_null(lnk(r, DEV GPU "/driver"), "driver_override must not bind");
	cr_assert_not(ex(r, "dev/vfio/%s", g));
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", GPU), 0);
	cr_assert_str_eq(lnk(r, DEV GPU "/driver"), "vfio-pci");
	cr_assert(ex(r, "dev/vfio/%s", g), "the first vfio member brings the node");
	cr_assert(ex(r, DEV GPU "/vfio-dev/vfio%s", g));
	cr_assert_str_eq(lnk(r, DEV AUDIO "/driver"), "snd_hda_intel");
	cr_assert_eq(unbind(r, AUDIO, FK_BOUND_MS), 0);
	to_vfio(r, AUDIO);
	/* one member back: the node stays for the other */
	cr_assert_eq(unbind(r, GPU, FK_BOUND_MS), 0);
	cr_assert(ex(r, "dev/vfio/%s", g));
	cr_assert_not(ex(r, DEV GPU "/vfio-dev"));
	cr_assert_eq(unbind(r, AUDIO, FK_BOUND_MS), 0);
	cr_assert_not(ex(r, "dev/vfio/%s", g), "the last vfio member takes the node");
	/* the override cleared with "\n", drivers_probe finds the native drivers again */
	cr_assert_eq(fkw(r, DEV GPU "/driver_override", "\n"), 0);
	cr_assert_str_eq(rd(r, DEV GPU "/driver_override"), "(null)\n");
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", GPU), 0);
	cr_assert_str_eq(lnk(r, DEV GPU "/driver"), "nvidia");
	cr_assert_eq(fkw(r, DEV AUDIO "/driver_override", "\n"), 0);
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", AUDIO), 0);
	cr_assert_str_eq(lnk(r, DEV AUDIO "/driver"), "snd_hda_intel");
}

/* driver_override naming a module nobody loaded: the probe binds nothing (no autoload for an
 * override); after modprobe vfio-pci the same probe binds. */
Test(fakekernel_dda, override_waits_for_vfio_pci_loaded)
{
	char *r = tree("dda-ready");
	char *modprobe[] = { "/sbin/modprobe", "vfio-pci", NULL };
	char *p;

	cr_assert_geq(asprintf(&p, "rm -rf '%s/sys/bus/pci/drivers/vfio-pci'", r), 0);
	cr_assert_eq(system(p), 0);
	free(p);
	cr_assert_eq(unbind(r, GPU, FK_BOUND_MS), 0);
	cr_assert_eq(fkw(r, DEV GPU "/driver_override", "vfio-pci"), 0);
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", GPU), 0);
	cr_assert_null(lnk(r, DEV GPU "/driver"));
	cr_assert_eq(fk_run(r, NULL, NULL, modprobe, FK_BOUND_MS, NULL), 0);
	cr_assert(ex(r, "sys/bus/pci/drivers/vfio-pci"));
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", GPU), 0);
	cr_assert_str_eq(lnk(r, DEV GPU "/driver"), "vfio-pci");
}

/* the fixture's GPU already on vfio-pci (driverctl): its node is there from the start */
Test(fakekernel_dda, vfio_by_hand_has_its_node)
{
	char *r = tree("dda-vfio-by-hand"), *g = lnk(r, DEV GPU "/iommu_group");

	cr_assert_str_eq(lnk(r, DEV GPU "/driver"), "vfio-pci");
	cr_assert_str_eq(lnk(r, DEV AUDIO "/driver"), "vfio-pci");
	cr_assert_str_eq(rd(r, DEV GPU "/driver_override"), "vfio-pci\n");
	cr_assert(ex(r, "dev/vfio/%s", g));
	cr_assert_eq(unbind(r, GPU, FK_BOUND_MS), 0);
	cr_assert_eq(unbind(r, AUDIO, FK_BOUND_MS), 0);
	cr_assert_not(ex(r, "dev/vfio/%s", g));
}

/* ---- native remove() waits for users ------------------------------------------------- */

/* Unbinding @addr blocks (the write is abandoned) while @target is held, changing nothing,
 * and completes once the holder lets go. */
static void blocks_while_held(const char *scenario, const char *addr, const char *drv,
			      const char *target)
{
	char *r = tree(scenario), *link = hold(r, "2718", target), line[128];

	cr_assert_eq(unbind(r, addr, 300), -ETIMEDOUT, "%s held: the unbind must block", target);
	cr_assert_str_eq(lnk(r, DEV "%s/driver", addr), drv, "a blocked remove changed it");
	cr_assert(strstr(rd(r, ".fakekernel/log"), "= blocked"));
	unlink(link);
	snprintf(line, sizeof(line), "driver/unbind %s = 0\n", addr);
	cr_assert(wait_log(r, line), "the unbind did not complete once %s was closed", target);
	cr_assert_null(lnk(r, DEV "%s/driver", addr));
}

/* the information file says "Device Minor: 1" (fx_nvidia_minor: bus 01) */
Test(fakekernel_dda, nvidia_remove_waits_for_dev_nvidia_n, .timeout = 60)
{
	blocks_while_held("dda-ready", GPU, "nvidia", "/dev/nvidia1");
}

Test(fakekernel_dda, nvidia_remove_waits_for_its_drm_card, .timeout = 60)
{
	blocks_while_held("dda-ready", GPU, "nvidia", "/dev/dri/card1");
}

Test(fakekernel_dda, nvidia_remove_waits_for_its_render_node, .timeout = 60)
{
	blocks_while_held("dda-ready", GPU, "nvidia", "/dev/dri/renderD129");
}

Test(fakekernel_dda, snd_hda_remove_waits_for_its_control_node, .timeout = 60)
{
	blocks_while_held("dda-ready", AUDIO, "snd_hda_intel", "/dev/snd/controlC0");
}

Test(fakekernel_dda, snd_hda_remove_waits_for_its_pcm, .timeout = 60)
{
	blocks_while_held("dda-ready", AUDIO, "snd_hda_intel", "/dev/snd/pcmC0D3p");
}

/* other devices' nodes and the control nodes hold nothing of this GPU's */
Test(fakekernel_dda, other_nodes_do_not_block)
{
	static const char *const other[] = { "/dev/nvidia0", "/dev/nvidiactl", "/dev/nvidia-uvm",
					     "/dev/dri/card0", "/dev/snd/controlC1",
					     "/dev/snd/pcmC10D0p", "/dev/snd/timer", "/dev/vfio/vfio" };
	char *r = tree("dda-ready");

	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char pid[16];

		snprintf(pid, sizeof(pid), "%zu", 100 + i);
		hold(r, pid, other[i]);
	}
	cr_assert_eq(unbind(r, GPU, 2000), 0);
	cr_assert_eq(unbind(r, AUDIO, 2000), 0);
}

/* ---- what the native drivers' probe makes ---------------------------------------------- */

Test(fakekernel_dda, native_cards_go_with_the_driver_and_come_back)
{
	char *r = tree("dda-ready"), *info = rd(r, "proc/driver/nvidia/gpus/" GPU "/information");

	cr_assert_not_null(info);
	cr_assert(ex(r, DEV GPU "/drm/card1") && ex(r, "sys/class/drm/card1"));
	cr_assert(ex(r, DEV AUDIO "/sound/card0") && ex(r, "sys/class/sound/card0"));
	cr_assert_eq(unbind(r, GPU, FK_BOUND_MS), 0);
	cr_assert_eq(unbind(r, AUDIO, FK_BOUND_MS), 0);
	cr_assert_not(ex(r, "proc/driver/nvidia/gpus/" GPU), "nv_procfs_remove_gpu");
	cr_assert_not(ex(r, DEV GPU "/drm"), "drm_dev_unregister");
	cr_assert_not(ex(r, "sys/class/drm/card1"));
	cr_assert(ex(r, "sys/class/drm/card0"), "the BMC's card is not the GPU's");
	cr_assert_not(ex(r, DEV AUDIO "/sound") || ex(r, "sys/class/sound/card0"), "snd_card_free");
	/* on vfio-pci: no card of any kind */
	to_vfio(r, GPU);
	cr_assert_not(ex(r, DEV GPU "/drm"));
	cr_assert_not(ex(r, "proc/driver/nvidia/gpus/" GPU));
	cr_assert_eq(unbind(r, GPU, FK_BOUND_MS), 0);
	cr_assert_eq(fkw(r, DEV GPU "/driver_override", "\n"), 0);
	/* back on nvidia and snd_hda_intel: the same files again */
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", GPU), 0);
	cr_assert_eq(fkw(r, "sys/bus/pci/drivers_probe", AUDIO), 0);
	cr_assert_str_eq(rd(r, "proc/driver/nvidia/gpus/" GPU "/information"), info);
	cr_assert_str_eq(rd(r, DEV GPU "/drm/card1/dev"), "226:1\n");
	cr_assert_str_eq(lnk(r, "sys/class/drm/card1"), "card1");
	cr_assert(ex(r, DEV GPU "/drm/renderD129"));
	cr_assert_str_eq(rd(r, DEV AUDIO "/sound/card0/number"), "0\n");
	cr_assert_str_eq(lnk(r, "sys/class/sound/card0"), "card0");
	cr_assert_not(ex(r, ".fakekernel/gone/" GPU));
}

/* ---- writes gpupart never makes ------------------------------------------------------ */

static void aborts(const char *path, const char *val)
{
	char *r = tree("dda-ready"), *log;

	/* the child aborts: the library sees it die without an answer */
	cr_assert_eq(fkw(r, path, val), -EIO, "%s", path);
	log = rd(r, ".fakekernel/log");
	cr_assert(log && strstr(log, "= unmodelled"), "%s: log %s", path, log);
	cr_assert(ex(r, ".fakekernel/unmodelled"));
	cr_assert_str_eq(lnk(r, DEV GPU "/driver"), "nvidia");
	cr_assert_str_eq(lnk(r, DEV AUDIO "/driver"), "snd_hda_intel");
}

Test(fakekernel_dda, new_id_and_bind_abort)
{
	aborts("sys/bus/pci/drivers/vfio-pci/new_id", "10de 2231");
	aborts("sys/bus/pci/drivers/vfio-pci/new_id", "10de 1aef 10de 147e");
	aborts("sys/bus/pci/drivers/vfio-pci/bind", GPU);
	aborts("sys/bus/pci/drivers/nvidia/bind", GPU);
	aborts("sys/bus/pci/drivers/nvidia/new_id", "10de 2231");
	aborts("sys/bus/pci/drivers/snd_hda_intel/bind", AUDIO);
	aborts(DEV GPU "/driver/bind", GPU);
	aborts(DEV GPU "/driver/new_id", "10de 2231");
	/* a driver not loaded: the path does not resolve, still never a quiet ENOENT */
	aborts("sys/bus/pci/drivers/pci-stub/new_id", "10de 2231");
	aborts("sys/bus/pci/drivers/pci-stub/bind", GPU);
}
