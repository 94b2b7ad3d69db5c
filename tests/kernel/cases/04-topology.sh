# Scenario 4: topology findings on real config space, against lspci in the same guest.
# lspci is the independent reader: for each device we keep `lspci -vvv` of the device
# and of every bridge above it, and host() derives what gpupart must say:
#   not-pcie              iff lspci shows no PCI Express capability on the device;
#   acs-missing-upstream  iff some Root/Downstream Port above it lacks an ACS capability
#                         or has one of SrcValid ReqRedir CmpltRedir UpstreamFwd off in
#                         ACSCtl (the kernel's REQ_ACS_FLAGS; other bridge types, e.g.
#                         the PCIe-to-PCI bridge, do not take part in ACS).
# The machine has one port of each kind: 00:03.0 with ACS, 00:04.0 with disable-acs=on.

DEVS="0000:01:00.0 0000:02:00.0 0000:03:00.0 0000:05:01.0"

guest() {
	for d in $DEVS; do
		kt_upstream "$d" >"$KT_OUT/up-$d.txt"
		kt_log "$d: bridges above: $(tr '\n' ' ' <"$KT_OUT/up-$d.txt")"
		for b in $d $(cat "$KT_OUT/up-$d.txt"); do
			[ -e "$KT_OUT/lspci-$b.txt" ] || kt_run "lspci-$b.txt" lspci -vvv -s "$b"
		done
	done
	kt_run survey.json $GPUPART --json --any-class survey $DEVS
	return 0
}

# lspci_acs_ok PORT: the port's ACSCtl has all four request-redirect/validation bits.
lspci_acs_ok() {
	ctl=$(sed -n 's/.*ACSCtl:[[:space:]]*//p' "$KT_OUT/lspci-$1.txt")
	[ -n "$ctl" ] || return 1
	for bit in SrcValid ReqRedir CmpltRedir UpstreamFwd; do
		echo "$ctl" | grep -q "$bit+" || return 1
	done
}
lspci_is_port() { grep -Eq 'Express \(v[0-9]\) (Root Port|Downstream Port)' "$KT_OUT/lspci-$1.txt"; }

host() {
	# Not vacuous: the machine must really have both kinds of port.
	kt_check "lspci: root port 00:03.0 has ACS with SV/RR/CR/UF enabled" lspci_acs_ok 0000:00:03.0
	kt_check "lspci: root port 00:04.0 (disable-acs=on) has no ACSCtl" \
		sh -c "! grep -q ACSCtl '$KT_OUT/lspci-0000:00:04.0.txt'"

	kt_json survey.json "survey $DEVS" || return
	local d want got why p
	for d in $DEVS; do
		kt_log "$d findings: $(kt_q survey.json '.devices[] | select(.address == $d) | [.findings[].code] | join(",")' --arg d "$d")"
		if ! kt_has survey.json ".devices[] | select(.address == \"$d\")"; then
			kt_fail "$d: missing from survey"; continue
		fi
		has() { kt_has survey.json ".devices[] | select(.address == \"$d\") | [.findings[].code] | index(\"$1\") != null"; }

		if grep -q 'Express (' "$KT_OUT/lspci-$d.txt"; then want=no; else want=yes; fi
		if has not-pcie; then got=yes; else got=no; fi
		kt_eq "$d: not-pcie emitted = lspci shows no Express capability" "$got" "$want"

		want=no; why=""
		for p in $(cat "$KT_OUT/up-$d.txt"); do
			lspci_is_port "$p" || continue
			lspci_acs_ok "$p" || { want=yes; why="$why $p"; }
		done
		if has acs-missing-upstream; then got=yes; else got=no; fi
		kt_eq "$d: acs-missing-upstream emitted = lspci ACSCtl of ports above lacking SV/RR/CR/UF [${why# }]" "$got" "$want"
	done
}
