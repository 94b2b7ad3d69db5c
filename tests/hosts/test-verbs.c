/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The verb table (`gpupart --dump-verbs`) against everything that repeats it: --help, the bash
 * completion (run in bash), the zsh completion (read: zsh is not a build dependency) and the
 * man page's SYNOPSIS, COMMANDS and OPTIONS. Adding a verb or an option to src/cli/main.c
 * without them fails here, naming what is missing where.
 */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run.h"

#define MAX_VERBS 16
#define MAX_OPTS 48

/* A set of words (verbs, options), small and unordered. */
struct words {
	size_t n;
	char *v[MAX_OPTS * 2];
};

static bool has(const struct words *w, const char *s)
{
	for (size_t i = 0; i < w->n; i++)
		if (strcmp(w->v[i], s) == 0)
			return true;
	return false;
}

static void add(struct words *w, const char *s, size_t len)
{
	char *c = strndup(s, len);

	cr_assert_not_null(c);
	if (has(w, c)) {
		free(c);
		return;
	}
	cr_assert_lt(w->n, sizeof(w->v) / sizeof(w->v[0]), "too many words");
	w->v[w->n++] = c;
}

static void clear(struct words *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->v[i]);
	w->n = 0;
}

static char *join(const struct words *w)
{
	static char buf[4096];
	size_t at = 0;

	buf[0] = 0;
	for (size_t i = 0; i < w->n && at < sizeof(buf); i++)
		at += (size_t)snprintf(buf + at, sizeof(buf) - at, "%s%s", i ? " " : "", w->v[i]);
	return buf;
}

/* @a and @b hold the same words; else fails naming the words one has and the other lacks. */
static void same(const struct words *a, const struct words *b, const char *what)
{
	struct words only_a = { 0 }, only_b = { 0 };
	char la[4096];

	for (size_t i = 0; i < a->n; i++)
		if (!has(b, a->v[i]))
			add(&only_a, a->v[i], strlen(a->v[i]));
	for (size_t i = 0; i < b->n; i++)
		if (!has(a, b->v[i]))
			add(&only_b, b->v[i], strlen(b->v[i]));
	snprintf(la, sizeof(la), "%s", join(&only_a));
	cr_expect(only_a.n == 0 && only_b.n == 0,
		  "%s: in the verb table only: [%s]; there only: [%s]", what, la, join(&only_b));
	clear(&only_a);
	clear(&only_b);
}

/* The verb table as `gpupart --dump-verbs` prints it. */
struct verb {
	char name[32];
	bool mutates, recovers, libvirt;
	struct words opts;  /* long and short names, as a user types them: --root -r */
	struct words longs; /* long names only */
	struct words args;  /* the names (long and short) of those that take an argument */
};

static struct verb verbs[MAX_VERBS];
static size_t n_verbs;
static struct words all_opts, all_args, verb_names;
static char short_of[128][32]; /* short letter -> long name */

static void load_table(void)
{
	struct run r;
	char *line, *save = NULL;

	if (n_verbs)
		return;
	cr_assert_eq(run_gpupart(&r, NULL, "--dump-verbs", NULL), 0, "%s", r.err);
	for (line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		struct verb *v = &verbs[n_verbs++];
		char *flags, *opts, *tok, *s2 = NULL, *prev = NULL;
		bool prev_arg = false;

		cr_assert_leq(n_verbs, MAX_VERBS);
		flags = strchr(line, '\t');
		cr_assert_not_null(flags, "%s", line);
		*flags++ = 0;
		opts = strchr(flags, '\t');
		cr_assert_not_null(opts, "%s", line);
		*opts++ = 0;
		snprintf(v->name, sizeof(v->name), "%s", line);
		add(&verb_names, line, strlen(line));
		v->mutates = strstr(flags, "mutates") != NULL;
		v->recovers = strstr(flags, "recovers") != NULL;
		v->libvirt = strstr(flags, "libvirt") != NULL;
		for (tok = strtok_r(opts, " ", &s2); tok; tok = strtok_r(NULL, " ", &s2)) {
			size_t len = strlen(tok);

			if (tok[1] == '-') {
				bool arg = tok[len - 1] == '=';

				if (arg)
					len--;
				add(&v->opts, tok, len);
				add(&v->longs, tok, len);
				add(&all_opts, tok, len);
				if (arg) {
					add(&v->args, tok, len);
					add(&all_args, tok, len);
				}
				prev = v->longs.v[v->longs.n - 1];
				prev_arg = arg;
			} else {
				cr_assert(len == 2 && prev, "bad short option %s", tok);
				add(&v->opts, tok, len);
				add(&all_opts, tok, len);
				if (prev_arg) {
					add(&v->args, tok, len);
					add(&all_args, tok, len);
				}
				snprintf(short_of[(unsigned char)tok[1]], sizeof(short_of[0]), "%s", prev);
			}
		}
	}
	run_free(&r);
	cr_assert_geq(n_verbs, 6, "the table lists %zu verbs", n_verbs);
}

static const char *long_of(const char *opt)
{
	if (opt[1] == '-')
		return opt;
	return short_of[(unsigned char)opt[1]][0] ? short_of[(unsigned char)opt[1]] : opt;
}

static char *source_file(const char *rel)
{
	const char *src = getenv("SOURCE_ROOT");
	char path[4096], *text;

	cr_assert_not_null(src, "SOURCE_ROOT is not set (run through meson test)");
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	text = slurp(path);
	cr_assert_not_null(text, "cannot read %s", path);
	return text;
}

/* The flags say what the options say: a verb that asks libvirt takes the libvirt options, a
 * verb that writes takes --dry-run and --write-timeout, and no other does; a verb that undoes
 * a pending journal first writes (the lock it undoes it under is the mutating verbs'), and
 * repair, the undoing itself, does not undo first. */
Test(verbs, flags_match_options)
{
	load_table();
	for (size_t i = 0; i < n_verbs; i++) {
		const struct verb *v = &verbs[i];

		cr_expect_eq(has(&v->longs, "--connect") && has(&v->longs, "--no-libvirt") &&
				     has(&v->longs, "--libvirt-timeout"),
			     v->libvirt, "%s: libvirt flag and libvirt options disagree", v->name);
		cr_expect_eq(has(&v->longs, "--dry-run") && has(&v->longs, "--write-timeout"),
			     v->mutates, "%s: mutates flag and change options disagree", v->name);
		cr_expect(!v->recovers || v->mutates, "%s: recovers without mutates", v->name);
		cr_expect_eq(v->recovers, v->mutates && strcmp(v->name, "repair") != 0,
			     "%s: every mutating verb but repair recovers first", v->name);
	}
}

/* --help names every verb and every option, long and short. */
Test(verbs, help_mentions_the_table)
{
	struct run r;

	load_table();
	cr_assert_eq(run_gpupart(&r, NULL, "--help", NULL), 0, "%s", r.err);
	for (size_t i = 0; i < n_verbs; i++) {
		char want[64];

		snprintf(want, sizeof(want), "\n  %s ", verbs[i].name);
		cr_expect(strstr(r.out, want), "--help does not list %s", verbs[i].name);
	}
	for (size_t i = 0; i < all_opts.n; i++) {
		char want[64];

		snprintf(want, sizeof(want), "%s%s", all_opts.v[i],
			 all_opts.v[i][1] == '-' ? "" : ",");
		cr_expect(strstr(r.out, want), "--help does not mention %s", all_opts.v[i]);
	}
	/* --dump-verbs is for tests: not in --help, and only alone */
	cr_expect(!strstr(r.out, "dump"), "--help mentions --dump-verbs");
	run_free(&r);
	run_gpupart(&r, NULL, "--dump-verbs", "list", NULL);
	cr_expect_eq(r.status, 2, "--dump-verbs list: exit %d", r.status);
	cr_expect_str_eq(r.out, "");
	run_free(&r);
}

/* COMPREPLY of the bash completion for the command line @words (the last is completed). */
static void bash_complete(struct words *out, const char *const *words)
{
	static const char script[] =
		"unset GPUPART_ROOT; source \"$1\"; shift; COMP_WORDS=(\"$@\"); "
		"COMP_CWORD=$(($# - 1)); COMP_WORDBREAKS=$' \\t\\n\"\\'><=;|&(:'; _gpupart; "
		"printf '%s\\n' \"${COMPREPLY[@]}\"";
	char *argv[32] = { (char *)getenv("BASH"), "--norc", "--noprofile", "-c", (char *)script,
			   "bash" };
	char file[4096], *line, *save = NULL;
	size_t n = 6;
	struct run r;

	cr_assert_not_null(argv[0], "BASH is not set (run through meson test)");
	snprintf(file, sizeof(file), "%s/completions/bash/gpupart", getenv("SOURCE_ROOT"));
	argv[n++] = file;
	for (; *words; words++)
		argv[n++] = (char *)*words;
	argv[n] = NULL;
	run_argv(&r, argv);
	cr_assert_eq(r.status, 0, "bash: %s", r.err);
	for (line = strtok_r(r.out ? r.out : "", "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		add(out, line, strlen(line));
	run_free(&r);
}

Test(verbs, bash_completion, .timeout = 120)
{
	const struct verb *list = NULL;
	struct words got = { 0 };
	char what[128];

	load_table();
	for (size_t i = 0; i < n_verbs; i++)
		if (strcmp(verbs[i].name, "list") == 0)
			list = &verbs[i];
	cr_assert_not_null(list);
	bash_complete(&got, (const char *const[]){ "gpupart", "", NULL });
	same(&verb_names, &got, "bash: the verbs");
	clear(&got);
	/* before the verb every option is offered: the verb is not known yet */
	bash_complete(&got, (const char *const[]){ "gpupart", "-", NULL });
	same(&all_opts, &got, "bash: the options before the verb");
	clear(&got);
	for (size_t i = 0; i < n_verbs; i++) {
		bash_complete(&got, (const char *const[]){ "gpupart", verbs[i].name, "-", NULL });
		snprintf(what, sizeof(what), "bash: the options after '%s'", verbs[i].name);
		same(&verbs[i].opts, &got, what);
		clear(&got);
	}
	/* an option's argument is not taken for the verb: after `--series Q list`, list's */
	for (size_t i = 0; i < all_opts.n; i++) {
		const char *o = all_opts.v[i];

		if (!has(&all_args, o))
			continue;
		bash_complete(&got, (const char *const[]){ "gpupart", o, "x", "list", "-", NULL });
		snprintf(what, sizeof(what), "bash: after '%s x list'", o);
		same(&list->opts, &got, what);
		clear(&got);
	}
}

/* The option names of one zsh _arguments spec line: `'(-r --root)'{-r+,--root=}'[...]...'`
 * gives -r and --root (the exclusion list in parentheses is skipped); *arg is set when a
 * name carries '+' or '=' (the option takes an argument). */
static void zsh_spec_names(const char *line, struct words *names, struct words *with_arg)
{
	const char *end = strchr(line, '['), *p;
	int depth = 0;

	if (!end)
		return;
	for (p = line; p < end; p++) {
		size_t len = 0;

		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		if (depth || *p != '-' || (p > line && (isalnum((unsigned char)p[-1]) || p[-1] == '-')))
			continue;
		while (p + len < end && (isalnum((unsigned char)p[len]) || p[len] == '-'))
			len++;
		if (len < 2)
			continue;
		add(names, p, len);
		if (p[len] == '+' || p[len] == '=')
			add(with_arg, p, len);
		p += len - 1;
	}
}

/* zsh: the arrays of specs (name=( ... )) and each verb's opts=( $a $b ), read from the file. */
struct zsh_array {
	char name[32];
	struct words names, args;
};

static struct zsh_array *zsh_find(struct zsh_array *a, size_t n, const char *name, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if (strlen(a[i].name) == len && strncmp(a[i].name, name, len) == 0)
			return &a[i];
	return NULL;
}

/* The options named by the array references in "( $common $json )". */
static void zsh_expand(struct zsh_array *a, size_t n, const char *refs, struct words *names,
		       struct words *args)
{
	for (const char *p = strchr(refs, '$'); p; p = strchr(p + 1, '$')) {
		size_t len = strspn(p + 1, "abcdefghijklmnopqrstuvwxyz_");
		struct zsh_array *z = zsh_find(a, n, p + 1, len);

		cr_assert_not_null(z, "zsh: $%.*s is not an array of specs", (int)len, p + 1);
		for (size_t i = 0; i < z->names.n; i++)
			add(names, z->names.v[i], strlen(z->names.v[i]));
		for (size_t i = 0; i < z->args.n; i++)
			add(args, z->args.v[i], strlen(z->args.v[i]));
	}
}

static struct verb *find_verb(const char *name)
{
	for (size_t i = 0; i < n_verbs; i++)
		if (strcmp(verbs[i].name, name) == 0)
			return &verbs[i];
	return NULL;
}

/* What the zsh completion says, read line by line. */
struct zsh {
	struct zsh_array arrays[24];
	size_t n;
	struct zsh_array *cur; /* inside name=( ... ) */
	bool in_verbs;         /* inside verbs=( ... ) */
	bool top_done;         /* the first opts=( ... ): before the verb */
	struct words verbs, seen;
};

/* `list|survey) opts=( $common $json $series ) ;;`: those verbs' options after the verb. */
static void zsh_verb_case(struct zsh *z, const char *s, const char *eq)
{
	struct words names = { 0 }, args = { 0 };
	char pat[128], what[128], *v, *save = NULL;

	snprintf(pat, sizeof(pat), "%.*s", (int)strcspn(s, ")"), s);
	zsh_expand(z->arrays, z->n, eq, &names, &args);
	for (v = strtok_r(pat, "|", &save); v; v = strtok_r(NULL, "|", &save)) {
		struct verb *vb = find_verb(v);

		cr_assert_not_null(vb, "zsh: options for '%s', not a verb", v);
		add(&z->seen, v, strlen(v));
		snprintf(what, sizeof(what), "zsh: the options after '%s'", v);
		same(&vb->opts, &names, what);
		snprintf(what, sizeof(what), "zsh: the options of '%s' with an argument", v);
		same(&vb->args, &args, what);
	}
	clear(&names);
	clear(&args);
}

static void zsh_line(struct zsh *z, const char *line)
{
	const char *s = line + strspn(line, " "), *eq = strstr(s, "=(");
	size_t lower = strspn(s, "abcdefghijklmnopqrstuvwxyz_");

	if (z->in_verbs) {
		if (*s == ')')
			z->in_verbs = false;
		else if (*s == '\'')
			add(&z->verbs, s + 1, strcspn(s + 1, ":"));
	} else if (z->cur) {
		if (*s == ')')
			z->cur = NULL;
		else
			zsh_spec_names(s, &z->cur->names, &z->cur->args);
	} else if (strncmp(s, "verbs=(", 7) == 0) {
		z->in_verbs = true;
	} else if (strncmp(s, "opts=(", 6) == 0 && !z->top_done) {
		struct words names = { 0 }, args = { 0 };

		/* before the verb: every option */
		zsh_expand(z->arrays, z->n, s, &names, &args);
		same(&all_opts, &names, "zsh: the options before the verb");
		same(&all_args, &args, "zsh: the options with an argument before the verb");
		z->top_done = true;
		clear(&names);
		clear(&args);
	} else if (eq && strstr(s, ") opts=(")) {
		zsh_verb_case(z, s, eq);
	} else if (eq && eq > s && lower == (size_t)(eq - s)) {
		/* name=( on a line of its own, or a one-line array: name=( 'spec' ) */
		cr_assert_lt(z->n, sizeof(z->arrays) / sizeof(z->arrays[0]));
		z->cur = &z->arrays[z->n++];
		snprintf(z->cur->name, sizeof(z->cur->name), "%.*s", (int)(eq - s), s);
		if (eq[2] == ' ' && strrchr(s, ')') > eq + 2 && strrchr(s, ')')[-1] == ' ') {
			zsh_spec_names(eq + 2, &z->cur->names, &z->cur->args);
			z->cur = NULL;
		}
	}
}

Test(verbs, zsh_completion)
{
	char *text = source_file("completions/zsh/_gpupart"), *line, *save = NULL;
	struct zsh z = { 0 };

	load_table();
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
		zsh_line(&z, line);
	cr_expect(z.top_done, "zsh: no opts=( ... ) for the options before the verb");
	same(&verb_names, &z.verbs, "zsh: the verbs");
	same(&verb_names, &z.seen, "zsh: the verbs with an opts=( ... ) case");
	clear(&z.verbs);
	clear(&z.seen);
	for (size_t i = 0; i < z.n; i++) {
		clear(&z.arrays[i].names);
		clear(&z.arrays[i].args);
	}
	free(text);
}

/* A roff line as text: "\-" is '-', font changes and the macro name go. */
static void roff_plain(const char *in, char *out, size_t len)
{
	size_t o = 0;

	if (*in == '.')
		in += strcspn(in, " ");
	for (; *in && o + 1 < len; in++) {
		if (in[0] == '\\' && in[1] == '-') {
			out[o++] = '-';
			in++;
		} else if (in[0] == '\\' && in[1] == 'f' && in[2]) {
			in += 2;
		} else if (in[0] == '\\' && in[1] == '(' && in[2] && in[3]) {
			in += 3;
		} else if (*in == '"' || *in == ',' || *in == '[' || *in == ']' || *in == '{' ||
			   *in == '}' || *in == '|' || *in == '=') {
			out[o++] = ' ';
		} else {
			out[o++] = *in;
		}
	}
	out[o] = 0;
}

static void roff_words(const char *line, struct words *w)
{
	char plain[1024], *tok, *save = NULL;

	roff_plain(line, plain, sizeof(plain));
	for (tok = strtok_r(plain, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		add(w, tok, strlen(tok));
}

/* The lines of section @name ("OPTIONS"), up to the next .SH. */
static char **man_section(char *text, const char *name, size_t *n)
{
	static char *lines[4096];
	char *line, *save = NULL;
	bool in = false;

	*n = 0;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, ".SH ", 4) == 0) {
			in = strcmp(line + 4, name) == 0;
			continue;
		}
		if (in && *n < sizeof(lines) / sizeof(lines[0]))
			lines[(*n)++] = line;
	}
	cr_assert_gt(*n, 0, "man page: no %s section", name);
	return lines;
}

/* SYNOPSIS: a `.B verb` line per verb. */
Test(verbs, man_synopsis)
{
	struct words syn = { 0 }, w = { 0 };
	char *text = source_file("man/gpupart.8"), **lines;
	size_t n;

	load_table();
	lines = man_section(text, "SYNOPSIS", &n);
	for (size_t i = 0; i < n; i++) {
		if (strncmp(lines[i], ".B ", 3) != 0)
			continue;
		roff_words(lines[i], &w);
		for (size_t k = 0; k < w.n; k++)
			if (has(&verb_names, w.v[k]))
				add(&syn, w.v[k], strlen(w.v[k]));
		clear(&w);
	}
	same(&verb_names, &syn, "man SYNOPSIS: the verbs");
	clear(&syn);
	free(text);
}

/* COMMANDS: a .TP entry per verb, the verb first in its head. */
Test(verbs, man_commands)
{
	struct words cmds = { 0 }, w = { 0 };
	char *text = source_file("man/gpupart.8"), **lines;
	size_t n;

	load_table();
	lines = man_section(text, "COMMANDS", &n);
	for (size_t i = 0; i + 1 < n; i++) {
		if (strncmp(lines[i], ".TP", 3) != 0)
			continue;
		roff_words(lines[i + 1], &w);
		if (w.n)
			add(&cmds, w.v[0], strlen(w.v[0]));
		clear(&w);
	}
	same(&verb_names, &cmds, "man COMMANDS: the verbs");
	clear(&cmds);
	free(text);
}

/* The verbs an OPTIONS table head names: "every verb", "all but capture", or a list. */
static void man_table_head(const char *line, bool vsel[MAX_VERBS])
{
	struct words w = { 0 };

	roff_words(line, &w);
	for (size_t k = 0; k < n_verbs; k++)
		vsel[k] = has(&w, "every") || (has(&w, verbs[k].name) != has(&w, "but"));
	clear(&w);
}

/* OPTIONS: the table (.RS ... .RE) of the options each verb takes, then a .TP entry per
 * option whose head names it, long and short. */
Test(verbs, man_options)
{
	struct words per_verb[MAX_VERBS] = { 0 }, heads = { 0 }, w = { 0 };
	char *text = source_file("man/gpupart.8"), **lines, what[128];
	bool vsel[MAX_VERBS] = { false };
	size_t n, i;

	load_table();
	lines = man_section(text, "OPTIONS", &n);
	for (i = 0; i < n && strcmp(lines[i], ".RS") != 0; i++)
		;
	cr_assert_lt(i, n, "man OPTIONS: no .RS table of the options each verb takes");
	for (i++; i < n && strcmp(lines[i], ".RE") != 0; i++) {
		if (strncmp(lines[i], ".TP", 3) == 0) {
			cr_assert_lt(i + 1, n);
			man_table_head(lines[++i], vsel);
			continue;
		}
		roff_words(lines[i], &w);
		for (size_t t = 0; t < w.n; t++)
			for (size_t k = 0; k < n_verbs && w.v[t][0] == '-'; k++)
				if (vsel[k])
					add(&per_verb[k], long_of(w.v[t]), strlen(long_of(w.v[t])));
		clear(&w);
	}
	for (size_t k = 0; k < n_verbs; k++) {
		snprintf(what, sizeof(what), "man OPTIONS table: the options of '%s'",
			 verbs[k].name);
		same(&verbs[k].longs, &per_verb[k], what);
		clear(&per_verb[k]);
	}
	for (; i + 1 < n; i++)
		if (strncmp(lines[i], ".TP", 3) == 0)
			roff_words(lines[i + 1], &heads);
	for (i = 0; i < all_opts.n; i++)
		cr_expect(has(&heads, all_opts.v[i]), "man OPTIONS: no .TP entry for %s",
			  all_opts.v[i]);
	clear(&heads);
	free(text);
}
