#!/bin/sh
# Installs the build dependencies and builds gpupart into ./build.
set -eu
cd "$(dirname "$0")/.."
./scripts/deps.sh "${1:-}"
if [ -f build/build.ninja ]; then
	meson setup --reconfigure build
else
	meson setup build
fi
ninja -C build
