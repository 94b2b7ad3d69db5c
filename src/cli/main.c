/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpupart: Hyper-V's GPU partitioning and DDA model for Linux KVM/VFIO hosts.
 * Option parsing, the verb table and the exit-status contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gpupart/attach.h>
#include <gpupart/plan.h>
#include <gpupart/step.h>
#include <gpupart/virt.h>

#include "cli.h"

bool gp_cli_quiet;

/*
 * The options, in the order --help lists them. Each verb names the ones it takes (struct
 * verb.opts, one bit per option: 1u << OI_x); an option given to a verb that does not take it
 * is a usage error: `list --runtime` or `survey -n` would otherwise be silently ignored, and
 * `-n repair` would repair. A contract: man/gpupart.8, OPTIONS, and the completions
 * (tests/hosts/test-verbs.c compares them all with `gpupart --dump-verbs`).
 */
enum {
	OI_ROOT,
	OI_JSON,
	OI_SERIES,
	OI_ANY_CLASS,
	OI_DRY_RUN,
	OI_RUNTIME,
	OI_ALL_HOMOGENEOUS,
	OI_FORCE,
	OI_DRIVER,
	OI_MMIO_HIGH,
	OI_RESTART,
	OI_GPU,
	OI_PARTITION,
	OI_VRAM,
	OI_ALLOW_MULTIPLE,
	OI_ALL,
	OI_INVENTORY,
	OI_TO,
	OI_CONNECT,
	OI_NO_LIBVIRT,
	OI_LIBVIRT_TIMEOUT,
	OI_WRITE_TIMEOUT,
	OI_COLOR,
	OI_VERBOSE,
	OI_QUIET,
	OI_HELP,
	OI_VERSION,
	N_OPTIONS
};

#define O(x) (1u << OI_##x)
/* every verb: where to read, what counts as a GPU, how to talk */
#define O_COMMON (O(ROOT) | O(ANY_CLASS) | O(COLOR) | O(VERBOSE) | O(QUIET) | O(HELP) | O(VERSION))
/* the verbs that write: a plan instead, and how long a kernel write may take */
#define O_CHANGE (O(DRY_RUN) | O(WRITE_TIMEOUT))
/* the verbs that ask libvirt which domains hold partitions */
#define O_LIBVIRT (O(CONNECT) | O(NO_LIBVIRT) | O(LIBVIRT_TIMEOUT))

/*
 * Verb flags (printed by --dump-verbs, checked against the options by test-verbs.c):
 * GP_VERB_MUTATES: writes the host, under the host lock: the dispatcher takes it (unless
 *   --dry-run, which locks nothing) after the verb's argument check, so a usage error (exit
 *   2) never waits for the lock nor undoes a journal, and holds it until the verb returns.
 * GP_VERB_RECOVERS: undoes a pending journal first, under that lock (set-count, apply);
 *   repair mutates without it: it is that undoing itself, with its own report.
 * GP_VERB_LIBVIRT: asks libvirt (unless --no-libvirt), so takes O_LIBVIRT.
 * GP_VERB_LOCKS_LATE: a mutating verb that takes the lock itself (gp_cli_lock) once it has
 *   asked libvirt, so that concurrent calls ask in parallel and hold the lock only to pick
 *   and change (assign, unassign: the reservation records decide under the lock).
 * GP_VERB_NO_LIBVIRT: its context has no libvirt at all (libvirt's own hook: calling back
 *   into the daemon that waits for it would deadlock), so nothing it runs can load it; it
 *   takes the lock itself, briefly, only when it writes.
 */
enum {
	GP_VERB_MUTATES = 1 << 0,
	GP_VERB_LIBVIRT = 1 << 1,
	GP_VERB_RECOVERS = 1 << 2,
	GP_VERB_LOCKS_LATE = 1 << 3,
	GP_VERB_NO_LIBVIRT = 1 << 4,
};

struct verb {
	const char *name;
	int (*fn)(struct gp_cli *cli, int argc, char **argv);
	/* the argument checks made before the lock (NULL: none): EXIT_OK or EXIT_USAGE */
	int (*check)(struct gp_cli *cli, int argc, char **argv);
	int min_args, max_args; /* -1: unlimited */
	unsigned opts;          /* the options it takes: O(x) bits */
	unsigned flags;         /* GP_VERB_* */
	const char *args;
	const char *help;
};

static const struct verb verbs[] = {
	{ "list", cmd_list, NULL, 0, -1, O_COMMON | O(JSON) | O(SERIES) | O_LIBVIRT, GP_VERB_LIBVIRT,
	  "[ADDR...]",
	  "partitionable GPUs: status, backend, valid partition counts, partitions" },
	{ "survey", cmd_survey, NULL, 0, -1, O_COMMON | O(JSON) | O(SERIES) | O_LIBVIRT,
	  GP_VERB_LIBVIRT, "[ADDR...]",
	  "can each GPU (or named device) be handed whole to a VM? (SurveyDDA)" },
	/* a tar archive has no JSON form */
	{ "capture", cmd_capture, NULL, 1, 1, O_COMMON, 0, "FILE.tar",
	  "write the host state gpupart reads into a tar ('-' for stdout)" },
	{ "set-count", cmd_set_count, cmd_set_count_check, 2, -1,
	  O_COMMON | O(JSON) | O(SERIES) | O_CHANGE | O_LIBVIRT | O(RUNTIME) | O(ALL_HOMOGENEOUS) |
	  O(FORCE),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT, "ADDR... COUNT",
	  "partition GPUs into COUNT equal partitions (0 removes them) and record it" },
	{ "apply", cmd_apply, NULL, 0, 0, O_COMMON | O(JSON) | O_CHANGE | O_LIBVIRT | O(FORCE),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT, "",
	  "make the host match the recorded layout (/etc/gpupart/partitions.conf)" },
	{ "dismount", cmd_dismount, cmd_dda_check, 1, 1,
	  O_COMMON | O(JSON) | O_CHANGE | O_LIBVIRT | O(FORCE),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT, "ADDR",
	  "hand a whole GPU to vfio-pci for a VM (Dismount-VMHostAssignableDevice)" },
	{ "mount", cmd_mount, cmd_dda_check, 1, 1, O_COMMON | O(JSON) | O_CHANGE | O_LIBVIRT | O(DRIVER),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT, "ADDR",
	  "give a dismounted GPU back to its host drivers (Mount-VMHostAssignableDevice)" },
	{ "attach", cmd_attach, cmd_attach_check, 2, 2,
	  O_COMMON | O(JSON) | O_CHANGE | O_LIBVIRT | O(MMIO_HIGH) | O(RESTART),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT, "DOMAIN ADDR",
	  "give a dismounted GPU to a libvirt domain, its MMIO window sized (Add-VMAssignableDevice)" },
	{ "detach", cmd_detach, cmd_attach_check, 2, 2,
	  O_COMMON | O(JSON) | O_CHANGE | O_LIBVIRT | O(RESTART),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT, "DOMAIN ADDR",
	  "take a GPU back from a domain, its MMIO settings restored (Remove-VMAssignableDevice)" },
	{ "assign", cmd_assign, NULL, 1, -1,
	  O_COMMON | O(JSON) | O_CHANGE | O_LIBVIRT | O(GPU) | O(PARTITION) | O(VRAM) |
	  O(ALLOW_MULTIPLE) | O(RESTART),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT | GP_VERB_LOCKS_LATE, "DOMAIN...",
	  "give each domain a free partition (Add-VMGpuPartitionAdapter)" },
	{ "adapters", cmd_adapters, NULL, 0, -1, O_COMMON | O(JSON) | O_LIBVIRT, GP_VERB_LIBVIRT,
	  "[DOMAIN...]", "the partitions domains have (Get-VMGpuPartitionAdapter)" },
	{ "unassign", cmd_unassign, NULL, 1, 1,
	  O_COMMON | O(JSON) | O_CHANGE | O_LIBVIRT | O(GPU) | O(PARTITION) | O(ALL) |
	  O(RESTART),
	  GP_VERB_MUTATES | GP_VERB_RECOVERS | GP_VERB_LIBVIRT | GP_VERB_LOCKS_LATE, "DOMAIN",
	  "take a domain's partitions back (Remove-VMGpuPartitionAdapter)" },
	/* the URIs are its arguments: no --connect; libvirt is asked about those hosts only */
	{ "cluster", cmd_cluster, NULL, 1, -1,
	  O_COMMON | O(JSON) | O(INVENTORY) | O(LIBVIRT_TIMEOUT), 0, "check [URI...]",
	  "are the GPUs of these hosts one make, model and partition count? (Admin Center)" },
	{ "migrate-check", cmd_migrate_check, NULL, 1, 1,
	  O_COMMON | O(JSON) | O(TO) | O(INVENTORY) | O(CONNECT) | O(LIBVIRT_TIMEOUT), 0,
	  "DOMAIN --to URI",
	  "can this domain live-migrate with its partitions to that host? (exit 3: blocked)" },
	/* libvirt runs it (gpupart(8), LIBVIRT HOOK): its arguments are libvirt's */
	{ "hook", cmd_hook, NULL, 4, 5, O_COMMON, GP_VERB_NO_LIBVIRT,
	  "qemu DOMAIN OPERATION SUBOP [EXTRA]",
	  "libvirt's qemu hook: a VM's partitions made ready at start, given back at stop" },
	{ "repair", cmd_repair, NULL, 0, 0, O_COMMON | O(JSON) | O_CHANGE, GP_VERB_MUTATES, "",
	  "undo a change that was interrupted (the journal in /run/gpupart)" },
};

#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

enum {
	OPT_COLOR = 0x100,
	OPT_VERSION,
	OPT_RUNTIME,
	OPT_ALL_HOMOGENEOUS,
	OPT_FORCE,
	OPT_DRIVER,
	OPT_WRITE_TIMEOUT,
	OPT_NO_LIBVIRT,
	OPT_LIBVIRT_TIMEOUT,
	OPT_MMIO_HIGH,
	OPT_RESTART,
	OPT_GPU,
	OPT_PARTITION,
	OPT_VRAM,
	OPT_ALLOW_MULTIPLE,
	OPT_ALL,
	OPT_INVENTORY,
	OPT_TO,
};

static const struct cli_option {
	struct option o;
	const char *arg; /* for the usage text */
	const char *help;
} options[N_OPTIONS] = {
	[OI_ROOT] = { { "root", required_argument, NULL, 'r' }, "DIR",
		      "read the host below DIR instead of / (env GPUPART_ROOT)" },
	[OI_JSON] = { { "json", no_argument, NULL, 'j' }, NULL, "print JSON (schema_version 1)" },
	[OI_SERIES] = { { "series", required_argument, NULL, 's' }, "Q|C|B|A",
			"the vGPU series of the valid partition counts" },
	[OI_ANY_CLASS] = { { "any-class", no_argument, NULL, 'a' }, NULL,
			   "count non-display SR-IOV functions (NICs, NVMe) as GPUs" },
	[OI_DRY_RUN] = { { "dry-run", no_argument, NULL, 'n' }, NULL,
			 "print the plan, change nothing" },
	[OI_RUNTIME] = { { "runtime", no_argument, NULL, OPT_RUNTIME }, NULL,
			 "do not record the layout" },
	[OI_ALL_HOMOGENEOUS] = { { "all-homogeneous", no_argument, NULL, OPT_ALL_HOMOGENEOUS },
				 NULL, "all of ADDR's homogeneous set" },
	[OI_FORCE] = { { "force", no_argument, NULL, OPT_FORCE }, NULL,
		       "run sriov-manage over MIG GPU instances; dismount despite warnings" },
	[OI_DRIVER] = { { "driver", required_argument, NULL, OPT_DRIVER }, "NAME",
			"where a GPU gpupart did not dismount goes back to" },
	[OI_MMIO_HIGH] = { { "mmio-high", required_argument, NULL, OPT_MMIO_HIGH }, "SIZE",
			   "the 64-bit MMIO window (64G, 512GiB, bytes)" },
	[OI_RESTART] = { { "restart", no_argument, NULL, OPT_RESTART }, NULL,
			 "shut a running domain down, change it, start it again" },
	[OI_GPU] = { { "gpu", required_argument, NULL, OPT_GPU }, "ADDR",
		     "only partitions of this GPU" },
	[OI_PARTITION] = { { "partition", required_argument, NULL, OPT_PARTITION }, "ID",
			   "this partition (its PartitionId)" },
	[OI_VRAM] = { { "vram", required_argument, NULL, OPT_VRAM }, "SIZE",
		      "a partition of this VRAM size (4G, 8GiB)" },
	[OI_ALLOW_MULTIPLE] = { { "allow-multiple", no_argument, NULL, OPT_ALLOW_MULTIPLE }, NULL,
				"another partition for a domain that has one" },
	[OI_ALL] = { { "all", no_argument, NULL, OPT_ALL }, NULL, "every partition of the domain" },
	[OI_INVENTORY] = { { "inventory", required_argument, NULL, OPT_INVENTORY }, "FILE",
			   "a host's `gpupart list --json` (repeatable)" },
	[OI_TO] = { { "to", required_argument, NULL, OPT_TO }, "URI",
		    "the destination host's libvirt (migrate-check)" },
	[OI_CONNECT] = { { "connect", required_argument, NULL, 'c' }, "URI",
			 "the libvirt that says which VMs hold partitions" },
	[OI_NO_LIBVIRT] = { { "no-libvirt", no_argument, NULL, OPT_NO_LIBVIRT }, NULL,
			    "do not ask libvirt (the boot unit: no VM runs yet)" },
	[OI_LIBVIRT_TIMEOUT] = { { "libvirt-timeout", required_argument, NULL,
				   OPT_LIBVIRT_TIMEOUT },
				 "SEC", "give libvirt SEC seconds to answer (10)" },
	[OI_WRITE_TIMEOUT] = { { "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
			       "SEC", "give a kernel write SEC seconds (30)" },
	[OI_COLOR] = { { "color", required_argument, NULL, OPT_COLOR }, "WHEN",
		       "colour the text output: auto (on a terminal), always, never" },
	[OI_VERBOSE] = { { "verbose", no_argument, NULL, 'v' }, NULL,
			 "more messages on stderr (repeat for debug)" },
	[OI_QUIET] = { { "quiet", no_argument, NULL, 'q' }, NULL, "no warnings on stderr" },
	[OI_HELP] = { { "help", no_argument, NULL, 'h' }, NULL, "this text" },
	[OI_VERSION] = { { "version", no_argument, NULL, OPT_VERSION }, NULL,
			 "print the version" },
};


static void log_to_stderr(void *data, enum gp_log_level level, const char *fmt, va_list ap)
{
	(void)data;
	fprintf(stderr, "gpupart: %s", level <= GP_LOG_ERR ? "" :
					level == GP_LOG_WARNING ? "warning: " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* The verbs that take option @oi: bit i for verbs[i]. */
static unsigned option_verbs(size_t oi)
{
	unsigned mask = 0;
	size_t i;

	for (i = 0; i < N_VERBS; i++)
		if (verbs[i].opts & (1u << oi))
			mask |= 1u << i;
	return mask;
}

/* "set-count, apply" for a mask of option_verbs(). */
static void verb_names(unsigned mask, char *buf, size_t len)
{
	size_t i, at = 0;

	buf[0] = '\0';
	for (i = 0; i < N_VERBS && at < len; i++)
		if (mask & (1u << i))
			at += (size_t)snprintf(buf + at, len - at, "%s%s", at ? ", " : "",
					       verbs[i].name);
}

/* "-n/--dry-run" or "--runtime" */
static const char *option_name(const struct cli_option *o, char *buf, size_t len)
{
	if (o->o.val < 0x100)
		snprintf(buf, len, "-%c/--%s", o->o.val, o->o.name);
	else
		snprintf(buf, len, "--%s", o->o.name);
	return buf;
}

/* The verbs an option is for, as --help says it: nothing for every verb, "all but capture"
 * for all but one, else the list. */
static void usage_verbs(size_t oi, char *buf, size_t len)
{
	unsigned all = (1u << N_VERBS) - 1, mask = option_verbs(oi), missing = all & ~mask;
	size_t i;

	buf[0] = '\0';
	if (mask == all)
		return;
	for (i = 0; i < N_VERBS; i++)
		if (missing == 1u << i) {
			snprintf(buf, len, "all but %s", verbs[i].name);
			return;
		}
	verb_names(mask, buf, len);
}

static void usage(FILE *out)
{
	char left[64], only[128];
	size_t i;

	fputs("Usage: gpupart [OPTIONS] VERB [ARGS]\n\nVerbs:\n", out);
	for (i = 0; i < N_VERBS; i++)
		fprintf(out, "  %-9s %-13s %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	fputs("\nOptions (before or after the verb):\n", out);
	for (i = 0; i < N_OPTIONS; i++) {
		const struct cli_option *o = &options[i];

		snprintf(left, sizeof(left), "%c%c%c --%s%s%s", o->o.val < 0x100 ? '-' : ' ',
			 o->o.val < 0x100 ? o->o.val : ' ', o->o.val < 0x100 ? ',' : ' ',
			 o->o.name, o->arg ? (o->o.val == OPT_COLOR ? "=" : " ") : "",
			 o->arg ? o->arg : "");
		usage_verbs(i, only, sizeof(only));
		fprintf(out, "  %-28s %s%s%s\n", left, only, *only ? ": " : "", o->help);
	}
	fputs("\nADDR is a PCI address, dddd:bb:dd.f or bb:dd.f. See gpupart(8).\n", out);
}

/*
 * `gpupart --dump-verbs` (alone; not in --help): the verb table for tests/hosts/test-verbs.c,
 * which holds the completions and the man page against it. One line per verb, tab separated:
 * name, flags ("mutates,recovers,libvirt" or "-"), then each option it takes: its long name (with a
 * trailing '=' when it takes an argument), then its short one.
 */
static int dump_verbs(void)
{
	size_t i, k;

	for (i = 0; i < N_VERBS; i++) {
		const struct verb *v = &verbs[i];
		const char *sep = "";

		printf("%s\t", v->name);
		if (v->flags & GP_VERB_MUTATES) {
			printf("%smutates", sep);
			sep = ",";
		}
		if (v->flags & GP_VERB_RECOVERS) {
			printf("%srecovers", sep);
			sep = ",";
		}
		if (v->flags & GP_VERB_LIBVIRT) {
			printf("%slibvirt", sep);
			sep = ",";
		}
		printf("%s\t", *sep ? "" : "-");
		sep = "";
		for (k = 0; k < N_OPTIONS; k++) {
			const struct option *o = &options[k].o;

			if (!(v->opts & (1u << k)))
				continue;
			printf("%s--%s%s", sep, o->name, o->has_arg ? "=" : "");
			if (o->val < 0x100)
				printf(" -%c", o->val);
			sep = " ";
		}
		putchar('\n');
	}
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

/* Plain decimal: "0" or a digit 1-9 and more digits; no sign, blank, prefix or exponent. */
int gp_cli_parse_uint(const char *s, unsigned max, unsigned *out)
{
	unsigned long v = 0;
	const char *p = s;

	if (*p == '0' && p[1] == '\0') {
		*out = 0;
		return 0;
	}
	if (*p < '1' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned long)(*p - '0');
		if (v > max)
			return -ERANGE;
	}
	if (*p)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

/*
 * Seconds as a plain decimal with at most three decimals (the timeouts are kept in
 * milliseconds: a finer value would be rounded, 0.0001 to nothing), 0 < SEC <= 3600.
 */
static int parse_seconds(const char *opt, const char *s, int *ms)
{
	const char *dot = strchr(s, '.');
	unsigned whole, frac = 0;
	size_t nfrac = 0;
	char intpart[8];

	if (dot) {
		size_t n = (size_t)(dot - s);

		nfrac = strlen(dot + 1);
		if (n >= sizeof(intpart) || nfrac < 1 || nfrac > 3)
			goto bad;
		memcpy(intpart, s, n);
		intpart[n] = '\0';
		for (const char *p = dot + 1; *p; p++) {
			if (*p < '0' || *p > '9')
				goto bad;
			frac = frac * 10 + (unsigned)(*p - '0');
		}
		for (; nfrac < 3; nfrac++)
			frac *= 10;
	}
	if (gp_cli_parse_uint(dot ? intpart : s, 3600, &whole) < 0)
		goto bad;
	if ((whole == 0 && frac == 0) || (whole == 3600 && frac > 0))
		goto bad;
	*ms = (int)(whole * 1000 + frac);
	return 0;
bad:
	gp_cli_err("%s takes seconds, a decimal number with at most three decimals, "
		   "0 < SEC <= 3600 (not '%s')",
		   opt, s);
	return -EINVAL;
}

static const struct verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < N_VERBS; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/*
 * Parses every option, wherever it stands; seen[i] is the position (from 1) of option i's
 * first appearance, 0 when it was not given. 1: go on; 0: done (--help, --version); -EINVAL.
 */
static int parse_argv(int argc, char **argv, struct gp_cli *cli, int seen[N_OPTIONS])
{
	struct option longopts[N_OPTIONS + 1];
	char shortopts[64];
	struct gp_pci_addr a;
	uint64_t size;
	size_t i, k = 0;
	unsigned u;
	int c, pos = 0;

	cli->partition = -1;
	cli->vram = -1;
	for (i = 0; i < N_OPTIONS; i++) {
		longopts[i] = options[i].o;
		if (options[i].o.val < 0x100) {
			shortopts[k++] = (char)options[i].o.val;
			if (options[i].o.has_arg == required_argument)
				shortopts[k++] = ':';
		}
	}
	memset(&longopts[N_OPTIONS], 0, sizeof(longopts[0]));
	shortopts[k] = '\0';

	cli->color = isatty(STDOUT_FILENO);
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		for (i = 0; i < N_OPTIONS; i++)
			if (options[i].o.val == c && !seen[i])
				seen[i] = ++pos;
		switch (c) {
		case 'r':
			if (!*optarg) {
				/* a script's unset variable must not mean the live host */
				gp_cli_err("--root needs a directory, not an empty string (leave "
					   "--root out for the live host)");
				return -EINVAL;
			}
			cli->root = optarg;
			break;
		case 'j':
			cli->json = true;
			break;
		case 's':
			if (strlen(optarg) != 1 || !strchr("QCBAqcba", optarg[0])) {
				gp_cli_err("--series must be one of Q, C, B, A (got '%s')", optarg);
				return -EINVAL;
			}
			cli->series = (char)(optarg[0] & ~0x20);
			break;
		case 'a':
			cli->any_class = true;
			break;
		case 'n':
			cli->dry_run = true;
			break;
		case OPT_RUNTIME:
			cli->runtime = true;
			break;
		case OPT_ALL_HOMOGENEOUS:
			cli->all_homogeneous = true;
			break;
		case OPT_FORCE:
			cli->force = true;
			break;
		case OPT_DRIVER:
			cli->driver = optarg;
			break;
		case 'c':
			if (!*optarg) {
				/* libvirt reads "" as its default URI: say so instead */
				gp_cli_err("--connect needs a libvirt URI, not an empty string (leave "
					   "--connect out for libvirt's default)");
				return -EINVAL;
			}
			cli->connect = optarg;
			break;
		case OPT_MMIO_HIGH:
			if (gp_op_parse_size(optarg, &cli->mmio_high) < 0 || !cli->mmio_high) {
				gp_cli_err("--mmio-high takes a size: bytes, or a number with K, M, G "
					   "or T (KiB, MiB, GiB, TiB), not '%s'", optarg);
				return -EINVAL;
			}
			break;
		case OPT_RESTART:
			cli->restart = true;
			break;
		case OPT_GPU:
			if (gp_pci_addr_parse(optarg, &a) < 0) {
				gp_cli_err("--gpu takes a PCI address (dddd:bb:dd.f), not '%s'", optarg);
				return -EINVAL;
			}
			cli->gpu = gp_pci_addr_format(&a, cli->gpu_buf);
			break;
		case OPT_PARTITION:
			if (gp_cli_parse_uint(optarg, 65535, &u) < 0) {
				gp_cli_err("--partition takes a PartitionId (0, 1, ...), not '%s'", optarg);
				return -EINVAL;
			}
			cli->partition = (int)u;
			break;
		case OPT_VRAM:
			if (gp_op_parse_size(optarg, &size) < 0 || !size || size > INT64_MAX) {
				gp_cli_err("--vram takes a size: bytes, or a number with K, M, G or T, "
					   "not '%s'", optarg);
				return -EINVAL;
			}
			cli->vram = (int64_t)size;
			break;
		case OPT_ALLOW_MULTIPLE:
			cli->allow_multiple = true;
			break;
		case OPT_ALL:
			cli->all = true;
			break;
		case OPT_TO:
			cli->to = optarg;
			break;
		case OPT_INVENTORY:
			if (cli->n_inventories == GP_CLI_MAX_INVENTORIES) {
				gp_cli_err("at most %d --inventory files", GP_CLI_MAX_INVENTORIES);
				return -EINVAL;
			}
			cli->inventories[cli->n_inventories++] = optarg;
			break;
		case OPT_NO_LIBVIRT:
			cli->no_libvirt = true;
			break;
		case OPT_LIBVIRT_TIMEOUT:
			if (parse_seconds("--libvirt-timeout", optarg, &cli->libvirt_timeout_ms) < 0)
				return -EINVAL;
			break;
		case OPT_WRITE_TIMEOUT:
			if (parse_seconds("--write-timeout", optarg, &cli->write_timeout_ms) < 0)
				return -EINVAL;
			break;
		case OPT_COLOR:
			if (strcmp(optarg, "always") == 0)
				cli->color = true;
			else if (strcmp(optarg, "never") == 0)
				cli->color = false;
			else if (strcmp(optarg, "auto") != 0) {
				gp_cli_err("--color must be auto, always or never");
				return -EINVAL;
			}
			break;
		case 'v':
			cli->verbosity++;
			break;
		case 'q':
			cli->verbosity = -1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case OPT_VERSION:
			puts("gpupart " GPUPART_VERSION);
			return 0;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	return 1;
}

/* Options the verb does not take (the first given, in command-line order), and conflicts. */
static int check_options(const struct verb *verb, const struct gp_cli *cli,
			 const int seen[N_OPTIONS])
{
	const struct cli_option *first = NULL;
	char name[64], only[128];
	int at = 0;
	size_t i;

	for (i = 0; i < N_OPTIONS; i++)
		if (seen[i] && !(verb->opts & (1u << i)) && (!first || seen[i] < at)) {
			first = &options[i];
			at = seen[i];
		}
	if (first) {
		verb_names(option_verbs((size_t)(first - options)), only, sizeof(only));
		gp_cli_err("option %s does not apply to '%s' (only to %s)",
			   option_name(first, name, sizeof(name)), verb->name, only);
		return -EINVAL;
	}
	if ((verb->flags & GP_VERB_LIBVIRT) && cli->no_libvirt && cli->connect) {
		gp_cli_err("--no-libvirt and --connect contradict each other: give one");
		return -EINVAL;
	}
	return 0;
}

/*
 * The host lock for a GP_VERB_MUTATES verb, and for GP_VERB_RECOVERS the undoing of an
 * interrupted change under it: EXIT_OK with *lock_fd, or the exit status (EXIT_STUCK while a
 * write of that change is still blocked in the kernel).
 */
static int lock_host(struct gp_cli *cli, bool recover, int *lock_fd);

int gp_cli_lock(struct gp_cli *cli, int *lock_fd)
{
	return lock_host(cli, true, lock_fd);
}

static int lock_host(struct gp_cli *cli, bool recover, int *lock_fd)
{
	int r;

	*lock_fd = -1;
	r = gp_lock_take(cli->ctx, 120 * 1000);
	if (r < 0) {
		gp_cli_err("cannot take the host lock (%s/run/gpupart/lock): %s",
			   strcmp(gp_ctx_root(cli->ctx), "/") ? gp_ctx_root(cli->ctx) : "",
			   r == -EWOULDBLOCK ? "another gpupart command holds it" : strerror(-r));
		return EXIT_FAIL;
	}
	*lock_fd = r;
	if (!recover)
		return EXIT_OK;
	r = gp_journal_recover(cli->ctx);
	if (r == GP_APPLY_STUCK)
		return EXIT_STUCK;
	return r < 0 ? EXIT_FAIL : EXIT_OK;
}

int gp_cli_main(int argc, char **argv, gp_cli_setup_fn setup)
{
	struct gp_cli cli = { 0 };
	int seen[N_OPTIONS] = { 0 };
	const struct verb *verb;
	int r, nargs, lock_fd = -1;
	char **args;

	/* a closed standard stream (libvirt's hook, a script's >&-) is /dev/null: else the first
	 * file opened (the root) would take its number and be written to as stdout */
	for (r = 0; r < 3; r++)
		if (fcntl(r, F_GETFD) < 0 && open("/dev/null", O_RDWR) != r)
			return EXIT_FAIL;
	if (argc == 2 && strcmp(argv[1], "--dump-verbs") == 0)
		return dump_verbs();
	r = parse_argv(argc, argv, &cli, seen);
	if (r <= 0)
		return r < 0 ? EXIT_USAGE : EXIT_OK;
	if (optind >= argc) {
		gp_cli_err("no verb given (try 'gpupart list')");
		usage(stderr);
		return EXIT_USAGE;
	}
	verb = find_verb(argv[optind]);
	if (!verb) {
		gp_cli_err("unknown verb '%s'", argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (check_options(verb, &cli, seen) < 0)
		return EXIT_USAGE;
	nargs = argc - optind - 1;
	if (nargs < verb->min_args || (verb->max_args >= 0 && nargs > verb->max_args)) {
		gp_cli_err("usage: gpupart %s %s", verb->name, verb->args);
		return EXIT_USAGE;
	}
	if (!cli.root) {
		cli.root = getenv("GPUPART_ROOT");
		if (cli.root && !*cli.root) {
			gp_cli_err("GPUPART_ROOT is set but empty: unset it for the live host, or "
				   "set it to a directory");
			return EXIT_USAGE;
		}
	}
	cli.render = cli.json ? &gp_render_json : &gp_render_text;
	r = gp_ctx_new(cli.root, &cli.ctx);
	/* libvirt for domain changes and their undoing (attach, detach; repair of theirs) */
	if (r >= 0 && !(verb->flags & GP_VERB_NO_LIBVIRT))
		gp_ctx_set_virt(cli.ctx, &gp_virt_ctx_ops, cli.libvirt_timeout_ms);
	if (r < 0) {
		gp_cli_err("cannot open root %s: %s", cli.root ? cli.root : "/", strerror(-r));
		return EXIT_FAIL;
	}
	gp_ctx_set_log(cli.ctx, log_to_stderr, NULL);
	gp_cli_quiet = cli.verbosity < 0;
	gp_ctx_set_write_timeout(cli.ctx, cli.write_timeout_ms);
	if (setup)
		setup(cli.ctx);
	gp_ctx_set_log_level(cli.ctx, cli.verbosity < 0  ? GP_LOG_ERR :
				      cli.verbosity == 0 ? GP_LOG_WARNING :
				      cli.verbosity == 1 ? GP_LOG_INFO :
							   GP_LOG_DEBUG);
	args = argv + optind + 1;
	r = verb->check ? verb->check(&cli, nargs, args) : EXIT_OK;
	if (r == EXIT_OK && (verb->flags & GP_VERB_MUTATES) && !cli.dry_run &&
	    !(verb->flags & GP_VERB_LOCKS_LATE))
		r = lock_host(&cli, verb->flags & GP_VERB_RECOVERS, &lock_fd);
	if (r == EXIT_OK)
		r = verb->fn(&cli, nargs, args);
	gp_lock_release(cli.ctx, lock_fd);
	gp_ctx_free(cli.ctx);
	return r;
}
