# Scenario 8: `gpupart set-count` against the real kernel (the generic sriov backend).
# The NVMe SR-IOV PF is named (a non-display PF needs no --any-class for set-count):
#   --dry-run 0->2 (nothing changes), 0->2, 2->2 again (nothing to do, nothing changes),
#   --dry-run 2->3 (the plan goes through 0), 2->3, refusals with nothing changed (a VF's
#   /dev/vfio group held open; a count above sriov_totalvfs), 3->0, and a PF without a
#   driver (unbound from nvme).
# After every step the guest reads its own sysfs, independently of gpupart: sriov_numvfs,
# exactly N virtfnN links, each VF on vfio-pci with driver_override vfio-pci and alone in
# its own IOMMU group with /dev/vfio/<group>, sriov_drivers_autoprobe given back, and the
# count recorded in /etc/gpupart/partitions.conf.  host() checks `--json list` and the plans.

guest() {
	pf=$(kt_nvme_pf)
	echo "$pf" >"$KT_OUT/pf.addr"
	total=$(cat $P/$pf/sriov_totalvfs)
	echo "$total" >"$KT_OUT/totalvfs"
	kt_eq "kernel: PF bound to nvme" "$(kt_lnk $P/$pf/driver)" nvme
	kt_eq "kernel: no VFs at boot" "$(cat $P/$pf/sriov_numvfs)" 0
	ap0=$(cat $P/$pf/sriov_drivers_autoprobe)
	kt_eq "kernel: sriov_drivers_autoprobe at boot" "$ap0" 1

	# --- 0 -> 2 planned, not done -------------------------------------------------------
	sc_snap before
	kt_run dry-2.txt $GPUPART set-count "$pf" 2 --dry-run
	sc_snap after
	kt_eq "set-count $pf 2 --dry-run: exit status" "$(cat $KT_OUT/dry-2.txt.rc)" 0
	sed 's/^/KT:   /' "$KT_OUT/dry-2.txt"
	kt_check "set-count --dry-run 0->2: the plan writes 2 to sriov_numvfs" \
		grep -Eq "write +/sys/bus/pci/devices/$pf/sriov_numvfs +2\$" "$KT_OUT/dry-2.txt"
	sc_same "set-count --dry-run 0->2"
	kt_check "set-count --dry-run 0->2: no layout recorded" [ ! -e /etc/gpupart/partitions.conf ]

	# --- 0 -> 2 --------------------------------------------------------------------------
	kt_run set-2.json $GPUPART --json set-count "$pf" 2
	kt_eq "set-count $pf 2: exit status" "$(cat $KT_OUT/set-2.json.rc)" 0
	sc_state 2 "after set-count 0->2"
	kt_run list-2.json $GPUPART --json --any-class list "$pf"
	sc_virtfns >"$KT_OUT/virtfn-2.txt"

	# --- 2 -> 2: nothing to do --------------------------------------------------------------
	sc_snap before
	kt_run again-2.txt $GPUPART set-count "$pf" 2
	sc_snap after
	kt_eq "set-count $pf 2 again: exit status" "$(cat $KT_OUT/again-2.txt.rc)" 0
	kt_check "set-count 2->2: says nothing to do" grep -q "nothing to do" "$KT_OUT/again-2.txt"
	sc_same "set-count 2->2"

	# --- 2 -> 3 planned (through 0), then done ----------------------------------------------
	sc_snap before
	kt_run dry-3.json $GPUPART --json set-count "$pf" 3 --dry-run
	sc_snap after
	kt_eq "set-count $pf 3 --dry-run: exit status" "$(cat $KT_OUT/dry-3.json.rc)" 0
	sc_same "set-count --dry-run 2->3"
	kt_run set-3.json $GPUPART --json set-count "$pf" 3
	kt_eq "set-count $pf 3: exit status" "$(cat $KT_OUT/set-3.json.rc)" 0
	sc_state 3 "after set-count 2->3"
	kt_run list-3.json $GPUPART --json --any-class list "$pf"
	sc_virtfns >"$KT_OUT/virtfn-3.txt"

	# --- refused: a process holds VF0's group open ------------------------------------------
	vf0=$(kt_lnk $P/$pf/virtfn0)
	g0=$(kt_lnk $P/$vf0/iommu_group)
	sleep 600 </dev/vfio/$g0 &
	holder=$!
	echo "$holder" >"$KT_OUT/holder.pid"
	# the child opens the node after the fork: give it time on a slow TCG guest
	i=0
	while [ $i -lt 50 ] && [ "$(readlink /proc/$holder/fd/0 2>/dev/null)" != /dev/vfio/$g0 ]; do
		sleep 0.1; i=$((i + 1))
	done
	kt_eq "holder pid $holder has /dev/vfio/$g0 (VF0 $vf0's group) open" \
		"$(readlink /proc/$holder/fd/0 2>/dev/null)" "/dev/vfio/$g0"
	sc_snap before
	kt_run held-1.txt $GPUPART set-count "$pf" 1
	sc_snap after
	kt_eq "set-count $pf 1 with /dev/vfio/$g0 held: exit status" "$(cat $KT_OUT/held-1.txt.rc)" 1
	kt_check "set-count refused (group held): names the holder pid $holder" \
		grep -q "pid $holder .*/dev/vfio/$g0" "$KT_OUT/held-1.txt.err"
	sc_same "set-count 3->1 refused (group held)"
	kt_check "holder still holds /dev/vfio/$g0" [ "$(readlink /proc/$holder/fd/0)" = "/dev/vfio/$g0" ]
	kill "$holder"
	wait "$holder" 2>/dev/null
	kt_check "holder $holder gone" [ ! -e /proc/$holder ]

	# --- refused: a count above sriov_totalvfs ----------------------------------------------
	sc_snap before
	kt_run over.txt $GPUPART set-count "$pf" $((total + 1))
	sc_snap after
	kt_eq "set-count $pf $((total + 1)) (sriov_totalvfs $total): exit status" \
		"$(cat $KT_OUT/over.txt.rc)" 2
	sc_same "set-count $((total + 1)) refused"

	# --- 3 -> 0 ------------------------------------------------------------------------------
	kt_run set-0.json $GPUPART --json set-count "$pf" 0
	kt_eq "set-count $pf 0: exit status" "$(cat $KT_OUT/set-0.json.rc)" 0
	sc_state 0 "after set-count 3->0"
	kt_run list-0.json $GPUPART --json --any-class list "$pf"

	# --- refused: the PF has no driver --------------------------------------------------------
	echo "$pf" >/sys/bus/pci/drivers/nvme/unbind
	kt_eq "kernel: PF unbound from nvme" "$(kt_lnk $P/$pf/driver)" -
	sc_snap before
	kt_run nodrv-2.txt $GPUPART set-count "$pf" 2
	sc_snap after
	kt_eq "set-count $pf 2 (PF without a driver): exit status" "$(cat $KT_OUT/nodrv-2.txt.rc)" 1
	kt_check "set-count refused (no driver): the message says so" \
		grep -q "has no driver" "$KT_OUT/nodrv-2.txt.err"
	sc_same "set-count 0->2 refused (PF without a driver)"
	echo "$pf" >/sys/bus/pci/drivers_probe
	i=0
	while [ $i -lt 50 ] && [ "$(kt_lnk $P/$pf/driver)" != nvme ]; do sleep 0.1; i=$((i + 1)); done
	kt_eq "kernel: PF rebound to nvme (drivers_probe)" "$(kt_lnk $P/$pf/driver)" nvme

	cp /etc/gpupart/partitions.conf "$KT_OUT/partitions.conf" 2>/dev/null
	return 0
}

# sc_virtfns: "N VF" per virtfnN link of the PF, by N.
sc_virtfns() {
	for _l in $P/$pf/virtfn*; do
		[ -L "$_l" ] && echo "${_l##*/virtfn} $(kt_lnk "$_l")"
	done | sort -n
}

# sc_snap NAME: everything set-count may touch, read from sysfs and the host's files.
sc_snap() {
	{
		echo "pf_driver $(kt_lnk $P/$pf/driver)"
		echo "sriov_numvfs $(kt_cat $P/$pf/sriov_numvfs)"
		echo "sriov_drivers_autoprobe $(kt_cat $P/$pf/sriov_drivers_autoprobe)"
		sc_virtfns | while read -r _n _vf; do
			echo "virtfn$_n $_vf driver=$(kt_lnk $P/$_vf/driver)" \
				"override=$(kt_cat $P/$_vf/driver_override)" \
				"group=$(kt_lnk $P/$_vf/iommu_group)"
		done
		echo "run/gpupart: $(ls /run/gpupart 2>/dev/null | tr '\n' ' ')"
		echo "partitions.conf:"
		cat /etc/gpupart/partitions.conf 2>/dev/null
	} >"$KT_OUT/snap-$1.txt"
}

# sc_same DESC: the snapshots before and after are identical.
sc_same() {
	if cmp -s "$KT_OUT/snap-before.txt" "$KT_OUT/snap-after.txt"; then
		kt_ok "$1: nothing changed (PF, VFs, drivers, overrides, groups, layout)"
	else
		kt_fail "$1: something changed: $(diff "$KT_OUT/snap-before.txt" "$KT_OUT/snap-after.txt" | grep '^[-+][^-+]' | tr '\n' ';')"
	fi
}

# sc_state N WHEN: the kernel's own view of N partitions.
sc_state() {
	_n=$1; _w=$2
	kt_eq "$_w: sriov_numvfs" "$(cat $P/$pf/sriov_numvfs)" "$_n"
	kt_eq "$_w: virtfnN links" "$(ls $P/$pf | grep -c '^virtfn')" "$_n"
	kt_eq "$_w: sriov_drivers_autoprobe given back" "$(cat $P/$pf/sriov_drivers_autoprobe)" "$ap0"
	kt_eq "$_w: PF still on nvme" "$(kt_lnk $P/$pf/driver)" nvme
	_i=0; _groups=
	while [ $_i -lt "$_n" ]; do
		_vf=$(kt_lnk $P/$pf/virtfn$_i)
		_g=$(kt_lnk $P/$_vf/iommu_group)
		kt_eq "$_w: virtfn$_i $_vf driver" "$(kt_lnk $P/$_vf/driver)" vfio-pci
		kt_eq "$_w: virtfn$_i driver_override" "$(kt_cat $P/$_vf/driver_override)" vfio-pci
		kt_eq "$_w: virtfn$_i group $_g holds only the VF" \
			"$(ls /sys/kernel/iommu_groups/$_g/devices 2>/dev/null | tr '\n' ' ')" "$_vf "
		kt_check "$_w: virtfn$_i /dev/vfio/$_g exists" [ -c /dev/vfio/$_g ]
		_groups="$_groups $_g"
		_i=$((_i + 1))
	done
	kt_eq "$_w: $_n distinct VF groups" "$(echo $_groups | tr ' ' '\n' | grep . | sort -u | wc -l)" "$_n"
	kt_eq "$_w: partitions.conf records count=$_n" \
		"$(sed -n "s/.* count=\([0-9]*\).*address=$pf.*/\1/p" /etc/gpupart/partitions.conf 2>/dev/null)" "$_n"
	kt_eq "$_w: no journal left" "$(ls /run/gpupart/journal 2>/dev/null)" ""
}

host() {
	local pf n q; pf=$(cat "$KT_OUT/pf.addr")
	q='.gpus[] | select(.address == $a)'
	for n in 2 3 0; do
		kt_json list-$n.json "$n VFs: --json --any-class list $pf" || return
		kt_eq "$n VFs: list partition_count" "$(kt_q list-$n.json "$q | .partition_count" --arg a "$pf")" $n
		kt_eq "$n VFs: list sriov.num_vfs" "$(kt_q list-$n.json "$q | .sriov.num_vfs" --arg a "$pf")" $n
	done
	for n in 2 3; do
		kt_eq "$n VFs: partitions (id address driver) = virtfnN links, vfio-pci" \
			"$(kt_q list-$n.json "$q | .partitions | sort_by(.id)[] | \"\(.id) \(.address) \(.driver)\"" --arg a "$pf" | tr '\n' ' ')" \
			"$(awk '{print $1, $2, "vfio-pci"}' "$KT_OUT/virtfn-$n.txt" | tr '\n' ' ')"
	done

	# The applied commands' JSON: what they report having done.
	kt_json set-2.json "set-count 2 --json" || return
	kt_eq "set-count 0->2 --json: previous/new count, changed" \
		"$(kt_q set-2.json "$q | \"\(.previous_count) \(.partition_count) \(.changed)\"" --arg a "$pf")" "0 2 true"
	kt_eq "set-count 0->2 --json: backend" "$(kt_q set-2.json "$q | .backend" --arg a "$pf")" sriov
	kt_json set-0.json "set-count 0 --json" || return
	kt_eq "set-count 3->0 --json: previous/new count, changed" \
		"$(kt_q set-0.json "$q | \"\(.previous_count) \(.partition_count) \(.changed)\"" --arg a "$pf")" "3 0 true"

	# The 2->3 plan: VFs cannot be resized in place, so it goes through 0, with autoprobe off
	# while the new VFs appear, every VF given driver_override before its probe, autoprobe back.
	kt_json dry-3.json "set-count 3 --dry-run --json" || return
	kt_eq "dry run 2->3: dry_run, changed" "$(kt_q dry-3.json '"\(.dry_run) \(.changed)"')" "true false"
	local s=/sys/bus/pci/devices/$pf
	kt_eq "dry run 2->3: sriov writes in order (numvfs 0, autoprobe 0, numvfs 3, autoprobe 1)" \
		"$(kt_q dry-3.json '[.plan[] | select(.op == "write" and (.path | test("/sriov_"))) | "\(.path | sub(".*/"; "")) \(.value)"] | join(", ")')" \
		"sriov_numvfs 0, sriov_drivers_autoprobe 0, sriov_numvfs 3, sriov_drivers_autoprobe 1"
	kt_eq "dry run 2->3: waits for the virtfn links: 0, then 3" \
		"$(kt_q dry-3.json '[.plan[] | select(.op == "wait" and .path == $p) | .value] | join(" ")' --arg p "$s/virtfn*")" "0 3"
	kt_eq "dry run 2->3: one driver_override write to vfio-pci per new VF" \
		"$(kt_q dry-3.json '[.plan[] | select(.op == "write" and (.path | endswith("/driver_override")) and .value == "vfio-pci")] | length')" 3
	kt_eq "dry run 2->3: one drivers_probe write per new VF" \
		"$(kt_q dry-3.json '[.plan[] | select(.op == "write" and .path == "/sys/bus/pci/drivers_probe")] | length')" 3

	kt_json set-3.json "set-count 3 --json" || return
	kt_eq "set-count 2->3 --json: dry_run, changed" "$(kt_q set-3.json '"\(.dry_run) \(.changed)"')" "false true"
	kt_check "set-count 2->3 ran the plan its dry run printed ($(kt_q set-3.json '.plan | length') steps)" \
		[ "$(kt_q set-3.json '.plan' -c)" = "$(kt_q dry-3.json '.plan' -c)" ]

	kt_eq "partitions.conf at the end: count=0 for $pf" \
		"$(sed -n "s/.* count=\([0-9]*\).*address=$pf.*/\1/p" "$KT_OUT/partitions.conf")" 0
}
