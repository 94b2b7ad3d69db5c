/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * gpupart: Hyper-V's GPU partitioning and DDA model for Linux KVM/VFIO hosts.
 * Option parsing, the verb table and the exit-status contract.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

bool gp_cli_quiet;

struct verb {
	const char *name;
	int min_args, max_args; /* -1: unlimited */
	int (*fn)(struct gp_cli *cli, int argc, char **argv);
	const char *args;
	const char *help;
};

static const struct verb verbs[] = {
	{ "list", 0, -1, cmd_list, "[ADDR...]",
	  "partitionable GPUs: status, backend, valid partition counts, partitions" },
	{ "survey", 0, -1, cmd_survey, "[ADDR...]",
	  "can each GPU (or named device) be handed whole to a VM? (SurveyDDA)" },
	{ "capture", 1, 1, cmd_capture, "FILE.tar",
	  "write the host state gpupart reads into a tar ('-' for stdout)" },
	{ "set-count", 2, -1, cmd_set_count, "ADDR... COUNT",
	  "partition GPUs into COUNT equal partitions (0 removes them) and record it" },
	{ "apply", 0, 0, cmd_apply, "",
	  "make the host match the recorded layout (/etc/gpupart/partitions.conf)" },
	{ "repair", 0, 0, cmd_repair, "",
	  "undo a change that was interrupted (the journal in /run/gpupart)" },
};

void gp_cli_err(const char *fmt, ...)
{
	va_list ap;

	fputs("gpupart: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void gp_cli_warn(const char *fmt, ...)
{
	va_list ap;

	if (gp_cli_quiet)
		return;
	fputs("gpupart: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void log_to_stderr(void *data, enum gp_log_level level, const char *fmt, va_list ap)
{
	(void)data;
	fprintf(stderr, "gpupart: %s", level <= GP_LOG_ERR ? "" :
					level == GP_LOG_WARNING ? "warning: " : "");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

static void usage(FILE *out)
{
	size_t i;

	fputs("Usage: gpupart [OPTIONS] VERB [ARGS]\n\nVerbs:\n", out);
	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(out, "  %-9s %-13s %s\n", verbs[i].name, verbs[i].args, verbs[i].help);
	fputs("\nOptions:\n"
	      "  -r, --root DIR       read the host below DIR instead of / (env GPUPART_ROOT)\n"
	      "  -j, --json           print JSON (schema_version 1)\n"
	      "  -s, --series Q|C|B|A the vGPU series valid partition counts are given for\n"
	      "  -a, --any-class      treat non-display SR-IOV functions (NICs, NVMe) as GPUs\n"
	      "  -n, --dry-run        set-count, apply: print the plan, change nothing\n"
	      "      --runtime        set-count: do not record the layout\n"
	      "      --all-homogeneous set-count: every GPU of ADDR's homogeneous set\n"
	      "  -c, --connect URI    libvirt URI to ask which VMs hold partitions\n"
	      "      --write-timeout SEC  give up on a kernel write after SEC seconds (30)\n"
	      "      --color=auto|always|never\n"
	      "  -v, --verbose        more messages on stderr (repeat for debug)\n"
	      "  -q, --quiet          no warnings on stderr\n"
	      "  -h, --help           this text\n"
	      "      --version        print the version\n\n"
	      "ADDR is a PCI address, dddd:bb:dd.f or bb:dd.f. See gpupart(8).\n",
	      out);
}

int gp_cli_parse_addrs(int argc, char **argv, struct gp_pci_addr **out)
{
	struct gp_pci_addr *v;
	int i;

	*out = NULL;
	if (argc == 0)
		return 0;
	v = calloc((size_t)argc, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (i = 0; i < argc; i++) {
		if (gp_pci_addr_parse(argv[i], &v[i]) < 0) {
			gp_cli_err("'%s' is not a PCI address (expected dddd:bb:dd.f)", argv[i]);
			free(v);
			return -EINVAL;
		}
	}
	*out = v;
	return argc;
}

int gp_cli_scan_exit(int r)
{
	return r == -ENOMEM ? (gp_cli_err("out of memory"), EXIT_FAIL) : EXIT_FAIL;
}

int gp_cli_emit(const char *buf, size_t len)
{
	if (fwrite(buf, 1, len, stdout) != len || fflush(stdout) != 0) {
		gp_cli_err("writing output: %s", strerror(errno));
		return EXIT_FAIL;
	}
	return EXIT_OK;
}

int gp_cli_emit_json(struct json_object *root)
{
	const char *s;
	int r;

	if (!root) {
		gp_cli_err("out of memory");
		return EXIT_FAIL;
	}
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	r = gp_cli_emit(s, strlen(s));
	if (r == EXIT_OK)
		r = gp_cli_emit("\n", 1);
	json_object_put(root);
	return r;
}

static const struct verb *find_verb(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

enum { OPT_COLOR = 0x100, OPT_VERSION, OPT_RUNTIME, OPT_ALL_HOMOGENEOUS, OPT_WRITE_TIMEOUT };

static int parse_argv(int argc, char **argv, struct gp_cli *cli)
{
	static const struct option opts[] = {
		{ "root", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "series", required_argument, NULL, 's' },
		{ "any-class", no_argument, NULL, 'a' },
		{ "color", required_argument, NULL, OPT_COLOR },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "dry-run", no_argument, NULL, 'n' },
		{ "runtime", no_argument, NULL, OPT_RUNTIME },
		{ "all-homogeneous", no_argument, NULL, OPT_ALL_HOMOGENEOUS },
		{ "connect", required_argument, NULL, 'c' },
		{ "write-timeout", required_argument, NULL, OPT_WRITE_TIMEOUT },
		{}
	};
	int c;

	cli->color = isatty(STDOUT_FILENO);
	while ((c = getopt_long(argc, argv, "r:js:avqhnc:", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
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
		case 'c':
			cli->connect = optarg;
			break;
		case OPT_WRITE_TIMEOUT: {
			char *end;
			double sec = strtod(optarg, &end);

			if (*end || end == optarg || !(sec > 0 && sec <= 3600)) {
				gp_cli_err("--write-timeout takes seconds (0 < SEC <= 3600), not '%s'",
					   optarg);
				return -EINVAL;
			}
			cli->write_timeout_ms = (int)(sec * 1000);
			break;
		}
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

int gp_cli_main(int argc, char **argv, gp_cli_setup_fn setup)
{
	struct gp_cli cli = { 0 };
	const struct verb *verb;
	int r, nargs;

	r = parse_argv(argc, argv, &cli);
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
	nargs = argc - optind - 1;
	if (nargs < verb->min_args || (verb->max_args >= 0 && nargs > verb->max_args)) {
		gp_cli_err("usage: gpupart %s %s", verb->name, verb->args);
		return EXIT_USAGE;
	}
	if (!cli.root)
		cli.root = getenv("GPUPART_ROOT");
	r = gp_ctx_new(cli.root, &cli.ctx);
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
	r = verb->fn(&cli, nargs, argv + optind + 1);
	gp_ctx_free(cli.ctx);
	return r;
}
