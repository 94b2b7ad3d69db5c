/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tool's small shared helpers: messages on stderr, root-relative paths in messages, PCI
 * address arguments, whole documents on stdout. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
static char path_buf[4][4096];
static unsigned path_next;

const char *gp_cli_path(const struct gp_cli *cli, const char *abs)
{
	const char *root = cli->ctx ? gp_ctx_root(cli->ctx) : cli->root;
	char *buf;
	size_t n;

	if (!root || strcmp(root, "/") == 0)
		return abs;
	buf = path_buf[path_next++ % 4];
	n = strlen(root);
	while (n > 1 && root[n - 1] == '/')
		n--;
	snprintf(buf, sizeof(path_buf[0]), "%.*s%s", (int)n, root, abs);
	return buf;
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
	char *fixed = NULL;
	const char *s;
	int r;

	if (!root) {
		gp_cli_err("out of memory");
		return EXIT_FAIL;
	}
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	/* sysfs bytes are not UTF-8 text: every --json document is mended in this one place */
	r = gp_json_utf8(s, &fixed);
	if (r < 0) {
		json_object_put(root);
		gp_cli_err("out of memory");
		return EXIT_FAIL;
	}
	if (fixed)
		s = fixed;
	r = gp_cli_emit(s, strlen(s));
	free(fixed);
	if (r == EXIT_OK)
		r = gp_cli_emit("\n", 1);
	json_object_put(root);
	return r;
}

void gp_cli_print_findings(const struct gp_findings *f)
{
	size_t i;

	for (i = 0; i < f->n; i++) {
		if (f->v[i].severity == GP_SEV_ERROR)
			gp_cli_err("%s", f->v[i].detail);
		else if (f->v[i].severity == GP_SEV_WARNING)
			gp_cli_warn("%s", f->v[i].detail);
	}
}

int gp_cli_json_hex(struct json_object *o, const char *key, unsigned *v)
{
	struct json_object *f;
	const char *s;
	char *end;
	unsigned long u;

	if (!json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_string))
		return -EINVAL;
	s = json_object_get_string(f);
	u = strtoul(s, &end, 16);
	if (!*s || *end || u > 0xffff)
		return -EINVAL;
	*v = (unsigned)u;
	return 0;
}
