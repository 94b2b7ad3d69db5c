#!/bin/sh
# The whole test suite from a fresh Debian 12 machine: dependencies, build, every suite
# (unit, fixture, hosts, kernel). CI runs exactly this (.ci/run).
set -eu
cd "$(dirname "$0")/.."
./scripts/build.sh test
rc=0
meson test -C build --print-errorlogs --num-processes 2 || rc=$?
log=build/meson-logs/testlog.json
passed=$(grep -c '"result": "OK"' "$log" || true)
failed=$(grep -c -E '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
echo "meson: $passed passed, $failed failed"
exit "$rc"
