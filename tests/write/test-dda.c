/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * dismount and mount end to end: the real CLI over the fake kernel (gpupart-fake) on the DDA
 * fixtures (tests/fixture/fx-dda.c). What must hold, checked against the tree itself:
 *   - dismount moves every endpoint function of the GPU's slot in its group to vfio-pci
 *     (driver links, driver_override, /dev/vfio/N), the bridge stays, the record names each
 *     function's driver before; mount puts every function back and removes the record;
 *   - a fault and a kill at every write leave every function on its original or its target
 *     driver, never a mix (the whole tree's manifest), the journal gone after repair or the
 *     next command;
 *   - a remove() that never returns is exit 4, repair later;
 *   - every refusal changes nothing (the whole tree hashed, no write in the fake's log);
 *   - --dry-run --json prints the plan, nothing changes;
 *   - apply after a reboot dismounts again, and refuses a record whose IDs changed;
 *   - set-count keeps refusing a dismounted GPU.
 */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "wrun.h"

/* strings the readers return (rd, lnk, fklog, manifest), freed after the test */
static char **owned;
static size_t n_owned;

static char *own(char *s)
{
	owned = realloc(owned, (n_owned + 1) * sizeof(*owned));
	cr_assert_not_null(owned);
	owned[n_owned++] = s;
	return s;
}

static void dda_fini(void)
{
	for (size_t i = 0; i < n_owned; i++)
		free(owned[i]);
	free(owned);
	owned = NULL;
	n_owned = 0;
	wteardown();
}

TestSuite(write_dda, .init = wsetup, .fini = dda_fini, .timeout = 300);

#define GPU "0000:01:00.0"
#define AUD "0000:01:00.1"
#define PORT "0000:00:01.0"

static const char *const DISMOUNT[] = { "dismount", GPU, "--force", "--no-libvirt", NULL };
static const char *const MOUNT[] = { "mount", GPU, "--no-libvirt", NULL };

/* the record's lines, comments left out ("" when there is no file) */
static char *record_lines(const char *root)
{
	char *p, line[1024], *out = NULL;
	size_t len = 0;
	FILE *f, *o = open_memstream(&out, &len);

	cr_assert_geq(asprintf(&p, "%s/etc/gpupart/dismounted.conf", root), 0);
	f = fopen(p, "r");
	free(p);
	while (f && fgets(line, sizeof(line), f))
		if (line[0] != '#')
			fputs(line, o);
	if (f)
		fclose(f);
	fclose(o);
	return out;
}

static void run_ok(const char *root, const char *const *args)
{
	struct run r;

	cr_assert_eq(gpf_v(&r, NULL, root, args), 0, "%s: exit %d\n%s", args[0], r.status, r.err);
	run_free(&r);
}

/* the host's state, with what gpupart leaves on purpose after a round trip taken away: an
 * empty etc/gpupart (and etc) it made for the record */
static char *state_of(const char *root)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/etc/gpupart", root), 0);
	rmdir(p);
	*strrchr(p, '/') = '\0';
	rmdir(p);
	free(p);
	return own(manifest(root, M_STATE));
}

static void on(const char *root, const char *drv_gpu, const char *drv_aud, const char *when)
{
	char *g = own(lnk(root, "sys/bus/pci/devices/%s/driver", GPU));
	char *a = own(lnk(root, "sys/bus/pci/devices/%s/driver", AUD));

	cr_assert(g && !strcmp(g, drv_gpu), "%s: the GPU is on %s, not %s", when, g, drv_gpu);
	cr_assert(a && !strcmp(a, drv_aud), "%s: the audio is on %s, not %s", when, a, drv_aud);
}

/* ---- the round trip -------------------------------------------------------------------- */

Test(write_dda, dismount_then_mount)
{
	char *root = wtree("dda-ready"), *orig = own(manifest(root, M_STATE)), *g, *rec, *now;
	/* by hand: the root port 00:01.0 on the root bus, device 00 functions 0 and 1; IDs and
	 * subsystems as fx-dda.c gives them; the drivers the fixture bound */
	static const char want[] =
		"pci0000:00/01.0/00.0 id=10de:2231 subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		"driver=nvidia address=0000:01:00.0\n"
		"pci0000:00/01.0/00.1 id=10de:1aef subsystem=10de:147e gpu=pci0000:00/01.0/00.0 "
		"driver=snd_hda_intel address=0000:01:00.1\n";

	g = own(lnk(root, "sys/bus/pci/devices/%s/iommu_group", GPU));
	cr_assert_not(ex(root, "dev/vfio/%s", g));
	run_ok(root, DISMOUNT);
	on(root, "vfio-pci", "vfio-pci", "after dismount");
	cr_assert_str_eq(own(rd(root, "sys/bus/pci/devices/%s/driver_override", GPU)), "vfio-pci");
	cr_assert_str_eq(own(rd(root, "sys/bus/pci/devices/%s/driver_override", AUD)), "vfio-pci");
	cr_assert(ex(root, "dev/vfio/%s", g), "no /dev/vfio/%s", g);
	cr_assert_str_eq(own(lnk(root, "sys/bus/pci/devices/%s/driver", PORT)), "pcieport",
			 "the bridge in the group must stay");
	rec = own(record_lines(root));
	cr_assert_str_eq(rec, want);
	cr_assert_not(journal_present(root));
	cr_assert(strstr(own(fklog(root)), "unbind") && !strstr(own(fklog(root)), "new_id") &&
		  !strstr(own(fklog(root)), "/bind "));

	run_ok(root, MOUNT);
	on(root, "nvidia", "snd_hda_intel", "after mount");
	cr_assert_str_eq(own(rd(root, "sys/bus/pci/devices/%s/driver_override", GPU)), "(null)");
	cr_assert_str_eq(own(rd(root, "sys/bus/pci/devices/%s/driver_override", AUD)), "(null)");
	cr_assert_not(ex(root, "dev/vfio/%s", g), "/dev/vfio/%s stayed", g);
	rec = own(record_lines(root));
	cr_assert_str_eq(rec, "", "the record stayed:\n%s", rec);
	cr_assert_not(journal_present(root));
	now = state_of(root);
	assert_manifest_eq(now, orig, "dismount then mount");
}

/* the scenario the issue names: a boot VGA (a console warning: --force) and its audio */
Test(write_dda, gpu_audio_group_round_trip)
{
	char *root = wtree("gpu-audio-group"), *orig = own(manifest(root, M_STATE)), *now;

	run_ok(root, DISMOUNT);
	on(root, "vfio-pci", "vfio-pci", "after dismount");
	run_ok(root, MOUNT);
	on(root, "nvidia", "snd_hda_intel", "after mount");
	now = state_of(root);
	assert_manifest_eq(now, orig, "dismount then mount");
}

/* again: nothing to do, nothing written; a GPU on vfio-pci by hand counts as dismounted with
 * no record invented */
Test(write_dda, already_dismounted_is_a_noop)
{
	char *root = wtree("dda-ready"), *before;
	struct run r;

	run_ok(root, DISMOUNT);
	fklog_reset(root);
	before = own(manifest(root, M_STRICT));
	cr_assert_eq(gpf_v(&r, NULL, root, DISMOUNT), 0, "%s", r.err);
	cr_assert(strstr(r.out, "already dismounted"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "%s", own(fklog(root)));
	assert_manifest_eq(own(manifest(root, M_STRICT)), before, "dismount again");

	root = wtree("dda-vfio-by-hand");
	before = own(manifest(root, M_STRICT));
	cr_assert_eq(gpf_v(&r, NULL, root, DISMOUNT), 0, "%s", r.err);
	cr_assert(strstr(r.out, "already dismounted"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "%s", own(fklog(root)));
	cr_assert_not(ex(root, "etc/gpupart/dismounted.conf"), "a record was invented");
}

/* ---- --dry-run --json ----------------------------------------------------------------- */

static json_object *steps_of(const char *json, int *n)
{
	json_object *o = json_tokener_parse(json), *plan;

	cr_assert_not_null(o, "not JSON:\n%s", json);
	cr_assert(json_object_object_get_ex(o, "plan", &plan));
	*n = (int)json_object_array_length(plan);
	return o;
}

static bool has_step(json_object *o, const char *op, const char *path, const char *value)
{
	json_object *plan, *s, *f;

	json_object_object_get_ex(o, "plan", &plan);
	for (size_t i = 0; i < json_object_array_length(plan); i++) {
		const char *so, *sp, *sv;

		s = json_object_array_get_idx(plan, i);
		so = json_object_object_get_ex(s, "op", &f) ? json_object_get_string(f) : "";
		sp = json_object_object_get_ex(s, "path", &f) ? json_object_get_string(f) : "";
		sv = json_object_object_get_ex(s, "value", &f) ? json_object_get_string(f) : "";
		if (!strcmp(so, op) && !strcmp(sp, path) && !strcmp(sv ? sv : "", value))
			return true;
	}
	return false;
}

Test(write_dda, dry_run_json_plans_and_changes_nothing)
{
	static const char *const args[] = { "--json", "dismount", GPU, "--force", "--dry-run",
					    "--no-libvirt", NULL };
	char *root = wtree("dda-ready"), *before = own(manifest(root, M_STRICT));
	json_object *o, *f;
	struct run r;
	int n;

	cr_assert_eq(gpf_v(&r, NULL, root, args), 0, "%s", r.err);
	o = steps_of(r.out, &n);
	cr_assert(json_object_object_get_ex(o, "dry_run", &f) && json_object_get_boolean(f));
	cr_assert(json_object_object_get_ex(o, "changed", &f) && !json_object_get_boolean(f));
	/* per function: unbind, override, probe, each verified: 6 steps, 2 functions */
	cr_assert_eq(n, 12, "%s", r.out);
	for (int k = 0; k < 2; k++) {
		const char *a = k ? AUD : GPU;
		char p[128];

		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver_override", a);
		cr_assert(has_step(o, "write", p, "vfio-pci"), "%s: no override\n%s", a, r.out);
		cr_assert(has_step(o, "write", "/sys/bus/pci/drivers_probe", a), "%s\n%s", a, r.out);
		snprintf(p, sizeof(p), "/sys/bus/pci/devices/%s/driver", a);
		cr_assert(has_step(o, "verify", p, "vfio-pci"), "%s: no verify\n%s", a, r.out);
	}
	cr_assert_null(strstr(r.out, "new_id"));
	cr_assert_null(strstr(r.out, "/bind\""));
	cr_assert_null(strstr(r.out, PORT "/driver"), "the bridge is in the plan");
	json_object_put(o);
	run_free(&r);
	cr_assert_eq(fklog_ops(root), 0, "a dry run wrote:\n%s", own(fklog(root)));
	assert_manifest_eq(own(manifest(root, M_STRICT)), before, "--dry-run");
}

/* ---- a fault and a kill at every write --------------------------------------------------- */

static int count_injected(const char *log)
{
	int n = 0;

	for (const char *p = log; (p = strstr(p, "(injected)")); p++)
		n++;
	return n;
}

/* As test-faults.c's matrix, for a DDA command from @base: every k-th write failed (host as
 * it was, no journal), every kill after write k (repair: exactly the original or exactly the
 * target), and a kill followed by the same command (it recovers, then changes). */
static void matrix(const char *base, const char *const *args, int n_expected)
{
	char *orig = own(manifest(base, M_STATE)), *target, *copy, *now;
	struct run r;
	int n;

	copy = wcopy(base);
	run_ok(copy, args);
	n = fklog_ops(copy);
	cr_assert_eq(n, n_expected, "the plan has %d writes, %d expected:\n%s", n, n_expected,
		     own(fklog(copy)));
	target = own(manifest(copy, M_STATE));
	cr_assert_not(manifest_eq(target, orig), "the command changed nothing");

	for (int k = 1; k <= n; k++) {
		char fail[32], kill_[32], *log;
		const char *env_fail[] = { fail, NULL }, *env_kill[] = { kill_, NULL };

		snprintf(fail, sizeof(fail), "GP_FAKE_FAIL_WRITE=%d", k);
		snprintf(kill_, sizeof(kill_), "GP_FAKE_KILL_AFTER=%d", k);

		copy = wcopy(base);
		cr_assert_eq(gpf_v(&r, env_fail, copy, args), 1, "k=%d: exit %d\n%s", k, r.status,
			     r.err);
		cr_assert(strstr(r.err, "every device is back as it was"), "k=%d: %s", k, r.err);
		run_free(&r);
		log = own(fklog(copy));
		cr_assert_eq(count_injected(log), 1, "k=%d:\n%s", k, log);
		cr_assert_not(journal_present(copy), "k=%d: the journal stayed", k);
		now = own(manifest(copy, M_STATE));
		assert_manifest_eq(now, orig, fail);

		copy = wcopy(base);
		cr_assert_eq(gpf_v(&r, env_kill, copy, args), 128 + 9, "k=%d: exit %d\n%s", k,
			     r.status, r.err);
		run_free(&r);
		cr_assert(journal_present(copy), "k=%d: killed mid-change, no journal", k);
		cr_assert_eq(gpf(&r, copy, "repair", NULL), 0, "k=%d: repair exit %d\n%s", k,
			     r.status, r.err);
		run_free(&r);
		cr_assert_not(journal_present(copy), "k=%d: the journal stayed after repair", k);
		now = own(manifest(copy, M_STATE));
		cr_assert(manifest_eq(now, orig) || manifest_eq(now, target),
			  "%s then repair: neither the original nor the target", kill_);
	}

	/* killed half way, then the same command: it recovers first, then does its change */
	{
		char kill_[32];
		const char *env_kill[] = { kill_, NULL };

		snprintf(kill_, sizeof(kill_), "GP_FAKE_KILL_AFTER=%d", (n + 1) / 2);
		copy = wcopy(base);
		cr_assert_eq(gpf_v(&r, env_kill, copy, args), 128 + 9);
		run_free(&r);
		cr_assert_eq(gpf_v(&r, NULL, copy, args), 0, "%s", r.err);
		cr_assert(strstr(r.err, "found the journal of an unfinished change"), "%s", r.err);
		run_free(&r);
		cr_assert_not(journal_present(copy));
		now = own(manifest(copy, M_STATE));
		assert_manifest_eq(now, target, "kill, then the command again");
	}
}

/* unbind, override, drivers_probe per function */
Test(write_dda, dismount_fault_and_kill_at_every_write)
{
	matrix(wtree("dda-ready"), DISMOUNT, 6);
}

/* override "\n", unbind from vfio-pci, drivers_probe per function */
Test(write_dda, mount_fault_and_kill_at_every_write)
{
	char *root = wtree("dda-ready");

	run_ok(root, DISMOUNT);
	fklog_reset(root);
	matrix(root, MOUNT, 6);
}

/* ---- a remove() that never returns ------------------------------------------------------- */

/* A sound server holds the HDMI audio's control node (pipewire and pulseaudio keep
 * controlC0 open): snd_hda_intel's remove waits for it (fk-native.c). The unbind is
 * abandoned after --write-timeout: exit 4, the journal kept; once the holder lets go the
 * write lands behind the tool's back, and repair puts the host back whole. */
Test(write_dda, blocked_unbind_is_exit_4_then_repair, .timeout = 120)
{
	static const char *const args[] = { "dismount", GPU, "--force", "--no-libvirt",
					    "--write-timeout", "1", NULL };
	char *root = wtree("dda-ready"), *orig = own(manifest(root, M_STATE)), *copy = wcopy(root);
	char *target, *now, *p;
	struct run r;
	int i;

	run_ok(copy, DISMOUNT);
	target = own(manifest(copy, M_STATE));
	mkproc(root, "2207", "pipewire", "31", "/dev/snd/controlC0");
	gpf_detached(&r, root, args, NULL);
	cr_assert_eq(r.status, 4, "exit %d: %s", r.status, r.err);
	cr_assert(strstr(r.err, "stuck") && strstr(r.err, AUD), "%s", r.err);
	run_free(&r);
	cr_assert(journal_present(root));
	/* nothing moves while the write lives: repair says so */
	cr_assert_eq(gpf(&r, root, "repair", NULL), 4, "repair with the write alive: %d\n%s",
		     r.status, r.err);
	run_free(&r);
	/* the sound server exits; the kernel finishes the unbind */
	cr_assert_geq(asprintf(&p, "%s/proc/2207/fd/31", root), 0);
	cr_assert_eq(unlink(p), 0);
	free(p);
	for (i = 0; i < 1000 && !strstr(own(fklog(root)), "unbind " AUD " = 0"); i++)
		usleep(20000);
	cr_assert_lt(i, 1000, "the unbind did not finish:\n%s", own(fklog(root)));
	for (i = 0; i < 500; i++) {
		/* the abandoned writer is our orphan (wsetup: we reap them): a zombie still
		 * counts as alive to the stuck record's check */
		while (waitpid(-1, NULL, WNOHANG) > 0)
			;
		gpf(&r, root, "repair", NULL);
		if (r.status != 4)
			break;
		run_free(&r);
		usleep(20000);
	}
	cr_assert_eq(r.status, 0, "repair: exit %d\n%s", r.status, r.err);
	run_free(&r);
	cr_assert_not(journal_present(root));
	cr_assert(ex(root, "proc/2207"));
	cr_assert_geq(asprintf(&p, "rm -rf '%s/proc/2207'", root), 0);
	cr_assert_eq(system(p), 0);
	free(p);
	now = own(manifest(root, M_STATE));
	cr_assert(manifest_eq(now, orig) || manifest_eq(now, target),
		  "after the stuck write and repair: neither the original nor the target");
}

/* ---- refusals ------------------------------------------------------------------------- */

/* The refusal's code through --dry-run --json (severity error), then the command itself:
 * exit 1, @needle on stderr, no write, the whole tree as it was (refused()). */
static void refused_code(const char *root, const char *code, const char *needle,
			 const char *const *args)
{
	const char *dry[16], *const needles[] = { needle, NULL };
	json_object *o, *list, *f;
	struct run r;
	size_t n = 0;
	bool found = false;

	dry[n++] = "--json";
	for (size_t i = 0; args[i] && n < 13; i++)
		dry[n++] = args[i];
	dry[n++] = "--dry-run";
	dry[n] = NULL;
	gpf_v(&r, NULL, root, dry);
	o = json_tokener_parse(r.out);
	cr_assert_not_null(o, "%s --dry-run --json: not JSON (exit %d)\n%s%s", args[0], r.status,
			   r.out, r.err);
	cr_assert(json_object_object_get_ex(o, "refusals", &list), "%s", r.out);
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *x = json_object_array_get_idx(list, i);
		const char *c = json_object_object_get_ex(x, "code", &f) ? json_object_get_string(f) : "";
		const char *s = json_object_object_get_ex(x, "severity", &f) ? json_object_get_string(f) : "";

		found |= !strcmp(c, code) && !strcmp(s, "error");
	}
	cr_assert(found, "no %s error among the refusals:\n%s", code, r.out);
	json_object_put(o);
	run_free(&r);
	refused(root, 1, needles, args);
}

Test(write_dda, refused_survey_warnings_without_force)
{
	static const char *const args[] = { "dismount", GPU, "--no-libvirt", NULL };

	refused_code(wtree("dda-ready"), "no-flr", "--force dismounts it anyway", args);
	refused_code(wtree("dda-ready"), "acs-missing-upstream", "has no ACS capability", args);
}

Test(write_dda, refused_group_shared_even_with_force)
{
	static const char *const args[] = { "dismount", "0000:03:00.0", "--force", "--no-libvirt",
					    NULL };

	refused_code(wtree("dda-shared"), "iommu-group-shared", "also holds 0000:04:00.0", args);
}

Test(write_dda, refused_iommu_disabled_even_with_force)
{
	refused_code(wtree("iommu-off"), "iommu-disabled", "no IOMMU groups", DISMOUNT);
}

Test(write_dda, refused_interrupt_remapping_disabled_even_with_force)
{
	struct fx_tree *t = fx_scenario_build("dda-ready");
	char *root;

	cr_assert_not_null(t);
	t->host.intremap = false;
	root = wtree_of(t, "dda-noir");
	fx_tree_free(t);
	refused_code(root, "interrupt-remapping-disabled", "does not remap interrupts", DISMOUNT);
}

/* fbcon bound on nvidia-drm's framebuffer of the boot VGA. sys/class/vtconsole/vtconN are
 * links into sys/devices/virtual/vtconsole/ in the fixture as in sysfs: a reader that will not
 * follow them beneath the root finds no console. */
Test(write_dda, refused_console_without_force)
{
	static const char *const args[] = { "dismount", GPU, "--no-libvirt", NULL };

	refused_code(wtree("dda-console"), "console-on-gpu", "console", args);
}

/* With --force the console goes dark, said so; without a console bound (fbcon unbound from
 * the VTs, echo 0 > vtcon1/bind) there is none to lose: the boot VGA alone refuses nothing. */
Test(write_dda, boot_vga_without_a_console_is_no_refusal)
{
	static const char *const dry[] = { "--json", "dismount", GPU, "--force", "--dry-run",
					   "--no-libvirt", NULL };
	struct fx_tree *t = fx_scenario_build("dda-console");
	char *root;
	struct run r;

	cr_assert_not_null(t);
	t->host.fbcon_bound = false;
	root = wtree_of(t, "dda-console-off");
	fx_tree_free(t);
	cr_assert_eq(gpf_v(&r, NULL, root, dry), 0, "%s", r.err);
	cr_assert_null(strstr(r.out, "console-on-gpu"),
		       "fbcon is not bound (vtcon1/bind 0): no console to lose\n%s", r.out);
	run_free(&r);
}

Test(write_dda, refused_held_open)
{
	char *root = wtree("dda-ready");

	/* nvidia's minor for bus 01 is 1 (its information file) */
	mkproc(root, "4243", "nvidia-smi", "3", "/dev/nvidia1");
	refused_code(root, "held-open", "pid 4243", DISMOUNT);
	root = wtree("dda-ready");
	mkproc(root, "1888", "Xorg", "12", "/dev/dri/card1");
	refused_code(root, "held-open", "pid 1888", DISMOUNT);
}

Test(write_dda, refused_partitioned)
{
	refused_code(wtree("l40s-8a"), "partitioned", "vGPU", DISMOUNT);
	refused_code(wtree("t4-mdev-pf"), "partitioned", "mdev", (const char *const[]){
			     "dismount", T4, "--force", "--no-libvirt", NULL });
}

Test(write_dda, refused_assigned_by_reservation)
{
	char *root = wtree("dda-ready");

	mkdirs(root, "run/gpupart/reservations");
	put(root, "run/gpupart/reservations/" AUD, "vm-a\n");
	refused_code(root, "reserved", "reserved (vm-a)", DISMOUNT);
}

Test(write_dda, refused_mount_without_record_or_driver)
{
	refused_code(wtree("dda-vfio-by-hand"), "mount-driver-unknown", "--driver", MOUNT);
}

/* mount while a process holds the group's /dev/vfio node (a VM running without libvirt) */
Test(write_dda, refused_mount_while_group_held)
{
	char *root = wtree("dda-ready"), *g, *node;

	run_ok(root, DISMOUNT);
	g = own(lnk(root, "sys/bus/pci/devices/%s/iommu_group", GPU));
	cr_assert_geq(asprintf(&node, "/dev/vfio/%s", g), 0);
	mkproc(root, "5151", "qemu-system-x86", "20", node);
	refused_code(root, "held-open", "pid 5151", MOUNT);
	free(node);
}

/* ---- apply after a reboot, and a record whose hardware changed ---------------------------- */

/* A reboot: the tree as the fixture makes it (every function on its native driver, no
 * override, nothing in /run) with the record dismount wrote. */
static char *slurp_rel(const char *root, const char *rel)
{
	char *p, *txt = calloc(1, 8192);
	FILE *f;
	size_t n;

	cr_assert_geq(asprintf(&p, "%s/%s", root, rel), 0);
	f = fopen(p, "r");
	cr_assert_not_null(f, "%s", p);
	free(p);
	n = fread(txt, 1, 8191, f);
	txt[n] = '\0';
	fclose(f);
	return own(txt);
}

static char *rebooted_with(const char *rec_from)
{
	char *root = wtree("dda-ready");

	mkdirs(root, "etc/gpupart");
	put(root, "etc/gpupart/dismounted.conf", slurp_rel(rec_from, "etc/gpupart/dismounted.conf"));
	return root;
}

Test(write_dda, apply_after_reboot_dismounts_again)
{
	static const char *const apply[] = { "apply", "--no-libvirt", NULL };
	char *first = wtree("dda-ready"), *root, *before;

	run_ok(first, DISMOUNT);
	root = rebooted_with(first);
	on(root, "nvidia", "snd_hda_intel", "after the reboot");
	before = own(record_lines(root));
	run_ok(root, apply);
	on(root, "vfio-pci", "vfio-pci", "after apply");
	cr_assert(ex(root, "dev/vfio/%s", own(lnk(root, "sys/bus/pci/devices/%s/iommu_group", GPU))));
	cr_assert_str_eq(own(record_lines(root)), before, "apply changed the record");
	/* and mount from there gives the native drivers back */
	run_ok(root, MOUNT);
	on(root, "nvidia", "snd_hda_intel", "after mount");
}

/* The GPU at the recorded path is another board now (an RTX A6000, 10de:2230): the record
 * is not about it. apply and mount refuse and change nothing. */
Test(write_dda, record_whose_ids_changed_is_refused)
{
	char *first = wtree("dda-ready"), *root, *rec, *at;

	run_ok(first, DISMOUNT);
	root = rebooted_with(first);
	rec = slurp_rel(root, "etc/gpupart/dismounted.conf");
	at = strstr(rec, "id=10de:2231");
	cr_assert_not_null(at);
	memcpy(at, "id=10de:2230", 12);
	put(root, "etc/gpupart/dismounted.conf", rec);
	refused(root, 1, (const char *const[]){ "hardware changed", NULL },
		(const char *const[]){ "apply", "--no-libvirt", NULL });
	on(root, "nvidia", "snd_hda_intel", "after apply refused");
	/* mount of the GPU now on vfio-pci by hand: the line is not its own */
	admin_write(root, "sys/bus/pci/devices/" GPU "/driver/unbind", GPU);
	admin_write(root, "sys/bus/pci/devices/" GPU "/driver_override", "vfio-pci");
	admin_write(root, "sys/bus/pci/drivers_probe", GPU);
	refused(root, 1, (const char *const[]){ "hardware changed", NULL }, MOUNT);
}

/* mount where a recorded driver is not registered (its module unloaded meanwhile): the
 * function could not go back, so nothing moves; the tree as it was. */
Test(write_dda, refused_driver_not_loaded)
{
	char *root = wtree("dda-ready"), *cmd;

	run_ok(root, DISMOUNT);
	/* snd_hda_intel has no device bound now: its directory goes with the module */
	cr_assert_geq(asprintf(&cmd, "rm -rf '%s/sys/bus/pci/drivers/snd_hda_intel'", root), 0);
	cr_assert_eq(system(cmd), 0);
	free(cmd);
	refused_code(root, "driver-not-loaded", "modprobe snd_hda_intel", MOUNT);
}

/* a dismounted.conf that does not parse refuses dismount and mount before anything */
Test(write_dda, refused_record_unreadable)
{
	char *root = wtree("dda-ready");

	mkdirs(root, "etc/gpupart");
	put(root, "etc/gpupart/dismounted.conf", "pci0000:00/01.0/00.0 id=nonsense\n");
	refused_code(root, "dismounted-unreadable", "cannot be read", DISMOUNT);
	refused_code(root, "dismounted-unreadable", "cannot be read", MOUNT);
}

/* An admin's own dismounted.conf (no header, spacing and a comment of their own): apply
 * refusing its line leaves the file byte for byte as written, not rewritten in gpupart's form. */
Test(write_dda, refusing_apply_keeps_a_hand_written_record)
{
	static const char *const apply[] = { "apply", "--no-libvirt", NULL };
	char *first = wtree("dda-ready"), *root, *rec, *mine, *line, *next;
	size_t len = 0;
	FILE *f;

	run_ok(first, DISMOUNT);
	root = rebooted_with(first);
	rec = slurp_rel(root, "etc/gpupart/dismounted.conf");
	f = open_memstream(&mine, &len);
	fputs("# mine\n", f);
	for (line = rec; *line; line = next) {
		next = strchr(line, '\n');
		next = next ? next + 1 : line + strlen(line);
		if (*line != '#')
			fprintf(f, "%.*s", (int)(next - line), line);
	}
	fclose(f);
	line = strstr(mine, "id=10de:2231");
	cr_assert_not_null(line, "%s", mine);
	memcpy(line, "id=10de:2230", 12);
	put(root, "etc/gpupart/dismounted.conf", mine);
	refused(root, 1, (const char *const[]){ "hardware changed", NULL }, apply);
	cr_assert_str_eq(slurp_rel(root, "etc/gpupart/dismounted.conf"), mine);
	free(mine);
}

/* After a rescan the kernel can put a function in a group of its own (a hot-added .1 whose
 * header lacks the multifunction bit: pci_scan_slot marks it only after pci_device_add; the
 * kernel suite saw it with QEMU's e1000e): apply must not report the GPU dismounted while a
 * function its record names is still on its native driver. */
Test(write_dda, apply_leaves_no_recorded_companion_behind)
{
	static const char *const apply[] = { "apply", "--no-libvirt", NULL };
	char *first = wtree("dda-ready"), *root;
	struct fx_tree *t;
	struct run r;

	run_ok(first, DISMOUNT);
	t = fx_scenario_build("dda-ready");
	cr_assert_not_null(t);
	fx_dev_find(t, AUD)->group_with = NULL; /* a group of its own */
	root = wtree_of(t, "dda-split");
	fx_tree_free(t);
	mkdirs(root, "etc/gpupart");
	put(root, "etc/gpupart/dismounted.conf", own(record_lines(first)));
	gpf_v(&r, NULL, root, apply);
	if (r.status == 0) {
		char *a = own(lnk(root, "sys/bus/pci/devices/%s/driver", AUD));

		cr_assert(a && !strcmp(a, "vfio-pci"),
			  "apply said done, its record's %s is on %s:\n%s%s", AUD, a, r.out, r.err);
	}
	run_free(&r);
}

/* ---- set-count keeps refusing a dismounted GPU ----------------------------------------- */

/* The L40S with its idle vendor-VFIO VFs: dismount takes the VFs away first (sriov-manage
 * -d, the rule: a GPU is DDA or partitioned), then the PF goes to vfio-pci;
 * set-count then refuses it, changing nothing. */
Test(write_dda, sriov_idle_dismounted_then_set_count_refused)
{
	char *root = wtree("dda-sriov-idle");
	struct run r;

	with_sriov_manage(root);
	cr_assert_str_eq(own(rd(root, "sys/bus/pci/devices/%s/sriov_numvfs", L40S)), "32");
	cr_assert_eq(gpf(&r, root, "dismount", L40S, "--force", "--no-libvirt", NULL), 0, "%s",
		     r.err);
	run_free(&r);
	cr_assert_str_eq(own(rd(root, "sys/bus/pci/devices/%s/sriov_numvfs", L40S)), "0");
	cr_assert_str_eq(own(lnk(root, "sys/bus/pci/devices/%s/driver", L40S)), "vfio-pci");
	cr_assert(strstr(own(fklog(root)), "sriov-manage -d"), "%s", own(fklog(root)));
	refused_code(root, "dismounted-for-dda", "dismounted for DDA",
		     (const char *const[]){ "set-count", L40S, "4", "--no-libvirt", NULL });
}

/* ---- a libvirt domain names a function (libvirt's test driver: a node file) ------------ */

static const char node_xml[] =
	"<node><domain type='test'><name>win11</name>"
	"<uuid>44444444-2222-4333-8444-555555555551</uuid><memory>65536</memory>"
	"<os><type arch='x86_64'>hvm</type></os><devices>"
	"<hostdev mode='subsystem' type='pci' managed='no'><source>"
	"<address domain='0x0000' bus='0x01' slot='0x00' function='0x1'/></source></hostdev>"
	"</devices></domain></node>\n";

/* win11 names the HDMI audio: the GPU cannot go (dismount), nor come back (mount) */
Test(write_dda, refused_assigned_to_vm)
{
	char *root = wtree("dda-ready"), *uri;

	put(root, "libvirt-node.xml", node_xml);
	cr_assert_geq(asprintf(&uri, "test://%s/libvirt-node.xml", root), 0);
	refused_code(root, "assigned-to-vm", "win11",
		     (const char *const[]){ "dismount", GPU, "--force", "--connect", uri, NULL });
	root = wtree("dda-ready");
	run_ok(root, DISMOUNT);
	put(root, "libvirt-node.xml", node_xml);
	free(uri);
	cr_assert_geq(asprintf(&uri, "test://%s/libvirt-node.xml", root), 0);
	refused_code(root, "assigned-to-vm", "win11",
		     (const char *const[]){ "mount", GPU, "--connect", uri, NULL });
	free(uri);
}
