/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Pure parsers: PCI addresses, mdev descriptions, vGPU type names, creatable_vgpu_types. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <string.h>

#include <gpupart/model.h>

/* Criterion re-execs its workers (PIE, ASLR): parameters hold arrays, never pointers. */
struct addr_case {
	char in[32];
	int ok;
	char canon[24];
};

ParameterizedTestParameters(parse, pci_addr)
{
	static struct addr_case cases[] = {
		{ "0000:01:00.0", 1, "0000:01:00.0" },
		{ "0000:E8:1F.7", 1, "0000:e8:1f.7" },
		{ "01:00.0", 1, "0000:01:00.0" },
		{ "ffff:ff:1f.7", 1, "ffff:ff:1f.7" },
		{ "10000:e1:00.0", 1, "10000:e1:00.0" },  /* Intel VMD */
		{ "0010000:e1:00.0", 1, "10000:e1:00.0" },
		{ "123456789:00:00.0", 0, "" },
		{ "0000:01:20.0", 0, "" },       /* device > 0x1f */
		{ "0000:01:00.8", 0, "" },       /* function > 7 */
		{ "0000:01:00.0 ", 0, "" },
		{ "0000:01:00", 0, "" },
		{ "0000:01:00.0/../../", 0, "" }, /* path traversal */
		{ "..", 0, "" },
		{ "", 0, "" },
		{ "(null)", 0, "" },
		{ "000:001:00.0", 0, "" },
		{ "0000-01:00.0", 0, "" },
		{ "g000:01:00.0", 0, "" },
	};
	return cr_make_param_array(struct addr_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct addr_case *c, parse, pci_addr)
{
	struct gp_pci_addr a;
	char buf[GP_ADDR_LEN];
	int r = gp_pci_addr_parse(c->in, &a);

	cr_assert_eq(r == 0, c->ok, "'%s': parse returned %d", c->in, r);
	if (c->ok)
		cr_assert_str_eq(gp_pci_addr_format(&a, buf), c->canon);
}

Test(parse, mdev_description_a40)
{
	int64_t fb;
	int max;

	/* verbatim from an A40 VF, driver 550.163.02 (research/nvidia-linux.md §1.3) */
	cr_assert_eq(gp_parse_mdev_description("num_heads=4, frl_config=45, framebuffer=1024M, "
					       "max_resolution=5120x2880, max_instance=32",
					       &fb, &max),
		     0);
	cr_assert_eq(fb, 1024LL << 20);
	cr_assert_eq(max, 32);
}

Test(parse, mdev_description_lenient)
{
	int64_t fb;
	int max;

	/* no "M" suffix, keys reordered, unknown keys: CloudStack's parser tolerates these */
	cr_assert_eq(gp_parse_mdev_description("max_instance=4,framebuffer=4096,new_key=7", &fb,
					       &max),
		     0);
	cr_assert_eq(fb, 4096LL << 20);
	cr_assert_eq(max, 4);
	cr_assert_eq(gp_parse_mdev_description("garbage", &fb, &max), -ENOENT);
	cr_assert_eq(fb, -1);
	cr_assert_eq(max, -1);
	cr_assert_eq(gp_parse_mdev_description("max_instance=-3, framebuffer=x", &fb, &max),
		     -ENOENT);
}

Test(parse, creatable_types)
{
	/* the format of the upstream RFC's example and NVIDIA's %-5d : %s printer */
	static const char text[] = "ID    : vGPU Name\n"
				   "941   : NVIDIA RTX6000-Ada-1Q\n"
				   "942   : NVIDIA RTX6000-Ada-2Q\n"
				   "\n"
				   "1414 NVIDIA H200X-1-18C\n";
	struct gp_vgpu_type *t;
	int n = gp_parse_creatable_types(text, &t);

	cr_assert_eq(n, 3);
	cr_assert_eq(t[0].type_id, 941);
	cr_assert_str_eq(t[0].name, "NVIDIA RTX6000-Ada-1Q");
	cr_assert_str_eq(t[0].key, "941");
	cr_assert_eq(t[0].series, 'Q');
	cr_assert_eq(t[1].fb_bytes, 2LL << 30);
	cr_assert_eq(t[2].type_id, 1414);
	cr_assert(t[2].mig);
	cr_assert_eq(t[2].max_instances, -1, "the vendor-VFIO list carries no maxima");
	gp_vgpu_types_free(t, (size_t)n);

	/* a fully consumed GPU: only the header */
	cr_assert_eq(gp_parse_creatable_types("ID    : vGPU Name\n", &t), 0);
	gp_vgpu_types_free(t, 0);
}

/* /proc/interrupts -> interrupt isolation. Lines are real formats: x86 with and without VT-d
 * remapping (old global and per-device MSI domains), arm64 GICv3 ITS (Ampere, Grace), and an
 * architecture gpupart does not read (RISC-V IMSIC, arm64 GICv2m): unknown, never off. */
struct irq_case {
	char what[32];
	char text[400];
	enum gp_tri want;
};

ParameterizedTestParameters(parse, interrupts_remapping)
{
	static struct irq_case cases[] = {
		{ "x86 VT-d remapping",
		  "           CPU0       CPU1\n"
		  "  0:         31          0  IR-IO-APIC    2-edge      timer\n"
		  " 24:      12000      13000  IR-PCI-MSIX-0000:00:1f.6    0-edge      eno1\n"
		  " LOC:    123456     123456   Local timer interrupts\n", GP_TRI_YES },
		{ "x86 old global MSI domain",
		  "  0:         31  IR-IO-APIC    2-edge      timer\n"
		  " 25:          1  IR-PCI-MSI 524288-edge      nvme0q0\n", GP_TRI_YES },
		{ "x86 without remapping",
		  "  0:         31          0   IO-APIC    2-edge      timer\n"
		  " 24:          1          0   PCI-MSIX-0000:03:00.0   0-edge      nvme0q0\n"
		  " NMI:         3          0   Non-maskable interrupts\n"
		  " LOC:    123456     123456   Local timer interrupts\n", GP_TRI_NO },
		{ "x86 MSI, LOC row only",
		  " 24:          1   PCI-MSI 524288-edge      ahci\n"
		  "LOC:     123456   Local timer interrupts\n", GP_TRI_NO },
		{ "arm64 GICv3 ITS",
		  "           CPU0       CPU1\n"
		  " 10:     123456     123456     GICv3  27 Level     arch_timer\n"
		  " 396:      1411          0 ITS-PCI-MSIX-0000:01:00.0   1 Edge      mlx5_comp7\n"
		  "IPI0:      4242       4242       Rescheduling interrupts\n", GP_TRI_YES },
		{ "arm64 ITS, old global domain",
		  " 64:          5          0   ITS-MSI 524288 Edge      nvme0q0\n", GP_TRI_YES },
		{ "riscv IMSIC",
		  " 10:     123456     123456  RISC-V INTC   5 Edge      riscv-timer\n"
		  " 24:          1          0  IMSIC-PCI-MSIX-0000:00:01.0   0 Edge  nvme0q0\n"
		  "IPI0:        10         10  Rescheduling interrupts\n", GP_TRI_UNKNOWN },
		{ "arm64 GICv2m, no x86 rows",
		  " 40:          1          0   GICv2m-PCI-MSIX-0000:01:00.0   0 Edge  nvme0q0\n"
		  "IPI0:        10         10       Rescheduling interrupts\n", GP_TRI_UNKNOWN },
		{ "unprefixed MSI, unknown arch",
		  " 24:          1          0   PCI-MSI 524288 Edge      nvme0q0\n"
		  "IPI0:        10         10       Rescheduling interrupts\n", GP_TRI_UNKNOWN },
		{ "x86, no MSI chips",
		  "  0:         31   IO-APIC    2-edge      timer\n", GP_TRI_UNKNOWN },
		{ "empty", "", GP_TRI_UNKNOWN },
	};
	return cr_make_param_array(struct irq_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct irq_case *c, parse, interrupts_remapping)
{
	cr_assert_eq(gp_interrupts_remapping(c->text), c->want, "%s", c->what);
}
