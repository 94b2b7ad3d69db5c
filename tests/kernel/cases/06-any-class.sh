# Scenario 6: non-GPU devices through --any-class (see gpupart(8)).
# The NVMe SR-IOV PF is not a display function: plain `list` must leave it out, and
# `--any-class list` (no ADDR: every GPU and every SR-IOV PF) must report it with the
# generic sriov backend.  The e1000 (no SR-IOV, not display) appears only when named.

NIC=0000:05:02.0

guest() {
	pf=$(kt_nvme_pf)
	echo "$pf" >"$KT_OUT/pf.addr"
	kt_check "kernel: echo 4 > $pf/sriov_numvfs" kt_numvfs "$pf" 4
	kt_sysfs_table sysfs.tsv
	kt_run list.json $GPUPART --json list
	kt_run list-any.json $GPUPART --json --any-class list
	kt_run list-nic.json $GPUPART --json --any-class list $NIC
	kt_run survey-pf.json $GPUPART --json survey "$pf"
	kt_check "kernel: echo 0 > $pf/sriov_numvfs" kt_numvfs "$pf" 0
	return 0
}

host() {
	local pf; pf=$(cat "$KT_OUT/pf.addr")
	kt_json list.json "list" || return
	kt_eq "list without --any-class leaves out the NVMe PF" \
		"$(kt_q list.json '[.gpus[] | select(.address == $a)] | length' --arg a "$pf")" 0
	kt_eq "list without --any-class leaves out the VFs" \
		"$(kt_q list.json '[.gpus[] | select(.class | startswith("03") | not)] | length')" 0

	kt_json list-any.json "--any-class list" || return
	kt_eq "--any-class list: GPUs + SR-IOV PFs, nothing else" \
		"$(kt_q list-any.json '[.gpus[].address] | sort | join(" ")')" \
		"$( (awk '$2 ~ /^0x03/ || $8 != "-" {print $1}' "$KT_OUT/sysfs.tsv") | sort | tr '\n' ' ' | sed 's/ $//')"
	local q='.gpus[] | select(.address == $a)'
	kt_eq "PF: class" "$(kt_q list-any.json "$q | .class" --arg a "$pf")" 010802
	kt_eq "PF: backend" "$(kt_q list-any.json "$q | .backend" --arg a "$pf")" sriov
	kt_eq "PF: driver" "$(kt_q list-any.json "$q | .driver" --arg a "$pf")" nvme
	kt_eq "PF: sriov.num_vfs / total_vfs" \
		"$(kt_q list-any.json "$q | \"\(.sriov.num_vfs)/\(.sriov.total_vfs)\"" --arg a "$pf")" \
		"$(kt_table sysfs.tsv "$pf" numvfs)/$(kt_table sysfs.tsv "$pf" totalvfs)"
	kt_eq "PF: partition_count = num_vfs" "$(kt_q list-any.json "$q | .partition_count" --arg a "$pf")" 4
	kt_eq "PF: partitions are the 4 VFs" \
		"$(kt_q list-any.json "[$q | .partitions[].address] | sort | join(\" \")" --arg a "$pf")" \
		"$(awk -v pf="$pf" '$7 == pf {print $1}' "$KT_OUT/sysfs.tsv" | sort | tr '\n' ' ' | sed 's/ $//')"
	# A VF is an ARI function of the PF's device; its vendor/device are the VF's own.
	kt_eq "PF: sriov.vf_device_id = VFs' device id" \
		"$(kt_q list-any.json "$q | .sriov.vf_device_id" --arg a "$pf")" \
		"$(awk -v pf="$pf" '$7 == pf {sub(/^0x/, "", $4); print $4; exit}' "$KT_OUT/sysfs.tsv")"

	kt_json list-nic.json "--any-class list $NIC" || return
	kt_eq "NIC named with --any-class is reported" "$(kt_q list-nic.json '[.gpus[].address] | join(" ")')" $NIC
	kt_eq "NIC: class / driver / sriov" \
		"$(kt_q list-nic.json '.gpus[0] | "\(.class) \(.driver) \(.sriov)"')" "020000 e1000 null"

	kt_json survey-pf.json "survey $pf" || return
	kt_eq "survey of the NVMe PF reports it" "$(kt_q survey-pf.json '[.devices[].address] | join(" ")')" "$pf"
	kt_log "PF findings: $(kt_q survey-pf.json '[.devices[0].findings[] | "\(.code)(\(.severity))"] | join(",")')"
	# gpupart(8): VFs enabled = partitioned (error): DDA of the whole device needs 0 VFs.
	kt_check "survey of the PF with 4 VFs enabled: partitioned finding" \
		kt_has survey-pf.json '[.devices[0].findings[].code] | index("partitioned") != null'
	kt_eq "survey of the PF with 4 VFs enabled: verdict" "$(kt_q survey-pf.json '.devices[0].verdict')" not-assignable
	kt_eq "survey of the PF with 4 VFs enabled: exit status" "$(kt_rc survey-pf.json)" 3
}
