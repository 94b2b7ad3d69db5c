#!/bin/sh
# Installs the build dependencies and builds gpupart into ./build.
#   build.sh        the build packages only: gpupart and the fixture tools, no test suites
#                   (-Dtests=auto: they are built when Criterion and lspci are there)
#   build.sh test   the test packages too, and the suites required (-Dtests=enabled: a missing
#                   test dependency is a configure error, never zero tests)
# BUILDDIR=DIR builds there instead; GPUPART_NO_DEPS=1 skips apt-get (deps already there).
set -eu
cd "$(dirname "$0")/.."
b=${BUILDDIR:-build}
[ -n "${GPUPART_NO_DEPS:-}" ] || ./scripts/deps.sh "${1:-}"
opts=
[ "${1:-}" = test ] && opts=-Dtests=enabled
if [ -f "$b/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson setup --reconfigure "$b" $opts
else
	# shellcheck disable=SC2086
	meson setup "$b" $opts
fi
ninja -C "$b"
