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
# "NAME|ARGS": each is run in the guest and again on the host with --root.
CMDS="list|list
list-any|--any-class list
list-all|--any-class list @ALL@
survey|survey
survey-all|--any-class survey @ALL@"

guest() {
	pf=$(kt_nvme_pf)
	kt_check "kernel: echo 2 > $pf/sriov_numvfs" kt_numvfs "$pf" 2
	kt_check "kernel: VF bound to vfio-pci" kt_bind vfio-pci "$(kt_lnk $P/$pf/virtfn0)"
	kt_check "kernel: VGA bound to vfio-pci" kt_bind vfio-pci $VGA
	# Endpoints only for the @ALL@ commands: bridges have no place in a DDA survey.
	all=$(for a in $(kt_devices); do
		case $(cat $P/$a/class) in 0x0604*|0x0600*|0x0601*) ;; *) echo "$a" ;; esac
	done | tr '\n' ' ')
	echo "$all" >"$KT_OUT/all.addrs"

	kt_run capture.out $GPUPART capture /tmp/capture.tar
	kt_check "gpupart capture exit status 0" [ "$(cat "$KT_OUT/capture.out.rc")" = 0 ]
	cp /tmp/capture.tar "$KT_OUT/capture.tar" 2>/dev/null
	echo "$CMDS" | while IFS='|' read -r name args; do
		kt_run "$name.json" $GPUPART --json $(echo "$args" | sed "s/@ALL@/$all/")
	done
	return 0
}

host() {
	local root=$KT_WORK/root all name args
	mkdir -p "$root"
	kt_check "capture.tar unpacks" tar -xf "$KT_OUT/capture.tar" -C "$root" || return
	kt_log "capture: $(stat -c %s "$KT_OUT/capture.tar") bytes, $(tar -tf "$KT_OUT/capture.tar" | wc -l) entries"
	all=$(cat "$KT_OUT/all.addrs")
	echo "$CMDS" | while IFS='|' read -r name args; do
		"$GPUPART" --root "$root" --json $(echo "$args" | sed "s/@ALL@/$all/") \
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
			kt_ok "$name: --root on the capture = in the guest (jq -S, byte-identical)"
		else
			kt_log "$name: diff guest vs --root:"
			diff -u "$KT_WORK/$name.guest.sorted" "$KT_WORK/$name.root.sorted" | head -n 60
			kt_fail "$name: --root on the capture differs from the guest (diff in the log above)"
		fi
	done
}
