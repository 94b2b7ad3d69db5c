/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What set-count and apply share: the library builds the operation (gpupart/ops.h: refusals
 * as findings, changes, plans); here libvirt is asked when the operation says so, the
 * refusals are printed as people read them, and the plan is printed or run.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <gpupart/ops.h>
#include <gpupart/plan.h>
#include <gpupart/virt.h>

#include "cli.h"
#include "partition.h"

/*
 * Refusals that list what stands in the way print a line for the GPU, then one indented
 * line per finding: the domains and reservation records that hold its partitions, or the
 * processes that hold its device nodes. 0 for the codes that print alone.
 */
static int group_of(const char *code)
{
	if (strcmp(code, "assigned-to-vm") == 0 || strcmp(code, "reserved") == 0)
		return 1;
	if (strcmp(code, "held-open") == 0)
		return 2;
	return 0;
}

static void print_group_head(int group, const char *addr, bool whole)
{
	if (group == 1 && whole)
		gp_cli_err("%s: refusing: VMs name its functions (Hyper-V refuses the same; "
			   "remove it from their VMs first: gpupart detach):",
			   addr);
	else if (group == 1)
		gp_cli_err("%s: refusing: partitions are assigned (Hyper-V refuses the same; "
			   "remove them from their VMs first):",
			   addr);
	else
		gp_cli_err("%s: refusing: processes hold its devices open, and the kernel would "
			   "block behind them:",
			   addr);
}

/* Prints findings [from, n) of @op on stderr (info ones not at all); returns n. */
static size_t print_refusals(const struct gp_op *op, size_t from)
{
	const struct gp_findings *f = gp_op_findings(op);
	size_t i, last_gpu = GP_OP_NO_GPU;
	int last_group = 0;

	for (i = from; i < f->n; i++) {
		const struct gp_finding *x = &f->v[i];
		size_t g = gp_op_finding_gpu(op, i);
		const char *addr = g == GP_OP_NO_GPU ? "?" : gp_op_gpu(op, g)->view.dev->address;
		int group = group_of(x->code);

		if (x->severity == GP_SEV_INFO)
			continue;
		if (x->severity == GP_SEV_WARNING) {
			gp_cli_warn("%s", x->detail);
			continue;
		}
		if (group) {
			if (group != last_group || g != last_gpu)
				print_group_head(group, addr,
						 g != GP_OP_NO_GPU &&
							 gp_op_gpu(op, g)->action != GP_OP_SET_COUNT);
			gp_cli_err("  %s", x->detail);
		} else {
			gp_cli_err("%s", x->detail);
		}
		last_group = group;
		last_gpu = g;
		/* libvirt cannot say who holds this GPU's partitions */
		if (strcmp(x->code, "libvirt-unreachable") == 0)
			gp_cli_err("cannot ask libvirt which VMs hold %s: %s", addr,
				   strerror(ECONNREFUSED));
		else if (strcmp(x->code, "libvirt-timeout") == 0)
			gp_cli_err("cannot ask libvirt which VMs hold %s: %s", addr,
				   strerror(ETIMEDOUT));
	}
	return f->n;
}

/* libvirt's answer about @pci and @mdev: the devices its domains name, copied as the
 * operation takes them (*ops, borrowing from *uses). 0 or -ENOMEM. */
static int ask_libvirt(struct gp_cli *cli, char **pci, size_t n_pci, char **mdev,
		       size_t n_mdev, struct gp_virt_use **uses, struct gp_op_use **ops,
		       struct gp_virt_answer *answer)
{
	int k, r;

	r = gp_virt_find_users(cli->ctx, cli->connect, cli->libvirt_timeout_ms,
			       (const char *const *)pci, n_pci, (const char *const *)mdev, n_mdev,
			       uses);
	if (r > 0) {
		*ops = calloc((size_t)r, sizeof(**ops));
		if (!*ops) {
			gp_virt_uses_free(*uses, (size_t)r);
			*uses = NULL;
			return -ENOMEM;
		}
		for (k = 0; k < r; k++)
			(*ops)[k] = (struct gp_op_use){ (*uses)[k].domain, (*uses)[k].active,
							(*uses)[k].device };
	}
	gp_virt_answer_from(r, cli->connect != NULL, *ops, answer);
	return 0;
}

/*
 * libvirt's answer about the devices the operation names, asked once (one connection, one
 * warning) however many GPUs a command names, and only when a plan has steps.
 */
static int guard(struct gp_cli *cli, struct gp_op *op, size_t *printed)
{
	struct gp_virt_answer answer = { .kind = GP_VIRT_SKIPPED };
	struct gp_virt_use *uses = NULL;
	struct gp_op_use *ops = NULL;
	char **pci, **mdev;
	size_t n_pci, n_mdev;
	int n, r = 0;

	n = gp_op_users(op, &pci, &n_pci, &mdev, &n_mdev);
	if (n < 0)
		return n;
	if (n == 0 || cli->no_libvirt) {
		/* --no-libvirt: the boot unit, before libvirt (see gpupart(8), OPTIONS) */
	} else if (!cli->connect && strcmp(gp_ctx_root(cli->ctx), "/") != 0) {
		answer.kind = GP_VIRT_NOT_ASKED;
	} else {
		r = ask_libvirt(cli, pci, n_pci, mdev, n_mdev, &uses, &ops, &answer);
	}
	gp_strv_free(pci, n_pci);
	gp_strv_free(mdev, n_mdev);
	/* what the answer says first (as before the guard logs what it finds), then the rest */
	if (r == 0)
		r = gp_op_answer(cli->ctx, op, &answer);
	if (r == 0) {
		*printed = print_refusals(op, *printed);
		r = gp_op_guard(cli->ctx, op, &answer);
	}
	if (answer.kind == GP_VIRT_ANSWERED && answer.n_uses)
		gp_virt_uses_free(uses, answer.n_uses);
	free(ops);
	return r;
}

unsigned gp_cli_op_flags(const struct gp_cli *cli, bool record)
{
	return (record ? GP_OP_RECORD : 0) | (cli->dry_run ? GP_OP_PLAN_ONLY : 0) |
	       (cli->force ? GP_OP_FORCE : 0);
}

int gp_cli_operate(struct gp_cli *cli, struct gp_op *op, const char *cmd)
{
	size_t printed;
	int r;

	printed = print_refusals(op, 0);
	/* a dry run says what would be refused: it asks libvirt too */
	if (gp_op_verdict(op) == GP_OP_GO && guard(cli, op, &printed) < 0) {
		gp_cli_err("out of memory");
		return EXIT_FAIL;
	}
	printed = print_refusals(op, printed);
	if (gp_op_verdict(op) != GP_OP_GO) {
		/* --dry-run --json: the refusals as findings, with the plans made before them */
		if (cli->dry_run && cli->json)
			cli->render->plans(cli, op, false);
		return gp_op_verdict(op) == GP_OP_REFUSED_USAGE ? EXIT_USAGE : EXIT_FAIL;
	}
	if (cli->dry_run)
		return cli->render->plans(cli, op, false);
	r = gp_op_run(cli->ctx, op, cmd);
	print_refusals(op, printed);
	if (r == GP_APPLY_STUCK)
		return EXIT_STUCK;
	if (r < 0)
		return EXIT_FAIL;
	/* success is said only once it is true: the host changed, the layout recorded, the
	 * journal gone */
	return cli->render->plans(cli, op, true);
}
