#!/bin/sh
# The suites (all but the kernel one) under AddressSanitizer + UndefinedBehaviorSanitizer with
# leak detection, in BUILDDIR/asan (default build/asan): -Db_sanitize=address,undefined and
# `meson test --setup asan` (tests/meson.build: the sanitizer options, tests/lsan.supp, timeouts
# scaled by 4). Any sanitizer report fails the test that made it. Nothing may be left in /tmp.
# Run after scripts/test.sh (which installs the dependencies); .ci/run runs both.
#   ASAN_REPEAT=N   run every suite N times (shows the run is deterministic)
set -eu
cd "$(dirname "$0")/.."
b=${BUILDDIR:-build}
a=$b/asan
opts="-Dtests=enabled -Dkernel-tests=disabled -Db_sanitize=address,undefined -Db_lundef=false"
start=$(date +%s)
if [ -f "$a/build.ninja" ]; then
	# shellcheck disable=SC2086
	meson setup --reconfigure "$a" $opts
else
	# shellcheck disable=SC2086
	meson setup "$a" $opts
fi
ninja -C "$a"
built=$(date +%s)
. ./scripts/lib.sh
tmp_snapshot "$a/meson-logs"
rc=0
meson test -C "$a" --setup asan --print-errorlogs --num-processes 2 \
	--repeat "${ASAN_REPEAT:-1}" || rc=$?
if [ "${ASAN_REPEAT:-1}" = 1 ]; then
	check_results "$a" testlog-asan.json --setup asan || rc=1
fi
tmp_compare "$a/meson-logs" "meson test --setup asan" || rc=1
end=$(date +%s)
echo "asan: build $((built - start)) s, suites $((end - built)) s"
exit "$rc"
