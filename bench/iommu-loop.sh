#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The classic admin shell loop that lists IOMMU groups and their devices (as found in every
# VFIO passthrough guide), pointed at a host tree: one lspci process per PCI function.
#
#   bench/iommu-loop.sh DIR      (DIR holds sys/kernel/iommu_groups and sys/bus/pci)
set -u
root=${1:?usage: iommu-loop.sh DIR}
shopt -s nullglob
for g in "$root"/sys/kernel/iommu_groups/*; do
    echo "IOMMU Group ${g##*/}:"
    for d in "$g"/devices/*; do
        echo -e "\t$(lspci -nns "${d##*/}" -A linux-sysfs -O sysfs.path="$root/sys/bus/pci")"
    done
done
