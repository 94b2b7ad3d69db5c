# Scenario 5: capture fidelity.
# The guest sets up an interesting state (2 VFs, one on vfio-pci; the VGA on vfio-pci
# sharing its group with the e1000), runs `gpupart capture`, and records list/survey
# JSON.  host() unpacks the tar and runs the same commands with --root: the documents
# must be identical after `jq -S .`, and the exit statuses equal.
#
# Nothing is excluded from the comparison today.  If a finding ever needs state the
# capture cannot hold (e.g. /proc/<pid> of a process holding /dev/vfio/N), filter
# exactly that code here with the reason, rather than loosening the whole compare.

VGA=0000:05:01.0
# "NAME|CAPTURE|ARGS": run in the guest, then on the host with --root on CAPTURE's tar.
# A capture holds what gpupart reads for its targets (GPUs; with --any-class also SR-IOV
# PFs and their VFs), so --any-class commands are compared against an --any-class
# capture.  @PF@/@VF@/@VGA@ stand for the guest's addresses.
CMDS="list|plain|list
survey|plain|survey
list-vga|plain|list @VGA@
survey-vga|plain|survey @VGA@
any-list|any|--any-class list
any-survey|any|--any-class survey
any-list-pf|any|--any-class list @PF@
any-survey-vf|any|--any-class survey @VF@"

# expand ARGS: the placeholders above, from the addresses the guest recorded.
expand() { echo "$1" | sed "s/@PF@/$(cat "$KT_OUT/pf.addr")/; s/@VF@/$(cat "$KT_OUT/vf.addr")/; s/@VGA@/$VGA/"; }

guest() {
	pf=$(kt_nvme_pf)
	kt_check "kernel: echo 2 > $pf/sriov_numvfs" kt_numvfs "$pf" 2
	vf=$(kt_lnk $P/$pf/virtfn0)
	echo "$pf" >"$KT_OUT/pf.addr"; echo "$vf" >"$KT_OUT/vf.addr"
	kt_check "kernel: VF bound to vfio-pci" kt_bind vfio-pci "$vf"
	kt_check "kernel: VGA bound to vfio-pci" kt_bind vfio-pci $VGA

	kt_run capture-plain.out $GPUPART capture "$KT_OUT/plain.tar"
	kt_run capture-any.out $GPUPART --any-class capture "$KT_OUT/any.tar"
	kt_eq "gpupart capture: exit status" "$(cat "$KT_OUT/capture-plain.out.rc")" 0
	kt_eq "gpupart --any-class capture: exit status" "$(cat "$KT_OUT/capture-any.out.rc")" 0
	echo "$CMDS" | while IFS='|' read -r name cap args; do
		kt_run "$name.json" $GPUPART --json $(expand "$args")
	done
	return 0
}

host() {
	local name cap args tar
	for cap in plain any; do
		mkdir -p "$KT_WORK/$cap"
		tar=$KT_OUT/$cap.tar
		kt_check "$cap capture unpacks" tar -xf "$tar" -C "$KT_WORK/$cap" || return
		kt_log "$cap capture: $(stat -c %s "$tar") bytes, $(tar -tf "$tar" | wc -l) entries"
	done
	echo "$CMDS" | while IFS='|' read -r name cap args; do
		"$GPUPART" --root "$KT_WORK/$cap" --json $(expand "$args") \
			>"$KT_WORK/$name.json" 2>"$KT_WORK/$name.err"
		echo $? >"$KT_WORK/$name.rc"
		kt_eq "$name: exit status with --root = in the guest" "$(cat "$KT_WORK/$name.rc")" "$(kt_rc "$name.json")"
		kt_json "$name.json" "$name (guest)" || continue
		jq -S . "$KT_OUT/$name.json" >"$KT_WORK/$name.guest.sorted"
		if ! jq -S . "$KT_WORK/$name.json" >"$KT_WORK/$name.root.sorted" 2>/dev/null; then
			kt_fail "$name: --root output is not JSON: $(head -c 300 "$KT_WORK/$name.err")"
			continue
		fi
		if cmp -s "$KT_WORK/$name.guest.sorted" "$KT_WORK/$name.root.sorted"; then
			kt_ok "$name: gpupart --root CAPTURE $args = in the guest (jq -S, byte-identical)"
		else
			kt_log "$name: diff guest vs --root:"
			diff -u "$KT_WORK/$name.guest.sorted" "$KT_WORK/$name.root.sorted" | head -n 60
			kt_fail "$name: --root on the capture differs from the guest (diff in the log above)"
		fi
	done
}
