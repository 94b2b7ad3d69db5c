# Scenario 4: topology findings on real config space, against lspci in the same guest.
# lspci is the independent reader.  From one `lspci -D -vvv` and the kernel's sysfs,
# host() derives, per device, which of these survey findings gpupart must emit (the
# rules of gpupart(8) SURVEY FINDINGS, applied to what lspci decodes):
#   not-pcie              no "Express (" capability;
#   not-endpoint          Express, but not (Legacy|Root Complex Integrated) Endpoint;
#   no-msi                "Interrupt: pin" and neither an MSI nor an MSI-X capability;
#   no-flr                a PF (no physfn) with neither DevCap FLReset+ nor AFCap FLR+;
#   acs-missing-upstream  a Root/Downstream Port above it (its sysfs path) without ACSCtl,
#                         or advertising one of SrcValid ReqRedir CmpltRedir UpstreamFwd
#                         in ACSCap that ACSCtl leaves off (the kernel's REQ_ACS_FLAGS);
#   iommu-group-shared    its iommu_group (sysfs) holds a function of another device
#                         (domain:bus:dev) that is not a PCI bridge (class 0604).
# and compares the presence of each code.  Also, from sysfs: reset_method = the first
# word of reset_method, or "none" without the file (since 5.15 the kernel shows the file
# exactly when it has a reset method; the e1000 at 05:02.0 has none because it shares
# bus 5 with the VGA), mmio64_bytes_required = the 64-bit
# memory BARs 0-5 of `resource`, summed and rounded up to a power of two.
# The machine has one root port of each kind: 00:03.0 with ACS, 00:04.0 disable-acs=on;
# the PCIe-to-PCI bridge at 04:00.0 puts the VGA and the e1000 in one group.

DEVS="0000:00:04.0 0000:00:1f.2 0000:00:1f.3 0000:01:00.0 0000:02:00.0 0000:03:00.0 0000:05:01.0 0000:05:02.0"
CODES="not-pcie not-endpoint no-msi no-flr acs-missing-upstream iommu-group-shared"

guest() {
	for d in $DEVS; do
		kt_upstream "$d" >"$KT_OUT/up-$d.txt"
		kt_log "$d: bridges above: $(tr '\n' ' ' <"$KT_OUT/up-$d.txt")"
		echo "$d $(cut -d' ' -f1 $P/$d/reset_method 2>/dev/null || echo none)" >>"$KT_OUT/reset.txt"
		cp $P/$d/resource "$KT_OUT/resource-$d.txt"
	done
	kt_sysfs_table sysfs.tsv
	# One lspci for everything (each run costs ~0.3 s under TCG); host() splits it.
	kt_run lspci.txt lspci -D -vvv
	kt_run survey.json $GPUPART --json --any-class survey $DEVS
	return 0
}

# lspci_of ADDR: ADDR's paragraph of `lspci -D -vvv`.
lspci_of() { awk -v a="$1" '/^[0-9a-f]/ { on = ($1 == a) } on' "$KT_OUT/lspci.txt"; }
# lspci_acs_ok PORT: every request-redirect/validation feature ACSCap advertises is on in ACSCtl.
lspci_acs_ok() {
	cap=$(lspci_of "$1" | sed -n 's/.*ACSCap:[[:space:]]*//p')
	ctl=$(lspci_of "$1" | sed -n 's/.*ACSCtl:[[:space:]]*//p')
	[ -n "$ctl" ] || return 1
	for bit in SrcValid ReqRedir CmpltRedir UpstreamFwd; do
		if echo "$cap" | grep -q "$bit+" && ! echo "$ctl" | grep -q "$bit+"; then return 1; fi
	done
}
lspci_is_port() { lspci_of "$1" | grep -Eq 'Express \(v[0-9]\) (Root Port|Downstream Port)'; }
lspci_no_acs() { ! lspci_of "$1" | grep -q ACSCtl; }

# expect ADDR CODE: true iff the kernel/lspci facts call for CODE on ADDR; sets $why.
expect() {
	why=
	case $2 in
	not-pcie) ! lspci_of "$1" | grep -q 'Express (' ;;
	not-endpoint)
		lspci_of "$1" | grep -q 'Express (' &&
			! lspci_of "$1" | grep -Eq 'Express \(v[0-9]\) (Legacy Endpoint|Root Complex Integrated Endpoint|Endpoint)' ;;
	no-msi)
		lspci_of "$1" | grep -q 'Interrupt: pin' &&
			! lspci_of "$1" | grep -Eq 'Capabilities: \[[0-9a-f]+\] MSI(-X)?:' ;;
	no-flr)
		[ "$(kt_table sysfs.tsv "$1" physfn)" = - ] &&
			! lspci_of "$1" | grep -q 'FLReset+' && ! lspci_of "$1" | grep -Eq 'AFCap:.*FLR\+' ;;
	acs-missing-upstream)
		for p in $(cat "$KT_OUT/up-$1.txt"); do
			lspci_is_port "$p" && ! lspci_acs_ok "$p" && why="$why $p"
		done
		[ -n "$why" ] ;;
	iommu-group-shared)
		g=$(kt_table sysfs.tsv "$1" iommu_group)
		why=$(awk -v g="$g" -v slot="${1%.*}" '$6 == g && $6 != "-" && substr($1, 1, length(slot)) != slot && $2 !~ /^0x0604/ {print $1}' "$KT_OUT/sysfs.tsv" | tr '\n' ' ')
		[ -n "$why" ] ;;
	esac
}

# mmio64 ADDR: gpupart(8)'s mmio64_bytes_required from the kernel's resource file
# (flags: IORESOURCE_MEM 0x200, IORESOURCE_MEM_64 0x100000).
mmio64() {
	sum=0
	head -n 6 "$KT_OUT/resource-$1.txt" | {
		while read -r start end flags; do
			if [ $((flags & 0x200)) -ne 0 ] && [ $((flags & 0x100000)) -ne 0 ] && [ $((end)) -gt 0 ]; then
				sum=$((sum + end - start + 1))
			fi
		done
		p=1
		while [ $p -lt $sum ]; do p=$((p * 2)); done
		if [ $sum -eq 0 ]; then echo 0; else echo $p; fi
	}
}

host() {
	# Not vacuous: the machine must really have each kind of port/device.
	kt_check "lspci: root port 00:03.0 has ACS with SV/RR/CR/UF enabled" lspci_acs_ok 0000:00:03.0
	kt_check "lspci: root port 00:04.0 (disable-acs=on) has no ACSCtl" lspci_no_acs 0000:00:04.0
	kt_check "lspci: 05:01.0 is conventional PCI" expect 0000:05:01.0 not-pcie
	kt_check "lspci: 05:02.0 (e1000) has INTx only" expect 0000:05:02.0 no-msi

	kt_json survey.json "survey $DEVS" || return
	local d c want got sel
	for d in $DEVS; do
		sel=".devices[] | select(.address == \"$d\")"
		if ! kt_has survey.json "$sel"; then
			kt_fail "$d: missing from survey"; continue
		fi
		kt_log "$d findings: $(kt_q survey.json "$sel | [.findings[].code] | join(\",\")")"
		for c in $CODES; do
			if expect "$d" "$c"; then want=yes; else want=no; fi
			if kt_has survey.json "$sel | [.findings[].code] | index(\"$c\") != null"; then got=yes; else got=no; fi
			kt_eq "$d: $c emitted = kernel/lspci say so${why:+ [${why% }]}" "$got" "$want"
		done
		kt_eq "$d: reset_method = first entry of sysfs reset_method" \
			"$(kt_q survey.json "$sel | .reset_method")" \
			"$(awk -v d="$d" '$1 == d {print $2}' "$KT_OUT/reset.txt")"
		kt_eq "$d: mmio64_bytes_required = 64-bit BARs in sysfs resource" \
			"$(kt_q survey.json "$sel | .mmio64_bytes_required")" "$(mmio64 "$d")"
	done
}
