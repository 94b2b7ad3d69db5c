# Scenario 2: gpupart sees the VFs the kernel makes.
# The guest writes sriov_numvfs on the nvme-bound PF, moves one VF to vfio-pci so the
# VFs' drivers differ, and records gpupart's view of the PF (partitions) and of each
# VF next to the kernel's virtfnN links; then writes 0 and asks again.

guest() {
	pf=$(kt_nvme_pf)
	echo "$pf" >"$KT_OUT/pf.addr"
	kt_eq "kernel: PF bound to nvme" "$(kt_lnk $P/$pf/driver)" nvme
	kt_check "kernel: echo 3 > $pf/sriov_numvfs" kt_numvfs "$pf" 3
	# virtfnN -> VF: the kernel's numbering, which the partition ids must follow.
	for l in $P/$pf/virtfn*; do
		echo "${l##*/virtfn} $(kt_lnk "$l")"
	done | sort -n >"$KT_OUT/virtfn.txt"
	sed 's/^/KT:   virtfn /' "$KT_OUT/virtfn.txt"
	vf1=$(awk '$1 == 1 {print $2}' "$KT_OUT/virtfn.txt")
	kt_check "kernel: VF $vf1 bound to vfio-pci" kt_bind vfio-pci "$vf1"
	kt_sysfs_table sysfs-3.tsv

	kt_run list-3.json $GPUPART --json --any-class list "$pf"

	kt_check "kernel: echo 0 > $pf/sriov_numvfs" kt_numvfs "$pf" 0
	kt_check "kernel: no virtfn links left" [ -z "$(ls $P/$pf | grep virtfn)" ]
	kt_sysfs_table sysfs-0.tsv
	kt_run list-0.json $GPUPART --json --any-class list "$pf"
	return 0
}

host() {
	local pf want got
	pf=$(cat "$KT_OUT/pf.addr")
	kt_json list-3.json "3 VFs: list --any-class $pf" || return
	kt_eq "3 VFs: exit status" "$(kt_rc list-3.json)" 0
	kt_eq "3 VFs: one entry, the PF" "$(kt_q list-3.json '[.gpus[].address] | join(" ")')" "$pf"
	kt_eq "3 VFs: backend" "$(kt_q list-3.json '.gpus[0].backend')" sriov
	kt_eq "3 VFs: sriov.num_vfs" "$(kt_q list-3.json '.gpus[0].sriov.num_vfs')" 3
	kt_eq "3 VFs: partition_count" "$(kt_q list-3.json '.gpus[0].partition_count')" 3

	# id address driver group, per VF, from the kernel (virtfnN link, the VF's driver
	# and iommu_group links)...
	want=$(while read -r idx vf; do
		echo "$idx $vf $(kt_table sysfs-3.tsv "$vf" driver) $(kt_table sysfs-3.tsv "$vf" iommu_group)"
	done <"$KT_OUT/virtfn.txt")
	# ...and from gpupart's partitions (null = no driver/group = "-").
	got=$(kt_q list-3.json '.gpus[0].partitions | sort_by(.id)[] |
		"\(.id) \(.address) \(.driver // "-") \(.iommu_group // "-")"')
	kt_eq "3 VFs: partitions (id address driver iommu_group) = virtfnN, driver, iommu_group links" \
		"$(echo $got)" "$(echo $want)"
	kt_eq "3 VFs: partitions have no vgpu_type / mdev_uuid" \
		"$(kt_q list-3.json '[.gpus[0].partitions[] | select(.vgpu_type != null or .mdev_uuid != null)] | length')" 0

	kt_json list-0.json "0 VFs: list --any-class $pf" || return
	kt_eq "0 VFs: sriov.num_vfs" "$(kt_q list-0.json '.gpus[0].sriov.num_vfs')" 0
	kt_eq "0 VFs: sriov.total_vfs = sriov_totalvfs" \
		"$(kt_q list-0.json '.gpus[0].sriov.total_vfs')" "$(kt_table sysfs-0.tsv "$pf" totalvfs)"
	kt_eq "0 VFs: partition_count" "$(kt_q list-0.json '.gpus[0].partition_count')" 0
	kt_eq "0 VFs: no partitions" "$(kt_q list-0.json '.gpus[0].partitions | length')" 0
}
