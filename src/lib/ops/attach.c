/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * attach and detach: the refusals and the choice of what changes (gpupart/attach.h).
 *
 * Hyper-V's rules for DDA, as a Linux admin meets them (seeds/002): the VM must be off
 * (Add-VMAssignableDevice needs it stopped; --restart does that), it cannot be saved or
 * checkpointed with the device (libvirt: snapshots, checkpoints, managed save of a domain with
 * a vfio device fail in QEMU, "VFIO device doesn't support migration"), so its stop action
 * must be turn off (libvirt-guests' ON_SHUTDOWN=shutdown), and its high MMIO space must hold
 * the GPU's BARs (-HighMemoryMappedIoSpace: the 64-bit window, below). The low space has no
 * equivalent: QEMU sizes the 32-bit window itself from the machine's layout.
 */
#include <errno.h>
#include <stdio.h>

#include <gpupart/attach.h>

#include "base/internal.h"
#include "kinds/domain.h"
#include "model/vmhost.h"
#include "ops/op.h"
#include "txn/txn.h"

#define GIB (1ULL << 30)

uint64_t gp_op_dda_window(const struct gp_device *gpu)
{
	int64_t bars = gp_policy_mmio64_required(gpu);
	int64_t table = gp_policy_mmio_table_lookup(gpu, NULL);
	uint64_t w = 0;

	if (bars > 0)
		w = (uint64_t)bars;
	/* the table (NVIDIA's "MMIO Space Required") also covers what the BARs do not show:
	 * the firmware's alignment and a resizable BAR grown by the guest driver */
	if (table > 0 && (uint64_t)table > w)
		w = (uint64_t)table;
	return w;
}

int gp_op_dda_phys_bits(uint64_t mem_bytes, uint64_t window)
{
	/* OVMF (PlatformInitLib, PlatformAddressWidthInitialization) puts the 64-bit window above
	 * the end of RAM, which starts at 4 GiB, aligned to its own size */
	uint64_t top = 4 * GIB + mem_bytes, end;
	int bits = 32;

	if (!window)
		return 0;
	top = (top + window - 1) / window * window;
	end = top + window;
	while (bits < 64 && (1ULL << bits) < end)
		bits++;
	return bits;
}

int gp_op_parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		int shift;
	} units[] = { { "", 0 }, { "K", 10 }, { "KiB", 10 }, { "M", 20 }, { "MiB", 20 },
		      { "G", 30 }, { "GiB", 30 }, { "T", 40 }, { "TiB", 40 } };
	unsigned long long v = 0;
	const char *p = s;
	size_t i;

	if (*p < '0' || *p > '9' || (*p == '0' && p[1] >= '0' && p[1] <= '9'))
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - 9) / 10)
			return -ERANGE;
		v = v * 10 + (unsigned)(*p - '0');
	}
	for (i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(p, units[i].suffix))
			continue;
		if (units[i].shift && v > (UINT64_MAX >> units[i].shift))
			return -ERANGE;
		*out = v << units[i].shift;
		return 0;
	}
	return -EINVAL;
}

static int add(struct gp_op_dda *op, const char *code, enum gp_severity sev, const char *fmt,
	       ...) __attribute__((format(printf, 4, 5)));
static int add(struct gp_op_dda *op, const char *code, enum gp_severity sev, const char *fmt,
	       ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		return -ENOMEM;
	r = gp_findings_add(&op->findings, code, sev, "%s", s);
	free(s);
	return r;
}

static int functions(struct gp_op_dda *op, struct gp_host *host, const struct gp_device *gpu)
{
	struct gp_device **f;
	size_t n, i;
	int r = gp_policy_dda_functions(host, gpu, &f, &n);
	char buf[GP_ADDR_LEN];

	for (i = 0; r >= 0 && i < n; i++) {
		char *a = strdup(gp_pci_addr_format(&f[i]->addr, buf));

		r = a ? gp_strv_push(&op->fns, &op->n_fns, a) : -ENOMEM;
		if (r >= 0 && !gp_policy_is_vfio_driver(f[i]->driver))
			r = add(op, "not-dismounted", GP_SEV_ERROR,
				"%s is on %s, not vfio-pci: run 'gpupart dismount %s' first", buf,
				f[i]->driver ? f[i]->driver : "no driver",
				gp_pci_addr_format(&gpu->addr, (char[GP_ADDR_LEN]){ 0 }));
	}
	free(f);
	return r;
}

/* The domain's refusals common to attach and detach. */
static int domain_checks(struct gp_op_dda *op, const struct gp_op_domain *dom, unsigned flags)
{
	int r = 0;

	if (!dom->found)
		return add(op, "domain-not-found", GP_SEV_ERROR, "no domain '%s' on this connection",
			   dom->name);
	if (!dom->persistent)
		r = add(op, "domain-transient", GP_SEV_ERROR,
			"'%s' is transient: a device assignment must be in its persistent "
			"definition (virsh define)", dom->name);
	if (r >= 0 && dom->remote)
		r = add(op, "domain-remote", GP_SEV_ERROR,
			"the connection is to %s, another host: the GPU is on this one",
			dom->hostname ? dom->hostname : "another host");
	if (r >= 0 && dom->active && !(flags & GP_DDA_RESTART))
		r = add(op, "domain-running", GP_SEV_ERROR,
			"'%s' is running: shut it down, or give --restart (shut down, changed, "
			"started again)", dom->name);
	return r;
}

/* Another domain already names one of the functions. */
static int elsewhere(struct gp_op_dda *op, const struct gp_op_domain *dom)
{
	size_t i;

	for (i = 0; i < dom->n_uses; i++)
		if (strcmp(dom->uses[i].domain, dom->name))
			return add(op, "gpu-assigned-elsewhere", GP_SEV_ERROR,
				   "domain '%s' names %s already", dom->uses[i].domain,
				   dom->uses[i].device);
	return 0;
}

static int warnings(struct gp_ctx *ctx, struct gp_op_dda *op, const struct gp_op_domain *dom)
{
	int r = 0;

	if (dom->n_snapshots > 0)
		r = add(op, "domain-has-snapshots", GP_SEV_WARNING,
			"'%s' has %d snapshots: with the GPU attached, new snapshots fail and "
			"reverting to one taken without it drops the device", dom->name,
			dom->n_snapshots);
	if (r >= 0 && dom->n_checkpoints > 0)
		r = add(op, "domain-has-checkpoints", GP_SEV_WARNING,
			"'%s' has %d checkpoints: incremental backups fail with the GPU attached",
			dom->name, dom->n_checkpoints);
	if (r >= 0)
		r = gp_op_warn_guests(ctx, &op->findings);
	return r;
}

int gp_op_warn_guests(struct gp_ctx *ctx, struct gp_findings *f)
{
	char action[32];
	int line, g = gp_vmhost_guests_on_shutdown(ctx, action, sizeof(action), &line);

	/* Hyper-V's AutomaticStopAction must be TurnOff for a VM with a GPU (seeds/000, 001) */
	if (g > 0 && strcmp(action, "shutdown") && line)
		return gp_findings_add(f, "libvirt-guests-saves", GP_SEV_WARNING,
				       "/etc/default/libvirt-guests line %d sets ON_SHUTDOWN=%s: at "
				       "host shutdown the VM would be saved, which fails with an "
				       "assigned device; set ON_SHUTDOWN=shutdown",
				       line, action);
	if (g > 0 && strcmp(action, "shutdown"))
		return gp_findings_add(f, "libvirt-guests-saves", GP_SEV_WARNING,
				       "/etc/default/libvirt-guests leaves ON_SHUTDOWN unset "
				       "(default: suspend): at host shutdown the VM would be saved, "
				       "which fails with an assigned device; set "
				       "ON_SHUTDOWN=shutdown");
	return 0;
}

static int mmio(struct gp_ctx *ctx, struct gp_op_dda *op, const struct gp_device *gpu,
		const struct gp_op_domain *dom, uint64_t mmio_high)
{
	uint64_t mem = dom->memory_kib > 0 ? (uint64_t)dom->memory_kib << 10 : 0;
	int r = 0;

	op->bars = gp_policy_mmio64_required(gpu);
	op->table = gp_policy_mmio_table_lookup(gpu, &op->table_model);
	op->window = gp_op_dda_window(gpu);
	if (mmio_high) {
		op->overridden = true;
		op->window = mmio_high;
	}
	/* the window is carved in naturally aligned power-of-two pieces */
	if (op->window & (op->window - 1)) {
		uint64_t p = 1;

		while (p < op->window)
			p <<= 1;
		op->window = p;
	}
	op->host_phys_bits = gp_vmhost_phys_bits(ctx);
	op->phys_bits = gp_op_dda_phys_bits(mem, op->window);
	/* QEMU's default guest width is 40 bits (target/i386/cpu.c, TCG_PHYS_ADDR_BITS and
	 * the default phys-bits): below that nothing needs saying */
	if (op->phys_bits <= 40 || dom->maxphys_bits == 0 || dom->maxphys_bits >= op->phys_bits) {
		op->phys_bits = 0;
	} else if (op->host_phys_bits < op->phys_bits) {
		r = add(op, "phys-bits-short", GP_SEV_WARNING,
			"the window needs a %d-bit guest physical address space, the host's is %s%d "
			"bits: the guest's is left as it is",
			op->phys_bits, op->host_phys_bits < 0 ? "unknown, taken as " : "",
			op->host_phys_bits < 0 ? 0 : op->host_phys_bits);
		op->phys_bits = 0;
	}
	if (r >= 0 && dom->ovmf && op->window)
		r = add(op, "fw-cfg-taints", GP_SEV_INFO,
			"OVMF's 64-bit aperture goes on the domain's qemu:commandline (libvirt "
			"refuses opt/ovmf/ in <sysinfo type='fwcfg'>): libvirt marks the domain "
			"tainted (custom-argv)");
	if (r >= 0)
		r = add(op, "mmio-low-by-qemu", GP_SEV_INFO,
			"QEMU sizes the 32-bit MMIO window itself: there is nothing to set for "
			"-LowMemoryMappedIoSpace");
	return r;
}

int gp_op_dda_new(struct gp_ctx *ctx, struct gp_host *host, const struct gp_device *gpu,
		  const struct gp_op_domain *dom, uint64_t mmio_high, unsigned flags,
		  struct gp_op_dda **out)
{
	struct gp_op_dda *op = calloc(1, sizeof(*op));
	bool detach = flags & GP_DDA_DETACH;
	int r;

	*out = NULL;
	if (!op)
		return -ENOMEM;
	op->bars = op->table = -1;
	op->host_phys_bits = -1;
	r = functions(op, host, gpu);
	if (r >= 0 && detach) {
		/* detach leaves the GPU dismounted: its drivers are not detach's business */
		gp_findings_clear(&op->findings);
	}
	if (r >= 0)
		r = domain_checks(op, dom, flags);
	if (r >= 0 && dom->found && !detach)
		r = elsewhere(op, dom);
	if (r >= 0 && dom->found && !detach && !dom->q35)
		r = add(op, "domain-not-q35", GP_SEV_ERROR,
			"'%s' is not a q35 machine: a GPU needs PCI Express (Hyper-V: a generation 2 "
			"VM)", dom->name);
	if (r >= 0 && dom->found && !detach && dom->n_named == op->n_fns && dom->recorded)
		op->nothing = true;
	else if (r >= 0 && dom->found && !detach && dom->n_named)
		r = add(op, "gpu-attached-partly", GP_SEV_ERROR,
			"'%s' names %zu of the GPU's %zu functions already, not through gpupart: "
			"remove them first", dom->name, dom->n_named, op->n_fns);
	if (r >= 0 && dom->found && detach && !dom->n_named && !dom->recorded)
		op->nothing = true;
	if (r >= 0 && dom->found && !detach && !op->nothing && !gp_op_dda_refused(op))
		r = warnings(ctx, op, dom);
	if (r >= 0 && dom->found && !detach && !op->nothing && !gp_op_dda_refused(op))
		r = mmio(ctx, op, gpu, dom, mmio_high);
	if (r < 0) {
		gp_op_dda_free(op);
		return r;
	}
	*out = op;
	return 0;
}

void gp_op_dda_free(struct gp_op_dda *op)
{
	if (!op)
		return;
	gp_findings_clear(&op->findings);
	gp_strv_free(op->fns, op->n_fns);
	free(op);
}

bool gp_op_dda_refused(const struct gp_op_dda *op)
{
	size_t i;

	for (i = 0; i < op->findings.n; i++)
		if (op->findings.v[i].severity == GP_SEV_ERROR)
			return true;
	return false;
}

int gp_op_dda_run(struct gp_ctx *ctx, const struct gp_op_dda *op, const char *uri,
		  const char *domain, bool detach, bool restart, int shutdown_ms, const char *cmd)
{
	const struct gp_domain_want w = { uri, domain, detach, (const char *const *)op->fns,
					  op->n_fns, op->window, op->phys_bits, restart,
					  shutdown_ms };
	struct gp_txn txn = { 0 };
	struct gp_change *c;
	int r = gp_domain_change_new(ctx, &w, &c);

	if (r < 0)
		return r;
	r = gp_txn_add(&txn, c);
	if (r >= 0)
		r = gp_txn_run(ctx, &txn, cmd);
	gp_txn_clear(&txn);
	return r;
}
