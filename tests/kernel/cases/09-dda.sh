# Scenario 9: `gpupart dismount` / `mount` / `apply` against the real kernel (issue 11).
# The device: 06:00.0 + 06:00.1, two e1000e functions of one multifunction device behind its
# own root port (run-case.sh); with no ACS between them the kernel puts both in one group
# (get_pci_function_alias_group, drivers/iommu/iommu.c), so they go to vfio-pci together.
# Not display functions: --any-class. QEMU's 82574L has no FLR (a survey warning): --force.
#   --dry-run (nothing changes), dismount (both on vfio-pci by the kernel's own driver links,
#   /dev/vfio/<group>, driver_override, dismounted.conf), dismount again (nothing to do),
#   mount refused while a process holds /dev/vfio/<group> (nothing changes), "reboot" (remove
#   both functions, rescan: they come back on e1000e with no override) then `apply` (on
#   vfio-pci again), mount (back on e1000e, node gone, record gone), and a group with another
#   device's endpoint (05:02.0's e1000 with the VGA at 05:01.0) refused, nothing changed.

F0=0000:06:00.0
F1=0000:06:00.1
NIC=0000:05:02.0
VGA=0000:05:01.0
CONF=/etc/gpupart/dismounted.conf

# dd_snap NAME: the kernel's view of every function dismount may touch, plus gpupart's files
dd_snap() {
	{
		for _a in $F0 $F1 $NIC $VGA; do
			echo "$_a driver=$(kt_lnk $P/$_a/driver) override=$(kt_cat $P/$_a/driver_override)" \
				"group=$(kt_lnk $P/$_a/iommu_group)"
		done
		echo "dev/vfio: $(ls /dev/vfio 2>/dev/null | tr '\n' ' ')"
		# the lock files persist by design (the first mutating command makes them)
		echo "run/gpupart: $(ls /run/gpupart 2>/dev/null | grep -v -e '^lock$' -e '^writing$' | tr '\n' ' ')"
		echo "dismounted.conf:"
		cat $CONF 2>/dev/null
	} >"$KT_OUT/snap-$1.txt"
}
dd_same() {
	if cmp -s "$KT_OUT/snap-before.txt" "$KT_OUT/snap-after.txt"; then
		kt_ok "$1: nothing changed (drivers, overrides, groups, /dev/vfio, record)"
	else
		kt_fail "$1: something changed: $(diff "$KT_OUT/snap-before.txt" "$KT_OUT/snap-after.txt" | grep '^[-+][^-+]' | tr '\n' ';')"
	fi
}
# dd_on DRIVER WHEN: both functions on DRIVER by the kernel's own links
dd_on() {
	kt_eq "$2: $F0 driver link" "$(kt_lnk $P/$F0/driver)" "$1"
	kt_eq "$2: $F1 driver link" "$(kt_lnk $P/$F1/driver)" "$1"
}
# dd_wait_driver ADDR DRIVER: a rescan's probe is synchronous, but give a slow TCG guest 5 s
dd_wait_driver() {
	_i=0
	while [ $_i -lt 50 ] && [ "$(kt_lnk $P/$1/driver)" != "$2" ]; do sleep 0.1; _i=$((_i + 1)); done
}

guest() {
	# --- the device as the kernel made it ------------------------------------------------
	dd_on e1000e "at boot"
	g=$(kt_lnk $P/$F0/iommu_group)
	echo "$g" >"$KT_OUT/group"
	kt_eq "kernel: $F1 shares $F0's group" "$(kt_lnk $P/$F1/iommu_group)" "$g"
	kt_eq "kernel: group $g holds exactly the two functions" \
		"$(ls /sys/kernel/iommu_groups/$g/devices | tr '\n' ' ')" "$F0 $F1 "
	kt_check "kernel: no /dev/vfio/$g before dismount" [ ! -e /dev/vfio/$g ]

	# --- planned, not done ---------------------------------------------------------------
	dd_snap before
	kt_run dry.json $GPUPART --json --any-class dismount $F0 --force --dry-run --no-libvirt
	dd_snap after
	kt_eq "dismount --dry-run: exit status" "$(cat $KT_OUT/dry.json.rc)" 0
	dd_same "dismount --dry-run"

	# --- without --force: the survey's warning (no FLR) refuses ----------------------------
	kt_cat $P/$F0/reset_method >"$KT_OUT/reset_method"
	if grep -q flr "$KT_OUT/reset_method"; then
		kt_ok "kernel: $F0 has FLR ($(cat "$KT_OUT/reset_method")): no no-flr warning to refuse on"
	else
		dd_snap before
		kt_run noforce.json $GPUPART --json --any-class dismount $F0 --no-libvirt --dry-run
		kt_run noforce.txt $GPUPART --any-class dismount $F0 --no-libvirt
		dd_snap after
		kt_eq "dismount without --force (no FLR): exit status" "$(cat $KT_OUT/noforce.txt.rc)" 1
		dd_same "dismount without --force refused"
	fi

	# --- dismount --------------------------------------------------------------------------
	kt_run dismount.txt $GPUPART --any-class dismount $F0 --force --no-libvirt
	kt_eq "dismount $F0: exit status" "$(cat $KT_OUT/dismount.txt.rc)" 0
	dd_on vfio-pci "after dismount"
	kt_eq "after dismount: $F0 driver_override" "$(kt_cat $P/$F0/driver_override)" vfio-pci
	kt_eq "after dismount: $F1 driver_override" "$(kt_cat $P/$F1/driver_override)" vfio-pci
	kt_check "after dismount: /dev/vfio/$g is a character device" [ -c /dev/vfio/$g ]
	kt_check "after dismount: $CONF records $F0 on e1000e" grep -q "driver=e1000e address=$F0\$" $CONF
	kt_check "after dismount: $CONF records $F1 on e1000e" grep -q "driver=e1000e address=$F1\$" $CONF
	kt_eq "after dismount: $CONF has two records" "$(grep -vc '^#' $CONF)" 2
	kt_check "after dismount: no journal left" [ ! -e /run/gpupart/journal ]
	cp $CONF "$KT_OUT/dismounted.conf"
	kt_run list-dismounted.json $GPUPART --json --any-class list $F0 --no-libvirt

	# --- again: nothing to do --------------------------------------------------------------
	dd_snap before
	kt_run again.txt $GPUPART --any-class dismount $F0 --force --no-libvirt
	dd_snap after
	kt_eq "dismount again: exit status" "$(cat $KT_OUT/again.txt.rc)" 0
	kt_check "dismount again: says it is already dismounted" grep -q "already dismounted" "$KT_OUT/again.txt"
	dd_same "dismount again"

	# --- mount refused: a process holds the group ------------------------------------------
	sleep 600 </dev/vfio/$g &
	holder=$!
	_i=0
	while [ $_i -lt 50 ] && [ "$(readlink /proc/$holder/fd/0 2>/dev/null)" != /dev/vfio/$g ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	kt_eq "holder pid $holder has /dev/vfio/$g open" "$(readlink /proc/$holder/fd/0 2>/dev/null)" /dev/vfio/$g
	dd_snap before
	kt_run held.json $GPUPART --json --any-class mount $F0 --no-libvirt --dry-run
	kt_run held.txt $GPUPART --any-class mount $F0 --no-libvirt
	dd_snap after
	kt_eq "mount with /dev/vfio/$g held: exit status" "$(cat $KT_OUT/held.txt.rc)" 1
	kt_check "mount refused (group held): names the holder pid $holder" \
		grep -q "pid $holder" "$KT_OUT/held.txt.err"
	dd_same "mount refused (group held)"
	kill $holder; wait $holder 2>/dev/null

	# --- "reboot": the functions come back on their native driver, apply dismounts again ----
	echo 1 >$P/$F1/remove
	echo 1 >$P/$F0/remove
	kt_check "kernel: both functions removed" [ ! -e $P/$F0 ] && [ ! -e $P/$F1 ]
	echo 1 >/sys/bus/pci/rescan
	dd_wait_driver $F0 e1000e
	dd_wait_driver $F1 e1000e
	dd_on e1000e "after remove + rescan"
	kt_eq "after rescan: $F0 driver_override gone with the old pci_dev" "$(kt_cat $P/$F0/driver_override)" "(null)"
	g2=$(kt_lnk $P/$F0/iommu_group)
	echo "$g2" >"$KT_OUT/group2"
	kt_eq "after rescan: $F1 still shares $F0's group" "$(kt_lnk $P/$F1/iommu_group)" "$g2"
	kt_check "after rescan: no /dev/vfio/$g2" [ ! -e /dev/vfio/$g2 ]
	kt_run apply.txt $GPUPART apply --no-libvirt
	kt_eq "apply after the rescan: exit status" "$(cat $KT_OUT/apply.txt.rc)" 0
	dd_on vfio-pci "after apply"
	kt_check "after apply: /dev/vfio/$g2 is a character device" [ -c /dev/vfio/$g2 ]
	kt_check "after apply: the record kept" cmp -s $CONF "$KT_OUT/dismounted.conf"

	# --- mount -------------------------------------------------------------------------------
	kt_run mount.txt $GPUPART --any-class mount $F0 --no-libvirt
	kt_eq "mount $F0: exit status" "$(cat $KT_OUT/mount.txt.rc)" 0
	dd_on e1000e "after mount"
	kt_eq "after mount: $F0 driver_override cleared" "$(kt_cat $P/$F0/driver_override)" "(null)"
	kt_eq "after mount: $F1 driver_override cleared" "$(kt_cat $P/$F1/driver_override)" "(null)"
	kt_check "after mount: /dev/vfio/$g2 gone" [ ! -e /dev/vfio/$g2 ]
	kt_eq "after mount: no record left" "$(grep -vc '^#' $CONF 2>/dev/null || echo 0)" 0
	kt_check "after mount: no journal left" [ ! -e /run/gpupart/journal ]

	# --- refused: the group holds another device's endpoint --------------------------------
	kt_eq "kernel: $NIC shares $VGA's group" "$(kt_lnk $P/$NIC/iommu_group)" "$(kt_lnk $P/$VGA/iommu_group)"
	dd_snap before
	kt_run shared.json $GPUPART --json --any-class dismount $NIC --force --no-libvirt --dry-run
	kt_run shared.txt $GPUPART --any-class dismount $NIC --force --no-libvirt
	dd_snap after
	kt_eq "dismount $NIC (group shared with $VGA): exit status" "$(cat $KT_OUT/shared.txt.rc)" 1
	dd_same "dismount refused (group shared)"
	return 0
}

host() {
	local g f; g=$(cat "$KT_OUT/group")
	# jq -e . passes an empty file: every document checked below must have content
	for f in dry.json noforce.json held.json shared.json list-dismounted.json; do
		[ -e "$KT_OUT/$f" ] || continue
		kt_check "$f is not empty" [ -s "$KT_OUT/$f" ]
	done
	kt_json dry.json "dismount --dry-run --json" || return
	kt_eq "dry run: dry_run true" "$(kt_q dry.json '.dry_run')" true
	kt_eq "dry run: changed false" "$(kt_q dry.json '.changed')" false
	for f in $F0 $F1; do
		kt_eq "dry run: plans drivers_probe of $f" \
			"$(kt_q dry.json '[.plan[] | select(.op == "write" and (.path | endswith("/drivers_probe")) and .value == $f)] | length' --arg f "$f")" 1
		kt_eq "dry run: plans $f's driver_override = vfio-pci" \
			"$(kt_q dry.json '[.plan[] | select(.op == "write" and .path == "/sys/bus/pci/devices/\($f)/driver_override" and .value == "vfio-pci")] | length' --arg f "$f")" 1
	done
	kt_eq "dry run: never new_id nor bind" "$(kt_q dry.json '[.plan[] | select(.path | test("/(new_id|bind)$"))] | length')" 0
	if [ -e "$KT_OUT/noforce.json" ]; then
		kt_json noforce.json "dismount without --force --dry-run --json" || return
		kt_check "without --force: no-flr refuses as an error" \
			kt_has noforce.json '[.refusals[] | select(.code == "no-flr" and .severity == "error")] | length == 1'
	fi
	kt_json held.json "mount (held) --dry-run --json" || return
	kt_check "mount refused: held-open" kt_has held.json '[.refusals[] | select(.code == "held-open")] | length >= 1'
	kt_json shared.json "dismount $NIC --dry-run --json" || return
	kt_check "dismount $NIC refused: iommu-group-shared even with --force" \
		kt_has shared.json '[.refusals[] | select(.code == "iommu-group-shared" and .severity == "error")] | length == 1'
	kt_json list-dismounted.json "list $F0 after dismount" || return
	kt_eq "list after dismount: driver" "$(kt_q list-dismounted.json '.gpus[0].driver')" vfio-pci
	kt_eq "list after dismount: dda.dismounted" "$(kt_q list-dismounted.json '.gpus[0].dda.dismounted')" true
	kt_check "dismounted.conf: one line per function, by path and IDs" \
		grep -Eq "^pci0000:00/06\.0/00\.1 id=8086:10d3 subsystem=[0-9a-f]{4}:[0-9a-f]{4} gpu=pci0000:00/06\.0/00\.0 driver=e1000e address=$F1\$" \
		"$KT_OUT/dismounted.conf"
}
