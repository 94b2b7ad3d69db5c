/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef GPUPART_CLI_H
#define GPUPART_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include <gpupart/gpupart.h>
#include <gpupart/model.h>
#include <gpupart/policy.h>

/* Exit statuses: a contract (man/gpupart.8, EXIT STATUS). */
enum {
	EXIT_OK = 0,
	EXIT_FAIL = 1,
	EXIT_USAGE = 2,
	EXIT_NOT_ASSIGNABLE = 3,
	EXIT_STUCK = 4, /* a kernel write never returned: the device is stuck, repair later */
	EXIT_NO_PARTITION = 5, /* assign: no free partition of the size asked ("full") */
};

struct gp_op;
struct gp_plan;
struct gp_render;

struct gp_cli {
	const char *root;
	bool json;
	bool any_class;
	bool color;
	char series;
	int verbosity; /* -1 quiet, 0 warnings, 1 info, 2 debug */
	bool dry_run;
	bool runtime;         /* set-count: do not record the layout */
	bool all_homogeneous; /* set-count: every GPU of ADDR's homogeneous set */
	bool force;           /* set-count, apply: what only --force overrides (MIG instances) */
	const char *driver;   /* mount: where a GPU gpupart did not dismount goes */
	const char *connect;  /* libvirt URI */
	bool no_libvirt;      /* set-count, apply: do not ask libvirt (the boot unit) */
	int libvirt_timeout_ms; /* 0: the library's default (GP_VIRT_TIMEOUT_MS_DEFAULT) */
	int write_timeout_ms; /* 0: the library's default */
	uint64_t mmio_high;   /* attach --mmio-high, bytes (0: none) */
	bool restart;         /* attach, detach, assign, unassign --restart */
	const char *gpu;      /* assign, unassign --gpu (canonical, in gpu_buf) */
	char gpu_buf[GP_ADDR_LEN];
	int partition;        /* --partition, -1 none */
	int64_t vram;         /* assign --vram, bytes, -1 none */
	bool allow_multiple;  /* assign --allow-multiple */
	bool all;             /* unassign --all */
#define GP_CLI_MAX_INVENTORIES 64
	const char *inventories[GP_CLI_MAX_INVENTORIES]; /* cluster --inventory FILE */
	const char *to;       /* migrate-check --to URI: the destination */
	int n_inventories;
	const struct gp_render *render; /* text or JSON, chosen once from --json (main.c) */
	struct gp_ctx *ctx;
};

/*
 * The whole command line tool. @setup (may be NULL) sees the context before the verb runs:
 * the test build uses it to put a fake kernel under the tool (tests/fakekernel).
 */
typedef void (*gp_cli_setup_fn)(struct gp_ctx *ctx);
int gp_cli_main(int argc, char **argv, gp_cli_setup_fn setup);

/* Prints "gpupart: warning: ..." on stderr unless --quiet. */
extern bool gp_cli_quiet;
void gp_cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "gpupart: ..." on stderr. */
void gp_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A plain decimal number 0..@max ("0", or no leading zero; no sign, blank, prefix, exponent):
 * 0, -EINVAL, or -ERANGE above @max. */
int gp_cli_parse_uint(const char *s, unsigned max, unsigned *out);
/* An absolute host path (/etc/gpupart/...) as messages name it: under --root, ROOT/etc/...
 * Returns one of four static buffers in turn (or @abs itself on the live host). */
const char *gp_cli_path(const struct gp_cli *cli, const char *abs);

/* Parses ADDR arguments; on a malformed one prints why and returns -EINVAL. */
int gp_cli_parse_addrs(int argc, char **argv, struct gp_pci_addr **out);
/* Maps a scan failure to an exit status (the library already logged the reason). */
int gp_cli_scan_exit(int r);
/* The errors and warnings of @f on stderr (gp_cli_err, gp_cli_warn); infos are not said. */
void gp_cli_print_findings(const struct gp_findings *f);
/* Writes a whole buffer to stdout; EXIT_OK or EXIT_FAIL. */
int gp_cli_emit(const char *buf, size_t len);
int gp_cli_emit_json(struct json_object *root);
/* A PCI ID as `list --json` writes it ("10de"): @key of @o, hex, at most 0xffff. 0, -EINVAL. */
int gp_cli_json_hex(struct json_object *o, const char *key, unsigned *v);

/* Admin Center's warning: a homogeneous set whose GPUs have different partition counts, one
 * "warning:" line per set on stderr (cmd-list.c; list and survey). */
void gp_cli_warn_uneven_counts(const struct gp_host *h, const struct gp_gpu_view *views,
			       size_t n);
int cmd_list(struct gp_cli *cli, int argc, char **argv);
int cmd_survey(struct gp_cli *cli, int argc, char **argv);
int cmd_capture(struct gp_cli *cli, int argc, char **argv);
int cmd_set_count(struct gp_cli *cli, int argc, char **argv);
int cmd_set_count_check(struct gp_cli *cli, int argc, char **argv);
int cmd_apply(struct gp_cli *cli, int argc, char **argv);
int cmd_repair(struct gp_cli *cli, int argc, char **argv);
int cmd_dismount(struct gp_cli *cli, int argc, char **argv);
int cmd_mount(struct gp_cli *cli, int argc, char **argv);
int cmd_dda_check(struct gp_cli *cli, int argc, char **argv);
int cmd_attach(struct gp_cli *cli, int argc, char **argv);
int cmd_attach_check(struct gp_cli *cli, int argc, char **argv);
int cmd_detach(struct gp_cli *cli, int argc, char **argv);
int cmd_assign(struct gp_cli *cli, int argc, char **argv);
int cmd_unassign(struct gp_cli *cli, int argc, char **argv);
int cmd_adapters(struct gp_cli *cli, int argc, char **argv);
int cmd_cluster(struct gp_cli *cli, int argc, char **argv);
int cmd_hook(struct gp_cli *cli, int argc, char **argv);
int cmd_migrate_check(struct gp_cli *cli, int argc, char **argv);
/* The host lock, and a pending journal undone under it, for a GP_VERB_LOCKS_LATE verb:
 * EXIT_OK with *lock_fd (release with gp_lock_release), or the exit status. */
int gp_cli_lock(struct gp_cli *cli, int *lock_fd);

/* One surveyed device, as `survey` reports it. */
struct gp_survey_item {
	const struct gp_device *dev;
	enum gp_verdict verdict;
	struct gp_findings findings;
	const char *reset_method; /* NULL: unknown */
	int64_t mmio64_bytes;     /* the 64-bit MMIO space a VM needs; -1: unknown */
	bool dda_dismounted;      /* handed whole to vfio */
	char **dda_domains;       /* the libvirt domains naming its functions */
	size_t n_dda_domains;
};

/* One device whose domains gp_cli_dda_domains fills in. */
struct gp_cli_dda_slot {
	const struct gp_device *dev;
	bool dismounted;
	char ***names;   /* where the domain names go */
	size_t *n_names;
};

/*
 * The libvirt domains that name a function of each dismounted device of @slots[0..n)
 * (dda-users.c): asked once, bounded, only when one is dismounted and libvirt may be asked
 * (--connect, or the live root; not --no-libvirt). EXIT_OK; EXIT_FAIL when the libvirt asked
 * does not answer (said on stderr; no libvirt at the default URI is no domain).
 */
int gp_cli_dda_domains(struct gp_cli *cli, const struct gp_host *h,
		       const struct gp_cli_dda_slot *slots, size_t n);

/*
 * list: who holds each partition of @v[0..n) (its domain and domain_uuid) and, as
 * gp_cli_dda_domains does, the domains of each dismounted GPU, from ONE bounded question to
 * libvirt (the same rules) and the reservation records (dda-users.c). The strings are owned
 * by @out until gp_cli_holders_clear. EXIT_OK; EXIT_FAIL when libvirt asked does not answer
 * or a reservation record cannot be read (said on stderr).
 */
struct gp_virt_use;
struct gp_resv;
struct gp_cli_holders {
	struct gp_virt_use *uses;
	size_t n_uses;
	struct gp_resv *resv;
	size_t n_resv;
};
int gp_cli_list_holders(struct gp_cli *cli, const struct gp_host *h, struct gp_gpu_view *v,
			size_t n, struct gp_cli_holders *out);
void gp_cli_holders_clear(struct gp_cli_holders *hd);
/* The partitions of @v nobody holds (list's free_partitions). */
size_t gp_cli_free_partitions(const struct gp_gpu_view *v);

/*
 * The output forms (nvme-cli's print ops): one table for text (out-text.c), one for JSON
 * (out-json.c), chosen once from --json in main.c (cli->render), so that every verb has both
 * forms from one place and a field added to one form is a slot the other must fill. Each op
 * prints a whole document on stdout and returns an exit status (EXIT_OK, or EXIT_FAIL when
 * it could not be built or written).
 */
struct gp_render {
	/* list: the GPUs' views, @h for the host facts */
	int (*list)(const struct gp_cli *cli, const struct gp_host *h,
		    const struct gp_gpu_view *views, size_t n);
	/* survey: the host's findings, then each surveyed device */
	int (*survey)(const struct gp_cli *cli, const struct gp_host *h,
		      const struct gp_findings *host_findings, const struct gp_survey_item *items,
		      size_t n);
	/*
	 * set-count and apply (out-plan.c): the plans of @op's GPUs, or what was done
	 * (@applied). @op NULL: apply found no layout recorded (text says so; JSON is a
	 * document with no GPU). The JSON document carries the operation's findings as
	 * "refusals" (a refused dry run prints it too).
	 */
	int (*plans)(struct gp_cli *cli, const struct gp_op *op, bool applied);
	/* repair: what it did (or, with --dry-run, would do): @plan from the host now back to
	 * the journal, @journal whether there was one, @layout whether partitions.conf is put
	 * back */
	int (*repair)(struct gp_cli *cli, const struct gp_plan *plan, bool journal, bool layout);
};

extern const struct gp_render gp_render_text;
extern const struct gp_render gp_render_json;

/* JSON building blocks (out-json.c), for the renderers of other verbs. */
struct json_object *gp_json_host(const struct gp_host *h);
struct json_object *gp_json_gpu(const struct gp_gpu_view *v);
struct json_object *gp_json_findings(const struct gp_findings *f);
/* One partition as assign, unassign and adapters print it (cmd-assign.c). */
struct gp_part;
struct json_object *gp_json_part(const struct gp_part *p);
/* A JSON document with every ill-formed UTF-8 sequence replaced by U+FFFD: 0 when @text is
 * valid already (*fixed NULL), 1 with the mended copy in *fixed (free it), -ENOMEM. */
int gp_json_utf8(const char *text, char **fixed);

#endif
