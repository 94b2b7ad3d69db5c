# Scenario 1, second half: the same machine with the vIOMMU's interrupt remapping off.
# The kernel then has no IR-* irqchips; gpupart must say interrupt_remapping false and
# put interrupt-remapping-disabled in survey's host findings, with the IOMMU still on.

KT_INTREMAP=off

guest() {
	cp /proc/interrupts "$KT_OUT/interrupts.txt"
	kt_check "kernel: no IR- irqchips in /proc/interrupts" sh -c "! grep -q ' IR-' /proc/interrupts"
	kt_check "kernel: MSI in use (so the check above means something)" grep -q 'PCI-MSI' /proc/interrupts
	kt_check "kernel: IOMMU groups still exist" [ -s /sys/kernel/iommu_groups/0/type ]
	kt_run list.json $GPUPART --json list
	kt_run survey.json $GPUPART --json survey
	return 0
}

host() {
	kt_json list.json "list" || return
	kt_eq "host.iommu_enabled" "$(kt_q list.json .host.iommu_enabled)" true
	kt_eq "host.interrupt_remapping" "$(kt_q list.json .host.interrupt_remapping)" false
	kt_json survey.json "survey" || return
	kt_check "survey host findings include interrupt-remapping-disabled" \
		kt_has survey.json '[.host.findings[].code] | index("interrupt-remapping-disabled") != null'
	kt_eq "survey host findings do not include iommu-disabled" \
		"$(kt_q survey.json '[.host.findings[].code] | index("iommu-disabled")')" null
}
