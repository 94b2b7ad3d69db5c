# SPDX-License-Identifier: GPL-2.0-or-later
# Attributes each syscall of a single-process `strace -o` log of gpupart to a phase:
#   startup  dynamic loading, before the scan opens sys/bus/pci/devices
#   class    the first pass: every function's class (and physfn/sriov_totalvfs checks)
#   detail   the full reads of GPUs, their VFs, the ports above and their group companions
#   host     IOMMU groups, sys/class, sys/module, /proc, mdev bus
#   names    the PCI name lookup (udev hwdb, pci.ids, and the NSS lookups libpci makes)
#   output   writing the result
# Usage: awk -f bench/strace-phases.awk TRACE      prints "phase count" lines and "total N".
function cat_of(path) {
    if (path ~ /pci\.ids|hwdb|nsswitch|passwd|nscd|pciids/) return "names"
    if (path ~ /\.so|ld\.so/) return "startup"
    if (path ~ /\/class$/ || path ~ /\/physfn$/ || path ~ /\/sriov_totalvfs$/) return "class"
    if (path ~ /iommu_groups|^sys\/class|^sys\/module|^proc|mdev/) return "host"
    return "detail"
}
{
    line = $0
    name = line; sub(/\(.*/, "", name)
    if (name ~ /^(\+\+\+|---)/) next
    ret = line; sub(/.*= /, "", ret); sub(/ .*/, "", ret)
    args = line; sub(/^[a-z0-9_]+\(/, "", args)
    fd = ""; if (match(args, /^(-?[0-9]+|AT_FDCWD)/)) fd = substr(args, RSTART, RLENGTH)
    path = ""
    if (match(args, /"[^"]*"/)) path = substr(args, RSTART + 1, RLENGTH - 2)
    c = ""
    if (!started && name == "openat" && path ~ /^sys\/bus\/pci\/devices$/) started = 1
    if (!started) c = "startup"
    else if (name ~ /^(openat|newfstatat|readlinkat|access|faccessat2?)$/ && path != "") {
        c = cat_of(path)
        if (c == "detail" && fd in fdcat && fdcat[fd] != "detail" && fdcat[fd] != "") c = fdcat[fd]
        if (name == "openat" && ret ~ /^[0-9]+$/) fdcat[ret] = c
    } else if (name ~ /^(socket|connect|getuid)$/) c = "names"
    else if (name == "write") c = "output"
    else if (fd ~ /^[0-9]+$/ && (fd in fdcat)) { c = fdcat[fd]; if (name == "close") delete fdcat[fd] }
    else c = "other"
    n[c]++; total++

}
END { for (k in n) printf "%s %d\n", k, n[k]; printf "total %d\n", total }
