# Scenario 1: gpupart reads the real host.
# The guest records the kernel's answers (iommu_group links, /proc/interrupts, sysfs
# SR-IOV counts) next to gpupart's JSON; host() holds them against each other.  The
# same checks with interrupt remapping off live in 07-intremap-off.

guest() {
	kt_sysfs_table sysfs.tsv
	ls /sys/kernel/iommu_groups | wc -l | tr -d ' ' >"$KT_OUT/iommu_groups.count"
	kt_check "kernel: IOMMU groups exist (intel-iommu active)" [ -s /sys/kernel/iommu_groups/0/type ]
	# The kernel's own statement on interrupt remapping: IR-* irqchips in
	# /proc/interrupts (IR-PCI-MSIX-*, IR-IO-APIC) exist only with remapping on.
	cp /proc/interrupts "$KT_OUT/interrupts.txt"
	kt_check "kernel: interrupt remapping on (IR- irqchips in /proc/interrupts)" grep -q ' IR-' /proc/interrupts

	# Every function, named explicitly, so --any-class reports each one.
	kt_run list-all.json $GPUPART --json --any-class list $(kt_devices)
	kt_run list.json $GPUPART --json list
	kt_run survey.json $GPUPART --json survey
	kt_run pf.json $GPUPART --json --any-class list "$(kt_nvme_pf)"
	kt_nvme_pf >"$KT_OUT/pf.addr"
	return 0
}

host() {
	kt_json list-all.json "list --any-class ADDR..." || return
	kt_eq "list --any-class of every function: exit status" "$(kt_rc list-all.json)" 0
	kt_eq "host.iommu_enabled" "$(kt_q list-all.json .host.iommu_enabled)" true
	kt_eq "host.iommu_groups = entries of /sys/kernel/iommu_groups" \
		"$(kt_q list-all.json .host.iommu_groups)" "$(cat "$KT_OUT/iommu_groups.count")"
	kt_eq "host.interrupt_remapping (kernel has IR- irqchips)" \
		"$(kt_q list-all.json .host.interrupt_remapping)" true

	# Each function: gpupart's iommu_group/driver/IDs/class/numa_node against the
	# kernel's links and files (numa_node -1 = null).  A device gpupart leaves out is a
	# failure, not a skip.
	local a got numa
	while read -r a class vendor device driver group physfn tot num subv subd numa; do
		got=$(kt_q list-all.json '.gpus[] | select(.address == $a) |
			"\(.iommu_group) \(.driver) \(.vendor_id):\(.device_id) \(.subsystem_vendor_id):\(.subsystem_device_id) \(.class) \(.numa_node)"' --arg a "$a")
		if [ -z "$got" ]; then kt_fail "$a: missing from list --any-class $a"; continue; fi
		set -- $got
		[ "$numa" = -1 ] && numa=null
		kt_eq "$a: iommu_group driver vendor:device subsystem class numa_node = sysfs" \
			"$(kt_dash "$1") $(kt_dash "$2") $3 $4 $5 $6" \
			"$group $driver ${vendor#0x}:${device#0x} ${subv#0x}:${subd#0x} ${class#0x} $numa"
	done <"$KT_OUT/sysfs.tsv"

	local pf; pf=$(cat "$KT_OUT/pf.addr")
	kt_json pf.json "list --any-class $pf" || return
	kt_eq "$pf: sriov.total_vfs = sriov_totalvfs" \
		"$(kt_q pf.json '.gpus[0].sriov.total_vfs')" "$(kt_table sysfs.tsv "$pf" totalvfs)"
	kt_eq "$pf: sriov.num_vfs = sriov_numvfs" \
		"$(kt_q pf.json '.gpus[0].sriov.num_vfs')" "$(kt_table sysfs.tsv "$pf" numvfs)"

	# Without --any-class the inventory is the display functions, and only those.
	kt_json list.json "list" || return
	kt_eq "list (no --any-class) reports exactly the display-class functions" \
		"$(kt_q list.json '[.gpus[].address] | sort | join(" ")')" \
		"$(awk '$2 ~ /^0x03/ {print $1}' "$KT_OUT/sysfs.tsv" | sort | tr '\n' ' ' | sed 's/ $//')"
	kt_json survey.json "survey" || return
	kt_eq "survey: no iommu-disabled / interrupt-remapping-disabled host finding" \
		"$(kt_q survey.json '[.host.findings[].code | select(. == "iommu-disabled" or . == "interrupt-remapping-disabled")] | length')" 0
}
