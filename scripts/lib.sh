# Shell functions for scripts/test.sh and scripts/test-asan.sh (sourced, POSIX sh).

# tmp_snapshot DIR: what /tmp (and $TMPDIR, when it is another directory) hold now, into DIR.
tmp_snapshot() {
	mkdir -p "$1"
	ls -A /tmp >"$1/tmp-before"
	if [ -n "${TMPDIR:-}" ] && [ -d "$TMPDIR" ] && [ "$TMPDIR" != /tmp ]; then
		ls -A "$TMPDIR" >"$1/tmpdir-before"
	fi
}

# tmp_compare DIR WHAT: fails, listing them, when /tmp or $TMPDIR holds entries that were not
# there at tmp_snapshot DIR. Tests make their trees under the build directory (meson.build sets
# TMPDIR for every test) or remove what they make; CI runs on a fresh machine, so anything new
# here is left over by WHAT.
tmp_compare() {
	_left=
	ls -A /tmp >"$1/tmp-after"
	_new=$(comm -13 "$1/tmp-before" "$1/tmp-after")
	for _e in $_new; do _left="$_left /tmp/$_e"; done
	if [ -f "$1/tmpdir-before" ]; then
		ls -A "$TMPDIR" >"$1/tmpdir-after"
		_new=$(comm -13 "$1/tmpdir-before" "$1/tmpdir-after")
		for _e in $_new; do _left="$_left $TMPDIR/$_e"; done
	fi
	if [ -n "$_left" ]; then
		echo "FAIL: $2 left $(echo "$_left" | wc -w) entries behind in /tmp or \$TMPDIR:" >&2
		# shellcheck disable=SC2086
		ls -ld $_left >&2 || true
		return 1
	fi
	echo "$2 left nothing in /tmp"
}

# check_results BUILDDIR LOG [meson test selection...]: every selected test has a result in
# BUILDDIR/meson-logs/LOG (testlog.json; testlog-SETUP.json with --setup), and there is at
# least one: a run of zero tests is a failure, never a pass.
check_results() {
	_b=$1
	_log=$2
	shift 2
	_want=$(meson test -C "$_b" --list "$@" 2>/dev/null | grep -c ' / ' || true)
	python3 - "$_b/meson-logs/$_log" "$_want" <<'PY'
import json, sys
res = {}
for line in open(sys.argv[1]):
    t = json.loads(line)
    res[t['result']] = res.get(t['result'], 0) + 1
total, want = sum(res.values()), int(sys.argv[2])
print('meson: %d tests: %s' % (total, ', '.join('%d %s' % (n, r) for r, n in sorted(res.items()))))
if want == 0 or total == 0 or res.get('OK', 0) == 0:
    sys.exit('FAIL: no test ran (%d defined, %d results)' % (want, total))
if total != want:
    sys.exit('FAIL: %d tests defined, %d results' % (want, total))
PY
}
