#!/bin/sh
# Installs what gpupart needs on Debian 12: `deps.sh` for building, `deps.sh test` for the
# whole test suite as well (Criterion, lspci, QEMU for the kernel suite and, with libvirt's QEMU
# driver, for the virt suite's qemu:///embed domains, libvirtd and OVMF for the dda suite's own
# libvirt daemon (tests/lib/daemon.c), jq, strace for the write suite's kill injection).
set -eu
SUDO=
[ "$(id -u)" = 0 ] || SUDO=sudo
build_pkgs="gcc meson ninja-build pkg-config libpci-dev libudev-dev libjson-c-dev libvirt-dev libxml2-dev pci.ids"
test_pkgs="libcriterion-dev pciutils tar jq python3 qemu-system-x86 coreutils util-linux libvirt-daemon-driver-qemu libvirt-daemon libvirt-clients ovmf strace"
pkgs=$build_pkgs
[ "${1:-}" = test ] && pkgs="$build_pkgs $test_pkgs"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $pkgs
