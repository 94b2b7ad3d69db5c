#!/bin/bash
# Boot one kernel-suite case under QEMU and report it as TAP for `meson test`.
#
# usage: run-case.sh CASE        (CASE = a file name under cases/ without .sh)
# env (meson sets the first three):
#   KT_SRC      this directory            KT_BUILD  its build directory
#   KT_GPUPART  the gpupart binary        KT_CACHE  download/initramfs cache (default KT_BUILD/cache)
#   KT_ACCEL    auto (default) | tcg | kvm
#   KT_TIMEOUT  seconds before a hung guest is killed (default 150 under TCG, 60 under KVM)
#
# Output: TAP on stdout (one test point per guest/host check); everything else on
# stderr.  Any failure prints the guest console to stderr, which `meson test -v` and
# meson-logs/testlog.txt show.  Missing QEMU, apt or packages is a failure ("Bail
# out!"), never a skip.
set -uo pipefail
case=${1:?usage: run-case.sh CASE}
: "${KT_SRC:?}" "${KT_BUILD:?}" "${KT_GPUPART:?}"
export KT_CACHE=${KT_CACHE:-$KT_BUILD/cache} KT_SRC KT_GPUPART
run=$KT_BUILD/runs/$case
rm -rf "$run"; mkdir -p "$run/out" "$run/work" "$KT_CACHE"

n=0; bad=0
tap() {  # tap ok|not-ok DESC
	local d=${2//#/no.}   # a '#' would start a TAP directive
	n=$((n + 1))
	if [ "$1" = ok ]; then echo "ok $n - $d"; else echo "not ok $n - $d"; bad=$((bad + 1)); fi
}
show_console() {
	{
		echo "======== guest console ($run/console.log) ========"
		tr -d '\r' <"$run/console.log" 2>/dev/null || echo "(no console output)"
		echo "======== end of guest console ========"
		if [ -s "$run/qemu.log" ]; then echo "---- qemu stderr ----"; cat "$run/qemu.log"; fi
		if [ -s "$run/host.log" ]; then echo "---- host checks ----"; cat "$run/host.log"; fi
		if [ -s "$run/out/dmesg.txt" ]; then echo "---- guest dmesg (last 60 lines) ----"; tail -n 60 "$run/out/dmesg.txt"; fi
	} >&2
}
bail() {
	echo "Bail out! $*"
	echo "kernel suite: $case: $*" >&2
	exit 1
}

# --- prepare (shared by all cases; the first one in does the work) --------------------------
[ -f "$KT_SRC/cases/$case.sh" ] || bail "no such case: $KT_SRC/cases/$case.sh"
tp=$(date +%s.%N)
if ! env=$(flock "$KT_CACHE/.lock" "$KT_SRC/lib/prepare.sh" 2>"$run/prepare.log"); then
	cat "$run/prepare.log" >&2
	bail "preparing kernel/initramfs failed: $(grep FATAL "$run/prepare.log" | tail -n1)"
fi
cat "$run/prepare.log" >&2
eval "$env"
echo "# $case: prepare (incl. waiting for the cache lock) took $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$tp}")s"

# Boot knobs a case may set at file scope (see README): KT_INTREMAP, KT_APPEND.
knobs=$(bash -c '. "$1" >/dev/null; echo "intremap=${KT_INTREMAP:-on}"; echo "append=${KT_APPEND:-}"' _ "$KT_SRC/cases/$case.sh") ||
	bail "cannot source cases/$case.sh"
intremap=$(sed -n 's/^intremap=//p' <<<"$knobs")
append=$(sed -n 's/^append=//p' <<<"$knobs")

# --- the machine ---------------------------------------------------------------------------
# One standard topology for every case (addresses are what SeaBIOS/Linux assign):
#   00:02.0 root port (ACS)          -> 01:00.0 NVMe PF, SR-IOV, 4 VFs (01:00.1-4 with ARI)
#   00:03.0 root port (ACS)          -> 02:00.0 virtio-gpu-pci (a PCIe display endpoint)
#   00:04.0 root port, disable-acs   -> 03:00.0 virtio-gpu-pci (no ACS above it)
#   00:05.0 root port (ACS)          -> 04:00.0 PCIe-to-PCI bridge -> 05:01.0 VGA (conventional
#                                       PCI display) + 05:02.0 e1000 (second endpoint, same group)
#   00:06.0 root port (ACS)          -> 06:00.0 + 06:00.1 e1000e, one multifunction device whose
#                                       functions share a group (dismount moves both)
# NVMe SR-IOV limits QEMU 7.2 enforces: subsys= required, sriov_vq_flexible >= 2*max_vfs,
# max_ioqpairs >= vq_flexible+2, sriov_vi_flexible >= max_vfs, msix_qsize >= vi_flexible+1.
# romfile= skips option ROMs SeaBIOS would otherwise run (time, and nothing to test).
case $KT_ACCEL_USED in
kvm) accel=(-accel kvm -cpu host); limit=${KT_TIMEOUT:-60} ;;
*) accel=(-accel tcg -cpu max); limit=${KT_TIMEOUT:-150} ;;
esac
qemu=(qemu-system-x86_64 "${accel[@]}"
	# split irqchip: KVM needs it for intremap=on; TCG ignores it.
	-machine q35,kernel-irqchip=split -smp 1 -m 512
	-nodefaults -display none -no-reboot
	-serial "file:$run/console.log" -serial "file:$run/data.log"
	-kernel "$KT_KERNEL" -initrd "$KT_INITRD"
	# no_timer_check: under TCG on a loaded host the IO-APIC timer probe can miss its
	# window, and with interrupt remapping on the kernel then panics instead of falling back.
	-append "console=ttyS0 intel_iommu=on iommu=pt panic=-1 quiet no_timer_check kt.case=$case $append"
	-device "intel-iommu,intremap=$intremap,caching-mode=on"
	-device pcie-root-port,id=rp1,bus=pcie.0,addr=0x2,chassis=1,slot=1
	-device nvme-subsys,id=nvmesubsys0
	-device nvme,bus=rp1,serial=ktnvme0,subsys=nvmesubsys0,sriov_max_vfs=4,sriov_vq_flexible=8,sriov_vi_flexible=4,max_ioqpairs=10,msix_qsize=5
	-device pcie-root-port,id=rp2,bus=pcie.0,addr=0x3,chassis=2,slot=2
	-device virtio-gpu-pci,bus=rp2
	-device pcie-root-port,id=rp3,bus=pcie.0,addr=0x4,chassis=3,slot=3,disable-acs=on
	-device virtio-gpu-pci,bus=rp3
	-device pcie-root-port,id=rp4,bus=pcie.0,addr=0x5,chassis=4,slot=4
	-device pcie-pci-bridge,id=br1,bus=rp4
	-device VGA,bus=br1,addr=0x1,romfile=
	-netdev hubport,id=kt0,hubid=0
	-device e1000,bus=br1,addr=0x2,romfile=,netdev=kt0
	# last, so that no other address moves: a two-function PCIe device (two 82574L, e1000e)
	# behind its own root port; no ACS between the functions, so one group for both
	-device pcie-root-port,id=rp5,bus=pcie.0,addr=0x6,chassis=5,slot=5
	-netdev hubport,id=kt1,hubid=0
	-netdev hubport,id=kt2,hubid=0
	-device e1000e,bus=rp5,addr=0x0.0,multifunction=on,romfile=,netdev=kt1
	# multifunction=on on .1 too sets its header's bit: on a rescan the kernel groups a function
	# as it adds it (pci_scan_slot marks fn > 0 multifunction only after pci_device_add), and
	# a .1 without the bit would land in a group of its own
	-device e1000e,bus=rp5,addr=0x0.1,multifunction=on,romfile=,netdev=kt2
)
printf '%q ' "${qemu[@]}" >"$run/qemu.cmd"; echo >>"$run/qemu.cmd"
echo "kernel suite: $case: booting $KT_KVER under $KT_ACCEL_USED (console: $run/console.log)" >&2
boot() {
	rm -f "$run/console.log" "$run/data.log"
	t0=$(date +%s.%N)
	timeout -k 5 "$limit" "${qemu[@]}" </dev/null >"$run/qemu.log" 2>&1
	qrc=$?
	secs=$(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$t0}")
	echo "# $case: qemu exited rc=$qrc after ${secs}s ($KT_ACCEL_USED)"
}
boot
# A guest that never reached /init says nothing about gpupart: an emulation hiccup on a
# busy host.  Boot once more, visibly; the first console is kept for the record.
if ! grep -q '^KT: userspace' "$run/console.log" 2>/dev/null; then
	cp "$run/console.log" "$run/console.first-boot.log" 2>/dev/null
	echo "# $case: guest did not reach userspace; retrying once (first console: $run/console.first-boot.log)"
	echo "kernel suite: $case: guest did not reach userspace; first console:" >&2
	tail -n 30 "$run/console.log" >&2 2>/dev/null
	boot
fi
[ $qrc -eq 124 ] || [ $qrc -eq 137 ] && echo "kernel suite: $case: guest killed after ${limit}s" >&2

# --- carry the guest's /out back ---------------------------------------------------------
if grep -q '^KT-DATA-END' "$run/data.log" 2>/dev/null; then
	if sed -n '/^KT-DATA-BEGIN/,/^KT-DATA-END/{/^KT-DATA-/d;p}' "$run/data.log" | tr -d '\r' |
		base64 -d | tar -xz -C "$run/out"; then
		tap ok "guest data channel decoded"
	else
		tap not-ok "guest data channel decoded (corrupt tar/base64 in $run/data.log)"
	fi
else
	tap not-ok "guest sent its results (qemu rc=$qrc; no KT-DATA-END on the data port)"
fi
if [ -e "$run/out/guest.done" ]; then tap ok "guest ran case $case to the end"
else tap not-ok "guest ran case $case to the end"; fi

# --- verdicts: the guest's checks, then the case's host() checks ---------------------------
checks=0
if [ -f "$run/out/guest.results" ]; then
	while IFS= read -r l; do
		checks=$((checks + 1))
		case $l in
		"ok - "*) tap ok "guest: ${l#ok - }" ;;
		*) tap not-ok "guest: ${l#not ok - }" ;;
		esac
	done <"$run/out/guest.results"
fi
if [ -e "$run/out/guest.done" ]; then
	export KT_OUT=$run/out KT_WORK=$run/work GPUPART=$KT_GPUPART KT_HOST_RESULTS=$run/host.results
	: >"$KT_HOST_RESULTS"
	# host() runs in its own bash so its variables and `set` options stay there.
	th=$(date +%s.%N)
	bash -c '. "$1/lib/host.sh"; . "$1/cases/$2.sh"; if declare -F host >/dev/null; then host; fi' \
		_ "$KT_SRC" "$case" >"$run/host.log" 2>&1
	echo "# $case: host checks took $(awk "BEGIN{printf \"%.1f\", $(date +%s.%N)-$th}")s"
	sed 's/^/# /' "$run/host.log"
	while IFS= read -r l; do
		checks=$((checks + 1))
		case $l in
		"ok - "*) tap ok "host: ${l#ok - }" ;;
		*) tap not-ok "host: ${l#not ok - }" ;;
		esac
	done <"$KT_HOST_RESULTS"
fi
[ $checks -gt 0 ] && tap ok "case recorded $checks checks" || tap not-ok "case recorded at least one check"
echo "1..$n"
if [ $bad -gt 0 ]; then
	echo "kernel suite: $case: $bad check(s) failed; files in $run" >&2
	show_console
fi
exit 0
