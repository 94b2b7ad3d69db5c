# Scenario 3: vfio binding and shared IOMMU groups.
#  - A VF moved to vfio-pci (driver_override + drivers_probe) is alone in its group
#    (the root port above has ACS): gpupart must say vfio-pci and no iommu-group-shared.
#  - The conventional VGA at 05:01.0 sits behind a PCIe-to-PCI bridge, so the kernel
#    puts it in one group with the e1000 at 05:02.0 (bound to e1000).  With the VGA on
#    vfio-pci, the group still holds an endpoint on another driver: iommu-group-shared.

VGA=0000:05:01.0
NIC=0000:05:02.0

guest() {
	pf=$(kt_nvme_pf)
	kt_check "kernel: echo 2 > $pf/sriov_numvfs" kt_numvfs "$pf" 2
	vf=$(kt_lnk $P/$pf/virtfn0)
	echo "$vf" >"$KT_OUT/vf.addr"
	kt_check "kernel: VF $vf bound to vfio-pci" kt_bind vfio-pci "$vf"
	g=$(kt_lnk $P/$vf/iommu_group)
	kt_check "kernel: /dev/vfio/$g exists for the VF's group" [ -c /dev/vfio/$g ]
	kt_eq "kernel: VF group $g holds only the VF" "$(ls /sys/kernel/iommu_groups/$g/devices | tr '\n' ' ')" "$vf "

	kt_check "kernel: VGA $VGA bound to vfio-pci" kt_bind vfio-pci $VGA
	g=$(kt_lnk $P/$VGA/iommu_group)
	ls /sys/kernel/iommu_groups/$g/devices >"$KT_OUT/vga-group.txt"
	kt_log "VGA group $g: $(tr '\n' ' ' <"$KT_OUT/vga-group.txt")"
	kt_eq "kernel: $NIC shares the VGA's group" "$(kt_lnk $P/$NIC/iommu_group)" "$g"
	kt_eq "kernel: $NIC bound to e1000" "$(kt_lnk $P/$NIC/driver)" e1000
	kt_sysfs_table sysfs.tsv

	echo "$pf" >"$KT_OUT/pf.addr"
	# gpupart lists a VF as a partition of its PF (naming a VF is refused).
	kt_run pf-list.json $GPUPART --json --any-class list "$pf"
	kt_run vf-survey.json $GPUPART --json survey "$vf"
	kt_run vga-list.json $GPUPART --json list $VGA
	kt_run vga-survey.json $GPUPART --json survey $VGA

	echo "" >$P/$vf/driver_override
	kt_check "kernel: echo 0 > $pf/sriov_numvfs (VF still on vfio-pci)" kt_numvfs "$pf" 0
	return 0
}

host() {
	local vf pf q; vf=$(cat "$KT_OUT/vf.addr"); pf=$(cat "$KT_OUT/pf.addr")
	q='.gpus[0].partitions[] | select(.address == $vf)'
	kt_json pf-list.json "VF: list --any-class $pf" || return
	kt_eq "VF: partition driver" "$(kt_q pf-list.json "$q | .driver" --arg vf "$vf")" vfio-pci
	kt_eq "VF: partition iommu_group = link" "$(kt_q pf-list.json "$q | .iommu_group" --arg vf "$vf")" \
		"$(kt_table sysfs.tsv "$vf" iommu_group)"
	kt_json vf-survey.json "VF: survey $vf" || return
	kt_eq "VF: survey reports the VF" "$(kt_q vf-survey.json '[.devices[].address] | join(" ")')" "$vf"
	kt_eq "VF: no iommu-group-shared (alone in its group)" \
		"$(kt_q vf-survey.json '[.devices[0].findings[].code] | index("iommu-group-shared")')" null
	kt_eq "VF: no acs-missing-upstream (root port has ACS)" \
		"$(kt_q vf-survey.json '[.devices[0].findings[].code] | index("acs-missing-upstream")')" null

	kt_json vga-list.json "VGA: list $VGA" || return
	kt_eq "VGA: driver" "$(kt_q vga-list.json '.gpus[0].driver')" vfio-pci
	kt_eq "VGA: iommu_group = link" "$(kt_q vga-list.json '.gpus[0].iommu_group')" \
		"$(kt_table sysfs.tsv $VGA iommu_group)"
	kt_json vga-survey.json "VGA: survey $VGA" || return
	kt_log "VGA findings: $(kt_q vga-survey.json '[.devices[0].findings[].code] | join(",")')"
	kt_check "VGA: iommu-group-shared (group also holds $NIC on e1000)" \
		kt_has vga-survey.json '[.devices[0].findings[].code] | index("iommu-group-shared") != null'
	# A shared group cannot be given to one VM: exit 3 iff a device is not-assignable.
	kt_eq "VGA: verdict" "$(kt_q vga-survey.json '.devices[0].verdict')" not-assignable
	kt_eq "VGA: survey exit status" "$(kt_rc vga-survey.json)" 3
}
