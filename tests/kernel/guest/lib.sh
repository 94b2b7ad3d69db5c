# Guest-side helpers for kernel-suite cases (busybox ash).  Sourced by /init.
#
# A case's guest() drives the real kernel through sysfs, runs gpupart and lspci, and
# records two kinds of things under $KT_OUT (carried to the host afterwards):
#   - checks that only need the guest (kt_ok / kt_fail / kt_check / kt_eq), and
#   - evidence for the case's host() function, which asserts with jq on the host
#     (kt_run for command output, kt_sysfs_table for the kernel's own view).
# Every helper prints what it did to the console, so a failing case's console log
# reads as a transcript.

KT_OUT=/out
KT_RESULTS=$KT_OUT/guest.results
GPUPART=/bin/gpupart

kt_ok() { echo "ok - $*" >>"$KT_RESULTS"; echo "KT: ok - $*"; }
kt_fail() { echo "not ok - $*" >>"$KT_RESULTS"; echo "KT: NOT OK - $*"; }
# kt_check DESC CMD...: pass iff CMD succeeds.
kt_check() {
	_d=$1; shift
	if "$@"; then kt_ok "$_d"; else kt_fail "$_d"; fi
}
# kt_eq DESC GOT WANT
kt_eq() {
	if [ "$2" = "$3" ]; then kt_ok "$1 ($2)"; else kt_fail "$1: got '$2', want '$3'"; fi
}
kt_log() { echo "KT: $*"; }

# kt_run NAME CMD...: run CMD; stdout -> $KT_OUT/NAME, stderr -> NAME.err, exit
# status -> NAME.rc.  Returns CMD's status.  NAME may contain '/' for subdirectories.
kt_run() {
	_n=$1; shift
	mkdir -p "$(dirname "$KT_OUT/$_n")"
	"$@" >"$KT_OUT/$_n" 2>"$KT_OUT/$_n.err"
	_rc=$?
	echo "$_rc" >"$KT_OUT/$_n.rc"
	echo "KT: \$ $* -> rc=$_rc, $(wc -c <"$KT_OUT/$_n") bytes"
	[ -s "$KT_OUT/$_n.err" ] && sed 's/^/KT:   stderr: /' "$KT_OUT/$_n.err" | head -n 20
	return $_rc
}

# --- sysfs readers -----------------------------------------------------------------
P=/sys/bus/pci/devices
# kt_lnk PATH: last component of a symlink's target, or "-" when there is none.
kt_lnk() { if [ -L "$1" ]; then basename "$(readlink "$1")"; else echo -; fi; }
kt_cat() { cat "$1" 2>/dev/null || echo -; }
kt_devices() { ls $P; }

# kt_sysfs_table NAME: one line per PCI function with the kernel's own answers:
#   addr class vendor device driver iommu_group physfn sriov_totalvfs sriov_numvfs
#   subsystem_vendor subsystem_device numa_node
# ("-" where the kernel has no such file/link).  The host compares gpupart's JSON
# against this table, so the truth is sysfs as the kernel wrote it, read by busybox.
kt_sysfs_table() {
	for _a in $(kt_devices); do
		_d=$P/$_a
		echo "$_a $(cat $_d/class) $(cat $_d/vendor) $(cat $_d/device)" \
			"$(kt_lnk $_d/driver) $(kt_lnk $_d/iommu_group) $(kt_lnk $_d/physfn)" \
			"$(kt_cat $_d/sriov_totalvfs) $(kt_cat $_d/sriov_numvfs)" \
			"$(kt_cat $_d/subsystem_vendor) $(kt_cat $_d/subsystem_device) $(kt_cat $_d/numa_node)"
	done >"$KT_OUT/$1"
	kt_log "sysfs table $1:"
	sed 's/^/KT:   /' "$KT_OUT/$1"
}

# kt_nvme_pf: the NVMe function that has an SR-IOV capability (QEMU's nvme with
# sriov_max_vfs); exactly one in the standard machine.
kt_nvme_pf() {
	for _a in $(kt_devices); do
		[ -e $P/$_a/sriov_totalvfs ] && [ "$(cat $P/$_a/class)" = 0x010802 ] && echo "$_a"
	done | head -n1
}

# kt_upstream ADDR: the PCI bridges above ADDR, nearest first (from the sysfs path).
kt_upstream() {
	readlink -f $P/$1 | tr '/' '\n' | grep -E '^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$' |
		grep -v "^$1\$" | sed -n '1!G;h;$p'
}

# --- sysfs writers -------------------------------------------------------------------
# kt_numvfs PF N: set the VF count the way a careful admin does.  Autoprobe is turned
# off first: QEMU's VF controllers are offline until `nvme virt-mgmt`, and nvme binding
# them then failing ~0.5 s later would race every driver check.  N->M needs 0 between.
kt_numvfs() {
	echo 0 >$P/$1/sriov_drivers_autoprobe || return 1
	if [ "$(cat $P/$1/sriov_numvfs)" != 0 ] && [ "$2" != 0 ]; then
		echo 0 >$P/$1/sriov_numvfs || return 1
	fi
	echo "$2" >$P/$1/sriov_numvfs || return 1
	kt_log "$1: sriov_numvfs=$(cat $P/$1/sriov_numvfs)"
}

# kt_bind DRIVER ADDR: move ADDR to DRIVER through driver_override + drivers_probe and
# re-read the driver link (the writes succeed even when the probe fails).
kt_bind() {
	echo "$1" >$P/$2/driver_override || return 1
	[ -L $P/$2/driver ] && { echo "$2" >$P/$2/driver/unbind || return 1; }
	echo "$2" >/sys/bus/pci/drivers_probe
	_got=$(kt_lnk $P/$2/driver)
	kt_log "$2: driver now $_got"
	[ "$_got" = "$1" ]
}

# --- runner ----------------------------------------------------------------------------
kt_main() {
	mkdir -p "$KT_OUT"
	: >"$KT_RESULTS"
	if [ ! -r "/kt/cases/$1.sh" ]; then
		kt_fail "case script cases/$1.sh is in the initramfs"
		return
	fi
	kt_log "===== case $1 begin at $(cut -d' ' -f1 /proc/uptime)s ====="
	# A subshell, so a case that exits or sets variables cannot disturb PID 1.
	(
		. "/kt/cases/$1.sh"
		guest
	)
	_rc=$?
	kt_log "===== case $1 end rc=$_rc at $(cut -d' ' -f1 /proc/uptime)s ====="
	# guest()'s own status is not a verdict (a trailing test would fail the case); a
	# case that must abort records kt_fail first.
	# Kernel messages are kept off the console (quiet); carry them out instead.
	dmesg >"$KT_OUT/dmesg.txt"
	echo "$_rc" >"$KT_OUT/guest.done"
}
