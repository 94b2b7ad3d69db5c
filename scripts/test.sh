#!/bin/sh
# The whole test suite from a fresh Debian 12 machine: dependencies, build (-Dtests=enabled: a
# missing Criterion is a configure error), every suite (unit, fixture, hosts, virt, fakekernel,
# write, kernel), then what CI relies on: every defined test ran (never zero), nothing was left
# in /tmp, and the README's first command builds without the test packages
# (scripts/check-fresh-build.sh). .ci/run runs this, then scripts/test-asan.sh.
# BUILDDIR=DIR builds there instead of build; GPUPART_NO_DEPS=1 skips apt-get.
set -eu
cd "$(dirname "$0")/.."
b=${BUILDDIR:-build}
./scripts/build.sh test
. ./scripts/lib.sh
tmp_snapshot "$b/meson-logs"
rc=0
meson test -C "$b" --print-errorlogs --num-processes 2 || rc=$?
check_results "$b" testlog.json || rc=1
tmp_compare "$b/meson-logs" "meson test" || rc=1
./scripts/check-fresh-build.sh "$b" || rc=1
exit "$rc"
