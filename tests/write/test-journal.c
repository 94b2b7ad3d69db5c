/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The journal is never trusted: `repair` acts as root on whatever it names. A genuine journal
 * (left by a kill) is edited into every hostile shape: records naming devices that are not
 * the GPU's, paths in type keys, bad UUIDs, cut-short, NUL-damaged, empty, a FIFO, a link, a
 * directory. Each is refused (exit 1, "damaged"), the tree stays byte-identical and the
 * journal stays for the admin. And the layout: recorded inside the change, so a kill at any
 * point leaves host and partitions.conf consistent after repair.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wrun.h"

TestSuite(write_journal, .init = wsetup, .fini = wteardown, .timeout = 120);

#define FLEX170 "0000:4e:00.0"

static char *jpath(const char *root)
{
	char *p;

	cr_assert_geq(asprintf(&p, "%s/run/gpupart/journal", root), 0);
	return p;
}

/* A tree with a genuine journal: set-count 4 -> 2 on the Flex 170, killed after 2 writes. */
static char *killed_tree(char **journal)
{
	char *root = wtree("intel-sriov"), *p;
	static const char *const env[] = { "GP_FAKE_KILL_AFTER=2", NULL };
	static const char *const args[] = { "set-count", FLEX170, "2", "--runtime", NULL };
	struct run r;

	cr_assert_eq(gpf_v(&r, env, root, args), 128 + 9, "exit %d: %s", r.status, r.err);
	run_free(&r);
	p = jpath(root);
	*journal = slurp(p);
	free(p);
	cr_assert_not_null(*journal);
	cr_assert(strstr(*journal, "\nend\n"), "%s", *journal);
	return root;
}

static void write_journal(const char *root, const char *text, size_t len)
{
	char *p = jpath(root);
	FILE *f;

	unlink(p);
	f = fopen(p, "wb");
	cr_assert_not_null(f);
	cr_assert_eq(fwrite(text, 1, len, f), len);
	fclose(f);
	free(p);
}

/* Replaces the first @from in @s with @to (a new string). */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *out;

	cr_assert_not_null(at, "'%s' not in:\n%s", from, s);
	cr_assert_geq(asprintf(&out, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from)), 0);
	return out;
}

/* repair and set-count refuse; nothing at all changes, the journal included. */
static void assert_refused(const char *root, const char *what)
{
	static const char *const repair[] = { "repair", NULL };
	static const char *const dry[] = { "repair", "--dry-run", NULL };
	static const char *const again[] = { "set-count", FLEX170, "4", "--runtime", NULL };
	char *before = manifest(root, M_STRICT), *now;
	struct run r;

	fklog_reset(root);
	cr_expect_eq(gpf_v(&r, NULL, root, repair), 1, "%s: repair exit %d: %s", what, r.status,
		     r.err);
	cr_expect(strstr(r.err, "damaged"), "%s: %s", what, r.err);
	cr_expect(strstr(r.err, "run/gpupart/journal"), "%s: names the file: %s", what, r.err);
	run_free(&r);
	cr_expect_eq(gpf_v(&r, NULL, root, dry), 1, "%s: repair -n exit %d: %s", what, r.status,
		     r.err);
	run_free(&r);
	cr_expect_eq(gpf_v(&r, NULL, root, again), 1, "%s: set-count exit %d: %s", what, r.status,
		     r.err);
	run_free(&r);
	cr_expect_eq(fklog_ops(root), 0, "%s: a write was made", what);
	now = manifest(root, M_STRICT);
	assert_manifest_eq(now, before, what);
	free(now);
	free(before);
}

Test(write_journal, hostile_records_are_never_acted_on)
{
	char *journal, *root = killed_tree(&journal), *copy, *bad;
	static const struct {
		const char *what, *from, *to;
	} edits[] = {
		/* a VF record naming the AHCI controller: repair would unbind it */
		{ "vf record naming the AHCI controller", " 0000:4e:00.1 driver=", " 0000:00:17.0 driver=" },
		/* a VF record naming another VF index's address */
		{ "vf record with another VF's address", " 0000:4e:00.1 driver=", " 0000:4e:00.3 driver=" },
		/* the gpu record moved to the on-board NIC: repair would enable VFs on it */
		{ "gpu record naming the NIC", "gpu 0000:4e:00.0", "gpu 0000:c2:00.0" },
		{ "gpu record with other IDs", "id=8086:56c0", "id=8086:56c1" },
		{ "more VFs than the device has", "numvfs=4", "numvfs=40" },
		{ "an NVIDIA backend on an Intel GPU", "backend=sriov", "backend=nvidia-vfio" },
		{ "a driver that is a path", "driver=vfio-pci", "driver=../../../../x" },
		{ "an mdev type key that climbs", "\nend\n",
		  "\nmdev 0000:4e:00.0 11111111-1111-8111-8111-111111111111 parent=0000:4e:00.0 "
		  "type=../../..\nend\n" },
		{ "an mdev type the parent does not offer", "\nend\n",
		  "\nmdev 0000:4e:00.0 11111111-1111-8111-8111-111111111111 parent=0000:4e:00.0 "
		  "type=nvidia-1\nend\n" },
		{ "36 characters that are no UUID", "\nend\n",
		  "\nmdev 0000:4e:00.0 ../../../../../../../../sys/bus/pci/x.. parent=0000:4e:00.0 "
		  "type=nvidia-1\nend\n" },
		{ "an mdev parent that is not the GPU's", "\nend\n",
		  "\nmdev 0000:4e:00.0 11111111-1111-8111-8111-111111111111 parent=0000:00:17.0 "
		  "type=x\nend\n" },
		{ "cut short before the end marker", "\nend\n", "\n" },
		/* a layout record for a GPU the journal did not change (here: the NIC's slot):
		 * repair would rewrite what apply does at the next boot */
		{ "a layout record for another device", "\nend\n",
		  "\nlayout\nentry pci0000:00/1c.0/00.0 id=8086:1521 subsystem=15d9:1521 count=4\nend\n" },
		{ "a layout removal for another device", "\nend\n",
		  "\nlayout\nentry pci0000:00/1c.0/00.0 -\nend\n" },
		{ "an unknown record", "\nend\n", "\nunbind 0000:00:17.0\nend\n" },
		/* a recorded catalogue of a board the journal did not change: repair would write
		 * what the next scan trusts */
		{ "a catalogue of another board", "\nend\n",
		  "\ncatalogue 10de:26b9:10de:1851\ndata 0a\nend\n" },
		{ "a catalogue key that climbs", "\nend\n", "\ncatalogue ../../../../etc -\nend\n" },
		{ "catalogue data that is not hex", "\nend\n",
		  "\ncatalogue 8086:56c0:8086:4905\ndata zz\nend\n" },
	};

	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		copy = wcopy(root);
		bad = subst(journal, edits[i].from, edits[i].to);
		write_journal(copy, bad, strlen(bad));
		assert_refused(copy, edits[i].what);
		free(bad);
	}
	/* the genuine one, for contrast, is undone */
	{
		struct run r;

		cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
		run_free(&r);
		cr_assert_not(journal_present(root));
	}
	free(journal);
}

Test(write_journal, damaged_files_are_never_acted_on)
{
	char *journal, *root = killed_tree(&journal), *copy, *p, *elsewhere;
	size_t len = strlen(journal);

	copy = wcopy(root);
	write_journal(copy, "", 0);
	assert_refused(copy, "an empty journal");

	copy = wcopy(root);
	write_journal(copy, journal, len / 2);
	assert_refused(copy, "a journal cut in half");

	copy = wcopy(root);
	p = strdup(journal);
	p[len / 3] = 0;
	write_journal(copy, p, len);
	free(p);
	assert_refused(copy, "a NUL inside");

	copy = wcopy(root);
	p = jpath(copy);
	unlink(p);
	cr_assert_eq(mkfifo(p, 0600), 0);
	free(p);
	assert_refused(copy, "a FIFO");

	copy = wcopy(root);
	p = jpath(copy);
	unlink(p);
	cr_assert_eq(mkdir(p, 0700), 0);
	free(p);
	assert_refused(copy, "a directory");

	/* a link to a genuine journal is still not the journal */
	copy = wcopy(root);
	p = jpath(copy);
	cr_assert_geq(asprintf(&elsewhere, "%s/run/gpupart/elsewhere", copy), 0);
	cr_assert_eq(rename(p, elsewhere), 0);
	cr_assert_eq(symlink("elsewhere", p), 0);
	free(p);
	free(elsewhere);
	assert_refused(copy, "a symlink");
	free(journal);
}

/* repair --dry-run: the undo plan, and nothing done. */
Test(write_journal, repair_dry_run_prints_the_undo)
{
	char *journal, *root = killed_tree(&journal), *before, *now;
	struct run r;

	free(journal);
	before = manifest(root, M_STRICT);
	fklog_reset(root);
	cr_assert_eq(gpf(&r, root, "repair", "--dry-run", NULL), 0, "%s", r.err);
	cr_expect(strstr(r.out, "sriov_numvfs"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "-n", "repair", "--json", NULL), 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"dry_run\": true"), "%s", r.out);
	cr_expect(strstr(r.out, "\"journal\": true"), "%s", r.out);
	cr_expect(strstr(r.out, "\"op\": \"write\""), "%s", r.out);
	run_free(&r);
	cr_expect_eq(fklog_ops(root), 0);
	now = manifest(root, M_STRICT);
	assert_manifest_eq(now, before, "repair --dry-run");
	free(now);
	free(before);
	cr_assert_eq(gpf(&r, root, "repair", "--json", NULL), 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"changed\": true"), "%s", r.out);
	run_free(&r);
	cr_assert_eq(gpf(&r, root, "repair", "--json", NULL), 0, "%s", r.err);
	cr_expect(strstr(r.out, "\"journal\": false"), "%s", r.out);
	run_free(&r);
}

/* A manifest without the temp files a kill leaves beside partitions.conf (the next write of
 * the layout removes them: hostfs.c). */
static char *manifest_no_temp(const char *root)
{
	char *m = manifest(root, M_STATE), *out = calloc(1, strlen(m) + 1), *line, *save = NULL;

	cr_assert_not_null(out);
	for (line = strtok_r(m, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "etc/gpupart/.partitions.conf.", 29))
			continue;
		strcat(out, line);
		strcat(out, "\n");
	}
	free(m);
	return out;
}

/*
 * The layout is recorded inside the change. The tool is killed (strace injects SIGKILL) at the
 * rename that puts partitions.conf in place, the second rename of the run (the first puts the
 * journal in place). Before this was fixed the journal was already gone by then: the count was
 * lost at the next boot while the host had it. Now the journal still stands, and repair puts
 * host and layout back together.
 */
Test(write_journal, kill_at_the_layout_record)
{
	char *root = wtree("intel-sriov"), *orig, *now, *conf;
	const char *strace = "/usr/bin/strace";
	struct run r;

	cr_assert_eq(access(strace, X_OK), 0, "strace is needed (apt-get install strace)");
	/* the directory itself may stay (made before the kill): what matters is the file */
	mkdirs(root, "etc/gpupart");
	orig = manifest(root, M_STATE);
	{
		char *argv[] = { (char *)strace, "-qq", "-o", "/dev/null", "-e",
				 "trace=rename,renameat,renameat2", "-e",
				 "inject=rename,renameat,renameat2:signal=SIGKILL:when=2",
				 (char *)fake_bin(), "-r", root, "set-count", FLEX170, "2", NULL };

		run_argv(&r, argv);
		cr_assert_eq(r.status, 128 + 9, "exit %d: %s", r.status, r.err);
		run_free(&r);
	}
	cr_assert(journal_present(root), "killed while recording: the journal must still stand");
	cr_assert_not(ex(root, "etc/gpupart/partitions.conf"), "the rename was not to happen");
	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
	now = manifest_no_temp(root);
	assert_manifest_eq(now, orig, "repair after a kill at the layout record");
	free(now);
	cr_assert_not(ex(root, "etc/gpupart/partitions.conf"));

	/* and a kill after the record (journal not yet removed) undoes the record too */
	cr_assert_eq(gpf(&r, root, "set-count", FLEX170, "3", NULL), 0, "%s", r.err);
	run_free(&r);
	conf = rd(root, "etc/gpupart/partitions.conf");
	cr_assert_not_null(conf);
	free(conf);
	free(orig);
	orig = manifest_no_temp(root);
	{
		char *argv[] = { (char *)strace, "-qq", "-o", "/dev/null", "-e",
				 "trace=unlink,unlinkat", "-e",
				 "inject=unlink,unlinkat:signal=SIGKILL:when=1",
				 (char *)fake_bin(), "-r", root, "set-count", FLEX170, "2", NULL };
		char *text;

		/* the first unlink after the change is the journal's removal (stale temp files
		 * are only removed when some exist) */
		run_argv(&r, argv);
		cr_assert_eq(r.status, 128 + 9, "exit %d: %s", r.status, r.err);
		run_free(&r);
		cr_assert(journal_present(root));
		cr_assert_geq(asprintf(&text, "%s/etc/gpupart/partitions.conf", root), 0);
		conf = slurp(text);
		free(text);
		cr_assert(strstr(conf, "count=2"), "the layout was recorded first:\n%s", conf);
		free(conf);
	}
	cr_assert_eq(gpf(&r, root, "repair", NULL), 0, "%s", r.err);
	run_free(&r);
	now = manifest_no_temp(root);
	assert_manifest_eq(now, orig, "repair after a kill between the record and the journal's end");
	free(now);
	free(orig);
}

/* Field 22 of /proc/PID/stat: the start time, in clock ticks since boot. */
static unsigned long long start_time_of(pid_t pid)
{
	char path[64], *text, *p;
	unsigned long long t = 0;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	text = slurp(path);
	cr_assert_not_null(text);
	p = strrchr(text, ')');
	cr_assert_not_null(p);
	for (; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	cr_assert_eq(sscanf(p, "%llu", &t), 1);
	free(text);
	return t;
}

/*
 * A stuck record names its writer by pid and start time. A live process with that pid but
 * another start time is a reused pid: repair must not wait for it forever. The same pid with
 * its own start time is the writer: repair waits (exit 4).
 */
Test(write_journal, stuck_record_is_pid_and_start_time)
{
	char *journal, *root = killed_tree(&journal), *copy, *bad, rec[160];
	struct run r;

	/* this test process plays the still-living writer */
	copy = wcopy(root);
	snprintf(rec, sizeof(rec), "\nstuck %d %llu sys/bus/pci/devices/" FLEX170
		 "/sriov_numvfs\nend\n", (int)getpid(), start_time_of(getpid()));
	bad = subst(journal, "\nend\n", rec);
	write_journal(copy, bad, strlen(bad));
	free(bad);
	cr_expect_eq(gpf(&r, copy, "repair", NULL), 4, "exit %d: %s", r.status, r.err);
	cr_expect(strstr(r.err, "still blocked"), "%s", r.err);
	run_free(&r);
	cr_expect(journal_present(copy));

	/* the pid lives, but it is another process now */
	copy = wcopy(root);
	snprintf(rec, sizeof(rec), "\nstuck %d %llu sys/bus/pci/devices/" FLEX170
		 "/sriov_numvfs\nend\n", (int)getpid(), start_time_of(getpid()) + 1);
	bad = subst(journal, "\nend\n", rec);
	write_journal(copy, bad, strlen(bad));
	free(bad);
	cr_expect_eq(gpf(&r, copy, "repair", NULL), 0, "a reused pid blocked repair: exit %d: %s",
		     r.status, r.err);
	run_free(&r);
	cr_expect_not(journal_present(copy));
	free(journal);
}
