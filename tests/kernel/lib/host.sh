# Host-side helpers for a case's host() function (bash + jq).  Sourced by run-case.sh
# in a subshell after the guest's /out has been carried out and unpacked.
#
#   KT_OUT    the guest's /out for this boot (what kt_run / kt_sysfs_table wrote)
#   GPUPART   the host's gpupart: the same binary that ran in the guest
#   KT_WORK   a scratch directory for this case on the host
#
# The check helpers mirror the guest's (kt_ok, kt_fail, kt_check, kt_eq) so a check
# reads the same wherever it runs.

kt_ok() { echo "ok - $*" >>"$KT_HOST_RESULTS"; echo "host: ok - $*"; }
kt_fail() { echo "not ok - $*" >>"$KT_HOST_RESULTS"; echo "host: NOT OK - $*"; }
kt_check() {
	local d=$1; shift
	if "$@"; then kt_ok "$d"; else kt_fail "$d"; fi
}
kt_eq() {
	if [ "$2" = "$3" ]; then kt_ok "$1 ($2)"; else kt_fail "$1: got '$2', want '$3'"; fi
}
kt_log() { echo "host: $*"; }

# kt_rc NAME: the exit status the guest recorded for `kt_run NAME ...` ("-" if none).
kt_rc() { cat "$KT_OUT/$1.rc" 2>/dev/null || echo -; }

# kt_json NAME DESC: check that the guest's output NAME is one JSON document; later
# jq checks on a broken document would only add noise, so callers stop on failure.
kt_json() {
	if jq -e . "$KT_OUT/$1" >/dev/null 2>&1; then
		kt_ok "$2: valid JSON (rc=$(kt_rc "$1"))"
	else
		kt_fail "$2: not valid JSON (rc=$(kt_rc "$1")): $(head -c 300 "$KT_OUT/$1" 2>/dev/null) $(head -c 300 "$KT_OUT/$1.err" 2>/dev/null)"
		return 1
	fi
}

# kt_q NAME FILTER [jq args...]: jq -r FILTER over the guest's output NAME.
# (extra args go before the filter, e.g. --arg a X, or -e to make it a test)
kt_q() { local n=$1 f=$2; shift 2; jq -r "$@" "$f" "$KT_OUT/$n"; }

# kt_has NAME FILTER: true iff FILTER yields true over the guest's output NAME.
kt_has() { jq -e "$2" "$KT_OUT/$1" >/dev/null 2>&1; }

# kt_table NAME ADDR COLUMN: a column of the guest's kt_sysfs_table NAME for ADDR
# (columns: addr class vendor device driver iommu_group physfn totalvfs numvfs
#  subvendor subdevice numa_node).
kt_table() {
	awk -v a="$2" -v c="$3" '
		BEGIN { split("addr class vendor device driver iommu_group physfn totalvfs numvfs subvendor subdevice numa_node", h, " ")
			for (i in h) col[h[i]] = i }
		$1 == a { print $(col[c]) }' "$KT_OUT/$1"
}

# kt_json_null VALUE: jq prints null for JSON null; the sysfs tables use "-".
kt_dash() { if [ "$1" = null ]; then echo -; else echo "$1"; fi; }
